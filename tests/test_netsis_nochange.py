"""Netsis's snapshot streams and product cards on a sync with nothing new: stock levels (TBLSTOKPH) and risk limits
(TBLCASABIT's totals) read Netsis's own totals and map none of the rows that did not move (their row versions), the
open customer orders are summed once per read (not once per page), and the product cards, which carry no stamps in
the public layout and are read whole on every sync, are not mapped either. Every kind of change still reaches the
feed, which after each sync holds exactly what a complete read gives. Netsis updates the totals as documents are
saved, cancelled (deleted) or deleted: the tests edit them as Netsis would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.netsis.masters import Products
from connectors.netsis.snapshots import RiskLimits, StockLevels
from connectors.netsis.writer import NetsisWriter
from scenario.generate import build
from tests.netsis_dbs import Server, adapter, server, write
from tests.nochange import changed, complete, counting, held
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
STREAMS = ("products", "stock_levels", "risk_limits")


class Erp:
    def __init__(self, where: Server) -> None:
        self.url = where.url("GIDA2026")
        self.writer: NetsisWriter = write(self.url, SCENARIO, where.url("NETSIS"))
        self.t = self.writer.t

    def one(self, stmt: sa.Select[Any]) -> Any:
        with self.writer.engine.connect() as conn:
            return conn.execute(stmt.limit(1)).one()

    def run(self, stmt: Any) -> None:
        with self.writer.engine.begin() as conn:
            assert conn.execute(stmt).rowcount >= 1


@pytest.fixture
def erp(tmp_path: Path) -> Erp:
    return Erp(server("sqlite", tmp_path))


def test_a_sync_with_nothing_new_maps_nothing(erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        for stream in STREAMS:
            feed.sync(source, stream)
        with (
            counting(monkeypatch, Products, "map") as products,
            counting(monkeypatch, StockLevels, "map") as stock,
            counting(monkeypatch, RiskLimits, "map") as risk,
        ):
            results = [feed.sync(source, stream)[0] for stream in STREAMS]
        for result in results:
            assert result.pushed == result.deleted == 0
            assert result.unchanged == result.read > 0
        assert products == stock == risk == {"map": 0}
        for stream in STREAMS:
            assert held(feed, stream) == complete(source.stream(stream))


def test_open_orders_are_summed_once_per_read(erp: Erp) -> None:
    statements: list[str] = []
    with adapter(erp.url, SCENARIO, chunk_size=10) as source:
        sa.event.listen(source.env().master.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        items = [item for chunk in source.stream("risk_limits").read(None) for item in chunk]
    assert len(items) == len(SCENARIO.risk_limits) > 10  # several pages
    assert sum("TBLSIPAMAS" in s for s in statements) == 1


def _level(erp: Erp) -> Any:
    p = erp.t.STOKPH.c
    return erp.one(sa.select(p.STOK_KODU, p.DEPO_KODU).where(p.DEPO_KODU != 0).order_by(p.STOK_KODU, p.DEPO_KODU))


def _of(erp: Erp, level: Any) -> Any:
    p = erp.t.STOKPH.c
    return sa.and_(p.STOK_KODU == level.STOK_KODU, p.DEPO_KODU == level.DEPO_KODU)


def _moved_out(erp: Erp) -> None:  # an invoice saved or deleted: Netsis moves the item's totals
    p = erp.t.STOKPH.c
    erp.run(erp.t.STOKPH.update().where(_of(erp, _level(erp))).values(TOP_CIKIS_MIK=p.TOP_CIKIS_MIK + 4))


def _level_deleted(erp: Erp) -> None:
    erp.run(erp.t.STOKPH.delete().where(_of(erp, _level(erp))))


def _warehouse_renamed(erp: Erp) -> None:
    d = erp.t.STOKDP.c
    erp.run(erp.t.STOKDP.update().where(d.DEPO_KODU == _level(erp).DEPO_KODU).values(DEPO_ISMI="YENI DEPO"))


STOCK_CHANGES: dict[str, Callable[[Erp], None]] = {
    "on hand moved": _moved_out,
    "a level's row deleted": _level_deleted,
    "its warehouse renamed": _warehouse_renamed,
}


def _account(erp: Erp) -> Any:
    c = erp.t.CASABIT.c
    return erp.one(sa.select(c.CARI_KOD).where(c.RISK_SINIRI > 0).order_by(c.CARI_KOD)).CARI_KOD


def _balance(erp: Erp) -> None:  # an invoice or collection saved or deleted: Netsis moves the account's totals
    c = erp.t.CASABIT.c
    erp.run(erp.t.CASABIT.update().where(_account(erp) == c.CARI_KOD).values(CM_BORCT=c.CM_BORCT + 250))


def _limit(erp: Erp) -> None:
    c = erp.t.CASABIT.c
    erp.run(erp.t.CASABIT.update().where(_account(erp) == c.CARI_KOD).values(RISK_SINIRI=c.RISK_SINIRI + 1000))


def _no_limit(erp: Erp) -> None:  # the account leaves the stream: a delete
    c = erp.t.CASABIT.c
    erp.run(erp.t.CASABIT.update().where(_account(erp) == c.CARI_KOD).values(RISK_SINIRI=0))


def _order(erp: Erp, *, open_: bool) -> Any:
    o, ln, c = erp.t.SIPAMAS.c, erp.t.SIPATRA.c, erp.t.CASABIT.c
    has_open = sa.exists().where(
        ln.FISNO == o.FATIRS_NO, ln.STHAR_FTIRSIP == o.FTIRSIP, ln.SUBE_KODU == o.SUBE_KODU, ln.STHAR_HTUR != "K"
    )
    return erp.one(
        sa.select(o.FATIRS_NO, o.FTIRSIP, o.SUBE_KODU).where(
            o.FTIRSIP == "6",
            o.ONAYTIPI.in_(("A", "B")),
            o.CARI_KODU.in_(sa.select(c.CARI_KOD).where(c.RISK_SINIRI > 0)),
            has_open if open_ else ~has_open,
        )
    )


def _lines(erp: Erp, order: Any) -> Any:
    ln = erp.t.SIPATRA.c
    return erp.t.SIPATRA.update().where(
        ln.FISNO == order.FATIRS_NO, ln.STHAR_FTIRSIP == order.FTIRSIP, ln.SUBE_KODU == order.SUBE_KODU
    )


def _order_closed(erp: Erp) -> None:
    erp.run(_lines(erp, _order(erp, open_=True)).values(STHAR_HTUR="K"))


def _order_reopened(erp: Erp) -> None:
    erp.run(_lines(erp, _order(erp, open_=False)).values(STHAR_HTUR="J"))


def _order_deleted(erp: Erp) -> None:  # Netsis deletes a cancelled order
    o, ln = erp.t.SIPAMAS.c, erp.t.SIPATRA.c
    order = _order(erp, open_=True)
    erp.run(
        erp.t.SIPATRA.delete().where(
            ln.FISNO == order.FATIRS_NO, ln.STHAR_FTIRSIP == order.FTIRSIP, ln.SUBE_KODU == order.SUBE_KODU
        )
    )
    erp.run(
        erp.t.SIPAMAS.delete().where(
            o.FATIRS_NO == order.FATIRS_NO, o.FTIRSIP == order.FTIRSIP, o.SUBE_KODU == order.SUBE_KODU
        )
    )


def _order_total(erp: Erp) -> None:
    o, order = erp.t.SIPAMAS.c, _order(erp, open_=True)
    erp.run(
        erp.t.SIPAMAS.update()
        .where(o.FATIRS_NO == order.FATIRS_NO, o.FTIRSIP == order.FTIRSIP, o.SUBE_KODU == order.SUBE_KODU)
        .values(GENELTOPLAM=o.GENELTOPLAM + 99)
    )


RISK_CHANGES: dict[str, Callable[[Erp], None]] = {
    "the balance moved": _balance,
    "the limit raised": _limit,
    "the limit taken away": _no_limit,
    "an order's lines closed": _order_closed,
    "an order's lines reopened": _order_reopened,
    "an order deleted outright": _order_deleted,
    "an order's total edited": _order_total,
}


def _product_renamed(erp: Erp) -> None:  # the public layout's cards carry no stamp
    s = erp.t.STSABIT.c
    code = erp.one(sa.select(s.STOK_KODU).order_by(s.STOK_KODU)).STOK_KODU
    erp.run(erp.t.STSABIT.update().where(code == s.STOK_KODU).values(STOK_ADI="YENI ISIM"))


CHANGES: dict[tuple[str, str], Callable[[Erp], None]] = {
    **{("stock_levels", name): change for name, change in STOCK_CHANGES.items()},
    **{("risk_limits", name): change for name, change in RISK_CHANGES.items()},
    ("products", "a card renamed, unstamped"): _product_renamed,
}


@pytest.mark.parametrize(("stream", "change"), list(CHANGES))
def test_every_change_reaches_the_feed(erp: Erp, tmp_path: Path, stream: str, change: str) -> None:
    """Risk limits are the card's limit and totals and the open customer orders: none of it depends on the day the
    sync runs, so a limit changes only when a row does."""
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        feed.sync(source, stream)
        before = held(feed, stream)
        CHANGES[stream, change](erp)
        result, _ = feed.sync(source, stream)
        after = held(feed, stream)
        assert after == complete(source.stream(stream))
    assert changed(before, after), change
    assert result.pushed == len(changed(before, after))
