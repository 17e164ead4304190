"""Lay the SQLite copy of an ERP's tables (what `dealersync demo` writes) into a fresh PostgreSQL database.

The tables are created from the ERP writer's own SQLAlchemy definitions (their types, keys and indexes, as the
tests lay them into PostgreSQL), the rows are read back through those definitions (so SQLite's DATETIME text
becomes timestamps again) and sent with COPY; then the database is analysed, so that the planner has statistics
as it would on a live ERP.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

__all__ = ["drop_database", "lay_into_postgresql"]

COPY_ROWS = 20_000  # rows fetched from SQLite at a time


def _admin(admin_url: str) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def drop_database(admin_url: str, name: str) -> None:
    admin = _admin(admin_url)
    try:
        with admin.connect() as conn:
            # WITH (FORCE): a pooled connection left by a failed run must not keep the database alive.
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def lay_into_postgresql(sqlite_file: Path, definitions: Iterable[sa.MetaData], admin_url: str, database: str) -> str:
    """Copy every table of `sqlite_file` into `database` (dropped and created anew) on the server of
    `admin_url`; returns the new database's URL. A table no definition describes is an error: its types
    would be guesses."""
    source = sa.create_engine(f"sqlite:///{sqlite_file}")
    try:
        present = set(sa.inspect(source).get_table_names())
        known = {table.name: table for metadata in definitions for table in metadata.sorted_tables}
        unknown = sorted(present - set(known))
        if unknown:
            raise ValueError(f"{sqlite_file.name}: no definition for table(s) {', '.join(unknown)}")
        tables = [table for name, table in known.items() if name in present]
        drop_database(admin_url, database)
        admin = _admin(admin_url)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        finally:
            admin.dispose()
        url = sa.make_url(admin_url).set(database=database).render_as_string(hide_password=False)
        target = sa.create_engine(url)
        try:
            for table in tables:
                table.create(target)
                _copy(source, target, table)
            with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        finally:
            target.dispose()
        return url
    finally:
        source.dispose()


def _copy(source: sa.Engine, target: sa.Engine, table: sa.Table) -> None:
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(column.name) for column in table.columns)
    )
    with source.connect() as reading, target.begin() as writing:
        rows = reading.execution_options(yield_per=COPY_ROWS).execute(sa.select(table))
        cursor = writing.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
