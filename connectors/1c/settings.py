"""The `kind: 1c` source's settings: where the infobase is, which configuration, and every code mapping."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from connectors.http import HttpSourceSettings
from mapping.errors import RecordError
from mapping.money import currency
from mapping.schema import CollectionMethod, LedgerKind, MovementKind, OrderStatus

from .flavours import FLAVOURS
from .readings import Operation

__all__ = ["CODE_ROLES", "OneCSettings"]

CODE_ROLES = frozenset({"counterparties", "items", "warehouses", "item_kinds", "regions", "price_types"})


class OneCSettings(HttpSourceSettings):
    url: str = Field(description="the OData root, e.g. https://1c.example.ru/trade/odata/standard.odata")
    configuration: Literal["ut11", "erp2", "bp3"] = Field(
        "ut11", description="the typical configuration: picks set and field names (ut11, erp2, bp3)"
    )
    local_currency: str = Field("RUB", pattern="^[A-Z]{3}$", description="the infobase's regulated currency")
    lookback_days: int = Field(
        45, ge=0, le=3650, description="documents dated this many days before the cursor are re-read (re-posting)"
    )
    sets: dict[str, str] = Field(default_factory=dict, description="role -> entity set name, for renamed sets")
    fields: dict[str, str] = Field(
        default_factory=dict, description="\"<Set>.<Field>\" (the vendor's names) -> the field's name in this base"
    )
    codes: dict[str, str] = Field(
        default_factory=dict, description="role -> the catalog field the feed's code comes from (e.g. ИНН)"
    )
    collection_documents: dict[str, CollectionMethod] | None = Field(
        None, description="incoming payment document sets -> method; default per configuration"
    )
    operations: dict[Literal["invoices", "collections"], dict[str, Operation]] = Field(
        default_factory=dict,
        description="ВидОперации / ХозяйственнаяОперация values: include (in the feed) or exclude; added to "
        "the configuration's defaults",
    )
    vat_rates: dict[str, Decimal | None] = Field(
        default_factory=dict, description="СтавкиНДС value -> percent of net (null: no VAT); added to the defaults"
    )
    vat_kinds: dict[str, Decimal | None] = Field(
        default_factory=dict, description="БП items' ВидСтавкиНДС -> percent in force; added to the defaults"
    )
    order_statuses: dict[str, OrderStatus] = Field(
        default_factory=dict, description="УТ orders' Статус -> order status; added to the defaults"
    )
    ledger_kinds: dict[str, LedgerKind] = Field(
        default_factory=dict,
        description="account_ledger: a movement's ХозяйственнаяОперация (УТ/ERP; when it has none, and in БП, its "
        "recorder document's name) -> ledger kind; added to the defaults, anything else is kind other",
    )
    movement_kinds: dict[str, MovementKind] = Field(
        default_factory=dict,
        description="stock_movements (УТ/ERP): a ТоварыНаСкладах record's recorder document name -> movement kind; "
        "added to the defaults, anything else is kind other",
    )
    currency_codes: dict[str, str] = Field(
        default_factory=dict, description="Catalog_Валюты code -> ISO 4217, for codes that are not ISO numbers"
    )
    stock_reserved: list[str] = Field(
        ["КОтгрузке"], description="УТ/ERP: ТоварыНаСкладах resources summed as reserved (empty: no reserves)"
    )
    stock_accounts: list[str] = Field(["41.01"], description="BP 3: chart-of-accounts codes of goods in stock")
    receivable_accounts: list[str] = Field(
        ["62.01", "62.02", "62.21", "62.22", "62.31", "62.32"],
        description="BP 3: chart-of-accounts codes of settlements with buyers (account_ledger); those the chart "
        "lacks are skipped",
    )
    price_list_types: Literal["sales", "all"] = Field(
        "sales",
        description="УТ/ERP price_lists: sales = the price types flagged ИспользоватьПриПродаже that are no "
        "customer's deal (UNCONFIRMED reading); all = every price type that is no customer's deal",
    )
    zero_price_unlists: bool = Field(
        True,
        description="price_lists: a ЦеныНоменклатуры record with Цена 0 ends the item's listing and is left out "
        "(UNCONFIRMED reading); false: it is an entry priced 0",
    )
    refs_per_request: int = Field(
        25, ge=1, le=200, description="GUIDs per or-ed $filter: keeps the URL under IIS's default 2048-byte query"
    )

    @field_validator("sets")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        roles = {role for flavour in FLAVOURS.values() for role in flavour.sets}
        unknown = sorted(set(value) - roles)
        if unknown:
            raise ValueError(f"unknown set role(s) {', '.join(unknown)}; known: {', '.join(sorted(roles))}")
        return value

    @field_validator("codes")
    @classmethod
    def _code_roles(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - CODE_ROLES)
        if unknown:
            raise ValueError(f"unknown code role(s) {', '.join(unknown)}; known: {', '.join(sorted(CODE_ROLES))}")
        return value

    @field_validator("fields")
    @classmethod
    def _field_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(key for key in value if key.count(".") != 1 or not all(key.split(".")))
        if bad:
            raise ValueError(f"keys must read '<Set>.<Field>', not {', '.join(bad)}")
        return value

    @field_validator("currency_codes")
    @classmethod
    def _iso(cls, value: dict[str, str]) -> dict[str, str]:
        for code, iso in value.items():
            try:
                currency(iso, "currency_codes")
            except RecordError:
                raise ValueError(f"{code}: {iso!r} is not an ISO 4217 currency") from None
        return value
