"""Shared helpers for the Mikro adapter tests: write a scenario, open an adapter, read."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from connectors.base import SourceContext, Stream
from connectors.mikro import MikroAdapter, MikroSettings, codes
from connectors.mikro.writer import MikroWriter
from scenario.facts import Scenario


def write(url: str, scenario: Scenario) -> MikroWriter:
    writer = MikroWriter(sa.create_engine(url))
    writer.create_tables()
    writer.write(scenario)
    return writer


def vat_settings(url: str) -> dict[str, Any]:
    """SQLite holds no stored function: there the pointers' rates come from the settings. PostgreSQL
    has dbo.fn_VergiYuzde as on SQL Server; MariaDB keeps it in the database itself (no dbo schema)."""
    backend = sa.make_url(url).get_backend_name()
    if backend == "sqlite":
        return {"vat_rates": dict(codes.OBSERVED_VAT_RATES)}
    if backend in ("mysql", "mariadb"):
        return {"vat_function": "fn_VergiYuzde"}
    return {}


def adapter(url: str, scenario: Scenario, chunk_size: int = 1000, **settings: Any) -> MikroAdapter:
    context = SourceContext("mikro-test", ZoneInfo(scenario.timezone), chunk_size)
    return MikroAdapter(context, MikroSettings(url=url, **{**vat_settings(url), **settings}))


def read(stream: Stream, since: dt.datetime | None = None) -> list[tuple[str, Any, dt.datetime | None]]:
    """(key, record, cursor) of every item, mapped."""
    return [(stream.key(item), stream.map(item), stream.cursor(item)) for chunk in stream.read(since) for item in chunk]


def records(stream: Stream, since: dt.datetime | None = None) -> list[Any]:
    """The mapped records; items deleted at the source (map() -> None) left out."""
    return [record for _, record, _ in read(stream, since) if record is not None]
