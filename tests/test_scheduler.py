"""The service: which jobs a config yields (pure), and a real `dealersync run` that stops cleanly on SIGTERM."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine
from structlog.testing import capture_logs

import scheduler
from connectors.logo.writer import LogoWriter
from dealersync.config import Config, cron_trigger, crontab_weekdays, parse_config
from engine.state import StateStore
from scenario.generate import build
from scheduler import build_jobs

DEALERSYNC = str(Path(sys.executable).parent / "dealersync")


ALL = (
    "accounts", "products", "product_images", "stock_levels", "discounts", "price_lists", "risk_limits", "orders",
    "invoices",
    "collections", "account_ledger", "stock_movements", "dealer_kpis", "account_balances",
)  # fmt: skip


def config(tmp_path: Path, **source: object) -> Config:
    raw = {
        "sink": {"kind": "file", "path": "./feed"},
        "sources": [
            {"name": "logo-main", "kind": "logo", "url": "sqlite:///logo.db", "firm": 1, "periods": [1], **source}
        ],
    }
    return parse_config(raw, tmp_path / "dealersync.yaml", env={})


def test_one_interval_job_by_default(tmp_path: Path) -> None:
    (job,) = build_jobs(config(tmp_path))
    assert job.id == "logo-main/default" and job.streams == ALL and not job.reconcile and job.run_at_start
    trigger = job.trigger()
    assert type(trigger).__name__ == "IntervalTrigger"
    assert trigger.interval == dt.timedelta(minutes=15)


def test_overrides_disabled_streams_and_reconcile(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        timezone="Europe/Istanbul",
        schedule={"cron": "*/10 6-22 * * 1-6"},
        streams={
            "stock_levels": {"schedule": {"interval": "5m"}},
            "risk_limits": {"schedule": {"interval": "5m"}},
            "discounts": {"enabled": False},
            "invoices": {"schedule": {"interval": "2h30m"}},
        },
        reconcile={"cron": "0 3 * * *"},
    )
    jobs = {job.id: job for job in build_jobs(cfg)}
    assert set(jobs) == {
        "logo-main/default", "logo-main/stock_levels+risk_limits", "logo-main/invoices", "logo-main/reconcile",
    }  # fmt: skip
    default = jobs["logo-main/default"]
    assert default.streams == (
        "accounts", "products", "product_images", "price_lists", "orders", "collections", "account_ledger",
        "stock_movements", "dealer_kpis", "account_balances",
    )  # fmt: skip
    cron = default.trigger()
    assert type(cron).__name__ == "CronTrigger" and str(cron.timezone) == "Europe/Istanbul"
    # Saturday 22:55 local -> next run Monday 06:00 local.
    start = dt.datetime(2024, 6, 1, 22, 55, tzinfo=cron.timezone)
    assert cron.get_next_fire_time(None, start) == dt.datetime(2024, 6, 3, 6, 0, tzinfo=cron.timezone)
    assert jobs["logo-main/stock_levels+risk_limits"].trigger().interval == dt.timedelta(minutes=5)
    assert jobs["logo-main/invoices"].trigger().interval == dt.timedelta(hours=2, minutes=30)
    reconcile = jobs["logo-main/reconcile"]
    assert reconcile.reconcile and not reconcile.run_at_start
    assert "discounts" not in reconcile.streams and len(reconcile.streams) == len(ALL) - 1
    assert all("discounts" not in job.streams for job in jobs.values())


def test_only_the_adapters_streams(tmp_path: Path) -> None:
    jobs = build_jobs(config(tmp_path), available={"logo-main": ["accounts", "invoices"]})
    assert [job.streams for job in jobs] == [("accounts", "invoices")]


def _runs(stderr: str) -> list[dict]:
    events = []
    for line in stderr.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def test_run_until_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEALERSYNC_DEBUG"}
    made = subprocess.run([DEALERSYNC, "demo", "--size", "500", "--dir", "demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    path = tmp_path / "demo" / "dealersync.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["logging"] = {"level": "INFO", "format": "json"}
    raw["sources"][0]["schedule"] = {"interval": "1s"}
    raw["sources"][0]["streams"] = {"stock_levels": {"schedule": {"interval": "1s"}}}
    raw["sources"][0]["reconcile"] = {"interval": "2s"}  # a third job over the same streams: must queue, not overlap
    path.write_text(yaml.safe_dump(raw))

    service = subprocess.Popen([DEALERSYNC, "run", "-c", str(path)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        time.sleep(6)
        service.send_signal(signal.SIGTERM)
        _, stderr = service.communicate(timeout=20)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, stderr[-3000:]
    events = _runs(stderr)
    runs = [e for e in events if e.get("event") in ("stream.done", "stream.failed", "stream.skipped")]
    # Every stream the Logo adapter offers (product images are not among them yet) ran at least once.
    assert len({(r["stream"]) for r in runs}) == len(ALL) - 1, "every stream ran at least once"
    assert sum(1 for r in runs if r["stream"] == "stock_levels") >= 2, "the 1s schedule repeats"
    assert all(r["event"] != "stream.failed" for r in runs), [r for r in runs if r["event"] == "stream.failed"]
    assert all(r.get("job") for r in runs), "each run's log line names its job"
    assert any(e.get("event") == "scheduler.stopped" for e in events)

    # Never two runs of one source's streams at once: every start is followed by its own end before the next start.
    running: str | None = None
    for event in events:
        if event.get("event") == "stream.start":
            assert running is None, f"{event['stream']} started while {running} was running"
            running = event["stream"]
        elif event.get("event") in ("stream.done", "stream.failed"):
            assert running == event["stream"]
            running = None


@pytest.mark.parametrize(
    ("field", "expected"),
    [("*", "*"), ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("5-7", "fri,sat,sun"),
     ("fri-sun", "fri,sat,sun"), ("*/2", "tue,thu,sat,sun"), ("6,0", "sat,sun"), ("0-6", "*")],
)  # fmt: skip
def test_crontab_weekdays_use_sunday_zero(field: str, expected: str) -> None:
    # APScheduler 3 counts Monday as 0; operators write crontab, where 1-5 is Monday to Friday.
    assert crontab_weekdays(field) == expected


def test_cron_trigger_weekdays_in_local_time() -> None:
    trigger = cron_trigger("*/10 6-22 * * 1-6", "Europe/Istanbul")
    saturday_night = dt.datetime(2024, 6, 1, 22, 55, tzinfo=trigger.timezone)
    assert trigger.get_next_fire_time(None, saturday_night) == dt.datetime(2024, 6, 3, 6, 0, tzinfo=trigger.timezone)
    with pytest.raises(ValueError):
        cron_trigger("0 3 * *", "UTC")


def test_a_locked_state_store_fails_the_job_in_one_line(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'logo.db'}")
    writer = LogoWriter(engine, firm=1, period=1)
    writer.create_tables()
    writer.write(build(invoice_lines=300))
    engine.dispose()
    raw = {
        "state": {"url": "sqlite:///state.db?timeout=0.3"},
        "sink": {"kind": "file", "path": "./feed", "fsync": False},
        "sources": [
            {"name": "logo-main", "kind": "logo", "url": "sqlite:///logo.db", "firm": 1, "periods": [1],
             "discount_view": "DEALERSYNC_DISCOUNTS", "schedule": {"interval": "1h"}}
        ],
    }  # fmt: skip
    cfg = parse_config(raw, tmp_path / "dealersync.yaml", env={})
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.create()
    store.close()
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    stop = threading.Event()
    try:
        with capture_logs() as events:
            service = threading.Thread(target=scheduler.run, args=(cfg,), kwargs={"stop_event": stop, "grace": 1})
            service.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(e["event"] == "job.done" for e in events):
                time.sleep(0.05)
            stop.set()
            service.join(30)
    finally:
        holder.rollback()
        holder.close()
    failed = [e for e in events if e["event"] == "job.failed"]
    assert len(failed) == 1, failed  # the job's other streams would only meet the same lock
    assert "is locked" in failed[0]["error"] and "exc_info" not in failed[0]
