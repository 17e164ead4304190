"""Retries against the S/4 emulator on loopback: 429 (with Retry-After), 5xx and timeouts are retried,
400/404 are not (the product read's page requests are the ones failed; a read first asks for the service's
$metadata); the requests the emulator saw are counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.http import HttpSourceError, NotFound
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
    emulator.requests.clear()
    emulator.unpublished.clear()
    yield emulator
    assert emulator.take_fault() is None, "a test left an unused fault behind"


def _adapter(sap: S4Emulator, **overrides: Any) -> SapAdapter:
    settings = SapSettings(
        flavour="s4_odata",
        url=sap.url,
        sap_client=sap.client,
        auth={"username": sap.user, "password": sap.password},
        s4={"plant": PLANT},
        backoff_max_seconds=0.05,
        max_retry_after_seconds=2.0,
        **{**DEMO_SETTINGS, **overrides},
    )
    return SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), settings)


def _products(sap: S4Emulator, **overrides: Any) -> list[Any]:
    with _adapter(sap, **overrides) as source:
        stream = source.stream("products")
        return [stream.map(item) for chunk in stream.read(None) for item in chunk]


def _statuses(sap: S4Emulator) -> list[int]:
    return [r.status for r in sap.data_requests() if r.path.endswith("/A_Product")]


def test_429_waits_for_retry_after_then_succeeds(sap: S4Emulator) -> None:
    sap.fail_next(429, retry_after=0.4, path="/A_Product")
    started = time.monotonic()
    products = _products(sap)
    assert time.monotonic() - started >= 0.4
    assert len(products) == len(SCENARIO.products)
    assert _statuses(sap) == [429, 200]


def test_503_twice_then_succeeds(sap: S4Emulator) -> None:
    sap.fail_next(503, times=2, path="/A_Product")
    assert len(_products(sap)) == len(SCENARIO.products)
    assert _statuses(sap) == [503, 503, 200]


def test_timeout_then_succeeds(sap: S4Emulator) -> None:
    sap.delay_next(1.5, path="/A_Product")
    assert len(_products(sap, timeout_seconds=(2.0, 0.3))) == len(SCENARIO.products)
    assert _statuses(sap) == [0, 200]  # 0: held past the client's read timeout, never answered


def test_gives_up_after_max_attempts(sap: S4Emulator) -> None:
    sap.fail_next(502, times=3, path="/A_Product")
    with pytest.raises(HttpSourceError, match=r"HTTP 502 .* after 3 attempts") as caught:
        _products(sap, max_attempts=3)
    assert caught.value.status == 502
    assert _statuses(sap) == [502, 502, 502]
    assert sap.password not in str(caught.value)


def test_400_is_not_retried(sap: S4Emulator) -> None:
    sap.fail_next(400, path="/A_Product")
    with pytest.raises(HttpSourceError) as caught:
        _products(sap)
    assert caught.value.status == 400
    assert _statuses(sap) == [400]


def test_404_is_not_retried(sap: S4Emulator) -> None:
    sap.unpublished.add("API_PRODUCT_SRV")
    with pytest.raises(NotFound, match=r"API_PRODUCT_SRV/\$metadata not found"):
        _products(sap)
    # The read's first request, for the service's metadata, is answered 404 once and not asked again.
    assert [r.status for r in sap.data_requests()] == [404]
