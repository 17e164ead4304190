"""The account ledger: every customer line item of the company code, open (BSID) and cleared (BSAD).

FI keeps a dealer's account as its customer items (one per accounting document line on the customer): the
receivables of billing documents (BLART RV), payments (DZ), and what FI users post directly: customer invoices
and credit memos entered in FI (DR, DG: interest, rebates), customer documents (DA: balances carried in at
go-live), general documents (AB). The kind comes from the document type and the side (SHKZG S debit, H credit)
through the setting `ledger_kinds`; a type it does not name is kind `other`, its code in erp_kind.

Cancellations, as SAP records them:
  * a billing document cancelled in SD (VF11) gets VBRK-FKSTO 'X' and a cancellation document (S1/S2, VBRK-SFAKN
    names the original) whose FI item clears the original's: the original's entry is sent with cancelled=true
    (as the invoices stream sends it), the cancellation's item is left out (Excluded);
  * a document reversed in FI (FB08) has BKPF-STBLG set, and so has its reversal; the reversal document is the
    clearing document of both items ("A reversal document has the clearing document (BSEG-AUGBL) with your own
    number": SAP Community wiki, FB08 and FBRA - differences), so an item of a reversed pair that is its own
    clearing document is the reversal (left out) and the other the reversed original (cancelled=true).

document_no: a billing document's items carry its number (VBELN), the invoices stream's `number`; a payment's
the accounting document number (BELNR), the collections stream's `number`; any other document the reference
printed on it (XBLNR, e.g. the dekont number), else its accounting document number. SAP keeps no running
balance per item (balance null), and numbers documents per number range and fiscal year, so there is no
order of an account's items across document types (sequence null).

Incremental as collections: items entered (CPUDT) or cleared (AUGDT: a cancellation or reversal clears the
original) on or after the day of `since`; BSID before BSAD, so an item cleared between the two reads is read
twice, never missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Excluded, Partition
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.receivables import HEADERS, CustomerItems
from connectors.sap.ecc.streams import Item, day
from mapping.errors import RecordError
from mapping.money import amount
from mapping.money import rate as to_rate
from mapping.schema import LedgerEntry
from mapping.text import clean, required_code

__all__ = ["Ledger"]

_ITEM = ("BLART", "BUDAT", "CPUDT", "SHKZG", "WAERS", "WRBTR", "DMBTR", "ZFBDT", "ZBD1T", "XBLNR", "SGTXT", "VBELN")
BILLING = Read("VBRK", ("VBELN",), ("FKSTO", "SFAKN"))
_ONE = Decimal("1.000000")
_PAYMENTS = ("collection", "payment")  # kinds whose number is the payment document's, as in collections


class Ledger(CustomerItems):
    name = "account_ledger"
    primary_key = ("account_code", "kind", "document_no")
    fields = _ITEM

    def condition(self) -> str | None:
        return self.env.company()

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        condition = self.condition()
        if since is not None:
            condition = w.and_(condition, self.changed(day(since, self.tz)))
        seen: set[str] = set()
        cancelled: dict[str, str] = {}  # billing document cancelled since `since` -> its customer
        for table in ("BSID", "BSAD"):
            for page in self.reader.pages(self.items(table), condition):
                items = self.attach(page)
                seen.update(self.key(i) for i in items)
                for i in items:
                    if i["VBRK"] is not None and i["VBRK"]["SFAKN"]:
                        cancelled[i["VBRK"]["SFAKN"]] = i["item"]["KUNNR"]
                yield items
        if since is not None and cancelled:
            # A cancelled invoice whose item a payment had already cleared is not touched by the cancellation:
            # its entry (now cancelled) is found through the cancellation document read above.
            yield [i for i in self._billed(cancelled) if self.key(i) not in seen]

    def _billed(self, documents: dict[str, str]) -> list[Item]:
        """The items of these billing documents (number -> customer), open or cleared."""
        out: list[Item] = []
        numbers = sorted(documents)
        step = self.reader.in_list_size
        for start in range(0, len(numbers), step):
            batch = numbers[start : start + step]
            customers = sorted({documents[n] for n in batch})
            condition = w.and_(w.in_("VBELN", batch), w.in_("KUNNR", customers), self.condition())
            for table in ("BSID", "BSAD"):
                out.extend(self.attach(self.reader.rows(self.items(table), condition)))
        return out

    def declared(self) -> list[Read]:
        return [self.items("BSID"), self.items("BSAD"), HEADERS, BILLING, *self.currency_reads()]

    def attach(self, heads: list[Row]) -> list[Item]:
        self.read_currencies()
        headers = {
            (r["BUKRS"], r["BELNR"], r["GJAHR"]): r
            for r in self.reader.rows_in(HEADERS, "BELNR", [h["BELNR"] for h in heads], self.env.company())
        }
        billing_numbers = sorted({h["VBELN"] for h in heads if h["VBELN"]})
        billing = {r["VBELN"]: r for r in self.reader.rows_in(BILLING, "VBELN", billing_numbers)}
        return [
            {
                "item": h,
                "BKPF": headers.get((h["BUKRS"], h["BELNR"], h["GJAHR"])),
                "VBRK": billing.get(h["VBELN"]) if h["VBELN"] else None,
            }
            for h in heads
        ]

    def cancellation(self, item: Item) -> bool | Excluded:
        """Whether the item's document is cancelled, or Excluded when it is the cancelling document itself."""
        r, header, billing = item["item"], item["BKPF"], item["VBRK"]
        reversed_ = bool(header["STBLG"])
        if reversed_ and r["AUGBL"] == r["BELNR"]:
            return Excluded("reversal document: the reversed document's entry is sent cancelled")
        if not r["VBELN"]:
            return reversed_
        if billing is None:
            raise RecordError(f"billing document {r['VBELN']} of the item is not in VBRK", "cancelled")
        if billing["SFAKN"]:
            return Excluded("billing cancellation document: the cancelled invoice's entry is sent cancelled")
        return reversed_ or v.flag(billing["FKSTO"], "cancelled")

    def map(self, item: Item) -> LedgerEntry | Excluded:
        r, header = item["item"], item["BKPF"]
        if header is None:
            raise RecordError(f"no document header (BKPF) for {r['BELNR']}", "document_no")
        cancelled = self.cancellation(item)
        if isinstance(cancelled, Excluded):
            return cancelled
        side = r["SHKZG"]
        if side not in codes.SIGNS:
            raise RecordError(f"debit/credit indicator {side!r} is neither S nor H", "debit")
        kind = codes.ledger_kind(r["BLART"], side, self.env.settings.ledger_kinds)
        currency = self.currency(r["WAERS"], "currency")
        local_currency = self.env.settings.local_currency
        external = self.env.currencies.external
        value = amount(external(r["WRBTR"], r["WAERS"], "debit"), "debit", currency)
        local = amount(external(r["DMBTR"], local_currency, "debit_local"), "debit_local", local_currency)
        if value is None or local is None or value < 0 or local < 0:
            raise RecordError("FI amounts are positive, their side is SHKZG", "debit")
        date = v.date(r["BUDAT"], "date")
        if date is None:
            raise RecordError("missing posting date", "date")
        debit = side == codes.DEBIT
        zero, zero_local = value * 0, local * 0
        return LedgerEntry(
            account_code=required_code(codes.alpha_out(r["KUNNR"]), "account_code"),
            date=date,
            kind=kind,
            erp_kind=f"{r['BLART']}:{side}",
            document_no=self._number(r, kind),
            description=clean(r["SGTXT"], 500, "description"),
            currency=currency,
            rate=_ONE if currency == local_currency else to_rate(v.rate(header["KURSF"], "rate"), "rate"),
            debit=value if debit else zero,
            credit=zero if debit else value,
            debit_local=local if debit else zero_local,
            credit_local=zero_local if debit else local,
            due_date=self._due(r, date, kind),
            cancelled=cancelled,
        )

    @staticmethod
    def _number(r: Row, kind: str) -> str:
        if r["VBELN"]:
            return required_code(codes.alpha_out(r["VBELN"]), "document_no")
        if kind in _PAYMENTS:
            return required_code(codes.alpha_out(r["BELNR"]), "document_no")
        return required_code(r["XBLNR"].strip() or codes.alpha_out(r["BELNR"]), "document_no")

    @staticmethod
    def _due(r: Row, date: dt.date, kind: str) -> dt.date | None:
        """FI's net due date: the baseline date (ZFBDT) plus the days of the terms (ZBD1T). A payment's is its
        maturity only when later than its date (a cheque or note), as the collections stream sends it."""
        baseline = v.date(r["ZFBDT"], "due_date") or date
        due = baseline + dt.timedelta(days=int(v.number(r["ZBD1T"], "due_date")))
        if kind in _PAYMENTS:
            return due if due > date else None
        return due
