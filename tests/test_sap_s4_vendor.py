"""Conformance of the S/4 flavour with SAP's published metadata (connectors/sap/vendor/s4): every name a stream or
the census reads is in SAP's EDMX of the service, required names in every release kept there, each read pages by
the entity's whole key in SAP's order; and the emulator accepts and emits only what that metadata has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from connectors.base import SourceContext
from connectors.edmx import Metadata, parse
from connectors.sap import SapSettings
from connectors.sap.emulator.s4 import RATES, S4Emulator
from connectors.sap.emulator.s4_metadata import RATES_SERVICE, VENDOR, vendor_file
from connectors.sap.s4 import S4Source
from connectors.sap.s4.census import census_reads
from connectors.sap.s4.shape import Read, Shape, f
from scenario.generate import build

SCENARIO = build(invoice_lines=200)
# Releases kept beside the primary file, and the (optional) names they lack.
OLDER = {
    "API_BUSINESS_PARTNER.2023-03-noPersonnelNumber.edmx": {"to_Customer/to_CustomerSalesArea/to_PartnerFunction/"
                                                            "PersonnelNumber"},
    "API_MATERIAL_STOCK_SRV.2023-08-WBSInternalID24.edmx": {"WBSElementExternalID"},
}  # fmt: skip


def _reads() -> list[Read]:
    """Every read of every stream and of the census, with every optional setting on."""
    settings = SapSettings(
        flavour="s4_odata",
        url="https://s4.example.com/sap/opu/odata/sap",
        sap_client="100",
        auth={"username": "u", "password": "p"},
        s4={"exchange_rates": RATES},
    )
    source = S4Source(SourceContext("s4", ZoneInfo("Europe/Istanbul")), settings)
    try:
        reads = [read for stream in source._streams for read in stream.reads()]
        return reads + list(census_reads(source.env).values())
    finally:
        source.close()


def _sap(read: Read) -> Metadata:
    return parse(vendor_file(read.service).read_bytes())


def unpublished(read: Read, metadata: Metadata) -> list[str]:
    """The names `read` uses that `metadata` lacks (optional ones marked so), and a key order not SAP's."""
    optional, required = read.absent(metadata)
    problems = [*required, *(f"{name} (optional)" for name in sorted(optional))]
    entity = metadata.entity(read.entity_set)
    if entity is not None and entity.keys != read.key:
        problems.append(f"key {read.key} is not SAP's {entity.keys}")
    return problems


READS = [read for read in _reads() if read.service != RATES_SERVICE]


@pytest.mark.parametrize("read", READS, ids=lambda r: f"{r.path}:{r.select()[:40]}")
def test_every_name_read_is_in_sap_s_metadata(read: Read) -> None:
    assert unpublished(read, _sap(read)) == []


def test_the_check_fails_on_a_name_sap_does_not_publish() -> None:
    read = next(r for r in READS if r.entity_set == "A_BillingDocument")
    invented = Read(read.path, read.setting, read.key, Shape((f("AccountingExchangeRate", "number"),)))
    assert unpublished(invented, _sap(read)) == ["API_BILLING_DOCUMENT_SRV/A_BillingDocument.AccountingExchangeRate"]
    items = Read(read.path, read.setting, read.key, Shape((), (("to_Item", Shape((f("BillingQuantityISOUnit"),))),)))
    assert unpublished(items, _sap(read)) == [
        "API_BILLING_DOCUMENT_SRV/A_BillingDocument/to_Item.BillingQuantityISOUnit"
    ]
    partial = Read("API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod", "s4.stock", ("Material", "Plant"), Shape(()))
    assert unpublished(partial, _sap(partial))[-1].startswith("key ('Material', 'Plant') is not SAP's")


@pytest.mark.parametrize("name", sorted(OLDER))
def test_older_releases_lack_only_optional_names(name: str) -> None:
    metadata = parse((VENDOR / name).read_bytes())
    service = name.split(".")[0]
    lacking = {problem for read in READS if read.service == service for problem in unpublished(read, metadata)}
    assert lacking == {f"{n} (optional)" for n in OLDER[name]}


def test_the_readme_names_every_file() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in Path(VENDOR).iterdir() if p.suffix == ".edmx")
    assert files and all(f"`{name}`" in readme for name in files)


@pytest.fixture(scope="module")
def sap() -> Iterator[S4Emulator]:
    with S4Emulator(SCENARIO) as emulator:
        yield emulator


def _get(sap: S4Emulator, path: str, **params: str) -> requests.Response:
    query = {"$format": "json", "sap-client": sap.client, **params}
    return requests.get(f"{sap.url}/{path}", params=query, auth=(sap.user, sap.password), timeout=30)


@pytest.mark.parametrize(
    "params",
    [
        {"$select": "BillingDocument,AccountingExchangeRate"},
        {"$select": "to_Item/BillingQuantityISOUnit", "$expand": "to_Item"},
        {"$expand": "to_Items"},
        {"$filter": "AccountingExchangeRate gt 0"},
        {"$orderby": "BillingDocumentNumber"},
        {"$select": "to_Item/NetAmount"},  # selected below a navigation that is not expanded
    ],
)
def test_the_emulator_refuses_names_sap_s_metadata_lacks(sap: S4Emulator, params: dict[str, str]) -> None:
    answer = _get(sap, "API_BILLING_DOCUMENT_SRV/A_BillingDocument", **params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "/IWBEP/CM_MGW_RT/022"


def test_the_emulator_emits_the_selected_properties_or_the_whole_type(sap: S4Emulator) -> None:
    params = {"$top": "2", "$select": "SalesOrder,to_Item/NetAmount", "$expand": "to_Item"}
    selected = _get(sap, "API_SALES_ORDER_SRV/A_SalesOrder", **params).json()["d"]["results"]
    assert [set(r) for r in selected] == [{"__metadata", "SalesOrder", "to_Item"}] * 2
    assert all(set(i) == {"__metadata", "NetAmount"} for r in selected for i in r["to_Item"]["results"])
    whole = _get(sap, "API_SALES_ORDER_SRV/A_SalesOrder", **{"$top": "1"}).json()["d"]["results"][0]
    entity = _sap(next(r for r in READS if r.entity_set == "A_SalesOrder")).entity("A_SalesOrder")
    assert entity is not None
    assert set(whole) - {"__metadata"} == {*entity.properties, *entity.navigations}
    assert whole["to_Item"] == {"__deferred": {"uri": whole["__metadata"]["uri"] + "/to_Item"}}
    metadata = _get(sap, "API_SALES_ORDER_SRV/$metadata")
    assert metadata.headers["Content-Type"] == "application/xml"
    assert metadata.content == vendor_file("API_SALES_ORDER_SRV").read_bytes()
