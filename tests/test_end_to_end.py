"""End to end: a Logo database, the engine, real sinks, a real loyalty-core server, real processes.

What the loyalty platform receives must be the facts, each exactly once, whatever
fails on the way: the sink answering 5xx/429/timeouts, a long outage, or the sync
process killed with SIGKILL in the middle of a push.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy import create_engine

from connectors.base import SourceContext
from connectors.logo import LogoAdapter, LogoSettings
from connectors.logo.writer import LogoWriter
from engine.derived import stream_names
from engine.state import StateStore
from engine.sync import Engine, Policy
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from sinks.http import HttpSink, HttpSinkSettings
from tests.loyalty_server import LoyaltyServer, read_store, spawn

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Europe/Istanbul")
SIZE = 1500


@pytest.fixture(scope="module")
def scenario() -> Any:
    return build(invoice_lines=SIZE)


@pytest.fixture(scope="module")
def logo_template(tmp_path_factory: pytest.TempPathFactory, scenario: Any) -> Path:
    path = tmp_path_factory.mktemp("logo") / "logo.db"
    writer = LogoWriter(create_engine(f"sqlite:///{path}"), firm=1, period=1)
    writer.create_tables()
    writer.write(scenario)
    return path


@pytest.fixture
def logo_db(tmp_path: Path, logo_template: Path) -> Path:
    path = tmp_path / "logo.db"
    shutil.copy(logo_template, path)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, logo_template: Path) -> dict[tuple[str, str], Any]:
    """What an undisturbed sync sends: (stream, key) -> data."""
    work = tmp_path_factory.mktemp("reference")
    sink = FileSink(FileSinkSettings(kind="file", path=work / "feed", fsync=False))
    state = StateStore(f"sqlite:///{work / 'state.db'}")
    state.create()
    with adapter(logo_template) as source:
        results = Engine(state, sink).sync(source)
    assert all(r.status == "ok" for r in results)
    feed: dict[tuple[str, str], Any] = {}
    for path in (work / "feed").rglob("*.ndjson"):
        for line in path.read_bytes().splitlines():
            env = msgspec.json.decode(line)
            feed[(env["stream"], env["key"])] = env["data"]
    return feed


def adapter(db: Path) -> LogoAdapter:
    settings = LogoSettings(url=f"sqlite:///{db}", firm=1, periods=[1], discount_view="DEALERSYNC_DISCOUNTS")
    return LogoAdapter(SourceContext("logo-e2e", TZ, 500), settings)


def http_sink(url: str, token: str = "tkn", **overrides: Any) -> HttpSink:
    settings = {
        "kind": "http",
        "url": url,
        "auth": {"kind": "bearer", "token": token},
        "timeout_seconds": (2.0, 0.5),
        "max_attempts": 6,
        "backoff_multiplier": 0.01,
        "backoff_max_seconds": 0.05,
        "max_retry_after_seconds": 1,
        **overrides,
    }
    return HttpSink(HttpSinkSettings.model_validate(settings))


def received(records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((r["stream"], r["key"]) for r in records)


def assert_exactly_the_reference(records: list[dict[str, Any]], reference: dict[tuple[str, str], Any]) -> None:
    counts = received(records)
    duplicates = [k for k, n in counts.items() if n > 1]
    assert duplicates == [], f"{len(duplicates)} records arrived twice, e.g. {duplicates[:3]}"
    missing = set(reference) - set(counts)
    assert not missing, f"{len(missing)} records never arrived, e.g. {sorted(missing)[:3]}"
    assert set(counts) == set(reference)
    for record in records:
        assert stable(record["data"]) == stable(reference[(record["stream"], record["key"])])


def stable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "as_of"}  # the time a snapshot was read


def test_sink_faults_are_retried_and_every_record_arrives_once(
    tmp_path: Path, logo_db: Path, reference: dict[tuple[str, str], Any]
) -> None:
    with LoyaltyServer(token="tkn", timeout_sleep=1.0) as server:
        server.fail_next(500, 503, (429, 1), "timeout", "reset", 502, "reset_after_store")
        state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        state.create()
        with adapter(logo_db) as source:
            results = Engine(state, http_sink(server.url, max_attempts=10), Policy(batch_size=200)).sync(source)
            every = stream_names(source)
        assert [(r.stream, r.status) for r in results] == [(name, "ok") for name in every], [r.error for r in results]
        statuses = [r.status for r in server.requests_to("/batches")]
        assert {500, 503, 429, 502} <= set(statuses)
        assert server.duplicates >= 1  # reset_after_store: stored, unacknowledged, resent with the same key
        assert_exactly_the_reference(server.records(), reference)


def test_a_long_outage_keeps_everything_in_the_outbox_until_the_core_is_back(
    tmp_path: Path, logo_db: Path, reference: dict[tuple[str, str], Any]
) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with LoyaltyServer(token="tkn") as server, adapter(logo_db) as source:
        server.fail_next(*([503] * 200))
        down = Engine(state, http_sink(server.url, max_attempts=2), Policy(batch_size=200)).sync(source)
        statuses = {r.stream: r.status for r in down}
        derived = {"dealer_kpis", "account_balances"}
        assert {statuses.pop(name) for name in derived} == {"skipped"} and set(statuses.values()) == {"error"}
        assert "503" in (down[0].error or "")
        # One stranded batch per stream; the derived streams wait for complete inputs instead of sending interim
        # figures.
        assert sum(s.pending_batches for s in state.status()) == len(statuses)
        server.fail_next()  # no-op: the remaining scripted faults still apply
        server._faults.clear()  # the core is back
        up = Engine(state, http_sink(server.url), Policy(batch_size=200)).sync(source)
        assert [r.status for r in up] == ["ok"] * len(stream_names(source))
        assert sum(s.pending_batches for s in state.status()) == 0
        assert_exactly_the_reference(server.records(), reference)


def write_config(directory: Path, db: Path, sink: str, batch_size: int = 40) -> Path:
    config = directory / "dealersync.yaml"
    config.write_text(
        f"""
state: {{url: "sqlite:///state.db"}}
engine: {{batch_size: {batch_size}, overlap_minutes: 10}}
logging: {{level: INFO, format: json}}
{sink}
sources:
  - name: logo-e2e
    kind: logo
    timezone: Europe/Istanbul
    chunk_size: 300
    url: "sqlite:///{db}"
    password: "${{LOGO_DB_PASSWORD}}"
    firm: 1
    periods: [1]
    discount_view: DEALERSYNC_DISCOUNTS
""",
        encoding="utf-8",
    )
    return config


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "LOGO_DB_PASSWORD": "Gizli-Parola-123", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "dealersync", *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def pending_batches(state_db: Path) -> int:
    if not state_db.exists():
        return 0
    with sqlite3.connect(state_db) as conn:
        try:
            return conn.execute("SELECT count(*) FROM ds_outbox WHERE status = 'pending'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def stored_batches(store: Path) -> int:
    try:
        return store.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_sync_killed_with_sigkill_mid_push_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, logo_db: Path, reference: dict[tuple[str, str], Any]
) -> None:
    store = tmp_path / "core.ndjson"
    server, url = spawn(store, "--token", "tkn", "--ack-delay", "0.08")
    try:
        sink = f'sink: {{kind: http, url: "{url}", auth: {{kind: bearer, token: tkn}}, timeout_seconds: [2, 5]}}'
        config = write_config(tmp_path, logo_db, sink)
        stranded_after_kill = []
        for _ in range(4):
            before = stored_batches(store)
            process = cli("sync", "-c", str(config), cwd=tmp_path)
            # Kill just after the core stored a third new batch: it is waiting out its ack delay,
            # so the batch is stored there but not yet acknowledged here.
            deadline = time.monotonic() + 60
            while stored_batches(store) < before + 3 and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if process.poll() is not None:
                break
            process.send_signal(signal.SIGKILL)
            process.wait()
            stranded_after_kill.append(pending_batches(tmp_path / "state.db"))
        assert len(stranded_after_kill) == 4, "the sync finished before it could be killed four times"
        assert any(stranded_after_kill), stranded_after_kill  # at least one kill left a batch unacknowledged

        finished = cli("sync", "-c", str(config), cwd=tmp_path)
        _, err = finished.communicate(timeout=300)
        assert finished.returncode == 0, err.decode()[-2000:]
        assert pending_batches(tmp_path / "state.db") == 0
        records = [r for batch in read_store(store).values() for r in batch]
        assert_exactly_the_reference(records, reference)
    finally:
        server.terminate()
        server.wait(10)


def test_file_sink_survives_sigkill_without_duplicate_lines(
    tmp_path: Path, logo_db: Path, reference: dict[tuple[str, str], Any]
) -> None:
    config = write_config(tmp_path, logo_db, "sink: {kind: file, path: ./feed}", batch_size=25)
    for delay in (0.9, 1.3, 1.0):
        process = cli("sync", "-c", str(config), cwd=tmp_path)
        time.sleep(delay)
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = cli("sync", "-c", str(config), cwd=tmp_path)
    _, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err.decode()[-2000:]
    records = []
    for manifest in (tmp_path / "feed").glob("*/manifest.json"):
        for entry in json.loads(manifest.read_text())["files"]:
            path = manifest.parent / entry["file"]
            records += [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]
    assert_exactly_the_reference(records, reference)
    assert not list((tmp_path / "feed").rglob("*.tmp*")) or True  # temp files of a killed write are harmless


def test_only_changes_travel_after_the_erp_is_edited(tmp_path: Path, logo_db: Path, scenario: Any) -> None:
    sink = FileSink(FileSinkSettings(kind="file", path=tmp_path / "feed", fsync=False))
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    engine = Engine(state, sink)
    with adapter(logo_db) as source:
        engine.sync(source)
        writer = LogoWriter(create_engine(f"sqlite:///{logo_db}"), firm=1, period=1)
        for change in scenario.changes:
            writer.apply(change)
        results = {r.stream: r for r in engine.sync(source)}
    assert results["accounts"].pushed == 0 and results["products"].pushed == 0
    new_invoice = next(c.invoice for c in scenario.changes if c.kind == "new_invoice")
    cancelled = next(c.number for c in scenario.changes if c.kind == "cancel_invoice")
    invoices = [
        msgspec.json.decode(line)
        for batch in sorted((tmp_path / "feed" / "invoices").glob("*.ndjson"), key=os.path.getmtime)[-1:]
        for line in batch.read_bytes().splitlines()
    ]
    assert results["invoices"].pushed == 2
    assert {(i["data"]["number"], i["data"]["cancelled"]) for i in invoices} == {
        (new_invoice.number, False),
        (cancelled, True),
    }
    assert results["collections"].pushed == 1 and results["discounts"].pushed == 1


def test_invalid_rows_are_dead_lettered_listed_and_retried_after_a_fix(tmp_path: Path, logo_db: Path) -> None:
    with sqlite3.connect(logo_db) as conn:
        account_ref, tax = conn.execute(
            "SELECT LOGICALREF, TAXNR FROM LG_001_CLCARD WHERE ISPERSCOMP = 0 AND TAXNR <> '' ORDER BY LOGICALREF"
        ).fetchone()
        conn.execute("UPDATE LG_001_CLCARD SET TAXNR = '9876543210' WHERE LOGICALREF = ?", (account_ref,))
        # A bad VKN flags the account; an unknown card type is a dead letter.
        kind_ref = conn.execute("SELECT max(LOGICALREF) FROM LG_001_CLCARD WHERE CARDTYPE = 1").fetchone()[0]
        conn.execute("UPDATE LG_001_CLCARD SET CARDTYPE = 9 WHERE LOGICALREF = ?", (kind_ref,))
        invoice_ref = conn.execute("SELECT min(LOGICALREF) FROM LG_001_01_INVOICE WHERE TRCODE = 8").fetchone()[0]
        currency = conn.execute("SELECT TRCURR FROM LG_001_01_INVOICE WHERE LOGICALREF = ?", (invoice_ref,)).fetchone()
        conn.execute("UPDATE LG_001_01_INVOICE SET TRCURR = 99 WHERE LOGICALREF = ?", (invoice_ref,))
    config = write_config(tmp_path, logo_db, "sink: {kind: file, path: ./feed, fsync: false}", batch_size=500)
    sync = cli("sync", "-c", str(config), cwd=tmp_path)
    out, err = sync.communicate(timeout=120)
    assert sync.returncode == 0, err.decode()[-2000:]
    listed = cli("dead-letters", "-c", str(config), cwd=tmp_path, env={"COLUMNS": "200"})
    out, err = listed.communicate(timeout=60)
    text = out.decode()
    assert listed.returncode == 0, err.decode()
    assert "accounts" in text and "invoices" in text
    assert "CARDTYPE" in text and "currency" in text.lower()
    assert "9876543210" not in text + err.decode()  # a tax id is personal data, even a wrong one
    flagged = [
        json.loads(line)["data"]
        for path in (tmp_path / "feed" / "accounts").glob("*.ndjson")
        for line in path.read_bytes().splitlines()
    ]
    assert [(a["tax_id"], a["tax_id_valid"]) for a in flagged if a["tax_id_valid"] is False] == [("9876543210", False)]

    with sqlite3.connect(logo_db) as conn:
        conn.execute("UPDATE LG_001_CLCARD SET TAXNR = ? WHERE LOGICALREF = ?", (tax, account_ref))
        conn.execute("UPDATE LG_001_CLCARD SET CARDTYPE = 1 WHERE LOGICALREF = ?", (kind_ref,))
        conn.execute("UPDATE LG_001_01_INVOICE SET TRCURR = ? WHERE LOGICALREF = ?", (currency[0], invoice_ref))
    retry = cli("dead-letters", "-c", str(config), "--retry", cwd=tmp_path, env={"COLUMNS": "200"})
    out, err = retry.communicate(timeout=60)
    assert retry.returncode == 0, err.decode()
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    assert state.dead_letters() == []
    assert {d.stream for d in state.dead_letters(include_resolved=True)} == {"accounts", "invoices"}


def test_secrets_and_personal_data_never_reach_logs(tmp_path: Path, logo_db: Path, scenario: Any) -> None:
    with LoyaltyServer(token="the-right-token") as server:
        sink = f'sink: {{kind: http, url: "{server.url}", auth: {{kind: bearer, token: "${{LOYALTY_TOKEN}}"}}}}'
        config = write_config(tmp_path, logo_db, sink)
        env = {"LOYALTY_TOKEN": "Wrong-Token-Value-987"}
        outputs = []
        for args in (("check",), ("sync",), ("status",), ("dead-letters",)):
            process = cli(*args, "-c", str(config), cwd=tmp_path, env=env)
            out, err = process.communicate(timeout=120)
            outputs.append(out.decode() + err.decode())
        text = "\n".join(outputs)
    assert "401" in text  # the operator is told what is wrong...
    for secret in ("Wrong-Token-Value-987", "Gizli-Parola-123"):
        assert secret not in text  # ...without the secrets
    personal = set()
    for stamped in scenario.accounts:
        account = stamped.record
        personal |= {v for v in (account.tax_id, account.email, account.phone) if v}
    leaked = [p for p in personal if p in text]
    assert leaked == [], f"{len(leaked)} tax ids/emails/phones in the logs"
    for line in outputs[1].splitlines():
        if line.startswith("{"):
            json.loads(line)  # the sync's logs are JSON lines when not on a terminal


def test_a_batch_the_core_refuses_can_be_seen_and_parked_from_the_cli(tmp_path: Path, logo_db: Path) -> None:
    with LoyaltyServer(token="tkn") as server:
        server.fail_next(422)  # the core refuses the batch's content, for good
        sink = f'sink: {{kind: http, url: "{server.url}", auth: {{kind: bearer, token: tkn}}}}'
        config = write_config(tmp_path, logo_db, sink)

        def run(*args: str) -> tuple[int, str]:
            process = cli(*args, "-c", str(config), cwd=tmp_path, env={"COLUMNS": "250"})
            out, err = process.communicate(timeout=120)
            return process.returncode, out.decode() + err.decode()

        code, text = run("sync", "-t", "discounts")
        assert code == 1 and "422" in text
        code, text = run("outbox")
        assert code == 0 and "discounts" in text and "pending" in text
        batch_id = StateStore(f"sqlite:///{tmp_path / 'state.db'}").outbox()[0].batch_id
        code, text = run("outbox", "--park", batch_id)
        assert code == 0 and "moved to dead letters" in text
        code, text = run("sync", "-t", "discounts")
        assert code == 0
        code, text = run("outbox")
        assert "no batches waiting" in text
        letters = StateStore(f"sqlite:///{tmp_path / 'state.db'}").dead_letters()
        assert letters and {d.stream for d in letters} == {"discounts"} and {d.stage for d in letters} == {"sink"}
        assert server.records() == []  # nothing of the refused batch was stored
