from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from mapping.schema import Envelope, encode
from sinks import SinkSettings, build_sink
from sinks.base import Ack, Batch, Holdings, SinkError
from sinks.file import FileSink, FileSinkSettings, _StreamManifest

CREATED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def make_batch(batch_id: str = "b-0001", stream: str = "accounts", source: str = "logo", n: int = 3) -> Batch:
    payload = b"".join(
        encode(Envelope(stream=stream, source=source, key=f"{batch_id}-{i}", op="delete")) + b"\n" for i in range(n)
    )
    return Batch(id=batch_id, source=source, stream=stream, records=n, payload=payload, created_at=CREATED)


@pytest.fixture
def sink(tmp_path: Path) -> FileSink:
    return FileSink(FileSinkSettings(kind="file", path=tmp_path / "out"))


def manifest(root: Path, stream: str) -> dict:
    return json.loads((root / stream / "manifest.json").read_text())


def test_writes_the_batch_and_lists_it_in_the_manifests(sink: FileSink) -> None:
    batch = make_batch()
    assert sink.push(batch) == Ack()

    name = "20260304T050607-logo-b-0001.ndjson"
    assert (sink.root / "accounts" / name).read_bytes() == batch.payload
    assert manifest(sink.root, "accounts")["files"] == [
        {
            "file": name,
            "batch_id": "b-0001",
            "source": "logo",
            "records": 3,
            "bytes": len(batch.payload),
            "sha256": hashlib.sha256(batch.payload).hexdigest(),
            "created_at": "2026-03-04T05:06:07+00:00",
        }
    ]
    index = json.loads((sink.root / "manifest.json").read_text())
    assert index["streams"] == {"accounts": "accounts/manifest.json"}


def test_file_name_uses_utc(sink: FileSink) -> None:
    istanbul = dt.timezone(dt.timedelta(hours=3))
    batch = make_batch()
    sink.push(Batch(**{**batch.__dict__, "created_at": CREATED.astimezone(istanbul)}))
    assert [p.name for p in (sink.root / "accounts").glob("*.ndjson")] == ["20260304T050607-logo-b-0001.ndjson"]


def test_resend_gives_one_file_and_one_manifest_entry(sink: FileSink, tmp_path: Path) -> None:
    batch = make_batch()
    sink.push(batch)
    sink.push(batch)
    # A resend after a restart, even with a drifted created_at, still lands on the listed file.
    restarted = FileSink(sink.settings)
    restarted.push(Batch(**{**batch.__dict__, "created_at": CREATED + dt.timedelta(hours=1)}))

    assert len(list((sink.root / "accounts").glob("*.ndjson"))) == 1
    assert [e["batch_id"] for e in manifest(sink.root, "accounts")["files"]] == ["b-0001"]


def test_resend_after_a_crash_between_file_and_manifest_reuses_the_file(tmp_path: Path) -> None:
    # The crash left the data file (stamped with the first push's created_at) but no manifest entry.
    orphan = tmp_path / "accounts" / "20260304T050000-logo-b-0001.ndjson"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"partial? no: complete, atomically written\n")
    sink = FileSink(FileSinkSettings(kind="file", path=tmp_path, fsync=False))
    batch = make_batch()  # the resend carries another created_at (05:06:07)
    sink.push(batch)
    assert [p.name for p in (tmp_path / "accounts").glob("*.ndjson")] == [orphan.name]
    assert orphan.read_bytes() == batch.payload
    assert [e["file"] for e in manifest(tmp_path, "accounts")["files"]] == [orphan.name]


def test_resend_after_a_failed_manifest_write_reuses_the_file(sink: FileSink, monkeypatch: pytest.MonkeyPatch) -> None:
    real_put = _StreamManifest.put

    def disk_full(self: _StreamManifest, entry: dict) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_StreamManifest, "put", disk_full)
    batch = make_batch()
    with pytest.raises(SinkError):
        sink.push(batch)
    monkeypatch.setattr(_StreamManifest, "put", real_put)
    sink.push(Batch(**{**batch.__dict__, "created_at": CREATED + dt.timedelta(minutes=5)}))
    assert len(list((sink.root / "accounts").glob("*.ndjson"))) == 1
    assert len(manifest(sink.root, "accounts")["files"]) == 1


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(sink: FileSink, monkeypatch: pytest.MonkeyPatch) -> None:
    sink.push(make_batch(n=2))
    target = next((sink.root / "accounts").glob("*.ndjson"))
    before = target.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SinkError) as failure:
        sink.push(make_batch(n=5))
    assert not failure.value.permanent  # the operator can free space; the batch stays in the outbox
    assert target.read_bytes() == before
    assert [p.name for p in (sink.root / "accounts").iterdir() if p.name.startswith(".")] == []


def test_stale_temp_files_are_swept_on_start(tmp_path: Path) -> None:
    stale = tmp_path / "accounts" / ".x.ndjson.abc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    FileSink(FileSinkSettings(kind="file", path=tmp_path, fsync=False)).push(make_batch())
    assert not stale.exists()


def test_concurrent_streams_keep_complete_manifests(sink: FileSink) -> None:
    streams = ["accounts", "products", "orders", "invoices"]
    errors: list[BaseException] = []

    def push_all(stream: str) -> None:
        try:
            for i in range(20):
                sink.push(make_batch(f"{stream}-{i:03d}", stream=stream))
                sink.push(make_batch(f"{stream}-{i:03d}", stream=stream))  # interleaved resends
        except BaseException as exc:  # pragma: no cover - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=push_all, args=(s,)) for s in streams for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    index = json.loads((sink.root / "manifest.json").read_text())
    assert sorted(index["streams"]) == sorted(streams)
    for stream in streams:
        entries = manifest(sink.root, stream)["files"]
        assert len(entries) == 20
        for entry in entries:
            data = (sink.root / stream / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stream", "../etc"),
        ("stream", ".."),
        ("stream", "a/b"),
        ("stream", "a\\b"),
        ("stream", "manifest.json"),
        ("stream", ""),
        ("source", "../../x"),
        ("source", ".hidden"),
        ("source", "trailing."),
        ("source", "CON"),
        ("source", "nul.txt"),
        ("id", "x/../../y"),
        ("id", "a b"),
        ("id", "/abs"),
    ],
)
def test_unsafe_path_components_are_rejected(sink: FileSink, tmp_path: Path, field: str, value: str) -> None:
    batch = Batch(**{**make_batch().__dict__, field: value})
    with pytest.raises(SinkError) as failure:
        sink.push(batch)
    assert failure.value.permanent
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # not even the root was created


def test_dotted_source_and_id_are_fine(sink: FileSink) -> None:
    sink.push(make_batch("01HX.7", source="logo.tiger"))
    assert (sink.root / "accounts" / "20260304T050607-logo.tiger-01HX.7.ndjson").exists()


def test_a_broken_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "manifest.json").write_text("{ not json")
    with pytest.raises(SinkError, match="manifest of stream accounts"):
        FileSink(FileSinkSettings(kind="file", path=tmp_path)).push(make_batch())


def test_check(tmp_path: Path) -> None:
    ok = FileSink(FileSinkSettings(kind="file", path=tmp_path / "new" / "folder")).check()
    assert [r.ok for r in ok] == [True]
    assert list((tmp_path / "new" / "folder").iterdir()) == []  # the probe is cleaned up

    (tmp_path / "afile").write_text("x")
    bad = FileSink(FileSinkSettings(kind="file", path=tmp_path / "afile" / "sub")).check()
    assert not bad[0].ok
    assert "afile" in bad[0].detail


def test_settings_and_build_sink(tmp_path: Path) -> None:
    adapter = TypeAdapter(SinkSettings)
    settings = adapter.validate_python({"kind": "file", "path": str(tmp_path)})
    assert isinstance(build_sink(settings), FileSink)
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "file", "path": str(tmp_path), "surprise": 1})


def test_holdings_are_the_batches_of_one_source_its_manifests_list(sink: FileSink) -> None:
    assert sink.holdings("logo") == Holdings(None, {})  # a folder not even created yet
    later = CREATED + dt.timedelta(hours=2)
    sink.push(make_batch("b-1", stream="accounts", source="logo"))
    sink.push(Batch(**{**make_batch("b-2", stream="invoices", source="logo").__dict__, "created_at": later}))
    sink.push(make_batch("b-3", stream="orders", source="mikro"))
    (sink.root / "manifest.json").unlink()  # the stream manifests are what counts, even without the index

    held = sink.holdings("logo")
    assert held == Holdings(later, {"accounts": CREATED, "invoices": later})
    assert held.holding(["accounts", "orders", "products"]) == ["accounts"]
    assert FileSink(sink.settings).holdings("sap") == Holdings(None, {})


def test_holdings_of_an_unreadable_manifest_are_an_error(sink: FileSink) -> None:
    sink.push(make_batch())
    (sink.root / "accounts" / "manifest.json").write_text('{"files": [{"batch_id": "x"}]}')
    with pytest.raises(SinkError, match="unreadable"):
        sink.holdings("logo")
