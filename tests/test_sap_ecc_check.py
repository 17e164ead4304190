"""check proves the ECC schema through SAP's data dictionary (DD03L and RFC_READ_TABLE's field lists), and the
adapter reads exactly what it declares: every problem of every stream at once, optional fields as warnings
with the sync still running, types that would change a value, and a drift test over a whole sync."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.ecc import EccSource
from connectors.sap.ecc import census as code_census
from connectors.sap.ecc.ddic import DD03L
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.streams import EccStream
from connectors.sap.emulator.ecc import EccEmulator, EccRequest
from scenario.generate import build

SCENARIO = build(invoice_lines=300)
TZ = ZoneInfo(SCENARIO.timezone)


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def source(emulator: EccEmulator, /, disabled: frozenset[str] = frozenset(), **overrides: Any) -> SapAdapter:
    context = SourceContext("ecc-test", TZ, 200, disabled)
    return SapAdapter(context, SapSettings(**emulator.settings(**overrides)))


def check(emulator: EccEmulator, /, **kwargs: Any) -> dict[str, list[tuple[bool, bool, str]]]:
    out: dict[str, list[tuple[bool, bool, str]]] = {}
    with source(emulator, **kwargs) as adapter:
        for r in adapter.check():
            out.setdefault(r.name, []).append((r.ok, r.warning, r.detail))
    return out


def schema(results: dict[str, list[tuple[bool, bool, str]]], stream: str) -> tuple[bool, str]:
    lines = [(ok, detail) for ok, warning, detail in results[f"stream {stream}: schema"] if not warning]
    assert len(lines) == 1
    return lines[0]


def test_the_demo_system_passes_without_warnings(ecc: EccEmulator) -> None:
    results = check(ecc)
    assert all(ok and not warning for lines in results.values() for ok, warning, _ in lines), results
    assert len([n for n in results if n.endswith(": schema")]) == 11


def test_missing_fields_of_several_streams_are_listed_at_once(ecc: EccEmulator) -> None:
    ecc.drop("VBRK", "FKART", "NETWR")
    ecc.drop("KONP", "KRECH")
    ecc.drop("KNA1", "NAME1", "STCD2")
    ecc.drop("BSID", "ZLSCH")
    results = check(ecc)
    ok, detail = schema(results, "invoices")
    assert not ok and "missing fields FKART, NETWR in VBRK" in detail
    assert "disable the stream: streams: {invoices: {enabled: false}}" in detail
    ok, detail = schema(results, "discounts")
    assert not ok and "missing field KRECH in KONP" in detail
    ok, detail = schema(results, "accounts")
    assert not ok and "missing fields NAME1, STCD2 in KNA1; name them with ecc.tax_number_field" in detail
    ok, detail = schema(results, "collections")
    assert not ok and "missing field ZLSCH in BSID" in detail
    assert schema(results, "orders")[0] and schema(results, "products")[0]
    assert "not an ECC" not in str(results) and "database" not in str(results)


def test_a_missing_table_names_the_setting(ecc: EccEmulator) -> None:
    tables = {**ecc.settings()["ecc"]["condition_tables"], "A999": ["ZK99"]}
    results = check(ecc, ecc={**ecc.settings()["ecc"], "condition_tables": tables})
    ok, detail = schema(results, "discounts")
    assert not ok and "table A999 not found (remove it from ecc.condition_tables" in detail


def test_a_type_that_would_change_a_value_fails(ecc: EccEmulator) -> None:
    ecc.retype("KONP", "KBETR", "C", "CHAR")
    ecc.retype("VBRK", "FKDAT", "C", "CHAR")
    results = check(ecc)
    ok, detail = schema(results, "discounts")
    assert not ok and "KONP.KBETR is character data (CHAR, CUKY, UNIT ...), read as number" in detail
    ok, detail = schema(results, "invoices")
    assert not ok and "VBRK.FKDAT is character data (CHAR, CUKY, UNIT ...), read as date" in detail


def test_a_missing_optional_field_warns_and_the_sync_runs_without_it(ecc: EccEmulator) -> None:
    ecc.drop("VBRK", "XBLNR")
    results = check(ecc)
    assert schema(results, "invoices")[0]
    warnings = [d for _, warning, d in results["stream invoices: schema"] if warning]
    assert warnings == ["VBRK has no field XBLNR: invoices.document_no will stay empty"]
    with source(ecc) as adapter:
        stream = adapter.stream("invoices")
        invoices = [stream.map(item) for chunk in stream.read(None) for item in chunk]
    assert len(invoices) == sum(1 for _ in SCENARIO.invoices())
    assert all(i is not None and i.document_no is None for i in invoices)
    assert not any("XBLNR" in c.fields for c in ecc.calls("RFC_READ_TABLE") if c.table == "VBRK")


def test_a_disabled_stream_is_not_checked(ecc: EccEmulator) -> None:
    ecc.deny("KNKK")
    results = check(ecc)
    ok, detail = schema(results, "risk_limits")
    assert not ok and "cannot read the catalogue of KNKK: the technical user may not read it" in detail
    results = check(ecc, disabled=frozenset({"risk_limits"}))
    assert "stream risk_limits: schema" not in results
    assert all(ok for lines in results.values() for ok, _, _ in lines)


def test_without_dd03l_the_field_lists_still_prove_the_schema(ecc: EccEmulator) -> None:
    ecc.deny("DD03L")
    ecc.drop("VBAP", "KWMENG")
    ecc.retype("MARD", "LABST", "C", "CHAR")
    results = check(ecc)
    [(ok, warning, detail)] = results["data dictionary"]
    assert ok and warning and "DD03L is not readable" in detail
    assert "missing field KWMENG in VBAP" in schema(results, "orders")[1]
    assert "MARD.LABST is character data" in schema(results, "stock_levels")[1]


def test_a_system_with_the_extended_material_number_reads_the_same_products() -> None:
    with EccEmulator(SCENARIO, matnr_length=40) as wide:
        assert wide.db.stores["MARA"].table.by_name["MATNR"].length == 40
        results = check(wide)
        assert all(ok and not warning for lines in results.values() for ok, warning, _ in lines), results
        with source(wide) as adapter:
            stream = adapter.stream("products")
            codes = {stream.map(item).code for chunk in stream.read(None) for item in chunk}  # type: ignore[union-attr]
    assert codes == {p.record.code for p in SCENARIO.products}


# -- drift: what a sync reads is what the streams declare ------------------------------------------------------

_WORD = re.compile(r"'(?:[^']|'')*'|\b([A-Z_][A-Z0-9_]*)\b")
_SQL = {"AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "EQ", "NE", "GT", "GE", "LT", "LE"}


def _used(calls: list[EccRequest]) -> dict[str, set[str]]:
    """Table -> every field the calls read or selected by (NO_DATA field listings aside)."""
    out: dict[str, set[str]] = {}
    for call in calls:
        if call.function != "RFC_READ_TABLE" or not call.fields:
            continue
        names = out.setdefault(call.table, set())
        names.update(call.fields)
        names.update(m.group(1) for line in call.options for m in _WORD.finditer(line) if m.group(1))
    for names in out.values():
        names.difference_update(_SQL)
    return out


def _declared(reads: list[Read]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for read in reads:
        out.setdefault(read.table, set()).update(read.names, read.where)
    return out


def test_a_sync_reads_exactly_the_fields_its_streams_declare(ecc: EccEmulator) -> None:
    """Full and incremental reads, counts and fetches of every stream read only declared fields,
    and every declared field is read. Each stream runs in an adapter of its own: TCURX is read once per adapter."""
    since = dt.datetime(2026, 1, 1, tzinfo=TZ)
    with source(ecc) as adapter:
        names = [stream.name for stream in adapter.streams()]
    for name in names:
        with source(ecc) as adapter:
            stream = adapter.stream(name)
            assert isinstance(stream, EccStream)
            before = len(ecc.calls())
            keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
            list(stream.read(since))
            stream.count()
            list(stream.fetch(keys[:3]))
            used, declared = _used(ecc.calls()[before:]), _declared(stream.declared())
            for table, fields in used.items():
                assert fields <= declared.get(table, set()), (stream.name, table, fields - declared.get(table, set()))
            for table, fields in declared.items():
                present = {f.name for f in ecc.db.stores[table].table.fields}
                assert fields & present <= used.get(table, set()), (stream.name, table, fields - used.get(table, set()))


def test_the_census_and_check_read_only_what_they_declare(ecc: EccEmulator) -> None:
    with source(ecc) as adapter:
        before = len(ecc.calls())
        assert isinstance(adapter.source, EccSource)
        adapter.source.census(dt.date(2024, 1, 1))
        used = _used(ecc.calls()[before:])
        options = ecc.settings()["ecc"]
        declared = _declared(code_census.declared(options["condition_tables"], options["price_list_tables"]))
        assert used and all(fields <= declared[table] for table, fields in used.items()), used
        before = len(ecc.calls())
        adapter.check()
        assert _used(ecc.calls()[before:]) == {"DD03L": {*DD03L.names, "TABNAME", "AS4LOCAL"}}
