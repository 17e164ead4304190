"""Incremental reads: after the scenario's changes, a read since (last cursor - 10 min) returns the
changed documents, and only documents stamped on or after that day (CAPIBLOCK is filtered by day)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scenario.generate import build
from tests.dbs import adapter, read, write

SCENARIO = build(invoice_lines=2000)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'logo.db'}"


def test_changes_come_back_and_nothing_older(url: str) -> None:
    writer = write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        names = ("invoices", "collections", "discounts")
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
    # The cancelled invoice's cursor is the change's time, from MODIFIEDDATE + MODIFIEDHOUR/MIN/SEC.
    cursor = next(c for _, r, c in again["invoices"] if r.number == changes["cancel_invoice"].number)
    assert cursor == changes["cancel_invoice"].at


def test_physical_delete_disappears_from_keys(url: str) -> None:
    writer = write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        stream = source.stream("invoices")
        before = {key for chunk in iter(stream.live_keys()) for key in chunk}
        number = next(s.record.number for s in SCENARIO.invoices())
        key = next(k for k, r, _ in read(stream) if r.number == number)
        assert list(stream.fetch([key]))
        writer.delete_invoice(number)
        after = {key for chunk in iter(stream.live_keys()) for key in chunk}
        assert before - after == {key}
        assert stream.count() == len(after)
        assert list(stream.fetch([key])) == []
