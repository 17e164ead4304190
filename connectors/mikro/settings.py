"""The Mikro adapter's settings: where the company database is, and each reading of a code a site may differ in."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from connectors.base import ConnectorError
from connectors.mikro import codes
from connectors.mikro.ledger_kinds import parse_ledger_kinds
from connectors.mikro.readings import parse_movement_codes
from connectors.mikro.stock_kinds import parse_stock_kinds
from connectors.mikro.tables import validate_table_name
from connectors.sql import SqlSourceSettings
from mapping.schema import AccountKind

__all__ = ["MikroSettings", "OrderKind"]

OrderKind = Literal["order", "proposal", "exclude"]


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
    movement_codes: dict[str, str | None] = Field(
        default_factory=dict,
        description="CARI_HESAP_HAREKETLERI readings merged over the defaults: 'evrak_tip[:cinsi[:tip[:iade]]]' "
        "('*' for any) -> 'invoice:sale' | 'invoice:return' | 'collection:<method>' | 'promise' | 'ignore[:why]'; "
        "null drops a default",
    )
    ledger_kinds: dict[str, str | None] = Field(
        default_factory=dict,
        description="account_ledger kinds merged over the defaults: 'evrak_tip[:cinsi[:tip[:iade]]]' ('*' for any) -> "
        "opening | invoice | return | collection | payment | debit_note | credit_note | exchange_difference | "
        "cheque_return | other; null drops a default. A row no key matches takes its movement_codes reading",
    )
    stock_movement_kinds: dict[str, str | None] = Field(
        default_factory=dict,
        description="stock_movements kinds merged over the defaults: 'evraktip[:cins[:tip[:iade]]]' (sth_evraktip, "
        "sth_cins, sth_tip, sth_normal_iade; '*' for any) -> sale | sale_return | purchase | purchase_return | "
        "transfer | consumption | production | count | other; null drops a default. A row no key matches is sent as "
        "other",
    )
    account_kinds: dict[int, AccountKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_ACCOUNT_KINDS),
        description="cari_baglanti_tipi -> account kind",
    )
    product_passive_value: Literal[0, 1] = Field(
        codes.PASSIVE_DEFAULT,
        description="the sto_pasif_fl value meaning passive (Mikro's docs: 0 Pasif, 1 Aktif; sites say otherwise)",
    )
    master_barcode_value: Literal[0, 1] = Field(
        codes.MASTER_BARCODE_DEFAULT,
        description="the bar_master value marking a unit's main barcode (Mikro's docs: 0 Evet, 1 Hayır)",
    )
    line_vat: Literal["amount", "rate"] = Field(
        "amount",
        description="what STOK_HAREKETLERI.sth_vergi holds: the line's VAT amount (what sites read) or its rate "
        "(Mikro's docs: 'Hareket Vergi Oranı')",
    )
    no_stock_cins: list[int] = Field(
        default_factory=lambda: list(codes.NO_STOCK_CINS),
        description="sth_cins values that move no goods (9 Değer Farkı): left out of stock levels",
    )
    vat_rates: dict[int, Decimal] | None = Field(
        None, description="VAT pointer -> percent; unset: asked from the database through vat_function"
    )
    vat_function: str = Field("dbo.fn_VergiYuzde", description="Mikro's pointer -> percent scalar function")
    vat_pointers: int = Field(10, ge=1, le=50, description="the highest VAT pointer asked for")
    general_price_lists: list[int] = Field(
        default_factory=lambda: [1],
        description="the sales price lists (sfl_sirano) that are general, read by price_lists; every other list is a "
        "customer's own prices, read by discounts (fixed_price) for the accounts whose cari_satis_fk names it",
    )
    price_list_vat_value: Literal[0, 1] = Field(
        codes.PRICE_LIST_VAT_DEFAULT,
        description="the sfl_kdvdahil value meaning the list's prices include VAT (public queries: 1; no Mikro page)",
    )
    price_list_dates: bool = Field(
        True,
        description="read sfl_ilktarih / sfl_sontarih as a general list's first and last valid day (column names from "
        "public table definitions, no Mikro page); false: the feed's validity stays empty",
    )
    sales_order_tip: Literal[0, 1] = Field(
        codes.SALES_ORDER_TIP,
        description="the sip_tip of sales orders (public queries: 0; Mikro's docs label 0 Talep, 1 Temin)",
    )
    order_kinds: dict[int, OrderKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_ORDER_KINDS),  # type: ignore[arg-type]
        description="sip_cins of sales orders -> order (status from the lines), proposal, or exclude",
    )
    snapshot_reads: Literal["changes", "every_row"] = Field(
        "changes",
        description="stock_levels and risk_limits: 'changes' recomputes only what rows stamped since the last sync "
        "belong to (a stock movement deleted outright or moved to another item reaches its old item's level at a "
        "reconcile; UNCONFIRMED that Mikro itself never does either); 'every_row' sums every movement on every sync",
    )
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

    @field_validator("movement_codes")
    @classmethod
    def _movement_codes(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        parse_movement_codes(value)  # raises ValueError naming the key
        return value

    @field_validator("ledger_kinds")
    @classmethod
    def _ledger_kinds(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        parse_ledger_kinds(value)  # raises ValueError naming the key
        return value

    @field_validator("stock_movement_kinds")
    @classmethod
    def _stock_movement_kinds(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        parse_stock_kinds(value)  # raises ValueError naming the key
        return value

    @field_validator("risk_limit_view")
    @classmethod
    def _view(cls, value: str) -> str:
        try:
            return validate_table_name(value, "risk_limit_view")
        except ConnectorError as exc:
            raise ValueError(str(exc)) from None
