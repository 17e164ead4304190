"""SAP adapter: S/4HANA through its OData V2 APIs, or ECC through SOAP-published function modules.

One adapter kind ("sap") for both; `flavour` picks the source. Shared SAP code values live in
connectors/sap/codes.py. See README.md beside this file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import Field, field_validator

from connectors.base import Adapter, CheckResult, SourceContext, Stream
from connectors.census import CodeCount
from connectors.http import HttpSourceSettings
from connectors.sap import codes
from connectors.sap.ecc.options import EccOptions
from connectors.sap.s4.options import S4Options
from mapping.schema import CollectionMethod, LedgerKind, MovementKind

__all__ = ["SapAdapter", "SapSettings"]


class SapSettings(HttpSourceSettings):
    flavour: Literal["s4_odata", "ecc_soap"]
    sap_client: str = Field(pattern=r"^\d{3}$", description="SAP client (MANDT), sent as sap-client on every call")
    local_currency: str = Field("TRY", pattern="^[A-Z]{3}$", description="the company code's currency, ISO")
    company_code: str | None = Field(None, max_length=4, description="read receivables of this company code only")
    sales_organization: str | None = Field(None, max_length=4, description="read this sales organisation only")
    distribution_channel: str | None = Field(None, max_length=2, description="sales-area data of this channel")
    division: str | None = Field(None, max_length=2, description="sales-area data of this division")
    billing_types: dict[str, codes.BillingReading] = Field(
        default_factory=lambda: dict(codes.DEFAULT_BILLING_TYPES),
        description="billing type (FKART) -> invoice kind, or excluded; others fall back to the document category",
    )
    service_item_categories: list[str] = Field(
        default_factory=lambda: list(codes.DEFAULT_SERVICE_ITEM_CATEGORIES),
        description="item categories (PSTYV) of service items; an invoice of only those is a service invoice",
    )
    collection_methods: dict[str, CollectionMethod] = Field(
        default_factory=lambda: dict(codes.DEFAULT_COLLECTION_METHODS),
        description="'BLART' or 'BLART:ZLSCH' of customer payment documents -> collection method",
    )
    ledger_kinds: dict[str, LedgerKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_LEDGER_KINDS),
        description="'BLART' or 'BLART:S'/'BLART:H' of customer items -> account_ledger kind (UNCONFIRMED but RV, DZ); "
        "others are kind other",
    )
    movement_types: dict[str, MovementKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_MOVEMENT_TYPES),
        description="goods movement type (BWART) -> stock_movements kind (UNCONFIRMED but 101, 102); others are "
        "kind other; the direction is the item's debit/credit indicator",
    )
    sales_rep_partner_function: str = Field("VE", max_length=2, description="partner function of the sales rep")
    parent_partner_function: str = Field(
        "1A", max_length=2, description="partner function naming a dealer's parent account (UNCONFIRMED)"
    )
    tax_country: str = Field("TR", pattern="^[A-Z]{2}$", description="country whose VAT classification is read")
    vat_rates: dict[str, Decimal] = Field(
        default_factory=lambda: dict(codes.DEFAULT_VAT_RATES),
        description="product tax classification (TAXM1) -> VAT percent (UNCONFIRMED: country customising)",
    )
    s4: S4Options = S4Options()
    ecc: EccOptions = EccOptions()

    @field_validator("collection_methods")
    @classmethod
    def _methods(cls, value: dict[str, CollectionMethod]) -> dict[str, CollectionMethod]:
        for key in value:
            codes.parse_method_key(key)
        return value

    @field_validator("ledger_kinds")
    @classmethod
    def _ledger_kinds(cls, value: dict[str, LedgerKind]) -> dict[str, LedgerKind]:
        for key in value:
            codes.parse_ledger_key(key)
        return value


class _Source(Protocol):
    def streams(self) -> list[Stream]: ...
    def check(self) -> list[CheckResult]: ...
    def close(self) -> None: ...


class SapAdapter(Adapter):
    kind = "sap"
    Settings = SapSettings

    def __init__(self, context: SourceContext, settings: SapSettings) -> None:  # type: ignore[override]
        super().__init__(context, settings)
        self.settings: SapSettings = settings
        self._source: _Source | None = None

    @property
    def source(self) -> _Source:
        # Imported on first use: each flavour's package imports this one's settings type.
        if self._source is None:
            if self.settings.flavour == "s4_odata":
                from connectors.sap.s4 import S4Source

                self._source = S4Source(self.context, self.settings)
            else:
                from connectors.sap.ecc import EccSource

                self._source = EccSource(self.context, self.settings)
        return self._source

    def streams(self) -> list[Stream]:
        return self.source.streams()

    def check(self) -> list[CheckResult]:
        return self.source.check()

    def census(self, since: dt.date | None = None) -> list[CodeCount] | None:
        """The flavour's code census, where it has one."""
        counts = getattr(self.source, "census", None)
        return None if counts is None else counts(since)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        self._source = None
