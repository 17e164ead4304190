"""The kill -9 matrix (issue 10): ordinary ERP edits between and during real `dealersync sync` processes that are
killed with SIGKILL at random moments, against the test suite's own idempotent receiver (tests/loyalty_server.py, a
process of its own that is sometimes killed and restarted mid-request too), then one uninterrupted sync, and the
receiver's state compared with a fresh full refresh of the final ERP database.

The receiver applies records by (stream, key): an upsert replaces, a delete removes, batches in the order the
receiver stored them. The books:

- lost: a key the fresh refresh has and the receiver does not;
- stale: a key both have whose data differ (`as_of`, the time a snapshot was read, aside);
- extra: a key the receiver holds and the fresh refresh does not (a delete never applied);
- duplicated: a batch the receiver stored twice (its Idempotency-Key honoured once only) or a record applied
  twice within one batch;
- resent (reported beside them): a record sent again under another batch id with the content the receiver
  already held for its key, which the engine's content hashes exist to prevent.

Every choice (edits, batch sizes, kill moments) comes from one random.Random(seed), drawn before the timing can
influence it, so a failing seed replays the same edits and aims at the same moments. `kill_matrix` is what the CI
test (tests/test_adversarial_kills.py) and a long-form script call.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa

from connectors.base import SourceContext
from connectors.logo import codes as logo_codes
from connectors.registry import load
from dealersync.logs import setup
from engine.state import StateStore
from engine.sync import Engine
from scenario.facts import Change, Scenario
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.adversarial.erps import ERPS, Erp
from tests.loyalty_server import spawn

__all__ = ["Comparison", "KillFigures", "StoredBatch", "compare", "fresh_refresh", "kill_matrix", "stored_batches"]

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "kills"
TOKEN = "kills-token"
INVOICE_LINES = 1500  # the end-to-end tests' size: a no-change sync of it takes about a second
EXAMPLES = 8  # problems quoted in KillFigures.examples; the counts cover all of them
SYNC_DEADLINE = 120.0  # seconds a sync child may run before the matrix gives up on it (a hang is a finding too)


@dataclass
class KillFigures:
    """What a matrix run did and found. lost, stale, extra and duplicated must all be 0."""

    trials: int = 0
    kills: int = 0  # sync processes killed with SIGKILL while running
    receiver_kills: int = 0  # receiver processes killed with SIGKILL (and restarted) while a sync ran
    edits: int = 0  # ERP edits applied (rows inserted, changed or deleted, one change kind each)
    lost: int = 0
    stale: int = 0
    extra: int = 0
    duplicated: int = 0
    # Records sent again, under another batch id, with the very content the receiver already held for their key:
    # harmless to an idempotent receiver, but the content hashes are there to keep them from travelling.
    resent: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredBatch:
    """One batch as the receiver stored it."""

    batch_id: str
    stream: str
    records: list[dict[str, Any]]


@dataclass
class Comparison:
    lost: int = 0
    stale: int = 0
    extra: int = 0
    duplicated: int = 0
    resent: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append(problem)


Key = tuple[str, str]


def stable(data: Any) -> Any:
    """A record's data without the fields that change on every read (a snapshot's as_of)."""
    return {k: v for k, v in data.items() if k != "as_of"} if isinstance(data, dict) else data


def compare(reference: Mapping[Key, Any], batches: Sequence[StoredBatch]) -> Comparison:
    """Fold the receiver's batches, in the order it stored them, into (stream, key) -> data, and compare that with
    what a fresh full refresh sends (`reference`, (stream, key) -> data)."""
    out = Comparison()
    held: dict[Key, Any] = {}
    seen: set[str] = set()
    for batch in batches:
        if batch.batch_id in seen:
            out.duplicated += 1
            out.note(f"duplicated: batch {batch.batch_id} ({batch.stream}) stored more than once")
        seen.add(batch.batch_id)
        twice = [k for k, n in Counter((r["stream"], r["key"]) for r in batch.records).items() if n > 1]
        for key in twice:
            out.duplicated += 1
            out.note(f"duplicated: {key} applied twice within batch {batch.batch_id}")
        # Applied even when a duplicate: that is what a receiver storing it twice did.
        for record in batch.records:
            key = (record["stream"], record["key"])
            if record["op"] == "delete":
                held.pop(key, None)
                continue
            if key in held and stable(held[key]) == stable(record["data"]):
                out.resent += 1
                out.note(f"resent: {key} in batch {batch.batch_id} with the content the receiver already held")
            held[key] = record["data"]
    for key in sorted(reference.keys() - held.keys()):
        out.lost += 1
        out.note(f"lost: {key}")
    for key in sorted(held.keys() - reference.keys()):
        out.extra += 1
        out.note(f"extra: {key} (the ERP no longer has it)")
    for key in sorted(held.keys() & reference.keys()):
        if stable(held[key]) != stable(reference[key]):
            out.stale += 1
            changed = sorted(
                f for f in {*held[key], *reference[key]} - {"as_of"} if held[key].get(f) != reference[key].get(f)
            )
            out.note(f"stale: {key} differs in {', '.join(changed)}")
    return out


def stored_batches(store: Path) -> list[StoredBatch]:
    """Every batch line of a receiver's store file, in order, duplicates kept (read_store() keys them by batch id,
    which would hide a batch stored twice)."""
    out = []
    if not store.exists():
        return out
    for raw in store.read_bytes().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            break  # torn by a kill mid-write: the receiver never acknowledged it (see _repair)
        out.append(StoredBatch(line["batch_id"], line["stream"], line["records"]))
    return out


def fresh_refresh(erp: Erp, folder: Path, scenario: Scenario, work: Path) -> dict[Key, Any]:
    """What a full refresh of the ERP database in `folder` sends, with a new state store: (stream, key) -> data."""
    work.mkdir(parents=True)
    cls = load(erp.name)
    adapter = cls(SourceContext(SOURCE, ZoneInfo(scenario.timezone), 200), cls.Settings(**erp.settings(folder)))
    state = StateStore(f"sqlite:///{work / 'state.db'}")
    state.create()
    sink = FileSink(FileSinkSettings(kind="file", path=work / "feed", fsync=False))
    try:
        with adapter:
            results = Engine(state, sink).sync(adapter)
    finally:
        state.engine.dispose()
    failed = [f"{r.stream}: {r.error}" for r in results if r.status != "ok"]
    if failed:
        raise RuntimeError(f"the fresh full refresh failed: {failed}")
    feed: dict[Key, Any] = {}
    for manifest in sorted((work / "feed").glob("*/manifest.json")):
        for entry in json.loads(manifest.read_bytes())["files"]:
            for line in (manifest.parent / entry["file"]).read_bytes().splitlines():
                env = msgspec.json.decode(line)
                if env["op"] == "delete":
                    feed.pop((env["stream"], env["key"]), None)
                else:
                    feed[(env["stream"], env["key"])] = env["data"]
    return feed


# --- the ERP's edits ------------------------------------------------------------------------------------------


class _Editor:
    """Ordinary ERP edits: the scenario writer's own change kinds (a new invoice, a cancellation, a new collection,
    a discount's new value) and, for Logo, what it has no change kind for, done in SQL: an account renamed, a stock
    quantity changed, a stock row or an account's risk limit deleted (and later put back), a limit changed."""

    def __init__(self, erp: Erp, database: Path, scenario: Scenario) -> None:
        self.erp = erp
        self.engine = sa.create_engine(f"sqlite:///{database}", connect_args={"timeout": 30})
        self.writer = erp.writer(self.engine)
        self.tz = ZoneInfo(scenario.timezone)
        # Copies of sales and collections of the history, renumbered: documents exactly like the ERP's own.
        # (Cancelled ones left out: an ERP that deletes what it cancels, as some Netsis installs do, never has them.)
        self.sales = [s.record for s in scenario.invoices() if s.record.kind == "sale" and not s.record.cancelled]
        self.collections = [s.record for s in scenario.collections() if not s.record.cancelled]
        self.live = sorted(s.number for s in self.sales)
        self.percent = sorted(s.record.code for s in scenario.discounts if s.record.kind == "percent")
        self.serial = 0
        self.removed_stock: list[tuple[Any, ...]] = []
        self.removed_limits: list[tuple[Any, ...]] = []
        kinds: dict[str, Callable[[random.Random], Callable[[], None]]] = {
            "new_invoice": self._new_invoice,
            "cancel_invoice": self._cancel_invoice,
            "new_collection": self._new_collection,
            "discount_value": self._discount_value,
        }
        weights = {"new_invoice": 3, "cancel_invoice": 2, "new_collection": 2, "discount_value": 2}
        if getattr(getattr(self.writer, "t", None), "cancel_column", "") is None:
            # This Netsis install deletes the invoice it cancels: a physical delete of an incremental stream, which
            # only a reconcile finds (by design), and the final sync here is a plain one, so that a reconcile
            # cannot mend what a killed run lost.
            del kinds["cancel_invoice"], weights["cancel_invoice"]
        if erp.name == "logo":
            kinds |= {
                "rename_account": self._rename_account,
                "stock_quantity": self._stock_quantity,
                "delete_stock": self._delete_stock,
                "restore_stock": self._restore_stock,
                "risk_limit": self._risk_limit,
                "delete_limit": self._delete_limit,
                "restore_limit": self._restore_limit,
            }
            weights |= {
                "rename_account": 2,
                "stock_quantity": 3,
                "delete_stock": 1,
                "restore_stock": 1,
                "risk_limit": 2,
                "delete_limit": 1,
                "restore_limit": 1,
            }
        self.kinds = kinds
        self.names = sorted(kinds)
        self.weights = [weights[n] for n in self.names]

    def plan(self, rng: random.Random, count: int) -> list[Callable[[], None]]:
        """`count` edits chosen now (every random draw happens here), applied later by calling them."""
        return [self.kinds[name](rng) for name in rng.choices(self.names, self.weights, k=count)]

    def close(self) -> None:
        self.engine.dispose()

    def _now(self) -> dt.datetime:
        # Stamped with the real clock: the engine's cursors follow it, and an edit stamped in the past would be a
        # backdated edit, which only a reconcile can see.
        return dt.datetime.now(self.tz).replace(microsecond=0)

    def _next(self, prefix: str, digits: int) -> str:
        self.serial += 1
        return f"{prefix}{9 * 10 ** (digits - 1) + self.serial}"

    def _apply(self, change: Callable[[dt.datetime], Change]) -> Callable[[], None]:
        return lambda: self.writer.apply(change(self._now()))

    def _new_invoice(self, rng: random.Random) -> Callable[[], None]:
        model = rng.choice(self.sales)
        number = self._next("SF2026", 6)
        invoice = msgspec.structs.replace(
            model,
            number=number,
            document_no=self._next("EFA2026", 9) if model.document_no else None,
            e_invoice_uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)) if model.e_invoice_uuid else None,
        )
        self.live.append(number)
        return self._apply(lambda at: Change("new_invoice", at, invoice=invoice))

    def _cancel_invoice(self, rng: random.Random) -> Callable[[], None]:
        number = self.live.pop(rng.randrange(len(self.live)))
        return self._apply(lambda at: Change("cancel_invoice", at, number=number))

    def _new_collection(self, rng: random.Random) -> Callable[[], None]:
        collection = msgspec.structs.replace(rng.choice(self.collections), number=self._next("TH2026", 6))
        return self._apply(lambda at: Change("new_collection", at, collection=collection))

    def _discount_value(self, rng: random.Random) -> Callable[[], None]:
        code, value = rng.choice(self.percent), Decimal(rng.randint(100, 4000)).scaleb(-2)
        return self._apply(lambda at: Change("discount_value", at, number=code, value=value))

    # Logo in SQL. Rows are picked when the edit is applied (the database then is what the seed made it), by a
    # number drawn now.

    def _sql(self, statement: Callable[[sa.Connection], None]) -> Callable[[], None]:
        def run() -> None:
            with self.engine.begin() as conn:
                statement(conn)

        return run

    def _modified(self) -> dict[str, Any]:
        m = self._now()
        return {
            "CAPIBLOCK_MODIFIEDBY": 1,
            "CAPIBLOCK_MODIFIEDDATE": dt.datetime(m.year, m.month, m.day),
            "CAPIBLOCK_MODIFIEDHOUR": m.hour,
            "CAPIBLOCK_MODIFIEDMIN": m.minute,
            "CAPIBLOCK_MODIFIEDSEC": m.second,
        }

    def _pick(self, conn: sa.Connection, query: sa.Select[Any], draw: float) -> Any:
        rows = conn.execute(query).all()
        return rows[int(draw * len(rows))] if rows else None

    def _rename_account(self, rng: random.Random) -> Callable[[], None]:
        draw, name = rng.random(), f"Bayi {rng.randint(1, 10**6)} Ticaret A.Ş."
        c = self.writer.t.CLCARD.c

        def edit(conn: sa.Connection) -> None:
            cards = sa.select(c.LOGICALREF).where(c.CODE != logo_codes.PLACEHOLDER_CODE).order_by(c.LOGICALREF)
            row = self._pick(conn, cards, draw)
            conn.execute(
                self.writer.t.CLCARD.update()
                .where(c.LOGICALREF == row.LOGICALREF)
                .values(DEFINITION_=name, **self._modified())
            )

        return self._sql(edit)

    def _stock_quantity(self, rng: random.Random) -> Callable[[], None]:
        draw, onhand = rng.random(), float(rng.randint(0, 5000))
        g = self.writer.t.GNTOTST.c

        def edit(conn: sa.Connection) -> None:
            levels = sa.select(g.STOCKREF, g.INVENNO).where(g.INVENNO >= 0).order_by(g.STOCKREF, g.INVENNO)
            row = self._pick(conn, levels, draw)
            where = (g.STOCKREF == row.STOCKREF) & (g.INVENNO == row.INVENNO)
            conn.execute(self.writer.t.GNTOTST.update().where(where).values(ONHAND=onhand))

        return self._sql(edit)

    def _delete_stock(self, rng: random.Random) -> Callable[[], None]:
        draw = rng.random()
        table = self.writer.t.GNTOTST
        g = table.c

        def edit(conn: sa.Connection) -> None:
            query = sa.select(table).where(g.INVENNO >= 0).order_by(g.STOCKREF, g.INVENNO)
            row = self._pick(conn, query, draw)
            self.removed_stock.append(tuple(row))
            conn.execute(table.delete().where((g.STOCKREF == row.STOCKREF) & (g.INVENNO == row.INVENNO)))

        return self._sql(edit)

    def _restore_stock(self, rng: random.Random) -> Callable[[], None]:
        draw, onhand = rng.random(), float(rng.randint(0, 5000))
        table = self.writer.t.GNTOTST

        def edit(conn: sa.Connection) -> None:
            if self.removed_stock:  # the same key comes back, with another quantity
                row = dict(
                    zip(table.c.keys(), self.removed_stock.pop(int(draw * len(self.removed_stock))), strict=True)
                )
                conn.execute(table.insert().values({**row, "ONHAND": onhand}))

        return self._sql(edit)

    def _risk_limit(self, rng: random.Random) -> Callable[[], None]:
        draw, limit = rng.random(), float(rng.randint(10, 900) * 1000)
        r = self.writer.t.CLRNUMS.c

        def edit(conn: sa.Connection) -> None:
            row = self._pick(conn, sa.select(r.LOGICALREF).order_by(r.LOGICALREF), draw)
            if row is not None:
                conn.execute(
                    self.writer.t.CLRNUMS.update().where(r.LOGICALREF == row.LOGICALREF).values(ACCRISKLIMIT=limit)
                )

        return self._sql(edit)

    def _delete_limit(self, rng: random.Random) -> Callable[[], None]:
        draw = rng.random()
        table = self.writer.t.CLRNUMS

        def edit(conn: sa.Connection) -> None:
            row = self._pick(conn, sa.select(table).order_by(table.c.LOGICALREF), draw)
            if row is not None:
                self.removed_limits.append(tuple(row))
                conn.execute(table.delete().where(table.c.LOGICALREF == row.LOGICALREF))

        return self._sql(edit)

    def _restore_limit(self, rng: random.Random) -> Callable[[], None]:
        draw = rng.random()
        table = self.writer.t.CLRNUMS

        def edit(conn: sa.Connection) -> None:
            if self.removed_limits:
                row = self.removed_limits.pop(int(draw * len(self.removed_limits)))
                conn.execute(table.insert().values(dict(zip(table.c.keys(), row, strict=True))))

        return self._sql(edit)


# --- the receiver ---------------------------------------------------------------------------------------------


class _Receiver:
    """tests/loyalty_server.py as its own process on one port for the whole run, so that a sync keeps reaching it
    across a restart; it reloads its store file on start and so dedups across restarts."""

    def __init__(self, store: Path, ack_delay: float) -> None:
        self.store = store
        self.ack_delay = ack_delay
        self.process, self.url = spawn(store, "--token", TOKEN, "--ack-delay", str(ack_delay))
        self.port = urlsplit(self.url).port

    def kill_and_restart(self, pause: float) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        _repair(self.store)
        time.sleep(pause)
        # The listening socket closed with the process; the server sets SO_REUSEADDR, so the port is free again.
        for attempt in range(50):
            try:
                self.process, _ = spawn(
                    self.store, "--token", TOKEN, "--ack-delay", str(self.ack_delay), "--port", str(self.port)
                )
                return
            except RuntimeError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _repair(store: Path) -> None:
    """Cut a line the kill tore mid-write: the restarted receiver appends after it, and its loader (and ours) stops
    at the first line that is not JSON, so every batch after it would be forgotten. A real core recovers its log
    the same way; the torn batch was never acknowledged, so the sync sends it again."""
    if not store.exists():
        return
    data = store.read_bytes()
    good = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            json.loads(line)
        except ValueError:
            break
        good += len(line)
    if good != len(data):
        with store.open("r+b") as handle:
            handle.truncate(good)


class _StoreWatch:
    """How many batches the receiver has stored, reading only what was appended since the last look."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.offset = 0
        self.count = 0

    def batches(self) -> int:
        try:
            with self.store.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                if size < self.offset:  # cut by _repair
                    self.offset = self.count = 0
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return 0
        complete = chunk.rfind(b"\n") + 1
        self.count += chunk.count(b"\n", 0, complete)
        self.offset += complete
        return self.count


# --- one run --------------------------------------------------------------------------------------------------


@contextmanager
def _state_database(state_url: str | None, work: Path) -> Iterator[str]:
    """The state store's URL: a SQLite file in `work`, or a fresh database on the PostgreSQL server of
    `state_url`, dropped afterwards, so that runs never see each other's state."""
    if state_url is None:
        yield f"sqlite:///{work / 'state.db'}"
        return
    url = sa.make_url(state_url)
    name = f"ds_kills_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _config(work: Path, erp: Erp, folder: Path, timezone: str, state_url: str, sink_url: str, batch: int) -> Path:
    settings = "\n".join(f"    {k}: {json.dumps(v)}" for k, v in erp.settings(folder).items())
    config = work / "dealersync.yaml"
    # JSON strings are YAML strings: the URLs need no quoting rules of their own.
    config.write_text(
        f"""
state: {{url: {json.dumps(state_url)}}}
engine: {{batch_size: {batch}, overlap_minutes: 10}}
logging: {{level: WARNING, format: json}}
sink:
  kind: http
  url: {json.dumps(sink_url)}
  auth: {{kind: bearer, token: {TOKEN}}}
  timeout_seconds: [2, 5]
  max_attempts: 40
  backoff_multiplier: 0.05
  backoff_max_seconds: 0.5
  max_retry_after_seconds: 1
sources:
  - name: {SOURCE}
    kind: {erp.name}
    timezone: {timezone}
    chunk_size: 200
{settings}
""",
        encoding="utf-8",
    )
    return config


def _sync(config: Path) -> subprocess.Popen[bytes]:
    """`dealersync sync` as a child process; its log goes to sync.err beside the config (a pipe nobody reads
    while it runs could fill and stall it)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with (config.parent / "sync.err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "dealersync", "sync", "-c", str(config)],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _log_tail(config: Path) -> str:
    return (config.parent / "sync.err").read_bytes().decode(errors="replace").strip()


@dataclass(frozen=True)
class _Plan:
    """One trial's choices, all drawn before it starts."""

    before: list[Callable[[], None]]  # edits applied before the sync starts
    during: list[Callable[[], None]]  # edits applied while it runs (after it, when it ended first)
    during_at: float  # seconds after the start
    batch_size: int
    kill: str  # "delay" | "batches" | "none": how the sync's kill is aimed
    kill_delay: float
    kill_batches: int  # new batches stored at the receiver
    kill_lag: float  # seconds from the receiver storing the kill_batches'th batch to the kill
    receiver_after: int | None  # kill the receiver once it stored this many new batches (None: leave it)
    receiver_pause: float


def _plan(rng: random.Random, editor: _Editor, first: bool) -> _Plan:
    before = editor.plan(rng, rng.randint(1, 8))
    during = editor.plan(rng, rng.randint(1, 5)) if rng.random() < 0.5 else []
    return _Plan(
        before=before,
        during=during,
        during_at=rng.uniform(0.2, 1.2),
        # Small batches make more pushes to aim at; not while the first full sync may still be under way (a
        # thousand records two at a time would take the whole budget).
        batch_size=rng.choice((20, 40, 80) if first else (2, 5, 10, 40)),
        kill=rng.choices(("delay", "batches", "none"), (4, 4, 2))[0],
        # A no-change sync of this ERP runs about a second, most of it starting Python: aimed within that.
        kill_delay=rng.uniform(0.3, 1.6),
        kill_batches=rng.randint(1, 4),
        # Past the receiver storing a batch: inside its ack delay (stored, not yet acknowledged), or just after
        # (acknowledged, the outbox not yet told), or while the next batch is being built.
        kill_lag=rng.choice((0.0, 0.0, rng.uniform(0.0, 0.06))),
        receiver_after=rng.randint(1, 3) if rng.random() < 0.3 else None,
        receiver_pause=rng.uniform(0.0, 0.4),
    )


def _trial(plan: _Plan, config: Path, receiver: _Receiver, watch: _StoreWatch, figures: KillFigures) -> str:
    """Run one trial; say what happened, for a progress line."""
    for edit in plan.before:
        edit()
    during = list(plan.during)
    receiver_after = plan.receiver_after
    start_count = watch.batches()
    started = time.monotonic()
    process = _sync(config)
    outcome = ""
    reached: float | None = None  # when the receiver had stored kill_batches new batches
    while process.poll() is None:
        elapsed = time.monotonic() - started
        stored = watch.batches() - start_count
        if reached is None and stored >= plan.kill_batches:
            reached = elapsed
        if during and elapsed >= plan.during_at:
            for edit in during:
                edit()
            outcome += f"{len(during)} edits at {elapsed:.2f} s; "
            during = []
        if receiver_after is not None and stored >= receiver_after:
            receiver.kill_and_restart(plan.receiver_pause)
            figures.receiver_kills += 1
            outcome += f"receiver killed after {stored} batches; "
            receiver_after = None
            continue
        aimed = (plan.kill == "delay" and elapsed >= plan.kill_delay) or (
            plan.kill == "batches" and reached is not None and elapsed >= reached + plan.kill_lag
        )
        if aimed or elapsed > SYNC_DEADLINE:
            process.send_signal(signal.SIGKILL)
            process.wait()
            figures.kills += 1
            outcome += f"sync killed at {elapsed:.2f} s after {stored} batches"
            if elapsed > SYNC_DEADLINE:
                _note(figures, f"trial {figures.trials}: the sync ran over {SYNC_DEADLINE:.0f} s and was killed")
            break
        time.sleep(0.005)
    if process.returncode != -signal.SIGKILL:
        outcome += f"sync exited {process.returncode} after {watch.batches() - start_count} batches"
        if process.returncode != 0:
            err = _log_tail(config)
            outcome += f" ({err.splitlines()[-1][:300] if err else 'no message'})"
    for edit in during:  # the sync ended first: the ERP gets the same edits, between runs
        edit()
    return outcome


def _note(figures: KillFigures, problem: str) -> None:
    if len(figures.examples) < EXAMPLES:
        figures.examples.append(problem)


def _lay(erp: Erp, folder: Path, scenario: Scenario) -> None:
    database = folder / erp.database
    engine = sa.create_engine(f"sqlite:///{database}")
    writer = erp.writer(engine)
    writer.create_tables()
    writer.write(scenario)
    engine.dispose()
    # WAL lets the edits made during a sync commit while it reads, as an ERP's server does, instead of the
    # writer and the reader waiting on each other's file locks.
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def kill_matrix(
    work: Path,
    trials: int,
    seed: int,
    state_url: str | None = None,
    erp: str = "logo",
    *,
    progress: Callable[[str], None] | None = None,
) -> KillFigures:
    """Run `trials` trials in `work` (created if missing; it should be empty), then one uninterrupted sync, and
    compare the receiver's state with a fresh full refresh. `state_url`: None for a SQLite state file in `work`, or
    a PostgreSQL URL whose server gets a fresh database for this run (dropped afterwards). `erp`: logo, mikro or
    netsis (the SQL edits beside the writer's change kinds are Logo's only). `progress` is given a line per trial."""
    rng = random.Random(seed)
    spec = ERPS[erp]
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "erp"
    folder.mkdir()
    scenario = build(invoice_lines=INVOICE_LINES)
    _lay(spec, folder, scenario)
    editor = _Editor(spec, folder / spec.database, scenario)
    figures = KillFigures()
    store = work / "core.ndjson"
    receiver = _Receiver(store, ack_delay=0.02)
    watch = _StoreWatch(store)
    try:
        with _state_database(state_url, work) as url:
            for n in range(trials):
                plan = _plan(rng, editor, first=n < 2)
                config = _config(work, spec, folder, scenario.timezone, url, receiver.url, plan.batch_size)
                figures.edits += len(plan.before) + len(plan.during)
                outcome = _trial(plan, config, receiver, watch, figures)
                figures.trials += 1
                if progress is not None:
                    edits = f"{len(plan.before)}+{len(plan.during)} edits"
                    progress(f"trial {n}: {edits}, batch_size {plan.batch_size}, kill {plan.kill}: {outcome}")
            config = _config(work, spec, folder, scenario.timezone, url, receiver.url, 40)
            final = _sync(config)
            try:
                final.wait(timeout=SYNC_DEADLINE * 2)
            except subprocess.TimeoutExpired:
                final.kill()
                final.wait()
            if final.returncode != 0:
                _note(figures, f"the final sync exited {final.returncode}: {_log_tail(config)[-1500:]}")
    finally:
        receiver.stop()
        editor.close()
    reference = fresh_refresh(spec, folder, scenario, work / "reference")
    found = compare(reference, stored_batches(store))
    figures.lost, figures.stale, figures.extra = found.lost, found.stale, found.extra
    figures.duplicated, figures.resent = found.duplicated, found.resent
    figures.examples += found.examples[: max(0, EXAMPLES - len(figures.examples))]
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """python -m tests.adversarial.kills WORK --trials N --seed S [--state-url URL] [--erp logo]"""
    setup(level="WARNING")  # the fresh refresh runs in this process: its per-stream lines would bury the trials'
    parser = argparse.ArgumentParser(prog="python -m tests.adversarial.kills", description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--state-url")
    parser.add_argument("--erp", default="logo", choices=sorted(ERPS))
    args = parser.parse_args(argv)
    started = time.monotonic()
    figures = kill_matrix(
        args.work, args.trials, args.seed, args.state_url, args.erp, progress=lambda line: print(line, file=sys.stderr)
    )
    print(json.dumps({**dataclasses.asdict(figures), "seconds": round(time.monotonic() - started, 1)}, indent=2))


if __name__ == "__main__":
    main()
