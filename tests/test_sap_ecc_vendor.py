"""Conformance with SAP's published metadata (connectors/sap/vendor/ecc): the adapter reads, and the emulator
serves, only table fields the public DDIC lists have (or that vendor/ecc/unverified.tsv names with a reason),
with the DDIC types those lists give; the emulator's WSDL is shaped like a SOAMANAGER-generated one."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from connectors.base import SourceContext
from connectors.catalog import Catalogue, verify
from connectors.sap import SapSettings
from connectors.sap.ecc import EccSource
from connectors.sap.ecc import census as code_census
from connectors.sap.ecc.ddic import DD03L, DDIC_KINDS, WORDS
from connectors.sap.ecc.declare import Read, needs
from connectors.sap.ecc.options import DEFAULT_CONDITION_TABLES, DEFAULT_PRICE_LIST_TABLES
from connectors.sap.emulator.ecc import CONDITION_TABLES
from connectors.sap.emulator.ecc_ddic import TABLES, WIDENED
from connectors.sap.emulator.ecc_prices import PRICE_LIST_TABLES
from connectors.sap.emulator.ecc_soap import FUNCTIONS, Publication, wsdl
from connectors.sap.emulator.ecc_vendor import ddic, unverified
from connectors.sap.emulator.ecc_vendor import wsdl as vendor_wsdl

_ABAP = {"CHAR": "C", "CUKY": "C", "UNIT": "C", "CLNT": "C", "LANG": "C", "NUMC": "N", "DATS": "D", "TIMS": "T"}
_ABAP.update(dict.fromkeys(("CURR", "QUAN", "DEC"), "P"))
W = "{http://schemas.xmlsoap.org/wsdl/}"
X = "{http://www.w3.org/2001/XMLSchema}"
SOAP = {"1.1": "http://schemas.xmlsoap.org/wsdl/soap/", "1.2": "http://schemas.xmlsoap.org/wsdl/soap12/"}


def adapter_reads(
    condition_tables: dict[str, list[str]], price_list_tables: dict[str, list[str]] = DEFAULT_PRICE_LIST_TABLES
) -> list[Read]:
    settings = SapSettings(
        flavour="ecc_soap",
        url="https://ecc.example.com/sap/bc/srt/rfc/sap/zdealersync_read/100/zdealersync_read_srv/b",
        auth={"username": "DEALERSYNC", "password": "x"},
        sap_client="100",
        sales_organization="1000",
        ecc={
            "condition_tables": condition_tables,
            "price_list_tables": price_list_tables,
            "brand_field": "EXTWG",
            "excluded_order_types": {"KB": "x"},
        },
    )
    source = EccSource(SourceContext("vendor", ZoneInfo("UTC")), settings)
    streams = source._streams(source.env())
    census = code_census.declared(condition_tables, price_list_tables)
    return [*(r for s in streams for r in s.declared()), *census, DD03L]


def known(table: str, field: str) -> bool:
    return field in ddic().get(table, {}) or (table, field) in unverified() or (table, "*") in unverified()


@pytest.mark.parametrize(
    "tables",
    [(DEFAULT_CONDITION_TABLES, DEFAULT_PRICE_LIST_TABLES), (CONDITION_TABLES, PRICE_LIST_TABLES)],
    ids=["default", "emulated"],
)
def test_every_field_the_adapter_reads_is_in_the_vendor_ddic_or_listed_unverified(
    tables: tuple[dict[str, list[str]], dict[str, list[str]]],
) -> None:
    unknown = sorted(
        {(r.table, f) for r in adapter_reads(*tables) for f in (*r.names, *r.where) if not known(r.table, f)}
    )
    assert unknown == []


def test_check_passes_on_the_vendor_ddic_itself() -> None:
    """The kinds the adapter reads fields as agree with the DDIC types SAP publishes for them."""
    found = Catalogue(case_sensitive=False)
    for table, fields in ddic().items():
        found.containers[table] = {name: DDIC_KINDS.get(f.datatype, "text") for name, f in fields.items()}
    for (table, field), _ in unverified().items():
        found.containers.setdefault(table, {}).setdefault(field, "any")
    reads = adapter_reads(CONDITION_TABLES, PRICE_LIST_TABLES)
    for read in reads:  # a table known only as a whole ("*") has whatever the adapter reads there
        if (read.table, "*") in unverified():
            found.containers[read.table].update(dict.fromkeys((*read.names, *read.where), "any"))
    results = verify({"all": needs(reads)}, found, words=WORDS)
    assert [r.detail for r in results if not r.ok or r.warning] == []


def test_the_emulator_serves_only_vendor_names_with_the_vendor_types() -> None:
    wrong = []
    for name, table in TABLES.items():
        for f in table.fields:
            vendor = ddic().get(name, {}).get(f.name)
            if vendor is None:
                if not known(name, f.name):
                    wrong.append(f"{name}.{f.name}: not in the vendor lists")
                continue
            if _ABAP[vendor.datatype] != f.type or vendor.datatype != f.ddic_type:
                wrong.append(f"{name}.{f.name}: {f.type}/{f.ddic_type}, SAP has {vendor.datatype}")
            if f.length != vendor.length and WIDENED.get(f.name) != vendor.length:
                wrong.append(f"{name}.{f.name}: length {f.length}, SAP has {vendor.length}")
    assert wrong == []


def _shape(document: bytes) -> dict[str, object]:
    """What a SOAMANAGER binding WSDL looks like, whatever its function modules."""
    root = etree.fromstring(document)
    schema = root.find(f"{W}types/{X}schema")
    assert schema is not None
    port_type = root.find(f"{W}portType")
    assert port_type is not None
    definition = port_type.get("name")
    bindings = {}
    for binding in root.iterfind(f"{W}binding"):
        version = next(v for v, ns in SOAP.items() if binding.find(f"{{{ns}}}binding") is not None)
        actions = [op.get("soapAction") for op in binding.iter(f"{{{SOAP[version]}}}operation")]
        operations = [op.get("name") for op in binding.iterfind(f"{W}operation")]
        assert actions == [f"urn:sap-com:document:sap:rfc:functions:{definition}:{op}Request" for op in operations]
        bindings[version] = binding.get("name")
    ports = {port.get("name"): port.get("binding") for port in root.iter(f"{W}port")}
    addresses = {a.get("location") for port in root.iter(f"{W}port") for a in port}
    requests = [e for e in schema.iterfind(f"{X}element") if not e.get("name", "").endswith(("Response", "Exception"))]
    parameters = [[p.get("name") for p in e.iter(f"{X}element")][1:] for e in requests]
    parts = {m.get("name"): [p.get("name") for p in m] for m in root.iterfind(f"{W}message")}
    [address] = addresses
    return {
        "schema": (schema.get("attributeFormDefault"), schema.get("elementFormDefault")),
        "using_policy": root.find("{http://schemas.xmlsoap.org/ws/2004/09/policy}UsingPolicy") is not None,
        "bindings": (set(bindings), bindings.get("1.2") == f"{bindings.get('1.1')}_soap12"),
        "ports named like bindings": all(f"tns:{name}" == binding for name, binding in ports.items()),
        "address": re.sub(r"^https?://[^/]+", "", address).split("?")[0].count("/"),
        "parameters sorted": all(p == sorted(p) for p in parameters),
        "parts": {tuple(names) for message, names in parts.items() if not message.endswith("Exception")},
    }


def test_the_emulator_wsdl_is_shaped_like_soamanagers() -> None:
    functions = list(FUNCTIONS.values())
    address = "http://127.0.0.1:1/sap/bc/srt/rfc/sap/z/100/z_srv/z_b?sap-client=100"
    ours = _shape(wsdl(functions, address, Publication()))
    assert ours == _shape(vendor_wsdl())
    assert ours["address"] == 9  # /sap/bc/srt/rfc/sap/<definition>/<client>/<service>/<binding>
