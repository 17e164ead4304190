"""The stock_movements stream on Logo: STLINE rows written by LogoWriter (invoice lines, the scenario's purchase
receipts and warehouse transfers as STFICHE slips), read back by the adapter.

Translations named here are Logo's own representation, not losses:
  * warehouses are Logo's numbers (L_CAPIWHOUSE.NR, SOURCEINDEX, DESTINDEX): the scenario's "01" is "0";
  * `erp_kind` is Logo's 'TRCODE:IOCODE', which the facts cannot know.
Logo keeps every other field of a movement.
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

from connectors.base import Excluded
from connectors.logo import LogoSettings
from connectors.logo.tables import logo_tables
from mapping.schema import StockMovement
from scenario import expect
from scenario.facts import Scenario
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.dbs import adapter, read, records, write
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
T = logo_tables(sa.MetaData(), 1, 1)
NOT_KEPT = frozenset({"erp_kind"})  # Logo's own code of the movement: TRCODE:IOCODE


def _warehouse(code: str | None, scenario: Scenario = SCENARIO) -> str | None:
    numbers = {w.code: str(w.number) for w in scenario.warehouses}
    return None if code is None else numbers[code]


def _logo(fact: StockMovement) -> StockMovement:
    """The fact as Logo represents it: warehouses by number."""
    return msgspec.structs.replace(
        fact,
        warehouse_code=_warehouse(fact.warehouse_code),
        other_warehouse_code=_warehouse(fact.other_warehouse_code),
    )


def _key(m: StockMovement) -> tuple[Any, ...]:
    return (m.document_no, m.line_no, m.direction)


def _expected(scenario: Scenario = SCENARIO) -> list[StockMovement]:
    return expect.stock_movements([s.record for s in scenario.invoices()], [s.record for s in scenario.stock_slips()])


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    with database_url(request.param, tmp_path_factory.mktemp("logo")) as url:
        write(url, SCENARIO)
        with adapter(url, SCENARIO) as source:
            yield read(source.stream("stock_movements"))


def test_every_movement_comes_back_as_the_facts_make_it(synced: list[Any]) -> None:
    got = [r for _, r, _ in synced if isinstance(r, StockMovement)]
    want = _expected()
    by_key = {_key(m): m for m in got}
    assert len(by_key) == len(got) == len(want)
    for fact in want:
        movement = by_key[_key(fact)]
        assert expect.comparable(movement, NOT_KEPT) == expect.comparable(_logo(fact), NOT_KEPT), _key(fact)
    kinds = Counter((m.kind, m.direction, m.erp_kind) for m in got)
    assert set(kinds) == {
        ("sale", "out", "8:4"),
        ("sale_return", "in", "3:1"),
        ("purchase", "in", "1:1"),
        ("transfer", "out", "25:2"),
        ("transfer", "in", "25:2"),
    }
    assert kinds["transfer", "out", "25:2"] == kinds["transfer", "in", "25:2"] > 0
    assert any(m.cancelled for m in got)  # the cancelled invoices' lines, flagged


def test_a_transfer_is_one_row_and_two_keyed_movements(synced: list[Any]) -> None:
    transfers = [(k, r) for k, r, _ in synced if isinstance(r, StockMovement) and r.kind == "transfer"]
    rows: dict[str, dict[str, StockMovement]] = {}
    for key, r in transfers:
        row, _, side = key.partition("|")
        rows.setdefault(row, {})[side] = r
    assert rows and all(set(sides) == {"out", "in"} for sides in rows.values())
    for sides in rows.values():
        out, into = sides["out"], sides["in"]
        assert (out.direction, into.direction) == ("out", "in")
        assert out.warehouse_code == into.other_warehouse_code and into.warehouse_code == out.other_warehouse_code
        assert out.warehouse_code != into.warehouse_code
        assert (out.document_no, out.line_no, out.quantity) == (into.document_no, into.line_no, into.quantity)


def test_price_difference_lines_are_left_out_by_name_and_nothing_else_is(synced: list[Any]) -> None:
    """A price-difference invoice's item lines move no goods: each is read and counted out by its rule."""
    left_out = Counter(r.rule for _, r, _ in synced if isinstance(r, Excluded))
    lines = sum(len(s.record.lines) for s in SCENARIO.invoices() if s.record.kind == "price_difference")
    assert lines > 0
    assert left_out == {"a line of a price difference invoice: it moves no goods": lines}


# -- incremental ----------------------------------------------------------------------------------------------------


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'logo.db'}"


def test_the_changes_are_exactly_the_movements_that_change(url: str) -> None:
    writer = write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        stream = source.stream("stock_movements")
        first = read(stream)
        last = max(c for _, _, c in first if c is not None)
        assert last <= SCENARIO.as_of
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - dt.timedelta(minutes=10)
        again = read(stream, since)
        assert read(stream, SCENARIO.as_of + dt.timedelta(days=400)) == []  # a far-future cursor: nothing

    # A read since a cursor returns the lines of headers stamped on or after its day (the engine's hashes drop
    # the unchanged); what differs from the first read is exactly the new sale and the cancelled sale.
    assert all(c is not None and c.date() >= since.date() for _, _, c in again)
    before = {k: r for k, r, _ in first}
    changed = {k: r for k, r, _ in again if before.get(k) != r}
    changes = {c.kind: c for c in SCENARIO.changes}
    new = changes["new_invoice"].invoice
    cancelled = next(s.record for s in SCENARIO.invoices() if s.record.number == changes["cancel_invoice"].number)
    assert new is not None and new.lines and cancelled.lines
    want = expect.stock_movements([new, msgspec.structs.replace(cancelled, cancelled=True)], [])
    assert len(changed) == len(want)
    got = {_key(r): r for r in changed.values()}
    for fact in want:
        assert expect.comparable(got[_key(fact)], NOT_KEPT) == expect.comparable(_logo(fact), NOT_KEPT)
    # The cancelled sale's movements carry the change's time: the invoice's MODIFIEDDATE + HOUR/MIN/SEC.
    cursors = {c for k, r, c in again if k in changed and r.document_no == cancelled.number}
    assert cursors == {changes["cancel_invoice"].at}


# -- rows broken on purpose -----------------------------------------------------------------------------------------


def _edit(url: str, where: Any, **values: Any) -> int:
    """Set `values` on the first STLINE row `where` selects and return its LOGICALREF."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        ref = conn.execute(sa.select(sa.func.min(T.STLINE.c.LOGICALREF)).where(where)).scalar_one()
        conn.execute(T.STLINE.update().where(ref == T.STLINE.c.LOGICALREF).values(values))
    engine.dispose()
    return int(ref)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_broken_row_is_a_dead_letter_and_the_rest_flows(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path, "logo") as url:
        write(url, SCENARIO)
        s = T.STLINE.c
        slips, sales = s.STFICHEREF > 0, s.TRCODE == 8
        nan = _edit(url, sales, AMOUNT=float("nan"))
        way = _edit(url, sa.and_(sales, nan != s.LOGICALREF), IOCODE=9)
        transfer = _edit(url, s.TRCODE == 25, DESTINDEX=None)
        no_item = _edit(url, sa.and_(slips, s.TRCODE == 1), STOCKREF=-5)
        unknown = _edit(url, sa.and_(slips, s.TRCODE == 1, no_item != s.LOGICALREF), TRCODE=77)
        with adapter(url, SCENARIO) as source:
            out = sync(source, tmp_path / "run", "stock_movements")
            stream = source.stream("stock_movements")
            rows = sum(len(chunk) for chunk in stream.read(None))
        assert out.dead["stock_movements", f"001:01:{nan}"] in (
            "quantity: missing (NULL where an amount is required)",
            "quantity: not a finite number: nan",
        )
        assert out.dead["stock_movements", f"001:01:{way}"].startswith("direction: unknown IOCODE 9")
        # A transfer without its target: both of its movements are dead letters, the rest of the slip flows.
        for side in ("out", "in"):
            reason = out.dead["stock_movements", f"001:01:{transfer}|{side}"]
            assert reason.endswith("missing (NULL DESTINDEX or SOURCEINDEX of a transfer)") or reason.startswith(
                "warehouse_code: missing"
            )
        assert out.dead["stock_movements", f"001:01:{no_item}"].startswith("product_code: missing")
        assert len(out.dead) == 5 and all(r.status == "ok" for r in out.results)
        # A TRCODE no setting names is sent as 'other' with its code, never dropped and never guessed.
        other = out.feed["stock_movements", f"001:01:{unknown}"]
        assert other is not None and other["kind"] == "other" and other["erp_kind"] == "77:1"
        excluded = sum(len(s.record.lines) for s in SCENARIO.invoices() if s.record.kind == "price_difference")
        sent = sum(1 for stream_name, _ in out.feed if stream_name == "stock_movements")
        assert sent == rows - 5 - excluded


# -- the census -------------------------------------------------------------------------------------------------------


def test_the_census_lists_the_movement_codes_and_an_unknown_one_is_mapped_by_movement_kinds(url: str) -> None:
    write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        counts = {c.shown: c for c in source.census() if c.column.stream == "stock_movements"}
    assert all(c.column.name == "STLINE.TRCODE x IOCODE x INVOICE.TRCODE" for c in counts.values())
    slips = [s.record for s in SCENARIO.stock_slips()]
    purchases = counts["1 x 1 x NULL"]
    assert purchases.rows == sum(len(s.lines) for s in slips if s.kind == "purchase")
    assert purchases.reading is not None and purchases.reading.action == "stock movement, kind purchase, in"
    assert "UNCONFIRMED" in purchases.reading.source
    transfers = counts["25 x 2 x NULL"]
    assert transfers.rows == sum(len(s.lines) for s in slips if s.kind == "transfer")
    assert transfers.reading is not None and transfers.reading.source.startswith("LDDS")
    assert "two movements" in transfers.reading.action
    sales = counts["8 x 4 x 8"]
    assert sales.reading is not None and sales.reading.action.startswith("stock movement, kind sale, out")
    price = counts["14 x 4 x 14"]
    assert price.reading is not None and not price.reading.sent
    assert all(c.reading is not None for c in counts.values())

    _edit(url, T.STLINE.c.TRCODE == 1, TRCODE=77)
    with adapter(url, SCENARIO) as source:
        unknown = [(c.column.name, c.shown, c.rows) for c in source.census() if c.reading is None]
        other = [m for m in records(source.stream("stock_movements")) if getattr(m, "erp_kind", "") == "77:1"]
    assert unknown == [("STLINE.TRCODE x IOCODE x INVOICE.TRCODE", "77 x 1 x NULL", 1)]
    assert [m.kind for m in other] == ["other"]
    kinds = {**LogoSettings(url=url, firm=1, periods=[1]).movement_kinds, 77: "purchase"}
    with adapter(url, SCENARIO, movement_kinds=kinds) as source:
        found = {c.shown: c for c in source.census() if c.column.stream == "stock_movements"}
        mapped = [m for m in records(source.stream("stock_movements")) if getattr(m, "erp_kind", "") == "77:1"]
    assert found["77 x 1 x NULL"].reading is not None and found["77 x 1 x NULL"].reading.source == "your settings"
    assert [m.kind for m in mapped] == ["purchase"]
