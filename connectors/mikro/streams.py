"""What every Mikro stream shares: where it reads, `*_lastup_date` cursors, keyset paging, VAT pointers.

A concrete stream (masters.py, documents.py, orders.py, snapshots.py) declares its table, its
SELECT (`select_rows`), its row filter and its field map; this base turns them into read(since),
count() and fetch(keys), and lists every statement shape it executes (`statements()`),
from which check proves the database has each column the stream reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from connectors.base import ConnectorError, Partition, Stream
from connectors.mikro.ledger_kinds import LedgerKinds
from connectors.mikro.readings import MovementCodes
from connectors.mikro.stock_kinds import StockKinds
from connectors.mikro.tables import MikroTables
from connectors.sql import in_chunks, keyset_chunks
from mapping.dates import NULL_DATES, timestamp
from mapping.errors import RecordError
from mapping.money import percent
from mapping.schema import AccountKind
from mapping.text import flag

__all__ = ["SINCE", "MikroEnv", "MikroStream", "VatRates", "local_since"]

# The instant statements() renders an incremental read with: only the statement's shape matters.
SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

_FUNCTION_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class VatRates:
    """VAT pointer -> percent, per firm: from the settings when given, else from Mikro's own
    scalar function (dbo.fn_VergiYuzde), asked once for every pointer in one SELECT."""

    def __init__(self, engine: Engine, override: Mapping[int, Decimal] | None, function: str, pointers: int) -> None:
        self.engine = engine
        self.function = function
        self.pointers = pointers
        self.from_settings = override is not None
        self._rates: dict[int, Decimal] | None = None
        if override is not None:
            self._rates = {p: d for p, v in override.items() if (d := percent(v, "vat_rates")) is not None}

    def statement(self) -> sa.Select[Any]:
        parts = self.function.split(".")
        if not all(_FUNCTION_PART.match(p) for p in parts):
            raise ConnectorError(f"setting 'vat_function' must be a function name, got {self.function[:40]!r}")
        calls = []
        for pointer in range(self.pointers + 1):
            fn: Any = sa.func
            for part in parts:
                fn = getattr(fn, part)
            # Inline literals: PostgreSQL resolves a function's overload by argument type, and a bound
            # Python int may arrive as bigint.
            calls.append(fn(sa.literal(pointer, sa.Integer, literal_execute=True)).label(f"p{pointer}"))
        return sa.select(*calls)

    def rates(self) -> dict[int, Decimal]:
        if self._rates is None:
            with self.engine.connect() as conn:
                row = conn.execute(self.statement()).one()
            self._rates = {p: d for p, v in enumerate(row) if (d := percent(v, "vat_rate")) is not None}
        return self._rates

    def rate(self, pointer: Any, field: str) -> Decimal | None:
        if pointer is None:
            return None
        found = self.rates().get(pointer)
        if found is None:
            raise RecordError(f"VAT pointer {pointer!r} has no rate (see the vat_rates setting)", field)
        return found


@dataclass(frozen=True)
class MikroEnv:
    """Everything a stream needs, resolved once from the settings."""

    engine: Engine
    tables: MikroTables
    tz: ZoneInfo
    chunk_size: int
    currencies: Mapping[int, str]  # Mikro currency number -> ISO, including 0 -> the main currency
    local_currency: str
    number_format: str
    movements: MovementCodes = field(compare=False)
    ledger: LedgerKinds = field(compare=False)
    stock_kinds: StockKinds = field(compare=False)
    account_kinds: Mapping[int, AccountKind]
    passive_value: bool  # the sto_pasif_fl value that means "passive"
    master_barcode_value: bool  # the bar_master value marking a unit's main barcode
    line_vat: str  # what sth_vergi holds: "amount" or "rate"
    no_stock_cins: frozenset[int]
    sales_order_tip: int
    order_kinds: Mapping[int, str]  # sip_cins -> order | proposal | exclude
    general_price_lists: frozenset[int]  # sfl_sirano of the general lists: price_lists reads them, discounts not
    price_list_vat_value: bool  # the sfl_kdvdahil value meaning the list's prices include VAT
    price_list_dates: bool  # sfl_ilktarih / sfl_sontarih are the list's validity
    vat: VatRates = field(compare=False)
    fingerprint: str = ""  # the settings, for the versions of records mapped with them (connectors.versions)

    def order_cins(self, *kinds: str) -> list[int]:
        """The sip_cins values read as the given order kinds."""
        return sorted(cins for cins, kind in self.order_kinds.items() if kind in kinds)

    def currency(self, code: Any, field: str) -> str:
        """ISO code of a Mikro currency number: 0 is the main currency (Mikro's docs); NULL, which Mikro never
        writes, is an error rather than the main currency."""
        if code is None:
            raise RecordError("missing (NULL; Mikro writes 0 for the main currency)", field)
        iso = self.currencies.get(code)
        if iso is None:
            raise RecordError(f"unknown Mikro currency number {code!r} (add it to the currency_codes setting)", field)
        return iso


def local_since(since: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """`since` as the naive wall time Mikro writes its stamps in."""
    local = since.astimezone(tz) if since.tzinfo else since
    return local.replace(tzinfo=None)


def stamp(value: Any, tz: ZoneInfo) -> dt.datetime | None:
    """A `*_lastup_date` / `*_create_date` as an aware instant; 1899-12-30 (never stamped) -> None."""
    try:
        return timestamp(value, "stamp", tz, NULL_DATES)
    except RecordError:
        return None


def not_set(flag: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """A BIT filter that reads NULL too: a NULL is damage (Mikro writes none), and a sum must not pass over it."""
    return sa.or_(flag.is_(None), flag == sa.false())


def bit(value: Any, field: str) -> bool:
    """A BIT column (read as True/False: a bit holds nothing else). NULL, which Mikro never writes, is an error."""
    return flag(value, field, (True,), (False,))


def guid_key(value: Any) -> str:
    return str(value).lower()


class MikroStream(Stream):
    """A stream over one Mikro table, paged by its `*_Guid`, stamped by its `*_lastup_date`."""

    prefix: ClassVar[str]  # the table's column prefix: cari, sto, isk, ...

    def __init__(self, env: MikroEnv) -> None:
        self.env = env
        self.tz = env.tz

    # -- what a concrete stream declares -------------------------------------------------
    def table(self) -> sa.Table:
        raise NotImplementedError

    def select_rows(self) -> sa.Select[Any]:
        """SELECT of the stream's rows; must include the key table's Guid (labelled GUID) and
        its lastup date (labelled LASTUP)."""
        raise NotImplementedError

    def where(self) -> sa.ColumnElement[bool] | None:
        """The stream's row filter (also applied by count() and fetch())."""
        return None

    def live(self) -> sa.ColumnElement[bool]:
        """Rows that exist for the feed, as count() counts them: hidden rows are gone (map() deletes them). A NULL
        is not hidden: such a row is a dead letter, not a delete."""
        hidden = self.col("hidden")
        return sa.or_(hidden.is_(None), hidden == sa.false())

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        return self.col("lastup_date") >= local_since(since, self.tz)

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> Sequence[Any]:
        return rows

    def col(self, name: str) -> sa.Column[Any]:
        return self.table().c[f"{self.prefix}_{name}"]

    def statements(self) -> list[sa.Select[Any]]:
        """Every statement shape the stream executes: its rows (full and incremental), count, and
        whatever `attach` fetches more."""
        return [
            self._filtered(self.select_rows(), SINCE).order_by(self.col("Guid")),
            self._filtered(sa.select(sa.func.count()).select_from(self.table()), None, live=True),
            *self.attached(),
        ]

    def attached(self) -> list[sa.Select[Any]]:
        """The statements `attach` runs for a page (before their IN filter)."""
        return []

    # -- the Stream contract -------------------------------------------------------------
    def _filtered(self, stmt: sa.Select[Any], since: dt.datetime | None, *, live: bool = False) -> sa.Select[Any]:
        where = self.where()
        if where is not None:
            stmt = stmt.where(where)
        if live:
            stmt = stmt.where(self.live())
        if since is not None and self.replication_key is not None:
            stmt = stmt.where(self.changed(since))
        return stmt

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        guid = self.col("Guid")
        base = self._filtered(self.select_rows(), since)
        if partition is not None:
            base = base.where(self.partition_clause(partition))

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(guid > last)).order_by(guid)

        def then(conn: sa.Connection, rows: Sequence[Row[Any]]) -> Sequence[Any]:
            return self.attach(conn, rows)

        yield from keyset_chunks(self.env.engine, page, "GUID", self.env.chunk_size, then)

    def partition_clause(self, partition: Partition) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def row_of(self, item: Any) -> Any:
        return item[0] if type(item) is tuple else item

    def key(self, item: Any) -> str:
        return guid_key(self.row_of(item).GUID)

    def cursor(self, item: Any) -> dt.datetime | None:
        if self.replication_key is None:
            return None
        return stamp(self.row_of(item).LASTUP, self.tz)

    def raw(self, item: Any) -> dict[str, Any]:
        if type(item) is tuple:
            head, *rest = item
            return {"row": dict(head._mapping), "related": [[dict(r._mapping) for r in part] for part in rest]}
        return dict(item._mapping)

    def count(self) -> int | None:
        with self.env.engine.connect() as conn:
            stmt = self._filtered(sa.select(sa.func.count()).select_from(self.table()), None, live=True)
            return int(conn.execute(stmt).scalar_one())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        guid = self.col("Guid")
        items: list[Any] = []
        with self.env.engine.connect() as conn:
            for chunk in in_chunks(sorted(set(keys))):
                rows = conn.execute(
                    self._filtered(self.select_rows(), None).where(guid.in_(chunk)).order_by(guid)
                ).all()
                items.extend(self.attach(conn, rows))
        return items
