"""Collections from the receivables items (API_OPLACCTGDOCITEMCUBE_SRV): customer payment documents.

One collection is one payment document (company code, fiscal year, document number): its
customer lines credit the dealer. What it settles: the invoices its lines reference
(InvoiceReference, partial payments) and the receivables it cleared (ClearingAccountingDocument
on the invoice's item). A reversed payment (ReverseDocument set) is a cancelled collection; the
reversal document itself is not one, but an incremental read that meets it fetches the original.
Payment documents carry no change time: incremental reads filter on the entry date, by day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.s4.rates import quoted
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.streams import S4Stream, day, eq, money, number
from connectors.sap.s4.values import all_of, any_of, day_literal, day_of
from mapping.errors import RecordError
from mapping.money import Q_RATE, rate
from mapping.schema import Collection
from mapping.text import required_code

__all__ = ["FI_KEY", "Collections"]

FI_KEY = ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem")
_CUSTOMER_ITEM = (
    f("AccountingDocumentType"), f("PaymentMethod"), f("Customer"), f("PostingDate", "datetime"),
    f("NetDueDate", "datetime"), f("AmountInTransactionCurrency", "number"), f("TransactionCurrency"),
    f("AmountInCompanyCodeCurrency", "number"), f("ExchangeRate", "number"), f("InvoiceReference"),
    f("IsReversal", "boolean"), f("ReverseDocument"),
)  # fmt: skip
_SCOPE = Shape((f("CompanyCode"), f("FinancialAccountType"), f("AccountingDocumentType"),
                f("ClearingAccountingDocument")))  # fmt: skip

_DEFERRED = ("cheque", "promissory_note")  # methods whose due date is the collection's own
Doc = tuple[str, str, str]  # company code, fiscal year, document number


def _doc(row: dict[str, Any]) -> Doc:
    return (
        str(row.get("CompanyCode") or ""),
        str(row.get("FiscalYear") or ""),
        str(row.get("AccountingDocument") or ""),
    )


def _grouped(rows: Iterable[dict[str, Any]]) -> dict[Doc, list[dict[str, Any]]]:
    groups: dict[Doc, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(_doc(row), []).append(row)
    return groups


class ByDocument(S4Stream):
    """A stream over the receivables items whose items are accounting documents (the lines of a document grouped,
    across pages): read by entry date, by day (payment documents carry no change time)."""

    replication_key = "entry_date"

    def changed_since(self, since: dt.datetime) -> str:
        return f"{self.env.s4.receivables_entry_date} ge {day_literal(since.astimezone(self.tz).date())}"

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        window = self.changed_since(since) if since is not None else None
        seen: set[Doc] = set()
        pending: list[dict[str, Any]] = []
        for rows in self.env.reader.pages(self.main, all_of(self.where(), window)):
            rows = pending + rows
            last = _doc(rows[-1])
            pending = [r for r in rows if _doc(r) == last]  # the document may go on in the next page
            items = self._documents(_grouped(r for r in rows if _doc(r) != last), since is not None, seen)
            if items:
                yield items
        if pending:
            items = self._documents(_grouped(pending), since is not None, seen)
            if items:
                yield items

    def _documents(self, groups: dict[Doc, list[dict[str, Any]]], incremental: bool, seen: set[Doc]) -> list[Any]:
        raise NotImplementedError

    def cursor(self, item: Any) -> dt.datetime | None:
        lines = item.get("lines") or [item]
        try:
            day = day_of(lines[0].get(self.env.s4.receivables_entry_date), "entry_date")
        except RecordError:
            return None
        return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=self.tz)

    def count(self) -> int | None:
        return None  # rows are document lines, not documents



class Collections(ByDocument):
    name = "collections"
    primary_key = ("number",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        cleared = Shape((f("AccountingDocument"), f("ClearingAccountingDocument"), f("InvoiceReference")))
        self.cleared = self.env.read("receivables", FI_KEY, cleared, _SCOPE, "cleared invoices")

    def declare(self) -> Read:
        entry = f(self.env.s4.receivables_entry_date, "datetime")
        return self.env.read("receivables", FI_KEY, Shape((*(f(k) for k in FI_KEY), *_CUSTOMER_ITEM, entry)), _SCOPE)

    def reads(self) -> list[Read]:
        return [*super().reads(), self.cleared]

    def where(self) -> str | None:
        s = self.env.settings
        types = sorted({codes.parse_method_key(k)[0] for k in s.collection_methods})
        return all_of(
            eq("CompanyCode", s.company_code), "FinancialAccountType eq 'D'", any_of("AccountingDocumentType", types)
        )

    def _documents(self, groups: dict[Doc, list[dict[str, Any]]], incremental: bool, seen: set[Doc]) -> list[Any]:
        originals = {
            str(r.get("ReverseDocument") or "") for lines in groups.values() for r in lines if r.get("IsReversal")
        }
        payments = {doc: lines for doc, lines in groups.items() if not any(r.get("IsReversal") for r in lines)}
        originals -= {doc[2] for doc in payments} | {""}
        if incremental and originals:
            for rows in self.env.reader.by_keys(self.main, "AccountingDocument", originals, self.where()):
                for doc, lines in _grouped(rows).items():
                    if not any(r.get("IsReversal") for r in lines):
                        payments.setdefault(doc, []).extend(lines)
        fresh = {doc: lines for doc, lines in payments.items() if doc not in seen}
        seen.update(fresh)
        cleared = self._cleared({doc[2] for doc in fresh})
        return [
            {"CompanyCode": doc[0], "FiscalYear": doc[1], "AccountingDocument": doc[2], "lines": lines,
             "cleared": sorted(cleared.get(doc[2], ()))}
            for doc, lines in fresh.items()
        ]  # fmt: skip

    def _cleared(self, payments: set[str]) -> dict[str, set[str]]:
        """Payment document -> the invoices whose receivables it cleared (not its own lines)."""
        out: dict[str, set[str]] = {}
        scope = all_of(eq("CompanyCode", self.env.settings.company_code), "FinancialAccountType eq 'D'")
        for rows in self.env.reader.by_keys(self.cleared, "ClearingAccountingDocument", payments, scope):
            for row in rows:
                payment = str(row.get("ClearingAccountingDocument") or "")
                if row.get("AccountingDocument") != payment:
                    reference = row.get("InvoiceReference") or row.get("AccountingDocument")
                    out.setdefault(payment, set()).add(str(reference))
        return out

    def key(self, item: Any) -> str:
        return "/".join(_doc(item))

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        wanted = {key.split("/")[-1] for key in keys}
        found: list[Any] = []
        for rows in self.env.reader.by_keys(self.main, "AccountingDocument", wanted, self.where()):
            found.extend(self._documents(_grouped(rows), False, set()))
        return [item for item in found if self.key(item) in set(keys)]

    def _rate(self, line: dict[str, Any], currency: str, total: Decimal, total_local: Decimal) -> Decimal:
        """FI's rate of the payment at the feed's six places (negative: an indirect quotation, inverted); without
        one, the ratio of FI's own local and document amounts, which is the rate FI converted at. Only the rate is
        published from it: amount_local is FI's own."""
        if currency == self.env.settings.local_currency:
            return Decimal(1).quantize(Q_RATE)
        found = quoted(line.get("ExchangeRate"), False, "rate")
        return rate(total_local / total if found is None else found, "rate")  # type: ignore[return-value]

    def map(self, item: Any) -> Collection:
        s = self.env.settings
        lines: list[dict[str, Any]] = item["lines"]
        first = lines[0]
        currency = codes.sap_currency(first.get("TransactionCurrency"), "currency")
        if currency is None:
            raise RecordError("missing", "currency")
        total = -sum((number(r.get("AmountInTransactionCurrency"), 6, "amount") for r in lines), Decimal(0))
        total_local = -sum((number(r.get("AmountInCompanyCodeCurrency"), 6, "amount_local") for r in lines), Decimal(0))
        if total <= 0:
            raise RecordError("the document does not credit the customer (not a collection)", "amount")
        doc_type = str(first.get("AccountingDocumentType") or "")
        method = codes.collection_method(doc_type, str(first.get("PaymentMethod") or ""), s.collection_methods)
        if method is None:
            raise RecordError(f"document type {doc_type!r} is not a collection (setting collection_methods)", "method")
        references = {str(r["InvoiceReference"]) for r in lines if r.get("InvoiceReference")}
        return Collection(
            number=required_code(item.get("AccountingDocument"), "number"),
            account_code=required_code(self.code(first.get("Customer")), "account_code"),
            date=day(first.get("PostingDate"), "date"),
            amount=money(total, currency, "amount"),
            currency=currency,
            rate=self._rate(first, currency, total, total_local),
            amount_local=money(total_local, s.local_currency, "amount_local"),
            method=method,
            due_date=day_of(first.get("NetDueDate"), "due_date") if method in _DEFERRED else None,
            cancelled=any(r.get("ReverseDocument") for r in lines),
            settles=sorted(references | set(item.get("cleared") or ())),
        )
