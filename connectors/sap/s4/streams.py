"""What every S/4 stream shares: its entity set, key order, standing filter, change filter, keys.

A concrete stream (masters.py, snapshots.py, documents.py, receivables.py) names its entity set
(an S4Options attribute), key fields, $expand and filters, and maps one row; this base turns
them into read(since), live_keys(), count() and fetch(keys).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.base import Partition, Stream
from connectors.sap import codes
from connectors.sap.s4.odata import ODataReader, all_of, day_of, string_literal
from connectors.sap.s4.options import S4Options
from mapping.errors import RecordError
from mapping.money import amount, rate, to_decimal

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["S4Env", "S4Stream", "day", "eq", "exchange_rate", "money", "number"]


@dataclass(frozen=True)
class S4Env:
    """Everything a stream needs, resolved once from the settings."""

    reader: ODataReader
    settings: SapSettings
    tz: ZoneInfo

    @property
    def s4(self) -> S4Options:
        return self.settings.s4


def eq(field: str, value: str | None) -> str | None:
    """`field eq 'value'`, or nothing when the setting is unset."""
    return None if value is None else f"{field} eq {string_literal(value)}"


def number(value: Any, places: int, field: str) -> Any:
    """A decimal that V2 sends as a string; absent is an error (every caller needs the value)."""
    d = to_decimal(value, places, field)
    if d is None:
        raise RecordError("missing", field)
    return d


def day(value: Any, field: str) -> dt.date:
    """A required Edm.DateTime date."""
    found = day_of(value, field)
    if found is None:
        raise RecordError("missing", field)
    return found


def money(value: Any, currency: str, field: str) -> Any:
    d = amount(value, field, currency)
    if d is None:
        raise RecordError("missing", field)
    return d


def exchange_rate(value: Any, currency: str, local: str, field: str) -> Any:
    """The document's rate to the local currency; 1 for local-currency documents whatever SAP holds."""
    if currency == local:
        return rate(1, field)
    d = rate(value, field)
    if d is None:
        raise RecordError("missing exchange rate of a foreign-currency document", field)
    return d


class S4Stream(Stream):
    """A stream over one entity set, read in key order."""

    entity: ClassVar[str]  # the S4Options attribute naming "<SERVICE>/<EntitySet>"
    keys: ClassVar[tuple[str, ...]]  # the entity's key fields
    expand: ClassVar[str | None] = None

    def __init__(self, env: S4Env) -> None:
        self.env = env
        self.tz = env.tz
        self.path: str = getattr(env.s4, self.entity)

    # -- what a concrete stream declares ----------------------------------------------------------
    def where(self) -> str | None:
        """The stream's standing filter (organisational units, document types)."""
        return None

    def changed_since(self, since: dt.datetime) -> str | None:
        """The filter for rows changed at or after `since` (None: a snapshot re-reads everything)."""
        return None

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        """Items of a page of rows (documents add the ones a cancellation points at)."""
        return rows

    # -- the Stream contract ----------------------------------------------------------------------
    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        window = self.changed_since(since) if since is not None else None
        for rows in self.env.reader.pages(
            self.path, self.keys, filter=all_of(self.where(), window), expand=self.expand
        ):
            items = self.items(rows, since)
            if items:
                yield items

    def key(self, item: Any) -> str:
        return "/".join(str(item.get(k) or "") for k in self.keys)

    def live_keys(self) -> Iterator[Sequence[str]]:
        for rows in self.env.reader.pages(self.path, self.keys, filter=self.where(), select=",".join(self.keys)):
            yield [self.key(row) for row in rows]

    def count(self) -> int | None:
        return self.env.reader.count(self.path, self.where())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        if len(self.keys) != 1:
            return ()
        found: list[Any] = []
        for rows in self.env.reader.by_keys(
            self.path, self.keys[0], keys, self.keys, filter=self.where(), expand=self.expand
        ):
            found.extend(self.items(rows, None))
        return found

    def raw(self, item: Any) -> dict[str, Any]:
        return dict(item)

    # -- helpers ----------------------------------------------------------------------------------
    def code(self, value: Any) -> str:
        """A customer or material number for display (ALPHA output)."""
        return codes.alpha_out(value)
