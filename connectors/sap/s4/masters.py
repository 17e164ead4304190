"""Master data: accounts (API_BUSINESS_PARTNER) and products (API_PRODUCT_SRV)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.sap import codes
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.streams import S4Stream, number
from connectors.sap.s4.values import (
    date_literal,
    day_literal,
    expanded,
    expanded_one,
    instant_of,
    string_literal,
    wall_time,
)
from mapping.errors import RecordError
from mapping.schema import Account, AccountKind, Product, UnitConversion
from mapping.taxid import TaxIdentity, tax_identity
from mapping.text import clean, code, email, flag, phone, required, required_code

__all__ = ["BUSINESS_PARTNER", "PRODUCT", "Accounts", "Products"]

_PHONE = Shape((f("PhoneNumber"), f("InternationalPhoneNumber")))
BUSINESS_PARTNER = Shape(
    (
        f("BusinessPartner"), f("Customer"), f("Supplier"), f("BusinessPartnerCategory"),
        f("BusinessPartnerFullName"), f("BusinessPartnerIsBlocked", "boolean"), f("IsMarkedForArchiving", "boolean"),
        f("CreationDate", "datetime"), f("CreationTime", "time"), f("LastChangeDate", "datetime"),
        f("LastChangeTime", "time"),
    ),
    (
        (
            "to_BusinessPartnerAddress",
            Shape(
                (f("StreetName"), f("HouseNumber"), f("District"), f("CityName"), f("Country")),
                (("to_PhoneNumber", _PHONE), ("to_MobilePhoneNumber", _PHONE),
                 ("to_EmailAddress", Shape((f("EmailAddress"),)))),
            ),
        ),
        ("to_BusinessPartnerTax", Shape((f("BPTaxType"), f("BPTaxNumber"), f("BPTaxLongNumber")))),
        (
            "to_Customer",
            Shape(
                (f("Customer"), f("OrderIsBlockedForCustomer"), f("PostingIsBlocked", "boolean"),
                 f("DeletionIndicator", "boolean")),
                (
                    (
                        "to_CustomerSalesArea",
                        Shape(
                            (f("SalesOrganization"), f("DistributionChannel"), f("Division"), f("Currency"),
                             f("CustomerPaymentTerms"), f("CustomerGroup"), f("SalesDistrict")),
                            (
                                (
                                    "to_PartnerFunction",
                                    Shape((f("PartnerFunction"), f("BPCustomerNumber"),
                                           f("PersonnelNumber", optional="accounts.sales_rep_code"))),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
        (
            "to_Supplier",
            Shape(
                (f("Supplier"), f("PostingIsBlocked", "boolean"), f("DeletionIndicator", "boolean")),
                (("to_SupplierPurchasingOrg",
                  Shape((f("PurchasingOrganization"), f("PurchaseOrderCurrency"), f("PaymentTerms")))),),
            ),
        ),
    ),
)  # fmt: skip
PRODUCT = Shape(
    (
        f("Product"), f("ProductGroup"), f("ExternalProductGroup"), f("BaseUnit"), f("Brand"),
        f("IsMarkedForDeletion", "boolean"), f("ProductStandardID"), f("LastChangeDateTime", "datetime"),
    ),
    (
        ("to_Description", Shape((f("Language"), f("ProductDescription")))),
        (
            "to_ProductUnitsOfMeasure",
            Shape(
                (f("AlternativeUnit"), f("QuantityNumerator", "number"), f("QuantityDenominator", "number"),
                 f("GlobalTradeItemNumber")),
                (("to_InternationalArticleNumber",
                  Shape((f("ProductStandardID"), f("IsMainGlobalTradeItemNumber", "boolean")))),),
            ),
        ),
        ("to_ProductSalesTax", Shape((f("Country"), f("TaxClassification")))),
    ),
)  # fmt: skip


def _first(rows: list[dict[str, Any]], **match: str | None) -> dict[str, Any] | None:
    """The first row whose fields equal every non-None value in `match`."""
    for row in rows:
        if all(value is None or row.get(name) == value for name, value in match.items()):
            return row
    return None


class Accounts(S4Stream):
    """Business partners in the customer or supplier role, with their sales-area and purchasing data.

    A_BusinessPartner keeps its change stamp as LastChangeDate + LastChangeTime (system time), so
    the read filters by day and the engine drops the re-read unchanged partners by content hash.
    """

    name = "accounts"
    primary_key = ("code",)
    replication_key = "LastChangeDate"

    def declare(self) -> Read:
        return self.env.read("business_partners", ("BusinessPartner",), BUSINESS_PARTNER)

    def where(self) -> str:
        return "(Customer ne '' or Supplier ne '')"

    def changed_since(self, since: dt.datetime) -> str:
        day = day_literal(since.astimezone(self.tz).date())
        return f"(LastChangeDate ge {day} or CreationDate ge {day})"

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            if item.get("LastChangeDate"):
                return wall_time(item["LastChangeDate"], item.get("LastChangeTime"), self.tz, "LastChangeDate")
            return wall_time(item.get("CreationDate"), item.get("CreationTime"), self.tz, "CreationDate")
        except RecordError:
            return None

    def map(self, item: Any) -> Account:
        s = self.env.settings
        customer = expanded_one(item, "to_Customer")
        supplier = expanded_one(item, "to_Supplier")
        if customer is None and supplier is None:
            raise RecordError("business partner has neither the customer nor the supplier role", "kind")
        kind: AccountKind = "both" if customer and supplier else "customer" if customer else "supplier"
        number_ = (customer or {}).get("Customer") or (supplier or {}).get("Supplier") or item.get("BusinessPartner")
        area = _first(
            expanded(customer, "to_CustomerSalesArea") if customer else [],
            SalesOrganization=s.sales_organization,
            DistributionChannel=s.distribution_channel,
            Division=s.division,
        )
        purchasing = _first(
            expanded(supplier, "to_SupplierPurchasingOrg") if supplier else [],
            PurchasingOrganization=s.s4.purchasing_organization,
        )
        functions = expanded(area, "to_PartnerFunction") if area else []
        rep = _first(functions, PartnerFunction=s.sales_rep_partner_function)
        parent = _first(functions, PartnerFunction=s.parent_partner_function)
        addresses = expanded(item, "to_BusinessPartnerAddress")
        address = addresses[0] if addresses else None
        country = code(address.get("Country"), "country") if address else None
        individual = item.get("BusinessPartnerCategory") == "1"
        tax, office = self._tax(expanded(item, "to_BusinessPartnerTax"), country, individual)
        flags = [item.get("BusinessPartnerIsBlocked"), (customer or {}).get("OrderIsBlockedForCustomer"),
                 (customer or {}).get("PostingIsBlocked"), (supplier or {}).get("PostingIsBlocked")]  # fmt: skip
        deleted = [item.get("IsMarkedForArchiving"), (customer or {}).get("DeletionIndicator"),
                   (supplier or {}).get("DeletionIndicator")]  # fmt: skip
        currency = (area or {}).get("Currency") or (purchasing or {}).get("PurchaseOrderCurrency")
        terms = (area or {}).get("CustomerPaymentTerms") or (purchasing or {}).get("PaymentTerms")
        return Account(
            code=required_code(self.code(number_), "code"),
            title=required(item.get("BusinessPartnerFullName"), "title", 2000),
            tax_id=tax.value,
            tax_id_kind=tax.kind,
            tax_id_valid=tax.valid,
            tax_office=office,
            kind=kind,
            is_individual=individual,
            currency=codes.sap_currency(currency or None, "currency"),
            group_code=code((area or {}).get("CustomerGroup"), "group_code"),
            region_code=code((area or {}).get("SalesDistrict"), "region_code"),
            sales_rep_code=code(codes.alpha_out((rep or {}).get("PersonnelNumber")), "sales_rep_code"),
            parent_code=code(codes.alpha_out((parent or {}).get("BPCustomerNumber")), "parent_code"),
            phone=self._phone(address) if address else None,
            email=self._email(address) if address else None,
            address=self._address(address) if address else None,
            city=clean(address.get("CityName"), field="city") if address else None,
            country=country,
            created_at=wall_time(item.get("CreationDate"), item.get("CreationTime"), self.tz, "created_at"),
            active=not any(deleted),
            blocked=any(bool(flag) for flag in flags),
            payment_terms=code(terms, "payment_terms"),
        )

    def _tax(self, rows: list[dict[str, Any]], country: str | None, individual: bool) -> tuple[TaxIdentity, str | None]:
        """The tax number (checked: a bad one is sent flagged, never dropped) and the tax office."""
        number_ = TaxIdentity(None, None, None)
        office: str | None = None
        for row in rows:
            meaning = self.env.s4.tax_types.get(row.get("BPTaxType") or "")
            value = row.get("BPTaxLongNumber") or row.get("BPTaxNumber")
            if meaning == "tax_office":
                office = clean(value, field="tax_office")
            elif meaning not in (None, "ignored") and number_.value is None:
                number_ = tax_identity(value, country or None, individual)
        return number_, office

    @staticmethod
    def _phone(address: dict[str, Any]) -> str | None:
        for row in (*expanded(address, "to_MobilePhoneNumber"), *expanded(address, "to_PhoneNumber")):
            found = phone(row.get("InternationalPhoneNumber") or row.get("PhoneNumber"))
            if found:
                return found
        return None

    @staticmethod
    def _email(address: dict[str, Any]) -> str | None:
        for row in expanded(address, "to_EmailAddress"):
            found = email(row.get("EmailAddress"))
            if found:
                return found
        return None

    @staticmethod
    def _address(address: dict[str, Any]) -> str | None:
        """Street and house number, then "district/city" as Turkish addresses end."""
        parts = (clean(address.get("StreetName"), field="address"), clean(address.get("HouseNumber"), field="address"))
        street = " ".join(p for p in parts if p)
        district, city = clean(address.get("District"), field="address"), clean(address.get("CityName"), field="city")
        tail = f"{district}/{city}" if district and city else None
        return clean(" ".join(p for p in (street, tail) if p))


class Products(S4Stream):
    """A_Product with descriptions, units of measure (+ EANs) and sales tax classification; services excluded."""

    name = "products"
    primary_key = ("code",)
    replication_key = "LastChangeDateTime"

    def declare(self) -> Read:
        filters = Shape((f("ProductType"), f("LastChangeDateTime", "datetime")))
        return self.env.read("products", ("Product",), PRODUCT, filters)

    def where(self) -> str | None:
        types = self.env.s4.service_product_types
        return " and ".join(f"ProductType ne {string_literal(t)}" for t in types) or None

    def changed_since(self, since: dt.datetime) -> str:
        return f"LastChangeDateTime ge {date_literal(since)}"

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            moment = instant_of(item.get("LastChangeDateTime"), "LastChangeDateTime")
        except RecordError:
            return None
        return moment.astimezone(self.tz) if moment else None

    def map(self, item: Any) -> Product:
        s = self.env.settings
        base = code(item.get("BaseUnit"), "base_unit")
        descriptions = expanded(item, "to_Description")
        text = _first(descriptions, Language=s.s4.language) or (descriptions[0] if descriptions else {})
        uoms = list(expanded(item, "to_ProductUnitsOfMeasure"))
        uoms.sort(key=lambda u: u.get("AlternativeUnit") != base)  # the base unit first, then SAP's order
        units = [self._unit(u) for u in uoms]
        base_uom = _first(uoms, AlternativeUnit=base)
        articles = list(expanded(base_uom, "to_InternationalArticleNumber")) if base_uom else []
        articles.sort(key=lambda a: not a.get("IsMainGlobalTradeItemNumber"))
        barcodes = [str(a["ProductStandardID"]) for a in articles if a.get("ProductStandardID")]
        if not barcodes and item.get("ProductStandardID"):
            barcodes = [str(item["ProductStandardID"])]
        return Product(
            code=required_code(self.code(item.get("Product")), "code"),
            name=required(text.get("ProductDescription"), "name", 2000),
            barcodes=barcodes,
            base_unit=base,
            base_unit_code=codes.sap_unit_code(base),
            units=units,
            category_code=code(item.get("ExternalProductGroup"), "category_code"),
            group_code=code(item.get("ProductGroup"), "group_code"),
            brand=code(item.get("Brand"), "brand"),
            vat_rate=self._vat(expanded(item, "to_ProductSalesTax")),
            active=not flag(item.get("IsMarkedForDeletion"), "active", (True,), (False,)),
        )

    @staticmethod
    def _unit(row: dict[str, Any]) -> UnitConversion:
        unit = required_code(row.get("AlternativeUnit"), "units.unit")
        numerator = number(row.get("QuantityNumerator"), 6, "units.factor")
        denominator = number(row.get("QuantityDenominator"), 6, "units.factor")
        if not denominator:
            raise RecordError("zero denominator", "units.factor")
        return UnitConversion(
            unit=unit,
            factor=(numerator / denominator).quantize(Decimal("0.001")),
            unit_code=codes.sap_unit_code(unit),
            barcode=code(row.get("GlobalTradeItemNumber"), "units.barcode"),
        )

    def _vat(self, rows: Sequence[dict[str, Any]]) -> Decimal | None:
        s = self.env.settings
        row = _first(list(rows), Country=s.tax_country)
        if row is None:
            return None
        classification = str(row.get("TaxClassification") or "")
        rate = s.vat_rates.get(classification)
        if rate is None:
            raise RecordError(f"tax classification {classification!r} has no rate (setting vat_rates)", "vat_rate")
        return rate.quantize(Decimal("0.01"))
