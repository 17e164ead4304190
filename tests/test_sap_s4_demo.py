"""`dealersync demo --erp sap`'s hook: open_demo starts the S/4 emulator and hands out settings that work."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.base import SourceContext
from connectors.census import census_warnings
from connectors.registry import load
from connectors.sap.demo import open_demo
from scenario.generate import build


def test_open_demo_serves_the_scenario_and_its_changes(tmp_path: Path) -> None:
    scenario = build(invoice_lines=300)
    demo = open_demo(scenario, tmp_path)
    try:
        adapter_type = load("sap")
        settings = adapter_type.Settings(**demo.settings)
        with adapter_type(SourceContext("sap-demo", ZoneInfo(scenario.timezone)), settings) as source:
            assert all(r.ok and not r.warning for r in source.check())
            counts = source.census(None)
            assert counts and census_warnings(counts) == [] and all(c.reading for c in counts)
            invoices = source.stream("invoices")
            before = {invoices.map(i).number for chunk in invoices.read(None) for i in chunk}
            new = next(c.invoice for c in scenario.changes if c.kind == "new_invoice")
            assert new is not None and new.number not in before
            demo.apply(next(c for c in scenario.changes if c.kind == "new_invoice"))
            after = {invoices.map(i).number for chunk in invoices.read(None) for i in chunk}
        assert after == before | {new.number}
        assert "S/4HANA OData emulator" in demo.description
    finally:
        demo.close()
