"""1C in `dealersync demo --erp 1c` and the benchmark: the scenario served by the OData emulator on loopback."""

from __future__ import annotations

import secrets
from pathlib import Path

from scenario.demo import EmulatorDemo
from scenario.facts import Scenario

from .emulator import OneCEmulator

__all__ = ["open_demo"]


def open_demo(scenario: Scenario, directory: Path) -> EmulatorDemo:
    """A УТ 11 layout with a password made up for this run; `directory` is unused (the data is in memory)."""
    e = OneCEmulator(scenario, configuration="ut11", password=secrets.token_urlsafe(12)).start()
    description = f"a 1C:Enterprise standard OData interface emulator (УТ 11) at {e.url}"
    # The emulator labels the scenario's local amounts as roubles.
    return EmulatorDemo(e, description, e.settings(), local_currency="RUB")
