"""The scenario laid into one ERP, for `dealersync demo` and the benchmark.

Each ERP folder that can host a demo has a `demo.py` with

    def open_demo(scenario: Scenario, directory: Path) -> DemoErp

which builds the ERP's side (a SQLite copy of its tables, or an emulator serving its API on
loopback) and returns a DemoErp. SQL ERPs use SqlDemo with their scenario writer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from scenario.facts import Change, Scenario

__all__ = ["DemoErp", "EmulatorDemo", "SqlDemo", "Writer"]


class DemoErp(Protocol):
    """An ERP holding the scenario, as the demo and the benchmark drive it."""

    description: str  # e.g. "a SQLite copy of Logo's tables (logo.db)"
    settings: dict[str, Any]  # the adapter settings of a source reading it (the config's source keys)
    # An ERP that labels the scenario's local amounts with another currency (1C: RUB) also sets
    # `local_currency`; the demo reads it with getattr, defaulting to the scenario's.

    def apply(self, change: Change) -> None:
        """Make one of the scenario's later edits in the ERP."""

    def close(self) -> None:
        """Stop servers, release connections."""


class Writer(Protocol):
    def create_tables(self) -> None: ...
    def write(self, scenario: Scenario) -> None: ...
    def apply(self, change: Change) -> None: ...


class SqlDemo:
    """A SQLite file `<erp>.db` in `directory`, filled by the ERP's scenario writer."""

    def __init__(
        self,
        erp: str,
        scenario: Scenario,
        directory: Path,
        make_writer: Callable[[sa.Engine], Writer],
        settings: dict[str, Any],
        label: str,
    ) -> None:
        path = directory / f"{erp}.db"
        self.engine = sa.create_engine(f"sqlite:///{path}")
        self.writer = make_writer(self.engine)
        self.writer.create_tables()
        self.writer.write(scenario)
        self.description = f"a SQLite copy of {label}'s tables ({path.name})"
        # Relative to the config file's folder, where the demo and the benchmark write their config.
        self.settings = {"url": f"sqlite:///{path.name}", **settings}

    def apply(self, change: Change) -> None:
        self.writer.apply(change)

    def close(self) -> None:
        self.engine.dispose()


class Emulator(Protocol):
    def apply(self, change: Change) -> None: ...
    def close(self) -> None: ...


class EmulatorDemo:
    """A running ERP emulator (SAP, 1C) in this process, on loopback, for as long as the demo runs."""

    def __init__(
        self, emulator: Emulator, description: str, settings: dict[str, Any], local_currency: str | None = None
    ) -> None:
        self.emulator = emulator
        self.description = description
        self.settings = settings
        if local_currency is not None:
            self.local_currency = local_currency

    def apply(self, change: Change) -> None:
        self.emulator.apply(change)

    def close(self) -> None:
        self.emulator.close()
