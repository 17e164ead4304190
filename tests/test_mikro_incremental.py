"""Incremental reads: after the scenario's changes, a read since (last cursor - the engine's overlap)
returns exactly the changed documents (the cursor is *_lastup_date, a full timestamp), a changed
line re-reads its document, the engine end to end pushes only the changes on a second sync, and a physical
delete, which no incremental read can see, reaches the feed at a reconcile."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer import MikroWriter
from engine.state import StateStore
from engine.sync import Engine, Policy
from scenario import expect
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.kpi_checks import only_touched_dealers
from tests.mikro_dbs import adapter, read, write
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
OVERLAP = Policy().overlap
DOCUMENTS = ("invoices", "collections", "discounts", "orders")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mikro.db'}"


def test_changes_and_only_changes_come_back(url: str) -> None:
    writer = write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        first = {name: read(source.stream(name)) for name in DOCUMENTS}
        last = max(c for rows in first.values() for _, _, c in rows if c is not None)
        assert last <= SCENARIO.as_of
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - OVERLAP
        again = {name: read(source.stream(name), since) for name in DOCUMENTS}

    changes = {c.kind: c for c in SCENARIO.changes}
    new = changes["new_invoice"].invoice
    collection = changes["new_collection"].collection
    assert new is not None and collection is not None
    for name, rows in again.items():
        # Exactly the documents stamped within the overlap, plus the changed ones.
        before = {key for key, _, cursor in first[name] if cursor is not None and cursor >= since}
        changed = {key for key, _, cursor in rows if cursor is not None and cursor > SCENARIO.as_of}
        assert {key for key, _, _ in rows} == before | changed, name
        assert all(cursor is not None and cursor >= since for _, _, cursor in rows), name

    invoices = {record.number: (record, cursor) for _, record, cursor in again["invoices"]}
    assert invoices[new.number][0].totals_local == new.totals_local
    cancelled, cursor = invoices[changes["cancel_invoice"].number or ""]
    assert cancelled.cancelled is True and cursor == changes["cancel_invoice"].at
    assert collection.number in {r.number for _, r, _ in again["collections"]}
    rule = changes["discount_value"]
    assert {r.code: r for _, r, _ in again["discounts"]}[rule.number or ""].value == rule.value
    assert all(cursor is not None and cursor <= SCENARIO.as_of for _, _, cursor in again["orders"])  # none changed


def test_a_changed_line_re_reads_its_invoice(url: str) -> None:
    write(url, SCENARIO)
    later = SCENARIO.as_of + dt.timedelta(hours=1)
    s = mikro_tables(sa.MetaData()).STOK_HAREKETLERI
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(s.c.sth_fat_uid)).where(s.c.sth_evraktip == 4)).scalar_one()
        conn.execute(s.update().where(s.c.sth_fat_uid == first).values(sth_lastup_date=later.replace(tzinfo=None)))
    engine.dispose()
    with adapter(url, SCENARIO) as source:
        rows = read(source.stream("invoices"), later - dt.timedelta(minutes=1))
    assert len(rows) == 1 and rows[0][2] == later and rows[0][1].lines


def test_orders_key_is_the_document_and_cursor_its_newest_row(url: str) -> None:
    write(url, SCENARIO)
    o = mikro_tables(sa.MetaData()).SIPARISLER
    later = SCENARIO.as_of + dt.timedelta(hours=2)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        seri, sira = conn.execute(
            sa.select(o.c.sip_evrakno_seri, o.c.sip_evrakno_sira).where(o.c.sip_satirno == 1).limit(1)
        ).one()
        conn.execute(
            o.update()
            .where(o.c.sip_evrakno_seri == seri, o.c.sip_evrakno_sira == sira, o.c.sip_satirno == 1)
            .values(sip_lastup_date=later.replace(tzinfo=None), sip_kapat_fl=True)
        )
    engine.dispose()
    with adapter(url, SCENARIO) as source:
        stream = source.stream("orders")
        rows = read(stream, later - dt.timedelta(minutes=1))
        keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
        fetched = list(stream.fetch([f"0:{seri}:{sira}"]))
    assert [(k, c) for k, _, c in rows] == [(f"0:{seri}:{sira}", later)]
    order = rows[0][1]
    assert len(order.lines) > 1 and order.lines[1].closed  # the whole document came back
    assert len(keys) == len(set(keys)) == len({o.record.number for o in SCENARIO.orders()})
    assert len(fetched) == 1 and stream.map(fetched[0]) == order


def test_a_physical_delete_reaches_the_feed_at_a_reconcile(url: str, tmp_path: Path) -> None:
    """A deleted invoice leaves no row to stamp: an incremental sync cannot see it; a reconcile reads the whole
    stream and sends its delete, once."""
    writer = write(url, SCENARIO)
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        stream = source.stream("invoices")
        first, _ = feed.sync(source, "invoices")
        number = next(s.record.number for s in SCENARIO.invoices())
        key = next(k for k, r, _ in read(stream) if r.number == number)
        assert [stream.map(item).number for item in stream.fetch([key])] == [number]
        writer.delete_invoice(number)
        _, incremental = feed.sync(source, "invoices")
        reconciled, sent = feed.sync(source, "invoices", reconcile=True)
        _, again = feed.sync(source, "invoices", reconcile=True)
        assert stream.count() == first.read - 1
        assert list(stream.fetch([key])) == []
    assert incremental == []
    assert [(e["key"], e["op"], e["data"]) for e in sent] == [(key, "delete", None)]
    assert reconciled.deleted == 1 and reconciled.read == first.read - 1
    assert again == []


def _feed(path: Path, stream: str) -> list[dict[str, Any]]:
    return [
        msgspec.json.decode(line)
        for batch in sorted((path / stream).glob("*.ndjson"))
        for line in batch.read_bytes().splitlines()
    ]


def test_engine_pushes_only_the_changes_on_the_second_sync(url: str, tmp_path: Path) -> None:
    writer = write(url, SCENARIO)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with adapter(url, SCENARIO) as source:
        first = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "first", fsync=False)))
        results = {r.stream: r for r in first.sync(source)}
        assert all(r.status == "ok" for r in results.values()), results
        assert results["invoices"].pushed == len(list(SCENARIO.invoices()))
        for change in SCENARIO.changes:
            writer.apply(change)
        second = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "second", fsync=False)))
        results = {r.stream: r for r in second.sync(source)}
    assert all(r.status == "ok" for r in results.values()), results
    changes = {c.kind: c for c in SCENARIO.changes}
    new = changes["new_invoice"].invoice
    collection = changes["new_collection"].collection
    assert new is not None and collection is not None
    pushed = {name: r.pushed for name, r in results.items() if r.pushed}
    # The snapshot streams change too: the new invoice moves stock and both documents move balances.
    assert pushed.keys() <= {
        "invoices",
        "collections",
        "account_ledger",
        "stock_movements",
        "discounts",
        "stock_levels",
        "risk_limits",
        "dealer_kpis",
        "account_balances",
    }
    documents = [*_feed(tmp_path / "second", "invoices"), *_feed(tmp_path / "second", "collections")]
    only_touched_dealers(_feed(tmp_path / "second", "dealer_kpis"), documents)
    invoices = {(e["data"]["number"], e["data"]["cancelled"]) for e in _feed(tmp_path / "second", "invoices")}
    assert invoices == {(new.number, False), (changes["cancel_invoice"].number, True)}
    assert [e["data"]["number"] for e in _feed(tmp_path / "second", "collections")] == [collection.number]
    # The stock movements of the new invoice's lines and of the cancelled one's, nothing else.
    cancelled = next(s.record for s in SCENARIO.invoices() if s.record.number == changes["cancel_invoice"].number)
    moved = expect.stock_movements([new, msgspec.structs.replace(cancelled, cancelled=True)], [])
    sent = [e["data"] for e in _feed(tmp_path / "second", "stock_movements")]
    assert moved and sorted((d["document_no"], d["line_no"], d["cancelled"]) for d in sent) == sorted(
        (m.document_no, m.line_no, m.cancelled) for m in moved
    )
    assert [e["data"]["code"] for e in _feed(tmp_path / "second", "discounts")] == [changes["discount_value"].number]
    assert results["accounts"].pushed == results["products"].pushed == results["orders"].pushed == 0


def test_a_writer_that_did_not_lay_the_database_makes_guids_it_does_not_hold(tmp_path: Path) -> None:
    """A second writer (apply() alone, as the kill matrix and the fuzz use it) counts its Guids from 1 again: it
    must pass over those the database holds, however many documents it adds."""
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    small = build(invoice_lines=300)
    write(url, small).engine.dispose()
    engine = sa.create_engine(url)
    later = MikroWriter(engine)
    model = next(c for c in small.changes if c.kind == "new_invoice")
    assert model.invoice is not None
    t = mikro_tables(sa.MetaData())
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(t.STOK_HAREKETLERI)).scalar_one()
    for n in range(120):  # well past the serials the first writer gave its movement rows
        invoice = msgspec.structs.replace(model.invoice, number=f"SF2026{900000 + n}")
        later.apply(dataclasses.replace(model, invoice=invoice))
    with engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(t.STOK_HAREKETLERI)).scalar_one()
    engine.dispose()
    assert after == before + 120 * len(model.invoice.lines)
