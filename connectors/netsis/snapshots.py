"""Snapshot streams (Netsis stamps neither): stock levels (TBLSTOKPH) and risk limits (TBLCASABIT totals).

Both read the master database only: balances are per fiscal year, and the year copy carries the
closing balances into the new year's database. The engine treats keys a snapshot no longer
returns as deleted.

Netsis keeps the figures themselves (TBLSTOKPH's in and out totals per item and warehouse, TBLCASABIT's debit and
credit totals per account), so a snapshot reads one short row per level or account and never the movements. Each
item's version is a digest of everything its record is mapped from (connectors.versions): the engine maps only the
rows that moved. Open customer orders, which Netsis keeps no total of, are summed once per read in one grouped
pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import ClauseElement

from connectors.base import Partition
from connectors.netsis import codes
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.netsis.streams import NetsisStream, raw_code
from connectors.sql import for_refs, keyset_chunks
from connectors.versions import row_version, salt, storable
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import RiskLimit, StockLevel
from mapping.text import clean, required_code

__all__ = ["RiskLimits", "StockLevels"]


class _Snapshot(NetsisStream):
    replication_key = None

    def __init__(self, env: NetsisEnv) -> None:
        super().__init__(env)
        self.salt = salt(self.name, env.company, env.settings.model_dump_json())  # what else records are mapped with

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        return self.rows()

    def rows(self) -> Iterator[Sequence[Any]]:
        raise NotImplementedError

    def databases(self) -> tuple[Database, ...]:
        return (self.env.master,)

    def count(self) -> int | None:
        return sum(len(chunk) for chunk in self.rows())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # the next snapshot re-reads every row


class StockLevels(_Snapshot):
    """TBLSTOKPH per warehouse (DEPO_KODU 0 is the all-warehouse total, never a level); on hand =
    TOP_GIRIS_MIK - TOP_CIKIS_MIK; warehouse name from TBLSTOKDP. Pages follow the levels' own item codes, and
    the item card is outer-joined: a level of no card (or of no code) is a dead letter, never a row left unread."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")

    def levels(self) -> sa.Select[Any]:
        t = self.env.tables
        p, d = t.STOKPH.c, t.STOKDP.c
        return (
            sa.select(
                p.STOK_KODU,
                p.SUBE_KODU,
                p.DEPO_KODU,
                p.TOP_GIRIS_MIK,
                p.TOP_CIKIS_MIK,
                d.DEPO_ISMI,
                t.STSABIT.c.STOK_KODU.label("CARD"),
            )
            .select_from(
                t.STOKPH.outerjoin(t.STOKDP, d.DEPO_KODU == p.DEPO_KODU).outerjoin(
                    t.STSABIT, t.STSABIT.c.STOK_KODU == p.STOK_KODU
                )
            )
            .where(p.DEPO_KODU != codes.ALL_WAREHOUSES)  # part of the key: never NULL
            .order_by(p.STOK_KODU, p.SUBE_KODU, p.DEPO_KODU)
        )

    def statements(self) -> list[ClauseElement]:
        return [self.levels()]

    def rows(self) -> Iterator[Sequence[Any]]:
        code = self.env.tables.STOKPH.c.STOK_KODU
        levels = self.levels()

        def page(last: Any) -> sa.Select[Any]:
            stmt = sa.select(code).distinct().where(code.is_not(None))
            return (stmt if last is None else stmt.where(code > last)).order_by(code)

        def then(conn: sa.Connection, found: Sequence[Row[Any]]) -> list[Row[Any]]:
            return for_refs(conn, levels, code, [c.STOK_KODU for c in found])

        engine = self.env.master.engine
        yield from keyset_chunks(engine, page, "STOK_KODU", self.env.chunk_size, then)
        with engine.connect() as conn:  # no page's code is NULL: such levels come last, to be dead letters
            orphans = conn.execute(levels.where(code.is_(None))).all()
        if orphans:
            yield orphans

    def key(self, item: Any) -> str:
        return storable(f"{self.env.company}:{item.SUBE_KODU}:{item.DEPO_KODU}:{raw_code(item.STOK_KODU)}")

    def version(self, item: Row[Any]) -> str:
        return row_version(self.salt, tuple(item))

    def map(self, item: Row[Any]) -> StockLevel:
        if item.STOK_KODU is not None and item.CARD is None:
            raise RecordError("STOK_KODU names no item card (TBLSTSABIT)", "product_code")
        on_hand = fixed(item.TOP_GIRIS_MIK, 3, "on_hand") - fixed(item.TOP_CIKIS_MIK, 3, "on_hand")
        return StockLevel(
            product_code=required_code(self.text(item.STOK_KODU), "product_code"),
            warehouse_code=str(item.DEPO_KODU),
            warehouse_name=clean(self.text(item.DEPO_ISMI), field="warehouse_name"),
            on_hand=on_hand,
            as_of=self.as_of,
        )


class RiskLimits(_Snapshot):
    """Accounts with a RISK_SINIRI: balance CM_BORCT - CM_ALACT, uncashed cheques/notes = the sum of
    `uncashed_risk_columns`, open orders = GENELTOPLAM of customer orders neither cancelled nor closed
    whose approval code maps to open/shippable; collateral TEMINATI."""

    name = "risk_limits"
    primary_key = ("account_code",)

    def open_orders(self) -> sa.Select[Any]:
        """Per account: GENELTOPLAM of its open customer orders and how many of them leave a value NULL."""
        t, s = self.env.tables, self.settings
        c, o, ln = t.CASABIT.c, t.SIPAMAS.c, t.SIPATRA.c
        open_line = sa.exists().where(
            ln.FISNO == o.FATIRS_NO,
            ln.STHAR_FTIRSIP == o.FTIRSIP,
            ln.SUBE_KODU == o.SUBE_KODU,
            ln.STHAR_CARIKOD == o.CARI_KODU,
            sa.or_(ln.STHAR_HTUR.is_(None), s.closed_line_code != ln.STHAR_HTUR),
        )
        live = sorted(code for code, status in s.order_statuses.items() if status in ("open", "shippable"))
        # An approval code or a total that is NULL is damage: read and counted, so that the account's limit is a
        # dead letter rather than an exposure without that order.
        conditions = [
            c.RISK_SINIRI > 0,
            o.FTIRSIP == codes.CUSTOMER_ORDER,
            sa.or_(o.ONAYTIPI.is_(None), o.ONAYTIPI.in_(live)),
            open_line,
        ]
        broken = sa.or_(o.ONAYTIPI.is_(None), o.GENELTOPLAM.is_(None))
        flag = t.cancelled(t.SIPAMAS)
        if flag is not None:
            conditions.append(sa.or_(flag.is_(None), flag != s.cancelled_value))
        # Summed per account in one pass over the orders, once per read: a subquery per account would scan
        # TBLSIPAMAS once per account wherever CARI_KODU has no index, and one joined to each page once per page.
        # Grouped by the card's own code, so that orders match accounts as the database compares codes.
        return (
            sa.select(
                c.CARI_KOD,
                sa.func.sum(o.GENELTOPLAM).label("OPENORDERS"),
                sa.func.sum(sa.case((broken, 1), else_=0)).label("BROKEN"),
            )
            .select_from(t.CASABIT.join(t.SIPAMAS, o.CARI_KODU == c.CARI_KOD))
            .where(*conditions)
            .group_by(c.CARI_KOD)
        )

    def select_rows(self) -> sa.Select[Any]:
        c = self.env.tables.CASABIT.c
        return sa.select(
            c.CARI_KOD,
            c.RISK_SINIRI,
            c.TEMINATI,
            c.CM_BORCT,
            c.CM_ALACT,
            *(c[name] for name in self.settings.uncashed_risk_columns),
        ).where(c.RISK_SINIRI > 0)

    def statements(self) -> list[ClauseElement]:
        return [self.select_rows(), self.open_orders()]

    def rows(self) -> Iterator[Sequence[Any]]:
        code = self.env.tables.CASABIT.c.CARI_KOD
        base = self.select_rows()
        engine = self.env.master.engine
        with engine.connect() as conn:
            orders = {cari: (total, broken) for cari, total, broken in conn.execute(self.open_orders())}

        def page(last: str | None) -> sa.Select[Any]:
            return (base if last is None else base.where(code > last)).order_by(code)

        def then(conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[Row[Any], Any, Any]]:
            return [(row, *orders.get(row.CARI_KOD, (None, 0))) for row in rows]

        yield from keyset_chunks(engine, page, "CARI_KOD", self.env.chunk_size, then)

    def version(self, item: tuple[Row[Any], Any, Any]) -> str:
        row, total, broken = item
        return row_version(self.salt, tuple(row), total, broken)

    def raw(self, item: tuple[Row[Any], Any, Any]) -> dict[str, Any]:
        row, total, broken = item
        return {**dict(row._mapping), "OPENORDERS": total, "BROKEN": broken}

    def key(self, item: tuple[Row[Any], Any, Any]) -> str:
        return storable(f"{self.env.company}:{raw_code(item[0].CARI_KOD)}")

    def map(self, item: tuple[Row[Any], Any, Any]) -> RiskLimit:
        row, open_orders, broken = item
        if broken:
            raise RecordError(
                f"{broken} open customer order(s) of the account have a NULL ONAYTIPI or GENELTOPLAM",
                "open_orders",
            )
        currency = self.settings.local_currency  # Netsis keeps the limit and the totals in local currency
        places = minor_units(currency)
        balance = fixed(row.CM_BORCT, places, "open_balance") - fixed(row.CM_ALACT, places, "open_balance")
        orders = fixed(open_orders, places, "open_orders", null_is_zero=True)  # an account with no open order
        uncashed = sum(
            (fixed(getattr(row, name), places, "uncashed_cheques") for name in self.settings.uncashed_risk_columns),
            Decimal(0).quantize(Decimal(1).scaleb(-places)),
        )
        return RiskLimit(
            account_code=required_code(self.text(row.CARI_KOD), "account_code"),
            limit=fixed(row.RISK_SINIRI, places, "limit"),
            currency=currency,
            open_balance=balance,
            open_orders=orders,
            uncashed_cheques=uncashed,
            exposure=balance + orders + uncashed,
            collateral=None if row.TEMINATI is None else fixed(row.TEMINATI, places, "collateral") or None,
            as_of=self.as_of,
        )
