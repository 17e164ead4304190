"""The stock_movements stream of ECC: the scenario's stock slips and its invoices' goods movements as material
documents (MKPF headers, MSEG rows) read through RFC_READ_TABLE from EccEmulator on loopback.

Compared with expect.stock_movements(...) as multisets of records, ignoring only:
  * erp_kind: SAP's own code ("601:H", "311:S": BWART and SHKZG), which the scenario does not know;
  * line_no: SAP numbers a material document's rows itself (MSEG-ZEILE), one after the other over the lines that
    move stock, a transfer's issuing and receiving rows each counted; it is checked apart;
  * flags: set by the engine, not by the stream.
Translations that are SAP's own representation, not losses (as in test_sap_ecc_roundtrip): units are SAP's internal
units of measure (ST, M, KG, KAR), unit_code the UN/ECE code of the SAP unit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import Excluded, SourceContext
from connectors.sap import SapAdapter, SapSettings, codes
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_scenario import sap_unit
from mapping.schema import StockMovement
from scenario import expect
from scenario.generate import build
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
IGNORED = frozenset({"erp_kind", "line_no", "flags"})
CHANGES = {c.kind: c for c in SCENARIO.changes}
REVERSAL = "reversal document: the reversed movement is sent cancelled"


@pytest.fixture(scope="module")
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def adapter(ecc: EccEmulator, **overrides: Any) -> SapAdapter:
    context = SourceContext("ecc-stock", ZoneInfo(SCENARIO.timezone), 500)
    return SapAdapter(context, SapSettings(**ecc.settings(**overrides)))


def read(ecc: EccEmulator, since: dt.datetime | None = None, **overrides: Any) -> list[StockMovement | Excluded]:
    with adapter(ecc, **overrides) as source:
        stream = source.stream("stock_movements")
        return [stream.map(item) for chunk in stream.read(since) for item in chunk]


@pytest.fixture(scope="module")
def mapped(ecc: EccEmulator) -> list[StockMovement | Excluded]:
    return read(ecc)


def sap_form(m: StockMovement) -> StockMovement:
    unit = sap_unit(m.unit_code, m.unit or "")
    return msgspec.structs.replace(m, unit=unit, unit_code=codes.sap_unit_code(unit))


def expected(invoices: list[Any] | None = None, slips: list[Any] | None = None) -> Counter[str]:
    invoices = [st.record for st in SCENARIO.invoices()] if invoices is None else invoices
    slips = [st.record for st in SCENARIO.stock_slips()] if slips is None else slips
    return comparable(sap_form(m) for m in expect.stock_movements(invoices, slips))


def comparable(records: Any) -> Counter[str]:
    return Counter(msgspec.json.encode(expect.comparable(r, IGNORED)).decode() for r in records)


def movements(got: list[StockMovement | Excluded]) -> list[StockMovement]:
    return [r for r in got if isinstance(r, StockMovement)]


def reversal_codes() -> set[str]:
    kinds = {st.record.kind for st in SCENARIO.invoices() if st.record.cancelled}
    return {code for kind, code in (("sale", "602 x S"), ("return", "654 x H")) if kind in kinds}


def test_the_movements_are_every_slip_line_and_every_goods_line_of_the_invoices(
    mapped: list[StockMovement | Excluded],
) -> None:
    got = movements(mapped)
    assert comparable(got) == expected()
    assert {r.erp_kind for r in got} == {"601:H", "653:S", "101:S", "311:H", "311:S"}
    assert any(r.cancelled for r in got if r.kind == "sale")
    excluded = [r.rule for r in mapped if isinstance(r, Excluded)]
    assert set(excluded) == {REVERSAL}
    assert len(excluded) == sum(1 for r in got if r.cancelled)


def test_line_no_is_the_row_number_and_a_transfer_names_both_warehouses(mapped: list[StockMovement | Excluded]) -> None:
    by_document: dict[str, list[StockMovement]] = {}
    for r in movements(mapped):
        by_document.setdefault(r.document_no or "", []).append(r)
    for number, rows in by_document.items():
        live = [r for r in rows if not r.cancelled] or rows
        assert sorted(r.line_no or 0 for r in live) == list(range(1, len(live) + 1)), number
    transfers = [s.record for s in SCENARIO.stock_slips() if s.record.kind == "transfer"]
    assert transfers
    for slip in transfers:
        rows = sorted(by_document[slip.number], key=lambda r: r.line_no or 0)
        assert len(rows) == 2 * len(slip.lines)
        for out, into in zip(rows[::2], rows[1::2], strict=True):
            assert (out.direction, out.warehouse_code, out.other_warehouse_code) == (
                "out", slip.warehouse_code, slip.to_warehouse_code)  # fmt: skip
            assert (into.direction, into.warehouse_code, into.other_warehouse_code) == (
                "in", slip.to_warehouse_code, slip.warehouse_code)  # fmt: skip


def test_movement_types_is_a_setting_and_unknown_types_are_other(ecc: EccEmulator) -> None:
    got = movements(read(ecc, movement_types={"101": "purchase", "601": "sale"}))
    assert {r.erp_kind for r in got if r.kind == "other"} == {"653:S", "311:H", "311:S"}
    with adapter(ecc, movement_types={"101": "purchase", "601": "sale"}) as source:
        counts = [c for c in source.census() or [] if c.column.stream == "stock_movements"]
    assert {c.shown for c in counts if c.reading is None} == {"653 x S", "311 x H", "311 x S", *reversal_codes()}


def test_the_census_lists_every_movement_code(ecc: EccEmulator) -> None:
    slips = [s.record for s in SCENARIO.stock_slips()]
    middle = sorted(s.date for s in slips)[len(slips) // 2]
    with adapter(ecc) as source:
        counts = [c for c in source.census() or [] if c.column.stream == "stock_movements"]
        since = [c for c in source.census(middle) or [] if c.column.stream == "stock_movements"]
    readings = {c.shown: c.reading for c in counts}
    assert reversal_codes()
    assert set(readings) == {"101 x S", "311 x H", "311 x S", "601 x H", "653 x S", *reversal_codes()}
    assert all(r is not None for r in readings.values())
    assert readings["101 x S"].source == codes.MOVEMENT_TYPE_SOURCES["101"]  # type: ignore[union-attr]
    assert readings["311 x S"].source == "UNCONFIRMED"  # type: ignore[union-attr]
    rows = {c.shown: c.rows for c in counts}
    assert rows["311 x H"] == rows["311 x S"] == sum(len(s.lines) for s in slips if s.kind == "transfer")
    # --since: only documents posted from then on (MKPF-BUDAT).
    posted_since = [s for s in slips if s.date >= middle]
    assert 0 < sum(c.rows for c in since if c.shown == "101 x S") == sum(
        len(s.lines) for s in posted_since if s.kind == "purchase"
    )


def test_changes_arrive_as_exactly_their_movements(tmp_path: Path) -> None:
    new, number = CHANGES["new_invoice"].invoice, CHANGES["cancel_invoice"].number
    assert new is not None and number
    cancelled = next(st.record for st in SCENARIO.invoices() if st.record.number == number)
    with EccEmulator(SCENARIO) as ecc, adapter(ecc) as source:
        first = sync(source, tmp_path, "stock_movements")
        [result] = first.results
        assert result.status == "ok" and result.dead_lettered == 0
        assert result.pushed == sum(expected().values())
        for change in SCENARIO.changes:
            ecc.apply(change)
        second = sync(source, tmp_path, "stock_movements")
        far = read(ecc, dt.datetime(2100, 1, 1, tzinfo=ZoneInfo(SCENARIO.timezone)))
    [result] = second.results
    assert result.status == "ok" and result.dead_lettered == 0
    latest = {k: v for k, v in second.feed.items() if k not in first.feed}
    cancelled_now = {
        k for k, v in second.feed.items()
        if k in first.feed and v and v["cancelled"] and not (first.feed[k] or {})["cancelled"]
    }  # fmt: skip
    assert result.pushed == len(latest) + len(cancelled_now)
    assert comparable(msgspec.convert(v, StockMovement) for v in latest.values()) == expected([new], [])
    gone = [msgspec.convert(second.feed[k], StockMovement) for k in cancelled_now]
    assert comparable(gone) == expected([msgspec.structs.replace(cancelled, cancelled=True)], [])
    assert result.excluded == {REVERSAL: len(gone)}
    assert far == []


def test_a_bad_row_is_dead_lettered_and_the_rest_flows(tmp_path: Path) -> None:
    slip = next(s.record for s in SCENARIO.stock_slips() if s.record.kind == "purchase")
    with EccEmulator(SCENARIO) as ecc, adapter(ecc) as source:
        head = next(r for r in ecc.db.stores["MKPF"].rows if r["XBLNR"].strip() == slip.number)
        mblnr, mjahr = head["MBLNR"].strip(), head["MJAHR"].strip()
        ecc.db.update("MSEG", {"MBLNR": mblnr, "MJAHR": mjahr, "ZEILE": 1}, SHKZG="X")
        outcome = sync(source, tmp_path, "stock_movements")
    [result] = outcome.results
    assert result.status == "ok" and result.dead_lettered == 1
    assert result.pushed == sum(expected().values()) - 1
    assert outcome.dead == {
        ("stock_movements", f"{mjahr}:{mblnr}:0001"): "direction: debit/credit indicator 'X' is neither S nor H"
    }
    assert all(outcome.feed[("stock_movements", f"{mjahr}:{mblnr}:{i:04d}")] for i in range(2, len(slip.lines) + 1))
