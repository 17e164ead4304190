"""Collections: rows of the account ledger TBLCAHAR that are money received, or a collection undone.

TBLCAHAR holds every account movement as separate positive BORC (debit) / ALACAK (credit)
columns (vendor docs). Which credit rows are collections, and their methods, is the
`collection_kinds` setting (HAREKET_TURU letters: one source only, so the code census shows what
each letter carries); invoice postings (B), sales returns (C, credit too) and openings (A) are
left out on purpose (`credits_left_out`). A debit row of a letter in `debit_reversals` (I a
protested note, J a bounced cheque) undoes a collection: it goes out as a negative collection of
the method it reverses, so the payout loses what bounced; the other debits are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import ClauseElement

from connectors.netsis import codes
from connectors.netsis.rates import ONE
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.netsis.settings import NetsisSettings
from connectors.netsis.streams import SHAPE, Item, ScopedStream, raw_code
from mapping.dates import business_date, required_date
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import Collection
from mapping.text import required_code

__all__ = ["Collections", "Movements", "collected", "credit"]

_DEFERRED = ("cheque", "promissory_note")  # their VADE_TARIHI is when they mature


class Movements(ScopedStream):
    """What every reader of TBLCAHAR shares: the rows (one per movement, keyed by INC_KEY_NUMBER), their
    cancel flag where the site keeps one, and the day's rates their currencies need, prepared per page."""

    extra_columns: tuple[str, ...] = ()  # columns a reader adds to the shared SELECT

    def __init__(self, env: NetsisEnv) -> None:
        super().__init__(env)
        self.book = env.rate_book()

    def start(self) -> None:
        self.book = self.env.rate_book()

    def statements(self) -> list[ClauseElement]:
        return [*super().statements(), self.book.select(1, SHAPE.year)]

    def table(self) -> sa.Table:
        return self.env.tables.CAHAR

    def ref(self) -> sa.Column[int]:
        return self.table().c.INC_KEY_NUMBER

    def select_rows(self) -> sa.Select[Any]:
        c = self.table().c
        flag = self.env.tables.cancelled(self.table())
        return sa.select(
            c.INC_KEY_NUMBER,
            c.CARI_KOD,
            c.TARIH,
            c.VADE_TARIHI,
            c.BELGE_NO,
            c.HAREKET_TURU,
            c.BORC,
            c.ALACAK,
            c.DOVIZ_TURU,
            c.DOVIZ_TUTAR,
            *(c[name] for name in self.extra_columns),
            (sa.null() if flag is None else flag).label("CANCELLED"),
            c.KAYITTARIHI,
            c.DUZELTMETARIHI,
        )

    def attach(self, conn: sa.Connection, db: Database, rows: Sequence[Row[Any]]) -> list[Item]:
        self.book.prepare((r.DOVIZ_TURU, r.TARIH.date() if r.TARIH else None) for r in rows)
        return super().attach(conn, db, rows)

    def key_parts(self, row: Any) -> str:
        return str(row.INC_KEY_NUMBER)

    def fetch_column(self) -> tuple[sa.Column[Any], Any]:
        return self.ref(), int


class Collections(Movements):
    name = "collections"
    primary_key = ("number",)

    def __init__(self, env: NetsisEnv) -> None:
        super().__init__(env)
        self.methods = dict(env.settings.collection_kinds)
        self.reversals = dict(env.settings.debit_reversals)

    def where(self) -> sa.ColumnElement[bool]:
        return collected(self.table(), self.settings)

    def map(self, item: Item) -> Collection:
        r = item.row
        credit = r.ALACAK is not None and r.ALACAK > 0
        letter = raw_code(r.HAREKET_TURU)
        method = (self.methods if credit else self.reversals).get(letter)
        if method is None:
            side = "a collection" if credit else "a collection reversed"
            raise RecordError(f"HAREKET_TURU {r.HAREKET_TURU!r} is not {side}", "method")
        day = required_date(r.TARIH, "date")
        currency = self.book.currency(r.DOVIZ_TURU, "currency")
        local_currency = self.settings.local_currency
        amount_local = fixed(r.ALACAK if credit else r.BORC, minor_units(local_currency), "amount_local")
        local = r.DOVIZ_TURU == codes.LOCAL_CURRENCY_CODE or currency == local_currency
        amount = amount_local if local else fixed(r.DOVIZ_TUTAR, minor_units(currency), "amount")
        if not credit:  # money the dealer no longer paid: a negative collection
            amount, amount_local = -amount, -amount_local
        due = business_date(r.VADE_TARIHI, "due_date") if method in _DEFERRED else None
        return Collection(
            number=required_code(self.text(r.BELGE_NO), "number"),
            account_code=required_code(self.text(r.CARI_KOD), "account_code"),
            date=day,
            amount=amount,
            currency=currency,
            rate=ONE if local else self.book.rate(r.DOVIZ_TURU, day),
            amount_local=amount_local,
            method=method,
            due_date=due,
            cancelled=self.env.cancelled(r.CANCELLED),
        )


def credit(table: sa.Table) -> sa.ColumnElement[bool]:
    """A credit (ALACAK) row; every other row is a debit, as the census splits them."""
    return table.c.ALACAK > 0


def collected(table: sa.Table, settings: NetsisSettings) -> sa.ColumnElement[bool]:
    """The TBLCAHAR rows the collections stream reads: credits of a collection letter, debits of a reversal letter."""
    c = table.c
    debit = sa.and_(c.BORC > 0, sa.or_(c.ALACAK.is_(None), c.ALACAK <= 0))
    parts = [
        sa.and_(side, c.HAREKET_TURU.in_(sorted(letters)))
        for side, letters in ((credit(table), settings.collection_kinds), (debit, settings.debit_reversals))
        if letters
    ]
    return sa.or_(sa.false(), *parts)
