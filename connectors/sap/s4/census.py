"""The code census of an S/4 system: every code value the adapter interprets, counted in the data.

OData V2 has no GROUP BY: each census read selects the code properties and the money property of an entity set
(documents dated `since` or later) and counts client-side. Each value's reading comes from the effective settings,
with its source: "your settings" when the configuration sets the table, the default's source otherwise (most are
UNCONFIRMED: SAP customising differs per system).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from connectors.census import UNCONFIRMED, CodeColumn, CodeCount, Reading, excluded, mapped
from connectors.sap import codes
from connectors.sap.s4.pricing import role
from connectors.sap.s4.receivables import FI_KEY
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.snapshots import STOCK_KEY
from connectors.sap.s4.stock import MATERIAL_DOCUMENT_KEY
from connectors.sap.s4.streams import S4Env, eq
from connectors.sap.s4.values import all_of, any_of, day_literal
from mapping.money import to_decimal

__all__ = ["census", "census_reads"]

VBTYP = "erp-data-models.md section 4.2 (VBTYP)"
SPECIAL_STOCK = "SAP Help: special stock indicator (BW characteristic 0RPA_SSC)"
_CATEGORY_LEFT_OUT = {
    codes.VBTYP_INVOICE_CANCELLATION: ("cancellation document: the invoice it cancels is sent cancelled", VBTYP),
    codes.VBTYP_CREDIT_MEMO_CANCELLATION: ("cancellation document: the credit memo it cancels is sent cancelled",
                                           VBTYP),
    codes.VBTYP_PRO_FORMA: ("pro forma invoice: it carries no receivable", UNCONFIRMED),
}  # fmt: skip
_CATEGORY_SOURCES = {codes.VBTYP_INVOICE: VBTYP, codes.VBTYP_CREDIT_MEMO: VBTYP}
_PRICING = Shape((f("ConditionType"), f("ConditionClass"), f("ConditionAmount", "number"),
                  f("ConditionIsForStatistics", "boolean"), f("ConditionInactiveReason")))  # fmt: skip


def _source(model: BaseModel, name: str, default: str = UNCONFIRMED) -> str:
    return "your settings" if name in model.model_fields_set else default


def _money(value: Any) -> Decimal:
    return to_decimal(value, 2, "money") or Decimal("0.00")


class _Tally:
    def __init__(self) -> None:
        self.found: dict[tuple[CodeColumn, tuple[Any, ...]], list[Any]] = {}

    def add(self, column: CodeColumn, value: tuple[Any, ...], money: Any = None) -> None:
        entry = self.found.setdefault((column, value), [0, None])
        entry[0] += 1
        if column.money:
            entry[1] = (entry[1] or Decimal("0.00")) + _money(money)

    def counts(self) -> list[CodeCount]:
        return [CodeCount(column, value, rows, money) for (column, value), (rows, money) in self.found.items()]


class _Columns:
    """The code columns of one system, each reading its values from the effective settings."""

    def __init__(self, env: S4Env) -> None:
        self.s = env.settings
        self.s4 = env.s4
        doc = "document currency, currencies summed as they are"
        self.billing = CodeColumn("BillingDocumentType x SDDocumentCategory", "invoices", "billing_types",
                                  f"TotalNetAmount, {doc}", self._billing)  # fmt: skip
        self.order_type = CodeColumn("SalesOrderType", "orders", "s4.sales_order_types", f"TotalNetAmount, {doc}",
                                     self._order_type)  # fmt: skip
        self.items = {
            stream: CodeColumn(f"{field} (items)", stream, "service_item_categories", f"NetAmount, {doc}",
                               self._item_category)
            for stream, field in (("orders", "SalesOrderItemCategory"), ("invoices", "SalesDocumentItemCategory"))
        }  # fmt: skip
        self.pricing = {
            stream: CodeColumn("ConditionType x ConditionClass x flag (pricing elements)", stream,
                               "s4.condition_types / s4.condition_classes", f"ConditionAmount, {doc}", self._pricing)
            for stream in ("orders", "invoices")
        }  # fmt: skip
        self.payments = CodeColumn("AccountingDocumentType x PaymentMethod (customer items)", "collections",
                                   "collection_methods / s4.non_collection_document_types",
                                   "AmountInCompanyCodeCurrency, local currency", self._payment)  # fmt: skip
        self.ledger = CodeColumn("AccountingDocumentType x DebitCreditCode (customer items)", "account_ledger",
                                 "ledger_kinds", "AmountInCompanyCodeCurrency, local currency",
                                 self._ledger)  # fmt: skip
        self.movement = CodeColumn("GoodsMovementType x DebitCreditCode (material document items)",
                                   "stock_movements", "movement_types", "", self._movement)  # fmt: skip
        self.special = CodeColumn("InventorySpecialStockType", "stock_levels", "s4.special_stock_types", "",
                                  self._special)  # fmt: skip
        self.stock_type = CodeColumn("InventoryStockType", "stock_levels", "s4.stock_types", "", self._stock_type)
        self.condition = CodeColumn("ConditionType (condition records)", "discounts",
                                    "s4.discount_condition_types / s4.price_condition_types / "
                                    "s4.excluded_condition_types", "", self._condition_type)  # fmt: skip
        self.price_list = CodeColumn("ConditionType x PriceListType (price records without customer)", "price_lists",
                                     "s4.price_condition_types / s4.gross_price_condition_types / "
                                     "s4.price_list_names", "", self._price_list)  # fmt: skip
        self.tax_type = CodeColumn("BPTaxType", "accounts", "s4.tax_types", "", self._tax_type)
        self.product_type = CodeColumn("ProductType", "products", "s4.service_product_types", "", self._product_type)
        self.tax_class = CodeColumn(f"TaxClassification (Country {self.s.tax_country})", "products", "vat_rates", "",
                                    self._tax_class)  # fmt: skip

    def _billing(self, value: tuple[Any, ...]) -> Reading | None:
        billing_type, category = value
        left_out = _CATEGORY_LEFT_OUT.get(category)
        if left_out is not None:
            return excluded(*left_out)
        reading = self.s.billing_types.get(billing_type)
        source = _source(self.s, "billing_types")
        if reading == codes.EXCLUDED:
            return excluded("the setting billing_types excludes it", source)
        if reading is not None:
            return mapped(f"invoice kind {reading}", source)
        kind = codes.CATEGORY_KINDS.get(category)
        if kind is not None:
            return mapped(
                f"invoice kind {kind} (by its category {category})", _CATEGORY_SOURCES.get(category, UNCONFIRMED)
            )
        return None

    def _order_type(self, value: tuple[Any, ...]) -> Reading | None:
        reading = self.s4.sales_order_types.get(value[0])
        source = _source(self.s4, "sales_order_types")
        if reading == "order":
            return mapped("order", source)
        return None if reading is None else excluded("the setting s4.sales_order_types excludes it", source)

    def _item_category(self, value: tuple[Any, ...]) -> Reading:
        source = _source(self.s, "service_item_categories")
        return mapped("service line" if value[0] in self.s.service_item_categories else "item line", source)

    def _pricing(self, value: tuple[Any, ...]) -> Reading | None:
        condition_type, condition_class, flag = value
        if flag != "active":
            return excluded(f"{flag} element: never part of a line's money", "SAP's pricing element flags")
        found = role({"ConditionType": condition_type, "ConditionClass": condition_class},
                     self.s4.condition_types, self.s4.condition_classes)  # fmt: skip
        if found is None:
            return None
        by_type = condition_type in self.s4.condition_types
        source = _source(self.s4, "condition_types" if by_type else "condition_classes")
        if found == "ignored":
            return excluded("not part of a line's money", source)
        return mapped(f"line {found}", source)

    def _payment(self, value: tuple[Any, ...]) -> Reading | None:
        document_type, method = value
        found = codes.collection_method(document_type, method or "", self.s.collection_methods)
        if found is not None:
            return mapped(f"collection, method {found}", _source(self.s, "collection_methods"))
        if document_type in self.s4.non_collection_document_types:
            source = _source(self.s4, "non_collection_document_types")
            return excluded("no collection (an invoice's receivable, say)", source)
        return None

    def _ledger(self, value: tuple[Any, ...]) -> Reading | None:
        """A customer item's ledger kind; None (unknown: sent as kind other) when ledger_kinds has none. Reversals
        (IsReversal) and SD cancellations (CancelledBillingDocument) are left out whatever their type."""
        key = codes.ledger_key(value[0], value[1], self.s.ledger_kinds)
        if key is None:
            return None
        default = codes.LEDGER_KIND_SOURCES.get(key, UNCONFIRMED)
        return mapped(f"ledger kind {self.s.ledger_kinds[key]}", _source(self.s, "ledger_kinds", default))

    def _movement(self, value: tuple[Any, ...]) -> Reading | None:
        """A material document item's kind (the direction is its debit/credit code); None (unknown: sent as kind
        other) when movement_types has none. Reversal documents are left out whatever their type."""
        kind = self.s.movement_types.get(value[0])
        if kind is None:
            return None
        side = {codes.RECEIPT: "in", "H": "out"}.get(value[1], "a dead letter (debit/credit code neither S nor H)")
        default = codes.MOVEMENT_TYPE_SOURCES.get(value[0], UNCONFIRMED)
        return mapped(f"stock movement {kind}, {side}", _source(self.s, "movement_types", default))

    def _special(self, value: tuple[Any, ...]) -> Reading | None:
        if not value[0]:
            return mapped("the warehouse's own stock", SPECIAL_STOCK)
        reading = self.s4.special_stock_types.get(value[0])
        source = _source(self.s4, "special_stock_types", SPECIAL_STOCK)
        if reading == "excluded":
            return excluded("the setting s4.special_stock_types excludes it", source)
        return None if reading is None else mapped(f"special stock {reading}, apart from the own stock", source)

    def _stock_type(self, value: tuple[Any, ...]) -> Reading | None:
        reading = self.s4.stock_types.get(value[0])
        source = _source(self.s4, "stock_types")
        if reading == "excluded":
            return excluded("the setting s4.stock_types leaves it out of on_hand", source)
        return None if reading is None else mapped("counted in on_hand", source)

    def _condition_type(self, value: tuple[Any, ...]) -> Reading | None:
        s4 = self.s4
        if value[0] in s4.price_condition_types:
            return mapped("customer-specific price (fixed_price; list prices are price_lists)",
                          _source(s4, "price_condition_types"))  # fmt: skip
        if value[0] in s4.discount_condition_types:
            return mapped("discount", _source(s4, "discount_condition_types"))
        if value[0] in s4.excluded_condition_types:
            return excluded("neither a price nor a discount", _source(s4, "excluded_condition_types"))
        return None

    def _price_list(self, value: tuple[Any, ...]) -> Reading | None:
        condition_type, list_type = value
        if condition_type not in self.s4.price_condition_types:
            return None
        vat = "VAT included" if condition_type in self.s4.gross_price_condition_types else "VAT excluded"
        listed = f"price list {list_type}" if list_type else "the sales area's price list (no price list type)"
        name = self.s4.price_list_names.get(list_type)
        named = f" {name!r}" if name else " (unnamed: s4.price_list_names)"
        return mapped(f"{listed}{named}, {vat}", _source(self.s4, "gross_price_condition_types"))

    def _tax_type(self, value: tuple[Any, ...]) -> Reading | None:
        meaning = self.s4.tax_types.get(value[0])
        source = _source(self.s4, "tax_types")
        if meaning == "ignored":
            return excluded("the setting s4.tax_types ignores it", source)
        return None if meaning is None else mapped(meaning if meaning == "tax_office" else "tax number", source)

    def _product_type(self, value: tuple[Any, ...]) -> Reading:
        source = _source(self.s4, "service_product_types")
        if value[0] in self.s4.service_product_types:
            return excluded("service material: no product", source)
        return mapped("product", source)

    def _tax_class(self, value: tuple[Any, ...]) -> Reading | None:
        rate = self.s.vat_rates.get(value[0])
        return None if rate is None else mapped(f"VAT {rate}%", _source(self.s, "vat_rates"))


def census_reads(env: S4Env) -> dict[str, Read]:
    """The reads the census sends, by stream (the conformance test proves their names against SAP's metadata)."""
    billing = Shape(
        (f("BillingDocumentType"), f("SDDocumentCategory"), f("TotalNetAmount", "number")),
        (("to_Item", Shape((f("SalesDocumentItemCategory"), f("NetAmount", "number")),
                           (("to_PricingElement", _PRICING),))),),
    )  # fmt: skip
    orders = Shape(
        (f("SalesOrderType"), f("TotalNetAmount", "number")),
        (("to_Item", Shape((f("SalesOrderItemCategory"), f("NetAmount", "number")),
                           (("to_PricingElement", _PRICING),))),),
    )  # fmt: skip
    return {
        "invoices": env.read("billing_documents", ("BillingDocument",), billing,
                             Shape((f("SalesOrganization"), f("BillingDocumentDate", "datetime")))),
        "orders": env.read("sales_orders", ("SalesOrder",), orders,
                           Shape((f("SalesOrganization"), f("SalesOrderDate", "datetime")))),
        "collections": env.read(
            "receivables", FI_KEY,
            Shape((f("AccountingDocumentType"), f("PaymentMethod"), f("AmountInCompanyCodeCurrency", "number"))),
            Shape((f("CompanyCode"), f("FinancialAccountType"), f("PostingDate", "datetime"))),
        ),
        "account_ledger": env.read(
            "receivables", FI_KEY,
            Shape((f("AccountingDocumentType"), f("DebitCreditCode"), f("AmountInCompanyCodeCurrency", "number"))),
            Shape((f("CompanyCode"), f("FinancialAccountType"), f("PostingDate", "datetime"))),
        ),
        "stock_movements": env.read("material_documents", MATERIAL_DOCUMENT_KEY, Shape(
            (f("PostingDate", "datetime"),),
            (("to_MaterialDocumentItem", Shape((f("GoodsMovementType"), f("DebitCreditCode")))),))),
        "stock_levels": env.read("stock", STOCK_KEY, Shape((f("InventorySpecialStockType"), f("InventoryStockType"))),
                                 Shape((f("Plant"),))),
        "discounts": env.read("condition_records", ("ConditionRecord",), Shape((f("ConditionType"),))),
        "price_lists": env.read("condition_records", ("ConditionRecord",), Shape(
            (f("ConditionType"),),
            (("to_SlsPrcgCndnRecdValidity", Shape((f("Customer"), f("CustomerGroup"), f("PriceListType")))),))),
        "accounts": env.read("business_partners", ("BusinessPartner",), Shape(
            (), (("to_BusinessPartnerTax", Shape((f("BPTaxType"),))),))),
        "products": env.read("products", ("Product",), Shape(
            (f("ProductType"),), (("to_ProductSalesTax", Shape((f("Country"), f("TaxClassification")))),))),
    }  # fmt: skip


def _documents(rows: Iterable[dict[str, Any]], tally: _Tally, header: Callable[[dict[str, Any]], None],
               items: CodeColumn, category: str, pricing: CodeColumn) -> None:  # fmt: skip
    for row in rows:
        header(row)
        for item in (row.get("to_Item") or {}).get("results", []):
            tally.add(items, (str(item.get(category) or ""),), item.get("NetAmount"))
            for element in (item.get("to_PricingElement") or {}).get("results", []):
                flag = "statistical" if element.get("ConditionIsForStatistics") else (
                    "inactive" if element.get("ConditionInactiveReason") else "active")  # fmt: skip
                value = (str(element.get("ConditionType") or ""), str(element.get("ConditionClass") or ""), flag)
                tally.add(pricing, value, element.get("ConditionAmount"))


def census(env: S4Env, since: dt.date | None, disabled: Iterable[str] = ()) -> list[CodeCount]:
    """Every code value of the enabled streams' code columns, with its rows and money."""
    s = env.settings
    c = _Columns(env)
    reads = census_reads(env)
    tally = _Tally()
    skip = set(disabled)

    def dated(field: str, *scope: str | None) -> str | None:
        return all_of(*scope, f"{field} ge {day_literal(since)}" if since else None)

    def pages(stream: str, condition: str | None = None) -> Iterable[dict[str, Any]]:
        if stream in skip:
            return
        for rows in env.reader.pages(reads[stream], condition):
            yield from rows

    area = eq("SalesOrganization", s.sales_organization)
    _documents(pages("invoices", dated("BillingDocumentDate", area)), tally,
               lambda r: tally.add(c.billing, (str(r.get("BillingDocumentType") or ""),
                                               str(r.get("SDDocumentCategory") or "")), r.get("TotalNetAmount")),
               c.items["invoices"], "SalesDocumentItemCategory", c.pricing["invoices"])  # fmt: skip
    _documents(pages("orders", dated("SalesOrderDate", area)), tally,
               lambda r: tally.add(c.order_type, (str(r.get("SalesOrderType") or ""),), r.get("TotalNetAmount")),
               c.items["orders"], "SalesOrderItemCategory", c.pricing["orders"])  # fmt: skip
    customers = dated("PostingDate", eq("CompanyCode", s.company_code), "FinancialAccountType eq 'D'")
    for row in pages("collections", customers):
        value = (str(row.get("AccountingDocumentType") or ""), str(row.get("PaymentMethod") or ""))
        tally.add(c.payments, value, row.get("AmountInCompanyCodeCurrency"))
    for row in pages("account_ledger", customers):
        value = (str(row.get("AccountingDocumentType") or ""), str(row.get("DebitCreditCode") or ""))
        tally.add(c.ledger, value, row.get("AmountInCompanyCodeCurrency"))
    for row in pages("stock_movements", dated("PostingDate")):
        for item in (row.get("to_MaterialDocumentItem") or {}).get("results", []):
            tally.add(c.movement, (str(item.get("GoodsMovementType") or ""), str(item.get("DebitCreditCode") or "")))
    for row in pages("stock_levels", eq("Plant", env.s4.plant)):
        tally.add(c.special, (str(row.get("InventorySpecialStockType") or ""),))
        tally.add(c.stock_type, (str(row.get("InventoryStockType") or ""),))
    for row in pages("discounts"):
        tally.add(c.condition, (str(row.get("ConditionType") or ""),))
    for row in pages("price_lists", any_of("ConditionType", env.s4.price_condition_types)):
        validities = (row.get("to_SlsPrcgCndnRecdValidity") or {}).get("results", [])
        if not any(v.get("Customer") or v.get("CustomerGroup") for v in validities):
            lists = {str(v.get("PriceListType") or "") for v in validities} or {""}
            for list_type in sorted(lists):
                tally.add(c.price_list, (str(row.get("ConditionType") or ""), list_type))
    for row in pages("accounts"):
        for tax in (row.get("to_BusinessPartnerTax") or {}).get("results", []):
            tally.add(c.tax_type, (str(tax.get("BPTaxType") or ""),))
    for row in pages("products"):
        tally.add(c.product_type, (str(row.get("ProductType") or ""),))
        for tax in (row.get("to_ProductSalesTax") or {}).get("results", []):
            if tax.get("Country") == s.tax_country:
                tally.add(c.tax_class, (str(tax.get("TaxClassification") or ""),))
    return tally.counts()
