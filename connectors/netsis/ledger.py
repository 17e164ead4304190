"""The account ledger: every row of TBLCAHAR, Netsis's account movements (cari hareketler), as a LedgerEntry.

TBLCAHAR holds each movement once, with its amount in local currency in BORC (debit) or ALACAK (credit)
(vendor docs) and, for a foreign one, the amount in its currency in DOVIZ_TUTAR. What a row is comes from
HAREKET_TURU, read per side through settings: credits of a `collection_kinds` letter are collections and
debits of a `debit_reversals` letter bounced cheques and notes, exactly as the collections stream reads
them (so the entry's document_no is that collection's number); the other letters through `ledger_debits`
and `ledger_credits` (A opening, B invoice, C return, K debit note, L credit note, payments...); a letter
in none of them is kind `other`, its letter in `erp_kind`. An invoice's posting carries the invoice's
FATIRS_NO in BELGE_NO, the number the invoices stream sends.

Netsis keeps no running balance one can rely on (integrators' statements sum BORC - ALACAK themselves and
select 0 for the vendor's BAKIYE), so `balance` stays null; `sequence` is INC_KEY_NUMBER, the table's
identity. A cancelled movement is deleted with its document (reaches the feed at a reconcile), or flagged
where the install keeps a cancel column.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.netsis import codes
from connectors.netsis.collections import Movements
from connectors.netsis.rates import ONE
from connectors.netsis.settings import NetsisSettings
from connectors.netsis.streams import Item, raw_code
from mapping.dates import business_date, required_date
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import CollectionMethod, LedgerEntry, LedgerKind
from mapping.text import clean, code, required_code

__all__ = ["AccountLedger", "ledger_kind"]

_DEFERRED = ("cheque", "promissory_note")  # their VADE_TARIHI is when they mature
_DUE = ("invoice", "return")  # VADE_TARIHI is the invoice's due date (TBLFATUIRS.ODEMETARIHI)
# Entries that stand for a document of another stream: their BELGE_NO is that document's number.
_DOCUMENTS = ("invoice", "return", "collection", "cheque_return")
_ZERO = Decimal(0)


def ledger_kind(settings: NetsisSettings, letter: str, credit: bool) -> tuple[LedgerKind, CollectionMethod | None]:
    """The ledger kind of a HAREKET_TURU letter on one side, and the collection method it carries (if any)."""
    if credit:
        method = settings.collection_kinds.get(letter)
        if method is not None:
            return "collection", method
        return settings.ledger_credits.get(letter, "other"), None
    method = settings.debit_reversals.get(letter)
    if method is not None:
        return "cheque_return", method
    return settings.ledger_debits.get(letter, "other"), None


def _positive(value: Any, column: str, field: str) -> bool:
    """Whether a BORC/ALACAK cell holds an amount; a negative one no source explains, so it is an error."""
    if value is None or value == 0:
        return False
    if value != value or value < 0:  # NaN, or a negative amount
        raise RecordError(f"{column} is {value!r}: Netsis keeps a movement's amount positive on its side", field)
    return True


class AccountLedger(Movements):
    name = "account_ledger"
    primary_key = ("sequence",)
    extra_columns = ("ACIKLAMA",)

    def map(self, item: Item) -> LedgerEntry:
        r = item.row
        debit, credit = _positive(r.BORC, "BORC", "debit"), _positive(r.ALACAK, "ALACAK", "credit")
        if debit == credit:
            held = "both BORC and ALACAK hold an amount" if debit else "neither BORC nor ALACAK holds an amount"
            raise RecordError(f"{held}: a movement is a debit or a credit", "debit")
        letter = raw_code(r.HAREKET_TURU)
        if not letter:
            raise RecordError("HAREKET_TURU is missing: the movement's kind is unknown", "erp_kind")
        kind, method = ledger_kind(self.settings, letter, credit)
        side = "credit" if credit else "debit"
        day = required_date(r.TARIH, "date")
        currency = self.book.currency(r.DOVIZ_TURU, "currency")
        local_currency = self.settings.local_currency
        local = r.DOVIZ_TURU == codes.LOCAL_CURRENCY_CODE or currency == local_currency
        amount_local = fixed(r.ALACAK if credit else r.BORC, minor_units(local_currency), f"{side}_local")
        amount = amount_local if local else fixed(r.DOVIZ_TUTAR, minor_units(currency), side)
        if amount <= 0:  # a foreign movement without its amount in that currency: never converted back by guess
            raise RecordError(f"DOVIZ_TUTAR is {amount} on a {currency} movement: its amount must be positive", side)
        due = kind in _DUE or method in _DEFERRED
        number = self.text(r.BELGE_NO)
        return LedgerEntry(
            account_code=required_code(self.text(r.CARI_KOD), "account_code"),
            date=day,
            sequence=r.INC_KEY_NUMBER,
            kind=kind,
            erp_kind=letter,
            document_no=required_code(number, "document_no") if kind in _DOCUMENTS else code(number, "document_no"),
            description=clean(self.text(r.ACIKLAMA), 2000, "description"),
            currency=currency,
            rate=ONE if local else self.book.rate(r.DOVIZ_TURU, day),
            debit=_ZERO * amount if credit else amount,
            credit=amount if credit else _ZERO * amount,
            debit_local=_ZERO * amount_local if credit else amount_local,
            credit_local=amount_local if credit else _ZERO * amount_local,
            due_date=business_date(r.VADE_TARIHI, "due_date") if due else None,
            balance=None,
            cancelled=self.env.cancelled(r.CANCELLED),
        )
