"""The stock_movements stream: every TBLSTHAR row the writer lays (the scenario's invoice lines, its purchases as
purchase dispatches and its transfers as DATs, a row per side) comes back as the scenario's movements
(`expect.stock_movements`), on SQLite, PostgreSQL and MariaDB; incremental reads return exactly the changed
movements; a broken row is a dead letter while the rest flows; the census lists the movement codes.

Compared with `expect.comparable`, matched by (document_no, line_no, warehouse_code, direction), ignoring:
  * `erp_kind`: Netsis's own STHAR_HTUR:STHAR_FTIRSIP, which the scenario does not know (checked below against the
    writer's layout, and counted by the census);
  * `flags`: the engine's plausibility marks, not the ERP's data.
Representation differences: Netsis numbers its warehouses (DEPO_KODU), so a warehouse code is the number as text
("02" -> "2"), as in the invoices' round trip. Netsis keeps every other field: date, document and line number,
the invoice, the account (STHAR_ACIKLAMA), product, quantity and unit of the line, both warehouses of a transfer.
The writer also lays documents the invoices stream must skip (a purchase invoice, a purchase return, a sales
dispatch): they are stock movements, and come back as such. The vendor's layout deletes a cancelled invoice with
its lines, so the comparison there takes the live facts; a site with a cancel flag (IPTAL) keeps them, flagged.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from connectors.base import Excluded
from connectors.census import census_warnings
from connectors.netsis import NetsisSettings
from connectors.netsis.stock import PRICE_DIFFERENCE, SERVICE_LINE, movement_kind
from connectors.netsis.tables import netsis_tables
from engine.sync import Policy
from mapping.schema import Invoice, StockMovement
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import STAMPED_SITE, Server, adapter, read, server, write
from tests.reconcile import Feed
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
IGNORE = frozenset({"erp_kind", "flags"})
OVERLAP = Policy().overlap
CHANGES = {c.kind: c for c in SCENARIO.changes}
SLIPS = [s.record for s in SCENARIO.stock_slips()]
INVOICES = [s.record for s in SCENARIO.invoices()]
T = netsis_tables(sa.MetaData(), STAMPED_SITE["cancel_column"])
Key = tuple[str | None, int | None, str, str]


def _warehouse(code: str | None) -> str | None:
    return None if code is None else str(int(code))


def _as_netsis(m: StockMovement) -> StockMovement:
    return msgspec.structs.replace(
        m, warehouse_code=_warehouse(m.warehouse_code), other_warehouse_code=_warehouse(m.other_warehouse_code)
    )


def _facts(invoices: list[Invoice], cancelled: bool) -> list[StockMovement]:
    """The scenario's movements as Netsis holds them: with the cancelled invoices (a site flagging them) or without."""
    kept = [i for i in invoices if cancelled or not i.cancelled]
    return [_as_netsis(m) for m in expect.stock_movements(kept, SLIPS)]


def _lines_of(invoice: Invoice) -> list[StockMovement]:
    """The movements of one invoice's lines."""
    return [_as_netsis(m) for m in expect.stock_movements([invoice], [])]


def _key(m: StockMovement) -> Key:
    return (m.document_no, m.line_no, m.warehouse_code, m.direction)


def _by_key(movements: list[StockMovement]) -> dict[Key, StockMovement]:
    out = {_key(m): m for m in movements}
    assert len(out) == len(movements), "two movements share a document, line, warehouse and direction"
    return out


def _scenario_documents() -> set[str]:
    return {i.number for i in INVOICES} | {s.number for s in SLIPS}


def _same_movements(got: list[StockMovement], want: list[StockMovement]) -> None:
    """The scenario's movements are read; what else is read is only the writer's other documents."""
    ours = _scenario_documents()
    have = _by_key([m for m in got if m.document_no in ours])
    facts = _by_key(want)
    assert set(have) == set(facts)
    for key, fact in facts.items():
        assert expect.comparable(have[key], IGNORE) == expect.comparable(fact, IGNORE), key


def _left_out(invoices: list[Invoice]) -> Counter[str]:
    """The lines the stream reads and leaves out by name: service lines, and the goods of price-difference invoices."""
    rules: Counter[str] = Counter()
    for inv in invoices:
        for line in inv.lines:
            if line.kind == "service":
                rules[SERVICE_LINE] += 1
            elif inv.kind == "price_difference":
                rules[PRICE_DIFFERENCE] += 1
    return rules


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    where = server(request.param, tmp_path_factory.mktemp("netsis-stock"))
    try:
        company, rates = where.url("GIDA2026"), where.url("NETSIS")
        write(company, SCENARIO, rates)
        with adapter(company, SCENARIO, rates_database=where.database("NETSIS")) as source:
            yield {"read": read(source.stream("stock_movements")), "levels": source.stream("stock_levels")}
    finally:
        where.close()


def _movements(items: list[tuple[str, Any, dt.datetime | None]]) -> list[StockMovement]:
    return [m for _, m, _ in items if isinstance(m, StockMovement)]


def test_the_movements_are_the_scenarios(synced: dict[str, Any]) -> None:
    got = _movements(synced["read"])
    _same_movements(got, _facts(INVOICES, cancelled=False))
    assert {m.kind for m in got} >= {"sale", "sale_return", "purchase", "transfer"}
    # Netsis's own codes, as the writer lays each document.
    assert Counter((m.kind, m.direction, m.erp_kind) for m in got if m.document_no in _scenario_documents()).keys() == {
        ("sale", "out", "J:1"),
        ("sale_return", "in", "L:2"),
        ("purchase", "in", "H:4"),
        ("transfer", "out", "B:8"),
        ("transfer", "in", "B:8"),
    }
    # A transfer's two sides name each other's warehouse.
    transfers = {(m.document_no, m.line_no, m.direction): m for m in got if m.kind == "transfer"}
    for (number, line, direction), m in transfers.items():
        other = transfers[number, line, "in" if direction == "out" else "out"]
        assert (m.other_warehouse_code, other.other_warehouse_code) == (other.warehouse_code, m.warehouse_code)
    keys = [key for key, _, _ in synced["read"]]
    assert len(set(keys)) == len(keys)


def test_what_else_is_read_is_named(synced: dict[str, Any]) -> None:
    """The writer's purchase invoice, purchase return and sales dispatch move stock too; service lines and the lines
    of price-difference invoices are left out by name, each of them."""
    others = [m for m in _movements(synced["read"]) if m.document_no not in _scenario_documents()]
    assert sorted((m.kind, m.direction, m.erp_kind, m.invoice_number is not None) for m in others) == [
        ("purchase", "in", "J:2", False),
        ("purchase_return", "out", "L:1", False),
        ("sale", "out", "H:3", False),  # a dispatch note's line: no invoice
    ]
    left_out = Counter(m.rule for _, m, _ in synced["read"] if isinstance(m, Excluded))
    assert left_out == _left_out([i for i in INVOICES if not i.cancelled])
    assert left_out[SERVICE_LINE] and left_out[PRICE_DIFFERENCE]


def test_the_movements_add_up_to_the_stock_levels_they_changed(synced: dict[str, Any]) -> None:
    """Per product and warehouse, the transfers move as much out of the central warehouse as into the others."""
    net: Counter[tuple[str, str]] = Counter()
    for m in _movements(synced["read"]):
        if m.kind == "transfer":
            net[m.product_code, m.warehouse_code] += m.quantity if m.direction == "in" else -m.quantity
    by_product: Counter[str] = Counter()
    for (product, _), quantity in net.items():
        by_product[product] += quantity
    assert net and all(q == 0 for q in by_product.values())


def test_a_site_with_a_cancel_flag_keeps_cancelled_movements(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        got = _movements(read(source.stream("stock_movements")))
    _same_movements(got, _facts(INVOICES, cancelled=True))
    assert any(m.cancelled and m.kind == "sale" for m in got)


def test_the_changes_come_back_and_nothing_else(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    writer = write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        stream = source.stream("stock_movements")
        first = read(stream)
        last = max(c for _, _, c in first if c is not None)
        assert last <= SCENARIO.as_of
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - OVERLAP
        again = read(stream, since)
        assert read(stream, SCENARIO.as_of + dt.timedelta(days=3650)) == []
    new_invoice = CHANGES["new_invoice"].invoice
    assert new_invoice is not None
    number = CHANGES["cancel_invoice"].number
    [cancelled] = [i for i in INVOICES if i.number == number]
    changed = _lines_of(new_invoice) + [msgspec.structs.replace(m, cancelled=True) for m in _lines_of(cancelled)]
    assert any(m.document_no == number for m in changed) and any(m.document_no == new_invoice.number for m in changed)
    overlap = {_key(m) for _, m, c in first if isinstance(m, StockMovement) and c is not None and c >= since}
    got = _by_key(_movements(again))
    assert set(got) == overlap | {_key(m) for m in changed}
    for fact in changed:
        assert expect.comparable(got[_key(fact)], IGNORE) == expect.comparable(fact, IGNORE)
    cursors = {_key(m): c for _, m, c in again if isinstance(m, StockMovement)}
    assert all(cursors[_key(m)] == CHANGES["cancel_invoice"].at for m in changed if m.document_no == number)
    assert all(c is not None and c >= since for c in cursors.values())


def test_a_cancelled_invoices_movements_leave_at_a_reconcile(tmp_path: Path) -> None:
    """The vendor's layout deletes a cancelled invoice with its lines: a reconcile sends the deletes."""
    where = server("sqlite", tmp_path)
    writer = write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    number = CHANGES["cancel_invoice"].number
    with Feed(tmp_path) as feed, adapter(where.url("GIDA2026"), SCENARIO) as source:
        first, _ = feed.sync(source, "stock_movements")
        keys = sorted(
            k
            for k, m, _ in read(source.stream("stock_movements"))
            if isinstance(m, StockMovement) and m.document_no == number
        )
        stream = source.stream("stock_movements")
        assert sorted(stream.key(item) for item in stream.fetch(keys)) == keys  # a dead letter's retry finds its row
        writer.apply(CHANGES["cancel_invoice"])
        _, incremental = feed.sync(source, "stock_movements")
        reconciled, sent = feed.sync(source, "stock_movements", reconcile=True)
        assert list(stream.fetch(keys)) == []
    assert first.dead_lettered == 0 and first.excluded == dict(_left_out([i for i in INVOICES if not i.cancelled]))
    assert keys and incremental == []
    assert sorted((e["key"], e["op"]) for e in sent) == [(k, "delete") for k in keys]
    assert reconciled.deleted == len(keys)


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    where = server(request.param, tmp_path)
    try:
        write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
        yield where
    finally:
        where.close()


def _break(url: str) -> list[int]:
    """Break five movements, each its own way, and give another a kind nobody maps. Their INCKEYNOs, in order."""
    c = T.STHAR.c
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        sales = conn.execute(
            sa.select(c.INCKEYNO).where(c.STHAR_HTUR == "J", c.STHAR_FTIRSIP == "1").order_by(c.INCKEYNO).limit(5)
        ).scalars()
        refs = list(sales)
        for ref, values in zip(
            refs,
            [{"STHAR_GCKOD": "X"}, {"STHAR_HTUR": None}, {"STHAR_GCMIK": None}, {"DEPO_KODU": None}],
            strict=False,
        ):
            conn.execute(T.STHAR.update().where(ref == c.INCKEYNO).values(values))
        conn.execute(T.STHAR.update().where(refs[4] == c.INCKEYNO).values(STHAR_HTUR="Z"))
        # A transfer's row into the regional warehouse is gone: its row out has no other side.
        out, into = conn.execute(
            sa.select(c.INCKEYNO, c.STHAR_GCKOD).where(c.STHAR_HTUR == "B").order_by(c.INCKEYNO).limit(2)
        ).all()
        assert (out.STHAR_GCKOD, into.STHAR_GCKOD) == ("C", "G")
        conn.execute(T.STHAR.delete().where(into.INCKEYNO == c.INCKEYNO))
    engine.dispose()
    return [*refs, out.INCKEYNO]


def test_a_broken_movement_is_a_dead_letter_and_the_rest_flows(site: Server, tmp_path: Path) -> None:
    refs = _break(site.url("GIDA2026"))
    settings: dict[str, Any] = {}
    if site.backend != "sqlite":
        settings |= {"databases": [site.database("GIDA2026")], "rates_database": site.database("NETSIS")}
    with adapter(site.url("GIDA2026"), SCENARIO, **settings) as source:
        out = sync(source, tmp_path, "stock_movements")
    prefix = f"{site.database('GIDA2026')}:"
    assert out.dead == {
        ("stock_movements", f"{prefix}{refs[0]}"): "direction: STHAR_GCKOD is 'X': a movement is G (in) or C (out)",
        ("stock_movements", f"{prefix}{refs[1]}"): "erp_kind: STHAR_HTUR is missing: the movement's kind is unknown",
        ("stock_movements", f"{prefix}{refs[2]}"): "quantity: missing (NULL where a number is required)",
        ("stock_movements", f"{prefix}{refs[3]}"): "warehouse_code: missing",
        ("stock_movements", f"{prefix}{refs[5]}"): "other_warehouse_code: a transfer's other side: no row of the "
        "same FISNO, SIRA and STOK_KODU moving the other way (STHAR_GCKOD G)",
    }
    sent = {key: data for (_, key), data in out.feed.items()}
    # The writer's three other documents are read too; the broken rows (and the deleted one) are not sent.
    assert len(sent) == len(_facts(INVOICES, cancelled=False)) + 3 - 5 - 1
    other = sent[f"{prefix}{refs[4]}"]
    assert other is not None and (other["kind"], other["erp_kind"]) == ("other", "Z:1")


def test_the_census_lists_the_movement_codes(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    name = "TBLSTHAR.STHAR_HTUR x STHAR_FTIRSIP x STHAR_GCKOD, every movement"
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        got = read(source.stream("stock_movements"))
        counts = [c for c in source.census() if c.column.name == name]
        assert census_warnings(counts) == []
        # Every row read is counted under its code, with the reading the stream gave it.
        read_codes = Counter((m.erp_kind, m.direction) for _, m, _ in got if isinstance(m, StockMovement))
        services = sum(1 for _, m, _ in got if isinstance(m, Excluded))
        assert sum(c.rows for c in counts) == sum(read_codes.values()) + services
        for c in counts:
            htur, ftirsip, gckod = c.value
            reading = c.reading
            assert reading is not None and reading.sent
            kind = movement_kind(source.settings, htur, ftirsip)
            assert reading.action == f"kind {kind}, {'in' if gckod == 'G' else 'out'}"
        sources = {c.value[:2]: c.reading.source for c in counts if c.reading is not None}
        assert sources[("B", "8")].startswith("production query") and sources[("L", "1")] == "UNCONFIRMED"
        # A code nobody maps: sent as kind other, and the census and check name it.
        engine = sa.create_engine(where.url("GIDA2026"))
        with engine.begin() as conn:
            conn.execute(T.STHAR.update().where(T.STHAR.c.STHAR_HTUR == "H").values(STHAR_HTUR="Q"))
        engine.dispose()
        counts = [c for c in source.census() if c.column.name == name]
        unknown = [c for c in counts if c.reading is None]
        assert {c.value[:2] for c in unknown} == {("Q", "4"), ("Q", "3")}
        [warning] = census_warnings(counts)
        assert "movement_kinds" in warning.detail and "Q" in warning.detail
        moved = [m for _, m, _ in read(source.stream("stock_movements")) if isinstance(m, StockMovement)]
        assert {m.erp_kind for m in moved if m.kind == "other"} == {"Q:4", "Q:3"}


def test_movement_kinds_are_read_pair_first() -> None:
    url = "sqlite:///GIDA2026.db"
    settings = NetsisSettings(url=url, movement_kinds={"J": "other", "J:1": "sale", "B": "transfer"})
    assert movement_kind(settings, "J", "1") == "sale"
    assert movement_kind(settings, "J", "2") == "other"
    assert movement_kind(settings, "B", "9") == "transfer"
    assert movement_kind(settings, "Z", "1") is None
    with pytest.raises(ValidationError, match="keys must be an STHAR_HTUR letter"):
        NetsisSettings(url=url, movement_kinds={"JJ:1": "sale"})
    with pytest.raises(ValidationError):
        NetsisSettings(url=url, movement_kinds={"J": "shipment"})
