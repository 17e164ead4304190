"""What every S/4 stream shares: its main read (entity set, whole key, selected shape), standing filter, change
filter, and keys.

A concrete stream (masters.py, snapshots.py, documents.py, receivables.py) declares its reads (shape.Read) and
maps one row; this base turns the main read into read(since), count() and fetch(keys).
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connectors.base import Partition, Stream
from connectors.sap import codes
from connectors.sap.s4.odata import ODataReader
from connectors.sap.s4.options import S4Options
from connectors.sap.s4.shape import Read, Shape
from connectors.sap.s4.values import all_of, day_of, string_literal
from mapping.errors import RecordError
from mapping.money import amount, to_decimal

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["S4Env", "S4Stream", "day", "eq", "money", "number"]


@dataclass(frozen=True)
class S4Env:
    """Everything a stream needs, resolved once from the settings."""

    reader: ODataReader
    settings: SapSettings
    tz: ZoneInfo

    @property
    def s4(self) -> S4Options:
        return self.settings.s4

    def read(
        self, setting: str, key: tuple[str, ...], shape: Shape, filters: Shape | None = None, what: str = ""
    ) -> Read:
        """A read of the entity set the S4Options attribute `setting` names."""
        path = getattr(self.s4, setting)
        return Read(path, f"s4.{setting}", key, shape, filters.fields if filters else (), what)


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


class S4Stream(Stream):
    """A stream over one entity set, read in the order of its whole key."""

    def __init__(self, env: S4Env) -> None:
        self.env = env
        self.tz = env.tz
        self.main = self.declare()

    # -- what a concrete stream declares ----------------------------------------------------------
    @abstractmethod
    def declare(self) -> Read:
        """The stream's main read."""

    def reads(self) -> list[Read]:
        """Every read the stream sends (check proves each): the main one, its key alone (check's probe of the
        entity set), and any others."""
        return [self.main, self.main.keys_only()]

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
    @property
    def path(self) -> str:
        return self.main.path

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        window = self.changed_since(since) if since is not None else None
        for rows in self.env.reader.pages(self.main, all_of(self.where(), window)):
            items = self.items(rows, since)
            if items:
                yield items

    def key(self, item: Any) -> str:
        return "/".join(str(item.get(k) or "") for k in self.main.key)

    def count(self) -> int | None:
        return self.env.reader.count(self.main, self.where())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        if len(self.main.key) != 1:
            return ()
        found: list[Any] = []
        for rows in self.env.reader.by_keys(self.main, self.main.key[0], keys, self.where()):
            found.extend(self.items(rows, None))
        return found

    def raw(self, item: Any) -> dict[str, Any]:
        return dict(item)

    # -- helpers ----------------------------------------------------------------------------------
    def code(self, value: Any) -> str:
        """A customer or material number for display (ALPHA output)."""
        return codes.alpha_out(value)
