"""Stock levels and risk limits that follow Mikro's change stamps (`snapshot_reads: changes`, the default).

Mikro keeps no stock or balance table: a level or an account's exposure is summed from every movement, order line
and paper it has, and summing them all on every sync is what made a sync with nothing to send cost seconds per
hundred thousand movements. These streams are incremental instead. The engine hands them the time of the last
change they saw less its overlap window; the rows stamped since (the window: a few, read whole) say which items
or accounts may have changed, and each record's version (connectors.versions) is made of what the record is
computed from that a sync can see without summing: its window rows, whole, and for a limit its limit row and how
many rows its account has. The engine maps (and so sums) only records whose version moved; a sync with nothing new
sums nothing. A complete read (the first sync, --full-refresh, --reconcile) sums everything and compares every
record, as the snapshot streams do.

Why that is enough: a row changed after the last sync is stamped after it, so it is in the window (the overlap
covers a late commit or a clock a little behind, as for every incremental stream), and its new content or stamp
moves the version; a row stamped before the window has not changed since. What no stamp shows is a row that is
no longer there (deleted outright) or no longer where it was (its item or account changed in place):

* a limit's version holds how many movements, order lines and papers its account has (one index-only pass per
  table: Mikro indexes each by account), so a row gone or moved is seen on the next sync;
* stock levels find a movement deleted outright, or moved to another item, at the next reconcile. That Mikro
  itself only flags rows (`*_iptal`, `*_hidden`, both stamped) and never deletes or re-parents a movement is
  UNCONFIRMED: where an integration does, schedule a reconcile or set `snapshot_reads: every_row`.

A level or limit that disappears is a delete where its item or account is read (a warehouse an item's movements
name but that has no level now), and at a reconcile otherwise (the limit view's row removed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import visitors

from connectors.base import Excluded, Partition
from connectors.mikro.risk import Figures, RiskLimits
from connectors.mikro.snapshots import StockLevels, _Level
from connectors.mikro.streams import MikroEnv, local_since, stamp
from connectors.sql import for_refs, in_chunks, keyset_chunks
from connectors.versions import row_version, salt, storable
from mapping.errors import RecordError
from mapping.schema import RiskLimit, StockLevel

__all__ = ["ChangedRiskLimits", "ChangedStockLevels"]

# The instant statements() renders a window read with: only the statement's shape matters there.
_SHAPE = dt.datetime(2000, 1, 1)
# Once this many owners of a page had to be summed one by one (versions that moved: the first sync after a
# complete read, a release or a setting), the rest of the page is summed in one go.
_ONE_BY_ONE = 16


def _ordered(values: Any) -> list[Any]:
    """Codes sorted whatever their types (a damaged row of a loosely typed database may mix them)."""
    return sorted(values, key=lambda v: (type(v).__name__, v))


def _later(a: Any, b: Any) -> Any:
    return b if a is None or (b is not None and b > a) else a


def _read_from(statements: Sequence[sa.Select[Any]], table: sa.Table) -> list[sa.Column[Any]]:
    """The columns of `table` that some statements read (select, join or filter on), in the table's order."""
    used = {
        element.key
        for statement in statements
        for element in visitors.iterate(statement)
        if isinstance(element, sa.Column) and element.table is table
    }
    return [column for column in table.c if column.key in used]


class _Window:
    """The rows stamped since the last sync, per owner (item or account), with every column the stream's sums read
    (so that any change to what a record is computed from shows), and the newest stamp among them."""

    def __init__(self, conn: sa.Connection, reads: Sequence[sa.Select[Any]], owners: Sequence[str]) -> None:
        self.rows: dict[Any, list[tuple[str, Row[Any]]]] = {}
        self.newest: Any = None
        for statement, owner in zip(reads, owners, strict=True):
            name = statement.get_final_froms()[0].name  # type: ignore[attr-defined]
            for row in conn.execute(statement):
                values = row._mapping
                self.newest = _later(self.newest, values["STAMP"])
                self.rows.setdefault(values[owner], []).append((name, row))

    def of(self, owner: Any) -> tuple[Any, ...]:
        """An owner's window rows, each tagged with its table, in a stable order (the version must not depend on
        the order rows came in)."""
        return tuple(sorted(((name, tuple(row)) for name, row in self.rows.get(owner, ())), key=repr))


def _window(
    sums: Sequence[sa.Select[Any]], tables: Sequence[tuple[sa.Table, str, str]], at: dt.datetime
) -> tuple[list[sa.Select[Any]], list[str]]:
    """For each (table, owner column, stamp column): its rows stamped at or after `at`, whatever their flags, with
    their key, owner, stamp (as STAMP) and every column the sums read; and the owner columns' names."""
    reads = [
        sa.select(
            *table.primary_key.columns,
            *(c for c in _read_from(sums, table) if c.key != owner and not c.primary_key),
            table.c[owner],
            table.c[stamped].label("STAMP"),
        ).where(table.c[stamped] >= at)
        for table, owner, stamped in tables
    ]
    return reads, [owner for _, owner, _ in tables]


def _latest(conn: sa.Connection, columns: Sequence[sa.ColumnElement[Any]]) -> Any:
    """The newest of some stamp columns over their whole tables (a complete read's cursor)."""
    newest: Any = None
    for column in columns:
        newest = _later(newest, conn.execute(sa.select(sa.func.max(column))).scalar())
    return newest


class _Page:
    """The owners of one page and what has been summed for them so far (in map(), when a version moved)."""

    __slots__ = ("computed", "one_by_one", "owners")

    def __init__(self, owners: list[Any]) -> None:
        self.owners = owners
        self.computed: dict[Any, Any] = {}
        self.one_by_one = 0

    def get(self, owner: Any, compute: Callable[[list[Any]], dict[Any, Any]]) -> Any:
        if owner not in self.computed:
            self.one_by_one += 1
            wanted = [owner]
            if self.one_by_one > _ONE_BY_ONE:
                wanted = [o for o in self.owners if o not in self.computed]
            self.computed.update(compute(wanted))
        return self.computed[owner]


class _Candidate(NamedTuple):
    """A level an item may have in a warehouse (one of its movements names it), summed in map() when its version
    moved: a StockLevel, or a delete when the item has no level there now."""

    item: Any
    warehouse: Any
    version: str
    page: _Page


class ChangedStockLevels(StockLevels):
    replication_key = "lastup"

    def __init__(self, env: MikroEnv) -> None:
        super().__init__(env)
        self.salt = salt(self.name, env.fingerprint)

    def stamps(self) -> list[sa.Column[Any]]:
        t = self.env.tables
        return [
            t.STOK_HAREKETLERI.c.sth_lastup_date,
            t.SIPARISLER.c.sip_lastup_date,
            t.STOKLAR.c.sto_lastup_date,
            t.DEPOLAR.c.dep_lastup_date,
        ]

    def window(self, at: dt.datetime) -> tuple[list[sa.Select[Any]], list[str]]:
        """Every movement, order line and item card stamped at or after `at`, whatever its flags."""
        t = self.env.tables
        tables = [
            (t.STOK_HAREKETLERI, "sth_stok_kod", "sth_lastup_date"),
            (t.SIPARISLER, "sip_stok_kod", "sip_lastup_date"),
            (t.STOKLAR, "sto_kod", "sto_lastup_date"),
        ]
        return _window(super().statements(), tables, at)

    def depots(self, at: dt.datetime) -> sa.Select[Any]:
        d = self.env.tables.DEPOLAR.c
        return sa.select(sa.func.max(d.dep_lastup_date)).where(d.dep_lastup_date >= at)

    def places(self) -> list[sa.Select[Any]]:
        """The warehouses any movement of an item names, whatever its flags (index-only: item, warehouse)."""
        s = self.env.tables.STOK_HAREKETLERI.c
        return [
            sa.select(s.sth_stok_kod, s.sth_giris_depo_no).distinct(),
            sa.select(s.sth_stok_kod, s.sth_cikis_depo_no).distinct(),
        ]

    def named(self, window: _Window, item: Any) -> set[Any]:
        """The warehouses an item's window rows name: the only levels of it they can change (a card's row in the
        window, which may have cancelled or hidden the item, is answered by places())."""
        t = self.env.tables
        found: set[Any] = set()
        for name, row in window.rows.get(item, ()):
            if name == t.STOK_HAREKETLERI.name:
                found.update((row.sth_giris_depo_no, row.sth_cikis_depo_no))
            elif name == t.SIPARISLER.name:
                found.add(row.sip_depono)
        return found

    def statements(self) -> list[sa.Select[Any]]:
        return [
            *super().statements(),
            *self.window(_SHAPE)[0],
            self.depots(_SHAPE),
            *self.places(),
            *(sa.select(sa.func.max(column)) for column in self.stamps()),
        ]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        window: _Window | None = None
        with self.env.engine.connect() as conn:
            if since is None:
                newest = _latest(conn, self.stamps())
            else:
                at = local_since(since, self.tz)
                window = _Window(conn, *self.window(at))
                renamed = conn.execute(self.depots(at)).scalar()
                newest = _later(window.newest, renamed)
                if renamed is not None:  # a warehouse's name is in every level of it: all of them are read
                    window = None
            names = self.names(conn)
        self.mark = stamp(newest, self.tz)
        if window is None:  # complete (or a warehouse renamed): every level summed and compared
            yield from super().read(None)
            return
        for chunk in in_chunks(_ordered(window.rows), self.env.chunk_size):
            yield self._candidates(chunk, window, names)

    def _candidates(self, items: list[Any], window: _Window, names: dict[Any, Any]) -> list[_Candidate]:
        places = {item: self.named(window, item) for item in items}
        cards = self.table().name
        recarded = [item for item in items if any(name == cards for name, _ in window.rows.get(item, ()))]
        if recarded:
            column = self.env.tables.STOK_HAREKETLERI.c.sth_stok_kod
            with self.env.engine.connect() as conn:
                for statement in self.places():
                    for item, warehouse in for_refs(conn, statement, column, recarded):
                        places[item].add(warehouse)
        page = _Page(items)
        out: list[_Candidate] = []
        for item in items:
            rows = row_version(self.salt, window.of(item))  # once per item, not per warehouse
            out.extend(
                _Candidate(item, w, row_version(self.salt, item, w, names.get(w), rows), page)
                for w in _ordered(places[item])
                if isinstance(w, int) and w > 0
            )
        return out

    def _levels(self, items: list[Any]) -> dict[Any, dict[Any, tuple[_Level, Any]]]:
        """Per item, its levels (with their reservations) by warehouse, summed now."""
        k, o = self.table().c, self.env.tables.SIPARISLER.c
        with self.env.engine.connect() as conn:
            live = [row.sto_kod for row in for_refs(conn, self.items(), k.sto_kod, items)]
            reserved = for_refs(conn, self.reservations(), o.sip_stok_kod, live)
            held = {(i, w): (open_, bad) for i, w, open_, bad in reserved}
            levels = self.page_levels(conn, live, self.names(conn), held)
        out: dict[Any, dict[Any, tuple[_Level, Any]]] = {item: {} for item in items}
        for level, reserved in levels:
            out.setdefault(level.item, {})[level.warehouse] = (level, reserved)
        return out

    def _level(self, item: _Candidate) -> tuple[_Level, Any] | None:
        found: dict[Any, tuple[_Level, Any]] = item.page.get(item.item, self._levels)
        return found.get(item.warehouse)

    def version(self, item: Any) -> str | None:
        # A complete read's levels are summed already: each is mapped and compared, whatever its version.
        return item.version if isinstance(item, _Candidate) else None

    def cursor(self, item: Any) -> dt.datetime | None:
        return self.mark

    def key(self, item: Any) -> str:
        if isinstance(item, _Candidate):
            return storable(f"{item.item}:{item.warehouse}")
        return storable(super().key(item))

    def raw(self, item: Any) -> dict[str, Any]:
        if isinstance(item, _Candidate):
            level = self._level(item)
            return {"STOK": item.item, "DEPO": item.warehouse, "level": None} if level is None else super().raw(level)
        return super().raw(item)

    def map(self, item: Any) -> StockLevel | None:
        if isinstance(item, _Candidate):
            level = self._level(item)
            return None if level is None else super().map(level)
        return super().map(item)


class _Limit(NamedTuple):
    """A limit row with its figures (a complete read sums them with its page) or its version (an incremental
    read: summed in map() when the version moved)."""

    row: Row[Any]
    figures: Figures | RecordError | None
    version: str | None
    page: _Page


class ChangedRiskLimits(RiskLimits):
    replication_key = "lastup"

    def __init__(self, env: MikroEnv) -> None:
        super().__init__(env)
        self.salt = salt(self.name, env.fingerprint)

    def stamps(self) -> list[sa.Column[Any]]:
        t = self.env.tables
        return [
            t.CARI_HESAP_HAREKETLERI.c.cha_lastup_date,
            t.SIPARISLER.c.sip_lastup_date,
            t.ODEME_EMIRLERI.c.sck_lastup_date,
        ]

    def window(self, at: dt.datetime) -> tuple[list[sa.Select[Any]], list[str]]:
        """Every movement, order line and paper stamped at or after `at`, whatever its flags (the limit row and the
        account card are read whole on every sync)."""
        t = self.env.tables
        tables = [
            (t.CARI_HESAP_HAREKETLERI, "cha_kod", "cha_lastup_date"),
            (t.SIPARISLER, "sip_musteri_kod", "sip_lastup_date"),
            (t.ODEME_EMIRLERI, "sck_sahip_cari_kodu", "sck_lastup_date"),
        ]
        return _window(super().statements(), tables, at)

    def counts(self) -> list[sa.Select[Any]]:
        """Rows per account in each table the figures are summed from, whatever their flags: a row deleted, or
        moved to another account, changes its old account's count (each an index-only pass)."""
        t = self.env.tables
        h, o, k = t.CARI_HESAP_HAREKETLERI.c, t.SIPARISLER.c, t.ODEME_EMIRLERI.c
        return [
            sa.select(h.cha_kod, sa.func.count()).group_by(h.cha_kod),
            sa.select(o.sip_musteri_kod, sa.func.count()).group_by(o.sip_musteri_kod),
            sa.select(k.sck_sahip_cari_kodu, sa.func.count()).group_by(k.sck_sahip_cari_kodu),
        ]

    def statements(self) -> list[sa.Select[Any]]:
        return [
            *super().statements(),
            *self.window(_SHAPE)[0],
            *self.counts(),
            *(sa.select(sa.func.max(column)) for column in self.stamps()),
        ]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        window: _Window | None = None
        tallies: list[dict[Any, Any]] = []
        with self.env.engine.connect() as conn:
            if since is None:
                newest = _latest(conn, self.stamps())
            else:
                window = _Window(conn, *self.window(local_since(since, self.tz)))
                newest = window.newest
                tallies = [{owner: n for owner, n in conn.execute(statement)} for statement in self.counts()]
        self.mark = stamp(newest, self.tz)
        r = self.env.tables.RISK.c
        base = self.limits()

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(r.cari_kod > last)).order_by(r.cari_kod)

        def then(conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[_Limit]:
            shared = _Page([row.cari_kod for row in rows])
            if window is None:  # complete: the page's figures summed together, every record compared
                figures = self.figures(conn, shared.owners)
                return [_Limit(row, figures[row.cari_kod], None, shared) for row in rows]
            return [_Limit(row, None, self._version(row, window, tallies), shared) for row in rows]

        yield from keyset_chunks(self.env.engine, page, "cari_kod", self.env.chunk_size, then)

    def _version(self, row: Row[Any], window: _Window, tallies: list[dict[Any, Any]]) -> str:
        counts = tuple(tally.get(row.cari_kod, 0) for tally in tallies)
        return row_version(self.salt, tuple(row), counts, window.of(row.cari_kod))

    def _figures(self, item: _Limit) -> Figures | RecordError:
        if item.figures is not None:
            return item.figures

        def compute(accounts: list[Any]) -> dict[Any, Figures | RecordError]:
            with self.env.engine.connect() as conn:
                return self.figures(conn, accounts)

        found: Figures | RecordError = item.page.get(item.row.cari_kod, compute)
        return found

    def version(self, item: _Limit) -> str | None:
        return item.version

    def cursor(self, item: Any) -> dt.datetime | None:
        return self.mark

    def key(self, item: _Limit) -> str:
        return storable(str(item.row.cari_kod))

    def raw(self, item: _Limit) -> dict[str, Any]:
        return super().raw((item.row, self._figures(item)))

    def map(self, item: _Limit) -> RiskLimit | Excluded:
        return super().map((item.row, self._figures(item)))
