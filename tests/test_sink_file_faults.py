"""File sink crash consistency: a failure at any write step, then a resend in the same process (as `run` does).

Every step the sink takes on the disk (create a temp file, write it, fsync it, rename it, fsync the folder) is
made to fail in turn with ENOSPC. The batch that met the failure is pushed again by the same FileSink, like the
engine resending from its outbox, and then a reader that follows the manifests must find every acknowledged
record exactly once, in files whose content and rename were both made durable (fsync'd before the ack).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mapping.schema import Envelope, encode
from sinks.base import Batch, SinkError
from sinks.file import FileSink, FileSinkSettings

CREATED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
# Two streams, a resend of an acknowledged batch, and a batch that rewrites a manifest with several entries.
PLAN = [("accounts", "a1"), ("invoices", "i1"), ("accounts", "a2"), ("accounts", "a1"), ("invoices", "i2")]


def batch(stream: str, batch_id: str) -> Batch:
    lines = [
        encode(Envelope(stream=stream, source="logo", key=f"{batch_id}-{i}", op="delete")) + b"\n" for i in range(4)
    ]
    return Batch(batch_id, "logo", stream, len(lines), b"".join(lines), CREATED)


class Disk:
    """Wraps the os calls the sink writes with; fails the `fail_at`-th step once; tracks what is durable.

    Durable means what survives a power cut: a file's content was fsync'd before its rename, and its folder
    was fsync'd after the rename (Linux: /proc/self/fd tells which path an fsync'd descriptor is).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.steps = 0
        self.synced: set[str] = set()  # temp files whose content was fsync'd
        self.renamed: dict[str, bool] = {}  # target -> its content was synced when it was renamed into place
        self.durable: set[str] = set()
        real_mkstemp, real_fdopen, real_fsync, real_replace = tempfile.mkstemp, os.fdopen, os.fsync, os.replace
        disk = self

        def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
            self.step("create")
            return real_mkstemp(*args, **kwargs)

        class Handle:
            def __init__(self, handle: Any) -> None:
                self.handle = handle

            def write(self, data: bytes) -> int:
                disk.step("write")
                return self.handle.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(self.handle, name)

            def __enter__(self) -> Handle:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Handle:
            return Handle(real_fdopen(fd, *args, **kwargs))

        def fsync(fd: int) -> None:
            path = os.readlink(f"/proc/self/fd/{fd}")
            self.step("fsync")
            real_fsync(fd)
            if os.path.isdir(path):
                self.durable |= {t for t, synced in self.renamed.items() if synced and os.path.dirname(t) == path}
            else:
                self.synced.add(path)

        def replace(src: Any, dst: Any) -> None:
            self.step("rename")
            real_replace(src, dst)
            target = os.path.realpath(dst)
            self.renamed[target] = os.path.realpath(src) in self.synced
            self.durable.discard(target)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "fdopen", fdopen)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)

    def step(self, what: str) -> None:
        self.steps += 1
        if self.steps == self.fail_at:
            raise OSError(errno.ENOSPC, f"No space left on device (injected at step {self.steps}: {what})")


def push_until_acknowledged(sink: FileSink) -> Iterator[Batch]:
    for stream, batch_id in PLAN:
        b = batch(stream, batch_id)
        try:
            sink.push(b)
        except SinkError:
            sink.push(b)  # the engine's resend from the outbox, same process, same sink
        yield b


def read_feed(root: Path, disk: Disk) -> Counter[str]:
    """Every record a reader following the manifests finds, checked against each entry's sha256 and durability."""
    found: Counter[str] = Counter()
    index_path = root / "manifest.json"
    assert str(index_path.resolve()) in disk.durable
    for relative in json.loads(index_path.read_text())["streams"].values():
        manifest_path = root / relative
        assert str(manifest_path.resolve()) in disk.durable, f"{relative} is not durable"
        for entry in json.loads(manifest_path.read_text())["files"]:
            path = manifest_path.parent / entry["file"]
            assert str(path.resolve()) in disk.durable, f"{entry['file']} is listed but not durable"
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            found.update(json.loads(line)["key"] for line in data.splitlines())
    return found


def count_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    with monkeypatch.context() as patch:
        disk = Disk(patch, fail_at=None)
        list(push_until_acknowledged(FileSink(FileSinkSettings(kind="file", path=tmp_path / "dry"))))
    return disk.steps


def test_a_failure_at_any_write_step_is_mended_by_the_resend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = count_steps(tmp_path, monkeypatch)
    assert steps >= 5 * 10  # index, data and manifest writes, each create/write/fsync/rename/fsync-folder
    failures = []
    for fail_at in range(1, steps + 1):
        root = tmp_path / f"feed-{fail_at}"
        with monkeypatch.context() as patch:
            disk = Disk(patch, fail_at)
            acknowledged = list(push_until_acknowledged(FileSink(FileSinkSettings(kind="file", path=root))))
        expected = Counter(f"{b.id}-{i}" for b in {b.id: b for b in acknowledged}.values() for i in range(b.records))
        try:
            found = read_feed(root, disk)
        except AssertionError as exc:
            failures.append(f"step {fail_at}: {exc}")
            continue
        if found != expected:
            failures.append(
                f"step {fail_at}: missing {sorted(expected - found)[:3]}, extra {sorted(found - expected)[:3]}"
            )
    assert failures == [], "\n".join(failures)


def test_run_resending_in_the_same_process_lists_every_acknowledged_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding as `dealersync run` met it: the disk fills while a manifest is written, the stream fails, the
    next scheduled run of the same process resends the batch from the outbox; the feed must then list it."""
    from sqlalchemy import create_engine

    from connectors.base import SourceContext
    from connectors.logo import LogoAdapter, LogoSettings
    from connectors.logo.writer import LogoWriter
    from engine.state import StateStore
    from engine.sync import Engine, Policy
    from scenario.generate import build

    db = tmp_path / "logo.db"
    writer = LogoWriter(create_engine(f"sqlite:///{db}"), firm=1, period=1)
    writer.create_tables()
    writer.write(build(invoice_lines=300))
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    root = tmp_path / "feed"
    engine = Engine(state, FileSink(FileSinkSettings(kind="file", path=root, fsync=False)), Policy(batch_size=25))
    real_replace = os.replace
    manifest_writes = 0

    def disk_full_on_every_fourth_manifest(src: Any, dst: Any) -> None:
        nonlocal manifest_writes
        if os.path.basename(dst) == "manifest.json":
            manifest_writes += 1
            if manifest_writes % 4 == 0:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    settings = LogoSettings(url=f"sqlite:///{db}", firm=1, periods=[1], discount_view="DEALERSYNC_DISCOUNTS")
    with LogoAdapter(SourceContext("logo", dt.UTC, 100), settings) as source:
        with monkeypatch.context() as patch:
            patch.setattr(os, "replace", disk_full_on_every_fourth_manifest)
            first = engine.sync(source)
        assert any(r.status == "error" for r in first)
        second = engine.sync(source)
    assert [r.status for r in second] == ["ok"] * len(second), [r.error for r in second]
    assert sum(s.pending_batches for s in state.status()) == 0

    listed: Counter[tuple[str, str]] = Counter()
    for relative in json.loads((root / "manifest.json").read_text())["streams"].values():
        manifest = root / relative
        for entry in json.loads(manifest.read_text())["files"]:
            for line in (manifest.parent / entry["file"]).read_bytes().splitlines():
                envelope = json.loads(line)
                listed[(envelope["stream"], envelope["key"])] += 1
    sent = Counter((s.stream, key) for s in state.status() for key in state.known_keys("logo", s.stream))
    assert listed == sent
