"""check's proof of a Netsis source's schema: every column each enabled stream reads, in every database it reads.

A stream's statements (and the census's statements of its codes) give the columns it uses
(connectors.sql_schema.needs); each table is then looked up in the catalogue of every database the
stream reads it from: the yearly databases for documents and cards, the master database for
balances, the rates database for DOVIZ. Tables are named with their database ("TBLSTHAR (database
GIDA2025)"), so one line per stream lists every problem in every database at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ClauseElement

from connectors.base import CheckResult
from connectors.catalog import Catalogue, Need, verify
from connectors.netsis.scopes import NetsisEnv
from connectors.netsis.streams import NetsisStream
from connectors.sql import describe_db_error
from connectors.sql_schema import catalogue, full_name, needs

__all__ = ["labelled", "verify_schema"]

_CANCEL_TABLES = ("TBLFATUIRS", "TBLSIPAMAS", "TBLCAHAR")


def labelled(table: str, database: str) -> str:
    return f"{table} (database {database})"


def _remaps(env: NetsisEnv) -> dict[tuple[str, str], str]:
    """The settings that rename or drop a column other than `columns`: the cancel flag, the line stamps."""
    out: dict[tuple[str, str], str] = {}
    for table in env.tables.all():
        for column in table.columns:
            if "remap" in column.info:
                out[(full_name(table), column.name)] = str(column.info["remap"])
    cancel = env.tables.cancel_column
    if cancel is not None:
        for name in _CANCEL_TABLES:
            out[(name, cancel)] = "cancelled_column: <the column marking cancelled documents, or null>"
    return out


def _by_database(
    env: NetsisEnv, streams: Iterable[NetsisStream], extra: Mapping[str, Sequence[ClauseElement]]
) -> tuple[dict[str, list[Need]], dict[str, set[str]]]:
    """Each stream's needs with their tables labelled by database, and the tables to look up per database."""
    rates = {full_name(env.rates.DOVIZ)}
    remaps = _remaps(env)
    per_stream: dict[str, list[Need]] = {}
    per_database: dict[str, set[str]] = {}
    for stream in streams:
        out: list[Need] = []
        own = [db.name for db in stream.databases()]
        for need in needs([*stream.statements(), *extra.get(stream.name, ())]):
            names = [env.settings.rates_database] if need.container in rates else own
            remap = remaps.get((need.container, need.name), need.remap)
            for name in names:
                out.append(dataclasses.replace(need, container=labelled(need.container, name), remap=remap))
                per_database.setdefault(name, set()).add(need.container)
        per_stream[stream.name] = out
    return per_stream, per_database


def verify_schema(
    env: NetsisEnv,
    streams: Sequence[NetsisStream],
    extra: Mapping[str, Sequence[ClauseElement]],
    secrets: Iterable[str] = (),
) -> tuple[list[CheckResult], set[str]]:
    """check's schema lines (one per stream, plus warnings for optional columns) and the streams that failed."""
    per_stream, per_database = _by_database(env, streams, extra)
    engines: dict[str, sa.Engine] = {db.name: db.engine for db in env.databases}
    engines.setdefault(env.settings.rates_database, env.rates_engine)
    found = Catalogue()
    for name, containers in per_database.items():
        try:
            with engines[name].connect() as conn:
                part = catalogue(conn, containers)
        except (SQLAlchemyError, OSError) as exc:
            why = describe_db_error(exc, secrets)
            found.unreadable.update({labelled(c, name): why for c in containers})
            continue
        found.case_sensitive = part.case_sensitive
        found.containers.update({labelled(c, name): columns for c, columns in part.containers.items()})
        found.unreadable.update({labelled(c, name): why for c, why in part.unreadable.items()})
    results = verify(per_stream, found)
    failed = {name for name in per_stream if any(not r.ok and r.name == f"stream {name}: schema" for r in results)}
    return results, failed
