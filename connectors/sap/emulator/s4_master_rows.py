"""Master data as S/4's APIs show it: business partners, products, stock, sales pricing conditions, credit.

Each method renders one fact of the scenario to the row of its entity set; navigation properties are
callables (expanded on request). Properties a row leaves out go out with their initial values (s4_render.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.sap import codes
from connectors.sap.emulator.s4_filter import Row
from connectors.sap.emulator.s4_system import (
    CREDIT_SEGMENT,
    DISTRIBUTION_CHANNEL,
    DIVISION,
    PLANT,
    PRICE_CONDITION_TYPE,
    PRICE_LIST_TYPES,
    PURCHASING_ORG,
    SALES_ORG,
    TAX_CLASSES,
    edm_date,
    sap_price,
    sap_unit,
    utc_instant,
)
from mapping.schema import Account, Discount, PriceListEntry, Product, StockLevel
from scenario.facts import Stamped

__all__ = ["MasterRows", "PriceFact"]


@dataclass(frozen=True)
class PriceFact:
    """One price list entry as one condition record: its number (SAP numbers records, KNUMH) and change time."""

    entry: PriceListEntry
    record: str
    created: dt.datetime
    changed: dt.datetime


class MasterRows:
    """Renders master facts for a system in time zone `tz` keeping its books in `local` currency."""

    def __init__(self, tz: dt.tzinfo, local: str, as_of: dt.datetime) -> None:
        self.tz = tz
        self.local = local
        # Service cards carry no dates in the scenario: they date from long before it.
        self.services_created = as_of - dt.timedelta(days=1000)

    # -- business partners ---------------------------------------------------------------------------------------
    def partner(self, st: Any) -> Row:
        a: Account = st.record
        key = codes.alpha_in(a.code, codes.KUNNR_LENGTH)
        created = st.created_at.astimezone(self.tz)
        changed = st.modified_at.astimezone(self.tz) if st.modified_at else None
        customer = a.kind != "supplier"
        supplier = a.kind != "customer"
        return {
            "BusinessPartner": key,
            "Customer": key if customer else "",
            "Supplier": key if supplier else "",
            "BusinessPartnerCategory": "1" if a.is_individual else "2",
            "BusinessPartnerFullName": a.title,
            "BusinessPartnerGrouping": "BP02",
            "BusinessPartnerIsBlocked": False,
            "IsMarkedForArchiving": False,
            "CreationDate": edm_date(created.date()),
            "CreationTime": created.time().replace(microsecond=0),
            "LastChangeDate": edm_date(changed.date()) if changed else None,
            "LastChangeTime": changed.time().replace(microsecond=0) if changed else None,
            "to_BusinessPartnerAddress": lambda: [self._address(a, key)],
            "to_BusinessPartnerTax": lambda: self._taxes(a, key),
            "to_Customer": lambda: self._customer(a, key) if customer else None,
            "to_Supplier": lambda: self._supplier(a, key) if supplier else None,
        }

    def _address(self, a: Account, key: str) -> Row:
        street, district, city = a.address or "", "", a.city or ""
        head, _, tail = street.rpartition(" ")
        if "/" in tail:
            street, (district, _, city) = head, tail.partition("/")
        digits = "".join(ch for ch in a.phone or "" if ch.isdigit() or ch == "+")
        phones = (
            [{"AddressID": "1", "PhoneNumber": digits[3:], "InternationalPhoneNumber": digits,
              "DestinationLocationCountry": a.country or "", "IsDefaultPhoneNumber": True}]
            if digits else []
        )  # fmt: skip
        mails = [{"AddressID": "1", "EmailAddress": a.email, "IsDefaultEmailAddress": True}] if a.email else []
        return {
            "BusinessPartner": key,
            "AddressID": "1",
            "StreetName": street,
            "HouseNumber": "",
            "District": district,
            "CityName": city,
            "Country": a.country or "",
            "to_PhoneNumber": lambda: [],
            "to_MobilePhoneNumber": lambda: phones,
            "to_EmailAddress": lambda: mails,
        }

    @staticmethod
    def _taxes(a: Account, key: str) -> list[Row]:
        out: list[Row] = []
        if a.tax_office:
            out.append({"BusinessPartner": key, "BPTaxType": "TR1", "BPTaxNumber": a.tax_office, "BPTaxLongNumber": ""})
        if a.tax_id:
            kind = "TR3" if a.tax_id_kind == "TCKN" else "TR2"
            out.append({"BusinessPartner": key, "BPTaxType": kind, "BPTaxNumber": a.tax_id, "BPTaxLongNumber": ""})
        return out

    @staticmethod
    def _customer(a: Account, key: str) -> Row:
        org = {"Customer": key, "SalesOrganization": SALES_ORG, "DistributionChannel": DISTRIBUTION_CHANNEL,
               "Division": DIVISION, "PartnerCounter": "0"}  # fmt: skip
        functions: list[Row] = []
        if a.sales_rep_code:
            functions.append({**org, "PartnerFunction": "VE", "PersonnelNumber": a.sales_rep_code})
        if a.parent_code:
            parent = codes.alpha_in(a.parent_code, codes.KUNNR_LENGTH)
            functions.append({**org, "PartnerFunction": "1A", "BPCustomerNumber": parent})
        area = {
            "Customer": key,
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "Division": DIVISION,
            "Currency": a.currency or "",
            "CustomerPaymentTerms": a.payment_terms or "",
            "CustomerGroup": a.group_code or "",
            "SalesDistrict": a.region_code or "",
            "DeletionIndicator": False,
            "to_PartnerFunction": lambda: functions,
        }
        # A second sales area the source must not mix in (another sales organisation's terms).
        other = {**area, "SalesOrganization": "9000", "Currency": "EUR", "CustomerPaymentTerms": "0001",
                 "CustomerGroup": "99", "to_PartnerFunction": lambda: []}  # fmt: skip
        return {
            "Customer": key,
            "CustomerAccountGroup": "KUNA",
            "DeletionIndicator": not a.active,
            "OrderIsBlockedForCustomer": "01" if a.blocked else "",
            "PostingIsBlocked": False,
            "to_CustomerSalesArea": lambda: [area, other],
        }

    @staticmethod
    def _supplier(a: Account, key: str) -> Row:
        org = {
            "Supplier": key,
            "PurchasingOrganization": PURCHASING_ORG,
            "PurchaseOrderCurrency": a.currency or "",
            "PaymentTerms": a.payment_terms or "",
        }
        return {
            "Supplier": key,
            "PostingIsBlocked": a.blocked and a.kind == "supplier",
            "PurchasingIsBlocked": False,
            "DeletionIndicator": not a.active,
            "to_SupplierPurchasingOrg": lambda: [org],
        }

    # -- products and stock --------------------------------------------------------------------------------------
    def product(self, fact: Any) -> Row:
        if isinstance(fact, Stamped):
            p: Product = fact.record
            created, changed = fact.created_at, fact.modified_at or fact.created_at
            code, name, base, vat, kind = p.code, p.name, p.base_unit, p.vat_rate, "HAWA"
            units, barcodes, active = p.units, p.barcodes, p.active
            group, category, brand = p.group_code or "", p.category_code or "", p.brand or ""
        else:  # a service card: a DIEN (service) material in S/4
            created = changed = self.services_created
            code, name, base, vat, kind = fact.code, fact.name, fact.unit, fact.vat_rate, "DIEN"
            units, barcodes, active, group, category, brand = [], [], True, "HIZMET", "HIZMET", ""
        key = codes.alpha_in(code, codes.MATNR_LENGTH)
        uoms = [self._uom(key, u.unit, u.factor, [u.barcode] if u.barcode else []) for u in units]
        if uoms:
            uoms[0] = self._uom(key, units[0].unit, units[0].factor, barcodes)
        tax_class = TAX_CLASSES.get(vat, "1") if vat is not None else "1"
        return {
            "Product": key,
            "ProductType": kind,
            "ProductGroup": group,
            "ExternalProductGroup": category,
            "BaseUnit": sap_unit(base),
            "Brand": brand,
            "IsMarkedForDeletion": not active,
            "ProductStandardID": barcodes[0] if barcodes else "",
            "CreationDate": edm_date(created.astimezone(self.tz).date()),
            "LastChangeDateTime": utc_instant(changed),
            "to_Description": lambda: [
                {"Product": key, "Language": "TR", "ProductDescription": name},
                {"Product": key, "Language": "EN", "ProductDescription": f"{name} (EN)"},
            ],
            "to_ProductUnitsOfMeasure": lambda: uoms,
            "to_ProductSalesTax": lambda: [
                {"Product": key, "Country": "TR", "TaxCategory": "MWST", "TaxClassification": tax_class},
                {"Product": key, "Country": "DE", "TaxCategory": "MWST", "TaxClassification": "0"},
            ],
        }

    @staticmethod
    def _uom(key: str, unit: str, factor: Decimal, eans: list[str]) -> Row:
        numerator, denominator = factor.as_integer_ratio()
        unit = sap_unit(unit)
        articles = [
            {"Product": key, "AlternativeUnit": unit, "ConsecutiveNumber": f"{i:05d}", "ProductStandardID": ean,
             "IsMainGlobalTradeItemNumber": i == 1}
            for i, ean in enumerate(eans, start=1)
        ]  # fmt: skip
        return {
            "Product": key,
            "AlternativeUnit": unit,
            "QuantityNumerator": Decimal(numerator),
            "QuantityDenominator": Decimal(denominator),
            "GlobalTradeItemNumber": eans[0] if eans else "",
            "to_InternationalArticleNumber": lambda: articles,
        }

    @staticmethod
    def stock(fact: tuple[StockLevel, str, Decimal, Mapping[str, str]]) -> Row:
        level, stock_type, quantity, special = fact
        return {
            "Material": codes.alpha_in(level.product_code, codes.MATNR_LENGTH),
            "Plant": PLANT,
            "StorageLocation": special.get("StorageLocation", level.warehouse_code),
            "Batch": "",
            "Supplier": special.get("Supplier", ""),
            "Customer": special.get("Customer", ""),
            "WBSElementInternalID": special.get("WBSElementInternalID", "00000000"),
            "SDDocument": special.get("SDDocument", ""),
            "SDDocumentItem": special.get("SDDocumentItem", "0"),
            "InventorySpecialStockType": special.get("InventorySpecialStockType", ""),
            "InventoryStockType": stock_type,
            "WBSElementExternalID": special.get("WBSElementExternalID", ""),
            "MaterialBaseUnit": "ST",
            "MatlWrhsStkQtyInMatlBaseUnit": quantity,
        }

    # -- conditions and credit -----------------------------------------------------------------------------------
    def condition(self, st: Any) -> Row:
        if isinstance(st, PriceFact):
            return self.price(st)
        d: Discount = st.record
        condition_type = {
            "percent": "K007", "amount": "RB00", "fixed_price": "PPR0"
        }[d.kind]  # fmt: skip
        rate, per = (d.value, Decimal(1)) if d.kind != "fixed_price" else sap_price(d.value)
        if d.kind != "fixed_price":
            rate = -rate  # discounts are negative condition rates
        validity = {
            "ConditionRecord": d.code,
            "ConditionValidityStartDate": edm_date(d.valid_from or st.created_at.date()),
            "ConditionValidityEndDate": edm_date(d.valid_to or dt.date(9999, 12, 31)),
            "ConditionType": condition_type,
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "Customer": codes.alpha_in(d.account_code, codes.KUNNR_LENGTH) if d.account_code else "",
            "CustomerGroup": d.account_group_code or "",
            "Material": codes.alpha_in(d.product_code, codes.MATNR_LENGTH) if d.product_code else "",
            "MaterialGroup": d.product_group_code or "",
        }
        scale = (
            [{"ConditionRecord": d.code, "ConditionSequentialNumber": "01", "ConditionScaleLine": "0001",
              "ConditionScaleQuantity": d.min_quantity, "ConditionRateValue": rate}]
            if d.min_quantity is not None else []
        )  # fmt: skip
        return {
            "ConditionRecord": d.code,
            "ConditionSequentialNumber": "01",
            "ConditionType": condition_type,
            "ConditionRateValue": rate,
            "ConditionRateValueUnit": "%" if d.kind == "percent" else d.currency or self.local,
            "ConditionQuantity": per,
            "ConditionIsDeleted": not d.active,
            "CreationDate": edm_date(st.created_at.astimezone(self.tz).date()),
            "LastChangeDateTime": utc_instant(st.modified_at or st.created_at),
            "to_SlsPrcgCndnRecdValidity": lambda: [validity],
            "to_SlsPrcgCndnRecordScale": lambda: scale,
        }

    def price(self, fact: PriceFact) -> Row:
        """A price list entry as a PPR0 record of a table keyed by sales area, price list type and material (and,
        for a price per sales unit other than the base unit, that unit: one table key holds one record at a time,
        so a per-case price beside the per-piece one needs the unit in the key); a minimum quantity is its scale."""
        e = fact.entry
        rate, per = sap_price(e.price)
        unit = sap_unit(e.unit)
        validity = {
            "ConditionRecord": fact.record,
            "ConditionValidityStartDate": edm_date(e.valid_from or fact.created.date()),
            "ConditionValidityEndDate": edm_date(e.valid_to or dt.date(9999, 12, 31)),
            "ConditionType": PRICE_CONDITION_TYPE,
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "PriceListType": PRICE_LIST_TYPES[e.list_code],
            "TransactionCurrency": e.currency,
            "Material": codes.alpha_in(e.product_code, codes.MATNR_LENGTH),
            "OrderQuantityUnit": unit if e.min_quantity is not None else "",
        }
        scale = (
            [{"ConditionRecord": fact.record, "ConditionSequentialNumber": "01", "ConditionScaleLine": "0001",
              "ConditionScaleQuantity": e.min_quantity, "ConditionScaleQuantityUnit": unit, "ConditionRateValue": rate}]
            if e.min_quantity is not None else []
        )  # fmt: skip
        return {
            "ConditionRecord": fact.record,
            "ConditionSequentialNumber": "01",
            "ConditionApplication": "V",
            "ConditionType": PRICE_CONDITION_TYPE,
            "ConditionRateValue": rate,
            "ConditionRateValueUnit": e.currency,
            "ConditionQuantity": per,
            "ConditionQuantityUnit": unit,
            "ConditionIsDeleted": not e.active,
            "CreationDate": edm_date(fact.created.astimezone(self.tz).date()),
            "LastChangeDateTime": utc_instant(fact.changed),
            "to_SlsPrcgCndnRecdValidity": lambda: [validity],
            "to_SlsPrcgCndnRecordScale": lambda: scale,
        }

    @staticmethod
    def credit(limit: Any) -> Row:
        return {
            "BusinessPartner": codes.alpha_in(limit.account_code, codes.KUNNR_LENGTH),
            "CreditSegment": CREDIT_SEGMENT,
            "CreditLimitAmount": limit.limit,
            "CreditLimitIsZero": not limit.limit,
            "CreditSegmentCurrency": limit.currency,
            "CreditAccountIsBlocked": limit.blocked,
        }

    @staticmethod
    def rate(fact: tuple[str, str, dt.date, Decimal]) -> Row:
        """A row of the rate table (TCURR as I_ExchangeRateRawData names it): direct quotation, factors 1."""
        source, target, valid_from, rate = fact
        return {
            "ExchangeRateType": "M",
            "SourceCurrency": source,
            "TargetCurrency": target,
            "ValidityStartDate": edm_date(valid_from),
            "ExchangeRate": rate,
            "NumberOfSourceCurrencyUnits": Decimal(1),
            "NumberOfTargetCurrencyUnits": Decimal(1),
        }
