"""SAP in `dealersync demo` and the benchmark: the scenario served by the S/4HANA OData emulator.

The emulator runs in threads of this process, on a loopback port, for as long as the demo runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
from scenario.facts import Change, Scenario

__all__ = ["S4Demo", "open_demo"]


class S4Demo:
    """A DemoErp (scenario.demo) over a running S4Emulator."""

    def __init__(self, scenario: Scenario) -> None:
        self.emulator = S4Emulator(scenario).start()
        e = self.emulator
        self.description = f"an S/4HANA OData emulator at {e.url} (sap-client {e.client})"
        self.settings: dict[str, Any] = {
            "flavour": "s4_odata",
            "url": e.url,
            "sap_client": e.client,
            "auth": {"kind": "basic", "username": e.user, "password": e.password},
            "local_currency": scenario.local_currency,
            **DEMO_SETTINGS,
            "s4": {"plant": PLANT},
        }

    def apply(self, change: Change) -> None:
        self.emulator.apply(change)

    def close(self) -> None:
        self.emulator.close()


def open_demo(scenario: Scenario, directory: Path) -> S4Demo:
    """`directory` is unused: the emulator keeps the scenario in memory."""
    return S4Demo(scenario)
