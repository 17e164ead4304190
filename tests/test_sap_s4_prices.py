"""The price_lists stream of S/4HANA through the real Engine, StateStore and FileSink, against S4Emulator on loopback:
it follows the condition records' LastChangeDateTime (a changed price comes back, nothing else is resent), and a
record it cannot map is a dead letter while the rest flows. The field-by-field round trip is in
test_sap_s4_roundtrip (test_price_lists)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
from connectors.sap.emulator.s4_system import PRICE_LIST_TYPES
from engine.state import StateStore
from engine.sync import Engine, RetryResult
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=300)


def _adapter(sap: S4Emulator, **s4: Any) -> SapAdapter:
    settings = SapSettings(
        flavour="s4_odata",
        url=sap.url,
        sap_client=sap.client,
        auth={"username": sap.user, "password": sap.password},
        s4={"plant": PLANT, "page_size": 40, **s4},
        **DEMO_SETTINGS,
    )
    return SapAdapter(SourceContext("s4-prices", ZoneInfo(SCENARIO.timezone)), settings)


def _current(sap: S4Emulator) -> tuple[str, Any]:
    """The condition record of an open-ended wholesale entry, and the entry."""
    entry = next(e for e in SCENARIO.price_lists if e.list_code == "SATIS" and e.valid_to is None)
    return sap.layout.price_records[entry.list_code, entry.product_code, entry.unit, entry.valid_from], entry


def test_a_changed_price_comes_back_and_nothing_else(tmp_path: Path) -> None:
    with S4Emulator(SCENARIO) as sap, _adapter(sap) as source:
        first = sync(source, tmp_path, "price_lists")
        [result] = first.results
        assert result.status == "ok" and result.dead_lettered == 0
        assert result.pushed == len(SCENARIO.price_lists) == len(first.feed)
        record, entry = _current(sap)
        # VK12 an hour ago: after the first sync's cursor, before this run.
        sap.layout.reprice(record, entry.price + Decimal("1.25"), dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        sap.requests.clear()
        second = sync(source, tmp_path, "price_lists")
        filters = [r.params.get("$filter", "") for r in sap.data_requests()]
    [result] = second.results
    # Read again: the repriced record and those stamped within the overlap of the first cursor (this quarter's
    # entries, entered together), which are unchanged and not sent; the older quarters are not read at all.
    assert result.status == "ok" and result.pushed == 1
    assert result.read == result.unchanged + 1 < len(SCENARIO.price_lists) / 2
    assert any("LastChangeDateTime ge datetimeoffset'" in f for f in filters)
    sent = second.feed["price_lists", record]
    assert sent is not None and Decimal(sent["price"]) == entry.price + Decimal("1.25")
    assert (sent["list_code"], sent["product_code"]) == (PRICE_LIST_TYPES["SATIS"], entry.product_code)


def test_a_record_without_a_known_currency_is_dead_lettered_and_the_rest_flows(tmp_path: Path) -> None:
    with S4Emulator(SCENARIO) as sap, _adapter(sap) as source:
        record, entry = _current(sap)
        sap.layout.conditions.override((record,), ConditionRateValueUnit="XYZ")
        outcome = sync(source, tmp_path, "price_lists")
        [result] = outcome.results
        assert result.status == "ok" and result.dead_lettered == 1
        assert result.pushed == len(SCENARIO.price_lists) - 1
        assert outcome.dead == {("price_lists", record): "currency: unknown currency 'XYZ'"}
        sap.layout.conditions.override((record,), ConditionRateValueUnit=entry.currency)
        retried = _retry(source, tmp_path)  # fetch(): the record read again by its ConditionRecord
    assert (retried.retried, retried.fixed, retried.failed) == (1, 1, 0)


def test_gross_price_types_and_list_names_are_settings() -> None:
    """vat_included and list_name come from settings (SAP's OData carries neither): both are read, not assumed."""
    with (
        S4Emulator(SCENARIO) as sap,
        _adapter(sap, gross_price_condition_types=["PPR0"], price_list_names={"01": "Toptan"}) as source,
    ):
        stream = source.stream("price_lists")
        got = [stream.map(item) for chunk in stream.read(None) for item in chunk]
    assert got and all(e.vat_included for e in got)
    assert {e.list_name for e in got if e.list_code == "01"} == {"Toptan"}
    assert {e.list_name for e in got if e.list_code == "02"} == {None}


def _retry(source: SapAdapter, folder: Path) -> RetryResult:
    """`dealersync dead-letters --retry` on the state and feed strict_sync.sync keeps in `folder`."""
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    sink = FileSink(FileSinkSettings(kind="file", path=folder / "feed", fsync=False))
    try:
        return Engine(state, sink).retry_dead_letters(source)
    finally:
        state.engine.dispose()
