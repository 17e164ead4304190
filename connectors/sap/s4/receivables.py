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
from connectors.sap.s4.odata import all_of, any_of, day_literal, day_of
from connectors.sap.s4.streams import S4Stream, day, eq, exchange_rate, money, number
from mapping.errors import RecordError
from mapping.schema import Collection
from mapping.text import required

__all__ = ["Collections"]

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


class Collections(S4Stream):
    name = "collections"
    primary_key = ("number",)
    replication_key = "entry_date"
    entity = "receivables"
    keys = ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem")

    def where(self) -> str | None:
        s = self.env.settings
        types = sorted({codes.parse_method_key(k)[0] for k in s.collection_methods})
        return all_of(
            eq("CompanyCode", s.company_code), "FinancialAccountType eq 'D'", any_of("AccountingDocumentType", types)
        )

    def changed_since(self, since: dt.datetime) -> str:
        return f"{self.env.s4.receivables_entry_date} ge {day_literal(since.astimezone(self.tz).date())}"

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        window = self.changed_since(since) if since is not None else None
        seen: set[Doc] = set()
        pending: list[dict[str, Any]] = []
        for rows in self.env.reader.pages(self.path, self.keys, filter=all_of(self.where(), window)):
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
        originals = {
            str(r.get("ReverseDocument") or "") for lines in groups.values() for r in lines if r.get("IsReversal")
        }
        payments = {doc: lines for doc, lines in groups.items() if not any(r.get("IsReversal") for r in lines)}
        originals -= {doc[2] for doc in payments} | {""}
        if incremental and originals:
            for rows in self.env.reader.by_keys(
                self.path, "AccountingDocument", originals, self.keys, filter=self.where()
            ):
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
        for rows in self.env.reader.by_keys(self.path, "ClearingAccountingDocument", payments, self.keys, filter=scope):
            for row in rows:
                payment = str(row.get("ClearingAccountingDocument") or "")
                if row.get("AccountingDocument") != payment:
                    reference = row.get("InvoiceReference") or row.get("AccountingDocument")
                    out.setdefault(payment, set()).add(str(reference))
        return out

    def key(self, item: Any) -> str:
        return "/".join(_doc(item))

    def cursor(self, item: Any) -> dt.datetime | None:
        lines = item.get("lines") or [item]
        try:
            day = day_of(lines[0].get(self.env.s4.receivables_entry_date), "entry_date")
        except RecordError:
            return None
        return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=self.tz)

    def count(self) -> int | None:
        return None  # rows are document lines, not collections

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        wanted = {key.split("/")[-1] for key in keys}
        found: list[Any] = []
        for rows in self.env.reader.by_keys(self.path, "AccountingDocument", wanted, self.keys, filter=self.where()):
            found.extend(self._documents(_grouped(rows), False, set()))
        return [item for item in found if self.key(item) in set(keys)]

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
            number=required(item.get("AccountingDocument"), "number"),
            account_code=required(self.code(first.get("Customer")), "account_code"),
            date=day(first.get("PostingDate"), "date"),
            amount=money(total, currency, "amount"),
            currency=currency,
            rate=exchange_rate(first.get("AbsoluteExchangeRate"), currency, s.local_currency, "rate"),
            amount_local=money(total_local, s.local_currency, "amount_local"),
            method=method,
            due_date=day_of(first.get("NetDueDate"), "due_date") if method in _DEFERRED else None,
            cancelled=any(r.get("ReverseDocument") for r in lines),
            settles=sorted(references | set(item.get("cleared") or ())),
        )
