"""A large full read spread over worker processes, one key partition each.

Workers only read and map: the hashes, the outbox, the sink and the cursor stay with the engine's
process, so parallel reads change nothing about what is delivered or when.

Workers end with the process that started them, even when it is killed with SIGKILL and never runs
its cleanup: each holds an ERP connection, and an orphan blocked on a queue nobody reads would keep
it (and multiprocessing's resource tracker, which lives while any of them holds its pipe) for good.
On Linux the kernel sends the worker SIGKILL when its parent ends (PR_SET_PDEATHSIG, armed before
the worker connects; strictly, when the thread that started it ends: mapped_in_workers starts and
joins its workers in the one thread that iterates it). Elsewhere (Windows, macOS) a thread of the
worker waits on the parent's sentinel (the parent's process handle on Windows, a pipe the parent
holds on POSIX) and ends the worker when it fires, as soon as the worker's own code lets a thread
run (drivers release the GIL while they wait on the network).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from connectors.base import Adapter, Partition, SourceContext
from engine.items import Mapped, describe, map_items
from mapping.plausibility import ImplausiblePolicy

__all__ = ["mapped_in_workers", "portable"]


def mapped_in_workers(
    adapter: Adapter,
    stream: str,
    since: dt.datetime | None,
    workers: int,
    implausible: ImplausiblePolicy = "flag",
) -> Iterator[list[Mapped]]:
    """Read and map a stream in `workers` processes, one key partition each; chunks in arrival order.

    Workers only read and map: the hashes, the outbox, the sink and the cursor stay with
    this process, so parallel reads change nothing about what is delivered or when.
    """
    context = multiprocessing.get_context("spawn")  # fork would copy open connections and threads
    results = context.Queue(maxsize=workers * 2)
    processes = [
        context.Process(
            target=_map_partition,
            args=(
                type(adapter),
                adapter.context,
                adapter.settings,
                stream,
                since,
                Partition(i, workers),
                results,
                implausible,
            ),
            name=f"dealersync-{stream}-{i}",
            daemon=True,
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        finished = 0
        while finished < workers:
            try:
                kind, payload = results.get(timeout=5)
            except queue.Empty:
                dead = [p.name for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"reader process {dead[0]} died") from None
                continue
            if kind == "done":
                finished += 1
            elif kind == "error":
                raise RuntimeError(payload)
            else:
                yield payload
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(10)
        results.close()


def _map_partition(
    adapter_class: type[Adapter],
    context: SourceContext,
    settings: Any,
    stream_name: str,
    since: dt.datetime | None,
    partition: Partition,
    results: Any,
    implausible: ImplausiblePolicy,
) -> None:
    try:
        _end_with_parent()
        with adapter_class(context, settings) as adapter:
            stream = adapter.stream(stream_name)
            for chunk in stream.read(since, partition):
                results.put(("chunk", map_items(stream, chunk, implausible=implausible)))
        results.put(("done", partition.index))
    except BaseException as exc:  # reported to the parent, which fails the run with it
        results.put(("error", describe(exc)))


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _end_with_parent() -> None:
    """Make this worker end when the process that started it ends, however it ends."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return  # not a worker (called in the main process)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent.pid:
            os._exit(1)  # the parent ended before the signal was armed: nobody reads what we would send
        return
    watch_parent(parent.sentinel)


def watch_parent(sentinel: Any) -> None:
    """End this process (at once, no cleanup: it owns nothing durable) when `sentinel` says the parent ended."""

    def wait() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=wait, name="dealersync-parent-watch", daemon=True).start()


def portable(adapter: Adapter) -> bool:
    """Whether a worker process can rebuild this adapter from its class, context and settings."""
    try:
        pickle.dumps((type(adapter), adapter.context, adapter.settings))
    except Exception:
        return False
    return True
