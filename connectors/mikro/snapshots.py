"""Snapshot streams (no stamps to follow): stock levels from movements, risk limits from movements.

Mikro has no stock balance table: a level is the sum of STOK_HAREKETLERI quantities in (sth_tip 0,
and transfers into the warehouse) minus out (sth_tip 1, and transfers out), per item and warehouse.
Reserved is what open sales orders still owe. The customer balance is the sum of the account's
cha_cari_cins = 0 rows (debit + / credit -). The engine treats keys a snapshot no longer returns as
deleted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

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


class _Level(NamedTuple):
    item: Any
    warehouse: Any
    on_hand: float
    name: Any


class StockLevels(_Snapshot):
    """Per (STOKLAR item, DEPOLAR warehouse): on hand from movements, reserved from open orders."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")
    prefix = "sto"

    def table(self) -> sa.Table:
        return self.env.tables.STOKLAR

    def movements(self, codes_: list[str]) -> sa.Select[Any]:
        """Quantities per item, movement type and both warehouses: one pass over the lines (a transfer
        counts into one warehouse and out of the other; levels() splits the sides)."""
        s = self.env.tables.STOK_HAREKETLERI.c
        return (
            sa.select(s.sth_stok_kod, s.sth_tip, s.sth_giris_depo_no, s.sth_cikis_depo_no, sa.func.sum(s.sth_miktar))
            .where(
                s.sth_iptal == sa.false(),
                s.sth_hidden == sa.false(),
                # A value-difference line (sth_cins 9) re-prices goods already delivered: it moves no stock.
                s.sth_cins != codes.PRICE_DIFFERENCE_CINS,
                s.sth_tip.in_((codes.IN, codes.OUT, codes.TRANSFER)),
                s.sth_stok_kod.in_(codes_),
            )
            .group_by(s.sth_stok_kod, s.sth_tip, s.sth_giris_depo_no, s.sth_cikis_depo_no)
            .order_by(s.sth_stok_kod)
        )

    def levels(self, groups: Iterable[Row[Any]], names: dict[Any, Any]) -> list[_Level]:
        """On hand per (item, warehouse > 0), items in the database's order, warehouses ascending."""
        sides: dict[Any, dict[Any, list[float]]] = {}
        for item, tip, into, out_of, quantity in groups:
            per_warehouse = sides.setdefault(item, {})
            if tip != codes.OUT and into is not None and into > 0:
                per_warehouse.setdefault(into, []).append(quantity)
            if tip != codes.IN and out_of is not None and out_of > 0:
                per_warehouse.setdefault(out_of, []).append(-quantity)
        # fsum: the total of the per-type sums does not depend on the order they arrive in.
        return [
            _Level(item, warehouse, math.fsum(per_warehouse[warehouse]), names.get(warehouse))
            for item, per_warehouse in sides.items()
            for warehouse in sorted(per_warehouse)
        ]

    def warehouse_names(self) -> sa.Select[Any]:
        d = self.env.tables.DEPOLAR.c
        return sa.select(d.dep_no, sa.func.max(d.dep_adi)).group_by(d.dep_no)

    def reservations(self) -> sa.Select[Any]:
        """Open quantity per (item, warehouse) of every open sales order line: one grouped pass for the
        whole snapshot, not one per page."""
        o = self.env.tables.SIPARISLER.c
        return (
            sa.select(o.sip_stok_kod, o.sip_depono, sa.func.sum(o.sip_miktar - o.sip_teslim_miktar))
            .where(
                o.sip_tip == codes.SALES_ORDER,
                o.sip_cins == codes.NORMAL_ORDER,
                o.sip_iptal == sa.false(),
                o.sip_hidden == sa.false(),
                o.sip_kapat_fl == sa.false(),
                o.sip_miktar > o.sip_teslim_miktar,
            )
            .group_by(o.sip_stok_kod, o.sip_depono)
        )

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        with self.env.engine.connect() as conn:
            names = {number: name for number, name in conn.execute(self.warehouse_names())}
            held = {(item, warehouse): open_ for item, warehouse, open_ in conn.execute(self.reservations())}
        s = self.table().c
        base = sa.select(s.sto_kod).where(s.sto_iptal == sa.false(), s.sto_hidden == sa.false())

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(s.sto_kod > last)).order_by(s.sto_kod)

        def then(conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[_Level, Any]]:
            items: list[tuple[_Level, Any]] = []
            for chunk in in_chunks([r.sto_kod for r in rows]):
                levels = self.levels(conn.execute(self.movements(chunk)), names)
                items.extend((level, held.get((level.item, level.warehouse))) for level in levels)
            return items

        yield from keyset_chunks(self.env.engine, page, "sto_kod", self.env.chunk_size, then)

    def key(self, item: tuple[_Level, Any]) -> str:
        level, _ = item
        return f"{level.item}:{level.warehouse}"

    def raw(self, item: tuple[_Level, Any]) -> dict[str, Any]:
        level, reserved = item
        return {
            "STOK": level.item,
            "DEPO": level.warehouse,
            "ONHAND": level.on_hand,
            "NAME": level.name,
            "reserved": reserved,
        }

    def map(self, item: tuple[_Level, Any]) -> StockLevel:
        level, open_quantity = item
        on_hand = fixed(level.on_hand, 3, "on_hand")
        reserved = fixed(open_quantity, 3, "reserved")
        return StockLevel(
            product_code=required(level.item, "product_code", 100),
            warehouse_code=str(level.warehouse),
            warehouse_name=clean(level.name),
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
        local = self.converter()
        # A document's rows are summed before converting, so it counts at its own local total; the
        # first row read gives the document's currency and rate.
        documents: dict[tuple[Any, ...], tuple[Any, Any, list[Any]]] = {}
        for code, evrak_tip, seri, sira, tip, cins, kur, meblag in for_refs(conn, movements, h.cha_kod, accounts):
            document = documents.get(key := (code, evrak_tip, seri, sira, tip))
            if document is None:
                documents[key] = (cins, kur, [meblag])
            else:
                document[2].append(meblag)
        for (code, *_, tip), (cins, kur, amounts) in documents.items():
            value = local(cins, kur, sum(fixed(amount, 6, "open_balance") for amount in amounts))
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
        # Per order: (currency, rate, line totals, whether some line is still open).
        open_docs: dict[tuple[Any, ...], list[Any]] = {}
        for code, seri, sira, cins, kur, total, closed in for_refs(conn, orders, o.sip_musteri_kod, accounts):
            order = open_docs.get(key := (code, seri, sira))
            if order is None:
                open_docs[key] = [cins, kur, [total], not closed]
            else:
                order[2].append(total)
                order[3] = order[3] or not closed
        for (code, *_), (cins, kur, totals, still_open) in open_docs.items():
            if still_open:
                figures[code]["orders"] += local(cins, kur, sum(fixed(total, 6, "open_orders") for total in totals))
        k = t.ODEME_EMIRLERI.c
        papers = sa.select(k.sck_sahip_cari_kodu, k.sck_doviz, k.sck_doviz_kur, k.sck_tutar).where(
            k.sck_tip.in_(codes.CHEQUE_NOTE_TYPES),
            k.sck_sonpoz == codes.IN_PORTFOLIO,
            k.sck_sahip_cari_cins == codes.CARI,
            k.sck_iptal == sa.false(),
            k.sck_hidden == sa.false(),
        )
        for code, doviz, kur, tutar in for_refs(conn, papers, k.sck_sahip_cari_kodu, accounts):
            figures[code]["uncashed"] += local(doviz, kur, fixed(tutar, 6, "uncashed_cheques"))
        return [(row, figures[row.cari_kod]) for row in rows]

    def converter(self) -> Callable[[Any, Any, Decimal], Decimal]:
        """(currency number, rate, document amount) -> local amount; one DocMoney per currency and rate."""
        monies: dict[tuple[Any, Any], DocMoney] = {}

        def local(code: Any, kur: Any, value: Decimal) -> Decimal:
            money = monies.get((code, kur))
            if money is None:
                money = monies[code, kur] = DocMoney(self.env, code, kur)
            return money.to_local(money.doc(value, "amount"), "amount")

        return local

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
