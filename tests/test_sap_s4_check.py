"""check() against the S/4 emulator on loopback: logon, services, and every name each enabled stream reads proven
against the services' $metadata (SAP's published EDMX, or an edited, older, V4 or non-EDMX one served instead);
OAuth2 client credentials at its token endpoint."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from connectors.base import CheckResult, SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
from connectors.sap.emulator.s4_metadata import VENDOR, vendor_file
from connectors.sap.s4 import S4Source
from connectors.sap.s4.check import schema
from connectors.sap.s4.streams import S4Stream
from scenario.generate import build

SCENARIO = build(invoice_lines=300)


@pytest.fixture(scope="module")
def emulator() -> Iterator[S4Emulator]:
    with S4Emulator(SCENARIO) as sap:
        yield sap


@pytest.fixture
def sap(emulator: S4Emulator) -> Iterator[S4Emulator]:
    yield emulator
    emulator.unpublished.clear()
    emulator.forbidden.clear()
    emulator.requests.clear()


def _settings(sap: S4Emulator, **overrides: Any) -> SapSettings:
    values: dict[str, Any] = {
        "flavour": "s4_odata",
        "url": sap.url,
        "sap_client": sap.client,
        "auth": {"username": sap.user, "password": sap.password},
        "s4": {"plant": PLANT},
        **DEMO_SETTINGS,
    }
    return SapSettings(**{**values, **overrides})


def _check(settings: SapSettings) -> dict[str, CheckResult]:
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), settings) as source:
        return {r.name: r for r in source.check()}


def _secrets_absent(results: dict[str, CheckResult], *secrets: str) -> None:
    for result in results.values():
        for secret in secrets:
            assert secret not in result.detail


def test_all_good(sap: S4Emulator) -> None:
    results = _check(_settings(sap))
    assert all(r.ok for r in results.values()), results
    assert {f"stream {name}" for name in ("accounts", "invoices", "collections")} <= set(results)
    assert f"client {sap.client}" in results["logon"].detail


def test_bad_password(sap: S4Emulator) -> None:
    results = _check(_settings(sap, auth={"username": sap.user, "password": "wrong-pass-1"}))
    assert list(results) == ["logon"] and not results["logon"].ok
    assert f"refused the logon of user '{sap.user}' in client {sap.client}" in results["logon"].detail
    assert "check the username and password" in results["logon"].detail
    _secrets_absent(results, "wrong-pass-1", sap.password)


def test_wrong_client(sap: S4Emulator) -> None:
    results = _check(_settings(sap, sap_client="999"))
    assert list(results) == ["logon"] and not results["logon"].ok
    assert results["logon"].detail.startswith("client 999 does not exist or the user has no access in it")
    _secrets_absent(results, sap.password)


def test_unreachable_host() -> None:
    with socket.socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = SapSettings(
        flavour="s4_odata",
        url=f"http://127.0.0.1:{port}/sap/opu/odata/sap",
        sap_client="100",
        auth={"username": "u", "password": "secret-pass-2"},
        timeout_seconds=(1.0, 1.0),
    )
    results = _check(settings)
    assert list(results) == ["connect"] and not results["connect"].ok
    assert f"cannot reach 127.0.0.1:{port}" in results["connect"].detail
    _secrets_absent(results, "secret-pass-2")


def test_unpublished_and_forbidden_services(sap: S4Emulator) -> None:
    sap.unpublished.add("API_SALES_ORDER_SRV")
    sap.forbidden.add("API_BILLING_DOCUMENT_SRV")
    results = _check(_settings(sap))
    orders = results["service API_SALES_ORDER_SRV"]
    assert not orders.ok and "not published" in orders.detail and "/IWFND/MAINT_SERVICE" in orders.detail
    billing = results["service API_BILLING_DOCUMENT_SRV"]
    assert not billing.ok and "no authorisation for service API_BILLING_DOCUMENT_SRV" in billing.detail
    assert "stream orders" not in results and "stream invoices" not in results
    assert results["logon"].ok and results["service API_BUSINESS_PARTNER"].ok and results["stream accounts"].ok


def _oauth(sap: S4Emulator, secret: str) -> dict[str, Any]:
    return {"kind": "oauth2", "token_url": sap.token_url, "client_id": sap.client_id, "client_secret": secret}


@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_oauth2_client_credentials(sap: S4Emulator, client_auth: str) -> None:
    settings = _settings(sap, auth={**_oauth(sap, sap.client_secret), "client_auth": client_auth})
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), settings) as source:
        assert all(r.ok for r in source.check())
        stream = source.stream("accounts")
        accounts = [stream.map(item) for chunk in stream.read(None) for item in chunk]
    assert len(accounts) == len(SCENARIO.accounts)
    token_calls = [r for r in sap.requests if r.path.endswith("/oauth2/token")]
    assert [r.status for r in token_calls] == [200]  # one token, reused for every call


def test_oauth2_bad_secret(sap: S4Emulator) -> None:
    results = _check(_settings(sap, auth=_oauth(sap, "not-the-secret-3")))
    assert list(results) == ["logon"] and not results["logon"].ok
    assert f"token endpoint refused client '{sap.client_id}'" in results["logon"].detail
    _secrets_absent(results, "not-the-secret-3", sap.client_secret)


# --- the schema: every name each stream reads, against the services' own $metadata ---------------------------------


def _edited(service: str, drop: dict[str, list[str]] = {}, retype: dict[tuple[str, str], str] = {}) -> bytes:  # noqa: B006
    """SAP's metadata of `service` with properties dropped ({entity type: [property]}) or retyped."""
    root = etree.fromstring(vendor_file(service).read_bytes())
    for entity in root.iter("{*}EntityType"):
        for prop in list(entity.iter("{*}Property")):
            name = prop.get("Name")
            if name in drop.get(entity.get("Name") or "", []):
                entity.remove(prop)
            elif (entity.get("Name"), name) in retype:
                prop.set("Type", retype[entity.get("Name") or "", name or ""])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _check_with(metadata: dict[str, bytes], **settings: Any) -> dict[str, CheckResult]:
    with S4Emulator(SCENARIO, metadata=metadata) as other:
        return _check(_settings(other, **settings))


def test_every_missing_property_of_every_stream_is_named_at_once() -> None:
    results = _check_with(
        {
            "API_BILLING_DOCUMENT_SRV": _edited(
                "API_BILLING_DOCUMENT_SRV",
                {
                    "A_BillingDocumentType": ["AbsltAccountingExchangeRate", "TaxAmount"],
                    "A_BillingDocumentItemType": ["BillingQuantityUnit"],
                },
            ),
            "API_SALES_ORDER_SRV": _edited(
                "API_SALES_ORDER_SRV", {"A_SalesOrderItemType": ["RequestedQuantityISOUnit"]}
            ),
        }
    )
    invoices = results["stream invoices: schema"]
    assert not invoices.ok
    assert (
        "missing properties AbsltAccountingExchangeRate, TaxAmount in API_BILLING_DOCUMENT_SRV/A_BillingDocument"
        in invoices.detail
    )
    assert (
        "missing property BillingQuantityUnit in API_BILLING_DOCUMENT_SRV/A_BillingDocument/to_Item" in invoices.detail
    )
    assert "disable the stream: streams: {invoices: {enabled: false}}" in invoices.detail
    orders = results["stream orders: schema"]
    assert not orders.ok and "RequestedQuantityISOUnit in API_SALES_ORDER_SRV/A_SalesOrder/to_Item" in orders.detail
    assert "stream invoices" not in results and "stream orders" not in results  # no probe of a failed stream
    assert results["stream accounts: schema"].ok and results["stream collections: schema"].ok


def test_a_type_that_would_change_a_value_fails() -> None:
    retyped = _edited("API_SALES_ORDER_SRV", retype={("A_SalesOrderType", "TotalNetAmount"): "Edm.String"})
    orders = _check_with({"API_SALES_ORDER_SRV": retyped})["stream orders: schema"]
    assert not orders.ok
    assert "API_SALES_ORDER_SRV/A_SalesOrder.TotalNetAmount is Edm.String, read as number" in orders.detail


def test_an_older_business_partner_api_without_personnel_number_degrades_with_a_warning() -> None:
    """Several published releases of API_BUSINESS_PARTNER lack A_CustSalesPartnerFunc.PersonnelNumber: check warns
    that the sales rep stays empty, the sync leaves it out of $select and sends every account."""
    older = (VENDOR / "API_BUSINESS_PARTNER.2023-03-noPersonnelNumber.edmx").read_bytes()
    with S4Emulator(SCENARIO, metadata={"API_BUSINESS_PARTNER": older}) as other:
        results = _check(_settings(other))
        with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), _settings(other)) as source:
            stream = source.stream("accounts")
            accounts = [stream.map(item) for chunk in stream.read(None) for item in chunk]
        selects = [r.params.get("$select", "") for r in other.data_requests() if r.path.endswith("/A_BusinessPartner")]
    assert all(r.ok for r in results.values()), results
    warnings = [r for r in results.values() if r.warning]
    assert [w.name for w in warnings] == ["stream accounts: schema"]
    assert warnings[0].detail == (
        "API_BUSINESS_PARTNER/A_BusinessPartner/to_Customer/to_CustomerSalesArea/to_PartnerFunction has no property "
        "PersonnelNumber: accounts.sales_rep_code will stay empty"
    )
    assert len(accounts) == len(SCENARIO.accounts) and all(a.sales_rep_code is None for a in accounts)
    assert any(a.parent_code for a in accounts)  # the partner functions still arrive
    assert selects and not any("PersonnelNumber" in s for s in selects)


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ((VENDOR / "CE_SALESORDER_0001.odata-v4.edmx").read_bytes(), "this is an OData V4 service (EDMX 4.01)"),
        (b'{"d": {"EntitySets": ["A_SalesOrder"]}}', "the answer is not XML"),
    ],
)
def test_a_service_answering_other_than_odata_v2_metadata_is_refused(document: bytes, says: str) -> None:
    results = _check_with({"API_SALES_ORDER_SRV": document})
    service = results["service API_SALES_ORDER_SRV"]
    assert not service.ok and says in service.detail
    assert "stream orders: schema" not in results and results["stream invoices: schema"].ok


def test_metadata_with_a_byte_order_mark_is_read() -> None:
    marked = b"\xef\xbb\xbf" + vendor_file("API_PRODUCT_SRV").read_bytes()
    results = _check_with({"API_PRODUCT_SRV": marked})
    assert results["service API_PRODUCT_SRV"].ok and results["stream products: schema"].ok


def test_paging_by_another_key_than_the_services_fails(sap: S4Emulator) -> None:
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), _settings(sap)) as source:
        s4 = source.source
        stock = source.stream("stock_levels")
        assert isinstance(s4, S4Source) and isinstance(stock, S4Stream)
        partial = dataclasses.replace(stock.main, key=stock.main.key[:6])
        metadata = {"API_MATERIAL_STOCK_SRV": s4.reader.metadata("API_MATERIAL_STOCK_SRV")}
        line = schema("stock_levels", [partial], metadata)[0]
        assert schema("stock_levels", stock.reads(), metadata)[0].ok
    assert not line.ok
    assert (
        "paged by (Material, Plant, StorageLocation, Batch, Supplier, Customer) but the service's key is" in line.detail
    )


def test_check_proves_only_the_enabled_streams(sap: S4Emulator) -> None:
    # account_ledger reads the billing API too (cancellations), so it is disabled with the document streams.
    disabled = frozenset({"invoices", "orders", "account_ledger"})
    context = SourceContext("sap-test", ZoneInfo(SCENARIO.timezone), disabled=disabled)
    with SapAdapter(context, _settings(sap)) as source:
        results = {r.name: r for r in source.check()}
    assert all(r.ok for r in results.values())
    assert not any("invoices" in name or "orders" in name for name in results)
    assert "service API_SALES_ORDER_SRV" not in results and "service API_BILLING_DOCUMENT_SRV" not in results
    asked = {r.path.split("/sap/opu/odata/sap/")[1].split("/")[0] for r in sap.data_requests()}
    assert not asked & {"API_SALES_ORDER_SRV", "API_BILLING_DOCUMENT_SRV"}
