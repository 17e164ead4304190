"""Shared fixtures: throwaway databases on the local PostgreSQL and MariaDB servers.

Tests that need a server skip with the reason when it is not reachable; .ci/run
starts both servers first, so in CI they run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/"


def _throwaway_database(admin_url: str, make_url: str, label: str) -> Iterator[str]:
    name = f"ds_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # any failure to reach the server means skip
        pytest.skip(f"{label} not reachable ({admin_url.split('@')[-1]}): {type(exc).__name__}: {exc}".strip()[:300])
    try:
        yield make_url.format(name=name)
    finally:
        with admin.connect() as conn:
            if label == "PostgreSQL":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    yield from _throwaway_database(PG_ADMIN_URL, "postgresql+psycopg://postgres@127.0.0.1:5432/{name}", "PostgreSQL")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database, dropped afterwards."""
    yield from _throwaway_database(
        MARIADB_ADMIN_URL, "mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4", "MariaDB"
    )
