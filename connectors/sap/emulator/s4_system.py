"""What the emulated S/4 system is set up with, and the SAP forms scenario values take in its rows.

The organisational units are the ones `dealersync demo --erp sap` names in its settings (DEMO_SETTINGS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.sap import codes

COMPANY_CODE = "1000"
SALES_ORG = "1000"
DISTRIBUTION_CHANNEL = "10"
DIVISION = "00"
PURCHASING_ORG = "1000"
PLANT = "1000"
CREDIT_SEGMENT = "0000"
DEMO_SETTINGS: Mapping[str, Any] = {
    "company_code": COMPANY_CODE,
    "sales_organization": SALES_ORG,
    "distribution_channel": DISTRIBUTION_CHANNEL,
    "division": DIVISION,
}
# SAP internal units of measure for the scenario's unit names (SAP keys units by 2-3 letter codes).
SAP_UNITS: Mapping[str, str] = {"ADET": "ST", "METRE": "M", "KG": "KG", "KOLİ": "KAR"}
# The ISO codes SAP keeps beside its units (T006-ISOCODE), which sales order items carry: a captured S/4 answer shows
# a piece unit as "PCE" and KG as "KGM"; M and KAR take their UN/ECE codes.
SAP_ISO_UNITS: Mapping[str, str] = {"ST": "PCE", "KG": "KGM", "M": "MTR", "KAR": "CT"}
# Price list types (PLTYP, CHAR 2, texts in T189T) the scenario's lists are kept under: SAP cannot hold "SATIS".
PRICE_LIST_TYPES: Mapping[str, str] = {"SATIS": "01", "IHRACAT": "02"}
PRICE_CONDITION_TYPE = "PPR0"  # S/4's price condition type (PR00 in ECC)
RATE_PLACES = Decimal("0.00001")  # exchange rates are DEC 9,5 in SAP
CENT = Decimal("0.01")
TAX_CLASSES: Mapping[Decimal, str] = {rate: cls for cls, rate in codes.DEFAULT_VAT_RATES.items()}


def edm_date(value: dt.date) -> dt.datetime:
    """An Edm.DateTime date: midnight, naive (V2 carries dates as UTC midnight)."""
    return dt.datetime(value.year, value.month, value.day)


def utc_instant(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def sap_unit(name: str | None) -> str:
    return SAP_UNITS.get(name or "", name or "")


def item_number(line_no: int) -> str:
    return f"{line_no * 10:06d}"


def sap_price(unit_price: Decimal) -> tuple[Decimal, Decimal]:
    """(rate, per quantity): SAP keeps 2 decimals in a price, so finer prices are quoted per 100."""
    if unit_price == unit_price.quantize(Decimal("0.01")):
        return unit_price.quantize(Decimal("0.01")), Decimal(1)
    return (unit_price * 100).quantize(Decimal("0.01")), Decimal(100)


def rate5(rate: Decimal) -> Decimal:
    """A rate as SAP keeps it: five decimals."""
    return rate.quantize(RATE_PLACES, ROUND_HALF_UP)


def local_at(amount: Decimal, rate: Decimal) -> Decimal:
    """A document amount in local currency at a five-decimal rate, as FI posts it."""
    return (amount * rate5(rate)).quantize(CENT, ROUND_HALF_UP)
