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

    return SqlDemo("logo", scenario, directory, writer, {"firm": 1, "periods": [1]}, "Logo")
