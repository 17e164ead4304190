"""check() against the S/4 emulator on loopback, and OAuth2 client credentials at its token endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import CheckResult, SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
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
