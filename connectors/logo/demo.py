"""Logo in `dealersync demo` and the benchmark: the scenario in a SQLite copy of firm 001, period 01."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from connectors.logo.writer import LogoWriter
from scenario.demo import SqlDemo
from scenario.facts import Scenario


def open_demo(scenario: Scenario, directory: Path) -> SqlDemo:
    def writer(engine: Engine) -> LogoWriter:
        return LogoWriter(engine, firm=1, period=1)

    # The writer lays percent and amount rules into the table a real install's integrator would define as the
    # discount view (README): the demo reads it like one.
    settings = {"firm": 1, "periods": [1], "discount_view": "DEALERSYNC_DISCOUNTS"}
    return SqlDemo("logo", scenario, directory, writer, settings, "Logo")
