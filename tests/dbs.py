"""Shared helpers for the Logo adapter tests (and the next SQL adapters): write a scenario, open an adapter, read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from connectors.base import SourceContext, Stream
from connectors.logo import LogoAdapter, LogoSettings
from connectors.logo.writer import LogoWriter
from mapping.errors import RecordError
from scenario.facts import Scenario
from scenario.generate import build


def write(url: str, scenario: Scenario, firm: int = 1, period: int = 1) -> LogoWriter:
    engine = sa.create_engine(url)
    writer = LogoWriter(engine, firm, period)
    writer.create_tables()
    writer.write(scenario)
    return writer


def logo_file(folder: Path, invoice_lines: int) -> Path:
    """A Logo SQLite database of a scenario of that size in `folder`, its engine closed (a test's child process,
    not this one, must be the last to hold it open)."""
    path = folder / "logo.db"
    writer = write(f"sqlite:///{path}", build(invoice_lines=invoice_lines))
    writer.engine.dispose()
    return path


def adapter(url: str, scenario: Scenario, chunk_size: int = 1000, **settings: Any) -> LogoAdapter:
    context = SourceContext("logo-test", ZoneInfo(scenario.timezone), chunk_size)
    # The writer lays percent and amount rules into the discount view an integrator would define (README).
    defaults = {"firm": 1, "periods": [1], "discount_view": "DEALERSYNC_DISCOUNTS"}
    return LogoAdapter(context, LogoSettings(url=url, **{**defaults, **settings}))


def read(stream: Stream, since: dt.datetime | None = None) -> list[tuple[str, Any, dt.datetime | None]]:
    """(key, record, cursor) of every item, mapped."""
    return [(stream.key(item), stream.map(item), stream.cursor(item)) for chunk in stream.read(since) for item in chunk]


def records(stream: Stream, since: dt.datetime | None = None) -> list[Any]:
    return [record for _, record, _ in read(stream, since)]


def first_record_error(stream: Stream) -> RecordError:
    """The RecordError of the first item `stream` cannot map (a test has broken one)."""
    for chunk in stream.read(None):
        for item in chunk:
            try:
                stream.map(item)
            except RecordError as exc:
                return exc
    raise AssertionError("no bad row")
