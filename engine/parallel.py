"""A large full read spread over worker processes, one key partition each.

Workers only read and map: the hashes, the outbox, the sink and the cursor stay with the engine's
process, so parallel reads change nothing about what is delivered or when.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import pickle
import queue
from collections.abc import Iterator
from typing import Any

from connectors.base import Adapter, Partition, SourceContext
from engine.items import Mapped, describe, map_items

__all__ = ["mapped_in_workers", "portable"]


def mapped_in_workers(adapter: Adapter, stream: str, since: dt.datetime | None, workers: int) -> Iterator[list[Mapped]]:
    """Read and map a stream in `workers` processes, one key partition each; chunks in arrival order.

    Workers only read and map: the hashes, the outbox, the sink and the cursor stay with
    this process, so parallel reads change nothing about what is delivered or when.
    """
    context = multiprocessing.get_context("spawn")  # fork would copy open connections and threads
    results = context.Queue(maxsize=workers * 2)
    processes = [
        context.Process(
            target=_map_partition,
            args=(type(adapter), adapter.context, adapter.settings, stream, since, Partition(i, workers), results),
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
) -> None:
    try:
        with adapter_class(context, settings) as adapter:
            stream = adapter.stream(stream_name)
            for chunk in stream.read(since, partition):
                results.put(("chunk", map_items(stream, chunk)))
        results.put(("done", partition.index))
    except BaseException as exc:  # reported to the parent, which fails the run with it
        results.put(("error", describe(exc)))


def portable(adapter: Adapter) -> bool:
    """Whether a worker process can rebuild this adapter from its class, context and settings."""
    try:
        pickle.dumps((type(adapter), adapter.context, adapter.settings))
    except Exception:
        return False
    return True
