"""What the Netsis streams share: stamps as cursors, keyset paging per database, keys.

Two shapes:
* `CardStream`: cards (accounts, products, conditions) that every yearly database holds. The master
  database's card wins; a card only in older databases comes from the newest one holding it. Keys
  are `<company>:<code>`, so a card is one record across years.
* `ScopedStream`: documents and ledger rows, which live in exactly one database. Every database is
  read, oldest first, paged by Netsis's integer identity column; keys start with the database name.

Keys use the raw stored codes (trailing blanks cut), never the repaired text, so they do not change
when `repair_turkish` is switched.

Every stream declares `statements()`: the shapes of every statement it executes, from which `check`
takes the columns to prove against each database's catalogue (schema.py), and `databases()`: where
it reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import ClauseElement

from connectors.base import Partition, Stream
from connectors.netsis.codes import naive
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.sql import for_refs, in_chunks, keyset_chunks

__all__ = ["SHAPE", "CardStream", "Item", "NetsisStream", "ScopedStream", "raw_code", "stamp_since"]

# The moment statements() put where a read's `since` goes: only the statement's shape matters there.
SHAPE = dt.datetime(2000, 1, 1)


class Item(NamedTuple):
    """A row of a database-scoped stream, with its database and (for documents) its lines."""

    database: str
    row: Row[Any]
    lines: list[Row[Any]]


def raw_code(value: Any) -> str:
    """A stored code as it goes into keys: text, trailing CHAR padding cut."""
    return "" if value is None else str(value).rstrip()


def stamp_since(table: sa.Table, moment: dt.datetime) -> sa.ColumnElement[bool]:
    # DUZELTMETARIHI is never before KAYITTARIHI, so "either on or after" is "the later one on or after",
    # written so that each side can use its own index.
    return sa.or_(moment <= table.c.KAYITTARIHI, moment <= table.c.DUZELTMETARIHI)


_STAMPS = ("KAYITTARIHI", "DUZELTMETARIHI")


class NetsisStream(Stream):
    def __init__(self, env: NetsisEnv) -> None:
        self.env = env
        self.tz = env.tz
        self.text = env.text
        self.settings = env.settings

    def moment(self, since: dt.datetime) -> dt.datetime:
        """`since` as the wall time Netsis stamps in (the source's zone, no zone attached)."""
        return naive(since, self.tz)

    def aware(self, *stamps: dt.datetime | None) -> dt.datetime | None:
        """The latest of some Netsis stamps, in the source's zone."""
        latest = max((s for s in stamps if s is not None), default=None)
        return None if latest is None else latest.replace(tzinfo=self.tz)

    def databases(self) -> tuple[Database, ...]:
        """The databases the stream reads (check proves its statements against each one's catalogue)."""
        return self.env.databases

    def statements(self) -> list[ClauseElement]:
        """Every statement shape the stream executes."""
        raise NotImplementedError


class CardStream(NetsisStream):
    """Cards kept in every yearly database; see the module docstring."""

    replication_key = "modified"

    def table(self) -> sa.Table:
        raise NotImplementedError

    def code_column(self) -> sa.Column[str]:
        raise NotImplementedError

    def select_rows(self) -> sa.Select[Any]:
        """SELECT of the stream's rows; must include the code column under its own name and the stamps."""
        raise NotImplementedError

    def where(self) -> sa.ColumnElement[bool] | None:
        return None

    def _filtered(self, stmt: sa.Select[Any], since: dt.datetime | None) -> sa.Select[Any]:
        where = self.where()
        if where is not None:
            stmt = stmt.where(where)
        if since is not None:
            stmt = stmt.where(stamp_since(self.table(), self.moment(since)))
        return stmt

    def _since(self, db: Database, since: dt.datetime | None) -> dt.datetime | None:
        """`since` where `db`'s cards carry stamps; None (read every card) where they do not."""
        return since if since is not None and self.env.has(db, self.table(), *_STAMPS) else None

    def statements(self) -> list[ClauseElement]:
        code = self.code_column()
        return [self._filtered(self.select_rows(), SHAPE), sa.select(code).where(code.in_(["-"]))]

    def _fresh(self, rows: Sequence[Any], higher: Sequence[Database], code_of: Any) -> list[Any]:
        """Rows whose code no higher-priority database holds."""
        if not higher or not rows:
            return list(rows)
        code = self.code_column()
        taken: set[str] = set()
        codes = [code_of(r) for r in rows]
        for db in higher:
            with db.engine.connect() as conn:
                taken.update(raw_code(r[0]) for r in for_refs(conn, sa.select(code), code, codes))
        return [r for r in rows if raw_code(code_of(r)) not in taken]

    def _pages(
        self, base_of: Callable[[Database], sa.Select[Any]], key: str
    ) -> Iterator[tuple[Database, Sequence[Any]]]:
        code = self.code_column()
        order = self.env.by_priority()
        for i, db in enumerate(order):
            base = base_of(db)

            def page(last: str | None, base: sa.Select[Any] = base) -> sa.Select[Any]:
                return (base if last is None else base.where(code > last)).order_by(code)

            def then(conn: sa.Connection, rows: Sequence[Row[Any]], higher: Any = order[:i]) -> list[Any]:
                return self._fresh(rows, higher, lambda r: getattr(r, key))

            for rows in keyset_chunks(db.engine, page, key, self.env.chunk_size, then):
                if rows:
                    yield db, rows

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        rows_of = self.select_rows()
        for _, rows in self._pages(lambda db: self._filtered(rows_of, self._since(db, since)), self.code_column().name):
            yield rows

    def key(self, item: Any) -> str:
        return f"{self.env.company}:{raw_code(getattr(item, self.code_column().name, None))}"

    def cursor(self, item: Any) -> dt.datetime | None:
        return self.aware(getattr(item, "KAYITTARIHI", None), getattr(item, "DUZELTMETARIHI", None))

    def count(self) -> int | None:
        # The codes, not COUNT(*): a card in several databases is one item, as read() gives it once.
        code = self.code_column()
        codes = self._filtered(sa.select(code), None)
        return sum(len(rows) for _, rows in self._pages(lambda db: codes, code.name))

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        prefix = f"{self.env.company}:"
        wanted = sorted({k[len(prefix) :] for k in keys if k.startswith(prefix)})
        if not wanted:
            return []
        code = self.code_column()
        found: dict[str, Any] = {}
        order = self.env.by_priority()
        for i, db in enumerate(order):
            missing = [c for c in wanted if c not in found]
            if not missing:
                break
            with db.engine.connect() as conn:
                rows = for_refs(conn, self._filtered(self.select_rows(), None), code, missing)
            for row in self._fresh(rows, order[:i], lambda r: getattr(r, code.name)):
                found[raw_code(getattr(row, code.name))] = row
        return [found[c] for c in wanted if c in found]


class ScopedStream(NetsisStream):
    """Rows of one table in every company database, paged by its integer identity column."""

    replication_key = "modified"
    partitionable = True  # identity % count = index slices any Netsis document table

    def table(self) -> sa.Table:
        raise NotImplementedError

    def ref(self) -> sa.Column[int]:
        """The integer identity column (SIRANO, INC_KEY_NUMBER)."""
        raise NotImplementedError

    def select_rows(self) -> sa.Select[Any]:
        raise NotImplementedError

    def where(self) -> sa.ColumnElement[bool] | None:
        return None

    def changed_since(self, moment: dt.datetime) -> sa.ColumnElement[bool]:
        return stamp_since(self.table(), moment)

    def attach(self, conn: sa.Connection, db: Database, rows: Sequence[Row[Any]]) -> list[Item]:
        """Items of a page of rows; documents fetch their lines here."""
        return [Item(db.name, r, []) for r in rows]

    def key_parts(self, row: Any) -> str:
        """The key after the database name."""
        raise NotImplementedError

    def fetch_column(self) -> tuple[sa.Column[Any], Any]:
        """(column, function of the key's parts giving its value): how fetch(keys) narrows its search."""
        raise NotImplementedError

    # -- the Stream contract -------------------------------------------------------------
    def _filtered(self, stmt: sa.Select[Any], since: dt.datetime | None) -> sa.Select[Any]:
        where = self.where()
        if where is not None:
            stmt = stmt.where(where)
        if since is not None:
            stmt = stmt.where(self.changed_since(self.moment(since)))
        return stmt

    def start(self) -> None:
        """Called as a read begins (documents take a fresh rate book: today's rate may be new)."""

    def statements(self) -> list[ClauseElement]:
        count = sa.select(sa.func.count()).select_from(self.table())
        column, _ = self.fetch_column()
        return [
            self._filtered(self.select_rows(), SHAPE),
            self._filtered(count, None),
            self.select_rows().where(column.in_(["-"])),
        ]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.start()
        ref = self.ref()
        base = self._filtered(self.select_rows(), since)
        if partition is not None:
            base = base.where(ref % partition.count == partition.index)

        def page(last: int | None) -> sa.Select[Any]:
            return (base if last is None else base.where(ref > last)).order_by(ref)

        for db in self.env.databases:

            def then(conn: sa.Connection, rows: Sequence[Row[Any]], db: Database = db) -> list[Item]:
                return self.attach(conn, db, rows)

            yield from keyset_chunks(db.engine, page, ref.name, self.env.chunk_size, then)

    def key(self, item: Any) -> str:
        try:
            return f"{item.database}:{self.key_parts(item.row)}"
        except (AttributeError, TypeError, ValueError):
            return repr(item)[:200]

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            row = item.row
            lines = [ln.DUZELTMETARIHI for ln in item.lines] if self.settings.line_stamps else []
            return self.aware(row.KAYITTARIHI, row.DUZELTMETARIHI, *lines)
        except (AttributeError, TypeError):
            return None

    def raw(self, item: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"database": item.database, "row": dict(item.row._mapping)}
        if item.lines:
            out["lines"] = [dict(line._mapping) for line in item.lines]
        return out

    def count(self) -> int | None:
        total = 0
        for db in self.env.databases:
            with db.engine.connect() as conn:
                stmt = self._filtered(sa.select(sa.func.count()).select_from(self.table()), None)
                total += conn.execute(stmt).scalar_one()
        return total

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        column, value_of = self.fetch_column()
        wanted: dict[str, dict[str, Any]] = {}
        for key in keys:
            database, _, rest = key.partition(":")
            try:
                wanted.setdefault(database, {})[key] = value_of(rest)
            except (ValueError, IndexError):
                continue  # not a key of this stream
        items: list[Any] = []
        for db in self.env.databases:
            asked = wanted.get(db.name)
            if not asked:
                continue
            base = self._filtered(self.select_rows(), None)
            with db.engine.connect() as conn:
                for chunk in in_chunks(sorted(set(asked.values()))):
                    rows = conn.execute(base.where(column.in_(chunk)).order_by(self.ref())).all()
                    rows = [r for r in rows if f"{db.name}:{self.key_parts(r)}" in asked]
                    items.extend(self.attach(conn, db, rows))
        return items
