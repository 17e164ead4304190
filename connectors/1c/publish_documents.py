"""Documents in the emulator: orders, invoices (sales, returns, corrections, drafts) and incoming payments,
each with its tabular sections; the exchange rates the documents were entered at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from mapping.schema import Collection, Invoice, InvoiceLine, Order, OrderLine
from scenario.facts import Scenario

from .infobase import EMPTY_REF, Infobase, Row, guid
from .layout import ORDER_STATUSES, UNDEFINED_TYPE, Configuration, References, as_day, as_number

__all__ = ["DocumentWriter"]


class DocumentWriter(References):
    """Writes documents in one configuration's layout."""

    def __init__(self, infobase: Infobase, scenario: Scenario, configuration: Configuration) -> None:
        super().__init__(infobase, scenario, configuration)
        self.sales: dict[str, str] = {}  # sale invoice number -> Ref_Key, for returns and payment breakdowns
        self.rates: dict[tuple[str, dt.date], Decimal] = {}

    def _header(
        self,
        number: str,
        issued: dt.datetime | None,
        date: dt.date,
        account: str,
        currency: str,
        total: Decimal,
        rep: str | None,
        warehouse: str | None,
        cancelled: bool,
    ) -> Row:
        header: Row = {
            "Ref_Key": guid("document", number),
            "DeletionMark": cancelled,
            "Number": number,
            "Date": self.stamp(issued) if issued else as_day(date),
            "Posted": not cancelled,
            "Контрагент_Key": self.account_ref(account),
            self.currency_field: self.currency_ref(currency),
            "СуммаДокумента": as_number(total),
            self.manager_field: self.user_ref(rep),
            "Склад_Key": self.warehouse_ref(warehouse),
        }
        if self.bp:
            header["ДоговорКонтрагента_Key"] = self.contract_ref(account)
            header["СуммаВключаетНДС"] = False
        else:
            header["Партнер_Key"] = guid("partner", account)
            header["ЦенаВключаетНДС"] = False
        return header

    def _remember_rate(self, currency: str, day: dt.date, rate: Decimal) -> None:
        if currency != self.local and (currency, day) not in self.rates:
            self.rates[(currency, day)] = rate
            if self.published:  # a later change: the day's rate is loaded when the document is entered
                self._write_rate(currency, day, rate)

    def add_invoice(self, invoice: Invoice) -> None:
        self._remember_rate(invoice.currency, invoice.date, invoice.rate)
        if invoice.kind == "return":
            set_name = "Document_ВозвратТоваровОтПокупателя" if self.bp else "Document_ВозвратТоваровОтКлиента"
        elif invoice.kind == "price_difference":
            set_name = "Document_КорректировкаРеализации"
        else:
            set_name = "Document_РеализацияТоваровУслуг"
        header = self._header(
            invoice.number,
            invoice.issued_at,
            invoice.date,
            invoice.account_code,
            invoice.currency,
            invoice.totals.total,
            invoice.sales_rep_code,
            invoice.warehouse_code,
            invoice.cancelled,
        )
        if set_name == "Document_РеализацияТоваровУслуг":
            self.sales[invoice.number] = header["Ref_Key"]
            if not self.bp:
                header["ДатаПлатежа"] = as_day(invoice.due_date)
                header["ЗаказКлиента_Key"] = EMPTY_REF
        elif set_name == "Document_КорректировкаРеализации":
            header["ДокументОснование_Key"] = EMPTY_REF
        else:
            header["ДокументРеализации_Key"] = self.sales.get(invoice.original_invoice or "", EMPTY_REF)
        self.base.add(set_name, header)
        self._lines(set_name, header["Ref_Key"], invoice.lines)

    def add_draft(self, invoice: Invoice) -> None:
        """An unposted copy of a sale (a draft someone saved): a live base has them, the feed must not."""
        number = f"{invoice.number}-Ч"
        header = self._header(
            number,
            invoice.issued_at,
            invoice.date,
            invoice.account_code,
            invoice.currency,
            invoice.totals.total,
            invoice.sales_rep_code,
            invoice.warehouse_code,
            False,
        )
        header["Posted"] = False
        if not self.bp:
            header.update({"ДатаПлатежа": as_day(invoice.due_date), "ЗаказКлиента_Key": EMPTY_REF})
        self.base.add("Document_РеализацияТоваровУслуг", header)
        self._lines("Document_РеализацияТоваровУслуг", header["Ref_Key"], invoice.lines)

    def add_order(self, order: Order) -> None:
        self._remember_rate(order.currency, order.date, order.rate)
        cancelled = order.status == "cancelled"
        header = self._header(
            order.number,
            order.issued_at,
            order.date,
            order.account_code,
            order.currency,
            order.totals.total,
            order.sales_rep_code,
            order.warehouse_code,
            cancelled,
        )
        if self.bp:
            set_name = "Document_СчетНаОплатуПокупателю"
            header["Posted"] = False  # an invoice for payment is never posted in BP 3
        else:
            set_name = "Document_ЗаказКлиента"
            header["Статус"] = ORDER_STATUSES.get(order.status, "Закрыт")
            header["Соглашение_Key"] = guid("agreement", order.account_code)
        self.base.add(set_name, header)
        self._lines(set_name, header["Ref_Key"], order.lines, cancelled=cancelled)

    def _lines(
        self, set_name: str, ref: str, lines: Iterable[InvoiceLine | OrderLine], cancelled: bool = False
    ) -> None:
        numbers = {"Товары": 0, "Услуги": 0}
        for line in lines:
            services = self.bp and line.kind == "service" and f"{set_name}_Услуги" in self.base.sets
            section = "Услуги" if services else "Товары"
            numbers[section] += 1
            row = self._bp_line(line) if self.bp else self._ut_line(line, set_name, cancelled)
            row["Ref_Key"], row["LineNumber"] = ref, numbers[section]
            self.base.add(f"{set_name}_{section}", row)

    def _ut_line(self, line: InvoiceLine | OrderLine, set_name: str, cancelled: bool) -> Row:
        product = self.products.get(line.product_code or "")
        packaging, factor = EMPTY_REF, Decimal(1)
        if product is not None and line.unit != product.base_unit:
            packaging = guid("packaging", product.code, line.unit)
            factor = next(u.factor for u in product.units if u.unit == line.unit)
        row: Row = {
            "Номенклатура_Key": self.product_ref(line.product_code or ""),
            "Характеристика_Key": EMPTY_REF,
            "Упаковка_Key": packaging,
            "КоличествоУпаковок": float(line.quantity),
            "Количество": float(line.quantity * factor),
            "Цена": float(line.unit_price),
            "ПроцентРучнойСкидки": float(line.discount * 100 / line.gross) if line.gross else 0.0,
            "СуммаРучнойСкидки": float(line.discount),
            "СуммаАвтоматическойСкидки": 0.0,
            "Сумма": float(line.net),
            "СтавкаНДС_Key": self.vat_ref(line.vat_rate),
            "СуммаНДС": float(line.vat),
            "СуммаСНДС": float(line.net + line.vat),
            "Склад_Key": self.warehouse_ref(line.warehouse_code),
        }
        if set_name == "Document_ЗаказКлиента":
            row["Отменено"] = cancelled
        return row

    def _bp_line(self, line: InvoiceLine | OrderLine) -> Row:
        product = self.products.get(line.product_code or "")
        quantity, price = line.quantity, line.unit_price
        if product is not None and line.unit != product.base_unit:  # no packagings in BP 3: base units
            factor = next(u.factor for u in product.units if u.unit == line.unit)
            quantity, price = quantity * factor, price / factor
        return {
            "Номенклатура_Key": self.product_ref(line.product_code or ""),
            "Количество": float(quantity),
            "Цена": float(price),
            "Сумма": float(line.net),
            "СтавкаНДС_Key": self.vat_ref(line.vat_rate),
            "СуммаНДС": float(line.vat),
        }

    def cancel_invoice(self, number: str) -> None:
        """Mark a sale for deletion, which also unposts it: how a 1C user voids a shipment."""
        self.base.update("Document_РеализацияТоваровУслуг", self.sales[number], DeletionMark=True, Posted=False)

    def add_collection(self, collection: Collection) -> None:
        self._remember_rate(collection.currency, collection.date, collection.rate)
        method = collection.method
        if method == "cash":
            set_name = "Document_ПриходныйКассовыйОрдер"
        elif method == "card":
            set_name = "Document_ОперацияПоПлатежнойКарте"
        else:  # cheques and notes are banked
            set_name = (
                "Document_ПоступлениеНаРасчетныйСчет" if self.bp else "Document_ПоступлениеБезналичныхДенежныхСредств"
            )
        ref = guid("document", collection.number)
        self.base.add(
            set_name,
            {
                "Ref_Key": ref,
                "DeletionMark": collection.cancelled,
                "Number": collection.number,
                "Date": as_day(collection.date),
                "Posted": not collection.cancelled,
                "Контрагент_Key": self.account_ref(collection.account_code),
                self.currency_field: self.currency_ref(collection.currency),
                "СуммаДокумента": as_number(collection.amount),
            },
        )
        settled = [self.sales[n] for n in collection.settles if n in self.sales] or [EMPTY_REF]
        share = round(float(collection.amount) / len(settled), 2)
        document_field = "ДокументРасчетовСКонтрагентом" if self.bp else "ДокументРасчетов"
        for number, sale in enumerate(settled, 1):
            row: Row = {
                "Ref_Key": ref,
                "LineNumber": number,
                document_field: sale,
                f"{document_field}_Type": UNDEFINED_TYPE
                if sale == EMPTY_REF
                else "StandardODATA.Document_РеализацияТоваровУслуг",
            }
            if self.bp:
                row.update(
                    {"ДоговорКонтрагента_Key": self.contract_ref(collection.account_code), "СуммаПлатежа": share}
                )
            else:
                row["Сумма"] = share
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
