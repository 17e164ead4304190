"""Snapshot streams (no stamps to follow), and stock levels from movements (risk limits: risk.py).

Mikro has no stock balance table: a level is the sum of STOK_HAREKETLERI quantities in (sth_tip 0,
and transfers into the warehouse) minus out (sth_tip 1, and transfers out), per item and warehouse;
movements of the sth_cins in no_stock_cins (9 Değer Farkı: a price correction) move no goods.
Reserved is what open sales orders still owe. The engine treats keys a snapshot no longer returns as
deleted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.mikro import codes
from connectors.mikro.streams import MikroStream
from connectors.sql import bound, in_chunks, keyset_chunks
from mapping.money import fixed
from mapping.schema import StockLevel
from mapping.text import clean, required_code

__all__ = ["Snapshot", "StockLevels"]

_ZERO = Decimal("0.00")


class Snapshot(MikroStream):
    replication_key = None

    def count(self) -> int | None:
        return sum(len(chunk) for chunk in self.read(None))

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # the next snapshot re-reads every row


class _Level(NamedTuple):
    item: Any
    warehouse: Any
    on_hand: float
    name: Any


class StockLevels(Snapshot):
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
                # A value-difference line (sth_cins 9) re-prices goods already delivered: it moves no stock. NOT IN
                # drops NULLs in SQL: a movement of no known kind still moved goods, so it counts.
                sa.or_(s.sth_cins.is_(None), s.sth_cins.not_in(sorted(self.env.no_stock_cins))),
                s.sth_tip.in_((codes.IN, codes.OUT, codes.TRANSFER)),
                s.sth_stok_kod.in_([bound(c) for c in codes_]),  # a code that is not UTF-8 goes as its bytes
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
                o.sip_tip == self.env.sales_order_tip,
                o.sip_cins.in_(self.env.order_cins("order")),
                o.sip_iptal == sa.false(),
                o.sip_hidden == sa.false(),
                o.sip_kapat_fl == sa.false(),
                o.sip_miktar > o.sip_teslim_miktar,
            )
            .group_by(o.sip_stok_kod, o.sip_depono)
        )

    def items(self) -> sa.Select[Any]:
        s = self.table().c
        return sa.select(s.sto_kod).where(s.sto_iptal == sa.false(), s.sto_hidden == sa.false())

    def statements(self) -> list[sa.Select[Any]]:
        return [self.items(), self.movements([]), self.warehouse_names(), self.reservations()]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        with self.env.engine.connect() as conn:
            names = {number: name for number, name in conn.execute(self.warehouse_names())}
            held = {(item, warehouse): open_ for item, warehouse, open_ in conn.execute(self.reservations())}
        s = self.table().c
        base = self.items()

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
        reserved = fixed(open_quantity, 3, "reserved", null_is_zero=True)  # no open order line holds any
        return StockLevel(
            product_code=required_code(level.item, "product_code"),
            warehouse_code=str(level.warehouse),
            warehouse_name=clean(level.name, field="warehouse_name"),
            on_hand=on_hand,
            reserved=reserved,
            available=on_hand - reserved,
            as_of=self.as_of,
        )
