"""Mikro in `dealersync demo` and the benchmark: the scenario in a SQLite copy of a company database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from connectors.mikro import codes
from connectors.mikro.writer import MikroSite, MikroWriter
from scenario.demo import SqlDemo
from scenario.facts import Scenario


def open_demo(scenario: Scenario, directory: Path) -> SqlDemo:
    site = MikroSite()

    def writer(engine: Engine) -> MikroWriter:
        return MikroWriter(engine, site=site)

    # SQLite has no stored functions, so the VAT pointers' rates come from the settings here; the site's
    # own readings (a passive product is sto_pasif_fl 1 there) too.
    vat_rates = {str(pointer): str(rate) for pointer, rate in codes.OBSERVED_VAT_RATES.items()}
    return SqlDemo("mikro", scenario, directory, writer, {"vat_rates": vat_rates, **site.settings()}, "Mikro")
