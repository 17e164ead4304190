"""S/4HANA OData options: the `s4:` block of an SAP source whose flavour is s4_odata.

Entity sets are given as "<SERVICE>/<EntitySet>" relative to the source's `url` (the OData root,
e.g. https://host:44300/sap/opu/odata/sap), so a system that publishes a service under another
name or version (API_PRODUCT_SRV;v=0002) needs only a setting. Every code the adapter interprets is
a setting too (the README lists each default's source, or UNCONFIRMED): `dealersync discover --codes`
shows the values a system holds and what each becomes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mapping.schema import SpecialStock

__all__ = [
    "DEFAULT_DISCOUNT_CONDITION_TYPES",
    "ConditionRole",
    "S4Options",
    "TaxNumberMeaning",
]

TaxNumberMeaning = Literal["tax_office", "VKN", "TCKN", "OTHER", "ignored"]
ConditionRole = Literal["price", "discount", "tax", "ignored"]
OrderTypeReading = Literal["order", "excluded"]
StockTypeReading = Literal["on_hand", "excluded"]

# SAP's standard SD discount condition types (material, customer/material, customer, price group,
# material pricing group and their combinations, product hierarchy, item and header discounts).
DEFAULT_DISCOUNT_CONDITION_TYPES = (
    "K004", "K005", "K007", "K020", "K029", "K030", "K031", "K032", "K148",
    "RA00", "RA01", "RB00", "RC00", "HA00", "HB00",
)  # fmt: skip


# SAP's special stock indicators (SAP Help, BW characteristic 0RPA_SSC): E sales order stock, Q project stock,
# W customer consignment (ours, at the customer's), K vendor consignment (the vendor's, in our warehouse), O material
# provided to a vendor, V returnable packaging at a customer, M returnable transport packaging, P pipeline material.
DEFAULT_SPECIAL_STOCK_TYPES: dict[str, SpecialStock] = {
    "E": "sales_order",
    "Q": "project",
    "W": "consignment",
    **dict.fromkeys(("K", "O", "V", "M", "P"), "other"),  # type: ignore[dict-item]
}


class S4Options(BaseModel):
    """Where the S/4 system publishes each OData service, and the readings to verify per customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page_size: int = Field(1000, ge=1, le=5000, description="$top of one request; the server may page smaller")
    business_partners: str = "API_BUSINESS_PARTNER/A_BusinessPartner"
    products: str = "API_PRODUCT_SRV/A_Product"
    stock: str = "API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod"
    condition_records: str = "API_SLSPRICINGCONDITIONRECORD_SRV/A_SlsPrcgConditionRecord"
    credit_accounts: str = Field(
        "API_CRDTMBUSINESSPARTNER/CreditManagementAccount",
        description="credit limits per business partner and credit segment (field names from SAP-generated "
        "consumption models; the service's EDMX is not published: UNCONFIRMED)",
    )
    sales_orders: str = "API_SALES_ORDER_SRV/A_SalesOrder"
    billing_documents: str = "API_BILLING_DOCUMENT_SRV/A_BillingDocument"
    receivables: str = "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube"
    material_documents: str = "API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader"
    movement_reference_is_invoice: bool = Field(
        True,
        description="a sale's or return's material document carries its invoice's (billing document's) number in "
        "the header reference (ReferenceDocument, MKPF-XBLNR): stock_movements invoice_number. UNCONFIRMED: SD "
        "posts the delivery's number there unless the system copies the billing document; false leaves it empty",
    )
    exchange_rates: str | None = Field(
        None,
        description="a custom service's entity set over SAP's rate table (properties of I_ExchangeRateRawData), "
        "for documents without their own rate; SAP publishes no OData V2 rate API (UNCONFIRMED: your service)",
    )
    exchange_rate_type: str = Field("M", max_length=4, description="the rate type (KURST) read from exchange_rates")
    receivables_entry_date: str = Field(
        "AccountingDocumentCreationDate",
        description="the receivables item's entry-date field (BKPF-CPUDT) that incremental reads filter on",
    )
    language: str = Field("TR", min_length=2, max_length=2, description="language of product descriptions")
    tax_types: dict[str, TaxNumberMeaning] = Field(
        default_factory=lambda: {"TR1": "tax_office", "TR2": "VKN", "TR3": "TCKN"},
        description="business partner tax number category (BPTaxType) -> what it holds, or ignored (UNCONFIRMED)",
    )
    service_product_types: list[str] = Field(
        default_factory=lambda: ["DIEN"], description="product types of services, kept out of the products stream"
    )
    price_condition_types: list[str] = Field(
        default_factory=lambda: ["PPR0", "PR00"], description="condition types whose records are prices, not discounts"
    )
    discount_condition_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DISCOUNT_CONDITION_TYPES),
        description="condition types whose records are discounts (the discounts stream)",
    )
    gross_price_condition_types: list[str] = Field(
        default_factory=list,
        description="price condition types whose rates include VAT (price_lists vat_included); the others' rates "
        "are net, tax being its own condition in SD pricing (UNCONFIRMED per pricing procedure)",
    )
    price_list_names: dict[str, str] = Field(
        default_factory=dict,
        description="price list type (PLTYP) -> its name for price_lists list_name: SAP keeps the names in T189T, "
        "which API_SLSPRICINGCONDITIONRECORD_SRV does not publish (unset: no name)",
    )
    excluded_condition_types: list[str] = Field(
        default_factory=list,
        description="condition types whose records are neither prices nor discounts (taxes, costs): left out",
    )
    condition_classes: dict[str, ConditionRole] = Field(
        default_factory=lambda: {"A": "discount", "B": "price", "D": "tax"},
        description="a document pricing element's condition class (KOAID) -> what it is in a line's money",
    )
    condition_types: dict[str, ConditionRole] = Field(
        default_factory=dict, description="pricing elements of these condition types read otherwise than their class"
    )
    sales_order_types: dict[str, OrderTypeReading] = Field(
        default_factory=lambda: {"OR": "order"},
        description="sales order type (AUART) -> sent as an order, or excluded; other types are dead letters",
    )
    special_stock_types: dict[str, SpecialStock | Literal["excluded"]] = Field(
        default_factory=lambda: dict(DEFAULT_SPECIAL_STOCK_TYPES),
        description="special stock indicator (SOBKZ) -> how its stock is reported apart from the own stock",
    )
    stock_types: dict[str, StockTypeReading] = Field(
        default_factory=lambda: {"01": "on_hand", "02": "on_hand", "07": "on_hand"},
        description="stock type (InventoryStockType) -> counted in on_hand, or excluded (UNCONFIRMED codes)",
    )
    non_collection_document_types: list[str] = Field(
        default_factory=lambda: ["RV", "DR", "DG", "DA", "AB"],
        description="accounting document types of customer items that are no collection (RV billing documents, DR/DG "
        "customer invoices and credit memos entered in FI, DA customer documents, AB general documents; UNCONFIRMED)",
    )
    plant: str | None = Field(
        None, max_length=4, description="read stock of this plant only; warehouse codes are then storage locations"
    )
    purchasing_organization: str | None = Field(None, max_length=4, description="suppliers' purchasing data")
    credit_segment: str = Field("0000", max_length=10, description="credit segment whose limits are risk limits")

    @field_validator(
        "business_partners", "products", "stock", "condition_records", "credit_accounts", "sales_orders",
        "billing_documents", "receivables", "exchange_rates", "material_documents",
    )  # fmt: skip
    @classmethod
    def _entity_set_path(cls, value: str | None) -> str | None:
        if value is not None:
            service, _, entity_set = value.partition("/")
            if not service or not entity_set or "/" in entity_set:
                raise ValueError(f"{value!r} must be '<SERVICE>/<EntitySet>', e.g. 'API_SALES_ORDER_SRV/A_SalesOrder'")
        return value
