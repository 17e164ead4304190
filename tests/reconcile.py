"""Syncs of one stream through the real engine into a file feed, and the envelopes each sync sent: for the tests
that prove an adapter's physical deletes reach the feed the way the product finds them (a reconcile reads the
whole stream, and a key sent before that it no longer sees goes out as `op: "delete"`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from connectors.base import Adapter
from engine.state import StateStore
from engine.sync import Engine, RunResult
from sinks.file import FileSink, FileSinkSettings


class Feed:
    """An engine with its state and its file feed in `folder`; each sync goes on from the one before."""

    def __init__(self, folder: Path) -> None:
        self.state = StateStore(f"sqlite:///{folder / 'state.db'}")
        self.state.create()
        self.path = folder / "feed"
        self.engine = Engine(self.state, FileSink(FileSinkSettings(kind="file", path=self.path, fsync=False)))

    def sync(self, adapter: Adapter, stream: str, *, reconcile: bool = False) -> tuple[RunResult, list[dict[str, Any]]]:
        """One sync of `stream`: its result and the envelopes it sent, in order."""
        before = len(self._files(stream))
        [result] = self.engine.sync(adapter, [stream], reconcile=reconcile)
        assert result.status == "ok", result.error
        # The manifest lists the stream's batch files in the order they were pushed: this sync's come last.
        sent = self._files(stream)[before:]
        lines = [line for name in sent for line in (self.path / stream / name).read_bytes().splitlines()]
        return result, [msgspec.json.decode(line) for line in lines]

    def _files(self, stream: str) -> list[str]:
        manifest = self.path / stream / "manifest.json"
        if not manifest.exists():
            return []
        return [entry["file"] for entry in msgspec.json.decode(manifest.read_bytes())["files"]]

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.close()
