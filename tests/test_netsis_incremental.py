"""Incremental reads: after the scenario's changes, a read since (last cursor - the engine's overlap) returns
exactly the changed documents and those already stamped in the overlap; an edited line re-reads its
document; the engine end to end pushes only the changes; a physical delete reaches the feed at a reconcile.
Where the item cards carry no stamps (the vendor's TBLSTSABIT), every read returns every product, and the
engine's hashes send none unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import sqlalchemy as sa

from connectors.base import Partition
from connectors.netsis import codes
from connectors.netsis.tables import netsis_tables
from connectors.netsis.writer import NetsisWriter
from engine.state import StateStore
from engine.sync import Engine, Policy
from scenario import expect
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.netsis_dbs import STAMPED_SITE, Server, adapter, read, server, write
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
OVERLAP = Policy().overlap
TABLES = netsis_tables(sa.MetaData())
CHANGES = {c.kind: c for c in SCENARIO.changes}


@pytest.fixture
def where(tmp_path: Path) -> Server:
    return server("sqlite", tmp_path)


def _identity(name: str, record: Any) -> str:
    return record.code if name == "discounts" else record.number


def test_changes_come_back_and_nothing_else(where: Server) -> None:
    writer = write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    names = ("invoices", "collections", "discounts", "orders", "accounts", "products")
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        first = {name: read(source.stream(name)) for name in names}
        last = max(c for rows in first.values() for _, _, c in rows if c is not None)
        assert last <= SCENARIO.as_of
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - OVERLAP
        again = {name: read(source.stream(name), since) for name in names}

    new_invoice, new_collection = CHANGES["new_invoice"].invoice, CHANGES["new_collection"].collection
    assert new_invoice is not None and new_collection is not None
    changed = {
        "invoices": {new_invoice.number, CHANGES["cancel_invoice"].number},
        "collections": {new_collection.number},
        "discounts": {CHANGES["discount_value"].number},
    }
    for name, rows in again.items():
        assert all(cursor is not None and cursor >= since for _, _, cursor in rows), name
        # Netsis stamps carry the time of day: only what was stamped in the overlap comes back with the changes.
        overlap = {_identity(name, r) for _, r, c in first[name] if c is not None and c >= since}
        assert {_identity(name, r) for _, r, _ in rows} == overlap | changed.get(name, set()), name
    before = {r.number for _, r, _ in first["invoices"]}
    assert new_invoice.number not in before and CHANGES["cancel_invoice"].number in before

    invoices = {r.number: (r, c) for _, r, c in again["invoices"]}
    assert invoices[new_invoice.number][0].totals_local == new_invoice.totals_local
    cancelled, cursor = invoices[CHANGES["cancel_invoice"].number or ""]
    assert cancelled.cancelled is True and cursor == CHANGES["cancel_invoice"].at  # DUZELTMETARIHI, to the second
    assert {r.number for _, r, _ in again["collections"]} >= {new_collection.number}
    rule = CHANGES["discount_value"]
    assert {r.code: r.value for _, r, _ in again["discounts"]}[rule.number or ""] == rule.value


def _edit_a_line(url: str, at: dt.datetime) -> str:
    """Change the quantity of the first line of an old invoice, stamping only the line. Returns the number."""
    h, ln = TABLES.FATUIRS.c, TABLES.STHAR.c
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        number, ref = conn.execute(
            sa.select(h.FATIRS_NO, sa.func.min(ln.INCKEYNO))
            .join_from(TABLES.FATUIRS, TABLES.STHAR, ln.FISNO == h.FATIRS_NO)
            .where(h.FATIRS_NO.like("SF2025%"), h.DOVIZTIP == 0)
            .group_by(h.FATIRS_NO)
            .order_by(h.FATIRS_NO)
            .limit(1)
        ).one()
        stamp = at.astimezone(ZoneInfo(SCENARIO.timezone)).replace(tzinfo=None)
        conn.execute(
            TABLES.STHAR.update()
            .where(ref == ln.INCKEYNO)
            .values(STHAR_GCMIK=99.0, STHAR_GCMIK2=99.0, OLCUBR=1, DUZELTMETARIHI=stamp)
        )
    engine.dispose()
    return number


def test_an_edited_line_re_reads_its_document(where: Server) -> None:
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    at = SCENARIO.as_of + dt.timedelta(hours=1)
    number = _edit_a_line(where.url("GIDA2026"), at)
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        rows = read(source.stream("invoices"), at - OVERLAP)
    assert [r.number for _, r, _ in rows] == [number]
    _, invoice, cursor = rows[0]
    assert cursor == at and invoice.lines[0].quantity == 99
    # The stock movements: that line's movement alone, with its new quantity.
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        moved = read(source.stream("stock_movements"), at - OVERLAP)
    assert [(m.document_no, m.line_no, m.quantity, c) for _, m, c in moved] == [
        (number, invoice.lines[0].line_no, 99, at)
    ]
    # An install whose lines carry no stamp: the line's edit is not seen until its header is touched.
    with adapter(where.url("GIDA2026"), SCENARIO, line_stamps=False) as source:
        assert read(source.stream("invoices"), at - OVERLAP) == []
        assert read(source.stream("stock_movements"), at - OVERLAP) == []


def _other_branch_twin(url: str, number: str, kind: str, line_kind: str, stamp: dt.datetime | None = None) -> None:
    """Copy document (number, kind) of branch 0 into branch 1 with its lines turned to `line_kind`, which
    makes a sale's twin a purchase return and a sales return's twin a purchase invoice; `stamp`: the twin's
    lines were edited then."""
    h, ln = TABLES.FATUIRS.c, TABLES.STHAR.c
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        header = conn.execute(sa.select(TABLES.FATUIRS).where(number == h.FATIRS_NO, kind == h.FTIRSIP)).one()
        lines = conn.execute(sa.select(TABLES.STHAR).where(number == ln.FISNO, kind == ln.STHAR_FTIRSIP)).all()
        top_header = conn.execute(sa.select(sa.func.max(h.SIRANO))).scalar_one()
        top_line = conn.execute(sa.select(sa.func.max(ln.INCKEYNO))).scalar_one()
        conn.execute(TABLES.FATUIRS.insert().values({**header._asdict(), "SIRANO": top_header + 1, "SUBE_KODU": 1}))
        edited = (
            {}
            if stamp is None
            else {"DUZELTMETARIHI": stamp.astimezone(ZoneInfo(SCENARIO.timezone)).replace(tzinfo=None)}
        )
        twins = [
            {**line._asdict(), "INCKEYNO": top_line + n, "SUBE_KODU": 1, "STHAR_HTUR": line_kind, **edited}
            for n, line in enumerate(lines, start=1)
        ]
        conn.execute(TABLES.STHAR.insert(), twins)
    engine.dispose()


def test_another_branchs_document_with_the_same_number_kind_and_account(where: Server) -> None:
    """The invoice filter looks for return lines of the same branch's document only: a purchase return in
    branch 1 numbered like a branch 0 sale must not hide the sale, a purchase invoice in branch 1 numbered
    like a branch 0 sales return must not pass as a second return, and its edited lines re-read nothing."""
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    facts = [s.record for s in SCENARIO.invoices() if not s.record.cancelled]
    sale = next(inv for inv in facts if inv.kind == "sale")
    sales_return = next(inv for inv in facts if inv.kind == "return")
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        before = read(source.stream("invoices"))
    at = SCENARIO.as_of + dt.timedelta(hours=1)
    _other_branch_twin(where.url("GIDA2026"), sale.number, codes.SALES_INVOICE, codes.RETURN_LINE)
    _other_branch_twin(where.url("GIDA2026"), sales_return.number, codes.PURCHASE_INVOICE, codes.HTUR_INVOICE, at)
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        after = read(source.stream("invoices"))
        edited = read(source.stream("invoices"), at - OVERLAP)
    ours = [(r.number, r.kind) for _, r, _ in before if r.number in (sale.number, sales_return.number)]
    assert sorted(ours) == sorted([(sale.number, "sale"), (sales_return.number, "return")])
    assert after == before
    assert edited == []


def test_a_physical_delete_reaches_the_feed_at_a_reconcile(where: Server, tmp_path: Path) -> None:
    """A deleted invoice leaves no row to stamp: an incremental sync cannot see it; a reconcile reads the whole
    stream and sends its delete, once."""
    writer = write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with Feed(tmp_path) as feed, adapter(where.url("GIDA2026"), SCENARIO) as source:
        stream = source.stream("invoices")
        first, _ = feed.sync(source, "invoices")
        number = next(s.record.number for s in SCENARIO.invoices())
        key = next(k for k, r, _ in read(stream) if r.number == number)
        assert [stream.key(item) for item in stream.fetch([key])] == [key]
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


@pytest.mark.parametrize("name", ["invoices", "orders", "collections", "account_ledger", "stock_movements"])
def test_partitions_cover_every_item_once(where: Server, name: str) -> None:
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with adapter(where.url("GIDA2026"), SCENARIO, chunk_size=100) as source:
        stream = source.stream(name)
        assert stream.partitionable
        parts = [[stream.key(i) for c in stream.read(None, Partition(n, 3)) for i in c] for n in range(3)]
        everything = [stream.key(i) for c in stream.read(None) for i in c]
    assert all(parts) and sorted(k for part in parts for k in part) == sorted(everything)


def _engine(folder: Path) -> tuple[Engine, Path]:
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    state.create()
    feed = folder / "feed"
    return Engine(state, FileSink(FileSinkSettings(kind="file", path=feed, fsync=False))), feed


def _last_batch(feed: Path, stream: str) -> list[dict[str, Any]]:
    batches = sorted((feed / stream).glob("*.ndjson"), key=lambda p: p.stat().st_mtime_ns)
    return [msgspec.json.decode(line) for line in batches[-1].read_bytes().splitlines()]


def test_the_engine_pushes_only_the_changes(where: Server, tmp_path: Path) -> None:
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    engine, feed = _engine(tmp_path)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        first = {r.stream: r for r in engine.sync(source)}
        assert all(r.status == "ok" and r.dead_lettered == 0 and r.flagged == 0 for r in first.values()), first
        assert first["invoices"].pushed == len(list(SCENARIO.invoices()))
        # The changes are made by another writer, as by another program: nothing carried over in memory.
        later = _write_changes(where)
        second = {r.stream: r for r in engine.sync(source)}
    assert all(r.status == "ok" for r in second.values()), second
    for name in ("accounts", "products", "stock_levels", "orders"):
        assert second[name].pushed == second[name].deleted == 0, name
    assert second["invoices"].pushed == 2 and second["collections"].pushed == 1 and second["discounts"].pushed == 1
    # The ledger: the new invoice's and the new collection's postings, and the cancelled invoice's, now flagged.
    assert second["account_ledger"].pushed == 3 and second["account_ledger"].deleted == 0
    assert {(e["data"]["document_no"], e["data"]["cancelled"]) for e in _last_batch(feed, "account_ledger")} == {
        (CHANGES["new_invoice"].invoice.number, False),  # type: ignore[union-attr]
        (CHANGES["new_collection"].collection.number, False),  # type: ignore[union-attr]
        (CHANGES["cancel_invoice"].number, True),
    }
    new_invoice = CHANGES["new_invoice"].invoice
    assert new_invoice is not None
    assert {(e["data"]["number"], e["data"]["cancelled"]) for e in _last_batch(feed, "invoices")} == {
        (new_invoice.number, False),
        (CHANGES["cancel_invoice"].number, True),
    }
    # The stock movements: the new invoice's goods, and the cancelled invoice's, now flagged.
    cancelled = next(s.record for s in SCENARIO.invoices() if s.record.number == CHANGES["cancel_invoice"].number)
    moving = {
        (m.document_no, m.line_no, m.cancelled)
        for m in expect.stock_movements([new_invoice, msgspec.structs.replace(cancelled, cancelled=True)], [])
    }
    assert second["stock_movements"].pushed == len(moving) and second["stock_movements"].deleted == 0
    assert {
        (e["data"]["document_no"], e["data"]["line_no"], e["data"]["cancelled"])
        for e in _last_batch(feed, "stock_movements")
    } == moving
    # Balances moved for the accounts the changes touched, and only for those with a risk limit.
    assert {e["data"]["account_code"] for e in _last_batch(feed, "risk_limits")} == later
    assert second["risk_limits"].pushed == len(later)


def _write_changes(where: Server) -> set[str]:
    """Apply the scenario's changes with a fresh writer; the accounts whose balance they move (with a limit)."""
    writer = NetsisWriter(
        sa.create_engine(where.url("GIDA2026")), rates_engine=sa.create_engine(where.url("NETSIS")), **STAMPED_SITE
    )
    for change in SCENARIO.changes:
        writer.apply(change)
    cancelled = next(s.record for s in SCENARIO.invoices() if s.record.number == CHANGES["cancel_invoice"].number)
    moved = {CHANGES["new_invoice"].invoice.account_code, CHANGES["new_collection"].collection.account_code}  # type: ignore[union-attr]
    return (moved | {cancelled.account_code}) & {r.account_code for r in SCENARIO.risk_limits}


def test_the_vendors_layout(where: Server, tmp_path: Path) -> None:
    """No cancel flag: cancelling deletes the invoice and a reconciling sync sends the delete. No stamps on the
    item cards: every read returns every product, and the engine sends none that did not change."""
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    engine, _ = _engine(tmp_path)
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        first = {r.stream: r for r in engine.sync(source, ["invoices", "products"])}
        live = [s.record for s in SCENARIO.invoices() if not s.record.cancelled]
        assert first["invoices"].pushed == len(live) and first["invoices"].flagged == 0
        assert [cursor for _, _, cursor in read(source.stream("products"))] == [None] * len(SCENARIO.products)
        writer = NetsisWriter(
            sa.create_engine(where.url("GIDA2026")), rates_engine=sa.create_engine(where.url("NETSIS"))
        )
        writer.apply(CHANGES["cancel_invoice"])
        second = {r.stream: r for r in engine.sync(source, ["invoices", "products"], reconcile=True)}
        since = SCENARIO.as_of - OVERLAP
        again = read(source.stream("products"), since)
    assert second["invoices"].status == "ok" and second["invoices"].deleted == 1
    assert second["invoices"].pushed == 1  # the delete is all that travels
    assert second["products"].read == len(SCENARIO.products) and second["products"].pushed == 0
    assert len(again) == len(SCENARIO.products)
