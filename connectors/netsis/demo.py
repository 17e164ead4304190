"""Netsis in `dealersync demo` and the benchmark: the scenario in a SQLite copy of one company database.

The demo keeps the exchange rates (DOVIZ) in the same file, so the source reads its rates from
its own database (`rates_database: netsis`, the file's name) instead of a separate NETSIS one.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from connectors.netsis.writer import NetsisWriter
from scenario.demo import SqlDemo
from scenario.facts import Scenario


def open_demo(scenario: Scenario, directory: Path) -> SqlDemo:
    return SqlDemo("netsis", scenario, directory, _writer, {"rates_database": "netsis"}, "Netsis")


def _writer(engine: Engine) -> NetsisWriter:
    return NetsisWriter(engine)
