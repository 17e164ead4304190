"""The $metadata the S/4 emulator serves and renders by: SAP's published EDMX of each API (connectors/sap/vendor/s4/,
see its README), and the customer-built exchange-rate service the tests configure (s4_exchange_rates.edmx).

A test may serve another document for a service (an older release's, an OData V4 one): the emulator then answers
$metadata with it and, where it is V2 EDMX, emits and accepts only the names it has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.edmx import EdmxError, EntityType, Metadata, Property, parse

__all__ = ["RATES_SERVICE", "VENDOR", "Service", "initial", "load", "vendor_file"]

VENDOR = Path(__file__).resolve().parent.parent / "vendor" / "s4"
RATES_SERVICE = "YY1_EXCHANGERATE_CDS"
_FILES = {
    "API_BUSINESS_PARTNER": VENDOR / "API_BUSINESS_PARTNER.edmx",
    "API_PRODUCT_SRV": VENDOR / "API_PRODUCT_SRV.edmx",
    "API_MATERIAL_STOCK_SRV": VENDOR / "API_MATERIAL_STOCK_SRV.edmx",
    "API_SLSPRICINGCONDITIONRECORD_SRV": VENDOR / "API_SLSPRICINGCONDITIONRECORD_SRV.edmx",
    "API_CRDTMBUSINESSPARTNER": VENDOR / "API_CRDTMBUSINESSPARTNER.reconstructed.edmx",
    "API_SALES_ORDER_SRV": VENDOR / "API_SALES_ORDER_SRV.edmx",
    "API_BILLING_DOCUMENT_SRV": VENDOR / "API_BILLING_DOCUMENT_SRV.edmx",
    "API_OPLACCTGDOCITEMCUBE_SRV": VENDOR / "API_OPLACCTGDOCITEMCUBE_SRV.edmx",
    "API_MATERIAL_DOCUMENT_SRV": VENDOR / "API_MATERIAL_DOCUMENT_SRV.edmx",
    RATES_SERVICE: Path(__file__).resolve().parent / "s4_exchange_rates.edmx",
}
_DEFAULTS: dict[str, Any] = {
    "Edm.String": "",
    "Edm.Boolean": False,
    "Edm.Decimal": Decimal(0),
    "Edm.Double": Decimal(0),
    "Edm.Int16": 0,
    "Edm.Int32": 0,
    "Edm.Int64": 0,
    "Edm.Byte": 0,
    "Edm.Time": dt.time(0),
    "Edm.Guid": "00000000-0000-0000-0000-000000000000",
}


def vendor_file(service: str) -> Path:
    return _FILES[service]


def initial(prop: Property) -> Any:
    """The value SAP sends for a property nothing was written to: its type's initial value (dates: null)."""
    return _DEFAULTS.get(prop.type)


@dataclass
class Service:
    """One service: the document answered at $metadata, and the (V2) metadata rows are rendered by."""

    name: str
    document: bytes
    metadata: Metadata

    def entity_type(self, entity_set: str) -> EntityType:
        found = self.metadata.entity(entity_set)
        if found is None:
            raise KeyError(f"{self.name} has no entity set {entity_set}")
        return found


def load(served: Mapping[str, bytes] | None = None) -> dict[str, Service]:
    """Every service, with `served` documents in place of SAP's where a test gives one."""
    out: dict[str, Service] = {}
    for name, path in _FILES.items():
        standard = path.read_bytes()
        document = (served or {}).get(name, standard)
        try:
            metadata = parse(document)
        except EdmxError:  # a V4 or non-EDMX answer is served as it is; rows still follow SAP's V2 types
            metadata = parse(standard)
        out[name] = Service(name, document, metadata)
    return out
