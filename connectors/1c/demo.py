"""1C in `dealersync demo --erp 1c` and the benchmark: the scenario served by the OData emulator on loopback."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from scenario.facts import Change, Scenario

from .emulator import OneCEmulator

__all__ = ["OneCDemo", "open_demo"]


class OneCDemo:
    """The emulator in this process (a УТ 11 layout), with a password made up for this run."""

    def __init__(self, scenario: Scenario) -> None:
        self.emulator = OneCEmulator(scenario, configuration="ut11", password=secrets.token_urlsafe(12)).start()
        self.description = f"a 1C:Enterprise standard OData interface emulator (УТ 11) at {self.emulator.url}"
        self.settings: dict[str, Any] = self.emulator.settings()
        self.local_currency = "RUB"  # the emulator labels the scenario's local amounts as roubles

    def apply(self, change: Change) -> None:
        self.emulator.apply(change)

    def close(self) -> None:
        self.emulator.close()


def open_demo(scenario: Scenario, directory: Path) -> OneCDemo:
    """`directory` holds the demo's config and feed; the emulator keeps its data in memory."""
    return OneCDemo(scenario)
