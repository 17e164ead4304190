"""Logo Netsis 3 adapter: read-only SQL over a company's yearly databases (TBL* tables) and NETSIS.DOVIZ.

The statements are SQLAlchemy Core and run unchanged on SQL Server (production, mssql+pyodbc),
PostgreSQL, MariaDB and SQLite (tests). See README.md beside this file.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import Adapter, CheckResult, ConnectorError, SourceContext, Stream
from connectors.netsis.collections import Collections
from connectors.netsis.documents import Invoices, Orders
from connectors.netsis.masters import Accounts, Discounts, Products
from connectors.netsis.scopes import Database, NetsisEnv, database_url, open_env
from connectors.netsis.settings import NetsisSettings
from connectors.netsis.snapshots import RiskLimits, StockLevels
from connectors.sql import describe_db_error, safe_url, stream_counts, table_exists

__all__ = ["NetsisAdapter", "NetsisSettings"]

# What makes a database a Netsis company database, as far as the streams are concerned.
_COMPANY_TABLES = (
    "TBLCASABIT",
    "TBLSTSABIT",
    "TBLFATUIRS",
    "TBLSTHAR",
    "TBLCAHAR",
    "TBLSIPAMAS",
    "TBLSIPATRA",
    "TBLSTOKPH",
    "TBLSTOKDP",
    "TBLKOSULMAS",
    "TBLEFATCARI",
)
_FLAGGED_TABLES = ("TBLFATUIRS", "TBLSIPAMAS", "TBLCAHAR")


class NetsisAdapter(Adapter):
    kind = "netsis"
    Settings = NetsisSettings

    def __init__(self, context: SourceContext, settings: NetsisSettings) -> None:  # type: ignore[override]
        super().__init__(context, settings)
        self.settings: NetsisSettings = settings
        self._env: NetsisEnv | None = None

    def env(self) -> NetsisEnv:
        if self._env is None:
            self._env = open_env(self.settings, self.context.timezone, self.context.chunk_size)
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

    def close(self) -> None:
        if self._env is not None:
            self._env.dispose()
        self._env = None

    # -- check -----------------------------------------------------------------------------
    def check(self) -> list[CheckResult]:
        try:
            env = self.env()
        except ConnectorError as exc:
            return [CheckResult("settings", False, str(exc))]
        results = [self._check_company(db) for db in env.databases]
        results.append(self._check_rates(env))
        if not all(r.ok for r in results):
            return results
        return results + stream_counts(self.streams(), self.settings.secrets())

    def _describe(self, exc: BaseException) -> str:
        return describe_db_error(exc, self.settings.secrets())

    def _where(self, name: str) -> str:
        return safe_url(database_url(self.settings.url, name))

    def _check_company(self, db: Database) -> CheckResult:
        label = f"database {db.name}"
        try:
            with db.engine.connect() as conn:
                conn.execute(sa.select(1)).scalar()
                missing = [name for name in _COMPANY_TABLES if not table_exists(conn, name)]
                if missing:
                    detail = f"{db.name} is not a Netsis company database: no table {', '.join(missing)}"
                    return CheckResult(label, False, detail)
                absent = self._missing_flag(conn)
        except ConnectorError as exc:
            return CheckResult(label, False, str(exc))
        except (SQLAlchemyError, OSError) as exc:
            return CheckResult(label, False, f"cannot open {db.name} at {self._where(db.name)}: {self._describe(exc)}")
        if absent:
            column = self.settings.cancelled_column
            detail = (
                f"{db.name}: no column {column} on {', '.join(absent)}: set cancelled_column to the column that "
                "marks cancelled documents, or to null if cancelled documents are deleted"
            )
            return CheckResult(label, False, detail)
        return CheckResult(label, True, f"connected to {self._where(db.name)}")

    def _missing_flag(self, conn: sa.Connection) -> list[str]:
        column = self.settings.cancelled_column
        if column is None:
            return []
        inspector = sa.inspect(conn)
        return [
            table
            for table in _FLAGGED_TABLES
            if column not in {c["name"].upper() for c in inspector.get_columns(table)}
        ]

    def _check_rates(self, env: NetsisEnv) -> CheckResult:
        name = self.settings.rates_database
        label = f"rates database {name}"
        try:
            with env.rates_engine.connect() as conn:
                if not table_exists(conn, env.rates.DOVIZ.name):
                    detail = f"{name} has no table DOVIZ: set rates_database to the system database holding DOVIZ"
                    return CheckResult(label, False, detail)
        except ConnectorError as exc:
            return CheckResult(label, False, str(exc))
        except (SQLAlchemyError, OSError) as exc:
            return CheckResult(label, False, f"cannot open {name} at {self._where(name)}: {self._describe(exc)}")
        return CheckResult(label, True, f"exchange rates from {name}.DOVIZ ({self.settings.rate_column})")
