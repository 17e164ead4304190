"""What every ECC stream shares: where it reads, related tables joined by key, change-date filters.

A stream reads a driving table in pages (RFC_READ_TABLE has no joins) and, for each page, the
related rows of other tables with one "IN ( ... )" selection per batch of keys (a Join). An item
is a dict: the driving row under its table's name, each joined table's rows in a list under its
name. Change dates in ECC are days (ERDAT, AEDAT, LAEDA, CPUDT), so incremental reads select
rows changed on or after the day of `since`; the engine drops unchanged re-reads by hash.

Every table read goes through a declared Read (declare.py); `declared()` lists all of a stream's
Reads, which check proves against the DDIC, so what is read and what is checked cannot drift apart.
A stream that reads amounts also declares TCURX and reads it (once per adapter) before its first
items are mapped, so amounts are mapped in their currency's decimals (currencies.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connectors.base import Partition, Stream
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.currencies import DECIMALS, Currencies
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.options import EccOptions
from connectors.sap.ecc.read_table import Row, TableReader
from mapping.errors import RecordError
from mapping.money import percent

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["EccEnv", "EccStream", "Item", "Join", "day", "latest"]

Item = dict[str, Any]


@dataclass(frozen=True)
class EccEnv:
    """Everything a stream needs, resolved once from the settings."""

    reader: TableReader
    settings: SapSettings
    tz: ZoneInfo
    currencies: Currencies = field(default_factory=Currencies)  # shared by the adapter's envs: TCURX read once

    @property
    def options(self) -> EccOptions:
        return self.settings.ecc

    def area(self, *, division: bool = True) -> str | None:
        """The configured sales area as a condition (VKORG / VTWEG / SPART fields)."""
        s = self.settings
        pairs = [("VKORG", s.sales_organization), ("VTWEG", s.distribution_channel)]
        if division:
            pairs.append(("SPART", s.division))
        return w.and_(*(w.eq(f, value) for f, value in pairs if value))

    def company(self, field: str = "BUKRS") -> str | None:
        code = self.settings.company_code
        return w.eq(field, code) if code else None


def day(since: dt.datetime, tz: ZoneInfo) -> str:
    """The date (YYYYMMDD, the system's wall time) from which rows count as changed."""
    local = since.astimezone(tz) if since.tzinfo else since
    return f"{local:%Y%m%d}"


def latest(*moments: dt.datetime | None) -> dt.datetime | None:
    found = [m for m in moments if m is not None]
    return max(found) if found else None


@dataclass(frozen=True)
class Join:
    """Rows of `read.table` whose `on` field (one of the read's names) equals the driving row's `source` field."""

    read: Read
    on: str
    source: str
    condition: str | None = None

    @property
    def table(self) -> str:
        return self.read.table

    def attach(self, reader: TableReader, heads: Sequence[Row], items: Sequence[Item]) -> None:
        found: dict[str, list[Row]] = {}
        values = [h[self.source] for h in heads]
        for row in reader.rows_in(self.read, self.on, values, self.condition):
            found.setdefault(row[self.on], []).append(row)
        for head, item in zip(heads, items, strict=True):
            item[self.table] = found.get(head[self.source], [])


class EccStream(Stream):
    """A stream over one driving table and the tables joined to it."""

    table: str
    key_fields: tuple[str, ...]
    amounts = False  # whether the stream maps CURR amounts (then it reads TCURX first)

    def __init__(self, env: EccEnv) -> None:
        self.env = env
        self.reader = env.reader
        self.tz = env.tz

    # -- what a concrete stream declares ------------------------------------------------------------
    def head_read(self) -> Read:
        """The driving table's read."""
        raise NotImplementedError

    def condition(self) -> str | None:
        """The stream's row filter (every read)."""
        return None

    def changed(self, since: str) -> str | None:
        """Rows changed on or after day `since` (YYYYMMDD); None: a snapshot stream."""
        return None

    def joins(self) -> Sequence[Join]:
        return ()

    def declared(self) -> list[Read]:
        """Every read the stream makes (check verifies exactly these)."""
        return [self.head_read(), *(join.read for join in self.joins()), *self.currency_reads()]

    def currency_reads(self) -> list[Read]:
        return [DECIMALS] if self.amounts else []

    def read_currencies(self) -> None:
        """TCURX, before the first item is mapped: in the reading thread, once per adapter."""
        if self.amounts:
            self.env.currencies.load(self.reader)

    def attach(self, heads: list[Row]) -> list[Item]:
        self.read_currencies()
        items: list[Item] = [{self.table: h} for h in heads]
        for join in self.joins():
            join.attach(self.reader, heads, items)
        return items

    # -- the Stream contract ----------------------------------------------------------------------------
    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        condition = self.condition()
        if since is not None and self.replication_key is not None:
            condition = w.and_(condition, self.changed(day(since, self.tz)))
        for page in self.reader.pages(self.head_read(), condition):
            yield self.attach(page)

    def head(self, item: Item) -> Row:
        return item[self.table]

    def key(self, item: Item) -> str:
        try:
            return ":".join(self.head(item)[k] for k in self.key_fields if k != "MANDT")
        except (KeyError, TypeError):
            return repr(item)[:200]

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        """Items by key: the driving table's single key field IN the keys."""
        if len(self.key_fields) != 1:
            return ()
        field = self.key_fields[0]
        heads = self.reader.rows_in(self.head_read(), field, list(keys), self.condition())
        return self.attach(heads)

    # -- helpers for map() and cursor() ------------------------------------------------------------------
    def moment(self, date: str | None, time: str | None = None) -> dt.datetime | None:
        """An instant from a date (and time) value; None when blank or malformed (cursor() must not fail)."""
        try:
            return v.stamp(date, time, self.tz, "cursor")
        except RecordError:
            return None

    def vat_rate(self, taxm1: str | None, field: str) -> Decimal | None:
        """The VAT percent of a tax classification (TAXM1) through the `vat_rates` setting; never guessed."""
        if not taxm1:
            return None
        rate = self.env.settings.vat_rates.get(taxm1)
        if rate is None:
            raise RecordError(f"tax classification {taxm1!r} is not in the vat_rates setting", field)
        return percent(rate, field)

    def currency(self, value: str | None, field: str) -> str:
        iso = codes.sap_currency(value, field)
        if iso is None:
            raise RecordError("missing currency", field)
        return iso
