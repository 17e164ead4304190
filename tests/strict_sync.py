"""A real sync of chosen streams to a file feed, for the tests that break ERP rows on purpose: what became a
dead letter (and why), and what the feed carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from connectors.base import Adapter
from engine.state import StateStore
from engine.sync import Engine, Policy, RunResult
from sinks.file import FileSink, FileSinkSettings


@dataclass
class Outcome:
    results: list[RunResult]
    dead: dict[tuple[str, str], str]  # (stream, key) -> reason of each open dead letter
    feed: dict[tuple[str, str], dict[str, Any] | None]  # (stream, key) -> the data the feed carries (None: deleted)


def sync(
    adapter: Adapter, folder: Path, *streams: str, reconcile: bool = False, policy: Policy | None = None
) -> Outcome:
    """Sync `streams` with the state and feed kept in `folder` (a second call goes on from the first)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    state.create()
    engine = Engine(state, FileSink(FileSinkSettings(kind="file", path=folder / "feed", fsync=False)), policy)
    results = engine.sync(adapter, list(streams), reconcile=reconcile)
    dead = {(d.stream, d.key): d.reason for d in state.dead_letters(limit=None)}
    feed: dict[tuple[str, str], dict[str, Any] | None] = {}
    for stream in streams:
        manifest = folder / "feed" / stream / "manifest.json"
        files = msgspec.json.decode(manifest.read_bytes())["files"] if manifest.exists() else []
        for entry in files:  # manifest order: a later entry carries newer data
            for line in (manifest.parent / entry["file"]).read_bytes().splitlines():
                envelope = msgspec.json.decode(line)
                feed[stream, envelope["key"]] = envelope["data"]
    state.engine.dispose()
    return Outcome(results, dead, feed)
