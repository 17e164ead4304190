"""ECC SOAP options: the `ecc:` block of an SAP source whose flavour is ecc_soap."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from connectors.http import check_url

__all__ = ["DEFAULT_CONDITION_TABLES", "DEFAULT_OTHER_DOCUMENT_TYPES", "DEFAULT_PRICE_LIST_TABLES", "EccOptions"]

FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,29}$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_/]{0,29}$")]
ConditionTypes = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=4)]], Field(min_length=1)]

# Discount condition tables and the condition types read from each: SAP's standard ones. Every
# installation has its own pricing procedure (A5xx-A9xx tables, Z-types): list yours (UNCONFIRMED).
DEFAULT_CONDITION_TABLES: dict[str, list[str]] = {
    "A004": ["K004"],  # material discount
    "A005": ["K005"],  # customer/material discount
    "A007": ["K007"],  # customer discount
    "A305": ["PR00"],  # customer-specific price
}

# Price list tables: A006 "Price List Type/Currency/Material" (VKORG, VTWEG, PLTYP, WAERK, MATNR; sapdatasheet.org
# A006), SAP's standard table of PR00 price lists. Which tables a pricing procedure reads is customising.
DEFAULT_PRICE_LIST_TABLES: dict[str, list[str]] = {"A006": ["PR00"]}

# Document types (BKPF-BLART) of customer items that are not collections, and why: SAP's standard types
# for what else lands on a customer account (UNCONFIRMED: document types are customising, T003).
DEFAULT_OTHER_DOCUMENT_TYPES: dict[str, str] = {
    "RV": "billing document's receivable: the invoice itself, sent in invoices",
    "DR": "customer invoice entered in FI, not a billing document",
    "DG": "customer credit memo entered in FI",
    "DA": "customer document",
    "AB": "clearing or reversal document",
    "SA": "G/L account document",
}


class EccOptions(BaseModel):
    """How the ECC system publishes its function modules, and the readings to verify per customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wsdl_url: str | None = Field(
        None,
        description="where the WSDL of the published function modules is; default <url>?wsdl (for SICF "
        "/sap/bc/soap/rfc: http://host:port/sap/bc/soap/wsdl11?services=RFC_READ_TABLE,BAPI_COMPANYCODE_GETDETAIL)",
    )
    endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="function module -> endpoint URL, when each is its own SOAMANAGER service; default: url",
    )
    read_table_function: FieldName = Field(
        "RFC_READ_TABLE", description="a function module with RFC_READ_TABLE's interface (e.g. a Z copy)"
    )
    row_width: int = Field(512, ge=72, le=65535, description="characters of one DATA row (TAB512: 512)")
    delimiter: str = Field("", max_length=1, description="DELIMITER between fields; rows are parsed by OFFSET")
    in_list_size: int = Field(100, ge=1, le=1000, description="keys per 'IN ( ... )' selection of related rows")
    language: str = Field("T", min_length=1, max_length=1, description="SPRAS of material descriptions (T = Turkish)")
    tax_office_field: FieldName = Field("STCD1", description="KNA1 field holding the tax office (UNCONFIRMED)")
    tax_number_field: FieldName = Field("STCD2", description="KNA1 field holding VKN/TCKN (UNCONFIRMED)")
    brand_field: FieldName | None = Field(None, description="MARA field holding the brand, e.g. EXTWG (none: no brand)")
    service_material_types: list[str] = Field(
        default_factory=lambda: ["DIEN"], description="MARA-MTART of service materials: not products"
    )
    price_condition_type: FieldName = Field("PR00", description="KSCHL of the unit price in document conditions")
    condition_tables: dict[TableName, ConditionTypes] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_CONDITION_TABLES.items()},
        description="discount condition tables -> condition types read from each (UNCONFIRMED: pricing procedure)",
    )
    price_list_tables: dict[TableName, ConditionTypes] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_PRICE_LIST_TABLES.items()},
        description="condition tables keyed without the customer holding price lists -> price condition types read "
        "from each (price_lists; UNCONFIRMED: pricing procedure); never a table of ecc.condition_tables",
    )
    gross_price_condition_types: list[Annotated[str, StringConstraints(min_length=1, max_length=4)]] = Field(
        default_factory=list,
        description="price condition types whose rates include VAT (price_lists vat_included; UNCONFIRMED: none)",
    )
    price_list_names: dict[str, str] = Field(
        default_factory=dict, description="price list type (PLTYP) -> name for price_lists (the texts are in T189T)"
    )
    excluded_order_types: dict[Annotated[str, StringConstraints(min_length=1, max_length=4)], str] = Field(
        default_factory=dict,
        description="sales document types (VBAK-AUART) of category C left out of orders -> why (e.g. consignment)",
    )
    ignored_condition_types: dict[Annotated[str, StringConstraints(min_length=1, max_length=4)], str] = Field(
        default_factory=dict,
        description="condition types found in the condition tables that are not discounts (list prices, freight) "
        "-> why: the census counts them as left out, not unknown",
    )
    other_document_types: dict[Annotated[str, StringConstraints(min_length=1, max_length=2)], str] = Field(
        default_factory=lambda: dict(DEFAULT_OTHER_DOCUMENT_TYPES),
        description="document types (BLART) of customer items that are not collections -> why (UNCONFIRMED)",
    )
    credit_control_area: str | None = Field(None, max_length=4, description="KNKK-KKBER to read; none: all")
    plants: list[str] = Field(default_factory=list, description="MARD-WERKS to read; empty: all plants")
    movement_reference_is_invoice: bool = Field(
        True,
        description="a sale's or return's material document carries its invoice's (billing document's) number in "
        "MKPF-XBLNR: stock_movements invoice_number. UNCONFIRMED: SD posts the delivery's number there unless the "
        "system copies the billing document; false leaves it empty",
    )
    warehouse_code: Literal["storage_location", "plant_and_storage_location"] = Field(
        "storage_location", description="the feed's warehouse code: LGORT, or WERKS/LGORT when plants share LGORTs"
    )
    tax_country: str = Field("TR", min_length=2, max_length=3, description="MLAN-ALAND of products' tax class")

    @model_validator(mode="after")
    def _disjoint_tables(self) -> EccOptions:
        # A table in both would send its records twice: as a dealer's price and as a price list entry.
        both = sorted(set(self.condition_tables) & set(self.price_list_tables))
        if both:
            raise ValueError(f"ecc.condition_tables and ecc.price_list_tables both name {', '.join(both)}")
        return self

    @field_validator("wsdl_url")
    @classmethod
    def _wsdl(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, "ecc.wsdl_url")

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        for function, url in value.items():
            check_url(url, f"ecc.endpoints.{function}")
        return value
