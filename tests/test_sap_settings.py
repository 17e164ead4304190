"""SapSettings: what an SAP source's config may say, and what it refuses (with a message naming the key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.http import BasicAuth, OAuth2Auth
from connectors.registry import load
from connectors.sap import SapAdapter, SapSettings, codes

BASE: dict[str, Any] = {
    "flavour": "s4_odata",
    "url": "https://s4.example.com:44300/sap/opu/odata/sap",
    "sap_client": "100",
    "auth": {"username": "DEALERSYNC", "password": "s3cret-pw"},
}


def _settings(**changes: Any) -> SapSettings:
    return SapSettings(**{**BASE, **changes})


def test_minimal_config_and_defaults() -> None:
    s = _settings()
    assert isinstance(s.auth, BasicAuth)  # `kind` may be omitted for basic auth
    assert s.local_currency == "TRY" and s.tax_country == "TR"
    assert s.billing_types == dict(codes.DEFAULT_BILLING_TYPES)
    assert s.collection_methods == dict(codes.DEFAULT_COLLECTION_METHODS)
    assert s.s4.business_partners == "API_BUSINESS_PARTNER/A_BusinessPartner" and s.s4.page_size == 1000
    assert s.secrets() == ["s3cret-pw"]
    assert "s3cret-pw" not in repr(s)


def test_s4_defaults_follow_sap_s_published_apis() -> None:
    s4 = _settings().s4
    assert s4.credit_accounts == "API_CRDTMBUSINESSPARTNER/CreditManagementAccount"  # no A_ prefix in that API
    assert s4.exchange_rates is None and s4.exchange_rate_type == "M"  # SAP publishes no rate API: opt in
    assert s4.special_stock_types["E"] == "sales_order" and s4.special_stock_types["W"] == "consignment"
    assert s4.special_stock_types["Q"] == "project" and s4.special_stock_types["K"] == "other"
    assert s4.condition_classes == {"A": "discount", "B": "price", "D": "tax"} and s4.sales_order_types == {
        "OR": "order"
    }


def test_codes_may_be_excluded_or_ignored() -> None:
    s = _settings(
        billing_types={"ZIV": "excluded"}, s4={"tax_types": {"TR0": "ignored"}, "stock_types": {"07": "excluded"}}
    )
    assert s.billing_types == {"ZIV": "excluded"} and s.s4.tax_types == {"TR0": "ignored"}
    assert "billing_types" in s.model_fields_set and "stock_types" in s.s4.model_fields_set


def test_registered_as_sap() -> None:
    assert load("sap") is SapAdapter and SapAdapter.Settings is SapSettings


@pytest.mark.parametrize("client", ["10", "1000", "abc", 100])
def test_sap_client_is_three_digits(client: Any) -> None:
    with pytest.raises(ValidationError, match="sap_client"):
        _settings(sap_client=client)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"flavour": "rfc"}, "flavour"),
        ({"surprise": 1}, "surprise"),
        ({"s4": {"page_size": 0}}, "page_size"),
        ({"s4": {"entity": "x"}}, "entity"),
        ({"url": "ftp://host/sap"}, "url"),
        ({"collection_methods": {"DZX:C": "cash"}}, "collection_methods"),
        ({"collection_methods": {"DZ:CC": "cash"}}, "collection_methods"),
        ({"collection_methods": {"DZ": "wire"}}, "collection_methods"),
        ({"billing_types": {"F2": "invoice"}}, "billing_types"),
        ({"local_currency": "tl"}, "local_currency"),
        ({"s4": {"tax_types": {"TR2": "SSN"}}}, "tax_types"),
        ({"s4": {"special_stock_types": {"E": "customer"}}}, "special_stock_types"),
        ({"s4": {"sales_order_types": {"OR": "yes"}}}, "sales_order_types"),
        ({"s4": {"condition_classes": {"B": "gross"}}}, "condition_classes"),
        ({"s4": {"stock_types": {"01": "maybe"}}}, "stock_types"),
        ({"s4": {"exchange_rate_type": "TOOLONG"}}, "exchange_rate_type"),
        ({"s4": {"exchange_rates": "YY1_EXCHANGERATE_CDS"}}, "exchange_rates"),
        ({"s4": {"sales_orders": "API_SALES_ORDER_SRV/A_SalesOrder/to_Item"}}, "sales_orders"),
    ],
)
def test_refuses(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        _settings(**changes)


def test_flavour_is_required() -> None:
    values = {k: v for k, v in BASE.items() if k != "flavour"}
    with pytest.raises(ValidationError, match="flavour"):
        SapSettings(**values)


def test_password_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "sap.pw"
    secret.write_text("from-file-pw\n", encoding="utf-8")
    s = _settings(auth={"username": "DEALERSYNC", "password_file": str(secret)})
    assert isinstance(s.auth, BasicAuth) and s.auth.password.get_secret_value() == "from-file-pw"


def test_oauth2_client_credentials() -> None:
    s = _settings(auth={"kind": "oauth2", "token_url": "https://s4.example.com/sap/bc/sec/oauth2/token",
                        "client_id": "DEALERSYNC", "client_secret": "c-secret"})  # fmt: skip
    assert isinstance(s.auth, OAuth2Auth) and s.secrets() == ["c-secret"]
    with pytest.raises(ValidationError, match="token_url"):
        _settings(auth={"kind": "oauth2", "client_id": "DEALERSYNC", "client_secret": "c-secret"})


def test_settings_are_frozen() -> None:
    s = _settings()
    with pytest.raises(ValidationError):
        s.sap_client = "200"  # type: ignore[misc]
