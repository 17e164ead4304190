"""The sync loop: read a stream from its cursor, keep what changed, outbox it, push it.

For each stream run:
1. push batches a crashed run left in the outbox (same idempotency keys);
2. read from `cursor - overlap` (everything on a full refresh or a reconcile), map each item, and
   drop records whose content hash equals the stored one;
3. commit each batch, its hashes and its dead letters in one transaction, then push it,
   and mark it done only when the sink acknowledged it;
4. find deletes from the keys a whole read saw: snapshot streams, full refreshes and
   `reconcile` read everything;
5. advance the cursor to the newest item read - only now, once every batch is durable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec
import structlog

from connectors.base import Adapter, Stream
from engine.derived import DERIVED, derived_streams, fact_of, keeps_facts
from engine.facts import CONSUMERS
from engine.items import Mapped, describe, first_line, has_versions, map_items
from engine.keyset import KeySet
from engine.parallel import mapped_in_workers, portable
from engine.state import BatchWrite, PendingBatch, StateStore
from mapping.plausibility import ImplausiblePolicy
from mapping.schema import SCHEMA_VERSION, encode
from sinks.base import Batch, Sink, SinkError

log = structlog.get_logger(__name__)

ErrorPolicy = Literal["dead_letter", "stop"]
T = TypeVar("T")


@dataclass(frozen=True)
class Policy:
    """How the engine batches and what it does with errors (configuration, not code)."""

    batch_size: int = 2000  # records per batch; each batch costs two durable commits and a sink round trip
    max_batch_bytes: int = 16 * 1024 * 1024  # and never more than this much NDJSON per batch
    overlap: dt.timedelta = dt.timedelta(minutes=10)
    on_record_error: ErrorPolicy = "dead_letter"  # a record that fails mapping/validation
    on_sink_reject: ErrorPolicy = "dead_letter"  # records a 2xx answer lists as rejected
    on_sink_failure: ErrorPolicy = "stop"  # a batch the sink refuses for good (4xx)
    lock_ttl: dt.timedelta = dt.timedelta(minutes=30)  # renewed at every chunk and before every push
    workers: int = 1  # processes that read and map one large full read in parallel
    parallel_min_items: int = 20_000  # below this a full read stays in one process (start-up costs ~1 s)
    outbox_retention: dt.timedelta = dt.timedelta(days=7)
    clock_skew: dt.timedelta = dt.timedelta(minutes=5)  # the cursor stays this far behind the read's start
    implausible: ImplausiblePolicy = "flag"  # a record with implausible values: flag | dead_letter | accept


@dataclass
class RunResult:
    source: str
    stream: str
    status: str = "ok"  # ok | error | skipped
    read: int = 0
    pushed: int = 0
    unchanged: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    flagged: int = 0  # documents sent with discrepancies: ERP figures that break an invariant
    excluded: dict[str, int] = field(default_factory=dict)  # items left out on purpose, per named rule
    batches: int = 0
    cursor: dt.datetime | None = None
    error: str | None = None
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "pushed": self.pushed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "dead_lettered": self.dead_lettered,
            "flagged": self.flagged,
        }


@dataclass
class RetryResult:
    retried: int = 0
    fixed: int = 0
    failed: int = 0
    reasons: dict[str, str] = field(default_factory=dict)


class StopRun(Exception):
    """The error policy says stop: the run ends with this message, nothing half-written."""


class _Envelopes:
    """Builds NDJSON envelope lines around pre-encoded data (no second encode of the record)."""

    def __init__(self, source: str, stream: str) -> None:
        self.head = b'{"stream":' + encode(stream) + b',"source":' + encode(source) + b',"key":'
        self.upsert = b',"op":"upsert","schema_version":"' + SCHEMA_VERSION.encode() + b'","data":'
        self.delete = b',"op":"delete","schema_version":"' + SCHEMA_VERSION.encode() + b'","data":null}\n'

    def line(self, key: str, data: bytes | None) -> bytes:
        if data is None:
            return self.head + encode(key) + self.delete
        return self.head + encode(key) + self.upsert + data + b"}\n"


class Engine:
    def __init__(
        self,
        state: StateStore,
        sink: Sink,
        policy: Policy | None = None,
        progress: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.state = state
        self.sink = sink
        self.policy = policy or Policy()
        self.progress = progress
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renewed: dict[tuple[str, str], float] = {}
        self._pusher: _Pusher | None = None  # while a stream runs: pushes its batches while the next is made

    # -- public ----------------------------------------------------------------------------
    def sync(
        self,
        adapter: Adapter,
        streams: Sequence[str] | None = None,
        *,
        full_refresh: bool = False,
        reconcile: bool = False,
    ) -> list[RunResult]:
        chosen = [*adapter.streams(), *derived_streams(self.state, adapter)]
        off = set(streams or ()) & set(DERIVED) & adapter.context.disabled
        if off:
            raise ValueError(f"source {adapter.context.name} disables {', '.join(sorted(off))}")
        if streams:
            unknown = set(streams) - {s.name for s in chosen}
            if unknown:
                raise ValueError(f"unknown stream(s) for source {adapter.context.name}: {', '.join(sorted(unknown))}")
            chosen = [s for s in chosen if s.name in streams]
        self.state.prune_outbox(self.policy.outbox_retention)
        return [self.run_stream(adapter, s, full_refresh=full_refresh, reconcile=reconcile) for s in chosen]

    def run_stream(
        self, adapter: Adapter, stream: Stream, *, full_refresh: bool = False, reconcile: bool = False
    ) -> RunResult:
        source = adapter.context.name
        result = RunResult(source, stream.name)
        started = time.monotonic()
        waiting = self._inputs_waiting(adapter, stream)
        if waiting:
            # An input that has not yet finished a read since facts are kept (a first sync, an upgrade's catch-up)
            # holds part of its facts: a figure made from them would be sent only to be corrected. The dealers
            # stay marked. (A failed run later is no reason to wait: its facts are those of the batches it sent.)
            result.status = "skipped"
            result.error = f"waits for a first complete read of {', '.join(waiting)}"
            log.info("stream.skipped", source=source, stream=stream.name, reason=result.error)
            return result
        if not self._acquire(source, stream.name):
            result.status = "skipped"
            result.error = "another run of this stream holds the lock"
            log.info("stream.skipped", source=source, stream=stream.name, reason=result.error)
            return result
        facts = keeps_facts(adapter, stream.name)
        # A stream sent before the engine kept facts (an upgraded store): one complete read gives every record's.
        capture_all = facts and self.state.has_hashes(source, stream.name) and not self.state.facts_ready(
            source, stream.name
        )
        if capture_all:
            log.info("stream.facts_catch_up", source=source, stream=stream.name)
        elif stream.name in CONSUMERS and not facts:  # kept no longer: a later enabling catches up afresh
            self.state.forget_facts(source, stream.name)
        log.info("stream.start", source=source, stream=stream.name, full_refresh=full_refresh, reconcile=reconcile)
        try:
            with self._pushing(result):
                cursor = self._run(
                    adapter,
                    stream,
                    result,
                    full_refresh=full_refresh,
                    reconcile=reconcile or capture_all,
                    facts=facts,
                    capture_all=capture_all,
                )
            result.cursor = cursor
            result.seconds = time.monotonic() - started
            self.state.finish(
                source, stream.name, status="ok", counts=result.counts(), cursor=cursor, excluded=result.excluded
            )
            if facts:
                self.state.mark_facts_ready(source, stream.name)
            stream.done()
            log.info("stream.done", **_summary(result))
        except Exception as exc:  # one stream's failure must not stop the others
            result.status = "error"
            result.error = _describe(exc)
            result.seconds = time.monotonic() - started
            self.state.finish(
                source,
                stream.name,
                status="error",
                counts=result.counts(),
                error=result.error,
                excluded=result.excluded,
            )
            log.error("stream.failed", **_summary(result))
        finally:
            self.state.release(source, stream.name, self.owner)
        return result

    def retry_dead_letters(
        self, adapter: Adapter, ids: Sequence[int] | None = None, stream: str | None = None
    ) -> RetryResult:
        """Re-read dead-lettered keys from the source as they are now and send them again."""
        outcome = RetryResult()
        letters = self.state.dead_letters(adapter.context.name, stream, limit=None, ids=ids)
        by_stream: dict[str, list[str]] = {}
        for letter in letters:
            by_stream.setdefault(letter.stream, []).append(letter.key)
        source = adapter.context.name
        for name, keys in by_stream.items():
            st = self._stream(adapter, name)
            if not self._acquire(source, name):
                outcome.failed += len(keys)
                continue
            try:
                result = RunResult(source, name)
                items = list(st.fetch(keys))
                found = {st.key(item) for item in items}
                with self._pushing(result):
                    writer = self._batcher(
                        source, st, result, force=True, facts=keeps_facts(adapter, name)
                    )
                    writer.add(items)
                    writer.finish()
                still_open = self.state.open_dead_letter_keys(source, name)
                gone = [k for k in keys if k not in found]
                for key in keys:
                    outcome.retried += 1
                    if key in gone:
                        outcome.failed += 1
                        outcome.reasons[key] = "not found in the source (fetch by key unsupported or row deleted)"
                    elif key in still_open:
                        outcome.failed += 1
                    else:
                        outcome.fixed += 1
            finally:
                self.state.release(source, name, self.owner)
        return outcome

    @contextlib.contextmanager
    def _pushing(self, result: RunResult) -> Iterator[None]:
        """Within: committed batches are pushed by a pusher thread, in order, while the caller makes the next one.
        On the way out every handed batch has been pushed (or has failed): the caller moves the cursor only
        after that, and a push's failure is raised here unless the block is already failing."""
        self._pusher = pusher = _Pusher(self, result)
        try:
            yield
        except BaseException:
            pusher.close(raise_error=False)
            raise
        else:
            pusher.close(raise_error=True)
        finally:
            self._pusher = None

    def _inputs_waiting(self, adapter: Adapter, stream: Stream) -> list[str]:
        """The input streams of a derived stream that have not finished a read since facts are kept (inputs the
        source does not have, or disables, do not count)."""
        inputs = getattr(stream, "inputs", ())
        if not inputs:
            return []
        source = adapter.context.name
        offered = {s.name for s in adapter.streams()} - adapter.context.disabled
        return [name for name in inputs if name in offered and not self.state.facts_ready(source, name)]

    def _stream(self, adapter: Adapter, name: str) -> Stream:
        for stream in derived_streams(self.state, adapter):
            if stream.name == name:
                return stream
        return adapter.stream(name)

    def _acquire(self, source: str, stream: str) -> bool:
        if self.state.acquire(source, stream, self.owner, self.policy.lock_ttl):
            return True
        holder = self.state.lock_holder(source, stream)
        # A run killed on this host (kill -9, power cut) must not block its restart until the lease expires.
        if holder and _dead_local_owner(holder):
            log.warning("stream.lock_taken_over", source=source, stream=stream, dead_holder=holder)
            self.state.break_lock(source, stream, holder)
            return self.state.acquire(source, stream, self.owner, self.policy.lock_ttl)
        return False

    def _renew(self, source: str, stream: str) -> None:
        # Each renewal is a durable commit: once per tenth of the lease is plenty.
        moment = time.monotonic()
        if moment - self._renewed.get((source, stream), 0.0) >= self.policy.lock_ttl.total_seconds() / 10:
            self.state.renew(source, stream, self.owner, self.policy.lock_ttl)
            self._renewed[(source, stream)] = moment

    # -- one stream ------------------------------------------------------------------------
    def _run(
        self,
        adapter: Adapter,
        stream: Stream,
        result: RunResult,
        *,
        full_refresh: bool,
        reconcile: bool,
        facts: bool = False,
        capture_all: bool = False,
    ) -> dt.datetime | None:
        source = adapter.context.name
        self._push_pending(source, stream.name, result)
        # The ERP's stamps are not trusted past this host's clock: a row stamped ahead (a wrong ERP clock, a
        # typo) must not carry the cursor into the future, where every later ordinary edit would be skipped.
        ceiling = dt.datetime.now(dt.UTC) - self.policy.clock_skew
        cursor = self.state.cursor(source, stream.name)
        if cursor is not None and cursor > ceiling:  # an earlier release let it run ahead: bring it back
            cursor = ceiling
        # A reconcile reads everything and compares content as well as keys: an edit the ERP stamped in the
        # past (backdated, or a clock put right) is found and sent, not only a deleted row.
        incremental = stream.replication_key is not None and not full_refresh and not reconcile and cursor is not None
        since = cursor - self.policy.overlap if incremental and cursor is not None else None
        batcher = self._batcher(source, stream, result, force=full_refresh, facts=facts, capture_all=capture_all)
        newest = cursor
        for mapped in self._mapped(adapter, stream, since, force=full_refresh or capture_all):
            batcher.take(mapped)
            if batcher.newest is not None and (newest is None or batcher.newest > newest):
                newest = batcher.newest
            self._renew(source, stream.name)
            if self.progress:
                self.progress(source, stream.name, result.read)
        batcher.finish()
        if not incremental:  # every live key passed by in a complete read: deletes come for free
            self._delete_missing(source, stream, batcher.seen, result)
        if newest is not None and newest > ceiling:
            # Rows stamped ahead are read again, run after run, until their time has come.
            ahead = newest - (ceiling + self.policy.clock_skew)
            if ahead > dt.timedelta(0):
                log.warning(
                    "stream.stamps_ahead", source=source, stream=stream.name, ahead_seconds=int(ahead.total_seconds())
                )
            newest = ceiling
        return newest

    def _mapped(
        self, adapter: Adapter, stream: Stream, since: dt.datetime | None, *, force: bool
    ) -> Iterator[list[Mapped]]:
        """Mapped chunks: from worker processes for a large full read, else read ahead in a thread."""
        workers = self.policy.workers
        if workers > 1 and since is None and stream.partitionable and portable(adapter):
            items = stream.count()
            if items is not None and items >= self.policy.parallel_min_items:
                log.info("stream.parallel_read", source=adapter.context.name, stream=stream.name, workers=workers)
                return mapped_in_workers(adapter, stream.name, since, workers, self.policy.implausible)
        chunks = prefetched(stream.read(since))
        source = adapter.context.name
        if has_versions(stream) and not force and self.state.has_hashes(source, stream.name):
            return (
                map_items(
                    stream,
                    chunk,
                    self.state.versions(source, stream.name, [stream.key(i) for i in chunk]),
                    self.policy.implausible,
                )
                for chunk in chunks
            )
        return (map_items(stream, chunk, implausible=self.policy.implausible) for chunk in chunks)

    def _batcher(
        self, source: str, stream: Stream, result: RunResult, *, force: bool, facts: bool = False,
        capture_all: bool = False
    ) -> _Batcher:
        return _Batcher(self, source, stream, result, force=force, facts=facts, capture_all=capture_all)

    def _delete_missing(self, source: str, stream: Stream, live: KeySet, result: RunResult) -> None:
        envelopes = _Envelopes(source, stream.name)
        write = BatchWrite(source, stream.name)
        for key in self.state.known_keys(source, stream.name):
            if key in live:
                continue
            write.lines.append(envelopes.line(key, None))
            write.dropped_hashes.append(key)
            if stream.name in CONSUMERS:
                write.facts[key] = None
            if len(write.lines) >= self.policy.batch_size:
                result.deleted += len(write.lines)
                self.commit_and_push(write, result)
                write = BatchWrite(source, stream.name)
        if write.lines:
            result.deleted += len(write.lines)
            self.commit_and_push(write, result)
        if stream.name in CONSUMERS:  # facts of records the receiver no longer holds (rejected, then deleted)
            write = BatchWrite(source, stream.name)
            for key in self.state.fact_keys(source, stream.name):
                if key not in live:
                    write.facts[key] = None
            if write:
                self.commit_and_push(write, result)

    # -- outbox and sink -------------------------------------------------------------------
    def commit_and_push(self, write: BatchWrite, result: RunResult) -> None:
        if self._pusher is not None:  # the batch before this one must be through first: one in flight at most
            self._pusher.wait()
        if write.lines:
            write.batch_id = str(uuid.uuid4())
        write.created_at = dt.datetime.now(dt.UTC)
        outbox_id = self.state.commit(write)
        if outbox_id is None:
            return
        batch = Batch(
            id=write.batch_id or "",
            source=write.source,
            stream=write.stream,
            records=len(write.lines),
            payload=b"".join(write.lines),
            created_at=write.created_at,
            files=tuple(write.files.values()),
        )
        if self._pusher is not None:
            self._pusher.hand(outbox_id, batch)
        else:
            self._push(outbox_id, batch, result)

    def _push_pending(self, source: str, stream: str, result: RunResult) -> None:
        for pending in self.state.pending(source, stream):
            log.info("outbox.resend", source=source, stream=stream, batch_id=pending.batch_id, records=pending.records)
            self._push(pending.id, _batch(pending), result)

    def _push(self, outbox_id: int, batch: Batch, result: RunResult) -> None:
        self._renew(batch.source, batch.stream)  # a push may retry for many minutes: the lease must outlive it
        try:
            ack = self.sink.push(batch)
        except SinkError as exc:
            if exc.permanent and exc.about_batch and self.policy.on_sink_failure == "dead_letter":
                rejected = [(env["key"], str(exc), line.decode()) for env, line in _envelopes(batch)]
                self.state.acknowledge(outbox_id, rejected, status="failed", forget_hashes=False)
                result.dead_lettered += batch.records
                log.error("sink.batch_dead_lettered", source=batch.source, stream=batch.stream, batch_id=batch.id)
                return
            self.state.attempt_failed(outbox_id, str(exc))
            raise
        rejected = [(key, reason, _line_for(batch, key)) for key, reason in ack.rejected.items()]
        self.state.acknowledge(outbox_id, rejected)
        result.batches += 1
        result.pushed += batch.records - len(rejected)
        if rejected:
            result.dead_lettered += len(rejected)
            log.warning(
                "sink.rejected", source=batch.source, stream=batch.stream, batch_id=batch.id, count=len(rejected)
            )
            if self.policy.on_sink_reject == "stop":
                raise StopRun(f"the sink rejected {len(rejected)} record(s) of batch {batch.id}; see dead-letters")


class _Pusher:
    """A thread that pushes each committed batch while the engine reads and maps the next one.

    One batch in flight at most: the engine waits for it to be acknowledged before it commits the next, so the
    outbox holds what it held before (after a failed push, that batch alone, pending for the next run) and memory
    stays flat. A failed push is raised in the engine's thread at its next commit or at close."""

    def __init__(self, engine: Engine, result: RunResult) -> None:
        self.engine = engine
        self.result = result
        self.mine = RunResult(result.source, result.stream)  # the pusher's counts, merged into result at close
        self.handoff: queue.Queue[tuple[int, Batch] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="dealersync-pusher", daemon=True)
        self.thread.start()

    def hand(self, outbox_id: int, batch: Batch) -> None:
        self.handoff.put((outbox_id, batch))

    def wait(self) -> None:
        """Until the batch in flight is acknowledged; its failure is raised here."""
        self.handoff.join()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        while True:
            item = self.handoff.get()
            try:
                if item is None:
                    return
                self.engine._push(*item, self.mine)
            except BaseException as exc:  # raised in the engine's thread
                self.error = exc
            finally:
                self.handoff.task_done()

    def close(self, *, raise_error: bool) -> None:
        if self.error is None:
            self.handoff.join()
        self.handoff.put(None)
        self.thread.join()
        self.result.batches += self.mine.batches
        self.result.pushed += self.mine.pushed
        self.result.dead_lettered += self.mine.dead_lettered
        if raise_error and self.error is not None:
            raise self.error


def park_batch(state: StateStore, batch_id: str) -> int:
    """Move a pending batch's records to dead letters, so a batch the sink will never take stops
    blocking its stream (`on_sink_failure: stop`). Returns the number of records moved."""
    pending = state.pending_batch(batch_id)
    if pending is None:
        raise ValueError(f"no pending outbox batch {batch_id!r} (see `dealersync outbox`)")
    batch = _batch(pending)
    reason = "parked by an operator: the sink refused this batch"
    rejected = [(env["key"], reason, line.decode()) for env, line in _envelopes(batch)]
    state.acknowledge(pending.id, rejected, status="failed", forget_hashes=False)
    log.warning("outbox.parked", source=batch.source, stream=batch.stream, batch_id=batch.id, records=len(rejected))
    return len(rejected)


def _batch(pending: PendingBatch) -> Batch:
    return Batch(
        pending.batch_id, pending.source, pending.stream, pending.records, pending.payload, pending.created_at,
        pending.files,
    )  # fmt: skip


class _Batcher:
    """Turns raw items into envelope lines, skipping unchanged records, and flushes full batches."""

    def __init__(
        self,
        engine: Engine,
        source: str,
        stream: Stream,
        result: RunResult,
        *,
        force: bool,
        facts: bool = False,
        capture_all: bool = False,
    ) -> None:
        self.engine = engine
        # KPI facts of the records sent (engine/kpis.py); with capture_all, of the unchanged ones too.
        self.facts = stream.name if facts else None
        self.capture_all = capture_all
        self.source = source
        self.stream = stream
        self.result = result
        self.force = force
        self.seen = KeySet()  # the keys this read gave: a complete read's live keys, and twins found
        self.newest: dt.datetime | None = None
        self.envelopes = _Envelopes(source, stream.name)
        self.open_dead = engine.state.open_dead_letter_keys(source, stream.name)
        # Keys whose only open dead letters are the mapping's: a row read unchanged again settles them (one the
        # sink refused, in a parked batch, stays open: the receiver never took it).
        self.unsent = engine.state.open_dead_letter_keys(source, stream.name, "sink")  # the receiver refused them
        self.settleable = self.open_dead - self.unsent
        self.settled: set[str] = set()
        self.twin_keys: set[str] = set()
        self.any_hashes = engine.state.has_hashes(source, stream.name)
        self.write = BatchWrite(source, stream.name)
        self.bytes = 0

    def add(self, chunk: Iterable[Any]) -> None:
        self.take(map_items(self.stream, chunk, implausible=self.engine.policy.implausible))

    def take(self, mapped: Sequence[Mapped]) -> None:
        """Book mapped items: unchanged ones are counted, the rest go into the current batch."""
        result, policy = self.result, self.engine.policy
        twins: list[Mapped] = []
        firsts: list[Mapped] = []
        for m in mapped:
            result.read += 1
            if m.cursor is not None and (self.newest is None or m.cursor > self.newest):
                self.newest = m.cursor
            # Every keyed row, a deleted or excluded one too: a later row with its key is a twin, never a second
            # "first" that would undo (or be undone by) the delete it sent. A complete read's deletes of rows it
            # read as deleted are sent here, so _delete_missing only finds the keys no row gave.
            if not self.seen.add(m.key):
                twins.append(m)
                continue
            firsts.append(m)
            if m.error is not None:
                self._dead_letter(m.key, m.error, m.raw)
        # A stream with no stored hashes yet (its first sync) needs no look-ups.
        stored = (
            self.engine.state.stored(
                self.source, self.stream.name, [m.key for m in firsts if m.error is None and not m.same_version]
            )
            if self.any_hashes
            else {}
        )
        for m in firsts:
            if m.same_version:  # not mapped: whether the record is valid now is unknown, so it settles nothing
                result.unchanged += 1
                continue
            if m.error is not None:
                continue
            key, data, digest = m.key, m.data, m.digest
            old, old_version = stored.get(key, (None, None))
            if m.version is not None and data is not None and m.version != old_version:
                self.write.versions[key] = m.version
            if data is None:  # deleted at the source, or left out of the feed by a named rule
                self._settle(key)  # a row gone or left out on purpose is no longer a row to mend
                if m.excluded is not None:
                    result.excluded[m.excluded] = result.excluded.get(m.excluded, 0) + 1
                elif old is None:
                    result.unchanged += 1
                # A fact to drop: the record's, sent before, or one the receiver rejected (its hash is gone). A row
                # always left out (a purchase invoice) has none, and costs no look-up on every read.
                if self.facts and (old is not None or key in self.unsent):
                    self.write.facts[key] = None
                if old is None:
                    self._flush_facts()
                    continue
                self.write.dropped_hashes.append(key)  # sent before: the feed drops it
                line = self.envelopes.line(key, None)
                if m.excluded is None:
                    result.deleted += 1
            elif digest == old and not self.force:
                result.unchanged += 1
                self._settle(key)
                if self.capture_all and self.facts and key not in self.unsent:
                    self.write.facts[key] = fact_of(self.facts, data)
                    self._flush_facts()
                continue
            else:
                if m.flagged:
                    result.flagged += 1
                if old is None:
                    self.write.new_hashes[key] = digest  # type: ignore[assignment]
                else:
                    self.write.changed_hashes[key] = digest  # type: ignore[assignment]
                if key in self.open_dead:
                    self.write.resolved_keys.append(key)
                if self.facts:
                    self.write.facts[key] = fact_of(self.facts, data)
                if m.attachment is not None:
                    self.write.files[m.attachment.sha256] = m.attachment
                    self.bytes += len(m.attachment.data)
                line = self.envelopes.line(key, data)
            self.write.lines.append(line)
            self.bytes += len(line)
            if len(self.write.lines) >= policy.batch_size or self.bytes >= policy.max_batch_bytes:
                self.flush()
        if twins:
            here = {m.key: (_ERROR if m.error is not None else m.digest) for m in firsts if not m.same_version}
            self._twins(twins, here)

    def _flush_facts(self) -> None:
        """Facts without lines (a catch-up's unchanged records, rows deleted before they were sent) are written in
        batches too, not held to the end of the read in one transaction."""
        if len(self.write.facts) >= self.engine.policy.batch_size:
            self.flush()

    def _dead_letter(self, key: str, reason: str, raw: str | None) -> None:
        if self.engine.policy.on_record_error == "stop":
            raise StopRun(f"record {key} of {self.stream.name} is invalid: {reason}")
        self.write.dead_letters.append((key, "map", reason, raw or "{}"))
        self.result.dead_lettered += 1

    def _twins(self, twins: Sequence[Mapped], here: Mapping[str, object]) -> None:
        """Rows of this read with a key an earlier row of it gave. Two ERP rows that map to one record (a
        duplicate code, a join that repeats a row) must not have the later replace the earlier at the receiver
        unseen: the first is taken, and a later one is a dead letter unless it is the very same record (the same
        digest; None for two deleted or excluded rows). `here` holds what this chunk's first rows became (a
        digest, None, or _ERROR); the first rows of earlier chunks, and unmapped ones, are in the batch or state."""
        w = self.write
        stored = self.engine.state.stored(self.source, self.stream.name, [m.key for m in twins])
        for m in twins:
            if m.key in here:
                first = here[m.key]
            elif m.key in w.new_hashes or m.key in w.changed_hashes:
                first = w.new_hashes.get(m.key) or w.changed_hashes.get(m.key)
            elif m.key in w.dropped_hashes:
                first = None
            else:
                first = stored.get(m.key, (None, None))[0]
            if first is _ERROR:  # the first row is a dead letter already: it keeps its own reason and raw row
                self.result.dead_lettered += 1
                continue
            mine = stored.get(m.key, (None, None))[0] if m.same_version else m.digest
            if m.error is None and mine == first:
                self.result.unchanged += 1
                continue
            self.twin_keys.add(m.key)
            evidence = m.raw or (m.data.decode("utf-8", "replace") if m.data is not None else None)
            self._dead_letter(m.key, m.error or _TWIN, evidence)

    def _settle(self, key: str) -> None:
        """A key with an open mapping dead letter whose row now reads as it was sent, or as deleted or left out on
        purpose: nothing is left to mend. Settled when the read ends, unless a twin of the key turned up (its dead
        letter then stays open)."""
        if key in self.settleable:
            self.settled.add(key)

    def finish(self) -> None:
        """The read is over: settle what it found right again, and write the last batch."""
        self.write.resolved_keys.extend(sorted(self.settled - self.twin_keys))
        self.settled.clear()
        self.flush()

    def flush(self) -> None:
        if self.write:
            write, self.write = self.write, BatchWrite(self.source, self.stream.name)
            self.bytes = 0
            self.any_hashes = self.any_hashes or bool(write.new_hashes)  # later chunks may repeat a key
            self.engine.commit_and_push(write, self.result)


_ERROR = object()  # what a first row that failed mapping became, for its twins
_TWIN = (
    "another row of this read gave the same key: the source holds two rows that map to one record (a duplicate"
    " code or reference); the first was taken and this one is held back (kept here as the record it would be)"
)
_DONE = object()


def prefetched(chunks: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Iterate `chunks` in a reader thread, `depth` chunks ahead.

    Database drivers release the GIL while the server (or SQLite) works, so the next
    chunk is read while this one is mapped and pushed. The bounded queue keeps memory
    flat; an error in the reader is raised here, and closing this generator stops it.
    """
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        handoff.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            handoff.put(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="dealersync-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
            with contextlib.suppress(queue.Empty):
                handoff.get_nowait()
            reader.join(0.05)


def _dead_local_owner(owner: str) -> bool:
    """True when a lease owner ("host:pid:nonce") is a process of this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if os.name == "nt":
        return False  # os.kill(pid, 0) terminates the process on Windows: wait for the lease to expire
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False


def _envelopes(batch: Batch) -> Iterable[tuple[dict[str, Any], bytes]]:
    for line in batch.payload.splitlines(keepends=True):
        if line.strip():
            yield msgspec.json.decode(line), line


def _line_for(batch: Batch, key: str) -> str:
    for envelope, line in _envelopes(batch):
        if envelope.get("key") == key:
            return line.decode()
    return json.dumps({"key": key})


def _describe(exc: BaseException) -> str:
    # The engine's own stops and the sink's errors are sentences already; anything else says its type.
    return first_line(exc) if isinstance(exc, StopRun | SinkError) else describe(exc)


def _summary(result: RunResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "stream": result.stream,
        "status": result.status,
        **result.counts(),
        "excluded": result.excluded,
        "batches": result.batches,
        "cursor": result.cursor.isoformat() if result.cursor else None,
        "seconds": round(result.seconds, 3),
        "error": result.error,
    }
