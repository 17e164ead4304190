"""Shared helpers for the Mikro adapter tests: write a scenario, open an adapter, read, edit rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from connectors.base import SourceContext, Stream
from connectors.mikro import MikroAdapter, MikroSettings, codes
from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer import MikroSite, MikroWriter
from scenario.facts import Scenario

# The site the tests lay out by default: what the research saw real sites write.
SITE = MikroSite()


def write(url: str, scenario: Scenario, site: MikroSite = SITE) -> MikroWriter:
    writer = MikroWriter(sa.create_engine(url), site=site)
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


def adapter(
    url: str, scenario: Scenario, chunk_size: int = 1000, site: MikroSite | None = SITE, **settings: Any
) -> MikroAdapter:
    """An adapter on `url` with the settings that read `site` (None: the adapter's own defaults)."""
    context = SourceContext("mikro-test", ZoneInfo(scenario.timezone), chunk_size)
    readings = site.settings() if site is not None else {}
    return MikroAdapter(context, MikroSettings(url=url, **{**vat_settings(url), **readings, **settings}))


def read(stream: Stream, since: dt.datetime | None = None) -> list[tuple[str, Any, dt.datetime | None]]:
    """(key, record, cursor) of every item, mapped."""
    return [(stream.key(item), stream.map(item), stream.cursor(item)) for chunk in stream.read(since) for item in chunk]


def records(stream: Stream, since: dt.datetime | None = None) -> list[Any]:
    """The mapped records; items deleted at the source (map() -> None) left out."""
    return [record for _, record, _ in read(stream, since) if record is not None]


def edit(url: str, table: str, values: dict[str, Any], where: Callable[[Any], Any] | None = None) -> int:
    """UPDATE a Mikro table of the database at `url`; the number of rows changed."""
    t = getattr(mikro_tables(sa.MetaData()), table)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        stmt = t.update().values(values)
        done = conn.execute(stmt if where is None else stmt.where(where(t.c))).rowcount
    engine.dispose()
    return int(done)


def insert(url: str, table: str, row: dict[str, Any]) -> None:
    """INSERT one row, every column the row leaves out set to Mikro's blank for its type."""
    t = getattr(mikro_tables(sa.MetaData()), table)
    blanks = {c.name: "" if isinstance(c.type, sa.String) else 0 for c in t.columns if not isinstance(c.type, sa.Uuid)}
    for c in t.columns:
        if isinstance(c.type, sa.DateTime):
            blanks[c.name] = codes.NO_DATE
        elif isinstance(c.type, sa.Boolean):
            blanks[c.name] = False
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(t.insert().values({**blanks, **row}))
    engine.dispose()
