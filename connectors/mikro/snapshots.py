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
from connectors.mikro.streams import MikroStream, not_set
from connectors.sql import for_refs, keyset_chunks
from mapping.errors import RecordError
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
    broken: int  # movements of the level a sum would pass over (a NULL flag, type or quantity)


class StockLevels(Snapshot):
    """Per (STOKLAR item, DEPOLAR warehouse): on hand from movements, reserved from open orders."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")
    prefix = "sto"

    def table(self) -> sa.Table:
        return self.env.tables.STOKLAR

    def movements(self) -> sa.Select[Any]:
        """Quantities per item, movement type and both warehouses: one pass over the lines (a transfer
        counts into one warehouse and out of the other; levels() splits the sides)."""
        s = self.env.tables.STOK_HAREKETLERI.c
        # A NULL flag, type or quantity is damage: such rows are read and counted, so that their level is a dead
        # letter rather than a sum quietly without them.
        broken = sa.or_(s.sth_iptal.is_(None), s.sth_hidden.is_(None), s.sth_tip.is_(None), s.sth_miktar.is_(None))
        return (
            sa.select(
                s.sth_stok_kod,
                s.sth_tip,
                s.sth_giris_depo_no,
                s.sth_cikis_depo_no,
                sa.func.sum(s.sth_miktar),
                sa.func.sum(sa.case((broken, 1), else_=0)),
            )
            .where(
                not_set(s.sth_iptal),
                not_set(s.sth_hidden),
                # A value-difference line (sth_cins 9) re-prices goods already delivered: it moves no stock. NOT IN
                # drops NULLs in SQL: a movement of no known kind still moved goods, so it counts.
                sa.or_(s.sth_cins.is_(None), s.sth_cins.not_in(sorted(self.env.no_stock_cins))),
                sa.or_(s.sth_tip.is_(None), s.sth_tip.in_((codes.IN, codes.OUT, codes.TRANSFER))),
            )
            .group_by(s.sth_stok_kod, s.sth_tip, s.sth_giris_depo_no, s.sth_cikis_depo_no)
            .order_by(s.sth_stok_kod)
        )

    def levels(self, groups: Iterable[Row[Any]], names: dict[Any, Any]) -> list[_Level]:
        """On hand per (item, warehouse > 0), items in the database's order, warehouses ascending."""
        sides: dict[Any, dict[Any, list[float]]] = {}
        broken: dict[tuple[Any, Any], int] = {}
        for item, tip, into, out_of, quantity, damaged in groups:
            per_warehouse = sides.setdefault(item, {})
            for warehouse, sign in ((into, 1), (out_of, -1)):
                if warehouse is None or warehouse <= 0 or tip == (codes.IN if sign < 0 else codes.OUT):
                    continue  # no such side: an entry has no source warehouse, an issue no target
                per_warehouse.setdefault(warehouse, [])
                if damaged:  # a NULL type may be either side: both warehouses' levels are in doubt
                    broken[item, warehouse] = broken.get((item, warehouse), 0) + damaged
                elif quantity is not None:
                    per_warehouse[warehouse].append(sign * quantity)
        # fsum: the total of the per-type sums does not depend on the order they arrive in.
        return [
            _Level(
                item,
                warehouse,
                math.fsum(per_warehouse[warehouse]),
                names.get(warehouse),
                broken.get((item, warehouse), 0),
            )
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
        open_ = o.sip_miktar - o.sip_teslim_miktar
        broken = sa.or_(o.sip_iptal.is_(None), o.sip_hidden.is_(None), o.sip_kapat_fl.is_(None), open_.is_(None))
        return (
            sa.select(
                o.sip_stok_kod,
                o.sip_depono,
                sa.func.sum(sa.case((broken, None), else_=open_)),
                sa.func.sum(sa.case((broken, 1), else_=0)),
            )
            .where(
                o.sip_tip == self.env.sales_order_tip,
                o.sip_cins.in_(self.env.order_cins("order")),
                not_set(o.sip_iptal),
                not_set(o.sip_hidden),
                not_set(o.sip_kapat_fl),
                sa.or_(open_.is_(None), open_ > 0),
            )
            .group_by(o.sip_stok_kod, o.sip_depono)
        )

    def items(self) -> sa.Select[Any]:
        s = self.table().c
        return sa.select(s.sto_kod).where(s.sto_iptal == sa.false(), s.sto_hidden == sa.false())

    def statements(self) -> list[sa.Select[Any]]:
        return [self.items(), self.movements(), self.warehouse_names(), self.reservations()]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        with self.env.engine.connect() as conn:
            names = self.names(conn)
            held = self.held(conn, self.reservations())
        s = self.table().c
        base = self.items()

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(s.sto_kod > last)).order_by(s.sto_kod)

        def then(conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[_Level, Any]]:
            return self.page_levels(conn, [r.sto_kod for r in rows], names, held)

        yield from keyset_chunks(self.env.engine, page, "sto_kod", self.env.chunk_size, then)

    def names(self, conn: sa.Connection) -> dict[Any, Any]:
        return {number: name for number, name in conn.execute(self.warehouse_names())}

    def held(self, conn: sa.Connection, reservations: sa.Select[Any]) -> dict[tuple[Any, Any], tuple[Any, int]]:
        return {(item, place): (open_, bad) for item, place, open_, bad in conn.execute(reservations)}

    def page_levels(
        self, conn: sa.Connection, items: Sequence[Any], names: dict[Any, Any], held: dict[tuple[Any, Any], Any]
    ) -> list[tuple[_Level, Any]]:
        """The levels of some live items, each with its reservation (open quantity, NULL count)."""
        moved = for_refs(conn, self.movements(), self.env.tables.STOK_HAREKETLERI.c.sth_stok_kod, items)
        return [(level, held.get((level.item, level.warehouse), (None, 0))) for level in self.levels(moved, names)]

    def key(self, item: tuple[_Level, Any]) -> str:
        level, _ = item
        return f"{level.item}:{level.warehouse}"

    def raw(self, item: tuple[_Level, Any]) -> dict[str, Any]:
        level, (reserved, broken_orders) = item
        return {
            "STOK": level.item,
            "DEPO": level.warehouse,
            "ONHAND": level.on_hand,
            "NAME": level.name,
            "reserved": reserved,
            "broken_movements": level.broken,
            "broken_order_lines": broken_orders,
        }

    def map(self, item: tuple[_Level, Any]) -> StockLevel:
        level, (open_quantity, broken_orders) = item
        if level.broken:
            raise RecordError(
                f"{level.broken} movement(s) of the item here have a NULL sth_iptal, sth_hidden, sth_tip or sth_miktar",
                "on_hand",
            )
        if broken_orders:
            raise RecordError(
                f"{broken_orders} open sales order line(s) of the item here have a NULL sip_iptal, sip_hidden, "
                "sip_kapat_fl or quantity",
                "reserved",
            )
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
