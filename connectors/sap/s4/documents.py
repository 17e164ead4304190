"""Sales documents: orders (API_SALES_ORDER_SRV, A_SalesOrder + to_Item) and invoices
(API_BILLING_DOCUMENT_SRV, A_BillingDocument + to_Item), with their items' pricing elements (pricing.py).

Rates: an order's `AccountingExchangeRate` (often "0.00000": none fixed on the order), a billing document's
`AbsltAccountingExchangeRate` with `AcctgExchangeRateIsIndrctQtan` (an indirect quotation is inverted); a document
without one takes the rate table's rate for its date where `s4.exchange_rates` names one (rates.py), else it is
sent with its rate and local amounts null. Every expanded navigation must come back expanded (values.expanded).
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.s4.pricing import PRICING_ELEMENT, DocMoney, price_line
from connectors.sap.s4.rates import RATE_KEY, RATE_TABLE, RateBook, quoted
from connectors.sap.s4.receivables import FI_KEY
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.streams import S4Stream, day, eq, number
from connectors.sap.s4.values import all_of, date_literal, day_of, expanded, instant_of, wall_time
from mapping.errors import RecordError
from mapping.schema import Invoice, InvoiceLine, Order, OrderLine, Totals
from mapping.text import code, flag, required_code

__all__ = ["BILLING_DOCUMENT", "SALES_ORDER", "Invoices", "Orders"]

L = TypeVar("L", InvoiceLine, OrderLine)
_ZERO = Decimal("0.00")
# Added to a document row by the read: its receivable's due date, the rate table's rate of its date (kept with
# the raw row of a dead letter).
DUE_DATE = "_ReceivableNetDueDate"
TABLE_RATE = "_RateTableRate"

_PARTNER = Shape((f("PartnerFunction"), f("Personnel")))
SALES_ORDER = Shape(
    (
        f("SalesOrder"), f("SalesOrderType"), f("SoldToParty"), f("SalesOrderDate", "datetime"),
        f("CreationDate", "datetime"), f("LastChangeDateTime", "datetime"), f("TransactionCurrency"),
        f("AccountingExchangeRate", "number"), f("TotalNetAmount", "number"), f("OverallSDProcessStatus"),
        f("OverallSDDocumentRejectionSts"), f("DeliveryBlockReason"),
    ),
    (
        (
            "to_Item",
            Shape(
                (
                    f("SalesOrderItem"), f("SalesOrderItemCategory"), f("Material"), f("RequestedQuantity", "number"),
                    f("RequestedQuantityUnit"), f("RequestedQuantityISOUnit"), f("NetAmount", "number"),
                    f("TaxAmount", "number"), f("ProductionPlant"), f("StorageLocation"), f("SDProcessStatus"),
                    f("SalesDocumentRjcnReason"),
                ),
                (("to_PricingElement", PRICING_ELEMENT),),
            ),
        ),
        ("to_Partner", _PARTNER),
    ),
)  # fmt: skip
BILLING_DOCUMENT = Shape(
    (
        f("BillingDocument"), f("BillingDocumentType"), f("SDDocumentCategory"), f("BillingDocumentDate", "datetime"),
        f("CreationDate", "datetime"), f("CreationTime", "time"), f("LastChangeDateTime", "datetime"),
        f("SoldToParty"), f("TransactionCurrency"), f("AbsltAccountingExchangeRate", "number"),
        f("AcctgExchangeRateIsIndrctQtan", "boolean"), f("ExchangeRateDate", "datetime"),
        f("TotalNetAmount", "number"), f("TaxAmount", "number"), f("TotalGrossAmount", "number"),
        f("BillingDocumentIsCancelled", "boolean"), f("CancelledBillingDocument"), f("CompanyCode"),
        f("FiscalYear"), f("AccountingDocument"), f("DocumentReferenceID"),
    ),
    (
        (
            "to_Item",
            Shape(
                (
                    f("BillingDocumentItem"), f("SalesDocumentItemCategory"), f("Material"),
                    f("BillingQuantity", "number"), f("BillingQuantityUnit"), f("NetAmount", "number"),
                    f("TaxAmount", "number"), f("Plant"), f("StorageLocation"), f("ReferenceSDDocument"),
                    f("ReferenceSDDocumentCategory"),
                ),
                (("to_PricingElement", PRICING_ELEMENT),),
            ),
        ),
        ("to_Partner", _PARTNER),
    ),
)  # fmt: skip
_DOCUMENT_FILTERS = Shape((f("SalesOrganization"), f("LastChangeDateTime", "datetime")))


def _fi_document(row: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(row.get("CompanyCode") or ""),
        str(row.get("FiscalYear") or ""),
        str(row.get("AccountingDocument") or ""),
    )


class _SalesDocument(S4Stream):
    replication_key = "LastChangeDateTime"
    item_number: str
    item_category: str
    quantity_field: str
    unit_field: str
    plant_field: str
    date_field: str

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        s = self.env.s4
        self.rates = self.env.read("exchange_rates", RATE_KEY, RATE_TABLE, what="rates") if s.exchange_rates else None
        self._book = self._rate_book()

    def reads(self) -> list[Read]:
        return [*super().reads(), *([self.rates] if self.rates else [])]

    def _rate_book(self) -> RateBook:
        s = self.env.settings
        return RateBook(self.env.reader, self.rates, s.s4.exchange_rate_type, s.local_currency)

    def where(self) -> str | None:
        return eq("SalesOrganization", self.env.settings.sales_organization)

    def changed_since(self, since: dt.datetime) -> str:
        return f"LastChangeDateTime ge {date_literal(since)}"

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            moment = instant_of(item.get("LastChangeDateTime"), "LastChangeDateTime")
        except RecordError:
            return None
        return moment.astimezone(self.tz) if moment else None

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self._book = self._rate_book()  # each sync reads the rate table afresh
        yield from super().read(since, partition)

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        self._book = self._rate_book()
        return super().fetch(keys)

    # -- rates --------------------------------------------------------------------------------------------------
    @abstractmethod
    def own_rate(self, item: dict[str, Any]) -> Decimal | None:
        """The rate the document itself carries, None when it carries none."""

    def rate_day(self, item: dict[str, Any]) -> dt.date | None:
        return day_of(item.get(self.date_field), self.date_field)

    def attach_rates(self, rows: list[dict[str, Any]]) -> None:
        """Give each foreign-currency row without its own rate the rate table's rate of its date."""
        local = self.env.settings.local_currency
        for row in rows:
            try:
                currency = codes.sap_currency(row.get("TransactionCurrency"), "currency")
                day_ = self.rate_day(row)
                if currency is None or currency == local or day_ is None or self.own_rate(row) is not None:
                    continue
            except RecordError:
                continue  # mapping the row names the problem
            found = self._book.rate(currency, day_)
            row[TABLE_RATE] = None if found is None else str(found)

    def money_of(self, item: dict[str, Any]) -> DocMoney:
        local = self.env.settings.local_currency
        currency = codes.sap_currency(item.get("TransactionCurrency"), "currency")
        if currency is None:
            raise RecordError("missing", "currency")
        if currency == local:
            return DocMoney(currency, Decimal(1), local)
        rate = self.own_rate(item)
        if rate is None and item.get(TABLE_RATE):
            rate = Decimal(item[TABLE_RATE])
        return DocMoney(currency, rate, local)

    # -- lines --------------------------------------------------------------------------------------------------
    def sales_rep(self, item: dict[str, Any]) -> str | None:
        function = self.env.settings.sales_rep_partner_function
        for partner in expanded(item, "to_Partner"):
            if partner.get("PartnerFunction") == function:
                return code(codes.alpha_out(partner.get("Personnel")), "sales_rep_code")
        return None

    def warehouse(self, row: dict[str, Any]) -> str | None:
        location = code(row.get("StorageLocation"), "lines.warehouse_code")
        if location is None or self.env.s4.plant:
            return location
        return f"{row.get(self.plant_field) or ''}/{location}"

    def unit_code(self, row: dict[str, Any], unit: str | None) -> str | None:
        """The line's UN/ECE code: billing items carry no ISO unit, so it comes from the SAP unit's code."""
        return codes.sap_unit_code(unit)

    def line(self, row: dict[str, Any], m: DocMoney, rep: str | None, cls: type[L], **extra: Any) -> L:
        s = self.env.settings
        qty = number(row.get(self.quantity_field), 3, "lines.quantity")
        net = m.doc(row.get("NetAmount"), "lines.net")
        vat = m.doc(row.get("TaxAmount"), "lines.vat")
        price, gross, discount, vat_rate = price_line(
            expanded(row, "to_PricingElement"), m, net, qty, s.s4.condition_types, s.s4.condition_classes
        )
        unit = code(row.get(self.unit_field), "lines.unit")
        kind = "service" if row.get(self.item_category) in s.service_item_categories else "item"
        try:
            line_no = int(str(row.get(self.item_number)))
        except ValueError:
            raise RecordError("item number is not a number", "lines.line_no") from None
        return cls(
            line_no=line_no,
            kind=kind,
            product_code=code(self.code(row.get("Material")), "lines.product_code"),
            quantity=qty,
            unit=unit,
            unit_code=self.unit_code(row, unit),
            unit_price=price,
            gross=gross,
            discount=discount,
            net=net,
            vat_rate=vat_rate,
            vat=vat,
            net_local=None,
            warehouse_code=self.warehouse(row),
            sales_rep_code=rep,
            **extra,
        )

    @staticmethod
    def totals(lines: Sequence[Any], net: Decimal, vat: Decimal, total: Decimal) -> Totals:
        gross = sum((ln.gross for ln in lines), _ZERO)
        discount = sum((ln.discount for ln in lines), _ZERO)
        return Totals(gross=gross, discount=discount, net=net, vat=vat, total=total)


class Orders(_SalesDocument):
    """Sales orders of the types `s4.sales_order_types` sends; status from the overall processing, rejection and
    delivery-block statuses."""

    name = "orders"
    primary_key = ("number",)
    item_number = "SalesOrderItem"
    item_category = "SalesOrderItemCategory"
    quantity_field = "RequestedQuantity"
    unit_field = "RequestedQuantityUnit"
    plant_field = "ProductionPlant"
    date_field = "SalesOrderDate"

    def declare(self) -> Read:
        return self.env.read("sales_orders", ("SalesOrder",), SALES_ORDER, _DOCUMENT_FILTERS)

    def own_rate(self, item: dict[str, Any]) -> Decimal | None:
        return quoted(item.get("AccountingExchangeRate"), False, "rate")

    def unit_code(self, row: dict[str, Any], unit: str | None) -> str | None:
        return code(row.get("RequestedQuantityISOUnit"), "lines.unit_code") or codes.sap_unit_code(unit)

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        types = self.env.s4.sales_order_types
        kept = [r for r in rows if types.get(str(r.get("SalesOrderType") or "")) != "excluded"]
        self.attach_rates(kept)
        return kept

    def map(self, item: Any) -> Order:
        order_type = str(item.get("SalesOrderType") or "")
        if order_type not in self.env.s4.sales_order_types:
            raise RecordError(
                f"sales order type {order_type!r} is not mapped: add it to the setting s4.sales_order_types "
                "(order or excluded)",
                "SalesOrderType",
            )
        m = self.money_of(item)
        rep = self.sales_rep(item)
        lines = [
            self.line(row, m, rep, OrderLine, closed=row.get("SDProcessStatus") == codes.STATUS_COMPLETE
                      or bool(row.get("SalesDocumentRjcnReason")))
            for row in expanded(item, "to_Item")
        ]  # fmt: skip
        net = m.doc(item.get("TotalNetAmount"), "totals.net")
        vat = m.doc(sum((ln.vat for ln in lines), _ZERO), "totals.vat")
        totals = self.totals(lines, net, vat, m.doc(net + vat, "totals.total"))
        local = m.local_totals(totals)
        m.spread(lines, local)
        return Order(
            number=required_code(item.get("SalesOrder"), "number"),
            account_code=required_code(self.code(item.get("SoldToParty")), "account_code"),
            date=day(item.get("SalesOrderDate") or item.get("CreationDate"), "date"),
            status=codes.order_status(
                str(item.get("OverallSDProcessStatus") or ""),
                str(item.get("OverallSDDocumentRejectionSts") or ""),
                str(item.get("DeliveryBlockReason") or ""),
            ),
            currency=m.currency,
            rate=m.rate,
            totals=totals,
            totals_local=local,
            sales_rep_code=rep,
            lines=lines,
        )


class Invoices(_SalesDocument):
    """Billing documents: invoices, credit memos (returns) and debit memos (price differences).

    A cancellation document (S1/S2) is not an invoice: it marks the one it cancels, which S/4 flags
    BillingDocumentIsCancelled. Whether S/4 also moves the original's LastChangeDateTime is not
    relied on: an incremental read that meets a cancellation document fetches the original.
    """

    name = "invoices"
    primary_key = ("number",)
    item_number = "BillingDocumentItem"
    item_category = "SalesDocumentItemCategory"
    quantity_field = "BillingQuantity"
    unit_field = "BillingQuantityUnit"
    plant_field = "Plant"
    date_field = "BillingDocumentDate"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        scope = Shape((f("CompanyCode"), f("FinancialAccountType"), f("AccountingDocument")))
        self.due = self.env.read(
            "receivables", FI_KEY, Shape((*(f(k) for k in FI_KEY), f("NetDueDate", "datetime"))), scope, "due dates"
        )

    def declare(self) -> Read:
        return self.env.read("billing_documents", ("BillingDocument",), BILLING_DOCUMENT, _DOCUMENT_FILTERS)

    def reads(self) -> list[Read]:
        return [*super().reads(), self.due]

    def own_rate(self, item: dict[str, Any]) -> Decimal | None:
        indirect = flag(item.get("AcctgExchangeRateIsIndrctQtan"), "rate", (True,), (False,))
        return quoted(item.get("AbsltAccountingExchangeRate"), indirect, "rate")

    def rate_day(self, item: dict[str, Any]) -> dt.date | None:
        return day_of(item.get("ExchangeRateDate"), "ExchangeRateDate") or super().rate_day(item)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        seen: set[str] = set()
        for items in super().read(since, partition):
            fresh = [i for i in items if self.key(i) not in seen]
            seen.update(self.key(i) for i in fresh)
            if fresh:
                yield fresh

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        types = self.env.settings.billing_types
        kept: list[dict[str, Any]] = []
        cancelled: set[str] = set()
        for row in rows:
            category = str(row.get("SDDocumentCategory") or "")
            if category in codes.CANCELLATION_CATEGORIES:
                cancelled.add(str(row.get("CancelledBillingDocument") or ""))
            elif (
                category not in codes.SKIPPED_CATEGORIES and types.get(row.get("BillingDocumentType")) != codes.EXCLUDED
            ):
                kept.append(row)  # unknown types and categories too: mapping them names the setting
        cancelled.discard("")
        missing = cancelled - {self.key(r) for r in kept}
        if since is not None and missing:
            for found in self.env.reader.by_keys(self.main, "BillingDocument", missing):
                kept.extend(found)
        due = self._due_dates(kept)
        for row in kept:
            row[DUE_DATE] = due.get(_fi_document(row))
        self.attach_rates(kept)
        return kept

    def _due_dates(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
        """The net due dates of the invoices' receivables: the billing document does not carry one."""
        wanted = {str(row.get("AccountingDocument") or "") for row in rows} - {""}
        if not wanted:
            return {}
        scope = all_of(eq("CompanyCode", self.env.settings.company_code), "FinancialAccountType eq 'D'")
        due: dict[tuple[str, str, str], Any] = {}
        for found in self.env.reader.by_keys(self.due, "AccountingDocument", wanted, scope):
            for line in found:
                due.setdefault(_fi_document(line), line.get("NetDueDate"))
        return due

    def map(self, item: Any) -> Invoice:
        s = self.env.settings
        rows = expanded(item, "to_Item")
        kind = codes.invoice_kind(
            str(item.get("BillingDocumentType") or ""),
            str(item.get("SDDocumentCategory") or ""),
            [str(r.get("SalesDocumentItemCategory") or "") for r in rows],
            s.billing_types,
            s.service_item_categories,
        )
        m = self.money_of(item)
        rep = self.sales_rep(item)
        lines = [self.line(row, m, rep, InvoiceLine) for row in rows]
        net = m.doc(item.get("TotalNetAmount"), "totals.net")
        totals = self.totals(lines, net, m.doc(item.get("TaxAmount"), "totals.vat"),
                             m.doc(item.get("TotalGrossAmount"), "totals.total"))  # fmt: skip
        local = m.local_totals(totals)
        m.spread(lines, local)
        original = None
        if kind == "return":
            original = next(
                (code(r.get("ReferenceSDDocument"), "original_invoice") for r in rows
                 if r.get("ReferenceSDDocumentCategory") in (codes.VBTYP_INVOICE, codes.VBTYP_DEBIT_MEMO)),
                None,
            )  # fmt: skip
        return Invoice(
            number=required_code(item.get("BillingDocument"), "number"),
            document_no=code(item.get("DocumentReferenceID"), "document_no"),
            kind=kind,
            account_code=required_code(self.code(item.get("SoldToParty")), "account_code"),
            date=day(item.get("BillingDocumentDate"), "date"),
            issued_at=wall_time(item.get("CreationDate"), item.get("CreationTime"), self.tz, "issued_at"),
            due_date=day_of(item.get(DUE_DATE), "due_date"),
            currency=m.currency,
            rate=m.rate,
            totals=totals,
            totals_local=local,
            cancelled=flag(item.get("BillingDocumentIsCancelled"), "cancelled", (True,), (False,)),
            original_invoice=original,
            sales_rep_code=rep,
            lines=lines,
        )
