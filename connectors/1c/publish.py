"""The scenario as a Russian distributor keeps it in 1C: UT 11 (also ERP 2) or Бухгалтерия предприятия 3.

What the emulator holds differs from the scenario's Turkish facts where 1C itself differs:
  * the local currency is the rouble: Catalog_Валюты has RUB 643 (the scenario's TRY amounts kept
    as they are), USD 840 and EUR 978; daily rates in InformationRegister_КурсыВалют;
  * tax ids are Russian INNs derived from the account code (inn_of), with a KPP for companies;
  * agreements (UT 11) and contracts (BP 3) are in roubles, so an account's currency is RUB;
  * units carry Russian names (шт, м, кг, кор), sales reps are users (Catalog_Пользователи, no code);
  * cheques and promissory notes are banked: bank receipts without a due date;
  * a cancelled document is marked for deletion (DeletionMark, Posted false); a few unposted drafts
    and shared price lists exist beside the facts, as in a live base;
  * balances are virtual-table rows, which 1C omits when zero.
Set and field names are 1C's own (Cyrillic); references are uuid5 GUIDs of scenario keys.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from mapping.schema import Account, Discount
from mapping.taxid import generate_inn
from scenario.facts import Scenario

from .infobase import EMPTY_REF, Infobase, Row, guid
from .layout import CATALOG_TYPE, CURRENCIES, OKEI, RUSSIAN_UNITS, UNDEFINED_TYPE, Configuration, as_day, as_number
from .publish_documents import DocumentWriter

__all__ = ["Configuration", "Publisher", "inn_of"]

DRAFT_EVERY = 50  # one unposted draft sale per this many invoices


def inn_of(account: Account) -> str:
    """The INN the emulator gives an account: 12 digits for a person, 10 for an organisation."""
    return generate_inn(random.Random(f"inn:{account.code}"), individual=account.is_individual)


class Publisher(DocumentWriter):
    """Writes a scenario into an Infobase in one configuration's layout, and replays its later changes."""

    def __init__(self, infobase: Infobase, scenario: Scenario, configuration: Configuration = "ut11") -> None:
        super().__init__(infobase, scenario, configuration)
        self.discount_rows: dict[str, Row] = {}  # scenario rule code -> register record

    # -- everything --------------------------------------------------------------------------
    def publish(self) -> None:
        self.currencies()
        self.vat_rates()
        self.warehouses()
        self.users()
        self.countries()
        self.accounts_and_agreements()
        self.products_and_units()
        self.discounts()
        for order in self.scenario.orders():
            self.add_order(order.record)
        for number, invoice in enumerate(self.scenario.invoices()):
            self.add_invoice(invoice.record)
            if number % DRAFT_EVERY == DRAFT_EVERY - 1 and invoice.record.kind == "sale":
                self.add_draft(invoice.record)
        for collection in self.scenario.collections():
            self.add_collection(collection.record)
        self.balances()
        self.write_rates()
        self.published = True

    def currencies(self) -> None:
        for iso, (code, name) in CURRENCIES.items():
            self.base.add(
                "Catalog_Валюты",
                {
                    "Ref_Key": guid("currency", iso),
                    "DeletionMark": False,
                    "Code": code,
                    "Description": name,
                    "НаименованиеПолное": iso,
                },
            )

    def vat_rates(self) -> None:
        rates = {int(p.record.vat_rate or 0) for p in self.scenario.products} | {
            int(s.vat_rate) for s in self.scenario.services
        }
        for rate in sorted(rates):
            self.base.add(
                "Catalog_СтавкиНДС",
                {
                    "Ref_Key": guid("vat", rate),
                    "DeletionMark": False,
                    "Code": f"{rate:03d}",
                    "Description": f"{rate}%",
                    "Ставка": float(rate),
                },
            )

    def warehouses(self) -> None:
        for w in self.scenario.warehouses:
            self.base.add(
                "Catalog_Склады",
                {
                    "Ref_Key": self.warehouse_ref(w.code),
                    "DeletionMark": False,
                    "IsFolder": False,
                    "Parent_Key": EMPTY_REF,
                    "Code": w.code,
                    "Description": w.name,
                },
            )

    def users(self) -> None:
        for rep in self.scenario.sales_reps:
            self.base.add(
                "Catalog_Пользователи",
                {"Ref_Key": self.user_ref(rep.code), "DeletionMark": False, "Description": rep.name},
            )

    def countries(self) -> None:
        for alpha2, code, name in {
            (a.record.country, "792", "ТУРЦИЯ") for a in self.scenario.accounts if a.record.country
        }:
            self.base.add(
                "Catalog_СтраныМира",
                {
                    "Ref_Key": guid("country", alpha2),
                    "DeletionMark": False,
                    "Code": code,
                    "Description": name,
                    "КодАльфа2": alpha2,
                },
            )

    # -- accounts ------------------------------------------------------------------------------
    def accounts_and_agreements(self) -> None:
        groups = sorted({a.group_code for a in self.accounts.values() if a.group_code})
        for group in groups:
            self.base.add("Catalog_Контрагенты", self._counterparty_folder(group))
        fixed_price_dealers = {s.record.account_code for s in self.scenario.discounts if s.record.kind == "fixed_price"}
        limits = {r.account_code: r for r in self.scenario.risk_limits}
        regions = sorted({a.region_code for a in self.accounts.values() if a.region_code})
        terms = sorted({a.payment_terms for a in self.accounts.values() if a.payment_terms})
        if not self.bp:
            for region in regions:
                self.base.add(
                    "Catalog_БизнесРегионы",
                    {
                        "Ref_Key": guid("region", region),
                        "DeletionMark": False,
                        "Code": region,
                        "Description": region.title(),
                    },
                )
            for term in terms:
                self.base.add(
                    "Catalog_ГрафикиОплаты",
                    {"Ref_Key": guid("terms", term), "DeletionMark": False, "Code": term, "Description": term},
                )
        self._price_types(fixed_price_dealers)
        for stamped in self.scenario.accounts:
            account = stamped.record
            self._counterparty(account)
            if self.bp:
                self._contracts(account, limits.get(account.code), account.code in fixed_price_dealers)
            else:
                self._partner(account)
                if account.kind != "supplier":
                    self._agreement(account, limits.get(account.code), account.code in fixed_price_dealers)

    def _counterparty_folder(self, group: str) -> Row:
        fields: dict[str, Any] = (
            {"ЮридическоеФизическоеЛицо": ""} if self.bp else {"ЮрФизЛицо": "", "Партнер_Key": EMPTY_REF}
        )
        return {
            "Ref_Key": guid("counterparty-group", group),
            "DeletionMark": False,
            "IsFolder": True,
            "Parent_Key": EMPTY_REF,
            "Code": group,
            "Description": f"Дилеры {group[-1]}",
            "НаименованиеПолное": "",
            "ИНН": "",
            "КПП": "",
            "СтранаРегистрации_Key": EMPTY_REF,
            **fields,
            **({"ОсновнойДоговорКонтрагента_Key": EMPTY_REF} if self.bp else {}),
        }

    def _counterparty(self, account: Account) -> None:
        inn = inn_of(account)
        ref = self.account_ref(account.code)
        if self.bp:
            extra = {
                "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if account.is_individual else "ЮридическоеЛицо",
                "ОсновнойДоговорКонтрагента_Key": self.contract_ref(
                    account.code, "supplier" if account.kind == "supplier" else "customer"
                ),
            }
        else:
            extra = {
                "ЮрФизЛицо": "ФизЛицо" if account.is_individual else "ЮрЛицо",
                "Партнер_Key": guid("partner", account.code),
            }
        self.base.add(
            "Catalog_Контрагенты",
            {
                "Ref_Key": ref,
                "DeletionMark": False,
                "IsFolder": False,
                "Parent_Key": guid("counterparty-group", account.group_code) if account.group_code else EMPTY_REF,
                "Code": account.code,
                "Description": account.title[:100],
                "НаименованиеПолное": account.title,
                "ИНН": inn,
                "КПП": "" if account.is_individual else f"{inn[:4]}01001",
                "СтранаРегистрации_Key": guid("country", account.country) if account.country else EMPTY_REF,
                **extra,
            },
        )
        contacts = [
            ("Телефон", account.phone, "", ""),
            ("АдресЭлектроннойПочты", account.email, "", ""),
            ("Адрес", account.address, "ТУРЦИЯ" if account.country == "TR" else "", account.city or ""),
        ]
        line = 0
        for kind, text, country, city in contacts:
            if text:
                line += 1
                self.base.add(
                    "Catalog_Контрагенты_КонтактнаяИнформация",
                    {
                        "Ref_Key": ref,
                        "LineNumber": line,
                        "Тип": kind,
                        "Вид_Key": guid("contact-kind", kind),
                        "Представление": text,
                        "Страна": country,
                        "Город": city,
                    },
                )

    def _partner(self, account: Account) -> None:
        self.base.add(
            "Catalog_Партнеры",
            {
                "Ref_Key": guid("partner", account.code),
                "DeletionMark": False,
                "Parent_Key": guid("partner", account.parent_code) if account.parent_code else EMPTY_REF,
                "Code": account.code,
                "Description": account.title[:100],
                "Клиент": account.kind != "supplier",
                "Поставщик": account.kind != "customer",
                "ОсновнойМенеджер_Key": self.user_ref(account.sales_rep_code),
                "БизнесРегион_Key": guid("region", account.region_code) if account.region_code else EMPTY_REF,
                "ДатаРегистрации": self.stamp(account.created_at),
            },
        )

    def _price_types(self, dealers: set[str | None]) -> None:
        set_name = "Catalog_ТипыЦенНоменклатуры" if self.bp else "Catalog_ВидыЦен"
        self.base.add(
            set_name,
            {
                "Ref_Key": guid("price-type", "base"),
                "DeletionMark": False,
                "Code": "000000001",
                "Description": "Оптовая",
                "ВалютаЦены_Key": self.currency_ref(self.local),
            },
        )
        for stamped in self.scenario.discounts:
            rule = stamped.record
            if rule.kind == "fixed_price" and rule.account_code in dealers:
                self.base.add(
                    set_name,
                    {
                        "Ref_Key": guid("price-type", rule.account_code),
                        "DeletionMark": False,
                        "Code": f"И-{rule.account_code}",
                        "Description": f"Индивидуальная {rule.account_code}",
                        "ВалютаЦены_Key": self.currency_ref(rule.currency),
                    },
                )

    def _price_type(self, code: str, individual: bool) -> str:
        return guid("price-type", code if individual else "base")

    def _agreement(self, account: Account, limit: Any, individual_prices: bool) -> None:
        self.base.add(
            "Catalog_СоглашенияСКлиентами",
            {
                "Ref_Key": guid("agreement", account.code),
                "DeletionMark": False,
                "Code": account.code,
                "Description": "Основное соглашение",
                "Партнер_Key": guid("partner", account.code),
                "Контрагент_Key": self.account_ref(account.code),
                "Валюта_Key": self.currency_ref(self.local),
                "ГрафикОплаты_Key": guid("terms", account.payment_terms) if account.payment_terms else EMPTY_REF,
                "ВидЦен_Key": self._price_type(account.code, individual_prices),
                "ДопустимаяСуммаЗадолженности": as_number(limit.limit) if limit else 0.0,
                "КонтролироватьСуммуЗадолженности": limit is not None,
                "Статус": "Действует",
            },
        )

    def _contracts(self, account: Account, limit: Any, individual_prices: bool) -> None:
        kinds = {"customer": ["customer"], "supplier": ["supplier"], "both": ["customer", "supplier"]}[account.kind]
        for kind in kinds:
            customer = kind == "customer"
            self.base.add(
                "Catalog_ДоговорыКонтрагентов",
                {
                    "Ref_Key": self.contract_ref(account.code, kind),
                    "DeletionMark": False,
                    "Owner_Key": self.account_ref(account.code),
                    "Code": f"{account.code}-{kind[0].upper()}",
                    "Description": "Основной договор",
                    "ВидДоговора": "СПокупателем" if customer else "СПоставщиком",
                    "ВалютаВзаиморасчетов_Key": self.currency_ref(self.local),
                    "ТипЦен_Key": self._price_type(account.code, individual_prices) if customer else EMPTY_REF,
                    "ДопустимаяСуммаЗадолженности": as_number(limit.limit) if limit and customer else 0.0,
                    "КонтролироватьСуммуЗадолженности": bool(limit) and customer,
                },
            )

    # -- products ------------------------------------------------------------------------------
    def products_and_units(self) -> None:
        units = sorted({RUSSIAN_UNITS[u.unit] for p in self.products.values() for u in p.units} | {"шт"})
        for unit in units:
            if self.bp:
                self.base.add(
                    "Catalog_КлассификаторЕдиницИзмерения",
                    {"Ref_Key": guid("unit", unit), "DeletionMark": False, "Code": OKEI[unit], "Description": unit},
                )
            else:
                self.base.add(
                    "Catalog_УпаковкиЕдиницыИзмерения",
                    {
                        "Ref_Key": guid("unit", unit),
                        "DeletionMark": False,
                        "Owner_Key": EMPTY_REF,
                        "Code": OKEI[unit],
                        "Description": unit,
                        "Числитель": 1.0,
                        "Знаменатель": 1.0,
                        "ЕдиницаИзмерения_Key": EMPTY_REF,
                    },
                )
        categories = sorted({p.category_code for p in self.products.values() if p.category_code} | {"УСЛУГИ"})
        for category in categories:
            self.base.add(
                "Catalog_ВидыНоменклатуры",
                {
                    "Ref_Key": guid("item-kind", category),
                    "DeletionMark": False,
                    "Code": category,
                    "Description": category.title(),
                },
            )
        if not self.bp:
            for brand in sorted({p.brand for p in self.products.values() if p.brand}):
                self.base.add(
                    "Catalog_Марки",
                    {"Ref_Key": guid("brand", brand), "DeletionMark": False, "Code": brand[:9], "Description": brand},
                )
        for group in sorted({p.group_code for p in self.products.values() if p.group_code}):
            self.base.add("Catalog_Номенклатура", self._item(guid("item-group", group), group, group, folder=True))
        for product in self.products.values():
            self._product(product)
        for service in self.scenario.services:
            row = self._item(self.product_ref(service.code), service.code, service.name, category="УСЛУГИ")
            row.update(
                {
                    "ЕдиницаИзмерения_Key": guid("unit", RUSSIAN_UNITS[service.unit]),
                    "СтавкаНДС_Key": self.vat_ref(service.vat_rate),
                }
            )
            row.update({"Услуга": True} if self.bp else {"ТипНоменклатуры": "Услуга"})
            self.base.add("Catalog_Номенклатура", row)

    def _item(self, ref: str, code: str, name: str, *, folder: bool = False, category: str | None = None) -> Row:
        row: Row = {
            "Ref_Key": ref,
            "DeletionMark": False,
            "IsFolder": folder,
            "Parent_Key": EMPTY_REF,
            "Code": code,
            "Description": name[:100],
            "НаименованиеПолное": "" if folder else name,
            "Артикул": "" if folder else code,
            "ЕдиницаИзмерения_Key": EMPTY_REF,
            "ВидНоменклатуры_Key": guid("item-kind", category) if category else EMPTY_REF,
            "СтавкаНДС_Key": EMPTY_REF,
        }
        row.update(
            {"Услуга": False} if self.bp else {"ТипНоменклатуры": "" if folder else "Товар", "Марка_Key": EMPTY_REF}
        )
        return row

    def _product(self, product: Any) -> None:
        ref = self.product_ref(product.code)
        row = self._item(ref, product.code, product.name, category=product.category_code)
        row["Parent_Key"] = guid("item-group", product.group_code) if product.group_code else EMPTY_REF
        row["ЕдиницаИзмерения_Key"] = guid("unit", RUSSIAN_UNITS[product.base_unit])
        row["СтавкаНДС_Key"] = self.vat_ref(product.vat_rate)
        if not self.bp:
            row["Марка_Key"] = guid("brand", product.brand) if product.brand else EMPTY_REF
        self.base.add("Catalog_Номенклатура", row)
        if self.bp:
            return  # BP 3 keeps neither packagings nor a barcode register
        for barcode in product.barcodes:
            self.base.add(
                "InformationRegister_ШтрихкодыНоменклатуры",
                {
                    "Штрихкод": barcode,
                    "Номенклатура_Key": ref,
                    "Характеристика_Key": EMPTY_REF,
                    "Упаковка_Key": EMPTY_REF,
                },
            )
        for unit in product.units:
            if unit.unit == product.base_unit:
                continue
            packaging = guid("packaging", product.code, unit.unit)
            self.base.add(
                "Catalog_УпаковкиЕдиницыИзмерения",
                {
                    "Ref_Key": packaging,
                    "DeletionMark": False,
                    "Owner_Key": ref,
                    "Code": "",
                    "Description": RUSSIAN_UNITS[unit.unit],
                    "Числитель": float(unit.factor),
                    "Знаменатель": 1.0,
                    "ЕдиницаИзмерения_Key": guid("unit", RUSSIAN_UNITS[product.base_unit]),
                },
            )
            if unit.barcode:
                self.base.add(
                    "InformationRegister_ШтрихкодыНоменклатуры",
                    {
                        "Штрихкод": unit.barcode,
                        "Номенклатура_Key": ref,
                        "Характеристика_Key": EMPTY_REF,
                        "Упаковка_Key": packaging,
                    },
                )

    # -- discounts and prices ------------------------------------------------------------------
    def discounts(self) -> None:
        set_name = "InformationRegister_ЦеныНоменклатуры"
        price_type = "ТипЦен_Key" if self.bp else "ВидЦены_Key"
        base_type = guid("price-type", "base")
        for code in list(self.products)[::3]:  # a shared list price: not a dealer's deal, never a discount
            row = {
                "Period": as_day(self.scenario.as_of.date().replace(day=1)),
                price_type: base_type,
                "Номенклатура_Key": self.product_ref(code),
                "Цена": 100.0,
            }
            row.update(
                {"Валюта_Key": self.currency_ref(self.local)}
                if self.bp
                else {"Характеристика_Key": EMPTY_REF, "Упаковка_Key": EMPTY_REF}
            )
            self.base.add(set_name, row)
        for stamped in self.scenario.discounts:
            rule = stamped.record
            if not rule.active:
                continue  # 1C keeps no switched-off discount: the record is removed
            if rule.kind == "fixed_price":
                self._fixed_price(rule, set_name, price_type)
            elif not self.bp:
                self._discount(rule)

    def _fixed_price(self, rule: Discount, set_name: str, price_type: str) -> None:
        row = {
            "Period": as_day(rule.valid_from),
            price_type: guid("price-type", rule.account_code),
            "Номенклатура_Key": self.product_ref(rule.product_code or ""),
            "Цена": as_number(rule.value),
        }
        row.update(
            {"Валюта_Key": self.currency_ref(rule.currency)}
            if self.bp
            else {"Характеристика_Key": EMPTY_REF, "Упаковка_Key": EMPTY_REF}
        )
        self.discount_rows[rule.code] = self.base.add(set_name, row)

    def _discount(self, rule: Discount) -> None:
        if rule.account_code:
            recipient, kind = self.account_ref(rule.account_code), CATALOG_TYPE.format("Контрагенты")
        elif rule.account_group_code:
            recipient, kind = guid("counterparty-group", rule.account_group_code), CATALOG_TYPE.format("Контрагенты")
        else:
            recipient, kind = EMPTY_REF, UNDEFINED_TYPE
        if rule.product_code:
            item = self.product_ref(rule.product_code)
        elif rule.product_group_code:
            item = guid("item-group", rule.product_group_code)
        else:
            item = EMPTY_REF
        percent = rule.kind == "percent"
        row = {
            "Period": as_day(rule.valid_from),
            "ПолучательСкидки": recipient,
            "ПолучательСкидки_Type": kind,
            "Номенклатура_Key": item,
            "КоличествоОт": as_number(rule.min_quantity),
            "ПроцентСкидкиНаценки": as_number(rule.value) if percent else 0.0,
            "СуммаСкидки": 0.0 if percent else as_number(rule.value),
            "Валюта_Key": self.currency_ref(rule.currency),
            "ДатаОкончания": as_day(rule.valid_to),
            "Приоритет": rule.priority,
        }
        dims = ("Period", "ПолучательСкидки", "Номенклатура_Key", "КоличествоОт")
        entity_set = self.base.sets["InformationRegister_СкидкиНаценкиНоменклатуры"]
        for existing in entity_set.rows:
            if all(existing[d] == row[d] for d in dims):  # same record key: a later write replaces it, as in 1C
                existing.update(row)
                self.discount_rows[rule.code] = existing
                return
        self.discount_rows[rule.code] = self.base.add("InformationRegister_СкидкиНаценкиНоменклатуры", row)

    def set_discount_value(self, code: str, value: Decimal) -> None:
        """A rule's new value. A rule the base does not hold (switched off, or a percent rule in BP 3, which
        has no discount register) has nothing to change."""
        row = self.discount_rows.get(code)
        if row is None:
            return
        if "Цена" in row:
            row["Цена"] = float(value)
        elif row["СуммаСкидки"]:
            row["СуммаСкидки"] = float(value)
        else:
            row["ПроцентСкидкиНаценки"] = float(value)
        self.base.revision += 1

    # -- balances and rates ----------------------------------------------------------------------
    def balances(self) -> None:
        if self.bp:
            self._ledger_balances()
            return
        stock: list[Row] = []
        for n, level in enumerate(self.scenario.stock_levels):
            if not level.on_hand and not level.reserved:
                continue  # a Balance virtual table has no all-zero rows
            base = {
                "Номенклатура_Key": self.product_ref(level.product_code),
                "Склад_Key": self.warehouse_ref(level.warehouse_code),
                "ВРезервеПодЗаказBalance": 0.0,
                "КОтгрузкеBalance": 0.0,
            }
            on_hand, reserved = level.on_hand, level.reserved or Decimal(0)
            if n % 5 == 0 and on_hand >= 2:  # stock kept by characteristic (colour, size): 1C returns a row for each
                half = (on_hand / 2).quantize(Decimal("0.001"))
                stock.append(
                    {
                        **base,
                        "Характеристика_Key": guid("characteristic", level.product_code, "A"),
                        "ВНаличииBalance": float(half),
                        "ВРезервеСоСкладаBalance": float(reserved),
                    }
                )
                stock.append(
                    {
                        **base,
                        "Характеристика_Key": guid("characteristic", level.product_code, "B"),
                        "ВНаличииBalance": float(on_hand - half),
                        "ВРезервеСоСкладаBalance": 0.0,
                    }
                )
            else:
                stock.append(
                    {
                        **base,
                        "Характеристика_Key": EMPTY_REF,
                        "ВНаличииBalance": float(on_hand),
                        "ВРезервеСоСкладаBalance": float(reserved),
                    }
                )
        self.base.replace_rows("AccumulationRegister_ТоварыНаСкладах/Balance", stock)
        receivables = [
            {
                "Контрагент_Key": self.account_ref(r.account_code),
                "Валюта_Key": self.currency_ref(self.local),
                "СуммаBalance": as_number(r.open_balance),
            }
            for r in self.scenario.risk_limits
            if r.open_balance
        ]
        self.base.replace_rows("AccumulationRegister_РасчетыСКлиентами/Balance", receivables)

    def _ledger_balances(self) -> None:
        for code, name in (
            ("41.01", "Товары на складах"),
            ("62.01", "Расчеты с покупателями и заказчиками"),
            ("62.02", "Расчеты по авансам полученным"),
            ("60.01", "Расчеты с поставщиками"),
        ):
            self.base.add(
                "ChartOfAccounts_Хозрасчетный",
                {"Ref_Key": guid("ledger-account", code), "DeletionMark": False, "Code": code, "Description": name},
            )
        rows: list[Row] = []
        for level in self.scenario.stock_levels:
            if level.on_hand:
                rows.append(
                    {
                        "Account_Key": guid("ledger-account", "41.01"),
                        "ExtDimension1": self.product_ref(level.product_code),
                        "ExtDimension1_Type": CATALOG_TYPE.format("Номенклатура"),
                        "ExtDimension2": self.warehouse_ref(level.warehouse_code),
                        "ExtDimension2_Type": CATALOG_TYPE.format("Склады"),
                        "Валюта_Key": EMPTY_REF,
                        "КоличествоBalance": float(level.on_hand),
                        "СуммаBalance": float(level.on_hand * 10),
                    },
                )
        for r in self.scenario.risk_limits:
            if r.open_balance:
                rows.append(
                    {
                        "Account_Key": guid("ledger-account", "62.01"),
                        "ExtDimension1": self.account_ref(r.account_code),
                        "ExtDimension1_Type": CATALOG_TYPE.format("Контрагенты"),
                        "ExtDimension2": self.contract_ref(r.account_code),
                        "ExtDimension2_Type": CATALOG_TYPE.format("ДоговорыКонтрагентов"),
                        "Валюта_Key": EMPTY_REF,
                        "КоличествоBalance": 0.0,
                        "СуммаBalance": as_number(r.open_balance),
                    },
                )
        self.base.replace_rows("AccountingRegister_Хозрасчетный/Balance", rows)
