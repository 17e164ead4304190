"""Documents in the emulator: orders, invoices (sales, returns, corrections, drafts) and incoming payments,
each with its tabular sections, as the configuration keeps them: every third document's prices include
VAT (Сумма with VAT, СуммаНДС inside it), sections without discount columns hold the discounted price,
БП lines carry the СтавкиНДС enumeration, corrections hold differences (УТ) or before and after (БП),
and a few documents with operation kinds the feed leaves out (retail sales, a supplier's refund) sit
beside the facts, as in a live base."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from mapping.schema import Collection, Invoice, InvoiceLine, Order, OrderLine
from scenario.facts import Scenario

from .infobase import EMPTY_REF, Infobase, Row, guid
from .layout import (
    DOCUMENT_TYPE,
    ORDER_STATUSES,
    UNDEFINED_TYPE,
    VAT_CODES,
    Configuration,
    as_day,
    as_number,
)
from .publish_stock import StockWriter

__all__ = ["DocumentWriter", "vat_included"]

_CENT = Decimal("0.01")
_BEFORE = 4  # a БП correction's values before the change, in multiples of the change (a 25 % rise)


def vat_included(number: str) -> bool:
    """Whether the emulator keeps this document's prices with VAT included (a third of them)."""
    return zlib.crc32(number.encode()) % 3 == 0


def _cents(value: Decimal) -> float:
    return float(value.quantize(_CENT, ROUND_HALF_UP))


class DocumentWriter(StockWriter):
    """Writes documents in one configuration's layout."""

    def __init__(self, infobase: Infobase, scenario: Scenario, configuration: Configuration) -> None:
        super().__init__(infobase, scenario, configuration)
        self.sales: dict[str, str] = {}  # sale invoice number -> Ref_Key, for returns
        self.invoices: dict[str, tuple[str, str]] = {}  # invoice number -> (Ref_Key, set), for payment breakdowns
        self.rates: dict[tuple[str, dt.date], Decimal] = {}

    def _header(self, doc: Invoice | Order, cancelled: bool, operation: str | None) -> Row:
        header: Row = {
            "Ref_Key": guid("document", doc.number),
            "DeletionMark": cancelled,
            "Number": doc.number,
            "Date": self.stamp(doc.issued_at) if doc.issued_at else as_day(doc.date),
            "Posted": not cancelled,
            "Контрагент_Key": self.account_ref(doc.account_code),
            self.currency_field: self.currency_ref(doc.currency),
            "СуммаДокумента": as_number(doc.totals.total),
            self.manager_field: self.user_ref(doc.sales_rep_code),
            "Склад_Key": self.warehouse_ref(doc.warehouse_code),
        }
        inclusive = vat_included(doc.number)
        if self.bp:
            header.update(
                {"ДоговорКонтрагента_Key": self.contract_ref(doc.account_code), "СуммаВключаетНДС": inclusive}
            )
        else:
            header.update({"Партнер_Key": guid("partner", doc.account_code), "ЦенаВключаетНДС": inclusive})
        if operation is not None:
            header[self.operation_field] = operation
        return header

    def _remember_rate(self, currency: str, day: dt.date, rate: Decimal | None) -> None:
        if rate is not None and currency != self.local and (currency, day) not in self.rates:
            self.rates[(currency, day)] = rate
            if self.published:  # a later change: the day's rate is loaded when the document is entered
                self._write_rate(currency, day, rate)

    def add_invoice(self, invoice: Invoice, *, posted: bool | None = None, suffix: str = "") -> None:
        self._remember_rate(invoice.currency, invoice.date, invoice.rate)
        services = all(line.kind == "service" for line in invoice.lines)
        number = invoice.number + suffix
        doc = invoice if not suffix else _renumbered(invoice, number)
        if invoice.kind == "return":
            set_name = "Document_ВозвратТоваровОтПокупателя" if self.bp else "Document_ВозвратТоваровОтКлиента"
            operation = "Товары" if self.bp else "ВозвратТоваровОтКлиента"
        elif invoice.kind == "price_difference":
            set_name = "Document_КорректировкаРеализации"
            operation = "СогласованноеИзменение" if self.bp else "КорректировкаПоСогласованиюСторон"
        else:
            set_name = "Document_РеализацияТоваровУслуг"
            operation = ("Услуги" if services else "Товары") if self.bp else "РеализацияКлиенту"
        header = self._header(doc, invoice.cancelled, operation)
        if posted is not None:
            header["Posted"] = posted
        ref = header["Ref_Key"]
        if set_name == "Document_РеализацияТоваровУслуг":
            if not suffix:
                self.sales[invoice.number] = ref
            if self.bp:
                header.update({"КурсВзаиморасчетов": as_number(invoice.rate), "КратностьВзаиморасчетов": 1})
            else:
                header.update({"ЗаказКлиента": "", "ЗаказКлиента_Type": UNDEFINED_TYPE})
        elif set_name == "Document_КорректировкаРеализации":
            link = "ДокументРеализации" if self.bp else "ДокументОснование"
            header.update({link: "", f"{link}_Type": UNDEFINED_TYPE})
        else:
            link = "Сделка" if self.bp else "ДокументРеализации"
            original = self.sales.get(invoice.original_invoice or "")
            kind = DOCUMENT_TYPE.format("РеализацияТоваровУслуг") if original else UNDEFINED_TYPE
            header.update({link: original or "", f"{link}_Type": kind})
        self.base.add(set_name, header)
        if not suffix:
            self.invoices[invoice.number] = (ref, set_name)
        self._lines(set_name, ref, invoice.lines, vat_included(number), header)
        if header["Posted"]:  # a retail sale moves goods too; a draft does not
            self.move_invoice(ref, set_name, header, doc)
        if not suffix and header["Posted"]:  # drafts are unposted; a retail sale settles with no dealer
            local = (invoice.totals_local or invoice.totals).total
            receipt = invoice.kind != "return"
            date, account, due = header["Date"], invoice.account_code, invoice.due_date
            self.settle(ref, set_name, date, account, local, receipt, operation, invoice.currency, due)

    def add_draft(self, invoice: Invoice) -> None:
        """An unposted copy of a sale (a draft someone saved, with its lines): a live base has them, the feed
        must not."""
        self.add_invoice(invoice, posted=False, suffix="-Ч")

    def add_retail_sale(self, invoice: Invoice) -> None:
        """A sale with an operation kind the feed leaves out (УТ: a retail sale; БП: a shipment before
        ownership passes)."""
        self.add_invoice(invoice, suffix="-Р")
        operation = "ОтгрузкаБезПереходаПраваСобственности" if self.bp else "РеализацияВРозницу"
        ref = guid("document", invoice.number + "-Р")
        self.base.update("Document_РеализацияТоваровУслуг", ref, **{self.operation_field: operation})

    def add_order(self, order: Order) -> None:
        self._remember_rate(order.currency, order.date, order.rate)
        cancelled = order.status == "cancelled"
        header = self._header(order, cancelled, None)
        if self.bp:
            set_name = "Document_СчетНаОплатуПокупателю"
            header["Posted"] = False  # an invoice for payment is never posted in БП 3
        else:
            set_name = "Document_ЗаказКлиента"
            header.update(
                {
                    "Статус": ORDER_STATUSES.get(order.status, "Закрыт"),
                    "Соглашение_Key": guid("agreement", order.account_code),
                    "ХозяйственнаяОперация": "РеализацияКлиенту",
                }
            )
        self.base.add(set_name, header)
        self._lines(set_name, header["Ref_Key"], order.lines, vat_included(order.number), header, cancelled=cancelled)

    def _lines(
        self,
        set_name: str,
        ref: str,
        lines: Iterable[InvoiceLine | OrderLine],
        inclusive: bool,
        header: Row,
        cancelled: bool = False,
    ) -> None:
        numbers: dict[str, int] = {}
        for line in lines:
            services = self.bp and line.kind == "service" and f"{set_name}_Услуги" in self.base.sets
            section = next(s for s in self.base.sets[set_name].sections if s.endswith("_Услуги" if services else ""))
            numbers[section] = numbers.get(section, 0) + 1
            fields = self.base.sets[section].fields
            row = self._bp_line(line, fields, inclusive) if self.bp else self._ut_line(line, fields, inclusive)
            if "Отменено" in fields:
                row["Отменено"] = cancelled
            if "ДокументРеализации" in fields:
                row.update({k: header[k] for k in ("ДокументРеализации", "ДокументРеализации_Type")})
            row["Ref_Key"], row["LineNumber"] = ref, numbers[section]
            self.base.add(section, row)

    def _ut_line(self, line: InvoiceLine | OrderLine, fields: tuple[str, ...], inclusive: bool) -> Row:
        product = self.products.get(line.product_code or "")
        packaging, factor = EMPTY_REF, Decimal(1)
        if product is not None and line.unit != product.base_unit:
            packaging = guid("packaging", product.code, line.unit)
            factor = next(u.factor for u in product.units if u.unit == line.unit)
        amount = line.net + line.vat if inclusive else line.net
        discount = line.discount * amount / line.net if inclusive and line.net else line.discount
        packs, units = line.quantity, line.quantity * factor
        if "ЦенаДоИзменения" not in fields and "Цена" not in fields:  # a correction's differences: no quantity
            packs = units = Decimal(0)
        row: Row = {
            "Номенклатура_Key": self.product_ref(line.product_code or ""),
            "Характеристика_Key": EMPTY_REF,
            "Упаковка_Key": packaging,
            "КоличествоУпаковок": float(packs),
            "Количество": float(units),
            "Сумма": float(amount),
            "СтавкаНДС_Key": self.vat_ref(line.vat_rate),
            "СуммаНДС": float(line.vat),
            "СуммаСНДС": float(line.net + line.vat),
        }
        if "СуммаРучнойСкидки" in fields:
            price = line.unit_price * amount / line.net if inclusive and line.net else line.unit_price
            row.update(
                {
                    "Цена": _cents(price) if inclusive else float(price),
                    "ПроцентРучнойСкидки": float(line.discount * 100 / line.gross) if line.gross else 0.0,
                    "СуммаРучнойСкидки": _cents(discount),
                    "СуммаАвтоматическойСкидки": 0.0,
                    "Склад_Key": self.warehouse_ref(line.warehouse_code),
                }
            )
        elif "Цена" in fields:  # no discount column: the price after the discount
            row["Цена"] = _cents(amount / line.quantity) if line.quantity else 0.0
        else:
            row["Склад_Key"] = self.warehouse_ref(line.warehouse_code)
        return row

    def _bp_line(self, line: InvoiceLine | OrderLine, fields: tuple[str, ...], inclusive: bool) -> Row:
        product = self.products.get(line.product_code or "")
        quantity = line.quantity
        if product is not None and line.unit != product.base_unit:  # no packagings in БП 3: base units
            quantity *= next(u.factor for u in product.units if u.unit == line.unit)
        amount = line.net + line.vat if inclusive else line.net
        row: Row = {
            "Номенклатура_Key": self.product_ref(line.product_code or ""),
            "Количество": float(quantity),
            "Сумма": float(amount),
            "СтавкаНДС": VAT_CODES.get(int(line.vat_rate or 0), "") if line.vat_rate is not None else "",
            "СуммаНДС": float(line.vat),
        }
        if "Содержание" in fields:
            row["Содержание"] = ""
        if "СуммаСкидки" in fields:
            discount = line.discount * amount / line.net if inclusive and line.net else line.discount
            row.update(
                {
                    "Цена": _cents((amount + discount) / quantity) if quantity else 0.0,
                    "ПроцентСкидки": float(line.discount * 100 / line.gross) if line.gross else 0.0,
                    "СуммаСкидки": _cents(discount),
                }
            )
        elif "СуммаДоИзменения" in fields:  # a correction: before and after; the line is their difference
            price = (line.unit_price * amount / line.net) if inclusive and line.net else line.unit_price
            row.update(
                {
                    "Номенклатура": row.pop("Номенклатура_Key"),
                    "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура",
                    "КоличествоДоИзменения": float(quantity),
                    "ЦенаДоИзменения": float(price * _BEFORE),
                    "Цена": float(price * (_BEFORE + 1)),
                    "СуммаДоИзменения": float(amount * _BEFORE),
                    "Сумма": float(amount * (_BEFORE + 1)),
                    "СтавкаНДСДоИзменения": row["СтавкаНДС"],
                    "СуммаНДСДоИзменения": float(line.vat * _BEFORE),
                    "СуммаНДС": float(line.vat * (_BEFORE + 1)),
                }
            )
        else:  # БП sales and returns keep no discount: the price after the discount
            row["Цена"] = _cents(amount / quantity) if quantity else 0.0
        return row

    def cancel_invoice(self, number: str) -> None:
        """Mark a sale for deletion, which also unposts it: how a 1C user voids a shipment."""
        self.base.update("Document_РеализацияТоваровУслуг", self.sales[number], DeletionMark=True, Posted=False)
        self.unpost(self.sales[number])
        self.unpost_stock(self.sales[number])

    def add_collection(self, collection: Collection, operation: str | None = None) -> None:
        self._remember_rate(collection.currency, collection.date, collection.rate)
        method = collection.method
        if method == "cash":
            set_name = "Document_ПриходныйКассовыйОрдер"
        elif method == "card" and not self.bp:
            set_name = "Document_ОперацияПоПлатежнойКарте"
        else:  # cheques and notes are banked; БП 3.0.83 has no card operation document: card takings are banked
            set_name = (
                "Document_ПоступлениеНаРасчетныйСчет" if self.bp else "Document_ПоступлениеБезналичныхДенежныхСредств"
            )
        ref = guid("document", collection.number)
        payer: Row = {"Контрагент_Key": self.account_ref(collection.account_code)}
        if self.bp:
            payer = {
                "Контрагент": self.account_ref(collection.account_code),
                "Контрагент_Type": _catalog("Контрагенты"),
            }
            payer["ДоговорКонтрагента_Key"] = self.contract_ref(collection.account_code)
        else:
            payer["Партнер_Key"] = guid("partner", collection.account_code)
        self.base.add(
            set_name,
            {
                "Ref_Key": ref,
                "DeletionMark": collection.cancelled,
                "Number": collection.number,
                "Date": as_day(collection.date),
                "Posted": not collection.cancelled,
                **payer,
                self.currency_field: self.currency_ref(collection.currency),
                "СуммаДокумента": as_number(collection.amount),
                self.operation_field: operation or ("ОплатаПокупателя" if self.bp else "ПоступлениеОплатыОтКлиента"),
            },
        )
        if operation is None and not collection.cancelled:  # a client's payment (not a supplier's refund)
            local = collection.amount_local
            op = self.base.get(set_name, ref)[self.operation_field]
            date, account = as_day(collection.date), collection.account_code
            # Money given back (a negative amount) raises the debt again: a Receipt.
            self.settle(ref, set_name, date, account, abs(local), local < 0, op, collection.currency)
        settled = [self.sales[n] for n in collection.settles if n in self.sales] or [EMPTY_REF]
        share = round(float(collection.amount) / len(settled), 2)
        field = "Сделка" if self.bp else "ОснованиеПлатежа"
        for number, sale in enumerate(settled, 1):
            row: Row = {
                "Ref_Key": ref,
                "LineNumber": number,
                field: "" if sale == EMPTY_REF else sale,
                f"{field}_Type": UNDEFINED_TYPE
                if sale == EMPTY_REF
                else DOCUMENT_TYPE.format("РеализацияТоваровУслуг"),
            }
            if self.bp:
                row.update(
                    {"ДоговорКонтрагента_Key": self.contract_ref(collection.account_code), "СуммаПлатежа": share}
                )
            else:
                row.update({"Сумма": share, "Партнер_Key": guid("partner", collection.account_code)})
            self.base.add(f"{set_name}_РасшифровкаПлатежа", row)

    def write_rates(self) -> None:
        self._write_rate(self.local, dt.date(2000, 1, 1), Decimal(1))
        for (currency, day), rate in sorted(self.rates.items()):
            self._write_rate(currency, day, rate)

    def _write_rate(self, currency: str, day: dt.date, rate: Decimal) -> None:
        self.base.add(
            "InformationRegister_КурсыВалют",
            {"Period": as_day(day), "Валюта_Key": self.currency_ref(currency), "Курс": float(rate), "Кратность": 1},
        )


def _catalog(name: str) -> str:
    return f"StandardODATA.Catalog_{name}"


def _renumbered(invoice: Invoice, number: str) -> Invoice:
    return msgspec.structs.replace(invoice, number=number)
