"""Logo Tiger 3 / Go 3 adapter: read-only SQL over the firm's LG_FFF_* / LG_FFF_PP_* tables.

The statements are SQLAlchemy Core and run unchanged on SQL Server (production,
mssql+pyodbc), PostgreSQL and SQLite (tests). See README.md beside this file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Literal

import sqlalchemy as sa
from pydantic import Field, field_validator

from connectors.base import CheckResult, ConnectorError, Stream
from connectors.census import CodeCount
from connectors.logo import codes
from connectors.logo.census import census
from connectors.logo.documents import Collections, Invoices, Orders
from connectors.logo.ledger import AccountLedger
from connectors.logo.masters import Accounts, Discounts, Products
from connectors.logo.prices import PriceLists
from connectors.logo.snapshots import RiskLimits, StockLevels
from connectors.logo.stock import StockMovements
from connectors.logo.streams import LogoEnv
from connectors.logo.tables import LogoTables, logo_tables, validate_firm, validate_period
from connectors.sql import SqlAdapter, SqlSourceSettings, table_exists
from mapping.schema import AccountKind, CollectionMethod, InvoiceKind, LedgerKind, LineKind, MovementKind

__all__ = ["LogoAdapter", "LogoSettings"]


class LogoSettings(SqlSourceSettings):
    firm: int = Field(description="Logo firm number (the FFF of LG_FFF_*), 1..999")
    periods: list[int] = Field(min_length=1, description="period numbers (PP of LG_FFF_PP_*), oldest first")
    local_currency: str = Field("TRY", pattern="^[A-Z]{3}$")
    collection_codes: dict[str, CollectionMethod] = Field(
        default_factory=lambda: dict(codes.DEFAULT_COLLECTION_CODES),
        description="'MODULENR:TRCODE' of SIGN=1 CLFLINE rows that are collections -> method",
    )
    ledger_kinds: dict[str, LedgerKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_LEDGER_KINDS),
        description="'MODULENR:TRCODE' of CLFLINE rows -> account_ledger kind, for rows that are neither an "
        "invoice of invoice_kinds nor a collection of collection_codes (UNCONFIRMED; others read as 'other')",
    )
    currency_codes: dict[int, str] = Field(
        default_factory=lambda: dict(codes.DEFAULT_CURRENCY_CODES),
        description="Logo currency number -> ISO code; 0 is always the local currency",
    )
    blocked_means: Literal[0, 1] = Field(
        codes.BLOCKED_MEANS, description="the CLCARD.BLOCKED value meaning blocked (LDDS: 0; verify with the census)"
    )
    account_kinds: dict[int, AccountKind] = Field(
        default_factory=lambda: dict(codes.ACCOUNT_KINDS), description="CLCARD.CARDTYPE -> account kind"
    )
    invoice_kinds: dict[int, InvoiceKind] = Field(
        default_factory=lambda: dict(codes.INVOICE_KINDS),
        description="INVOICE.TRCODE of the sales invoices to read -> invoice kind (others are left out)",
    )
    sales_order_trcodes: list[int] = Field(
        default_factory=lambda: list(codes.SALES_ORDER_TRCODES), description="ORFICHE.TRCODE values of sales orders"
    )
    order_statuses: dict[int, Literal["proposal", "open", "shippable"]] = Field(
        default_factory=lambda: dict(codes.ORDER_STATUSES),  # type: ignore[arg-type]
        description="ORFICHE.STATUS -> order status (cancelled and closed come from CANCELLED and the lines)",
    )
    line_kinds: dict[int, LineKind] = Field(
        default_factory=lambda: dict(codes.LINE_KINDS), description="STLINE / ORFLINE LINETYPE -> line kind"
    )
    movement_kinds: dict[int, MovementKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_MOVEMENT_KINDS),
        description="STLINE.TRCODE -> stock_movements kind, for lines that are not a sales invoice's or return's "
        "(many names UNCONFIRMED, see the README; 'transfer' rows give an out and an in movement; others: 'other')",
    )
    movement_directions: dict[int, Literal["in", "out"]] = Field(
        default_factory=lambda: dict(codes.MOVEMENT_DIRECTIONS),
        description="STLINE.IOCODE -> direction of a stock movement (LDDS: 1 input, 2 input from warehouse, "
        "3 output from warehouse, 4 output)",
    )
    goods_free_invoices: list[int] = Field(
        default_factory=lambda: list(codes.GOODS_FREE_INVOICES),
        description="INVOICE.TRCODE whose STLINE rows move no goods (services, proformas, price differences): "
        "left out of stock_movements (UNCONFIRMED)",
    )
    discount_view: str | None = Field(
        None,
        description="view over the install's percent/amount discount rules in dealersync's columns (README); "
        "unset: discounts are PRCLIST's customer-specific prices only",
    )

    @field_validator("firm", mode="before")
    @classmethod
    def _firm(cls, value: object) -> int:
        try:
            return validate_firm(value)
        except ConnectorError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, value: object) -> list[int]:
        if not isinstance(value, list | tuple):
            raise ValueError("setting 'periods' must be a list of period numbers")
        try:
            return [validate_period(p) for p in value]
        except ConnectorError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("collection_codes")
    @classmethod
    def _codes(cls, value: dict[str, CollectionMethod]) -> dict[str, CollectionMethod]:
        codes.parse_collection_codes(value)
        return value

    @field_validator("ledger_kinds")
    @classmethod
    def _ledger(cls, value: dict[str, LedgerKind]) -> dict[str, LedgerKind]:
        codes.parse_pairs(value, "ledger_kinds")
        return value

    @field_validator("discount_view")
    @classmethod
    def _view(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", value):
            raise ValueError(f"discount_view must be a plain view name (letters, digits, '_'), got {value[:40]!r}")
        return value


class LogoAdapter(SqlAdapter):
    kind = "logo"
    Settings = LogoSettings
    settings: LogoSettings
    _env: LogoEnv | None
    _tables: tuple[LogoTables, ...] | None = None

    def env(self) -> LogoEnv:
        if self._env is None:
            s = self.settings
            currencies = {**s.currency_codes, codes.LOCAL_CURRENCY_CODE: s.local_currency}
            self._env = LogoEnv(
                engine=self.engine,
                firm=s.firm,
                periods=self.tables(),
                tz=self.context.timezone,
                chunk_size=self.context.chunk_size,
                currencies=currencies,
                local_currency=s.local_currency,
                collection_codes=codes.parse_collection_codes(s.collection_codes),
                ledger_kinds=codes.parse_pairs(s.ledger_kinds, "ledger_kinds"),
                blocked_value=s.blocked_means,
                account_kinds=dict(s.account_kinds),
                invoice_kinds=dict(s.invoice_kinds),
                sales_order_trcodes=tuple(s.sales_order_trcodes),
                order_statuses=dict(s.order_statuses),
                line_kinds=dict(s.line_kinds),
                discount_view=s.discount_view is not None,
                movement_kinds=dict(s.movement_kinds),
                movement_directions=dict(s.movement_directions),
                goods_free_invoices=frozenset(s.goods_free_invoices),
            )
        return self._env

    def tables(self) -> tuple[LogoTables, ...]:
        """One LogoTables per configured period (firm-level tables shared), built once."""
        if self._tables is None:
            s = self.settings
            metadata = sa.MetaData()
            view = s.discount_view or "DEALERSYNC_DISCOUNTS"
            self._tables = tuple(logo_tables(metadata, s.firm, p, s.columns, view) for p in s.periods)
        return self._tables

    def declared_tables(self) -> Iterable[sa.Table]:
        return {table for t in self.tables() for table in t.all()}

    def streams(self) -> list[Stream]:
        env = self.env()
        return [
            Accounts(env),
            Products(env),
            StockLevels(env),
            Discounts(env),
            PriceLists(env),
            RiskLimits(env),
            Orders(env),
            Invoices(env),
            Collections(env),
            AccountLedger(env),
            StockMovements(env),
        ]

    def census(self, since: dt.date | None = None) -> list[CodeCount]:
        return census(self.env(), since)

    def check_database(self, conn: sa.Connection) -> list[CheckResult]:
        env = self.env()
        firm = f"{env.firm:03d}"
        firm_tables = env.firm_tables
        missing = [t.name for t in (firm_tables.CLCARD, firm_tables.ITEMS) if not table_exists(conn, t.name)]
        if missing:
            return [CheckResult("firm", False, f"firm {firm} not found: no table {', '.join(missing)}")]
        results = [CheckResult("firm", True, f"firm {firm} tables present")]
        for t in env.periods:
            absent = [
                x.name for x in (t.INVOICE, t.STLINE, t.CLFLINE, t.ORFICHE, t.GNTOTST) if not table_exists(conn, x.name)
            ]
            label = f"period {t.period:02d}"
            if absent:
                detail = f"{label} of firm {firm} not found: no table {', '.join(absent)}"
                results.append(CheckResult(label, False, detail))
        return results + self._check_blocked(conn, firm_tables.CLCARD)

    def _check_blocked(self, conn: sa.Connection, clcard: sa.Table) -> list[CheckResult]:
        """A warning when most cards in use would read as blocked: blocked_means is then likely the wrong way
        round for this install (LDDS says 0 = blocked; no live install was checked)."""
        c = clcard.c
        rows = conn.execute(
            sa.select(c.BLOCKED, sa.func.count())
            .where(c.ACTIVE == codes.ACTIVE_IN_USE, c.CODE != codes.PLACEHOLDER_CODE)
            .group_by(c.BLOCKED)
        ).all()
        total = sum(n for _, n in rows)
        blocked = sum(n for value, n in rows if value == self.settings.blocked_means)
        if total >= 10 and blocked * 2 > total:
            detail = (
                f"{blocked:,} of the {total:,} accounts in use would read as blocked with blocked_means: "
                f"{self.settings.blocked_means}; if they are not, set blocked_means: {1 - self.settings.blocked_means}"
            )
            return [CheckResult("blocked accounts", True, detail, warning=True)]
        return []
