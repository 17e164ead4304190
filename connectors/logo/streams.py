"""What every Logo stream shares: where it reads, CAPIBLOCK cursors, keyset paging, keys.

A concrete stream (masters.py, snapshots.py, documents.py) declares its table, its
SELECT (`select_rows`) and its field map (`map`); this base turns them into read(since),
keys(), count() and fetch(keys), over every configured period for period tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from connectors.base import Partition, Stream
from connectors.logo.tables import LogoTables
from connectors.sql import in_chunks, keyset_chunks
from mapping.errors import RecordError
from mapping.schema import AccountKind, CollectionMethod, InvoiceKind, LedgerKind, LineKind, MovementKind, OrderStatus

__all__ = ["LogoEnv", "LogoStream", "currency_of", "period_column", "stamp_columns"]


@dataclass(frozen=True)
class LogoEnv:
    """Everything a stream needs, resolved once from the settings."""

    engine: Engine
    firm: int
    periods: tuple[LogoTables, ...]  # one LogoTables per configured period; [0] also serves firm tables
    tz: ZoneInfo
    chunk_size: int
    currencies: Mapping[int, str]  # Logo code -> ISO, including 0 -> the local currency
    local_currency: str
    collection_codes: Mapping[tuple[int, int], CollectionMethod]
    ledger_kinds: Mapping[tuple[int, int], LedgerKind]
    blocked_value: int  # the CLCARD.BLOCKED value that means "blocked"
    account_kinds: Mapping[int, AccountKind]
    invoice_kinds: Mapping[int, InvoiceKind]
    sales_order_trcodes: tuple[int, ...]
    order_statuses: Mapping[int, OrderStatus]
    line_kinds: Mapping[int, LineKind]
    discount_view: bool  # the integrator's discount view is configured
    movement_kinds: Mapping[int, MovementKind] = field(default_factory=dict)  # STLINE.TRCODE -> kind
    movement_directions: Mapping[int, Literal["in", "out"]] = field(default_factory=dict)  # STLINE.IOCODE
    goods_free_invoices: frozenset[int] = frozenset()  # INVOICE.TRCODE whose lines move no goods

    @property
    def firm_tables(self) -> LogoTables:
        return self.periods[0]


def currency_of(currencies: Mapping[int, str], code: Any, field: str) -> str:
    """ISO code of a Logo currency number; unknown numbers are an error, never guessed. Logo documents 0 as
    the local currency; NULL it does not document, so NULL is an error too."""
    if code is None:
        raise RecordError("missing (NULL; Logo writes 0 for the local currency)", field)
    iso = currencies.get(code)
    if iso is None:
        raise RecordError(f"unknown Logo currency code {code!r} (add it to the currency_codes setting)", field)
    return iso


def stamp_columns(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """The CAPIBLOCK columns a cursor is built from, under short labels."""
    c = table.c
    return [
        c.CAPIBLOCK_MODIFIEDDATE.label("MDATE"),
        c.CAPIBLOCK_MODIFIEDHOUR.label("MH"),
        c.CAPIBLOCK_MODIFIEDMIN.label("MM"),
        c.CAPIBLOCK_MODIFIEDSEC.label("MS"),
        c.CAPIBLOCK_CREADEDDATE.label("CDATE"),
        c.CAPIBLOCK_CREATEDHOUR.label("CH"),
        c.CAPIBLOCK_CREATEDMIN.label("CM"),
        c.CAPIBLOCK_CREATEDSEC.label("CS"),
    ]


def period_column(t: LogoTables) -> sa.ColumnElement[int]:
    """The period number as a column, so a row knows its key prefix. Rendered inline at execution
    (literal_execute): a bare bound parameter in a SELECT list has no type on PostgreSQL."""
    return sa.literal(t.period, sa.Integer, literal_execute=True).label("PERIOD")


def changed_since(table: sa.Table, since: dt.datetime, tz: ZoneInfo) -> sa.ColumnElement[bool]:
    """Rows stamped on or after `since`'s day (source wall time).

    Filtering by day, not instant: whether CAPIBLOCK dates carry a time is UNCONFIRMED, and the
    engine drops re-read unchanged rows by content hash, so a day of overlap costs nothing.
    """
    local = since.astimezone(tz) if since.tzinfo else since
    day = dt.datetime(local.year, local.month, local.day)
    modified, created = table.c.CAPIBLOCK_MODIFIEDDATE, table.c.CAPIBLOCK_CREADEDDATE
    return sa.or_(modified >= day, sa.and_(modified.is_(None), created >= day))


_ANY_CURSOR = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a since whose condition shows the columns it reads


class LogoStream(Stream):
    """A stream over one Logo table (firm level, or each configured period in turn)."""

    partitionable = True  # LOGICALREF % count = index slices any Logo table
    per_period: ClassVar[bool] = False
    key_prefix_len: ClassVar[int] = 1  # "001:<ref>" (firm) or "001:01:<ref>" (firm:period)

    def __init__(self, env: LogoEnv) -> None:
        self.env = env
        self.tz = env.tz
        self._prefixes: dict[Any, str] = {}  # PERIOD -> "firm:period:" of the keys

    # -- what a concrete stream declares -------------------------------------------------
    def table(self, t: LogoTables) -> sa.Table:
        """The table whose LOGICALREF keys the stream (and whose CAPIBLOCK is the cursor)."""
        raise NotImplementedError

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        """SELECT of the stream's rows; must include the key table's LOGICALREF."""
        raise NotImplementedError

    def where(self, t: LogoTables) -> sa.ColumnElement[bool] | None:
        """The stream's row filter (also applied by keys() and count())."""
        return None

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> Sequence[Any]:
        """Items of a page of rows; documents fetch their lines here."""
        return rows

    def related(self, t: LogoTables) -> Iterable[sa.Select[Any]]:
        """The statements attach() runs for a page (before its IN filter): what else the stream reads."""
        return ()

    def statements(self) -> Iterator[sa.Select[Any]]:
        """Every statement shape the stream executes, for check: the rows (with their filter and the
        cursor's condition) and what attach() fetches for them, in every period it reads."""
        for t in self._scopes():
            yield self._filtered(t, self.select_rows(t), _ANY_CURSOR)
            yield from self.related(t)

    # -- the Stream contract -------------------------------------------------------------
    def _scopes(self) -> tuple[LogoTables, ...]:
        return self.env.periods if self.per_period else self.env.periods[:1]

    def _filtered(self, t: LogoTables, stmt: sa.Select[Any], since: dt.datetime | None) -> sa.Select[Any]:
        where = self.where(t)
        if where is not None:
            stmt = stmt.where(where)
        if since is not None and self.replication_key is not None:
            stmt = stmt.where(changed_since(self.table(t), since, self.tz))
        return stmt

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        for t in self._scopes():
            ref = self.table(t).c.LOGICALREF
            base = self._filtered(t, self.select_rows(t), since)
            if partition is not None:
                base = base.where(ref % partition.count == partition.index)

            def page(last: int | None, base: sa.Select[Any] = base, ref: sa.Column[int] = ref) -> sa.Select[Any]:
                return (base if last is None else base.where(ref > last)).order_by(ref)

            def then(conn: sa.Connection, rows: Sequence[Row[Any]], t: LogoTables = t) -> Sequence[Any]:
                return self.attach(conn, t, rows)

            yield from keyset_chunks(self.env.engine, page, "LOGICALREF", self.env.chunk_size, then)

    def prefix(self, t: LogoTables) -> str:
        return f"{t.firm:03d}:{t.period:02d}:" if self.per_period else f"{t.firm:03d}:"

    def row_of(self, item: Any) -> Any:
        return item[0] if type(item) is tuple else item

    def key(self, item: Any) -> str:
        row = self.row_of(item)
        period = getattr(row, "PERIOD", None)
        if period is not None:
            prefix = self._prefixes.get(period)
            if prefix is None:
                prefix = self._prefixes[period] = f"{self.env.firm:03d}:{period:02d}:"
            return f"{prefix}{row.LOGICALREF}"
        return f"{self.env.firm:03d}:{row.LOGICALREF}"

    def cursor(self, item: Any) -> dt.datetime | None:
        if self.replication_key is None:
            return None
        row = self.row_of(item)
        try:
            if row.MDATE is not None:
                d, h, m, s = row.MDATE, row.MH, row.MM, row.MS
            elif row.CDATE is not None:
                d, h, m, s = row.CDATE, row.CH, row.CM, row.CS
            else:
                return None
            return dt.datetime(d.year, d.month, d.day, h or 0, m or 0, s or 0, tzinfo=self.tz)
        except (AttributeError, TypeError, ValueError):
            return None

    def raw(self, item: Any) -> dict[str, Any]:
        if type(item) is tuple:
            header, lines = item
            return {"header": dict(header._mapping), "lines": [dict(line._mapping) for line in lines]}
        return dict(item._mapping)

    def count(self) -> int | None:
        total = 0
        with self.env.engine.connect() as conn:
            for t in self._scopes():
                stmt = self._filtered(t, sa.select(sa.func.count()).select_from(self.table(t)), None)
                total += conn.execute(stmt).scalar_one()
        return total

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        """The rows of these keys as the read gives them; a key's part after '|' names one of the items a row
        gives (a transfer's side), so only the items asked for are returned."""
        wanted: dict[str, list[int]] = {}
        for key in keys:
            head, _, ref = key.partition("|")[0].rpartition(":")
            if ref.isdigit():
                wanted.setdefault(head + ":", []).append(int(ref))
        asked = set(keys)
        items: list[Any] = []
        with self.env.engine.connect() as conn:
            for t in self._scopes():
                refs = wanted.get(self.prefix(t))
                if not refs:
                    continue
                table = self.table(t)
                for chunk in in_chunks(sorted(set(refs))):
                    stmt = self._filtered(t, self.select_rows(t), None).where(table.c.LOGICALREF.in_(chunk))
                    rows = conn.execute(stmt.order_by(table.c.LOGICALREF)).all()
                    items.extend(i for i in self.attach(conn, t, rows) if self.key(i) in asked)
        return items
