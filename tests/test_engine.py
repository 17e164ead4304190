"""The engine against a real SQLite (and PostgreSQL) state store and a real toy ERP table.

The sink here is a recording double: these are unit tests of the engine's bookkeeping.
The real sinks and real processes are exercised in test_end_to_end.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest

from engine.state import StateStore
from engine.sync import Engine, Policy, _Envelopes, park_batch
from mapping.schema import SCHEMA_VERSION, Envelope, Product, encode
from sinks.base import Ack, Batch, Sink, SinkError
from tests.toy import TZ, ToyAdapter, ToyProducts, toy


class RecordingSink(Sink):
    kind = "recording"

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.fail: list[SinkError] = []
        self.reject: dict[str, str] = {}

    def push(self, batch: Batch) -> Ack:
        if self.fail:
            raise self.fail.pop(0)
        self.batches.append(batch)
        rejected = {k: v for k, v in self.reject.items() if f'"key":"{k}"'.encode() in batch.payload}
        return Ack(rejected=rejected)

    def check(self) -> list:
        return []

    def envelopes(self) -> list[dict]:
        return [msgspec.json.decode(line) for b in self.batches for line in b.payload.splitlines()]

    def pushed_keys(self, stream: str = "products") -> list[str]:
        return [e["key"] for e in self.envelopes() if e["stream"] == stream]


@pytest.fixture
def erp(tmp_path: Path) -> ToyAdapter:
    adapter = toy(str(tmp_path / "erp.db"))
    for i in range(1, 8):
        adapter.put(i, f"P{i:03d}", f"Ürün {i}", at=f"2026-11-20T10:0{i}:00")
    adapter.put_stock("P001", "01", "5")
    adapter.put_stock("P002", "01", "7")
    return adapter


def make_engine(tmp_path: Path, url: str | None = None, **policy: object) -> tuple[Engine, RecordingSink]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    state = StateStore(url or f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    sink = RecordingSink()
    return Engine(state, sink, Policy(batch_size=4, **policy)), sink  # type: ignore[arg-type]


def test_first_sync_pushes_all_and_a_second_pushes_nothing(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    first = {r.stream: r for r in engine.sync(erp)}
    assert first["products"].status == "ok"
    assert first["products"].pushed == 7 and first["products"].batches == 2  # batch_size 4
    assert sorted(sink.pushed_keys()) == [f"p{i}" for i in range(1, 8)]
    assert first["products"].cursor == dt.datetime.fromisoformat("2026-11-20T10:07:00+03:00")

    sink.batches.clear()
    second = {r.stream: r for r in engine.sync(erp)}
    assert sink.batches == []
    assert second["products"].pushed == 0
    assert second["products"].read == 7  # all within the 10-minute overlap window
    assert second["products"].unchanged == 7
    assert second["stock_levels"].unchanged == 2


def test_only_changes_travel_and_late_rows_inside_the_overlap_are_not_missed(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp)
    sink.batches.clear()
    erp.put(3, "P003", "Ürün 3 yeni ad", at="2026-11-20T11:00:00")
    # committed late: its timestamp is before the cursor (10:07) but inside the overlap window
    erp.put(20, "P020", "Geç gelen", at="2026-11-20T10:05:00")
    result = engine.sync(erp, ["products"])[0]
    assert sorted(sink.pushed_keys()) == ["p20", "p3"]
    assert result.pushed == 2
    assert result.cursor == dt.datetime.fromisoformat("2026-11-20T11:00:00+03:00")
    env = {e["key"]: e for e in sink.envelopes()}
    assert env["p3"]["data"]["name"] == "Ürün 3 yeni ad"


def test_envelope_lines_match_the_schema_encoding() -> None:
    record = Product(code="X", name="Şeker")
    data = encode(record)
    line = _Envelopes("src", "products").line("k1", data)
    expected = encode(Envelope(stream="products", source="src", key="k1", op="upsert", data=msgspec.Raw(data)))
    assert line == expected + b"\n"
    decoded = msgspec.json.decode(line)
    assert decoded["op"] == "upsert" and decoded["data"]["name"] == "Şeker"
    gone = msgspec.json.decode(_Envelopes("src", "products").line("k1", None))
    assert gone == {
        "stream": "products",
        "source": "src",
        "key": "k1",
        "op": "delete",
        "schema_version": SCHEMA_VERSION,
        "data": None,
    }


def test_items_left_out_by_a_named_rule_are_counted_per_rule_and_deleted_if_sent_before(
    tmp_path: Path, erp: ToyAdapter
) -> None:
    engine, sink = make_engine(tmp_path)
    first = engine.sync(erp, ["products"])[0]
    assert first.excluded == {} and "p2" in sink.pushed_keys()
    erp.put(2, "TRM-2", "Montaj hizmeti", vat="service", at="2026-11-20T10:05:00")
    erp.put(8, "TRM-8", "Nakliye", vat="service", at="2026-11-20T10:06:00")  # never sent
    second = engine.sync(erp, ["products"])[0]
    assert second.excluded == {"service card": 2} and (second.pushed, second.deleted) == (1, 0)
    assert sink.batches[-1].payload.count(b'"op":"delete"') == 1  # p2 was sent before: the feed drops it
    (status,) = [s for s in engine.state.status() if s.stream == "products"]
    assert status.excluded == {"service card": 2}
    assert engine.sync(erp, ["products"])[0].excluded == {"service card": 2}  # re-read: counted, nothing sent


def test_a_row_that_breaks_the_adapter_in_any_way_is_a_dead_letter_and_the_stream_goes_on(
    tmp_path: Path, erp: ToyAdapter
) -> None:
    erp.put(8, "P008", "Bozuk KDV", vat="yirmi", at="2026-11-20T10:08:00")  # Decimal("yirmi") raises
    erp.put(9, "P009", "no key", at="2026-11-20T10:09:00")  # the adapter's key() raises
    erp.put(10, "P010", "Bozuk <ff> metin", at="2026-11-20T10:10:00")  # text with an undecodable byte
    engine, sink = make_engine(tmp_path)
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "ok" and result.dead_lettered == 3 and result.error is None
    assert sorted(sink.pushed_keys()) == sorted([f"p{i}" for i in range(1, 8)])
    letters = {letter.key: letter for letter in engine.state.dead_letters()}
    assert letters["p8"].reason.startswith("unexpected InvalidOperation while mapping at toy.py:")
    assert "yirmi" not in letters["p8"].reason and letters["p8"].raw["vat"] == "yirmi"  # the row is kept
    (raw_key,) = [k for k in letters if k.startswith("raw:")]
    assert letters[raw_key].raw["name"] == "no key"
    erp.put(11, "P011", "Sonradan eklenen", at="2026-11-20T10:11:00")
    assert letters["p10"].reason.startswith("unexpected UnicodeEncodeError while")
    later = engine.sync(erp, ["products"])[0]
    assert later.status == "ok" and "p11" in sink.pushed_keys() and len(engine.state.dead_letters()) == 3


def test_a_second_row_with_a_key_the_read_already_gave_is_a_dead_letter_not_a_silent_replacement(
    tmp_path: Path, erp: ToyAdapter
) -> None:
    erp.put_stock("P001 ", "01", "9")  # a padded duplicate of P001's row: two ERP rows, one key
    erp.put_stock("P002 ", "01", "7")  # the same record twice over: harmless
    engine, sink = make_engine(tmp_path)
    result = engine.sync(erp, ["stock_levels"])[0]
    assert (result.status, result.pushed, result.dead_lettered, result.unchanged) == ("ok", 2, 1, 1)
    assert sorted(sink.pushed_keys("stock_levels")) == ["P001:01", "P002:01"]  # each sent once: the first row
    sent = {e["key"]: e["data"]["on_hand"] for e in sink.envelopes()}
    assert sent["P001:01"] == "5"
    [letter] = engine.state.dead_letters()
    assert letter.key == "P001:01" and letter.reason.startswith("another row of this read gave the same key")
    assert letter.raw["on_hand"] == "9"  # the held-back record is kept as evidence

    for _ in range(2):  # while the duplicate lasts: one open dead letter, not a new one per run
        again = engine.sync(erp, ["stock_levels"])[0]
        assert (again.pushed, again.dead_lettered) == (0, 1)
    assert len(engine.state.dead_letters(include_resolved=True)) == 1

    erp.drop_stock("P001 ", "01")  # the ERP is put right: the dead letter settles
    engine.sync(erp, ["stock_levels"])
    assert engine.state.dead_letters() == []


def test_a_left_out_row_and_a_live_row_with_one_key_do_not_undo_each_other_run_after_run(
    tmp_path: Path, erp: ToyAdapter
) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp, ["stock_levels"])
    erp.put_stock("P001", "01", "none kept")  # read first: left out by a rule, so the feed drops P001:01
    erp.put_stock("P001 ", "01", "5")  # its twin, live
    ops = []
    for _ in range(3):
        sink.batches.clear()
        result = engine.sync(erp, ["stock_levels"])[0]
        ops.append([e["op"] for e in sink.envelopes() if e["key"] == "P001:01"])
        assert result.dead_lettered == 1
    assert ops == [["delete"], [], []]  # once, then nothing: no delete and resend every other run
    [letter] = engine.state.dead_letters(include_resolved=True)
    assert letter.key == "P001:01" and letter.reason.startswith("another row of this read gave the same key")


def test_a_row_put_back_as_it_was_sent_settles_its_dead_letter(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp, ["products"])
    erp.put(4, None, "Ürün 4", at="2026-11-20T11:00:00")  # broken: no code
    assert engine.sync(erp, ["products"])[0].dead_lettered == 1
    sink.batches.clear()
    erp.put(4, "P004", "Ürün 4", at="2026-11-20T11:01:00")  # put right, exactly as it was sent
    result = engine.sync(erp, ["products"])[0]
    assert sink.pushed_keys() == [] and result.unchanged >= 1
    assert engine.state.dead_letters() == []


def test_invalid_rows_are_dead_lettered_and_the_rest_goes_on(tmp_path: Path, erp: ToyAdapter) -> None:
    erp.put(4, None, "Kodsuz ürün", at="2026-11-20T10:04:00")
    engine, sink = make_engine(tmp_path)
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "ok" and result.dead_lettered == 1 and result.pushed == 6
    assert "p4" not in sink.pushed_keys()
    [letter] = engine.state.dead_letters()
    assert (letter.key, letter.stage, letter.reason) == ("p4", "map", "code: missing")
    assert letter.raw["name"] == "Kodsuz ürün"

    # re-read in the overlap window: still one open dead letter, not two
    engine.sync(erp, ["products"])
    assert len(engine.state.dead_letters()) == 1

    erp.put(4, "P004", "Kodlu ürün", at="2026-11-20T10:04:00")  # fixed without touching its timestamp
    outcome = engine.retry_dead_letters(erp)
    assert (outcome.retried, outcome.fixed, outcome.failed) == (1, 1, 0)
    assert engine.state.dead_letters() == []
    assert "p4" in sink.pushed_keys()


def test_stop_policy_fails_the_run_without_advancing_the_cursor(tmp_path: Path, erp: ToyAdapter) -> None:
    erp.put(2, "", "Bozuk", at="2026-11-20T10:02:00")
    engine, _ = make_engine(tmp_path, on_record_error="stop")
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "error" and "p2" in (result.error or "")
    assert engine.state.cursor("toy", "products") is None


def test_sink_outage_keeps_batches_and_resends_them_with_the_same_key(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    sink.fail = [SinkError("HTTP 503 after 8 attempts")]
    failed = engine.sync(erp, ["products"])[0]
    assert failed.status == "error" and "503" in (failed.error or "")
    assert engine.state.cursor("toy", "products") is None  # not advanced: the read did not finish
    [status] = [s for s in engine.state.status() if s.stream == "products"]
    assert status.pending_batches == 1 and status.last_status == "error"
    pending_id = next(engine.state.pending("toy", "products")).batch_id

    recovered = engine.sync(erp, ["products"])[0]
    assert recovered.status == "ok"
    assert sink.batches[0].id == pending_id  # the stranded batch goes first, same idempotency key
    keys = sink.pushed_keys()
    assert sorted(keys) == [f"p{i}" for i in range(1, 8)] and len(keys) == len(set(keys))  # nothing lost, no dup
    assert engine.state.status()[0].pending_batches == 0


def test_permanent_sink_failure_can_be_dead_lettered_by_policy(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path, on_sink_failure="dead_letter")
    sink.fail = [SinkError("HTTP 422: schema_version not supported", permanent=True, about_batch=True)]
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "ok" and result.dead_lettered == 4
    letters = engine.state.dead_letters()
    assert {d.stage for d in letters} == {"sink"} and "422" in letters[0].reason
    # the same content would be refused again: it waits for a change, a retry or a full refresh
    sink.batches.clear()
    assert engine.sync(erp, ["products"])[0].pushed == 0
    engine.sync(erp, ["products"], full_refresh=True)
    assert len(sink.pushed_keys()) == 7


def test_bad_credentials_stop_the_run_even_under_the_dead_letter_policy(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path, on_sink_failure="dead_letter")
    sink.fail = [SinkError("HTTP 401: check the token", permanent=True)]
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "error" and "401" in (result.error or "")
    assert engine.state.dead_letters() == []
    assert engine.state.status()[0].pending_batches == 1  # kept for when the token is fixed


def test_a_batch_the_sink_keeps_refusing_can_be_parked_to_dead_letters(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    sink.fail = [SinkError("HTTP 422: bad record", permanent=True, about_batch=True)] * 2
    assert engine.sync(erp, ["products"])[0].status == "error"
    [stuck] = engine.state.outbox()
    assert (stuck.stream, stuck.records, stuck.status, stuck.attempts) == ("products", 4, "pending", 1)
    assert "422" in (stuck.last_error or "")
    assert park_batch(engine.state, stuck.batch_id) == 4
    assert engine.state.outbox() == []
    assert len(engine.state.dead_letters()) == 4
    with pytest.raises(ValueError, match="no pending outbox batch"):
        park_batch(engine.state, stuck.batch_id)
    # the stream moves on; the parked records come back once their rows change or on a full refresh
    sink.fail = []
    assert engine.sync(erp, ["products"])[0].status == "ok"
    assert len(sink.pushed_keys()) == 3


def test_records_the_sink_rejects_become_dead_letters_and_are_resent_later(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    sink.reject = {"p5": "unknown dealer"}
    result = engine.sync(erp, ["products"])[0]
    assert result.pushed == 6 and result.dead_lettered == 1
    [letter] = engine.state.dead_letters()
    assert (letter.key, letter.stage, letter.reason) == ("p5", "sink", "unknown dealer")
    assert letter.raw["data"]["code"] == "P005"
    sink.reject = {}
    sink.batches.clear()
    engine.sync(erp, ["products"])  # p5 is still in the window; its hash was dropped
    assert sink.pushed_keys() == ["p5"]
    assert engine.state.dead_letters() == []


def test_deletes_soft_hard_and_snapshot(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp)
    sink.batches.clear()
    erp.soft_delete(1, at="2026-11-20T12:00:00")
    erp.hard_delete(2)
    erp.drop_stock("P002", "01")
    results = {r.stream: r for r in engine.sync(erp)}
    ops = {(e["stream"], e["key"]): e["op"] for e in sink.envelopes()}
    assert ops == {("products", "p1"): "delete", ("stock_levels", "P002:01"): "delete"}
    assert results["stock_levels"].deleted == 1

    sink.batches.clear()
    results = {r.stream: r for r in engine.sync(erp, ["products"], reconcile=True)}
    assert [(e["key"], e["op"], e["data"]) for e in sink.envelopes()] == [("p2", "delete", None)]
    assert results["products"].deleted == 1
    sink.batches.clear()
    engine.sync(erp, ["products"], reconcile=True)
    assert sink.batches == []  # a delete is sent once


def test_a_snapshot_taken_again_is_not_a_change(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp, ["stock_levels"])
    sink.batches.clear()
    erp.as_of = dt.datetime(2026, 11, 21, 8, tzinfo=TZ)  # a later read of the same stock
    assert engine.sync(erp, ["stock_levels"])[0].unchanged == 2
    assert sink.batches == []
    erp.put_stock("P001", "01", "4")
    engine.sync(erp, ["stock_levels"])
    [env] = sink.envelopes()
    assert env["key"] == "P001:01" and env["data"]["on_hand"] == "4" and env["data"]["as_of"].startswith("2026-11-21")


def test_full_refresh_resends_everything_and_keeps_the_cursor(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp, ["products"])
    sink.batches.clear()
    result = engine.sync(erp, ["products"], full_refresh=True)[0]
    assert result.pushed == 7 and len(sink.pushed_keys()) == 7
    assert result.cursor == dt.datetime.fromisoformat("2026-11-20T10:07:00+03:00")


def test_a_stream_held_by_another_run_is_skipped(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    assert engine.state.acquire("toy", "products", "other-host:1", dt.timedelta(minutes=5))
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "skipped" and sink.batches == []
    # an expired lease is taken over
    engine.state.release("toy", "products", "other-host:1")
    assert engine.state.acquire("toy", "products", "other-host:1", dt.timedelta(seconds=-1))
    assert engine.sync(erp, ["products"])[0].status == "ok"


def test_the_lease_of_a_killed_run_on_this_host_is_taken_over(tmp_path: Path, erp: ToyAdapter) -> None:
    import socket
    import subprocess
    import sys

    engine, sink = make_engine(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{socket.gethostname()}:{gone.stdout.strip()}:abcd"
    assert engine.state.acquire("toy", "products", dead_owner, dt.timedelta(hours=1))
    assert engine.sync(erp, ["products"])[0].status == "ok"
    assert len(sink.pushed_keys()) == 7
    # a live holder on another host keeps its lease
    assert engine.state.acquire("toy", "products", "elsewhere:1:x", dt.timedelta(hours=1))
    assert engine.sync(erp, ["products"])[0].status == "skipped"


def test_a_parallel_full_read_delivers_exactly_what_a_serial_one_does(
    tmp_path: Path, erp: ToyAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    erp.put(9, None, "Kodsuz", at="2026-11-20T10:09")
    serial, serial_sink = make_engine(tmp_path / "serial")
    serial.sync(erp, ["products"])
    parallel, parallel_sink = make_engine(tmp_path / "parallel", workers=2, parallel_min_items=1)
    [result] = parallel.sync(erp, ["products"])
    assert result.status == "ok" and (result.read, result.pushed, result.dead_lettered) == (8, 7, 1)
    assert "stream.parallel_read" in capsys.readouterr().out  # it did run in worker processes
    assert result.cursor == serial.state.cursor("toy", "products")
    assert sorted(parallel_sink.envelopes(), key=lambda e: e["key"]) == sorted(
        serial_sink.envelopes(), key=lambda e: e["key"]
    )
    assert [d.key for d in parallel.state.dead_letters()] == ["p9"]
    # an incremental read after it stays in this process and finds nothing new
    assert parallel.sync(erp, ["products"])[0].pushed == 0


def test_unknown_stream_names_are_refused(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, _ = make_engine(tmp_path)
    with pytest.raises(ValueError, match="unknown stream"):
        engine.sync(erp, ["invoicez"])


@pytest.mark.postgres
def test_state_on_postgresql(tmp_path: Path, erp: ToyAdapter, pg_url: str) -> None:
    engine, sink = make_engine(tmp_path, url=pg_url)
    sink.fail = [SinkError("HTTP 500")]
    assert engine.sync(erp, ["products"])[0].status == "error"
    assert engine.sync(erp, ["products"])[0].status == "ok"
    keys = sink.pushed_keys()
    assert sorted(keys) == [f"p{i}" for i in range(1, 8)] and len(keys) == len(set(keys))
    erp.put(3, "P003", "Değişti", at="2026-11-21T09:00:00")
    sink.batches.clear()
    engine.sync(erp, ["products"])
    assert sink.pushed_keys() == ["p3"]
    assert engine.state.cursor("toy", "products") == dt.datetime.fromisoformat("2026-11-21T09:00:00+03:00")
    engine.state.close()


def _stamp(moment: dt.datetime) -> str:
    """A toy row's `modified`, as its ERP writes it: wall time in the source's zone, no offset."""
    return moment.astimezone(TZ).replace(tzinfo=None, microsecond=0).isoformat()


def test_a_row_stamped_in_the_future_never_carries_the_cursor_past_this_hosts_clock(
    tmp_path: Path, erp: ToyAdapter
) -> None:
    now = dt.datetime.now(dt.UTC)
    erp.put(8, "P008", "Saati ileri kart", at=_stamp(now + dt.timedelta(days=2)))
    engine, sink = make_engine(tmp_path)
    first = engine.sync(erp, ["products"])[0]
    assert first.cursor is not None and first.cursor <= dt.datetime.now(dt.UTC)  # not two days ahead
    erp.put(9, "P009", "Olağan düzenleme", at=_stamp(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    second = engine.sync(erp, ["products"])[0]
    assert "p9" in sink.pushed_keys()  # the next ordinary edit arrives
    assert second.pushed == 1 and second.unchanged >= 1  # the future row is read again, not sent again


def test_a_cursor_an_earlier_release_left_in_the_future_is_brought_back(tmp_path: Path, erp: ToyAdapter) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp, ["products"])
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    engine.state.finish("toy", "products", status="ok", counts={}, cursor=future)
    erp.put(9, "P009", "Olağan düzenleme", at=_stamp(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    result = engine.sync(erp, ["products"])[0]
    assert "p9" in sink.pushed_keys() and result.cursor is not None and result.cursor < future


def test_a_backdated_edit_is_missed_by_an_incremental_read_and_found_by_a_reconcile(
    tmp_path: Path, erp: ToyAdapter
) -> None:
    engine, sink = make_engine(tmp_path)
    engine.sync(erp, ["products"])
    erp.put(10, "P010", "Yeni kart", at=_stamp(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)))
    engine.sync(erp, ["products"])  # the cursor is now minutes ago
    # An edit the ERP stamped 30 hours back (its clock was put right, or the edit was backdated):
    erp.put(3, "P003", "Geriye tarihli düzenleme", at=_stamp(dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)))
    sink.batches.clear()
    assert engine.sync(erp, ["products"])[0].pushed == 0  # outside the overlap window: not seen
    swept = engine.sync(erp, ["products"], reconcile=True)[0]
    assert swept.pushed == 1 and sink.pushed_keys() == ["p3"]
    assert [e["data"]["name"] for e in sink.envelopes()] == ["Geriye tarihli düzenleme"]


def test_the_next_batch_is_read_and_mapped_while_one_is_in_flight(
    tmp_path: Path, erp: ToyAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first push waits until the engine has mapped the last product, which comes after the first batch: with
    # pushes made in the engine's own thread it would wait out its timeout and the sync would fail.
    mapped_last = threading.Event()
    original = ToyProducts.map

    def map_and_tell(self: ToyProducts, item: Any) -> Any:
        if item.id == 7:
            mapped_last.set()
        return original(self, item)

    class InFlightSink(RecordingSink):
        def push(self, batch: Batch) -> Ack:
            if not self.batches and not mapped_last.wait(10):
                raise SinkError("the engine did not go on while a batch was in flight", permanent=True)
            return super().push(batch)

    monkeypatch.setattr(ToyProducts, "map", map_and_tell)
    engine, _ = make_engine(tmp_path)
    engine.sink = sink = InFlightSink()
    result = engine.sync(erp, ["products"])[0]
    assert result.status == "ok" and result.batches == 2 and result.pushed == 7
    assert sorted(sink.pushed_keys()) == [f"p{i}" for i in range(1, 8)]
    assert engine.state.status()[0].pending_batches == 0  # both acknowledged before the run ended
