"""Mikro (v16 / v17) adapter: read-only SQL over one company's MikroDB_V16_<FIRMA> database.

The statements are SQLAlchemy Core and run unchanged on SQL Server (production, mssql+pyodbc),
PostgreSQL, MariaDB and SQLite (tests). See README.md beside this file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from pydantic import Field, field_validator
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import CheckResult, ConnectorError, Stream
from connectors.mikro import codes
from connectors.mikro.discounts import Discounts
from connectors.mikro.documents import Collections, Invoices
from connectors.mikro.masters import Accounts, Products
from connectors.mikro.orders import Orders
from connectors.mikro.snapshots import RiskLimits, StockLevels
from connectors.mikro.streams import MikroEnv, VatRates
from connectors.mikro.tables import mikro_tables, validate_table_name
from connectors.sql import SqlAdapter, SqlSourceSettings, describe_db_error, table_exists
from mapping.schema import AccountKind, CollectionMethod

__all__ = ["MikroAdapter", "MikroSettings"]

# The tables without which there is no Mikro company in the database, and those the streams need.
COMPANY_TABLES = ("CARI_HESAPLAR", "STOKLAR")
STREAM_TABLES = (
    "CARI_HESAP_HAREKETLERI",
    "STOK_HAREKETLERI",
    "SIPARISLER",
    "CARI_HESAP_ADRESLERI",
    "ODEME_PLANLARI",
    "BARKOD_TANIMLARI",
    "DEPOLAR",
    "STOK_CARI_ISKONTO_TANIMLARI",
    "STOK_SATIS_FIYAT_LISTE_TANIMLARI",
    "STOK_SATIS_FIYAT_LISTELERI",
    "ODEME_EMIRLERI",
)


class MikroSettings(SqlSourceSettings):
    local_currency: str = Field("TRY", pattern="^[A-Z]{3}$", description="the company's main currency (number 0)")
    currency_codes: dict[int, str] = Field(
        default_factory=lambda: dict(codes.DEFAULT_CURRENCY_CODES),
        description="Mikro currency number (DOVIZ_KURLARI) -> ISO code; 0 is always local_currency",
    )
    number_format: str = Field(
        "{seri}{sira:06d}",
        description="how a document number is written from its series and sequence, e.g. '{seri}-{sira}'",
    )
    collection_methods: dict[int, CollectionMethod] = Field(
        default_factory=lambda: dict(codes.DEFAULT_COLLECTION_METHODS),
        description="receipt cha_cinsi -> method (17 wire and 19 card from one source: UNCONFIRMED)",
    )
    account_kinds: dict[int, AccountKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_ACCOUNT_KINDS),
        description="cari_baglanti_tipi -> account kind",
    )
    product_passive_value: Literal[0, 1] = Field(
        codes.PASSIVE_DEFAULT,
        description="the sto_pasif_fl value meaning passive (Mikro's dictionary says 1 = active: UNCONFIRMED)",
    )
    vat_rates: dict[int, Decimal] | None = Field(
        None, description="VAT pointer -> percent; unset: asked from the database through vat_function"
    )
    vat_function: str = Field("dbo.fn_VergiYuzde", description="Mikro's pointer -> percent scalar function")
    vat_pointers: int = Field(10, ge=1, le=50, description="the highest VAT pointer asked for")
    general_price_lists: list[int] = Field(
        default_factory=lambda: [1], description="price lists that are not customer-specific prices (sfl_sirano)"
    )
    proforma_is_proposal: bool = Field(True, description="read proforma orders (sip_cins 2) as proposals")
    risk_limit_view: str = Field(
        "DEALERSYNC_CARI_RISK",
        description="view (cari_kod, risk_limiti, teminat, lastup_date) over wherever this install keeps credit limits",
    )

    @field_validator("number_format")
    @classmethod
    def _number_format(cls, value: str) -> str:
        try:
            sample = value.format(seri="A", sira=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"number_format may only use {{seri}} and {{sira}}: {exc}") from None
        if not sample:
            raise ValueError("number_format gives an empty number")
        return value

    @field_validator("risk_limit_view")
    @classmethod
    def _view(cls, value: str) -> str:
        try:
            return validate_table_name(value, "risk_limit_view")
        except ConnectorError as exc:
            raise ValueError(str(exc)) from None


class MikroAdapter(SqlAdapter):
    kind = "mikro"
    Settings = MikroSettings
    settings: MikroSettings
    _env: MikroEnv | None

    def env(self) -> MikroEnv:
        if self._env is None:
            s = self.settings
            self._env = MikroEnv(
                engine=self.engine,
                tables=mikro_tables(sa.MetaData(), s.risk_limit_view),
                tz=self.context.timezone,
                chunk_size=self.context.chunk_size,
                currencies={**s.currency_codes, codes.LOCAL_CURRENCY_CODE: s.local_currency},
                local_currency=s.local_currency,
                number_format=s.number_format,
                collection_methods=dict(s.collection_methods),
                account_kinds=dict(s.account_kinds),
                passive_value=bool(s.product_passive_value),
                general_price_lists=frozenset(s.general_price_lists),
                vat=VatRates(self.engine, s.vat_rates, s.vat_function, s.vat_pointers),
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
            Orders(env, self.settings.proforma_is_proposal),
            Invoices(env),
            Collections(env),
        ]

    def check_database(self, conn: sa.Connection) -> list[CheckResult]:
        database = sa.make_url(self.settings.url).database or "the database"
        missing = [name for name in COMPANY_TABLES if not table_exists(conn, name)]
        if missing:
            detail = (
                f"no Mikro company in {database}: no table {', '.join(missing)} "
                "(point the URL at the company database, e.g. MikroDB_V16_<FIRMA>)"
            )
            return [CheckResult("company", False, detail)]
        results = [CheckResult("company", True, f"Mikro company tables present in {database}")]
        absent = [name for name in STREAM_TABLES if not table_exists(conn, name)]
        if absent:
            results.append(CheckResult("tables", False, f"missing table {', '.join(absent)} (is this Mikro v16/v17?)"))
        view = self.settings.risk_limit_view
        if not table_exists(conn, view):
            detail = (
                f"no view {view}: risk_limits needs it (Mikro keeps no credit limit column; see the adapter README)"
            )
            results.append(CheckResult("risk limits", False, detail))
        try:
            rates = self.env().vat.rates()
            results.append(CheckResult("vat rates", True, ", ".join(f"{p}: {r}%" for p, r in sorted(rates.items()))))
        except (SQLAlchemyError, ConnectorError) as exc:
            reason = str(exc) if isinstance(exc, ConnectorError) else describe_db_error(exc, self.settings.secrets())
            detail = f"cannot read VAT rates through {self.settings.vat_function} ({reason}); set vat_rates instead"
            results.append(CheckResult("vat rates", False, detail))
        return results
