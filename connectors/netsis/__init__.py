"""Logo Netsis 3 adapter: read-only SQL over a company's yearly databases (TBL* tables) and NETSIS.DOVIZ.

The statements are SQLAlchemy Core and run unchanged on SQL Server (production, mssql+pyodbc),
PostgreSQL, MariaDB and SQLite (tests). See README.md beside this file.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import Adapter, CheckResult, ConnectorError, SourceContext, Stream
from connectors.census import CodeCount
from connectors.netsis.cancels import cancellations
from connectors.netsis.census import Census, census, census_statements, specs
from connectors.netsis.collections import Collections
from connectors.netsis.documents import Invoices, Orders
from connectors.netsis.ledger import AccountLedger
from connectors.netsis.masters import Accounts, Discounts, Products
from connectors.netsis.prices import PriceLists
from connectors.netsis.schema import verify_schema
from connectors.netsis.scopes import Database, NetsisEnv, database_url, open_env
from connectors.netsis.settings import NetsisSettings
from connectors.netsis.snapshots import RiskLimits, StockLevels
from connectors.netsis.stock import StockMovements
from connectors.netsis.streams import NetsisStream
from connectors.sql import describe_db_error, safe_url, stream_counts, table_exists
from connectors.sql_schema import unknown_column_keys

__all__ = ["NetsisAdapter", "NetsisSettings"]


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
        return list(self._streams())

    def _streams(self) -> list[NetsisStream]:
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

    def _enabled(self) -> list[NetsisStream]:
        return [s for s in self._streams() if s.name not in self.context.disabled]

    def _census_specs(self) -> list[Census]:
        invoices = Invoices(self.env())
        return specs(self.env(), invoices.has_return_lines())

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
        results = [*self._check_columns_setting(env), *(self._check_company(env, db) for db in env.databases)]
        results.append(self._check_rates(env))
        if not all(r.ok for r in results):
            return results
        enabled = self._enabled()
        secrets = self.settings.secrets()
        extra = census_statements(self._census_specs())
        schema, failed = verify_schema(env, enabled, extra, secrets)
        cancels = cancellations(env, enabled, self.context.reconciles)
        return results + schema + cancels + stream_counts(enabled, secrets, skip=failed)

    def census(self, since: dt.date | None = None) -> list[CodeCount]:
        return census(self.env(), self._census_specs(), [s.name for s in self._enabled()], since)

    def _describe(self, exc: BaseException) -> str:
        return describe_db_error(exc, self.settings.secrets())

    def _where(self, name: str) -> str:
        return safe_url(database_url(self.settings.url, name))

    def _check_company(self, env: NetsisEnv, db: Database) -> CheckResult:
        """Connected, and a Netsis company database at all; which columns each stream lacks is the schema's line."""
        label = f"database {db.name}"
        tables = [t.name for t in env.tables.all()]
        try:
            with db.engine.connect() as conn:
                conn.execute(sa.select(1)).scalar()
                present = [name for name in tables if table_exists(conn, name)]
        except ConnectorError as exc:
            return CheckResult(label, False, str(exc))
        except (SQLAlchemyError, OSError) as exc:
            return CheckResult(label, False, f"cannot open {db.name} at {self._where(db.name)}: {self._describe(exc)}")
        if not present:
            detail = f"{db.name} is not a Netsis company database: none of the tables {', '.join(tables)}"
            return CheckResult(label, False, detail)
        return CheckResult(label, True, f"connected to {self._where(db.name)}")

    def _check_columns_setting(self, env: NetsisEnv) -> list[CheckResult]:
        misnamed = unknown_column_keys((*env.tables.all(), env.rates.DOVIZ), self.settings.columns)
        return [] if misnamed is None else [misnamed]

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
