"""Shared helpers of the no-change tests (tests/test_*_nochange.py): what the feed holds after the syncs so far,
what a complete read of the source gives now, and counters of a stream's maps and sums."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest

from connectors.base import Excluded, Stream
from mapping.errors import RecordError
from mapping.schema import encode
from tests.reconcile import Feed


def held(feed: Feed, stream: str) -> dict[str, Any]:
    """The feed's records of a stream as a receiver holds them: every batch so far folded by key (a delete drops
    the key), without the fields that change on every read."""
    out: dict[str, Any] = {}
    for name in feed._files(stream):
        for line in (feed.path / stream / name).read_bytes().splitlines():
            envelope = msgspec.json.decode(line)
            if envelope["op"] == "delete":
                out.pop(envelope["key"], None)
            else:
                out[envelope["key"]] = _stable(envelope["data"])
    return out


def complete(stream: Stream) -> dict[str, Any]:
    """The records a complete read of the source gives now, as the feed would hold them (items left out on
    purpose, deleted or invalid are not records)."""
    out: dict[str, Any] = {}
    for chunk in stream.read(None):
        for item in chunk:
            try:
                record = stream.map(item)
            except RecordError:
                continue
            if record is not None and not isinstance(record, Excluded):
                out[stream.key(item)] = _stable(msgspec.json.decode(encode(record)))
    return out


def _stable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "as_of"}


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """Keys added, dropped or whose record differs."""
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch, cls: type, *names: str) -> Iterator[dict[str, int]]:
    """Counts the calls of some methods of a class (a stream's map, its sums) while the block runs."""
    calls = dict.fromkeys(names, 0)
    with monkeypatch.context() as patch:
        for name in names:
            patch.setattr(cls, name, _counted(getattr(cls, name), name, calls))
        yield calls


def _counted(method: Callable[..., Any], name: str, calls: dict[str, int]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    return call
