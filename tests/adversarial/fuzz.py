"""One fuzz trial: hostile edits to a small ERP database, a real sync of every stream to a file sink, and the
books: every stream ok, every row of a stream's tables delivered, dead-lettered, left out by a named rule or
deleted in the ERP, no key sent twice by one read; then a normal new invoice and collection, delivered by the
next sync.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa

from connectors.base import Adapter, SourceContext
from connectors.registry import load
from engine.items import escaped_key, map_items
from engine.state import StateStore
from engine.sync import Engine, RunResult
from scenario.facts import Change, Scenario
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.adversarial.erps import Ctx, Erp, primary_key
from tests.adversarial.values import Edit, TableShape, apply_edits, connect, shapes, stored

__all__ = ["Outcome", "Template", "feed_of", "open_adapter", "template", "trial"]

SOURCE = "adversarial"


def open_adapter(erp: Erp, folder: Path, timezone: str) -> Adapter:
    cls = load(erp.name)
    return cls(SourceContext(SOURCE, ZoneInfo(timezone), 200), cls.Settings(**erp.settings(folder)))


@dataclass(frozen=True)
class Template:
    """A clean database laid by the ERP's scenario writer, and what the fuzz needs to know about it."""

    erp: Erp
    folder: Path
    scenario: Scenario
    shapes: dict[str, TableShape]
    keys: dict[str, tuple[str, ...]]  # table -> primary key columns
    baseline: dict[tuple[str, str], frozenset[tuple[Any, ...]]]  # (stream, table) -> rows read there
    read: dict[str, frozenset[str]]  # stream -> keys read from the clean database
    normal: tuple[Change, ...]  # the new invoice and collection a trial adds after the hostile rows


def template(erp: Erp, folder: Path, invoice_lines: int = 300) -> Template:
    scenario = build(invoice_lines=invoice_lines)
    engine = sa.create_engine(f"sqlite:///{folder / erp.database}")
    writer = erp.writer(engine)
    writer.create_tables()
    writer.write(scenario)
    engine.dispose()
    with open_adapter(erp, folder, scenario.timezone) as adapter:
        read = {s.name: frozenset(s.key(i) for chunk in s.read(None) for i in chunk) for s in adapter.streams()}
        settings = adapter.settings
    normal = tuple(c for c in scenario.changes if c.kind in ("new_invoice", "new_collection"))
    with connect(folder / erp.database) as conn:
        ctx = Ctx(conn, settings)
        keys = {table: primary_key(conn, table) for table in {*erp.edited, *(t.table for t in erp.targets)}}
        baseline = {}
        for t in erp.targets:
            if t.member is None:
                rows = conn.execute(f'SELECT * FROM "{t.table}"').fetchall()
                found = [r for r in rows if set(t.keys(ctx, r)) & read[t.stream]]
                baseline[(t.stream, t.table)] = frozenset(tuple(r[k] for k in keys[t.table]) for r in found)
        protected = _protected(conn, erp, normal, keys)
    return Template(
        erp,
        folder,
        scenario,
        shapes(folder / erp.database, erp.frozen(), protected, erp.refused()),
        keys,
        baseline,
        read,
        normal,
    )


def _protected(
    conn: Any, erp: Erp, normal: Sequence[Change], keys: dict[str, tuple[str, ...]]
) -> dict[str, frozenset[tuple[Any, ...]]]:
    """Rows the normal changes refer to (their account, their products): the fuzz leaves them alone, so that the
    new invoice and collection are as good as any the ERP writes."""
    accounts = {c.invoice.account_code for c in normal if c.invoice} | {
        c.collection.account_code for c in normal if c.collection
    }
    products = {line.product_code for c in normal if c.invoice for line in c.invoice.lines}
    out = {}
    for (table, column), wanted in ((erp.accounts, accounts), (erp.products, products)):
        listed = ", ".join(f'"{k}"' for k in keys[table])
        rows = conn.execute(f'SELECT {listed}, "{column}" AS code FROM "{table}"').fetchall()
        # Stored codes may carry padding or a legacy encoding: compare their trimmed, readable form.
        out[table] = frozenset(tuple(r)[:-1] for r in rows if str(r["code"]).strip() in wanted)
    return out


@dataclass
class Outcome:
    """What one trial saw."""

    edits: int = 0  # rows changed or inserted
    dead_lettered: int = 0
    failed: list[str] = field(default_factory=list)  # "stream: error" of streams that failed
    problems: list[str] = field(default_factory=list)  # everything the books do not account for
    # Keys sent with different content by one trial: a later row silently replacing an earlier one.
    collisions: list[str] = field(default_factory=list)
    accounted: dict[str, set[str]] = field(default_factory=dict)  # per stream: keys sent or dead-lettered
    categories: Counter[str] = field(default_factory=Counter)  # how the stream rows were accounted for


def feed_of(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every envelope of a file sink folder, per stream, in the order the manifests list their batches."""
    out: dict[str, list[dict[str, Any]]] = {}
    for manifest in sorted(folder.glob("*/manifest.json")):
        listed = msgspec.json.decode(manifest.read_bytes())
        for entry in listed["files"]:
            lines = (manifest.parent / entry["file"]).read_bytes().splitlines()
            out.setdefault(listed["stream"], []).extend(msgspec.json.decode(line) for line in lines)
    return out


def _sync(folder: Path, adapter: Adapter) -> list[RunResult]:
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    state.create()
    sink = FileSink(FileSinkSettings(kind="file", path=folder / "feed", fsync=False))
    try:
        return Engine(state, sink).sync(adapter)
    finally:
        state.engine.dispose()


def trial(base: Template, changes: Sequence[Edit], folder: Path) -> Outcome:
    """Edit a copy of the template's database, sync it, and keep the books."""
    erp = base.erp
    shutil.copy(base.folder / erp.database, folder / erp.database)
    done = apply_edits(folder / erp.database, changes, base.keys)
    outcome = Outcome(edits=len(done))
    copies: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for change in done:
        if change.copy:
            key = base.keys[change.table]
            fields = {**dict(zip(key, change.row, strict=True)), **change.fresh}
            fields.update({k: stored(v) for k, v in change.values.items() if k in key})
            new = tuple(fields.values())
            copies.setdefault(change.table, {})[new] = change.row
    with open_adapter(erp, folder, base.scenario.timezone) as adapter:
        results = _sync(folder, adapter)
        outcome.failed = [f"{r.stream}: {r.error}" for r in results if r.status != "ok"]
        state = StateStore(f"sqlite:///{folder / 'state.db'}")
        letters = state.dead_letters(limit=None)
        state.engine.dispose()
        outcome.dead_lettered = len(letters)
        healthy = {r.stream for r in results if r.status == "ok"}  # a failed stream is reported as such
        _books(base, folder, adapter, copies, letters, outcome, healthy)
        _normal_rows(base, folder, adapter, outcome)
    return outcome


def _books(
    base: Template,
    folder: Path,
    adapter: Adapter,
    copies: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
    letters: Sequence[Any],
    outcome: Outcome,
    healthy: set[str],
) -> None:
    erp = base.erp
    feed = feed_of(folder / "feed")
    for stream, envelopes in feed.items():
        versions: dict[str, set[bytes]] = {}
        for e in envelopes:
            stable = {k: v for k, v in (e["data"] or {}).items() if k != "as_of"}  # the read's time
            versions.setdefault(e["key"], set()).add(msgspec.json.encode(stable, order="sorted"))
        outcome.collisions += [f"{stream}: {key!r}" for key, found in versions.items() if len(found) > 1]
    sent = {(s, e["key"]) for s, envelopes in feed.items() for e in envelopes if e["op"] == "upsert"}
    dead = {(d.stream, d.key) for d in letters}
    for stream, key in sent | dead:
        outcome.accounted.setdefault(stream, set()).add(key)
    pending: dict[str, set[str]] = {}
    with connect(folder / erp.database) as conn:
        ctx = Ctx(conn, adapter.settings, base.baseline, copies, dict(base.keys))
        for target in (t for t in erp.targets if t.stream in healthy):
            for row in conn.execute(f'SELECT * FROM "{target.table}"'):
                if not erp.member(ctx, target, row):
                    continue
                for key in map(escaped_key, target.keys(ctx, row)):
                    if (target.stream, key) in sent:
                        outcome.categories["delivered"] += 1
                    elif (target.stream, key) in dead:
                        outcome.categories["dead-lettered"] += 1
                    else:
                        pending.setdefault(target.stream, set()).add(key)
    for stream, keys in pending.items():
        seen = _read(adapter, stream)
        for key in sorted(keys):
            found = seen.get(key)
            if found is None:
                outcome.problems.append(f"{stream}: {key!r} is neither read, sent nor dead-lettered")
            elif found.startswith(("excluded", "deleted")):
                outcome.categories[found.split(":")[0]] += 1
            else:
                outcome.problems.append(f"{stream}: {key!r} was read ({found}) but neither sent nor dead-lettered")


def _read(adapter: Adapter, name: str) -> dict[str, str]:
    """What each item of a stream becomes when mapped as the engine maps it: record, error, excluded or deleted."""
    out = {}
    stream = adapter.stream(name)
    for chunk in stream.read(None):
        for m in map_items(stream, chunk):
            if m.error is not None:
                out[m.key] = "error"
            elif m.excluded is not None:
                out[m.key] = f"excluded:{m.excluded}"
            else:
                out[m.key] = "record" if m.data is not None else "deleted"
    return out


def _normal_rows(base: Template, folder: Path, adapter: Adapter, outcome: Outcome) -> None:
    """Add the scenario's new invoice and collection as the ERP writes them, now, and sync: both must arrive."""
    erp = base.erp
    shadow = folder / "shadow"
    shadow.mkdir()
    shutil.copy(base.folder / erp.database, shadow / erp.database)
    now = dt.datetime.now(ZoneInfo(base.scenario.timezone)).replace(microsecond=0)
    engine = sa.create_engine(f"sqlite:///{shadow / erp.database}")
    writer = erp.writer(engine)
    for change in base.normal:
        writer.apply(dataclasses.replace(change, at=now))
    engine.dispose()
    _copy_new_rows(base, shadow / erp.database, folder / erp.database)
    results = _sync(folder, adapter)
    outcome.failed += [f"{r.stream} (after the normal rows): {r.error}" for r in results if r.status != "ok"]
    feed = feed_of(folder / "feed")
    for change in base.normal:
        document = change.invoice or change.collection
        stream = "invoices" if change.invoice else "collections"
        assert document is not None
        numbers = {e["data"]["number"] for e in feed.get(stream, []) if e["op"] == "upsert"}
        if document.number not in numbers:
            outcome.problems.append(f"{stream}: the normal {document.number} added after the edits never arrived")


def _copy_new_rows(base: Template, shadow: Path, target: Path) -> None:
    """Rows the writer added or changed in the shadow copy (the normal changes), put into the edited database."""
    with connect(base.folder / base.erp.database) as before, connect(shadow) as after, connect(target) as into:
        for (table,) in before.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            old = {tuple(r) for r in before.execute(f'SELECT * FROM "{table}"')}
            new = [tuple(r) for r in after.execute(f'SELECT * FROM "{table}"') if tuple(r) not in old]
            if new:
                marks = ", ".join("?" * len(new[0]))
                into.executemany(f'INSERT OR REPLACE INTO "{table}" VALUES ({marks})', new)
        into.commit()
