"""Where a Netsis source reads: its company databases (one per fiscal year) and the rates database.

Netsis creates a new database for each company and year ("GIDA2025", "GIDA2026"); the new year
starts as a copy of the old one's cards (accounts, products, conditions) without its documents.
So documents live in exactly one database and are keyed by it, while cards exist in every
year: they are read from the master database (the current year, by default) and keyed by the
company, so a card is one record however many years hold it, and the year rollover changes no key.

Every database is reached through its own engine on the same server and login (on SQLite, the
tests and the demo, a database is a file `<name>.db` beside the url's file). Each engine reads the
columns its database lacks around (connectors.sql_schema.read_around): optional ones as NULL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError

from connectors.base import ConnectorError
from connectors.catalog import Catalogue
from connectors.netsis import codes
from connectors.netsis.rates import RateBook
from connectors.netsis.settings import NetsisSettings
from connectors.netsis.tables import NetsisTables, RatesTables, netsis_tables, rates_tables
from connectors.sql import make_engine
from connectors.sql_schema import catalogue, full_name, read_around
from mapping.text import flag, repair_turkish

__all__ = ["Database", "NetsisEnv", "database_names", "database_url", "open_env"]


@dataclass(frozen=True)
class Database:
    name: str
    engine: Engine


def _parse(url: str | URL) -> URL:
    try:
        return sa.make_url(url)
    except ArgumentError as exc:
        raise ConnectorError(f"the database URL is not valid: {exc}") from None


def own_database(url: str | URL) -> str | None:
    """The database the url names (for SQLite, the file's name without its suffix)."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).stem if parsed.database and parsed.database != ":memory:" else None
    return parsed.database


def database_url(url: str | URL, name: str) -> URL:
    """The url of another database on the same server (for SQLite: `<name>.db` in the same folder)."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        return parsed.set(database=str(path.with_name(f"{name}{path.suffix or '.db'}")))
    if "odbc_connect" in parsed.query:
        raise ConnectorError(
            "with odbc_connect the database cannot be switched per year: write the url as "
            "mssql+pyodbc://user@host/DATABASE?driver=... and list the years in 'databases'"
        )
    return parsed.set(database=name)


def database_names(settings: NetsisSettings) -> list[str]:
    """The company databases, oldest first."""
    if settings.databases:
        return list(settings.databases)
    own = own_database(settings.url)
    if not own:
        raise ConnectorError("the url names no database: add it to the url or list the years in 'databases'")
    return [own]


def _identity(value: str | None) -> str | None:
    return value


@dataclass(frozen=True)
class NetsisEnv:
    """Everything a stream needs, resolved once from the settings."""

    settings: NetsisSettings
    databases: tuple[Database, ...]  # oldest first
    master: Database
    company: str
    tables: NetsisTables
    rates_engine: Engine
    rates: RatesTables
    tz: ZoneInfo
    chunk_size: int
    currencies: Mapping[int, str]  # Netsis number -> ISO, including 0 -> the local currency
    text: Callable[[str | None], str | None]  # the Turkish repair, or nothing
    catalogues: dict[str, Catalogue] = field(default_factory=dict)  # database -> its tables' columns, once asked

    def columns(self, db: Database, table: sa.Table) -> Catalogue:
        """The catalogue of `db` for the company tables (read once per database and env)."""
        if db.name not in self.catalogues:
            with db.engine.connect() as conn:
                self.catalogues[db.name] = catalogue(conn, [full_name(t) for t in self.tables.all()])
        return self.catalogues[db.name]

    def has(self, db: Database, table: sa.Table, *columns: str) -> bool:
        """Whether `db`'s `table` has every one of `columns` (names as the tables declare them)."""
        found = self.columns(db, table)
        return all(found.kind_of(full_name(table), table.c[c].name) is not None for c in columns)

    def by_priority(self) -> tuple[Database, ...]:
        """Databases in the order cards are taken from: the master, then the others newest first."""
        others = [db for db in reversed(self.databases) if db is not self.master]
        return (self.master, *others)

    def rate_book(self) -> RateBook:
        s = self.settings
        return RateBook(self.rates_engine, self.rates.DOVIZ, s.rate_column, s.rates_database, self.currencies)

    def cancelled(self, value: object) -> bool:
        """The install's cancel flag (cancelled_column; NULL everywhere when there is none): cancelled_value, or
        one of Netsis's "no" values (H, blank, NULL; 0 where the flag is numeric); anything else is an error."""
        yes = self.settings.cancelled_value
        return flag(value, "cancelled", (yes,), tuple(v for v in (codes.NO, "0", *codes.NOT_SET) if v != yes))

    def dispose(self) -> None:
        for engine in self.engines():
            engine.dispose()

    def engines(self) -> list[Engine]:
        unique: dict[int, Engine] = {}
        for engine in (*(db.engine for db in self.databases), self.rates_engine):
            unique[id(engine)] = engine
        return list(unique.values())


def _fixed(tables: Iterable[sa.Table]) -> Callable[[], list[sa.Table]]:
    served = list(tables)
    return lambda: served


def open_env(settings: NetsisSettings, tz: ZoneInfo, chunk_size: int) -> NetsisEnv:
    names = database_names(settings)
    master_name = settings.master_database or names[-1]
    if master_name not in names:
        raise ConnectorError(f"master_database {master_name!r} is not one of the source's databases {names}")
    secret = settings.secret()
    engines: dict[str, Engine] = {}

    def engine(name: str) -> Engine:
        if name not in engines:
            url = database_url(settings.url, name)
            engines[name] = make_engine(url, secret, settings.connect_timeout_seconds, read_only=True)
        return engines[name]

    databases = tuple(Database(name, engine(name)) for name in names)
    master = next(db for db in databases if db.name == master_name)
    currencies = {**settings.currency_codes, codes.LOCAL_CURRENCY_CODE: settings.local_currency}
    tables = netsis_tables(sa.MetaData(), settings.cancelled_column, settings.columns, line_stamps=settings.line_stamps)
    rates = rates_tables(sa.MetaData(), settings.columns)
    rates_engine = engine(settings.rates_database)
    for name, each in engines.items():
        # One rewrite per engine, over every table it serves (the demo keeps DOVIZ in the company file).
        served: list[sa.Table] = []
        if name in names:
            served += tables.all()
        if each is rates_engine:
            served.append(rates.DOVIZ)
        read_around(each, _fixed(served))
    return NetsisEnv(
        settings=settings,
        databases=databases,
        master=master,
        company=settings.company or codes.company_of(master_name),
        tables=tables,
        rates_engine=rates_engine,
        rates=rates,
        tz=tz,
        chunk_size=chunk_size,
        currencies=currencies,
        text=repair_turkish if settings.repair_turkish else _identity,
    )
