"""A site whose tables carry what the vendor's lack: record stamps on the item cards and its own cancel flag
(an IPTAL column), read with `cancelled_column: IPTAL`. Cancelled documents then come back flagged instead of
deleted, and products are read incrementally by their stamps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from scenario import expect
from scenario.generate import build
from tests.netsis_dbs import STAMPED_SITE, adapter, read, records, server, write
from tests.test_netsis_roundtrip import FIELDS_NETSIS_LACKS, _netsis_document

SCENARIO = build(invoice_lines=2000)


def _stamp(card: Any) -> dt.datetime:
    return max(card.created_at, card.modified_at or card.created_at)  # type: ignore[no-any-return]


SINCE = sorted(_stamp(s) for s in SCENARIO.products)[-3]


def test_cancelled_documents_come_back_flagged(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        invoices = {i.number: i for i in records(source.stream("invoices"))}
        orders = {o.number: o for o in records(source.stream("orders"))}
        collections = {c.number: c for c in records(source.stream("collections"))}
        products = read(source.stream("products"), SINCE)
    facts = [s.record for s in SCENARIO.invoices()]
    assert any(f.cancelled for f in facts) and set(invoices) == {f.number for f in facts}
    for fact in facts:
        got = expect.comparable(invoices[fact.number], FIELDS_NETSIS_LACKS["invoices"])
        assert got == expect.comparable(_netsis_document(fact), FIELDS_NETSIS_LACKS["invoices"]), fact.number
    cancelled_orders = {s.record.number for s in SCENARIO.orders() if s.record.status == "cancelled"}
    assert cancelled_orders and {n for n, o in orders.items() if o.status == "cancelled"} == cancelled_orders
    cancelled_collections = {s.record.number for s in SCENARIO.collections() if s.record.cancelled}
    assert {n for n, c in collections.items() if c.cancelled} == cancelled_collections
    # Stamped cards: a read since the third newest product stamp returns those three products.
    recent = {s.record.code for s in SCENARIO.products if _stamp(s) >= SINCE}
    assert len(recent) == 3 and {r.code for _, r, _ in products} == recent
    assert all(c is not None for _, _, c in products)
