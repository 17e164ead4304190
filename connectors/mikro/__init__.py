"""Mikro (v16 / v17) adapter: read-only SQL over one company's MikroDB_V16_<FIRMA> database.

The statements are SQLAlchemy Core and run unchanged on SQL Server (production, mssql+pyodbc),
PostgreSQL, MariaDB and SQLite (tests). See README.md beside this file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import CheckResult, ConnectorError, Stream
from connectors.census import CodeCount
from connectors.mikro import codes, evidence
from connectors.mikro.census import census
from connectors.mikro.changes import ChangedRiskLimits, ChangedStockLevels
from connectors.mikro.collections import Collections
from connectors.mikro.discounts import Discounts
from connectors.mikro.documents import Invoices
from connectors.mikro.ledger import AccountLedger
from connectors.mikro.ledger_kinds import LedgerKinds
from connectors.mikro.masters import Accounts, Products
from connectors.mikro.orders import Orders
from connectors.mikro.prices import PriceLists
from connectors.mikro.readings import MovementCodes
from connectors.mikro.risk import RiskLimits
from connectors.mikro.settings import MikroSettings
from connectors.mikro.snapshots import StockLevels
from connectors.mikro.stock import StockMovements
from connectors.mikro.stock_kinds import StockKinds
from connectors.mikro.streams import MikroEnv, VatRates
from connectors.mikro.tables import MikroTables, mikro_tables
from connectors.sql import SqlAdapter, describe_db_error, table_exists

__all__ = ["MikroAdapter", "MikroSettings"]

# The tables without which there is no Mikro company in the database.
COMPANY_TABLES = ("CARI_HESAPLAR", "STOKLAR")


class MikroAdapter(SqlAdapter):
    kind = "mikro"
    Settings = MikroSettings
    settings: MikroSettings
    _env: MikroEnv | None
    _tables: MikroTables | None = None

    def tables(self) -> MikroTables:
        if self._tables is None:
            s = self.settings
            self._tables = mikro_tables(sa.MetaData(), s.risk_limit_view, s.columns)
        return self._tables

    def declared_tables(self) -> Iterable[sa.Table]:
        return self.tables().all()

    def env(self) -> MikroEnv:
        if self._env is None:
            s = self.settings
            movements = MovementCodes(s.movement_codes)
            self._env = MikroEnv(
                engine=self.engine,
                tables=self.tables(),
                tz=self.context.timezone,
                chunk_size=self.context.chunk_size,
                currencies={**s.currency_codes, codes.LOCAL_CURRENCY_CODE: s.local_currency},
                local_currency=s.local_currency,
                number_format=s.number_format,
                movements=movements,
                ledger=LedgerKinds(s.ledger_kinds, movements),
                stock_kinds=StockKinds(s.stock_movement_kinds),
                account_kinds=dict(s.account_kinds),
                passive_value=bool(s.product_passive_value),
                master_barcode_value=bool(s.master_barcode_value),
                line_vat=s.line_vat,
                no_stock_cins=frozenset(s.no_stock_cins),
                sales_order_tip=s.sales_order_tip,
                order_kinds=dict(s.order_kinds),
                general_price_lists=frozenset(s.general_price_lists),
                price_list_vat_value=bool(s.price_list_vat_value),
                price_list_dates=s.price_list_dates,
                vat=VatRates(self.engine, s.vat_rates, s.vat_function, s.vat_pointers),
                fingerprint=s.model_dump_json(),
            )
        return self._env

    def streams(self) -> list[Stream]:
        env = self.env()
        changes = self.settings.snapshot_reads == "changes"
        return [
            Accounts(env),
            Products(env),
            ChangedStockLevels(env) if changes else StockLevels(env),
            Discounts(env),
            PriceLists(env),
            ChangedRiskLimits(env) if changes else RiskLimits(env),
            Orders(env),
            Invoices(env),
            Collections(env),
            AccountLedger(env),
            StockMovements(env),
        ]

    def census(self, since: dt.date | None = None) -> list[CodeCount]:
        return census(self.env(), since, self.context.disabled)

    def check_database(self, conn: sa.Connection) -> list[CheckResult]:
        database = sa.make_url(self.settings.url).database or "the database"
        missing = [name for name in COMPANY_TABLES if not table_exists(conn, name)]
        if missing:
            detail = (
                f"no Mikro company in {database}: no table {', '.join(missing)} "
                "(point the URL at the company database, e.g. MikroDB_V16_<FIRMA>)"
            )
            return [CheckResult("company", False, detail)]
        return [CheckResult("company", True, f"Mikro company tables present in {database}")]

    def check(self) -> list[CheckResult]:
        """The shared checks (connection, company, every enabled stream's columns, row counts), then the VAT
        rates, then what the data says about the readings a site may differ in (warnings)."""
        results = super().check()
        if not any(r.name == "company" and r.ok for r in results):
            return results
        results.append(self._vat_check())
        if all(r.ok for r in results):
            results += evidence.checks(self.env(), self.context.disabled)
        return results + self._snapshot_check()

    def _snapshot_check(self) -> list[CheckResult]:
        """A warning when stock levels follow the stamps and no reconcile is scheduled: a movement deleted outright
        (or moved to another item or warehouse) would then never reach the level it left."""
        context = self.context
        if self.settings.snapshot_reads != "changes" or context.reconciles or "stock_levels" in context.disabled:
            return []
        detail = (
            "snapshot_reads: changes recomputes a stock level when one of its rows is stamped; a movement an "
            "integration deletes outright, or moves to another item or warehouse, reaches the level it left only "
            "at a reconcile, and this source has none scheduled: add reconcile: {cron: ...} (e.g. '0 2 * * *', "
            "nightly), or set snapshot_reads: every_row"
        )
        return [CheckResult("stock levels", True, detail, warning=True)]

    def _vat_check(self) -> CheckResult:
        try:
            rates = self.env().vat.rates()
        except (SQLAlchemyError, ConnectorError) as exc:
            reason = str(exc) if isinstance(exc, ConnectorError) else describe_db_error(exc, self.settings.secrets())
            detail = f"cannot read VAT rates through {self.settings.vat_function} ({reason}); set vat_rates instead"
            return CheckResult("vat rates", False, detail)
        return CheckResult("vat rates", True, ", ".join(f"{p}: {r}%" for p, r in sorted(rates.items())))

    def missing_table_hint(self, table: str) -> str | None:
        view = self.settings.risk_limit_view
        if table != view:
            return None
        return (
            f"Mikro keeps no credit limit column, so create the view {view} as connectors/mikro/README.md shows, "
            "or name yours with risk_limit_view"
        )
