"""Logo Tiger 3 / Go 3 adapter: read-only SQL over the firm's LG_FFF_* / LG_FFF_PP_* tables.

The statements are SQLAlchemy Core and run unchanged on SQL Server (production,
mssql+pyodbc), PostgreSQL and SQLite (tests). See README.md beside this file.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from pydantic import Field, field_validator

from connectors.base import CheckResult, ConnectorError, Stream
from connectors.logo import codes
from connectors.logo.documents import Collections, Invoices, Orders
from connectors.logo.masters import Accounts, Discounts, Products
from connectors.logo.snapshots import RiskLimits, StockLevels
from connectors.logo.streams import LogoEnv
from connectors.logo.tables import logo_tables, validate_firm, validate_period
from connectors.sql import SqlAdapter, SqlSourceSettings, table_exists
from mapping.schema import CollectionMethod

__all__ = ["LogoAdapter", "LogoSettings"]


class LogoSettings(SqlSourceSettings):
    firm: int = Field(description="Logo firm number (the FFF of LG_FFF_*), 1..999")
    periods: list[int] = Field(min_length=1, description="period numbers (PP of LG_FFF_PP_*), oldest first")
    local_currency: str = Field("TRY", pattern="^[A-Z]{3}$")
    collection_codes: dict[str, CollectionMethod] = Field(
        default_factory=lambda: dict(codes.DEFAULT_COLLECTION_CODES),
        description="'MODULENR:TRCODE' of SIGN=1 CLFLINE rows that are collections -> method (20 vs 22 UNCONFIRMED)",
    )
    currency_codes: dict[int, str] = Field(
        default_factory=lambda: dict(codes.DEFAULT_CURRENCY_CODES),
        description="Logo currency number -> ISO code; 0 is always the local currency",
    )
    blocked_means: Literal[0, 1] = Field(1, description="the CLCARD.BLOCKED value meaning blocked (UNCONFIRMED)")

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


class LogoAdapter(SqlAdapter):
    kind = "logo"
    Settings = LogoSettings
    settings: LogoSettings
    _env: LogoEnv | None

    def env(self) -> LogoEnv:
        if self._env is None:
            s = self.settings
            metadata = sa.MetaData()
            currencies = {**s.currency_codes, codes.LOCAL_CURRENCY_CODE: s.local_currency}
            self._env = LogoEnv(
                engine=self.engine,
                firm=s.firm,
                periods=tuple(logo_tables(metadata, s.firm, p) for p in s.periods),
                tz=self.context.timezone,
                chunk_size=self.context.chunk_size,
                currencies=currencies,
                local_currency=s.local_currency,
                collection_codes=codes.parse_collection_codes(s.collection_codes),
                blocked_value=s.blocked_means,
            )
        return self._env

    def streams(self) -> list[Stream]:
        env = self.env()
        return [
            Accounts(env),
            Products(env),
            StockLevels(env),
            Discounts(env),
            RiskLimits(env),
            Orders(env),
            Invoices(env),
            Collections(env),
        ]

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
        return results
