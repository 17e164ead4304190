"""The account ledger from the receivables items (API_OPLACCTGDOCITEMCUBE_SRV): every customer line of the
company code, one entry per accounting document and customer (key CompanyCode/FiscalYear/AccountingDocument/
Customer).

A document's customer lines are one entry (a payment split over the invoices it pays partly, REBZG, is one
collection, as the collections stream sends it): the lines' amounts added, the side by the sum's sign (positive
debit). The kind comes from the document type and the side (DebitCreditCode S/H) through `ledger_kinds`, as in
ECC; a type it does not name is kind `other`, the raw code in erp_kind.

Cancellations: a billing document cancelled in SD is read from API_BILLING_DOCUMENT_SRV, as the invoices stream
reads it (`BillingDocumentIsCancelled` on the original, `CancelledBillingDocument` on the cancellation): the
original's entry is cancelled, the cancellation's receivable is left out (Excluded). A document reversed in FI has
`ReverseDocument`; its reversal is marked `IsReversal` and left out. Document numbers as the other streams give
them: the billing document for billing documents' receivables, the accounting document for payments, else the
reference (DocumentReferenceID, e.g. the dekont number) or the accounting document. No running balance and no
record order across document types in SAP: balance and sequence null. Payment documents carry no change time:
incremental reads filter on the entry date, by day, like collections; a cancellation met there fetches the
original's receivable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Excluded
from connectors.sap import codes
from connectors.sap.s4.rates import quoted
from connectors.sap.s4.receivables import FI_KEY, ByDocument, Doc, _doc, _grouped
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.streams import day, eq, money, number
from connectors.sap.s4.values import all_of, day_of
from mapping.errors import RecordError
from mapping.money import Q_RATE, rate
from mapping.schema import LedgerEntry
from mapping.text import clean, flag, required_code

__all__ = ["Ledger"]

_LINE = (
    f("AccountingDocumentType"), f("Customer"), f("PostingDate", "datetime"), f("NetDueDate", "datetime"),
    f("DebitCreditCode"), f("AmountInTransactionCurrency", "number"), f("TransactionCurrency"),
    f("AmountInCompanyCodeCurrency", "number"), f("ExchangeRate", "number"), f("BillingDocument"),
    f("DocumentReferenceID"), f("DocumentItemText"), f("IsReversal", "boolean"), f("ReverseDocument"),
)  # fmt: skip
_SCOPE = Shape((f("CompanyCode"), f("FinancialAccountType")))
_BILLING = Shape((f("BillingDocumentIsCancelled", "boolean"), f("CancelledBillingDocument")))
_PAYMENTS = ("collection", "payment")


def rows_of(groups: dict[Doc, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    return (r for lines in groups.values() for r in lines)


class Ledger(ByDocument):
    name = "account_ledger"
    primary_key = ("account_code", "kind", "document_no")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.billing = self.env.read("billing_documents", ("BillingDocument",), _BILLING, None, "cancellations")

    def declare(self) -> Read:
        entry = f(self.env.s4.receivables_entry_date, "datetime")
        return self.env.read("receivables", FI_KEY, Shape((*(f(k) for k in FI_KEY), *_LINE, entry)), _SCOPE)

    def reads(self) -> list[Read]:
        return [*super().reads(), self.billing]

    def where(self) -> str | None:
        return all_of(eq("CompanyCode", self.env.settings.company_code), "FinancialAccountType eq 'D'")

    def _documents(self, groups: dict[Doc, list[dict[str, Any]]], incremental: bool, seen: set[Doc]) -> list[Any]:
        billing = self._billing({str(r.get("BillingDocument") or "") for r in rows_of(groups)})
        if incremental:
            # A cancellation or reversal entered since points at a document entered long ago, which is now
            # cancelled: read it again (the original billing document's receivable, the reversed FI document).
            cancelled = {str(b.get("CancelledBillingDocument") or "") for b in billing.values()}
            reversed_ = {str(r.get("ReverseDocument") or "") for r in rows_of(groups) if r.get("IsReversal")}
            more = self._more("BillingDocument", cancelled - {str(r.get("BillingDocument")) for r in rows_of(groups)})
            more |= self._more("AccountingDocument", reversed_ - {doc[2] for doc in groups})
            for doc, lines in more.items():
                groups.setdefault(doc, lines)
            billing |= self._billing({str(r.get("BillingDocument") or "") for r in rows_of(more)})
        fresh = {doc: lines for doc, lines in groups.items() if doc not in seen}
        seen.update(fresh)
        out = []
        for doc, lines in fresh.items():
            by_customer: dict[str, list[dict[str, Any]]] = {}
            for line in lines:  # one entry per customer of the document (a payment may clear several)
                by_customer.setdefault(str(line.get("Customer") or ""), []).append(line)
            for customer, mine in by_customer.items():
                billing_document = str(mine[0].get("BillingDocument") or "")
                out.append({"CompanyCode": doc[0], "FiscalYear": doc[1], "AccountingDocument": doc[2],
                            "Customer": customer, "lines": mine, "billing": billing.get(billing_document)})  # fmt: skip
        return out

    def _more(self, field: str, values: set[str]) -> dict[Doc, list[dict[str, Any]]]:
        """The documents whose lines have `field` in `values`, all their lines."""
        found: dict[Doc, list[dict[str, Any]]] = {}
        for rows in self.env.reader.by_keys(self.main, field, values - {""}, self.where()):
            for doc, lines in _grouped(rows).items():
                found.setdefault(doc, []).extend(lines)
        return found

    def _billing(self, numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = {n for n in numbers if n}
        out: dict[str, dict[str, Any]] = {}
        for rows in self.env.reader.by_keys(self.billing, "BillingDocument", wanted):
            out.update((str(r.get("BillingDocument")), r) for r in rows)
        return out

    def key(self, item: Any) -> str:
        return "/".join((*_doc(item), str(item.get("Customer") or "")))

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        wanted = {key.split("/")[2] for key in keys if key.count("/") == 3}
        found: list[Any] = []
        for rows in self.env.reader.by_keys(self.main, "AccountingDocument", wanted, self.where()):
            found.extend(self._documents(_grouped(rows), False, set()))
        return [item for item in found if self.key(item) in set(keys)]

    def cancellation(self, item: Any) -> bool | Excluded:
        """Whether the document is cancelled, or Excluded when it is the cancelling (reversal) document itself."""
        lines: list[dict[str, Any]] = item["lines"]
        if any(flag(r.get("IsReversal"), "cancelled", (True,), (False,)) for r in lines):
            return Excluded("reversal document: the reversed document's entry is sent cancelled")
        reversed_ = any(r.get("ReverseDocument") for r in lines)
        if not lines[0].get("BillingDocument"):
            return reversed_
        billing = item.get("billing")
        if billing is None:
            raise RecordError(f"billing document {lines[0]['BillingDocument']} is not in the billing API", "cancelled")
        if billing.get("CancelledBillingDocument"):
            return Excluded("billing cancellation document: the cancelled invoice's entry is sent cancelled")
        return reversed_ or flag(billing.get("BillingDocumentIsCancelled"), "cancelled", (True,), (False,))

    def map(self, item: Any) -> LedgerEntry | Excluded:
        s = self.env.settings
        lines: list[dict[str, Any]] = item["lines"]
        first = lines[0]
        cancelled = self.cancellation(item)
        if isinstance(cancelled, Excluded):
            return cancelled
        currency = codes.sap_currency(first.get("TransactionCurrency"), "currency")
        if currency is None:
            raise RecordError("missing", "currency")
        total = sum((number(r.get("AmountInTransactionCurrency"), 6, "debit") for r in lines), Decimal(0))
        total_local = sum((number(r.get("AmountInCompanyCodeCurrency"), 6, "debit_local") for r in lines), Decimal(0))
        if (total < 0) != (total_local < 0) and total and total_local:
            raise RecordError("the document's amounts and local amounts have opposite signs", "debit_local")
        side = codes.CREDIT if total < 0 or (not total and total_local < 0) else codes.DEBIT
        if {r.get("DebitCreditCode") for r in lines} - set(codes.SIGNS):
            raise RecordError(f"debit/credit code {first.get('DebitCreditCode')!r} is neither S nor H", "debit")
        doc_type = str(first.get("AccountingDocumentType") or "")
        kind = codes.ledger_kind(doc_type, side, s.ledger_kinds)
        value, local = money(abs(total), currency, "debit"), money(abs(total_local), s.local_currency, "debit_local")
        debit = side == codes.DEBIT
        date = day(first.get("PostingDate"), "date")
        due = day_of(first.get("NetDueDate"), "due_date")
        return LedgerEntry(
            account_code=required_code(self.code(first.get("Customer")), "account_code"),
            date=date,
            kind=kind,
            erp_kind=f"{doc_type}:{side}",
            document_no=self._number(item, kind),
            description=clean(first.get("DocumentItemText"), 500, "description"),
            currency=currency,
            rate=self._rate(first, currency, value, local),
            debit=value if debit else value * 0,
            credit=value * 0 if debit else value,
            debit_local=local if debit else local * 0,
            credit_local=local * 0 if debit else local,
            # A payment's due date is its maturity only when later than its date, as in collections.
            due_date=(due if due is not None and due > date else None) if kind in _PAYMENTS else due,
            cancelled=cancelled,
        )

    @staticmethod
    def _number(item: Any, kind: str) -> str:
        first = item["lines"][0]
        if first.get("BillingDocument"):
            return required_code(first["BillingDocument"], "document_no")
        if kind in _PAYMENTS:
            return required_code(item.get("AccountingDocument"), "document_no")
        return required_code(first.get("DocumentReferenceID") or item.get("AccountingDocument"), "document_no")

    def _rate(self, line: dict[str, Any], currency: str, value: Decimal, local: Decimal) -> Decimal:
        """FI's rate (negative: indirect, inverted), else the ratio of FI's local and document amounts."""
        if currency == self.env.settings.local_currency:
            return Decimal(1).quantize(Q_RATE)
        found = quoted(line.get("ExchangeRate"), False, "rate")
        if found is None and not value:
            raise RecordError("no exchange rate, and no document amount to derive one from", "rate")
        return rate(local / value if found is None else found, "rate")  # type: ignore[return-value]
