"""The stock_movements stream of S/4HANA: the scenario's stock slips and its invoices' goods movements as material
documents of API_MATERIAL_DOCUMENT_SRV, served by S4Emulator on loopback, read over HTTP.

Compared with expect.stock_movements(...) as multisets of records, ignoring only:
  * erp_kind: SAP's own code ("601:H", "311:S": GoodsMovementType and DebitCreditCode), which the scenario does
    not know;
  * line_no: SAP numbers a material document's items itself (MSEG-ZEILE), one after the other over the lines that
    move stock, a transfer's issuing and receiving items each counted; it is the item number, checked apart;
  * flags: set by the engine, not by the stream.
Translations that are SAP's own representation, not losses (as in test_sap_s4_roundtrip):
  * units: SAP keys units of measure by internal codes (ST, M, KG, KAR: emulator.SAP_UNITS); unit_code is the
    UN/ECE code of the SAP unit.
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
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, SAP_UNITS, S4Emulator
from mapping.schema import StockMovement
from scenario import expect
from scenario.generate import build
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
IGNORED = frozenset({"erp_kind", "line_no", "flags"})
CHANGES = {c.kind: c for c in SCENARIO.changes}
REVERSAL = "reversal document: the reversed movement is sent cancelled"


@pytest.fixture(scope="module")
def sap() -> Iterator[S4Emulator]:
    with S4Emulator(SCENARIO) as emulator:
        yield emulator


def adapter(sap: S4Emulator, **overrides: Any) -> SapAdapter:
    values: dict[str, Any] = {
        "flavour": "s4_odata",
        "url": sap.url,
        "sap_client": sap.client,
        "auth": {"username": sap.user, "password": sap.password},
        "s4": {"plant": PLANT, "page_size": 300},
        **DEMO_SETTINGS,
    }
    return SapAdapter(SourceContext("s4-stock", ZoneInfo(SCENARIO.timezone)), SapSettings(**{**values, **overrides}))


def read(sap: S4Emulator, since: dt.datetime | None = None, **overrides: Any) -> list[StockMovement | Excluded]:
    with adapter(sap, **overrides) as source:
        stream = source.stream("stock_movements")
        return [stream.map(item) for chunk in stream.read(since) for item in chunk]


@pytest.fixture(scope="module")
def mapped(sap: S4Emulator) -> list[StockMovement | Excluded]:
    return read(sap)


def reversal_codes() -> set[str]:
    """The census values of the reversals the scenario's cancelled invoices make (602 a sale's, 654 a return's)."""
    kinds = {st.record.kind for st in SCENARIO.invoices() if st.record.cancelled}
    return {code for kind, code in (("sale", "602 x S"), ("return", "654 x H")) if kind in kinds}


def sap_form(m: StockMovement) -> StockMovement:
    unit = SAP_UNITS[m.unit or ""]
    return msgspec.structs.replace(m, unit=unit, unit_code=codes.sap_unit_code(unit))


def expected(invoices: list[Any] | None = None, slips: list[Any] | None = None) -> Counter[str]:
    invoices = [st.record for st in SCENARIO.invoices()] if invoices is None else invoices
    slips = [st.record for st in SCENARIO.stock_slips()] if slips is None else slips
    return comparable(sap_form(m) for m in expect.stock_movements(invoices, slips))


def comparable(records: Any) -> Counter[str]:
    return Counter(msgspec.json.encode(expect.comparable(r, IGNORED)).decode() for r in records)


def movements(got: list[StockMovement | Excluded]) -> list[StockMovement]:
    return [r for r in got if isinstance(r, StockMovement)]


def test_the_movements_are_every_slip_line_and_every_goods_line_of_the_invoices(
    mapped: list[StockMovement | Excluded],
) -> None:
    got = movements(mapped)
    want = expected()
    assert comparable(got) == want
    assert sum(want.values()) == len(got)
    kinds = {(r.kind, r.direction) for r in got}
    assert kinds == {("sale", "out"), ("sale_return", "in"), ("purchase", "in"), ("transfer", "out"),
                     ("transfer", "in")}  # fmt: skip
    assert {r.erp_kind for r in got} == {"601:H", "653:S", "101:S", "311:H", "311:S"}
    assert any(r.cancelled for r in got if r.kind == "sale")
    # Each reversal item is left out; its reversed item is sent cancelled.
    excluded = [r.rule for r in mapped if isinstance(r, Excluded)]
    assert set(excluded) == {REVERSAL}
    assert len(excluded) == sum(1 for r in got if r.cancelled)


def test_line_no_is_the_material_document_item_and_a_transfer_names_both_warehouses(
    sap: S4Emulator, mapped: list[StockMovement | Excluded]
) -> None:
    got = movements(mapped)
    by_document: dict[str, list[StockMovement]] = {}
    for r in got:
        by_document.setdefault(r.document_no or "", []).append(r)
    for number, rows in by_document.items():
        live = [r for r in rows if not r.cancelled] or rows
        assert sorted(r.line_no for r in live) == list(range(1, len(live) + 1)), number  # type: ignore[type-var]
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
            assert (out.product_code, out.quantity) == (into.product_code, into.quantity)


def test_without_the_reference_reading_no_invoice_number_is_claimed(sap: S4Emulator) -> None:
    got = movements(read(sap, s4={"plant": PLANT, "movement_reference_is_invoice": False}))
    assert got and all(r.invoice_number is None for r in got)
    assert {r.document_no for r in got if r.kind == "sale"} <= {st.record.number for st in SCENARIO.invoices()}


def test_movement_types_is_a_setting_and_unknown_types_are_other(sap: S4Emulator) -> None:
    with adapter(sap, movement_types={"101": "purchase", "601": "sale"}) as source:
        stream = source.stream("stock_movements")
        got = movements([stream.map(i) for chunk in stream.read(None) for i in chunk])
        counts = [c for c in source.census() or [] if c.column.stream == "stock_movements"]
    others = {r.erp_kind for r in got if r.kind == "other"}
    assert others == {"653:S", "311:H", "311:S"}  # still sent, with SAP's code, never dropped
    unknown = {c.shown for c in counts if c.reading is None}
    assert unknown == {"653 x S", "311 x H", "311 x S", *reversal_codes()}  # the reversals, left out


def test_the_census_lists_every_movement_code(sap: S4Emulator) -> None:
    with adapter(sap) as source:
        counts = [c for c in source.census() or [] if c.column.stream == "stock_movements"]
    readings = {c.shown: c.reading for c in counts}
    assert reversal_codes()
    assert set(readings) == {"101 x S", "311 x H", "311 x S", "601 x H", "653 x S", *reversal_codes()}
    assert all(r is not None for r in readings.values())
    assert readings["101 x S"].source == codes.MOVEMENT_TYPE_SOURCES["101"]  # type: ignore[union-attr]
    assert readings["601 x H"].source == "UNCONFIRMED"  # type: ignore[union-attr]
    assert readings["601 x H"].action == "stock movement sale, out"  # type: ignore[union-attr]
    rows = {c.shown: c.rows for c in counts}
    slips = [s.record for s in SCENARIO.stock_slips()]
    assert rows["101 x S"] == sum(len(s.lines) for s in slips if s.kind == "purchase")


def test_changes_arrive_as_exactly_their_movements(tmp_path: Path) -> None:
    new, number = CHANGES["new_invoice"].invoice, CHANGES["cancel_invoice"].number
    assert new is not None and number
    cancelled = next(st.record for st in SCENARIO.invoices() if st.record.number == number)
    with S4Emulator(SCENARIO) as sap, adapter(sap) as source:
        first = sync(source, tmp_path, "stock_movements")
        [result] = first.results
        assert result.status == "ok" and result.dead_lettered == 0
        assert result.pushed == sum(expected().values())
        for change in SCENARIO.changes:
            sap.apply(change)
        second = sync(source, tmp_path, "stock_movements")
        far = read(sap, dt.datetime(2100, 1, 1, tzinfo=ZoneInfo(SCENARIO.timezone)))
    [result] = second.results
    assert result.status == "ok" and result.dead_lettered == 0
    assert result.excluded == {REVERSAL: sum(1 for ln in cancelled.lines if ln.kind in ("item", "promotion"))}
    pushed = [r for (stream, _), r in second.feed.items() if stream == "stock_movements"]
    # The feed holds every record; the second run's changed ones are the new invoice's and the cancelled one's.
    latest = {k: v for k, v in second.feed.items() if k[0] == "stock_movements" and k not in first.feed}
    cancelled_now = {
        k for k, v in second.feed.items()
        if k in first.feed and v and v["cancelled"] and not (first.feed[k] or {})["cancelled"]
    }  # fmt: skip
    assert result.pushed == len(latest) + len(cancelled_now)
    want_new = expected([new], [])
    assert comparable(msgspec.convert(v, StockMovement) for v in latest.values()) == want_new
    gone = [msgspec.convert(second.feed[k], StockMovement) for k in cancelled_now]
    assert comparable(gone) == expected([msgspec.structs.replace(cancelled, cancelled=True)], [])
    assert len(pushed) == sum(expected().values()) + sum(want_new.values())
    assert far == []


def test_a_bad_item_is_dead_lettered_and_the_rest_flows(tmp_path: Path) -> None:
    slip = next(s.record for s in SCENARIO.stock_slips() if s.record.kind == "purchase")
    with S4Emulator(SCENARIO) as sap, adapter(sap) as source:
        documents = sap.layout.material_documents
        [key] = [k for k, doc in documents.facts.items() if doc.reference == slip.number]
        row = documents.row(key)
        items = row["to_MaterialDocumentItem"]()
        bad = {**items[0], "DebitCreditCode": "X"}
        documents.override(key, to_MaterialDocumentItem=lambda: [bad, *items[1:]])
        outcome = sync(source, tmp_path, "stock_movements")
    [result] = outcome.results
    assert result.status == "ok" and result.dead_lettered == 1
    assert result.pushed == sum(expected().values()) - 1
    feed_key = "/".join((key[0], key[1], "1"))
    assert outcome.dead == {("stock_movements", feed_key): "direction: debit/credit code 'X' is neither S nor H"}
    assert all(outcome.feed[("stock_movements", "/".join((*key, str(i))))] for i in range(2, len(items) + 1))
