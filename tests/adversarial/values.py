"""Hostile values for the columns of an ERP's SQLite copy, and the row edits (updates and inserted copies) made of them.

Values stay within what the column's type holds on the ERP's own server where that matters to a reader (a
SMALLINT stays 16-bit, a DATETIME a date of years 1-9999); text goes past its declared length and includes
bytes that are not UTF-8, which SQLite keeps as they are (a Latin-1 collation on SQL Server does the same).
NaN is offered to every float column: SQLite stores it as NULL, PostgreSQL as NaN.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hypothesis import strategies as st

__all__ = [
    "Column",
    "Edit",
    "NotUtf8",
    "TableShape",
    "apply_edits",
    "connect",
    "edits",
    "shapes",
    "stored",
]

Kind = Literal["int", "float", "text", "datetime", "bool", "uuid"]
_INT_RANGE = {"SMALLINT": (-(2**15), 2**15 - 1), "INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}
# A stamp relative to the run's clock: a server clock put right, a typo in the year.
_NOW = dt.datetime.now().replace(microsecond=0)


@dataclass(frozen=True)
class NotUtf8:
    """Text whose bytes are not UTF-8: stored with CAST(... AS TEXT), read back as undecodable bytes."""

    data: bytes


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    length: int | None  # declared length of a text column
    bounds: tuple[int, int] | None  # range of an integer column
    refused: Callable[[Any], bool] | None = None  # values held back (a defect they hit is reported and tested)


@dataclass(frozen=True)
class TableShape:
    """A table the fuzz edits: its columns open to hostile values, its key, rows to start from, values seen."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]  # the ones edits may change
    rows: tuple[tuple[Any, ...], ...]  # keys of the rows edits may change or copy
    seen: Mapping[str, tuple[Any, ...]]  # per column, values other rows hold (duplicates, valid references)


@dataclass(frozen=True)
class Edit:
    """One row changed in place (`copy` False) or inserted as a copy of `row` under a fresh key."""

    table: str
    row: tuple[Any, ...]
    values: Mapping[str, Any]
    copy: bool = False
    fresh: Mapping[str, Any] = field(default_factory=dict)  # the copy's key columns


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    # As the adapters read SQLite: undecodable bytes become surrogates of that row, not an error for the page.
    conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    return conn


def _kind(declared: str) -> tuple[Kind, int | None, tuple[int, int] | None]:
    upper = declared.upper()
    if upper in _INT_RANGE:
        return "int", None, _INT_RANGE[upper]
    if upper in ("FLOAT", "REAL", "DOUBLE", "NUMERIC"):
        return "float", None, None
    if upper in ("DATETIME", "DATE"):
        return "datetime", None, None
    if upper == "BOOLEAN":
        return "bool", None, None
    if upper == "CHAR(32)":
        return "uuid", None, None
    if upper.startswith(("VARCHAR", "CHAR", "NVARCHAR", "TEXT")):
        length = int(upper.split("(")[1].rstrip(")")) if "(" in upper else None
        return "text", length, None
    raise ValueError(f"no hostile values for a column of type {declared}")


def shapes(
    path: Path,
    frozen: Mapping[str, frozenset[str]],
    protected: Mapping[str, frozenset[tuple[Any, ...]]],
    refused: Mapping[str, Mapping[str, Callable[[Any], bool]]],
) -> dict[str, TableShape]:
    """The shapes of the tables named in `frozen` (table -> columns never edited, besides the key), read from
    the database at `path`; `protected` rows (per table) are neither edited nor copied; `refused` values (per
    table and column) are never written."""
    out: dict[str, TableShape] = {}
    with connect(path) as conn:
        for table, fixed in frozen.items():
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            key = tuple(r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"])
            columns = []
            for r in info:
                if r["name"] in key and not r["type"].upper().startswith(("VARCHAR", "CHAR(1")):
                    continue  # identity and GUID keys stay: only a business code that is also the key is edited
                if r["name"] not in fixed:
                    columns.append(Column(r["name"], *_kind(r["type"]), refused.get(table, {}).get(r["name"])))
            listed = ", ".join(f'"{k}"' for k in key)
            guarded = protected.get(table, frozenset())
            rows = tuple(tuple(r) for r in conn.execute(f'SELECT {listed} FROM "{table}" ORDER BY {listed}'))
            seen = {
                c.name: tuple(
                    v for (v,) in conn.execute(f'SELECT DISTINCT "{c.name}" FROM "{table}" ORDER BY 1 LIMIT 40')
                )
                for c in columns
            }
            out[table] = TableShape(table, key, tuple(columns), tuple(r for r in rows if r not in guarded), seen)
    return out


def _text(column: Column, seen: Sequence[Any]) -> st.SearchStrategy[Any]:
    length = column.length or 50
    specials = [
        "",
        " ",
        "\x00",
        "\x00\x01C\x1b",  # control characters around a plausible code
        "A\tB",
        "line\nbreak",
        "\u202etxet",  # right-to-left override
        "zero\u200bwidth",
        "İıŞşĞğ",
        "💥",
        "ÿ",  # Logo's placeholder code
        "x" * length,
        "x" * (length + 1),
        "x" * 101,  # one past the feed's code length
        "y" * 5000,
        " padded ",
        "'; DROP TABLE t; --",
        "NULL",
        "-1",
    ]
    known = [v for v in seen if isinstance(v, str)]
    options: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.sampled_from(specials),
        st.sampled_from([NotUtf8(b"\xde\xdd\xfe\xff"), NotUtf8(b"AB\xc3"), NotUtf8(b"\x80")]),
        st.text(max_size=length + 2),
    ]
    if known:
        options.append(st.sampled_from(known))  # another row's value: a duplicate code, a valid reference
        options.append(st.sampled_from(known).map(lambda v: v + "\x1b"))
        options.append(st.sampled_from(known).map(lambda v: NotUtf8(v.encode("utf-8", "surrogateescape") + b"\xff")))
    return st.one_of(options)


def _int(column: Column, seen: Sequence[Any]) -> st.SearchStrategy[Any]:
    low, high = column.bounds or _INT_RANGE["INTEGER"]
    specials = [v for v in (0, 1, -1, 2, 3, 4, 7, 9, 99, 255, 999_999, low, high) if low <= v <= high]
    known = [v for v in seen if isinstance(v, int)]
    options: list[st.SearchStrategy[Any]] = [st.none(), st.sampled_from(specials), st.integers(low, high)]
    if known:
        options.append(st.sampled_from(known))  # another row's reference, flag or code
        options.append(st.sampled_from(known).map(lambda v: min(high, v + 1_000_000)))  # a dangling reference
    return st.one_of(options)


def _float(seen: Sequence[Any]) -> st.SearchStrategy[Any]:
    specials = [0.0, -0.0, -1.0, -0.01, 0.005, 0.015, 1e-300, 5e-324, 1e15 + 0.3, 9.99e17, 1e308, -1e308]
    specials += [float("inf"), float("-inf"), float("nan")]
    known = [v for v in seen if isinstance(v, float)]
    options: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.sampled_from(specials),
        st.floats(allow_nan=True, allow_infinity=True),
    ]
    if known:
        options.append(st.sampled_from(known).map(lambda v: -v))  # a sale turned negative
    return st.one_of(options)


def _datetime(seen: Sequence[Any]) -> st.SearchStrategy[Any]:
    specials = [
        dt.datetime(1, 1, 1),
        dt.datetime(9999, 12, 31, 23, 59, 59),
        dt.datetime(1899, 12, 30),  # the zero date of OLE automation
        dt.datetime(1900, 1, 1),  # SQL Server's zero date
        dt.datetime(2101, 1, 1),
        _NOW + dt.timedelta(days=2),  # an ERP clock two days ahead
        _NOW + dt.timedelta(days=36500),
        _NOW - dt.timedelta(hours=30),  # a backdated edit
    ]
    known = [v for v in seen if isinstance(v, str)]
    options: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.sampled_from(specials),
        st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
    ]
    if known:
        options.append(st.sampled_from(known))
    return st.one_of(options)


def _values(column: Column, seen: Sequence[Any]) -> st.SearchStrategy[Any]:
    found = _by_kind(column, seen)
    refused = column.refused
    return found if refused is None else found.filter(lambda v: not refused(v))


def _by_kind(column: Column, seen: Sequence[Any]) -> st.SearchStrategy[Any]:
    if column.kind == "text":
        return _text(column, seen)
    if column.kind == "int":
        return _int(column, seen)
    if column.kind == "float":
        return _float(seen)
    if column.kind == "datetime":
        return _datetime(seen)
    if column.kind == "bool":
        return st.sampled_from([None, 0, 1, 2, -1])  # a BIT outside 0/1 as a damaged row holds it
    known = [v for v in seen if isinstance(v, str)]
    return st.one_of(st.uuids().map(lambda u: u.hex), *([st.sampled_from(known)] if known else []))


@st.composite
def _edit(draw: st.DrawFn, tables: Sequence[TableShape], serial: int) -> Edit:
    shape = draw(st.sampled_from([t for t in tables if t.rows and t.columns]))
    row = draw(st.sampled_from(shape.rows))
    chosen = draw(st.lists(st.sampled_from(shape.columns), min_size=1, max_size=4, unique_by=lambda c: c.name))
    values = {c.name: draw(_values(c, shape.seen[c.name])) for c in chosen}
    if not draw(st.booleans()):
        return Edit(shape.name, row, values)
    return Edit(shape.name, row, values, copy=True, fresh=_fresh_key(shape, serial))


def _fresh_key(shape: TableShape, serial: int) -> dict[str, Any]:
    """A key no row has: past the largest integer, or a new text or GUID."""
    first = shape.key[0]
    current = [r[0] for r in shape.rows]
    if all(isinstance(v, int) for v in current):
        return {first: max(current, default=0) + 1_000 + serial}
    if all(isinstance(v, str) and len(v) == 32 for v in current):
        return {first: uuid.UUID(int=serial + 1).hex}
    return {first: f"ADV{serial:05d}"}


def edits(tables: Sequence[TableShape], most: int = 6) -> st.SearchStrategy[list[Edit]]:
    """A handful of edits over `tables`: each changes one row, or inserts a changed copy of one."""
    return st.integers(1, most).flatmap(lambda n: st.tuples(*(_edit(tables, i) for i in range(n))).map(list))


def stored(value: Any) -> Any:
    """A value as a row read back with `connect` holds it."""
    if isinstance(value, NotUtf8):
        return value.data.decode("utf-8", "surrogateescape")
    if isinstance(value, dt.datetime):
        return _bind(value)[1]
    return value


def _bind(value: Any) -> tuple[str, Any]:
    if isinstance(value, NotUtf8):
        return "CAST(? AS TEXT)", value.data
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a copied row's undecodable bytes, read back as surrogates
            return "CAST(? AS TEXT)", value.encode("utf-8", "surrogateescape")
    if isinstance(value, dt.datetime):
        return "?", value.isoformat(sep=" ", timespec="microseconds")  # how SQLAlchemy stores a DATETIME
    return "?", value


def apply_edits(path: Path, changes: Sequence[Edit], key_of: Mapping[str, tuple[str, ...]]) -> list[Edit]:
    """Make the edits in the database at `path`; the ones it took (an edit that would repeat a unique key is
    refused by the database, as the ERP's would, and left out)."""
    done = []
    with connect(path) as conn:
        for change in changes:
            key = key_of[change.table]
            where = " AND ".join(f'"{k}" = ?' for k in key)
            try:
                if change.copy:
                    _insert_copy(conn, change, key, where)
                else:
                    sets, params = zip(*(_bind(v) for v in change.values.values()), strict=True)
                    assignments = ", ".join(f'"{c}" = {s}' for c, s in zip(change.values, sets, strict=True))
                    conn.execute(f'UPDATE "{change.table}" SET {assignments} WHERE {where}', (*params, *change.row))
            except sqlite3.IntegrityError:
                continue
            done.append(change)
        conn.commit()
    return done


def _insert_copy(conn: sqlite3.Connection, change: Edit, key: tuple[str, ...], where: str) -> None:
    source = conn.execute(f'SELECT * FROM "{change.table}" WHERE {where}', change.row).fetchone()
    if source is None:
        raise sqlite3.IntegrityError("the row to copy is gone")
    merged = {**dict(source), **change.fresh, **change.values}
    placeholders, params = zip(*(_bind(v) for v in merged.values()), strict=True)
    names = ", ".join(f'"{c}"' for c in merged)
    conn.execute(f'INSERT INTO "{change.table}" ({names}) VALUES ({", ".join(placeholders)})', params)
