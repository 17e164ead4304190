"""Mikro's stock levels and risk limits follow the change stamps (connectors/mikro/changes.py): a sync with nothing
new sums nothing and maps nothing, and every kind of change still reaches the feed, which after each sync holds
exactly what a complete read gives (the movements a stamp cannot show: on the next sync for risk limits, at the
next reconcile for stock levels)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import SourceContext
from connectors.mikro import MikroAdapter, MikroSettings
from connectors.mikro.changes import ChangedRiskLimits, ChangedStockLevels
from connectors.mikro.snapshots import StockLevels
from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer import MikroWriter
from scenario.generate import build
from tests.mikro_dbs import SITE, adapter, vat_settings, write
from tests.nochange import changed, complete, counting, held
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
TZ = ZoneInfo(SCENARIO.timezone)
CHANGES = {c.kind: c for c in SCENARIO.changes}
T = mikro_tables(sa.MetaData())


def _at(minutes: int) -> dt.datetime:
    """A stamp `minutes` after the scenario's last one, in Mikro's naive wall time."""
    return (SCENARIO.as_of + dt.timedelta(minutes=minutes)).astimezone(TZ).replace(tzinfo=None)


class Erp:
    def __init__(self, url: str, writer: MikroWriter) -> None:
        self.url, self.writer = url, writer
        self.engine = sa.create_engine(url)

    def one(self, stmt: sa.Select[Any]) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(stmt.limit(1)).one()

    def run(self, stmt: Any) -> None:
        with self.engine.begin() as conn:
            assert conn.execute(stmt).rowcount >= 1


@pytest.fixture
def erp(tmp_path: Path) -> Erp:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    return Erp(url, write(url, SCENARIO))


def _settle(feed: Feed, source: MikroAdapter, stream: str) -> None:
    feed.sync(source, stream)  # the first sync: a complete read
    feed.sync(source, stream)  # the first to follow the stamps: it sums what it has no version of yet


def test_the_streams_follow_the_stamps_unless_told_every_row(erp: Erp) -> None:
    with adapter(erp.url, SCENARIO) as source:
        assert isinstance(source.stream("stock_levels"), ChangedStockLevels)
        assert isinstance(source.stream("risk_limits"), ChangedRiskLimits)
    with adapter(erp.url, SCENARIO, snapshot_reads="every_row") as source:
        stock = source.stream("stock_levels")
        assert type(stock) is StockLevels and stock.replication_key is None
        assert source.stream("risk_limits").replication_key is None


def test_a_sync_with_nothing_new_sums_and_maps_nothing(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        for stream in ("stock_levels", "risk_limits"):
            _settle(feed, source, stream)
        with (
            counting(monkeypatch, ChangedStockLevels, "map", "page_levels") as stock,
            counting(monkeypatch, ChangedRiskLimits, "map", "figures") as risk,
        ):
            levels, _ = feed.sync(source, "stock_levels")
            limits, _ = feed.sync(source, "risk_limits")
        for result in (levels, limits):
            assert result.pushed == result.deleted == 0
            assert result.unchanged == result.read
        assert limits.read == len(SCENARIO.risk_limits)  # every limit is looked at (its version), none summed
        assert stock == {"map": 0, "page_levels": 0}
        assert risk == {"map": 0, "figures": 0}
        for stream in ("stock_levels", "risk_limits"):
            assert held(feed, stream) == complete(source.stream(stream))


def _out_movement(erp: Erp) -> Any:
    s = T.STOK_HAREKETLERI.c
    return erp.one(sa.select(s.sth_Guid, s.sth_stok_kod).where(s.sth_tip == 1, s.sth_iptal == sa.false()))


def _edit_quantity(erp: Erp) -> None:
    s, row = T.STOK_HAREKETLERI.c, _out_movement(erp)
    erp.run(
        T.STOK_HAREKETLERI.update()
        .where(s.sth_Guid == row.sth_Guid)
        .values(sth_miktar=s.sth_miktar + 7, sth_lastup_date=_at(3))
    )


def _hide_movement(erp: Erp) -> None:  # Mikro's own delete: the row stays, flagged and stamped
    s, row = T.STOK_HAREKETLERI.c, _out_movement(erp)
    hidden = T.STOK_HAREKETLERI.update().where(s.sth_Guid == row.sth_Guid)
    erp.run(hidden.values(sth_hidden=True, sth_lastup_date=_at(3)))


def _deliver_order_line(erp: Erp) -> None:
    o = T.SIPARISLER.c
    row = erp.one(
        sa.select(o.sip_Guid).where(
            o.sip_tip == 0, o.sip_cins == 0, o.sip_kapat_fl == sa.false(), o.sip_miktar > o.sip_teslim_miktar
        )
    )
    erp.run(
        T.SIPARISLER.update()
        .where(o.sip_Guid == row.sip_Guid)
        .values(sip_teslim_miktar=o.sip_miktar, sip_lastup_date=_at(3))
    )


def _hide_item(erp: Erp) -> None:
    k, row = T.STOKLAR.c, _out_movement(erp)
    erp.run(T.STOKLAR.update().where(k.sto_kod == row.sth_stok_kod).values(sto_hidden=True, sto_lastup_date=_at(3)))


STOCK_CHANGES: dict[str, Callable[[Erp], None]] = {
    "a new invoice": lambda erp: erp.writer.apply(CHANGES["new_invoice"]),
    "a movement's quantity edited": _edit_quantity,
    "an invoice cancelled": lambda erp: erp.writer.apply(CHANGES["cancel_invoice"]),
    "a movement deleted the Mikro way (hidden)": _hide_movement,
    "an order line delivered (reserved stock)": _deliver_order_line,
    "an item card hidden (its levels deleted)": _hide_item,
}


@pytest.mark.parametrize("change", list(STOCK_CHANGES))
def test_every_stamped_change_reaches_the_stock_levels(erp: Erp, tmp_path: Path, change: str) -> None:
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        _settle(feed, source, "stock_levels")
        before = held(feed, "stock_levels")
        STOCK_CHANGES[change](erp)
        result, _ = feed.sync(source, "stock_levels")
        after = held(feed, "stock_levels")
        assert after == complete(source.stream("stock_levels"))
    assert changed(before, after), change
    assert result.pushed == len(changed(before, after))  # the changed records, deletes included, and no other


def _edit_amount(erp: Erp) -> None:
    h = T.CARI_HESAP_HAREKETLERI.c
    row = erp.one(sa.select(h.cha_Guid).where(h.cha_evrak_tip == 1, h.cha_iptal == sa.false(), h.cha_cari_cins == 0))
    erp.run(
        T.CARI_HESAP_HAREKETLERI.update()
        .where(h.cha_Guid == row.cha_Guid)
        .values(cha_meblag=h.cha_meblag + 100, cha_lastup_date=_at(3))
    )


def _receipt(erp: Erp) -> Any:
    h = T.CARI_HESAP_HAREKETLERI.c
    return erp.one(
        sa.select(h.cha_Guid, h.cha_kod).where(h.cha_evrak_tip == 1, h.cha_iptal == sa.false(), h.cha_cari_cins == 0)
    )


def _delete_outright(erp: Erp) -> None:  # an integration's delete: no row is left to stamp
    h, row = T.CARI_HESAP_HAREKETLERI.c, _receipt(erp)
    erp.run(T.CARI_HESAP_HAREKETLERI.delete().where(h.cha_Guid == row.cha_Guid))


def _move_to_another_account(erp: Erp) -> None:
    h, r, row = T.CARI_HESAP_HAREKETLERI.c, T.RISK.c, _receipt(erp)
    other = erp.one(sa.select(r.cari_kod).where(r.cari_kod != row.cha_kod)).cari_kod
    erp.run(
        T.CARI_HESAP_HAREKETLERI.update()
        .where(h.cha_Guid == row.cha_Guid)
        .values(cha_kod=other, cha_lastup_date=_at(3))
    )


def _limit_row(erp: Erp) -> Any:
    r = T.RISK.c
    return erp.one(sa.select(r.cari_kod).order_by(r.cari_kod))


def _raise_limit(erp: Erp) -> None:  # the integrator's view need not carry a stamp
    r = T.RISK.c
    erp.run(T.RISK.update().where(r.cari_kod == _limit_row(erp).cari_kod).values(risk_limiti=r.risk_limiti + 5000))


def _block_account(erp: Erp) -> None:
    c = T.CARI_HESAPLAR.c
    erp.run(T.CARI_HESAPLAR.update().where(c.cari_kod == _limit_row(erp).cari_kod).values(cari_cari_kilitli_flg=True))


def _close_order(erp: Erp) -> None:
    o, r = T.SIPARISLER.c, T.RISK.c
    row = erp.one(
        sa.select(o.sip_evrakno_seri, o.sip_evrakno_sira).where(
            o.sip_tip == 0, o.sip_cins == 0, o.sip_kapat_fl == sa.false(), o.sip_musteri_kod.in_(sa.select(r.cari_kod))
        )
    )
    lines = T.SIPARISLER.update().where(
        o.sip_tip == 0, o.sip_evrakno_seri == row.sip_evrakno_seri, o.sip_evrakno_sira == row.sip_evrakno_sira
    )
    erp.run(lines.values(sip_kapat_fl=True, sip_lastup_date=_at(3)))


def _portfolio_paper(erp: Erp) -> Any:
    k, r = T.ODEME_EMIRLERI.c, T.RISK.c
    return erp.one(
        sa.select(k.sck_Guid).where(
            k.sck_sonpoz == 0, k.sck_iptal == sa.false(), k.sck_sahip_cari_kodu.in_(sa.select(r.cari_kod))
        )
    )


def _cash_paper(erp: Erp) -> None:
    k, row = T.ODEME_EMIRLERI.c, _portfolio_paper(erp)
    erp.run(T.ODEME_EMIRLERI.update().where(k.sck_Guid == row.sck_Guid).values(sck_sonpoz=2, sck_lastup_date=_at(3)))


def _delete_paper(erp: Erp) -> None:
    k, row = T.ODEME_EMIRLERI.c, _portfolio_paper(erp)
    erp.run(T.ODEME_EMIRLERI.delete().where(k.sck_Guid == row.sck_Guid))


def _new_invoice_of_a_limit(erp: Erp) -> None:
    """The scenario's new invoice, for an account with a limit (the scenario's dealer has none)."""
    h = T.CARI_HESAP_HAREKETLERI.c
    erp.writer.apply(CHANGES["new_invoice"])
    stamped = h.cha_lastup_date == _at(5)  # the change's own time: only the new invoice's rows carry it
    erp.run(T.CARI_HESAP_HAREKETLERI.update().where(stamped).values(cha_kod=_limit_row(erp).cari_kod))


RISK_CHANGES: dict[str, Callable[[Erp], None]] = {
    "a new invoice": _new_invoice_of_a_limit,
    "an invoice cancelled": lambda erp: erp.writer.apply(CHANGES["cancel_invoice"]),
    "a new collection": lambda erp: erp.writer.apply(CHANGES["new_collection"]),
    "a collection's amount edited": _edit_amount,
    "a collection deleted outright": _delete_outright,
    "an invoice deleted outright": lambda erp: erp.writer.delete_invoice(CHANGES["cancel_invoice"].number or ""),
    "a movement moved to another account": _move_to_another_account,
    "a limit raised in the view, unstamped": _raise_limit,
    "an account blocked, unstamped": _block_account,
    "an order closed": _close_order,
    "a cheque leaving the portfolio": _cash_paper,
    "a cheque deleted outright": _delete_paper,
}


@pytest.mark.parametrize("change", list(RISK_CHANGES))
def test_every_change_reaches_the_risk_limits_on_the_next_sync(erp: Erp, tmp_path: Path, change: str) -> None:
    """Risk limits depend on the limit view's row, the account card, and the account's movements, sales orders
    and cheques and notes in the portfolio; nothing in them depends on the day the sync runs (each document
    converts at its own rate), so a figure changes only when a row does."""
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        _settle(feed, source, "risk_limits")
        before = held(feed, "risk_limits")
        RISK_CHANGES[change](erp)
        feed.sync(source, "risk_limits")
        after = held(feed, "risk_limits")
        assert after == complete(source.stream("risk_limits"))
    assert changed(before, after), change


def test_a_movement_deleted_outright_reaches_the_stock_level_at_the_reconcile(erp: Erp, tmp_path: Path) -> None:
    """No stamp shows a row that is gone: the plain sync leaves the level as it was (check warns when no
    reconcile is scheduled), the reconcile sums everything again and sends it."""
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        _settle(feed, source, "stock_levels")
        before = held(feed, "stock_levels")
        erp.writer.delete_invoice(CHANGES["cancel_invoice"].number or "")
        feed.sync(source, "stock_levels")
        assert held(feed, "stock_levels") == before
        feed.sync(source, "stock_levels", reconcile=True)
        after = held(feed, "stock_levels")
        assert after == complete(source.stream("stock_levels"))
    assert changed(before, after)


def test_a_limit_removed_from_the_view_is_deleted_at_the_reconcile(erp: Erp, tmp_path: Path) -> None:
    r = T.RISK.c
    with Feed(tmp_path) as feed, adapter(erp.url, SCENARIO) as source:
        _settle(feed, source, "risk_limits")
        gone = _limit_row(erp).cari_kod
        erp.run(T.RISK.delete().where(r.cari_kod == gone))
        feed.sync(source, "risk_limits")
        assert gone in held(feed, "risk_limits")
        result, sent = feed.sync(source, "risk_limits", reconcile=True)
        assert held(feed, "risk_limits") == complete(source.stream("risk_limits"))
    assert [(e["key"], e["op"]) for e in sent] == [(gone, "delete")]
    assert result.deleted == 1


def test_check_warns_when_stock_levels_follow_the_stamps_without_a_reconcile(erp: Erp) -> None:
    def warnings(reconciles: bool, **settings: Any) -> list[str]:
        context = SourceContext("mikro-test", TZ, reconciles=reconciles)
        readings = {**vat_settings(erp.url), **SITE.settings(), **settings}
        with MikroAdapter(context, MikroSettings(url=erp.url, **readings)) as source:
            return [r.detail for r in source.check() if r.warning and r.name == "stock levels"]

    [warning] = warnings(reconciles=False)
    assert "reconcile" in warning and "snapshot_reads: every_row" in warning
    assert warnings(reconciles=True) == []
    assert warnings(reconciles=False, snapshot_reads="every_row") == []
