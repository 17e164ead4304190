"""S/4HANA OData options: the `s4:` block of an SAP source whose flavour is s4_odata.

Entity sets are given as "<SERVICE>/<EntitySet>" relative to the source's `url` (the OData root,
e.g. https://host:44300/sap/opu/odata/sap), so a system that publishes a service under another
name or version (API_PRODUCT_SRV;v=0002) needs only a setting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["S4Options", "TaxNumberMeaning"]

TaxNumberMeaning = Literal["tax_office", "VKN", "TCKN", "OTHER"]


class S4Options(BaseModel):
    """Where the S/4 system publishes each OData service, and the readings to verify per customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page_size: int = Field(1000, ge=1, le=5000, description="$top of one request; the server may page smaller")
    business_partners: str = "API_BUSINESS_PARTNER/A_BusinessPartner"
    products: str = "API_PRODUCT_SRV/A_Product"
    stock: str = "API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod"
    condition_records: str = "API_SLSPRICINGCONDITIONRECORD_SRV/A_SlsPrcgConditionRecord"
    credit_accounts: str = Field(
        "API_CRDTMBUSINESSPARTNER/A_CreditManagementAccount",
        description="credit limits per business partner and credit segment (UNCONFIRMED entity and field names)",
    )
    sales_orders: str = "API_SALES_ORDER_SRV/A_SalesOrder"
    billing_documents: str = "API_BILLING_DOCUMENT_SRV/A_BillingDocument"
    receivables: str = "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube"
    receivables_entry_date: str = Field(
        "AccountingDocumentCreationDate",
        description="the receivables item's entry-date field (BKPF-CPUDT) that incremental reads filter on "
        "(UNCONFIRMED name)",
    )
    language: str = Field("TR", min_length=2, max_length=2, description="language of product descriptions")
    tax_types: dict[str, TaxNumberMeaning] = Field(
        default_factory=lambda: {"TR1": "tax_office", "TR2": "VKN", "TR3": "TCKN"},
        description="business partner tax number category (BPTaxType) -> what it holds (UNCONFIRMED)",
    )
    service_product_types: list[str] = Field(
        default_factory=lambda: ["DIEN"], description="product types of services, kept out of the products stream"
    )
    price_condition_types: list[str] = Field(
        default_factory=lambda: ["PPR0", "PR00"], description="condition types whose records are prices, not discounts"
    )
    plant: str | None = Field(
        None, max_length=4, description="read stock of this plant only; warehouse codes are then storage locations"
    )
    purchasing_organization: str | None = Field(None, max_length=4, description="suppliers' purchasing data")
    credit_segment: str = Field("0000", max_length=10, description="credit segment whose limits are risk limits")
