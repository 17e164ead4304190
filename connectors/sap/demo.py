"""SAP in `dealersync demo` and the benchmark: the scenario served by the S/4HANA OData emulator.

The emulator runs in threads of this process, on a loopback port, for as long as the demo runs.
"""

from __future__ import annotations

from pathlib import Path

from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, RATES, S4Emulator
from scenario.demo import EmulatorDemo
from scenario.facts import Scenario

__all__ = ["open_demo"]


def open_demo(scenario: Scenario, directory: Path) -> EmulatorDemo:
    """`directory` is unused: the emulator keeps the scenario in memory."""
    e = S4Emulator(scenario).start()
    settings = {
        "flavour": "s4_odata",
        "url": e.url,
        "sap_client": e.client,
        "auth": {"kind": "basic", "username": e.user, "password": e.password},
        "local_currency": scenario.local_currency,
        **DEMO_SETTINGS,
        "s4": {"plant": PLANT, "exchange_rates": RATES},
    }
    return EmulatorDemo(e, f"an S/4HANA OData emulator at {e.url} (sap-client {e.client})", settings)
