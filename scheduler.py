"""The long-running service (`dealersync run`): syncs every source's streams on their schedules.

Jobs: one per (source, schedule) group of streams, plus a reconcile job per source when
configured. `build_jobs` is pure, so the schedule a config produces can be tested without waiting.

Concurrency: APScheduler runs each job with max_instances=1 and coalesce=True (a late job runs
once, not once per missed tick). All jobs of one source also share a lock, because they share one
adapter (one ERP connection pool) and because the reconcile job covers streams the regular jobs
sync: two runs of the same stream never overlap in this process. Across processes the engine's
lease in the state database does the same.

Stopping (SIGTERM, Ctrl-C, or `stop_event`): no new runs start; running ones get `grace` seconds
to finish, then are abandoned at the next chunk boundary. Abandoning is safe: batches are in the
outbox before they are pushed and the cursor only moves once every batch is durable, so the next
start resends and re-reads what was cut off. A second signal abandons at once.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog

from mapping.schema import STREAMS

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from dealersync.config import Config, Schedule
    from engine.state import StateStore
    from sinks.base import Sink

__all__ = ["JobSpec", "Stopping", "build_jobs", "refuse_blind_resend", "run"]

log = structlog.get_logger("dealersync.scheduler")

DEFAULT_GRACE = 10.0  # seconds a running stream gets to finish after a stop request


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: which streams of which source, when, and whether it reconciles deletes."""

    id: str
    source: str
    streams: tuple[str, ...]
    schedule: Schedule
    timezone: str
    reconcile: bool = False
    run_at_start: bool = True

    def trigger(self) -> BaseTrigger:
        from apscheduler.triggers.interval import IntervalTrigger

        from dealersync.config import cron_trigger

        if self.schedule.cron is not None:
            return cron_trigger(self.schedule.cron, self.timezone)
        assert self.schedule.interval is not None  # Schedule guarantees one of the two
        return IntervalTrigger(seconds=self.schedule.interval.total_seconds(), timezone=self.timezone)

    @property
    def misfire_grace_time(self) -> int:
        """How late a run may start and still run: half an interval (30s to 1h), or an hour for cron."""
        if self.schedule.interval is None:
            return 3600
        return int(min(max(self.schedule.interval.total_seconds() / 2, 30), 3600))


def build_jobs(config: Config, available: Mapping[str, Sequence[str]] | None = None) -> list[JobSpec]:
    """The jobs a config asks for. `available` maps a source to its adapter's streams (default: all eight)."""
    jobs: list[JobSpec] = []
    for source in config.sources:
        names = [n for n in (available or {}).get(source.name, list(STREAMS)) if source.enabled(n)]
        groups: dict[Schedule, list[str]] = {}
        for name in names:
            groups.setdefault(source.schedule_for(name), []).append(name)
        for schedule, streams in groups.items():
            overridden = schedule != source.schedule
            label = "+".join(streams) if overridden else "default"
            jobs.append(JobSpec(f"{source.name}/{label}", source.name, tuple(streams), schedule, source.timezone))
        if source.reconcile is not None and names:
            jobs.append(
                JobSpec(
                    f"{source.name}/reconcile",
                    source.name,
                    tuple(names),
                    source.reconcile,
                    source.timezone,
                    reconcile=True,
                    run_at_start=False,  # a key-set scan is heavy: only on its own schedule
                )
            )
    return jobs


def refuse_blind_resend(state: StateStore, sink: Sink, plan: Iterable[tuple[str, Sequence[str]]]) -> None:
    """Refuse to sync when the state store has no record of streams whose batches the sink already holds.

    That store was lost or replaced (a new or an empty file): the sync would send the whole history again
    under new batch ids, and a reader of a file feed would find every record twice. Restoring the store
    mends it; `sync --full-refresh` is how the operator says the resend is wanted. `plan`: (source, the
    streams about to sync). When the sink cannot tell (a loyalty core without the checkpoint endpoint)
    the sync goes on with a warning: the first sync of every new install looks just the same, and the
    core's upserts by key take a resend without changing what it holds.
    """
    from engine.state import StateError

    for source, streams in plan:
        untracked = state.untracked(source, streams)
        if not untracked:
            continue
        holdings = sink.holdings(source)
        if holdings is None:
            log.warning(
                "state.unverified",
                source=source,
                streams=untracked,
                reason="the state store has no record of these streams and the sink cannot tell whether it already "
                "holds their batches; if the state store was lost, they are sent again in full",
            )
            continue
        held = holdings.holding(untracked)
        if held and holdings.newest is not None:
            when = holdings.newest.astimezone(dt.UTC)
            raise StateError(
                f"source {source}: the state store {state.where} has no record of {', '.join(held)}, but the sink "
                f"already holds their batches (the newest from {when:%Y-%m-%d %H:%M} UTC): the state store was lost "
                "or replaced (a new or empty file?). Restore it from its backup; or, to send every record again "
                f"under new batch ids, run `dealersync sync -s {source} --full-refresh` once"
            )


class Stopping(Exception):
    """Raised from the engine's progress callback to abandon a run at a chunk boundary."""


class _Service:
    """The live parts of a running scheduler: state store, sink, adapters, locks, counters."""

    def __init__(self, config: Config) -> None:
        from engine.state import StateStore
        from sinks import build_sink

        self.config = config
        self.policy = config.engine.policy()
        self.state = StateStore(config.state.url)
        self.state.create()
        self.sink = build_sink(config.sink)
        self.adapters = {source.name: source.build_adapter() for source in config.sources}
        self.locks = {source.name: threading.Lock() for source in config.sources}
        self.stopping = threading.Event()  # no new runs
        self.abandon = threading.Event()  # cut running ones at the next chunk
        self._active = 0
        self._idle = threading.Condition()

    def available(self) -> dict[str, list[str]]:
        from engine.derived import stream_names

        return {name: stream_names(adapter) for name, adapter in self.adapters.items()}

    def _progress(self, _source: str, _stream: str, _read: int) -> None:
        if self.abandon.is_set():
            raise Stopping("abandoned for shutdown; the next run resumes from the last durable cursor")

    @contextmanager
    def _counted(self) -> Iterator[None]:
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout=timeout)

    def run_job(self, job: JobSpec) -> None:
        from engine.state import StateError
        from engine.sync import Engine

        with self._counted(), self.locks[job.source]:
            if self.stopping.is_set():  # checked inside the count, so close() never races a starting job
                return
            engine = Engine(self.state, self.sink, self.policy, progress=self._progress)
            adapter = self.adapters[job.source]
            started = time.monotonic()
            for stream in job.streams:  # one at a time, so a stop request takes effect between streams
                if self.stopping.is_set():
                    log.info("job.stopped_early", job=job.id, remaining_from=stream)
                    break
                try:
                    # The engine logs each run (stream.done / stream.failed); this adds which job ran it.
                    with structlog.contextvars.bound_contextvars(job=job.id):
                        engine.sync(adapter, [stream], reconcile=job.reconcile)
                except StateError as exc:
                    # Its message says what to do; the job's next run tries again (the lease and the outbox
                    # keep that safe). The other streams would only meet the same store.
                    log.error("job.failed", job=job.id, stream=stream, error=str(exc))
                    break
                except Exception as exc:  # a job must never kill the scheduler thread
                    log.error("job.failed", job=job.id, stream=stream, error=str(exc), exc_info=True)
                    continue
            log.debug("job.done", job=job.id, seconds=round(time.monotonic() - started, 3))

    def close(self) -> None:
        for name, adapter in self.adapters.items():
            try:
                adapter.close()
            except Exception as exc:
                log.warning("adapter.close_failed", source=name, error=str(exc))
        for closer in (self.sink.close, self.state.close):
            try:
                closer()
            except Exception as exc:
                log.warning("close_failed", what=getattr(closer, "__qualname__", "?"), error=str(exc))


@contextmanager
def _signals(on_signal: Callable[[int], None]) -> Iterator[None]:
    """Route SIGTERM/SIGINT to `on_signal` while running (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum: int, _frame: FrameType | None) -> None:
        on_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def run(config: Config, *, stop_event: threading.Event | None = None, grace: float = DEFAULT_GRACE) -> None:
    """Run the scheduler until SIGTERM, SIGINT or `stop_event`; returns after a clean shutdown."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    stop_event = stop_event or threading.Event()
    service = _Service(config)
    try:
        available = service.available()
        streams = {s.name: [n for n in available[s.name] if s.enabled(n)] for s in config.sources}
        refuse_blind_resend(service.state, service.sink, streams.items())
    except BaseException:
        service.close()
        raise
    jobs = build_jobs(config, available)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(jobs)))},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    now = dt.datetime.now(dt.UTC)
    for job in jobs:
        # Without next_run_time APScheduler waits for the trigger's first tick; with it, the job runs now.
        first: dict[str, Any] = {"next_run_time": now} if job.run_at_start else {}
        scheduler.add_job(
            service.run_job,
            trigger=job.trigger(),
            args=[job],
            id=job.id,
            name=job.id,
            misfire_grace_time=job.misfire_grace_time,
            **first,
        )
        log.info(
            "job.scheduled", job=job.id, streams=list(job.streams), schedule=job.schedule.describe(), tz=job.timezone
        )

    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            service.abandon.set()  # second Ctrl-C: do not wait for the grace period
        stop_event.set()
        log.info("stop.requested", signal=signal.Signals(signum).name)

    with _signals(on_signal):
        scheduler.start()
        log.info("scheduler.started", jobs=len(jobs), sources=[s.name for s in config.sources])
        try:
            while not stop_event.wait(timeout=1.0):
                pass
        finally:
            service.stopping.set()
            scheduler.shutdown(wait=False)
            if not service.wait_idle(grace):
                log.warning("stop.abandoning", reason=f"runs still busy after {grace:g}s")
                service.abandon.set()
                service.wait_idle(60)
            service.close()
            log.info("scheduler.stopped")
