"""Incremental reads: after the scenario's changes, a read since (last cursor - 10 min) returns the
changed documents, and only documents stamped on or after that day (CAPIBLOCK is filtered by day). A physical
delete, which no incremental read can see, reaches the feed at a reconcile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.logo.tables import logo_tables
from scenario.generate import build
from tests.dbs import adapter, read, write
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
T = logo_tables(sa.MetaData(), 1, 1)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'logo.db'}"


def test_changes_come_back_and_nothing_older(url: str) -> None:
    writer = write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        names = ("invoices", "collections", "discounts", "account_ledger")
        first = {name: read(source.stream(name)) for name in names}
        last = max(c for rows in first.values() for _, _, c in rows if c is not None)
        assert last <= SCENARIO.as_of
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - dt.timedelta(minutes=10)
        again = {name: read(source.stream(name), since) for name in names}

    day = since.date()
    for name, rows in again.items():
        assert rows, name
        assert all(cursor is not None and cursor.date() >= day for _, _, cursor in rows), name
        # Everything stamped on or after that day came back, nothing else.
        expected = {key for key, _, cursor in first[name] if cursor is not None and cursor.date() >= day}
        assert expected <= {key for key, _, _ in rows}, name

    changes = {c.kind: c for c in SCENARIO.changes}
    invoices = {record.number: record for _, record, _ in again["invoices"]}
    new = changes["new_invoice"].invoice
    assert new is not None and invoices[new.number].totals_local == new.totals_local
    assert invoices[changes["cancel_invoice"].number or ""].cancelled is True
    collection = changes["new_collection"].collection
    assert collection is not None
    assert {r.number for _, r, _ in again["collections"]} >= {collection.number}
    rule = changes["discount_value"]
    discounts = {r.code: r for _, r, _ in again["discounts"]}
    assert discounts[rule.number or ""].value == rule.value
    # The ledger: the new sale's debit, the cancelled sale's posting flagged, the new collection's credit.
    ledger = {(r.document_no, r.kind): r for _, r, _ in again["account_ledger"]}
    assert ledger[new.number, "invoice"].debit_local == new.totals_local.total
    assert ledger[changes["cancel_invoice"].number or "", "invoice"].cancelled is True
    assert ledger[collection.number, "collection"].credit_local == collection.amount_local
    # The cancelled invoice's cursor is the change's time, from MODIFIEDDATE + MODIFIEDHOUR/MIN/SEC.
    cursor = next(c for _, r, c in again["invoices"] if r.number == changes["cancel_invoice"].number)
    assert cursor == changes["cancel_invoice"].at


def test_a_physical_delete_reaches_the_feed_at_a_reconcile(url: str, tmp_path: Path) -> None:
    """A deleted invoice leaves no row to stamp: an incremental sync cannot see it; a reconcile reads the whole
    stream and sends its delete, once."""
    writer = write(url, SCENARIO)
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        stream = source.stream("invoices")
        first, _ = feed.sync(source, "invoices")
        number = next(s.record.number for s in SCENARIO.invoices())
        key = next(k for k, r, _ in read(stream) if r.number == number)
        assert list(stream.fetch([key]))
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


def test_a_changed_list_price_is_sent_and_nothing_else(url: str, tmp_path: Path) -> None:
    """A price card edited in Logo gets its MODIFIEDDATE stamp: the next incremental sync sends that entry alone,
    and never a dealer's own price (those stay discounts)."""
    write(url, SCENARIO)
    current = next(e for e in SCENARIO.price_lists if e.valid_to is None and e.list_code == "SATIS")
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        first, _ = feed.sync(source, "price_lists")
        key = next(k for k, e, _ in read(source.stream("price_lists")) if e == current)
        when = SCENARIO.as_of + dt.timedelta(minutes=20)
        stamp = {
            "CAPIBLOCK_MODIFIEDDATE": dt.datetime(when.year, when.month, when.day),
            "CAPIBLOCK_MODIFIEDHOUR": when.hour,
            "CAPIBLOCK_MODIFIEDMIN": when.minute,
            "CAPIBLOCK_MODIFIEDSEC": when.second,
        }
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            ref = int(key.rpartition(":")[2])
            conn.execute(
                T.PRCLIST.update()
                .where(ref == T.PRCLIST.c.LOGICALREF)
                .values(PRICE=float(current.price) + 1.5, **stamp)
            )
        engine.dispose()
        _, sent = feed.sync(source, "price_lists")
    assert first.read == len(SCENARIO.price_lists)
    assert [(e["key"], e["data"]["price"]) for e in sent] == [(key, str(current.price + Decimal("1.5")))]
