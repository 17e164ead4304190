"""Shared helpers for the Netsis adapter tests: databases on SQLite/PostgreSQL/MariaDB, write a scenario, read.

A Netsis source spans a company's yearly databases plus the NETSIS system database (rates). On
SQLite each database is a file `<name>.db` in one folder; on the servers each is a throwaway
database, and the settings name them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from connectors.base import SourceContext, Stream
from connectors.netsis import NetsisAdapter, NetsisSettings
from connectors.netsis.writer import NetsisWriter
from scenario.facts import Scenario
from tests.conftest import database_url

# A site whose tables carry what the vendor's lack (the reference's layout): record stamps on the item cards and
# a cancel flag (a user-defined IPTAL column), read with `cancelled_column: IPTAL`.
STAMPED_SITE: dict[str, Any] = {"cancel_column": "IPTAL", "without": frozenset()}


@dataclass
class Server:
    """Databases on one backend: `url(name)` for a database the test named, created on first use."""

    backend: str
    folder: Path
    stack: ExitStack = field(default_factory=ExitStack)
    urls: dict[str, str] = field(default_factory=dict)

    def url(self, name: str) -> str:
        if name not in self.urls:
            self.urls[name] = self.stack.enter_context(database_url(self.backend, self.folder, name))
        return self.urls[name]

    def database(self, name: str) -> str:
        """The name the server knows the database by (a throwaway name on the servers)."""
        url = sa.make_url(self.url(name))
        return Path(url.database or "").stem if self.backend == "sqlite" else str(url.database)

    def close(self) -> None:
        self.stack.close()


def server(backend: str, folder: Path) -> Server:
    """Databases of one test on `backend`; on SQLite, files in a fresh subfolder of `folder`."""
    own = folder / uuid.uuid4().hex[:8]
    own.mkdir()
    return Server(backend, own)


def write(company_url: str, scenario: Scenario, rates_url: str | None = None, **options: Any) -> NetsisWriter:
    writer = NetsisWriter(
        sa.create_engine(company_url), rates_engine=sa.create_engine(rates_url or company_url), **options
    )
    writer.create_tables()
    writer.write(scenario)
    return writer


def adapter(url: str, scenario: Scenario, chunk_size: int = 1000, **settings: Any) -> NetsisAdapter:
    context = SourceContext("netsis-test", ZoneInfo(scenario.timezone), chunk_size)
    return NetsisAdapter(context, NetsisSettings(url=url, **settings))


def read(stream: Stream, since: dt.datetime | None = None) -> list[tuple[str, Any, dt.datetime | None]]:
    """(key, record, cursor) of every item, mapped."""
    return [(stream.key(item), stream.map(item), stream.cursor(item)) for chunk in stream.read(since) for item in chunk]


def records(stream: Stream, since: dt.datetime | None = None) -> list[Any]:
    return [record for _, record, _ in read(stream, since)]


def alter_columns(url: str, *changes: tuple[str, str, str | None]) -> None:
    """(table, column, None) drops a column; (table, column, new) renames it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        q = conn.dialect.identifier_preparer.quote
        for table, column, new in changes:
            if new is None:
                conn.execute(sa.text(f"ALTER TABLE {q(table)} DROP COLUMN {q(column)}"))
            else:
                conn.execute(sa.text(f"ALTER TABLE {q(table)} RENAME COLUMN {q(column)} TO {q(new)}"))
    engine.dispose()


def missing_columns(detail: str, table: str) -> set[str]:
    """The columns a check line says `table` lacks."""
    found = re.search(rf"missing columns? ([A-Z0-9_, ]+) in {re.escape(table)}", detail)
    return set() if found is None else {name.strip() for name in found.group(1).split(",")}
