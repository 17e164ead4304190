"""connectors.sql.bulk_insert, the scenario writers' executemany at the driver: on SQLite (positional and
named parameters), PostgreSQL and MariaDB (the servers skip, with the reason, when not reachable)."""

from __future__ import annotations

import copy
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sql import bulk_insert, for_refs, keyset_chunks, make_engine
from tests.conftest import DATABASE_KINDS, database_url

METADATA = sa.MetaData()
ITEMS = sa.Table(
    "items",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(40)),
    sa.Column("unit price", sa.Float),  # a bind name differs from the column: %(unit_price)s, :unit_price
    sa.Column("active", sa.Boolean),
    sa.Column("at", sa.DateTime),
)
NO_DATE = dt.datetime(1899, 12, 30)
AT = dt.datetime(2026, 3, 4, 5, 6, 7)


@pytest.fixture(params=[*DATABASE_KINDS, "sqlite-named"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database holding ITEMS; "sqlite-named" drives sqlite3 with :name parameters instead of ?."""
    kind, _, style = request.param.partition("-")
    with database_url(kind, tmp_path) as url:
        engine = sa.create_engine(url, **({"paramstyle": style} if style else {}))
        METADATA.create_all(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'items.db'}")
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def _stored(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(ITEMS).order_by(ITEMS.c.id))]


def test_a_missing_column_is_null_or_its_default(engine: sa.Engine) -> None:
    full = {"id": 1, "name": "full", "unit price": 2.5, "active": True, "at": AT}
    rows = [full, {"id": 2, "name": "sparse"}, {"id": 3, "active": False, "at": None}]
    blanks = {"name": "", "unit price": 0.0, "active": False, "at": NO_DATE}
    given = copy.deepcopy(rows)
    with engine.begin() as conn:
        bulk_insert(conn, ITEMS, rows)
        bulk_insert(conn, ITEMS, [{**row, "id": row["id"] + 10} for row in rows], defaults=blanks)
    assert rows == given  # the caller's rows are not processed in place
    nothing = {"name": None, "unit price": None, "active": None, "at": None}
    assert _stored(engine) == [
        full,
        {**nothing, "id": 2, "name": "sparse"},
        {**nothing, "id": 3, "active": False},
        {**full, "id": 11},
        {**blanks, "id": 12, "name": "sparse"},
        {**blanks, "id": 13, "at": None},  # a value the row sets, None included, beats the default
    ]


def test_datetimes_are_stored_as_core_stores_them_on_sqlite(sqlite: sa.Engine) -> None:
    """SQLite keeps DATETIME as text in SQLAlchemy's format; readers compare against that text."""
    at = AT.replace(microsecond=123456)
    with sqlite.begin() as conn:
        bulk_insert(conn, ITEMS, [{"id": 1, "at": at}, {"id": 2}], defaults={"at": NO_DATE})
        conn.execute(ITEMS.insert(), [{"id": 3, "at": at}, {"id": 4, "at": NO_DATE}])
        raw = conn.exec_driver_sql("SELECT typeof(at), at FROM items ORDER BY id").all()
        later = conn.execute(sa.select(ITEMS.c.id).where(ITEMS.c.at >= at).order_by(ITEMS.c.id)).scalars().all()
    assert raw[0] == raw[2] == ("text", "2026-03-04 05:06:07.123456")
    assert raw[1] == raw[3]
    assert [row["at"] for row in _stored(sqlite)] == [at, NO_DATE, at, NO_DATE]
    assert later == [1, 3]


@pytest.mark.parametrize(("count", "batches"), [(0, []), (1, [1]), (3, [3]), (4, [3, 1]), (7, [3, 3, 1])])
def test_rows_go_to_the_driver_in_chunks(sqlite: sa.Engine, count: int, batches: list[int]) -> None:
    sizes: list[int] = []

    @sa.event.listens_for(sqlite, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if statement.startswith("INSERT"):
            sizes.append(len(parameters) if many else 1)

    rows = [{"id": n, "name": f"item {n}", "at": AT + dt.timedelta(days=n)} for n in range(count)]
    with sqlite.begin() as conn:
        bulk_insert(conn, ITEMS, rows, chunk=3)
    assert sizes == batches
    assert [{k: row[k] for k in ("id", "name", "at")} for row in _stored(sqlite)] == rows


def test_unknown_columns_and_python_side_defaults_are_refused(sqlite: sa.Engine) -> None:
    counted = sa.Table("counted", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("n", sa.Integer, default=1))
    with sqlite.begin() as conn, pytest.raises(ValueError, match="items has no column 'colour'"):
        bulk_insert(conn, ITEMS, [{"id": 1}, {"id": 2, "colour": "red"}])
    with sqlite.begin() as conn, pytest.raises(ValueError, match="Python-side defaults of n"):
        bulk_insert(conn, counted, [{"id": 1}])
    assert _stored(sqlite) == []


def test_sqlite_text_that_is_not_utf8_reads_as_surrogates_instead_of_failing_the_page(tmp_path: Path) -> None:
    path = tmp_path / "bytes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO t VALUES (1, 'iyi'), (2, CAST(x'5361ff67' AS TEXT)), (3, 'de')")
    engine = make_engine(f"sqlite:///{path}", read_only=True)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, name FROM t ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "iyi"), (2, "Sa\udcffg"), (3, "de")]


def test_a_code_that_is_not_utf8_is_paged_past_and_found_again(tmp_path: Path) -> None:
    """Keyset pages on a text code, and IN lists of codes a page read, bind the damaged code as its bytes: the
    page after it and the rows it names are read, instead of the driver failing to encode the surrogates."""
    path = tmp_path / "codes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (code TEXT, qty INTEGER)")
        conn.execute("INSERT INTO t VALUES ('A', 1), (CAST(x'42ff' AS TEXT), 2), ('C', 3), ('D', 4)")
    engine = make_engine(f"sqlite:///{path}", read_only=True)
    t = sa.table("t", sa.column("code", sa.String), sa.column("qty", sa.Integer))

    def page(last: Any) -> sa.Select[Any]:
        stmt = sa.select(t.c.code)
        return (stmt if last is None else stmt.where(t.c.code > last)).order_by(t.c.code)

    def then(conn: sa.Connection, rows: Any) -> list[Any]:
        return [tuple(r) for r in for_refs(conn, sa.select(t.c.code, t.c.qty), t.c.code, [r.code for r in rows])]

    pages = list(keyset_chunks(engine, page, "code", 2, then))
    assert [sorted(p) for p in pages] == [[("A", 1), ("B\udcff", 2)], [("C", 3), ("D", 4)]]


def test_for_refs_passes_over_null_references(engine: sa.Engine) -> None:
    """A damaged row's NULL reference matches nothing and must not fail the page's lookup."""
    with engine.begin() as conn:
        bulk_insert(conn, ITEMS, [{"id": i, "name": f"item {i}"} for i in (1, 2, 3)])
        assert sorted(r.id for r in for_refs(conn, sa.select(ITEMS.c.id), ITEMS.c.id, [3, None, 1, None, 1])) == [1, 3]
        assert for_refs(conn, sa.select(ITEMS.c.id), ITEMS.c.id, [None]) == []


def test_for_refs_takes_references_of_mixed_types(sqlite: sa.Engine) -> None:
    """SQLite lets a text sit in an integer column: such a reference is looked up, not a TypeError in the sort."""
    with sqlite.begin() as conn:
        bulk_insert(conn, ITEMS, [{"id": i, "name": f"item {i}"} for i in (1, 2, 3)])
        assert [r.id for r in for_refs(conn, sa.select(ITEMS.c.id), ITEMS.c.id, [2, "2x", None])] == [2]
