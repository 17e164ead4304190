"""Sales documents: orders (API_SALES_ORDER_SRV, A_SalesOrder + to_Item) and invoices
(API_BILLING_DOCUMENT_SRV, A_BillingDocument + to_Item), with their items' pricing elements.

Line money comes from the pricing elements: the active, non-statistical price conditions
(condition class B) give the unit price and gross, discounts and surcharges (class A) the
discount, taxes (class D) the VAT rate; NetAmount and TaxAmount are SAP's own item totals.
Local amounts are the document amounts at the document's exchange rate, rounded half-up per
field (SAP keeps them in FI, not on the sales document).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.s4.odata import all_of, date_literal, day_of, instant_of, results, wall_time
from connectors.sap.s4.streams import S4Stream, day, eq, exchange_rate, money, number
from mapping.errors import RecordError
from mapping.money import amount, unit_price
from mapping.schema import Invoice, InvoiceLine, Order, OrderLine, Totals
from mapping.text import clean, required

__all__ = ["Invoices", "Orders"]

L = TypeVar("L", InvoiceLine, OrderLine)
_ZERO = Decimal("0.00")
# Added to a billing document row: its receivable's due date (kept with the raw row of a dead letter).
DUE_DATE = "_ReceivableNetDueDate"


def _fi_document(row: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(row.get("CompanyCode") or ""),
        str(row.get("FiscalYear") or ""),
        str(row.get("AccountingDocument") or ""),
    )


class _Money:
    """A document's currency, rate and the local-currency conversion."""

    def __init__(self, currency: str, rate: Decimal, local: str) -> None:
        self.currency = currency
        self.rate = rate
        self.local = local
        self.is_local = currency == local or rate == 1

    def doc(self, value: Any, field: str) -> Decimal:
        return money(value, self.currency, field)  # type: ignore[no-any-return]

    def to_local(self, value: Decimal, field: str) -> Decimal:
        if self.is_local:
            return value
        return amount(value * self.rate, field, self.local)  # type: ignore[return-value]

    def totals(self, totals: Totals) -> Totals:
        """Header totals in local currency: each field converted and rounded on its own, as SAP's FI does."""
        if self.is_local:
            return totals
        return Totals(
            gross=self.to_local(totals.gross, "totals_local.gross"),
            discount=self.to_local(totals.discount, "totals_local.discount"),
            net=self.to_local(totals.net, "totals_local.net"),
            vat=self.to_local(totals.vat, "totals_local.vat"),
            total=self.to_local(totals.total, "totals_local.total"),
        )


class _SalesDocument(S4Stream):
    replication_key = "LastChangeDateTime"
    expand = "to_Item/to_PricingElement,to_Partner"
    number_field: str
    item_number: str
    item_category: str
    quantity_field: str
    unit_field: str

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

    def money_of(self, item: dict[str, Any]) -> _Money:
        s = self.env.settings
        currency = codes.sap_currency(item.get("TransactionCurrency"), "currency")
        if currency is None:
            raise RecordError("missing", "currency")
        return _Money(currency, exchange_rate(item.get("AccountingExchangeRate"), currency, s.local_currency, "rate"),
                      s.local_currency)  # fmt: skip

    def sales_rep(self, item: dict[str, Any]) -> str | None:
        function = self.env.settings.sales_rep_partner_function
        for partner in results(item.get("to_Partner")):
            if partner.get("PartnerFunction") == function:
                return clean(codes.alpha_out(partner.get("Personnel")))
        return None

    def warehouse(self, row: dict[str, Any]) -> str | None:
        location = clean(row.get("StorageLocation"))
        if location is None or self.env.s4.plant:
            return location
        return f"{row.get('Plant') or row.get('ProductionPlant') or ''}/{location}"

    def line(self, row: dict[str, Any], m: _Money, rep: str | None, cls: type[L], **extra: Any) -> L:
        s = self.env.settings
        qty = number(row.get(self.quantity_field), 3, "lines.quantity")
        net = m.doc(row.get("NetAmount"), "lines.net")
        vat = m.doc(row.get("TaxAmount") or 0, "lines.vat")
        price, gross, discount, vat_rate = self._pricing(results(row.get("to_PricingElement")), m, net, qty)
        unit = clean(row.get(self.unit_field))
        kind = "service" if row.get(self.item_category) in s.service_item_categories else "item"
        try:
            line_no = int(str(row.get(self.item_number)))
        except ValueError:
            raise RecordError("item number is not a number", "lines.line_no") from None
        return cls(
            line_no=line_no,
            kind=kind,
            product_code=clean(self.code(row.get("Material"))),
            quantity=qty,
            unit=unit,
            unit_code=codes.sap_unit_code(unit),
            unit_price=price,
            gross=gross,
            discount=discount,
            net=net,
            vat_rate=vat_rate,
            vat=vat,
            net_local=m.to_local(net, "lines.net_local"),
            warehouse_code=self.warehouse(row),
            sales_rep_code=rep,
            **extra,
        )

    @staticmethod
    def _pricing(
        elements: list[dict[str, Any]], m: _Money, net: Decimal, qty: Decimal
    ) -> tuple[Decimal, Decimal, Decimal, Decimal | None]:
        """(unit price, gross, discount, VAT rate) of an item from its pricing elements."""
        active = [e for e in elements if not e.get("ConditionIsForStatistics") and not e.get("ConditionInactiveReason")]
        prices = [e for e in active if e.get("ConditionClass") == "B"]
        if not prices:  # no pricing detail published: the net is all SAP tells
            per_unit = unit_price(net / qty if qty else net, "lines.unit_price")
            return per_unit, net, _ZERO, None  # type: ignore[return-value]
        first = prices[0]
        per = number(first.get("ConditionQuantity") or 1, 3, "lines.unit_price") or Decimal(1)
        price = unit_price(number(first.get("ConditionRateValue"), 6, "lines.unit_price") / per, "lines.unit_price")
        gross = m.doc(sum(number(e.get("ConditionAmount"), 6, "lines.gross") for e in prices), "lines.gross")
        surcharges = [
            number(e.get("ConditionAmount"), 6, "lines.discount") for e in active if e.get("ConditionClass") == "A"
        ]
        discount = m.doc(-sum(surcharges, Decimal(0)), "lines.discount")
        taxes = [e for e in active if e.get("ConditionClass") == "D"]
        vat_rate = number(taxes[0].get("ConditionRateValue"), 2, "lines.vat_rate") if taxes else None
        return price, gross, discount, vat_rate  # type: ignore[return-value]

    def totals(self, lines: Sequence[Any], net: Decimal, vat: Decimal, m: _Money) -> Totals:
        gross = sum((ln.gross for ln in lines), _ZERO)
        discount = sum((ln.discount for ln in lines), _ZERO)
        return Totals(gross=gross, discount=discount, net=net, vat=vat, total=m.doc(net + vat, "totals.total"))


class Orders(_SalesDocument):
    """Sales orders; status from the overall processing, rejection and delivery-block statuses."""

    name = "orders"
    primary_key = ("number",)
    entity = "sales_orders"
    keys = ("SalesOrder",)
    item_number = "SalesOrderItem"
    item_category = "SalesOrderItemCategory"
    quantity_field = "RequestedQuantity"
    unit_field = "RequestedQuantityUnit"

    def map(self, item: Any) -> Order:
        m = self.money_of(item)
        rep = self.sales_rep(item)
        lines = [
            self.line(row, m, rep, OrderLine, closed=row.get("SDProcessStatus") == codes.STATUS_COMPLETE
                      or bool(row.get("SalesDocumentRjcnReason")))
            for row in results(item.get("to_Item"))
        ]  # fmt: skip
        net = m.doc(item.get("TotalNetAmount"), "totals.net")
        vat = m.doc(sum((ln.vat for ln in lines), _ZERO), "totals.vat")
        totals = self.totals(lines, net, vat, m)
        return Order(
            number=required(item.get("SalesOrder"), "number"),
            account_code=required(self.code(item.get("SoldToParty")), "account_code"),
            date=day(item.get("SalesOrderDate") or item.get("CreationDate"), "date"),
            status=codes.order_status(
                str(item.get("OverallSDProcessStatus") or ""),
                str(item.get("OverallSDDocumentRejectionSts") or ""),
                str(item.get("DeliveryBlockReason") or ""),
            ),
            currency=m.currency,
            rate=m.rate,
            totals=totals,
            totals_local=m.totals(totals),
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
    entity = "billing_documents"
    keys = ("BillingDocument",)
    item_number = "BillingDocumentItem"
    item_category = "SalesDocumentItemCategory"
    quantity_field = "BillingQuantity"
    unit_field = "BillingQuantityUnit"

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        seen: set[str] = set()
        for items in super().read(since, partition):
            fresh = [i for i in items if self.key(i) not in seen]
            seen.update(self.key(i) for i in fresh)
            if fresh:
                yield fresh

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        s = self.env.settings
        kept: list[dict[str, Any]] = []
        cancelled: set[str] = set()
        for row in rows:
            category = row.get("SDDocumentCategory")
            if category in codes.CANCELLATION_CATEGORIES:
                cancelled.add(str(row.get("CancelledBillingDocument") or ""))
            elif category in codes.SKIPPED_CATEGORIES:
                continue
            elif row.get("BillingDocumentType") in s.billing_types or category in codes.CATEGORY_KINDS:
                kept.append(row)  # other categories (intercompany, pro forma) are no dealer's invoice
        cancelled.discard("")
        missing = cancelled - {self.key(r) for r in kept}
        if since is not None and missing:
            for found in self.env.reader.by_keys(self.path, "BillingDocument", missing, self.keys, expand=self.expand):
                kept.extend(found)
        due = self._due_dates(kept)
        for row in kept:
            row[DUE_DATE] = due.get(_fi_document(row))
        return kept

    def _due_dates(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
        """The net due dates of the invoices' receivables: the billing document does not carry one."""
        wanted = {row.get("AccountingDocument") for row in rows} - {None, ""}
        if not wanted:
            return {}
        s = self.env.settings
        path, keys = s.s4.receivables, ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem")
        scope = all_of(eq("CompanyCode", s.company_code), "FinancialAccountType eq 'D'")
        due: dict[tuple[str, str, str], Any] = {}
        for found in self.env.reader.by_keys(path, "AccountingDocument", wanted, keys, filter=scope):  # type: ignore[arg-type]
            for line in found:
                due.setdefault(_fi_document(line), line.get("NetDueDate"))
        return due

    def map(self, item: Any) -> Invoice:
        s = self.env.settings
        rows = results(item.get("to_Item"))
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
        total = m.doc(item.get("TotalGrossAmount"), "totals.total")
        totals = self.totals(lines, net, m.doc(total - net, "totals.vat"), m)
        original = None
        if kind == "return":
            original = next(
                (clean(r.get("ReferenceSDDocument")) for r in rows
                 if r.get("ReferenceSDDocumentCategory") in (codes.VBTYP_INVOICE, codes.VBTYP_DEBIT_MEMO)),
                None,
            )  # fmt: skip
        return Invoice(
            number=required(item.get("BillingDocument"), "number"),
            document_no=clean(item.get("DocumentReferenceID")),
            kind=kind,
            account_code=required(self.code(item.get("SoldToParty")), "account_code"),
            date=day(item.get("BillingDocumentDate"), "date"),
            issued_at=wall_time(item.get("CreationDate"), item.get("CreationTime"), self.tz, "issued_at"),
            due_date=day_of(item.get(DUE_DATE), "due_date"),
            currency=m.currency,
            rate=m.rate,
            totals=totals,
            totals_local=m.totals(totals),
            cancelled=bool(item.get("BillingDocumentIsCancelled")),
            original_invoice=original,
            sales_rep_code=rep,
            lines=lines,
        )
