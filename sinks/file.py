"""A sink that drops each batch as an NDJSON file in a folder, for pickup by file transfer or a share.

Layout under `path`::

    manifest.json             index: {"format", "schema_version", "streams": {stream: "<stream>/manifest.json"}}
    <stream>/manifest.json    {"stream", "schema_version", "files": [{file, batch_id, source, records, bytes,
                                                                     sha256, created_at}]}
    <stream>/<YYYYMMDD>T<HHMMSS>-<source>-<batch id>.ndjson
    <stream>/files/<sha256>   the bytes a record names by its sha256 (product images), written before its batch

The data file name is derived only from the batch (its UTC `created_at`, source and id), so a
resend after a crash overwrites the same file instead of adding a duplicate; the manifest is
keyed by batch id, so a resend replaces its entry rather than appending a second one.

Why one manifest per stream plus a small index: a single manifest for everything would be
rewritten in full for every batch and grow without bound across all streams. Per stream, the
rewrite only covers that stream's files, and streams write in parallel without contending for
one file. The index changes only when a new stream appears. Each stream's manifest is loaded
once and kept in memory, so an update costs one serialisation, not a read-modify-write.

Every write is atomic: a temp file in the same folder, flush + fsync, os.replace, then an fsync
of the folder on POSIX so the rename itself survives a power cut. A reader therefore sees either
the old or the new version of a file, never half of one. The order is data file first, manifest
second: a crash in between leaves a file the manifest does not list yet (the resend finds it by
its "<source>-<batch id>" suffix, overwrites and lists it), never a manifest entry without its file.

A push returns (and the engine acknowledges the batch) only once its data file and its manifest entry are
durable. The in-memory manifest only ever holds what is on disk: after any failed step (temp file, write,
fsync, rename, folder fsync; disk full, say) the resend of the batch in the same process writes the file and
the manifest again, instead of finding its entry "already there" and skipping the write.

One FileSink (one process) owns a folder: locks are per process, not across processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from connectors.base import CheckResult
from mapping.schema import SCHEMA_VERSION
from sinks.base import Ack, Batch, Holdings, Sink, SinkError

__all__ = ["FileSink", "FileSinkSettings", "safe_component"]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "dealersync-file-sink/1"

# Streams become folder names next to the top-level manifest.json, so no dots (no "manifest.json" stream).
_STREAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
# Sources and batch ids only appear inside file names: dots are harmless there, but not leading or trailing
# (hidden files; Windows strips trailing dots).
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,98}[A-Za-z0-9_-])?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_STAMPED = re.compile(r"^\d{8}T\d{6}-")
_STAMP_LENGTH = len("YYYYMMDDTHHMMSS-")
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


class FileSinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["file"]
    path: Path
    fsync: bool = True  # off only for tests or throwaway folders: without it a power cut can lose acked batches


def safe_component(value: str, what: str, *, allow_dots: bool = True) -> str:
    """Return `value` if it is safe as one path component on POSIX and Windows, else raise ValueError."""
    pattern = _NAME if allow_dots else _STREAM_NAME
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{what} {value!r} is not a safe file name: use letters, digits, '_' and '-'"
            + (" (and inner dots)" if allow_dots else "")
            + ", at most 100 characters"
        )
    if value.split(".")[0].upper() in _WINDOWS_DEVICES:
        raise ValueError(f"{what} {value!r} is a reserved device name on Windows")
    return value


def _fsync_dir(folder: Path) -> None:
    # Windows cannot open a directory for fsync; NTFS journals the rename itself.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace `target` with `data` so that readers and crashes see the old or the new content, never a mix."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_dir(target.parent)


def _dump(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()


def _utc(moment: dt.datetime) -> dt.datetime:
    # A naive created_at comes from our own outbox, which stores UTC.
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class _StreamManifest:
    """One stream's manifest, loaded once and rewritten atomically on each change."""

    def __init__(self, folder: Path, stream: str, fsync: bool) -> None:
        self.path = folder / MANIFEST
        self.stream = stream
        self.fsync = fsync
        self.lock = threading.Lock()
        self.entries: dict[str, dict[str, Any]] = {}  # batch id -> entry; dicts keep insertion (arrival) order
        if self.path.exists():
            document = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries = {entry["batch_id"]: entry for entry in document.get("files", [])}
        # Data files a crash left unlisted (written, manifest not yet updated), by "<source>-<batch id>.ndjson":
        # their resend must reuse the name even if its created_at differs. One scan per stream per process.
        listed = {entry["file"] for entry in self.entries.values()}
        self.unlisted = {
            p.name[_STAMP_LENGTH:]: p.name
            for p in folder.glob("*.ndjson")
            if p.name not in listed and _STAMPED.match(p.name)
        }

    def put(self, entry: dict[str, Any]) -> None:
        if self.entries.get(entry["batch_id"]) == entry:
            return  # a resend of identical content: nothing to rewrite (`entries` only holds what is durable)
        entries = {**self.entries, entry["batch_id"]: entry}
        document = {"stream": self.stream, "schema_version": SCHEMA_VERSION, "files": list(entries.values())}
        atomic_write(self.path, _dump(document), fsync=self.fsync)
        # Only now: an entry kept after a failed write would make the resend skip it, acked but never listed.
        self.entries = entries


class FileSink(Sink):
    kind = "file"

    def __init__(self, settings: FileSinkSettings) -> None:
        self.settings = settings
        self.root = settings.path
        self._manifests: dict[str, _StreamManifest] = {}
        self._lock = threading.Lock()  # guards _manifests and the index file

    def push(self, batch: Batch) -> Ack:
        try:
            stream = safe_component(batch.stream, "stream name", allow_dots=False)
            source = safe_component(batch.source, "source name")
            batch_id = safe_component(batch.id, "batch id")
        except ValueError as exc:
            raise SinkError(str(exc), permanent=True) from None
        try:
            manifest = self._manifest(stream)
            with manifest.lock:
                self._write(manifest, batch, source, batch_id)
        except OSError as exc:
            # Disk full, share gone, permissions: may pass once the operator acts, so not permanent.
            raise SinkError(f"cannot write batch {batch_id} under {self.root}: {exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            # Only a hand-edited or foreign manifest gets here (ours are replaced atomically).
            raise SinkError(f"the manifest of stream {stream} under {self.root} is unreadable: {exc!r}") from exc
        return Ack()

    def _write(self, manifest: _StreamManifest, batch: Batch, source: str, batch_id: str) -> None:
        previous = manifest.entries.get(batch_id)
        suffix = f"{source}-{batch_id}.ndjson"
        # Reuse a name already used for this batch so a resend can never yield a second file, whatever its
        # created_at (the engine's first push and its resend from the outbox need not carry the same one).
        name = previous["file"] if previous else manifest.unlisted.get(suffix) or self._file_name(batch, suffix)
        manifest.unlisted[suffix] = name  # until listed: a failed manifest write must not orphan this name
        self._write_files(manifest.path.parent / "files", batch)
        atomic_write(manifest.path.parent / name, batch.payload, fsync=self.settings.fsync)
        manifest.put(
            {
                "file": name,
                "batch_id": batch_id,
                "source": source,
                "records": batch.payload.count(b"\n"),
                "bytes": len(batch.payload),
                "sha256": hashlib.sha256(batch.payload).hexdigest(),
                # The first push's: a resend keeps the entry (and the file name it matches) as it was.
                "created_at": previous["created_at"] if previous else _utc(batch.created_at).isoformat(),
            }
        )
        manifest.unlisted.pop(suffix, None)

    def _write_files(self, folder: Path, batch: Batch) -> None:
        """Each file once, named by its hash: a resend, or another record naming the same bytes, finds it there."""
        for f in batch.files:
            if not _SHA256.match(f.sha256) or hashlib.sha256(f.data).hexdigest() != f.sha256:
                raise SinkError(f"file {f.sha256[:70]!r} of batch {batch.id} is not named by its own SHA-256",
                                permanent=True, about_batch=True)  # fmt: skip
            target = folder / f.sha256
            if target.is_file() and target.stat().st_size == len(f.data):
                continue
            folder.mkdir(exist_ok=True)
            atomic_write(target, f.data, fsync=self.settings.fsync)

    @staticmethod
    def _file_name(batch: Batch, suffix: str) -> str:
        return f"{_utc(batch.created_at):%Y%m%dT%H%M%S}-{suffix}"

    def _manifest(self, stream: str) -> _StreamManifest:
        with self._lock:
            manifest = self._manifests.get(stream)
            if manifest is None:
                folder = self.root / stream
                folder.mkdir(parents=True, exist_ok=True)
                # Leftovers of writes a crash interrupted: safe to drop, nothing of ours writes here before this.
                for stale in folder.glob(".*.tmp"):
                    stale.unlink(missing_ok=True)
                manifest = _StreamManifest(folder, stream, self.settings.fsync)
                if self.settings.fsync:
                    # The manifest just loaded may come from a rename whose folder fsync a crash or an error cut
                    # short: its entries are trusted from here on (a resend of one is not rewritten).
                    _fsync_dir(folder)
                self._index_stream(stream)
                # Kept once the index lists the stream: after a failed index write the next push writes it again.
                self._manifests[stream] = manifest
            return manifest

    def _index_stream(self, stream: str) -> None:
        index_path = self.root / MANIFEST
        index: dict[str, Any] = {"format": MANIFEST_FORMAT, "schema_version": SCHEMA_VERSION, "streams": {}}
        if index_path.exists():
            index = json.loads(index_path.read_text(encoding="utf-8"))
        relative = f"{stream}/{MANIFEST}"
        if index.get("streams", {}).get(stream) == relative:
            if self.settings.fsync:
                _fsync_dir(self.root)  # listed, maybe by a write whose folder fsync failed: make the listing durable
            return
        index.setdefault("streams", {})[stream] = relative
        index["streams"] = dict(sorted(index["streams"].items()))
        atomic_write(index_path, _dump(index), fsync=self.settings.fsync)

    def holdings(self, source: str) -> Holdings:
        """The batches of `source` the stream manifests list (every manifest found, even one the index lost)."""
        streams: dict[str, dt.datetime] = {}
        for path in sorted(self.root.glob(f"*/{MANIFEST}")):
            try:
                entries = json.loads(path.read_text(encoding="utf-8"))["files"]
                times = [dt.datetime.fromisoformat(e["created_at"]) for e in entries if e["source"] == source]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SinkError(f"the manifest {path} is unreadable: {exc!r}") from exc
            if times:
                streams[path.parent.name] = max(times)
        return Holdings(max(streams.values(), default=None), streams)

    def check(self) -> list[CheckResult]:
        name = "file sink folder"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".dealersync-check-{os.getpid()}"
            atomic_write(probe, b"ok\n", fsync=self.settings.fsync)
            probe.unlink()
            free_mb = shutil.disk_usage(self.root).free // (1024 * 1024)
        except OSError as exc:
            return [CheckResult(name, False, f"cannot create or write {self.root}: {exc.strerror or exc}")]
        return [CheckResult(name, True, f"{self.root} is writable ({free_mb} MiB free)")]
