"""The scenario as a Russian distributor keeps it in 1C: УТ 11 (also ERP 2) or Бухгалтерия предприятия 3.

What the emulator holds differs from the scenario's Turkish facts where 1C itself differs:
  * the local currency is the rouble: Catalog_Валюты has RUB 643 (the scenario's TRY amounts kept
    as they are), USD 840 and EUR 978; daily rates in InformationRegister_КурсыВалют;
  * tax ids are Russian INNs derived from the account code (inn_of), with a KPP for companies;
  * УТ's legal entities, warehouses, item kinds, regions and price types have no code (only a name);
    БП's item kinds neither;
  * agreements (УТ) and contracts (БП) are in roubles, so an account's currency is RUB; УТ keeps credit
    limits on contracts, БП keeps none;
  * VAT: УТ's Catalog_СтавкиНДС has the Russian 10 % and 20 % rates and the scenario's 1 % as a rate
    without enumeration (another country's, by its Ставка); БП has no 1 % (its lines and items leave the
    rate empty);
  * units carry Russian names (шт, м, кг, кор), sales reps are users (Catalog_Пользователи, no code);
  * cheques and promissory notes are banked: bank receipts without a due date;
  * a cancelled document is marked for deletion (DeletionMark, Posted false); unposted drafts, retail
    sales and a supplier's refund, and shared price lists exist beside the facts, as in a live base;
  * balances are virtual-table rows, which 1C omits when zero.
Set and field names are 1C's own (Cyrillic); references are uuid5 GUIDs of scenario keys.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import msgspec

from mapping.schema import Account
from mapping.taxid import generate_inn
from scenario.facts import Scenario
from scenario.pricing import WHOLESALE

from .infobase import EMPTY_REF, Infobase, Row, guid
from .layout import (
    CATALOG_TYPE,
    CURRENCIES,
    OKEI,
    RUSSIAN_UNITS,
    VAT_CODES,
    VAT_KINDS,
    Configuration,
    as_day,
    as_number,
)
from .publish_documents import DocumentWriter

__all__ = ["Configuration", "Publisher", "inn_of"]

DRAFT_EVERY = 50  # one unposted draft sale per this many invoices
RETAIL_EVERY = 70  # one sale with an operation kind the feed leaves out per this many invoices
REFUND_EVERY = 25  # one supplier's refund (a cash receipt order) per this many collections


PURCHASE = "purchase"  # the key of УТ's purchase price type (no sales list)


def inn_of(account: Account) -> str:
    """The INN the emulator gives an account: 12 digits for a person, 10 for an organisation."""
    return generate_inn(random.Random(f"inn:{account.code}"), individual=account.is_individual)


class Publisher(DocumentWriter):
    """Writes a scenario into an Infobase in one configuration's layout, and replays its later changes."""

    def __init__(self, infobase: Infobase, scenario: Scenario, configuration: Configuration = "ut11") -> None:
        super().__init__(infobase, scenario, configuration)
        self.price_rows: dict[str, Row] = {}  # scenario rule code -> price record
        # (list code, product, unit, valid from) -> the price list record
        self.list_rows: dict[tuple[str, str, str, Any], Row] = {}

    # -- everything --------------------------------------------------------------------------
    def publish(self) -> None:
        self.currencies()
        self.vat_rates()
        self.warehouses()
        self.users()
        self.countries()
        self.accounts_and_agreements()
        self.products_and_units()
        self.prices()
        for order in self.scenario.orders():
            self.add_order(order.record)
        for number, invoice in enumerate(self.scenario.invoices()):
            self.add_invoice(invoice.record)
            if invoice.record.kind == "sale":
                if number % DRAFT_EVERY == DRAFT_EVERY - 1:
                    self.add_draft(invoice.record)
                if number % RETAIL_EVERY == RETAIL_EVERY - 1:
                    self.add_retail_sale(invoice.record)
        for number, collection in enumerate(self.scenario.collections()):
            self.add_collection(collection.record)
            if number % REFUND_EVERY == REFUND_EVERY - 1:
                refund = "ВозвратОтПоставщика" if self.bp else "ВозвратДенежныхСредствОтПоставщика"
                self.add_collection(_renumber(collection.record, "-В"), refund)
        for note in self.scenario.notes():
            self.add_note(note.record)
        for slip in self.scenario.stock_slips():
            self.add_slip(slip.record)
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

    def _rates_used(self) -> set[int]:
        return {int(p.record.vat_rate or 0) for p in self.scenario.products} | {
            int(s.vat_rate) for s in self.scenario.services
        }

    def vat_rates(self) -> None:
        if self.bp:
            return  # БП keeps rates as the СтавкиНДС enumeration on every line
        for rate in sorted(self._rates_used()):
            self.base.add(
                "Catalog_СтавкиНДС",
                {
                    "Ref_Key": guid("vat", rate),
                    "DeletionMark": False,
                    "Description": f"{rate}%",
                    "ПеречислениеСтавкаНДС": VAT_CODES.get(rate, ""),
                    "Ставка": float(rate),
                },
            )

    def warehouses(self) -> None:
        for w in self.scenario.warehouses:
            row: Row = {
                "Ref_Key": self.warehouse_ref(w.code),
                "DeletionMark": False,
                "IsFolder": False,
                "Parent_Key": EMPTY_REF,
                "Description": w.name,
            }
            if self.bp:
                row["Code"] = w.code
            self.base.add("Catalog_Склады", row)

    def users(self) -> None:
        for rep in self.scenario.sales_reps:
            self.base.add(
                "Catalog_Пользователи",
                {"Ref_Key": self.user_ref(rep.code), "DeletionMark": False, "Description": rep.name},
            )

    def countries(self) -> None:
        for alpha2 in sorted({a.record.country for a in self.scenario.accounts if a.record.country}):
            self.base.add(
                "Catalog_СтраныМира",
                {
                    "Ref_Key": guid("country", alpha2),
                    "DeletionMark": False,
                    "Code": "792",
                    "Description": "ТУРЦИЯ",
                    "КодАльфа2": alpha2,
                },
            )

    # -- accounts ------------------------------------------------------------------------------
    def accounts_and_agreements(self) -> None:
        fixed_price_dealers = {s.record.account_code for s in self.scenario.discounts if s.record.kind == "fixed_price"}
        limits = {r.account_code: r for r in self.scenario.risk_limits}
        if self.bp:
            for group in sorted({a.group_code for a in self.accounts.values() if a.group_code}):
                self.base.add("Catalog_Контрагенты", self._counterparty_folder(group))
        else:
            for region in sorted({a.region_code for a in self.accounts.values() if a.region_code}):
                self._catalog("Catalog_БизнесРегионы", guid("region", region), region)
            for term in sorted({a.payment_terms for a in self.accounts.values() if a.payment_terms}):
                self._catalog("Catalog_ГрафикиОплаты", guid("terms", term), term)
        self._price_types(fixed_price_dealers)
        for stamped in self.scenario.accounts:
            account = stamped.record
            self._counterparty(account)
            if self.bp:
                self._contracts(account, account.code in fixed_price_dealers)
                continue
            self._partner(account)
            self._catalog(
                "Catalog_КлючиАналитикиУчетаПоПартнерам",
                guid("settlement-key", account.code),
                account.title[:100],
                Партнер_Key=guid("partner", account.code),
                Контрагент=self.account_ref(account.code),
                Контрагент_Type=CATALOG_TYPE.format("Контрагенты"),
            )
            if account.kind != "supplier":
                self._agreement(account, account.code in fixed_price_dealers)
                self._credit_contract(account, limits.get(account.code))

    def _catalog(self, set_name: str, ref: str, description: str, **fields: Any) -> None:
        self.base.add(set_name, {"Ref_Key": ref, "DeletionMark": False, "Description": description, **fields})

    def _counterparty_folder(self, group: str) -> Row:
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
            "ЮридическоеФизическоеЛицо": "",
        }

    def _counterparty(self, account: Account) -> None:
        inn = inn_of(account)
        ref = self.account_ref(account.code)
        row: Row = {
            "Ref_Key": ref,
            "DeletionMark": False,
            "Description": account.title[:100],
            "НаименованиеПолное": account.title,
            "ИНН": inn,
            "КПП": "" if account.is_individual else f"{inn[:4]}01001",
            "СтранаРегистрации_Key": guid("country", account.country) if account.country else EMPTY_REF,
        }
        if self.bp:
            row.update(
                {
                    "Code": account.code,
                    "IsFolder": False,
                    "Parent_Key": guid("counterparty-group", account.group_code) if account.group_code else EMPTY_REF,
                    "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if account.is_individual else "ЮридическоеЛицо",
                }
            )
        else:
            row.update(
                {
                    "ЮрФизЛицо": "ФизЛицо" if account.is_individual else "ЮрЛицо",
                    "Партнер_Key": guid("partner", account.code),
                }
            )
        self.base.add("Catalog_Контрагенты", row)
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
        """The sales price lists (price types shared by the customers' agreements or by none), each dealer's own
        price type, and (УТ) a purchase price type, which is no sales list (ИспользоватьПриПродаже false). A price
        type holds one price per item at a time (Упаковка is a resource, not a dimension): the wholesale list's
        per-case prices are a price type of their own."""
        set_name = "Catalog_ТипыЦенНоменклатуры" if self.bp else "Catalog_ВидыЦен"
        types: list[tuple[str, str, str, str | None, bool]] = []
        for (code, name), currency in self.price_list_types().items():
            types.append((self._list_key(code), code, name, currency, True))
        if not self.bp:
            types.append((PURCHASE, "ЗАКУП", "Закупочные цены", self.local, False))
        for stamped in self.scenario.discounts:
            rule = stamped.record
            if rule.kind == "fixed_price" and rule.account_code in dealers:
                name = f"И-{rule.account_code}"
                types.append((rule.account_code or "", name, name, rule.currency, True))
        for key, code, name, currency, sales in dict((t[0], t) for t in types).values():
            row: Row = {"ВалютаЦены_Key": self.currency_ref(currency), "ЦенаВключаетНДС": False}
            if self.bp:
                row["Code"] = code
            else:
                row["ИспользоватьПриПродаже"] = sales
            self._catalog(set_name, guid("price-type", key), name, **row)

    def price_list_types(self) -> dict[tuple[str, str], str]:
        """(list code, name) -> currency of every price list type the base holds: the scenario's lists, and in
        УТ a per-case list beside a list with per-case entries (БП keeps no packagings: none)."""
        out: dict[tuple[str, str], str] = {}
        for entry in self.scenario.price_lists:
            if entry.unit in (None, self.products[entry.product_code].base_unit):
                out.setdefault((entry.list_code, entry.list_name or entry.list_code), entry.currency)
            elif not self.bp:
                out.setdefault(self._case_list(entry.list_code, entry.list_name, entry.unit), entry.currency)
        return out

    @staticmethod
    def _case_list(code: str, name: str | None, unit: str) -> tuple[str, str]:
        short = RUSSIAN_UNITS[unit]
        return f"{code}-{short}", f"{name or code} ({short})"

    @staticmethod
    def _list_key(code: str) -> str:
        # The wholesale list is the price type every customer's agreement without its own prices uses.
        return "base" if code == WHOLESALE[0] else f"list:{code}"

    def _price_type(self, code: str, individual: bool) -> str:
        return guid("price-type", code if individual else "base")

    def _agreement(self, account: Account, individual_prices: bool) -> None:
        self._catalog(
            "Catalog_СоглашенияСКлиентами",
            guid("agreement", account.code),
            "Основное соглашение",
            Партнер_Key=guid("partner", account.code),
            Контрагент_Key=self.account_ref(account.code),
            Валюта_Key=self.currency_ref(self.local),
            ГрафикОплаты_Key=guid("terms", account.payment_terms) if account.payment_terms else EMPTY_REF,
            ВидЦен_Key=self._price_type(account.code, individual_prices),
            Статус="Действует",
        )

    def _credit_contract(self, account: Account, limit: Any) -> None:
        self._catalog(
            "Catalog_ДоговорыКонтрагентов",
            self.contract_ref(account.code),
            "Основной договор",
            Партнер_Key=guid("partner", account.code),
            Контрагент_Key=self.account_ref(account.code),
            ВалютаВзаиморасчетов_Key=self.currency_ref(self.local),
            Статус="Действует",
            ОграничиватьСуммуЗадолженности=limit is not None,
            ДопустимаяСуммаЗадолженности=as_number(limit.limit) if limit else 0.0,
        )

    def _contracts(self, account: Account, individual_prices: bool) -> None:
        kinds = {"customer": ["customer"], "supplier": ["supplier"], "both": ["customer", "supplier"]}[account.kind]
        for kind in kinds:
            customer = kind == "customer"
            self._catalog(
                "Catalog_ДоговорыКонтрагентов",
                self.contract_ref(account.code, kind),
                "Основной договор",
                Owner_Key=self.account_ref(account.code),
                Code=f"{account.code}-{kind[0].upper()}",
                ВидДоговора="СПокупателем" if customer else "СПоставщиком",
                ВалютаВзаиморасчетов_Key=self.currency_ref(self.local),
                ТипЦен_Key=self._price_type(account.code, individual_prices) if customer else EMPTY_REF,
            )

    # -- products ------------------------------------------------------------------------------
    def products_and_units(self) -> None:
        units = sorted({RUSSIAN_UNITS[u.unit] for p in self.products.values() for u in p.units} | {"шт"})
        for unit in units:
            if self.bp:
                self._catalog("Catalog_КлассификаторЕдиницИзмерения", guid("unit", unit), unit, Code=OKEI[unit])
            else:
                self._packaging(guid("unit", unit), unit, None, Decimal(1), EMPTY_REF, OKEI[unit])
        categories = sorted({p.category_code for p in self.products.values() if p.category_code} | {"УСЛУГИ"})
        for category in categories:  # no code: the name is the category's code in the feed
            self._catalog("Catalog_ВидыНоменклатуры", guid("item-kind", category), category)
        if not self.bp:
            for brand in sorted({p.brand for p in self.products.values() if p.brand}):
                self._catalog("Catalog_Марки", guid("brand", brand), brand)
        for group in sorted({p.group_code for p in self.products.values() if p.group_code}):
            self.base.add("Catalog_Номенклатура", self._item(guid("item-group", group), group, group, folder=True))
        for product in self.products.values():
            self._product(product)
        for service in self.scenario.services:
            row = self._item(self.product_ref(service.code), service.code, service.name, category="УСЛУГИ")
            row["ЕдиницаИзмерения_Key"] = guid("unit", RUSSIAN_UNITS[service.unit])
            row.update(self._vat_of(service.vat_rate))
            row.update({"Услуга": True} if self.bp else {"ТипНоменклатуры": "Услуга"})
            self.base.add("Catalog_Номенклатура", row)

    def _vat_of(self, rate: Decimal | None) -> Row:
        if self.bp:
            return {"ВидСтавкиНДС": VAT_KINDS.get(int(rate), "") if rate is not None else ""}
        return {"СтавкаНДС_Key": self.vat_ref(rate)}

    def _packaging(self, ref: str, name: str, owner: str | None, factor: Decimal, base: str, code: str = "") -> None:
        self._catalog(
            "Catalog_УпаковкиЕдиницыИзмерения",
            ref,
            name,
            Code=code,
            Owner=owner or "",
            Owner_Type=CATALOG_TYPE.format("Номенклатура") if owner else "StandardODATA.Undefined",
            Числитель=float(factor),
            Знаменатель=1.0,
            ЕдиницаИзмерения_Key=base,
        )

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
            **self._vat_of(None),
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
        row.update(self._vat_of(product.vat_rate))
        if not self.bp:
            row["Марка_Key"] = guid("brand", product.brand) if product.brand else EMPTY_REF
        self.base.add("Catalog_Номенклатура", row)
        if self.bp:
            return  # БП 3 keeps neither packagings nor a barcode register
        barcode_set = "InformationRegister_ШтрихкодыНоменклатуры"
        for barcode in product.barcodes:
            self.base.add(barcode_set, self._barcode(barcode, ref, EMPTY_REF))
        for unit in product.units:
            if unit.unit == product.base_unit:
                continue
            packaging = guid("packaging", product.code, unit.unit)
            base = guid("unit", RUSSIAN_UNITS[product.base_unit])
            self._packaging(packaging, RUSSIAN_UNITS[unit.unit], ref, unit.factor, base)
            if unit.barcode:
                self.base.add(barcode_set, self._barcode(unit.barcode, ref, packaging))

    @staticmethod
    def _barcode(barcode: str, item: str, packaging: str) -> Row:
        return {
            "Штрихкод": barcode,
            "Номенклатура_Key": item,
            "Характеристика_Key": EMPTY_REF,
            "Упаковка_Key": packaging,
        }

    # -- prices ------------------------------------------------------------------------------------
    def prices(self) -> None:
        """Price records (written by a price-setting document, the recorder): the scenario's price lists, one
        recorder per list and day, a zero price where an item leaves a list; purchase prices (УТ) on a fifth of
        the items; each dealer's fixed prices. 1C keeps no switched-off price, and no percent rule here."""
        type_field = "ТипЦен_Key" if self.bp else "ВидЦены_Key"
        self._list_prices(type_field)
        if not self.bp:
            recorder = guid("price-setting", "purchase")
            for line, code in enumerate(list(self.products)[::5], 1):
                day = self.scenario.as_of.date().replace(day=1)
                self._price(
                    recorder, line, day, type_field, guid("price-type", PURCHASE), code, Decimal(50), self.local
                )
        for line, stamped in enumerate(self.scenario.discounts, 1):
            rule = stamped.record
            if rule.active and rule.kind == "fixed_price":
                kind = guid("price-type", rule.account_code)
                recorder = guid("price-setting", rule.code)
                row = self._price(
                    recorder, line, rule.valid_from, type_field, kind, rule.product_code, rule.value, rule.currency
                )
                self.price_rows[rule.code] = row

    def _list_prices(self, type_field: str) -> None:
        lines: dict[str, int] = {}
        held = {(e.list_code, e.product_code, e.unit, e.valid_from) for e in self.scenario.price_lists}
        for entry in self.scenario.price_lists:
            product = self.products[entry.product_code]
            code, packaging = entry.list_code, EMPTY_REF
            if entry.unit not in (None, product.base_unit):
                if self.bp:
                    continue  # БП keeps no packagings: no per-case price
                code = self._case_list(entry.list_code, entry.list_name, entry.unit)[0]
                packaging = guid("packaging", product.code, entry.unit)
            kind = guid("price-type", self._list_key(code))
            writes = [(entry.valid_from, entry.price)]
            if entry.valid_to is not None:
                after = entry.valid_to + dt.timedelta(days=1)
                if (entry.list_code, entry.product_code, entry.unit, after) not in held:
                    writes.append((after, Decimal(0)))  # the item leaves the list: a zero price ends its price
            for day, price in writes:
                recorder = guid("price-setting", code, day)
                lines[recorder] = line = lines.get(recorder, 0) + 1
                row = self._price(recorder, line, day, type_field, kind, entry.product_code, price, entry.currency)
                if not self.bp:
                    row["Упаковка_Key"] = packaging
                self.list_rows[entry.list_code, entry.product_code, entry.unit or "", day] = row

    def _price(
        self, recorder: str, line: int, day: Any, type_field: str, kind: str, item: Any, value: Any, currency: Any
    ) -> Row:
        row: Row = {
            "Recorder": recorder,
            "Recorder_Type": "StandardODATA.Document_УстановкаЦенНоменклатуры",
            "Period": as_day(day),
            "LineNumber": line,
            "Active": True,
            type_field: kind,
            "Номенклатура_Key": self.product_ref(item or ""),
            "Цена": as_number(value),
            "Валюта_Key": self.currency_ref(currency),
        }
        if not self.bp:
            row.update({"Характеристика_Key": EMPTY_REF, "Упаковка_Key": EMPTY_REF})
        return self.base.add("InformationRegister_ЦеныНоменклатуры_RecordType", row)

    def set_discount_value(self, code: str, value: Decimal) -> None:
        """A rule's new value. A rule the base does not hold (switched off, or a percent or amount rule, which
        this emulator does not keep) has nothing to change."""
        row = self.price_rows.get(code)
        if row is None:
            return
        row["Цена"] = float(value)
        self.base.sets["InformationRegister_ЦеныНоменклатуры_RecordType"].changed()
        self.base.revision += 1

    # -- balances ------------------------------------------------------------------------------
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
            }
            on_hand, reserved = level.on_hand, level.reserved or Decimal(0)
            if n % 5 == 0 and on_hand >= 2:  # stock kept by characteristic (colour, size): 1C returns a row for each
                half = (on_hand / 2).quantize(Decimal("0.001"))
                stock.append(
                    {
                        **base,
                        "Характеристика_Key": guid("characteristic", level.product_code, "A"),
                        "ВНаличииBalance": float(half),
                        "КОтгрузкеBalance": float(reserved),
                    }
                )
                stock.append(
                    {
                        **base,
                        "Характеристика_Key": guid("characteristic", level.product_code, "B"),
                        "ВНаличииBalance": float(on_hand - half),
                        "КОтгрузкеBalance": 0.0,
                    }
                )
            else:
                stock.append(
                    {
                        **base,
                        "Характеристика_Key": EMPTY_REF,
                        "ВНаличииBalance": float(on_hand),
                        "КОтгрузкеBalance": float(reserved),
                    }
                )
        self.base.replace_rows("AccumulationRegister_ТоварыНаСкладах/Balance", stock)
        self.receivable_balances()  # summed from the settlement movements, as 1C's Balance table is

    def _ledger_balances(self) -> None:
        for code, name in (
            ("41.01", "Товары на складах"),
            ("62.01", "Расчеты с покупателями и заказчиками"),
            ("62.02", "Расчеты по авансам полученным"),
            ("60.01", "Расчеты с поставщиками"),
            ("90.01.1", "Выручка по деятельности с основной системой налогообложения"),
            ("91.01", "Прочие доходы"),
            ("91.02", "Прочие расходы"),
            ("51", "Расчетные счета"),
            ("50.01", "Касса организации"),
            ("000", "Вспомогательный счет"),
        ):
            self._catalog("ChartOfAccounts_Хозрасчетный", guid("ledger-account", code), name, Code=code)
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
                        "КоличествоBalance": float(level.on_hand),
                        "СуммаBalance": float(level.on_hand * 10),
                    },
                )
        self.base.replace_rows("AccountingRegister_Хозрасчетный/Balance", rows)


def _renumber(collection: Any, suffix: str) -> Any:
    return msgspec.structs.replace(collection, number=collection.number + suffix, settles=[], method="cash")
