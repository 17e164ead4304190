"""Logo's snapshot streams on a sync with nothing new: stock levels and risk limits read Logo's own totals (GNTOTST,
GNTOTCL, CLRNUMS) and map none of the rows that did not move (their row versions), and risk limits sum the open
sales orders once per read instead of once per account. Every kind of change still reaches the feed, which after
each sync holds exactly what a complete read gives.

Logo updates its totals as documents are saved, cancelled or deleted (deleted rows leave no stamp, but the total
they were in moves): the tests edit the totals as Logo would. Sales order lines carry no stamp at all, which is why
the open orders are summed on every sync rather than trusted to a stamp."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.logo.snapshots import RiskLimits, StockLevels
from connectors.logo.writer import LogoWriter
from scenario.generate import build
from tests.dbs import adapter, write
from tests.nochange import changed, complete, counting, held
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
STREAMS = ("stock_levels", "risk_limits")


class Erp:
    def __init__(self, url: str, writer: LogoWriter) -> None:
        self.url, self.writer, self.t = url, writer, writer.t

    def one(self, stmt: sa.Select[Any]) -> Any:
        with self.writer.engine.connect() as conn:
            return conn.execute(stmt.limit(1)).one()

    def run(self, stmt: Any) -> None:
        with self.writer.engine.begin() as conn:
            assert conn.execute(stmt).rowcount >= 1


@pytest.fixture
def erp(tmp_path: Path) -> Erp:
    url = f"sqlite:///{tmp_path / 'logo.db'}"
    return Erp(url, write(url, SCENARIO))


def test_a_sync_with_nothing_new_maps_nothing(erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        for stream in STREAMS:
            feed.sync(source, stream)
        with counting(monkeypatch, StockLevels, "map") as stock, counting(monkeypatch, RiskLimits, "map") as risk:
            levels, _ = feed.sync(source, "stock_levels")
            limits, _ = feed.sync(source, "risk_limits")
        for result in (levels, limits):
            assert result.pushed == result.deleted == 0
            assert result.unchanged == result.read > 0
        assert stock == risk == {"map": 0}
        for stream in STREAMS:
            assert held(feed, stream) == complete(source.stream(stream))


def test_open_orders_are_summed_once_per_read(erp: Erp) -> None:
    statements: list[str] = []
    with adapter(erp.url, SCENARIO, chunk_size=10) as source:
        sa.event.listen(source.env().engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        items = [item for chunk in source.stream("risk_limits").read(None) for item in chunk]
    assert len(items) == len(SCENARIO.risk_limits) > 10  # several pages
    assert sum("ORFLINE" in s for s in statements) == 1


def _stock_row(erp: Erp) -> Any:
    g = erp.t.GNTOTST.c
    return erp.one(sa.select(g.LOGICALREF, g.STOCKREF, g.INVENNO).where(g.INVENNO >= 0).order_by(g.LOGICALREF))


def _on_hand(erp: Erp) -> None:  # an invoice saved, cancelled or deleted: Logo moves the item's totals
    g = erp.t.GNTOTST.c
    erp.run(erp.t.GNTOTST.update().where(g.LOGICALREF == _stock_row(erp).LOGICALREF).values(ONHAND=g.ONHAND - 3))


def _reserved(erp: Erp) -> None:
    g = erp.t.GNTOTST.c
    erp.run(erp.t.GNTOTST.update().where(g.LOGICALREF == _stock_row(erp).LOGICALREF).values(ACTSORDER=g.ACTSORDER + 2))


def _stock_row_deleted(erp: Erp) -> None:
    g = erp.t.GNTOTST.c
    erp.run(erp.t.GNTOTST.delete().where(g.LOGICALREF == _stock_row(erp).LOGICALREF))


def _item_renamed(erp: Erp) -> None:
    i = erp.t.ITEMS.c
    erp.run(erp.t.ITEMS.update().where(i.LOGICALREF == _stock_row(erp).STOCKREF).values(CODE="RENAMED-1"))


def _warehouse_renamed(erp: Erp) -> None:
    w = erp.t.CAPIWHOUSE.c
    erp.run(erp.t.CAPIWHOUSE.update().where(w.NR == _stock_row(erp).INVENNO).values(NAME="Yeni Depo"))


STOCK_CHANGES: dict[str, Callable[[Erp], None]] = {
    "on hand moved": _on_hand,
    "reserved moved": _reserved,
    "a level's row deleted": _stock_row_deleted,
    "its item's code changed": _item_renamed,
    "its warehouse renamed": _warehouse_renamed,
}


@pytest.mark.parametrize("change", list(STOCK_CHANGES))
def test_every_change_reaches_the_stock_levels(erp: Erp, tmp_path: Path, change: str) -> None:
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        feed.sync(source, "stock_levels")
        before = held(feed, "stock_levels")
        STOCK_CHANGES[change](erp)
        result, _ = feed.sync(source, "stock_levels")
        after = held(feed, "stock_levels")
        assert after == complete(source.stream("stock_levels"))
    assert changed(before, after), change
    assert result.pushed == len(changed(before, after))


def _limit(erp: Erp) -> Any:
    r = erp.t.CLRNUMS.c
    return erp.one(sa.select(r.LOGICALREF, r.CLCARDREF).order_by(r.LOGICALREF))


def _balance(erp: Erp) -> None:  # an invoice or collection saved, cancelled or deleted: Logo moves GNTOTCL
    g = erp.t.GNTOTCL.c
    erp.run(erp.t.GNTOTCL.update().where(g.CARDREF == _limit(erp).CLCARDREF).values(DEBIT=g.DEBIT + 250))


def _limit_raised(erp: Erp) -> None:
    r = erp.t.CLRNUMS.c
    erp.run(erp.t.CLRNUMS.update().where(r.LOGICALREF == _limit(erp).LOGICALREF).values(ACCRISKLIMIT=123456))


def _limit_deleted(erp: Erp) -> None:
    r = erp.t.CLRNUMS.c
    erp.run(erp.t.CLRNUMS.delete().where(r.LOGICALREF == _limit(erp).LOGICALREF))


def _blocked(erp: Erp) -> None:
    c = erp.t.CLCARD.c
    erp.run(erp.t.CLCARD.update().where(c.LOGICALREF == _limit(erp).CLCARDREF).values(BLOCKED=1 - c.BLOCKED))


def _order(erp: Erp, *, open_: bool) -> Any:
    """A sales order of an account with a limit, not cancelled, of an open status, with (or without) an open
    line."""
    o, ol, r = erp.t.ORFICHE.c, erp.t.ORFLINE.c, erp.t.CLRNUMS.c
    has_open = sa.exists().where(ol.ORDFICHEREF == o.LOGICALREF, ol.CLOSED == 0)
    return erp.one(
        sa.select(o.LOGICALREF).where(
            o.TRCODE == 1,
            o.CANCELLED == 0,
            o.STATUS.in_((2, 4)),
            o.CLIENTREF.in_(sa.select(r.CLCARDREF)),
            has_open if open_ else ~has_open,
        )
    )


def _line_reopened(erp: Erp) -> None:  # ORFLINE has no stamp: only the sum over it can see this
    ol = erp.t.ORFLINE.c
    ref = _order(erp, open_=False).LOGICALREF
    erp.run(erp.t.ORFLINE.update().where(ref == ol.ORDFICHEREF).values(CLOSED=0))


def _lines_closed(erp: Erp) -> None:
    ol = erp.t.ORFLINE.c
    erp.run(erp.t.ORFLINE.update().where(ol.ORDFICHEREF == _order(erp, open_=True).LOGICALREF).values(CLOSED=1))


def _order_cancelled(erp: Erp) -> None:
    o = erp.t.ORFICHE.c
    erp.run(erp.t.ORFICHE.update().where(o.LOGICALREF == _order(erp, open_=True).LOGICALREF).values(CANCELLED=1))


def _order_total(erp: Erp) -> None:
    o = erp.t.ORFICHE.c
    ref = _order(erp, open_=True).LOGICALREF
    erp.run(erp.t.ORFICHE.update().where(ref == o.LOGICALREF).values(NETTOTAL=o.NETTOTAL + 99))


def _order_deleted(erp: Erp) -> None:  # Logo deletes rows outright
    o, ol = erp.t.ORFICHE.c, erp.t.ORFLINE.c
    ref = _order(erp, open_=True).LOGICALREF
    erp.run(erp.t.ORFLINE.delete().where(ref == ol.ORDFICHEREF))
    erp.run(erp.t.ORFICHE.delete().where(ref == o.LOGICALREF))


RISK_CHANGES: dict[str, Callable[[Erp], None]] = {
    "the balance moved": _balance,
    "the limit raised": _limit_raised,
    "the limit deleted": _limit_deleted,
    "the account blocked or unblocked": _blocked,
    "an order line reopened": _line_reopened,
    "an order's lines closed": _lines_closed,
    "an order cancelled": _order_cancelled,
    "an order's total edited": _order_total,
    "an order deleted outright": _order_deleted,
}


@pytest.mark.parametrize("change", list(RISK_CHANGES))
def test_every_change_reaches_the_risk_limits(erp: Erp, tmp_path: Path, change: str) -> None:
    """What a limit is made of: its CLRNUMS row, the card's code and block, the GNTOTCL balance and the open sales
    orders; none of it depends on the day the sync runs (no overdue figure), so it changes only when a row does."""
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        feed.sync(source, "risk_limits")
        before = held(feed, "risk_limits")
        RISK_CHANGES[change](erp)
        result, _ = feed.sync(source, "risk_limits")
        after = held(feed, "risk_limits")
        assert after == complete(source.stream("risk_limits"))
    assert changed(before, after), change
    assert result.pushed == len(changed(before, after))
