"""The loyalty-side contract: a sink takes one durable outbox batch and acknowledges it."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from connectors.base import CheckResult


class Attachment(NamedTuple):
    """Bytes a record names by their SHA-256 (a product image's), delivered before the batch that names them."""

    sha256: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Batch:
    """One outbox batch. `id` is its idempotency key: a resend carries the same id."""

    id: str
    source: str
    stream: str
    records: int
    payload: bytes  # NDJSON: one encoded mapping.schema.Envelope per line, each ending in b"\n"
    created_at: dt.datetime
    files: tuple[Attachment, ...] = ()  # delivered (idempotently, by hash) before the records that name them


@dataclass(frozen=True)
class Ack:
    """The sink took the batch. `rejected` maps record keys it refused to the reason given."""

    rejected: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Holdings:
    """What a sink already holds of one source: its newest batch's time, and per stream when the sink says."""

    newest: dt.datetime | None  # None: no batch of the source
    streams: Mapping[str, dt.datetime] | None = None  # stream -> newest batch; None: not told apart by stream

    def holding(self, streams: Iterable[str]) -> list[str]:
        """Those of `streams` the sink holds batches of (all of them when it only speaks for the source)."""
        if self.newest is None:
            return []
        return [s for s in streams if self.streams is None or s in self.streams]


class SinkError(Exception):
    """The batch was not accepted.

    `permanent`: resending the same batch will not succeed (4xx but 429).
    `about_batch`: the refusal concerns this batch's content (malformed, too large), so
    other batches may pass; false for credentials, a wrong URL or an outage, where
    every batch would fail alike and the run must stop instead.
    """

    def __init__(self, message: str, *, permanent: bool = False, about_batch: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.about_batch = about_batch


class Sink(ABC):
    kind: str

    @abstractmethod
    def push(self, batch: Batch) -> Ack:
        """Deliver the batch, retrying passing faults; raise SinkError when it cannot."""

    @abstractmethod
    def check(self) -> list[CheckResult]: ...

    def holdings(self, source: str) -> Holdings | None:
        """The batches of `source` this sink already holds, or None when it cannot tell.

        Asked only when the state store has no record of a stream: a sink that holds its batches
        then means the state was lost, and a sync would send the whole history again.
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
