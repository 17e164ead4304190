"""Snapshot streams (no stamps to follow): stock levels from movements, risk limits from movements.

Mikro has no stock balance table: a level is the sum of STOK_HAREKETLERI quantities in (sth_tip 0,
and transfers into the warehouse) minus out (sth_tip 1, and transfers out), per item and warehouse.
Reserved is what open sales orders still owe. The customer balance is the sum of the account's
cha_cari_cins = 0 rows (debit + / credit -). The engine treats keys a snapshot no longer returns as
deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.mikro import codes
from connectors.mikro.money import DocMoney
from connectors.mikro.streams import MikroStream
from connectors.sql import for_refs, in_chunks, keyset_chunks
from mapping.money import fixed, minor_units
from mapping.schema import RiskLimit, StockLevel
from mapping.text import clean, required

__all__ = ["RiskLimits", "StockLevels"]

_ZERO = Decimal("0.00")


class _Snapshot(MikroStream):
    replication_key = None

    def live_keys(self) -> Iterator[Sequence[str]]:
        for chunk in self.read(None):
            yield [self.key(item) for item in chunk]

    def count(self) -> int | None:
        return sum(len(chunk) for chunk in self.read(None))

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # the next snapshot re-reads every row


class StockLevels(_Snapshot):
    """Per (STOKLAR item, DEPOLAR warehouse): on hand from movements, reserved from open orders."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")
    prefix = "sto"

    def table(self) -> sa.Table:
        return self.env.tables.STOKLAR

    def movements(self, codes_: list[str]) -> sa.Select[Any]:
        s = self.env.tables.STOK_HAREKETLERI.c
        # A value-difference line (sth_cins 9) re-prices goods already delivered: it moves no stock.
        valid = sa.and_(
            s.sth_iptal == sa.false(),
            s.sth_hidden == sa.false(),
            s.sth_cins != codes.PRICE_DIFFERENCE_CINS,
            s.sth_stok_kod.in_(codes_),
        )
        into = sa.select(
            s.sth_stok_kod.label("STOK"), s.sth_giris_depo_no.label("DEPO"), s.sth_miktar.label("QTY")
        ).where(valid, s.sth_tip.in_((codes.IN, codes.TRANSFER)))
        out_of = sa.select(
            s.sth_stok_kod.label("STOK"), s.sth_cikis_depo_no.label("DEPO"), (-s.sth_miktar).label("QTY")
        ).where(valid, s.sth_tip.in_((codes.OUT, codes.TRANSFER)))
        moves = sa.union_all(into, out_of).subquery("MOVES")
        d = self.env.tables.DEPOLAR.c
        return (
            sa.select(
                moves.c.STOK,
                moves.c.DEPO,
                sa.func.sum(moves.c.QTY).label("ONHAND"),
                sa.func.max(d.dep_adi).label("NAME"),
            )
            .select_from(moves.outerjoin(self.env.tables.DEPOLAR, d.dep_no == moves.c.DEPO))
            .where(moves.c.DEPO > 0)
            .group_by(moves.c.STOK, moves.c.DEPO)
            .order_by(moves.c.STOK, moves.c.DEPO)
        )

    def reservations(self, codes_: list[str]) -> sa.Select[Any]:
        o = self.env.tables.SIPARISLER.c
        return (
            sa.select(o.sip_stok_kod, o.sip_depono, sa.func.sum(o.sip_miktar - o.sip_teslim_miktar).label("OPEN"))
            .where(
                o.sip_tip == codes.SALES_ORDER,
                o.sip_cins == codes.NORMAL_ORDER,
                o.sip_iptal == sa.false(),
                o.sip_hidden == sa.false(),
                o.sip_kapat_fl == sa.false(),
                o.sip_miktar > o.sip_teslim_miktar,
                o.sip_stok_kod.in_(codes_),
            )
            .group_by(o.sip_stok_kod, o.sip_depono)
        )

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        s = self.table().c
        base = sa.select(s.sto_kod).where(s.sto_iptal == sa.false(), s.sto_hidden == sa.false())

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(s.sto_kod > last)).order_by(s.sto_kod)

        def then(conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[Any, Any]]:
            items: list[tuple[Any, Any]] = []
            for chunk in in_chunks([r.sto_kod for r in rows]):
                held = {(r.sip_stok_kod, r.sip_depono): r.OPEN for r in conn.execute(self.reservations(chunk))}
                items.extend(
                    (level, held.get((level.STOK, level.DEPO))) for level in conn.execute(self.movements(chunk))
                )
            return items

        yield from keyset_chunks(self.env.engine, page, "sto_kod", self.env.chunk_size, then)

    def key(self, item: tuple[Any, Any]) -> str:
        level, _ = item
        return f"{level.STOK}:{level.DEPO}"

    def raw(self, item: tuple[Any, Any]) -> dict[str, Any]:
        level, reserved = item
        return {**dict(level._mapping), "reserved": reserved}

    def map(self, item: tuple[Any, Any]) -> StockLevel:
        level, open_quantity = item
        on_hand = fixed(level.ONHAND, 3, "on_hand")
        reserved = fixed(open_quantity, 3, "reserved")
        return StockLevel(
            product_code=required(level.STOK, "product_code", 100),
            warehouse_code=str(level.DEPO),
            warehouse_name=clean(level.NAME),
            on_hand=on_hand,
            reserved=reserved,
            available=on_hand - reserved,
            as_of=self.as_of,
        )


class RiskLimits(_Snapshot):
    """Limits from the credit-limit view (see README), balance from CARI_HESAP_HAREKETLERI, open
    orders from SIPARISLER, customer cheques and notes still in the portfolio from ODEME_EMIRLERI."""

    name = "risk_limits"
    primary_key = ("account_code",)
    prefix = "cari"

    def table(self) -> sa.Table:
        return self.env.tables.RISK

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        t = self.env.tables
        r, c = t.RISK.c, t.CARI_HESAPLAR.c
        base = sa.select(r.cari_kod, r.risk_limiti, r.teminat, c.cari_cari_kilitli_flg).select_from(
            t.RISK.join(
                t.CARI_HESAPLAR,
                sa.and_(c.cari_kod == r.cari_kod, c.cari_iptal == sa.false(), c.cari_hidden == sa.false()),
            )
        )

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(r.cari_kod > last)).order_by(r.cari_kod)

        yield from keyset_chunks(self.env.engine, page, "cari_kod", self.env.chunk_size, self.attach)

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[Any, dict[str, Decimal]]]:
        accounts = [row.cari_kod for row in rows]
        figures = {code: {"balance": _ZERO, "orders": _ZERO, "uncashed": _ZERO} for code in accounts}
        t = self.env.tables
        h = t.CARI_HESAP_HAREKETLERI.c
        movements = sa.select(
            h.cha_kod,
            h.cha_evrak_tip,
            h.cha_evrakno_seri,
            h.cha_evrakno_sira,
            h.cha_tip,
            h.cha_d_cins,
            h.cha_d_kur,
            h.cha_meblag,
        ).where(h.cha_cari_cins == codes.CARI, h.cha_iptal == sa.false(), h.cha_hidden == sa.false())
        # A document's rows are summed before converting, so it counts at its own local total.
        documents: dict[tuple[Any, ...], list[Any]] = {}
        for m in for_refs(conn, movements, h.cha_kod, accounts):
            key = (m.cha_kod, m.cha_evrak_tip, m.cha_evrakno_seri, m.cha_evrakno_sira, m.cha_tip)
            documents.setdefault(key, []).append(m)
        for (code, *_, tip), parts in documents.items():
            value = self.local(
                parts[0].cha_d_cins, parts[0].cha_d_kur, sum(fixed(p.cha_meblag, 6, "open_balance") for p in parts)
            )
            figures[code]["balance"] += value if tip == codes.DEBIT else -value
        o = t.SIPARISLER.c
        orders = sa.select(
            o.sip_musteri_kod,
            o.sip_evrakno_seri,
            o.sip_evrakno_sira,
            o.sip_doviz_cinsi,
            o.sip_doviz_kuru,
            (
                o.sip_tutar
                - o.sip_iskonto_1
                - o.sip_iskonto_2
                - o.sip_iskonto_3
                - o.sip_iskonto_4
                - o.sip_iskonto_5
                - o.sip_iskonto_6
                + o.sip_vergi
            ).label("TOTAL"),
            o.sip_kapat_fl,
        ).where(
            o.sip_tip == codes.SALES_ORDER,
            o.sip_cins == codes.NORMAL_ORDER,
            o.sip_iptal == sa.false(),
            o.sip_hidden == sa.false(),
        )
        open_docs: dict[tuple[Any, ...], list[Any]] = {}
        for line in for_refs(conn, orders, o.sip_musteri_kod, accounts):
            open_docs.setdefault((line.sip_musteri_kod, line.sip_evrakno_seri, line.sip_evrakno_sira), []).append(line)
        for (code, *_), lines in open_docs.items():
            if all(line.sip_kapat_fl for line in lines):
                continue
            total = sum(fixed(line.TOTAL, 6, "open_orders") for line in lines)
            figures[code]["orders"] += self.local(lines[0].sip_doviz_cinsi, lines[0].sip_doviz_kuru, total)
        k = t.ODEME_EMIRLERI.c
        papers = sa.select(k.sck_sahip_cari_kodu, k.sck_doviz, k.sck_doviz_kur, k.sck_tutar).where(
            k.sck_tip.in_(codes.CHEQUE_NOTE_TYPES),
            k.sck_sonpoz == codes.IN_PORTFOLIO,
            k.sck_sahip_cari_cins == codes.CARI,
            k.sck_iptal == sa.false(),
            k.sck_hidden == sa.false(),
        )
        for paper in for_refs(conn, papers, k.sck_sahip_cari_kodu, accounts):
            figures[paper.sck_sahip_cari_kodu]["uncashed"] += self.local(
                paper.sck_doviz, paper.sck_doviz_kur, fixed(paper.sck_tutar, 6, "uncashed_cheques")
            )
        return [(row, figures[row.cari_kod]) for row in rows]

    def local(self, code: Any, kur: Any, value: Decimal) -> Decimal:
        money = DocMoney(self.env, code, kur)
        return money.to_local(money.doc(value, "amount"), "amount")

    def key(self, item: tuple[Any, Any]) -> str:
        return str(item[0].cari_kod)

    def raw(self, item: tuple[Any, Any]) -> dict[str, Any]:
        row, figures = item
        return {**dict(row._mapping), **{k: str(v) for k, v in figures.items()}}

    def map(self, item: tuple[Any, dict[str, Decimal]]) -> RiskLimit:
        row, f = item
        places = minor_units(self.env.local_currency)
        return RiskLimit(
            account_code=required(row.cari_kod, "account_code", 100),
            limit=fixed(row.risk_limiti, places, "limit"),
            currency=self.env.local_currency,
            open_balance=f["balance"],
            open_orders=f["orders"],
            uncashed_cheques=f["uncashed"],
            exposure=f["balance"] + f["orders"] + f["uncashed"],
            collateral=fixed(row.teminat, places, "collateral") or None,
            blocked=bool(row.cari_cari_kilitli_flg),
            as_of=self.as_of,
        )
