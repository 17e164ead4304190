"""The price_lists stream of SAP ECC through the real Engine, StateStore and FileSink, against EccEmulator on
loopback: a snapshot (condition records carry no change date), so a changed price comes back and nothing else is
resent; a record it cannot map is a dead letter while the rest flows; the two condition table settings stay apart.
The field-by-field round trip is in test_sap_ecc_roundtrip (test_price_lists)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_prices import PRICE_LIST_TYPES
from connectors.sap.emulator.ecc_scenario import internal
from mapping.errors import RecordError
from scenario.generate import build
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=300)


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def _adapter(ecc: EccEmulator, **ecc_options: Any) -> SapAdapter:
    settings = ecc.settings()
    settings["ecc"] = {**settings["ecc"], **ecc_options}
    return SapAdapter(SourceContext("ecc-prices", ZoneInfo(SCENARIO.timezone), 50), SapSettings(**settings))


def _current(ecc: EccEmulator) -> tuple[str, Any]:
    """The condition record (KNUMH) of an open-ended wholesale per-piece entry, and the entry."""
    entry = next(
        e for e in SCENARIO.price_lists if e.list_code == "SATIS" and e.valid_to is None and not e.min_quantity
    )
    return ecc.laid.prices.records[entry.list_code, entry.product_code, entry.unit, entry.valid_from], entry


def test_a_changed_price_comes_back_and_nothing_else(ecc: EccEmulator, tmp_path: Path) -> None:
    with _adapter(ecc) as source:
        first = sync(source, tmp_path, "price_lists")
        [result] = first.results
        assert result.status == "ok" and result.dead_lettered == 0
        assert result.pushed == len(SCENARIO.price_lists) == len(first.feed)
        knumh, entry = _current(ecc)
        new = entry.price + Decimal("1.25")
        # VK12: a price of whole cents, per 1 unit.
        ecc.db.update("KONP", {"KNUMH": knumh, "KOPOS": "01"}, KBETR=internal(new, entry.currency), KPEIN=1)
        second = sync(source, tmp_path, "price_lists")
    [result] = second.results
    assert result.status == "ok" and result.pushed == 1 and result.deleted == 0
    assert result.unchanged == len(SCENARIO.price_lists) - 1  # a snapshot: everything read, only the change sent
    sent = second.feed["price_lists", f"{knumh}:01"]
    assert sent is not None and Decimal(sent["price"]) == new
    assert (sent["list_code"], sent["product_code"]) == (PRICE_LIST_TYPES["SATIS"], entry.product_code)


def test_a_record_without_a_known_currency_is_dead_lettered_and_the_rest_flows(
    ecc: EccEmulator, tmp_path: Path
) -> None:
    knumh, _ = _current(ecc)
    ecc.db.update("KONP", {"KNUMH": knumh, "KOPOS": "01"}, KONWA="XYZ")
    with _adapter(ecc) as source:
        outcome = sync(source, tmp_path, "price_lists")
    [result] = outcome.results
    assert result.status == "ok" and result.dead_lettered == 1
    assert result.pushed == len(SCENARIO.price_lists) - 1
    assert outcome.dead == {("price_lists", f"{knumh}:01"): "currency: unknown currency 'XYZ'"}


def test_a_price_that_is_no_quantity_rate_is_dead_lettered(ecc: EccEmulator) -> None:
    knumh, _ = _current(ecc)
    ecc.db.update("KONP", {"KNUMH": knumh, "KOPOS": "01"}, KRECH="A")
    with _adapter(ecc) as source:
        stream = source.stream("price_lists")
        [item] = [i for chunk in stream.read(None) for i in chunk if stream.key(i) == f"{knumh}:01"]
        with pytest.raises(RecordError, match="calculation type KRECH 'A'"):
            stream.map(item)


def test_settings_name_vat_inclusive_types_and_list_names(ecc: EccEmulator) -> None:
    with _adapter(ecc, gross_price_condition_types=["PR00"], price_list_names={"01": "Toptan"}) as source:
        stream = source.stream("price_lists")
        got = [stream.map(i) for chunk in stream.read(None) for i in chunk]
    assert got and all(e.vat_included for e in got)
    assert {e.list_name for e in got if e.list_code == "01"} == {"Toptan"}
    assert {e.list_name for e in got if e.list_code == "02"} == {None}


def test_a_table_cannot_be_both_a_discount_and_a_price_list_table(ecc: EccEmulator) -> None:
    settings = ecc.settings()
    settings["ecc"] = {**settings["ecc"], "price_list_tables": {"A305": ["PR00"]}}
    with pytest.raises(ValidationError, match="both name A305"):
        SapSettings(**settings)
