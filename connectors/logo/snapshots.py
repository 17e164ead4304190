"""Snapshot streams (no timestamps in Logo): stock levels (GNTOTST) and risk limits (CLRNUMS + GNTOTCL).

Balances live in period tables; these read the last configured period (the current one).
The engine treats keys a snapshot no longer returns as deleted.

Logo keeps the figures themselves (GNTOTST per item and warehouse, GNTOTCL per account, both updated by Logo as
documents are saved, cancelled or deleted), so a snapshot reads one short row per level or account and never the
movements. Each item's version is a digest of everything its record is mapped from (connectors.versions): the
engine maps only the rows that moved. The open sales orders a risk limit counts are the one figure Logo keeps no
total of: they are summed once per read in one grouped pass, never per account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.logo import codes
from connectors.logo.masters import blocked_values
from connectors.logo.streams import LogoEnv, LogoStream, period_column
from connectors.logo.tables import LogoTables
from connectors.versions import row_version, salt
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import RiskLimit, StockLevel
from mapping.text import clean, flag, required_code

__all__ = ["RiskLimits", "StockLevels"]


class _Snapshot(LogoStream):
    per_period = True
    replication_key = None

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        # What the records are mapped with besides the row (connectors.versions).
        self.salt = salt(
            self.name,
            env.local_currency,
            env.blocked_value,
            sorted(env.order_statuses.items()),
            env.sales_order_trcodes,
        )

    def _scopes(self) -> tuple[LogoTables, ...]:
        return self.env.periods[-1:]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Any:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        return super().read(None, partition)

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # the next snapshot re-reads every row


class StockLevels(_Snapshot):
    """GNTOTST per warehouse (INVENNO >= 0; -1 is the all-warehouse total; a NULL INVENNO is read, to be a dead
    letter) with item code and warehouse name. The item is outer-joined: a level of no item card is a dead letter,
    not a row the join drops unseen."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")

    def table(self, t: LogoTables) -> sa.Table:
        return t.GNTOTST

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        invenno = t.GNTOTST.c.INVENNO
        return sa.or_(invenno.is_(None), invenno >= 0)

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        g, w = t.GNTOTST.c, t.CAPIWHOUSE.c
        return sa.select(
            g.LOGICALREF,
            period_column(t),
            g.STOCKREF,
            g.INVENNO,
            t.ITEMS.c.LOGICALREF.label("ITEM"),
            t.ITEMS.c.CODE,
            w.NAME,
            g.ONHAND,
            g.ACTSORDER,
        ).select_from(
            t.GNTOTST.outerjoin(t.ITEMS, t.ITEMS.c.LOGICALREF == g.STOCKREF).outerjoin(
                t.CAPIWHOUSE, sa.and_(t.firm == w.FIRMNR, w.NR == g.INVENNO)
            )
        )

    def key(self, item: Row[Any]) -> str:
        return f"{self.env.firm:03d}:{item.PERIOD:02d}:{item.STOCKREF}:{item.INVENNO}"

    def version(self, item: Row[Any]) -> str:
        return row_version(self.salt, tuple(item))

    def map(self, item: Row[Any]) -> StockLevel:
        if item.INVENNO is None:
            raise RecordError("missing (NULL INVENNO)", "warehouse_code")
        if item.ITEM is None:
            raise RecordError(f"STOCKREF {item.STOCKREF} names no item card", "product_code")
        on_hand = fixed(item.ONHAND, 3, "on_hand")
        reserved = fixed(item.ACTSORDER, 3, "reserved")
        return StockLevel(
            product_code=required_code(item.CODE, "product_code"),
            warehouse_code=str(item.INVENNO),
            warehouse_name=clean(item.NAME, field="warehouse_name"),
            on_hand=on_hand,
            reserved=reserved,
            available=on_hand - reserved,
            as_of=self.as_of,
        )


class RiskLimits(_Snapshot):
    """CLRNUMS limits, GNTOTCL local balance (TOTTYP 1: DEBIT - CREDIT) and open sales orders' totals.

    An order counts as open while it is not cancelled, STATUS is open/shippable (2, 4) and a line is
    not CLOSED. Sub-limits stored as 0 mean "no limit" and map to None. The account is outer-joined: a limit of
    no account card is a dead letter, not a row the join drops unseen. An item is (row, open orders, broken orders).
    """

    name = "risk_limits"
    primary_key = ("account_code",)

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        self.blocked = blocked_values(env.blocked_value)

    def table(self, t: LogoTables) -> sa.Table:
        return t.CLRNUMS

    def open_statuses(self) -> list[int]:
        """The ORFICHE.STATUS values of orders that count against the limit: open and shippable ones."""
        return sorted(k for k, v in self.env.order_statuses.items() if v in ("open", "shippable")) or [-1]

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        r, g = t.CLRNUMS.c, t.GNTOTCL.c
        balance = (
            sa.select(sa.func.sum(g.DEBIT - g.CREDIT))
            .where(g.CARDREF == r.CLCARDREF, g.TOTTYP == codes.GNTOTCL_LOCAL)
            .scalar_subquery()
        )
        # Rows a sum would pass over in silence (SUM skips NULL terms; = and IN never match NULL): counted, so
        # that the account's record is a dead letter rather than an exposure quietly too small.
        broken_balance = (
            sa.select(sa.func.count())
            .where(
                g.CARDREF == r.CLCARDREF,
                sa.or_(g.TOTTYP.is_(None), sa.and_(g.TOTTYP == codes.GNTOTCL_LOCAL, (g.DEBIT - g.CREDIT).is_(None))),
            )
            .scalar_subquery()
        )
        return sa.select(
            r.LOGICALREF,
            period_column(t),
            r.CLCARDREF,
            t.CLCARD.c.LOGICALREF.label("CARD"),
            t.CLCARD.c.CODE,
            t.CLCARD.c.BLOCKED,
            r.ACCRISKLIMIT,
            r.ORDRISKLIMIT,
            r.DESPRISKLIMIT,
            r.CSTCSRISKLIMIT,
            r.CSTCSRISKTOTAL,
            r.COLLATERAL,
            balance.label("BALANCE"),
            broken_balance.label("BROKEN_BALANCE"),
        ).select_from(t.CLRNUMS.outerjoin(t.CLCARD, t.CLCARD.c.LOGICALREF == r.CLCARDREF))

    def open_orders(self, t: LogoTables) -> sa.Select[Any]:
        """Per account: the NETTOTAL of its open sales orders and the number of orders that could count but leave
        a value NULL, in one pass over the orders. Which orders have an open (or an unknown) line is one scan of
        the lines each, not one look-up per order."""
        o, ol = t.ORFICHE.c, t.ORFLINE.c
        open_line = o.LOGICALREF.in_(sa.select(ol.ORDFICHEREF).where(ol.CLOSED == 0, ol.ORDFICHEREF.is_not(None)))
        unsure_line = o.LOGICALREF.in_(
            sa.select(ol.ORDFICHEREF).where(ol.CLOSED.is_(None), ol.ORDFICHEREF.is_not(None))
        )
        counts = sa.and_(o.CANCELLED == 0, o.STATUS.in_(self.open_statuses()), open_line)
        # Only an order that could count: one its known values already rule out (cancelled, a closed status,
        # every line closed) is no reason to hold the limit back, whatever else it leaves NULL.
        broken = sa.or_(
            o.CANCELLED.is_(None), o.STATUS.is_(None), o.NETTOTAL.is_(None), sa.and_(~open_line, unsure_line)
        )
        return (
            sa.select(
                o.CLIENTREF,
                sa.func.sum(sa.case((counts, o.NETTOTAL))).label("OPENORDERS"),
                sa.func.sum(sa.case((broken, 1), else_=0)).label("BROKEN_ORDERS"),
            )
            .where(
                o.TRCODE.in_(self.env.sales_order_trcodes),
                sa.or_(o.CANCELLED.is_(None), o.CANCELLED == 0),
                sa.or_(o.STATUS.is_(None), o.STATUS.in_(self.open_statuses())),
                sa.or_(open_line, unsure_line),
            )
            .group_by(o.CLIENTREF)
        )

    def related(self, t: LogoTables) -> list[sa.Select[Any]]:
        return [self.open_orders(t)]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Any:
        self._orders: dict[int, dict[Any, tuple[Any, Any]]] = {}
        return super().read(since, partition)

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[tuple[Any, Any, Any]]:
        orders = self._orders.get(t.period)
        if orders is None:  # once per read: the whole snapshot's orders in one pass
            found = conn.execute(self.open_orders(t))
            orders = self._orders[t.period] = {ref: (total, broken) for ref, total, broken in found}
        return [(row, *orders.get(row.CLCARDREF, (None, 0))) for row in rows]

    def version(self, item: tuple[Row[Any], Any, Any]) -> str:
        row, total, broken = item
        return row_version(self.salt, tuple(row), total, broken)

    def raw(self, item: tuple[Row[Any], Any, Any]) -> dict[str, Any]:
        row, total, broken = item
        return {**dict(row._mapping), "OPENORDERS": total, "BROKEN_ORDERS": broken}

    def map(self, item: tuple[Row[Any], Any, Any]) -> RiskLimit:
        row, open_orders, broken_orders = item
        if row.CARD is None:
            raise RecordError(f"CLCARDREF {row.CLCARDREF} names no account card", "account_code")
        if row.BROKEN_BALANCE:
            raise RecordError(
                f"{row.BROKEN_BALANCE} GNTOTCL row(s) of the account have a NULL TOTTYP, DEBIT or CREDIT",
                "open_balance",
            )
        if broken_orders:
            raise RecordError(
                f"{broken_orders} sales order(s) of the account have a NULL CANCELLED, STATUS or NETTOTAL, or a "
                "line with a NULL CLOSED",
                "open_orders",
            )
        currency = self.env.local_currency  # CLRNUMS and TOTTYP 1 balances are in local currency
        places = minor_units(currency)
        # Sums over no rows (no balance lines, no open orders) are NULL: zero.
        balance = fixed(row.BALANCE, places, "open_balance", null_is_zero=True)
        orders = fixed(open_orders, places, "open_orders", null_is_zero=True)
        # CSTCSRISKTOTAL is optional (NULL where a release lacks it): the field stays empty, exposure without it.
        uncashed = None if row.CSTCSRISKTOTAL is None else fixed(row.CSTCSRISKTOTAL, places, "uncashed_cheques")
        return RiskLimit(
            account_code=required_code(row.CODE, "account_code"),
            limit=fixed(row.ACCRISKLIMIT, places, "limit"),
            currency=currency,
            open_balance=balance,
            open_orders=orders,
            uncashed_cheques=uncashed,
            exposure=balance + orders + (uncashed or 0),
            collateral=_sub_limit(row.COLLATERAL, places, "collateral"),
            order_limit=_sub_limit(row.ORDRISKLIMIT, places, "order_limit"),
            dispatch_limit=_sub_limit(row.DESPRISKLIMIT, places, "dispatch_limit"),
            cheque_note_limit=_sub_limit(row.CSTCSRISKLIMIT, places, "cheque_note_limit"),
            blocked=flag(row.BLOCKED, "blocked", *self.blocked),
            as_of=self.as_of,
        )


def _sub_limit(value: Any, places: int, field: str) -> Any:
    """A sub-limit or collateral: 0 means none (Logo), and so does NULL (an optional column a release lacks)."""
    return None if value is None else fixed(value, places, field) or None
