"""The adapter contract every ERP connector speaks: spec, check, discover, read.

An adapter is a table of its streams. A stream reads raw items from the ERP in
chunks and maps one item into a normalised record; the engine owns cursors,
hashing, batching, the outbox, retries and state.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from mapping.errors import RecordError
from mapping.schema import Record

if TYPE_CHECKING:
    from connectors.census import CodeCount

__all__ = [
    "Adapter",
    "AdapterSettings",
    "CheckResult",
    "ConnectorError",
    "Excluded",
    "Partition",
    "RecordError",
    "SourceContext",
    "Stream",
]


class ConnectorError(Exception):
    """A problem an operator can act on (bad password, unknown firm, missing table).

    The message must say what is wrong and what to check, and never carry secrets.
    """


class AdapterSettings(BaseModel):
    """Base of an adapter's own settings (its spec): the keys beside `kind` in a source's config."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class SourceContext:
    """What every adapter gets from the source's common configuration."""

    name: str
    timezone: ZoneInfo
    chunk_size: int = 1000
    # Streams the configuration disables: check() proves only what the enabled streams will read.
    disabled: frozenset[str] = frozenset()
    # Whether a reconcile schedule is configured: where the ERP deletes rows (cancellations), only a
    # reconcile sends the deletes, and check says so when there is none.
    reconciles: bool = False


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # passes, but something will degrade (an optional field stays empty, unknown codes)


class Excluded(NamedTuple):
    """What map() returns for an item the stream reads but leaves out of the feed on purpose: `rule` names
    why ("purchase invoice", "retail sale"), and `sync` and `status` count the items per rule."""

    rule: str


@dataclass(frozen=True)
class Partition:
    """One of `count` disjoint slices of a stream's items (by key), read by one worker process."""

    index: int
    count: int


class Stream(ABC):
    """One stream of one source: declares its name, key and replication key, and reads.

    `read(since)` yields chunks (sequences) of raw items whose replication key is at
    or after `since` (all items when `since` is None). Streams without a replication
    key are snapshots: each read returns every live item, and the engine treats keys
    it no longer sees as deleted.
    """

    name: ClassVar[str]
    primary_key: ClassVar[tuple[str, ...]]
    replication_key: ClassVar[str | None] = None
    # True when read() honours `partition`, so the engine may spread a large read over processes.
    partitionable: ClassVar[bool] = False

    @abstractmethod
    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]: ...

    @abstractmethod
    def key(self, item: Any) -> str:
        """The stable source key of an item. Must not fail on a bad item."""

    def cursor(self, item: Any) -> dt.datetime | None:
        """The item's replication-key value (aware datetime). Must not fail on a bad item."""
        return None

    def version(self, item: Any) -> str | None:
        """The source's own version stamp of the item (1C's DataVersion), or None when it has none.

        The engine stores it per key; an item whose version is unchanged since the last push is
        counted unchanged without being mapped. Must not fail on a bad item.
        """
        return None

    @abstractmethod
    def map(self, item: Any) -> Record | Excluded | None:
        """The normalised record; None when the item is deleted in the source; Excluded(rule) for an item
        left out of the feed on purpose.

        Raises RecordError when the item is invalid.
        """

    def attachment(self, item: Any) -> bytes | None:
        """The bytes a record of this stream names by its `sha256` (a product image's), sent beside it; None for a
        stream whose records carry everything. Called only for an item mapped to such a record."""
        return None

    def raw(self, item: Any) -> dict[str, Any]:
        """The item as a JSON-friendly dict, kept with a dead letter."""
        if hasattr(item, "_mapping"):
            return dict(item._mapping)
        if isinstance(item, Mapping):
            return dict(item)
        return {"item": item}

    def count(self) -> int | None:
        """Number of live items, for `discover`; None when unknown or costly."""
        return None

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        """The current raw items for some keys (dead-letter retry); empty if unsupported."""
        return ()

    def done(self) -> None:  # noqa: B027 - optional hook
        """A read ended well: every record it gave is pushed and its cursor stored (a derived stream then
        forgets what it was asked to recompute)."""


class Adapter(ABC):
    """An ERP connector. Subclasses set `kind` and `Settings`, and build their streams."""

    kind: ClassVar[str]
    Settings: ClassVar[type[AdapterSettings]]

    def __init__(self, context: SourceContext, settings: AdapterSettings) -> None:
        self.context = context
        self.settings = settings

    @abstractmethod
    def check(self) -> list[CheckResult]:
        """Connect and verify everything the streams need; never raise for expected failures."""

    @abstractmethod
    def streams(self) -> list[Stream]: ...

    def census(self, since: dt.date | None = None) -> list[CodeCount] | None:
        """Every value of every code column the adapter interprets, counted in the source's data (documents
        dated `since` or later where the source is too large to count whole); None when not supported."""
        return None

    def stream(self, name: str) -> Stream:
        for stream in self.streams():
            if stream.name == name:
                return stream
        raise KeyError(name)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
