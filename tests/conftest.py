"""Shared fixtures and helpers: throwaway databases on the local PostgreSQL and MariaDB servers.

Tests that need a server skip with the reason when it is not reachable; .ci/run
starts both servers first, so in CI they run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
MARIADB_URL_TEMPLATE = "mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
# The kinds database_url makes, for tests parametrised over every backend.
DATABASE_KINDS = ("sqlite", "postgresql", "mariadb")


@contextmanager
def throwaway_database(admin_url: str, url_template: str, label: str) -> Iterator[str]:
    """A fresh, empty database on the server behind `admin_url`, dropped on exit.

    `url_template` is the new database's URL with `{name}` where its (random) name goes; `label`
    names the server in the skip reason: the calling test skips when the server cannot be reached.
    """
    name = f"ds_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # any failure to reach the server means skip
        pytest.skip(f"{label} not reachable ({admin_url.split('@')[-1]}): {type(exc).__name__}: {exc}".strip()[:300])
    # A connection left open by the test (a pooled engine) must not keep PostgreSQL from dropping it.
    force = " WITH (FORCE)" if make_url(admin_url).get_backend_name() == "postgresql" else ""
    try:
        yield url_template.format(name=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


@contextmanager
def database_url(kind: str, tmp_path: Path, name: str | None = None) -> Iterator[str]:
    """The URL of a fresh database of `kind` (one of DATABASE_KINDS).

    SQLite: the file `<name>.db` in `tmp_path` (a random name by default), left to tmp_path's cleanup.
    PostgreSQL, MariaDB: a throwaway database on the local server whatever `name` says, dropped on
    exit; the test skips when the server is down.
    """
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name or uuid.uuid4().hex[:8]}.db'}"
    elif kind == "postgresql":
        with throwaway_database(PG_ADMIN_URL, PG_URL_TEMPLATE, "PostgreSQL") as url:
            yield url
    elif kind == "mariadb":
        with throwaway_database(MARIADB_ADMIN_URL, MARIADB_URL_TEMPLATE, "MariaDB") as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}: one of {', '.join(DATABASE_KINDS)}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    with throwaway_database(PG_ADMIN_URL, PG_URL_TEMPLATE, "PostgreSQL") as url:
        yield url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database, dropped afterwards."""
    with throwaway_database(MARIADB_ADMIN_URL, MARIADB_URL_TEMPLATE, "MariaDB") as url:
        yield url
