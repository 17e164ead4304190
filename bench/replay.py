"""The invoices stream's own SELECTs, replayed with the bare DB-API driver: the floor under the adapter's reads.

The benchmark captures, as untimed setup, the exact SQL and parameters the adapter executes while one
`read(None)` of a stream is iterated (`capture`), saves them (`save`), then runs this file as a measured child
process, once per mode:

    python bench/replay.py CAPTURE --mode fetch --result result.json
    python bench/replay.py CAPTURE --mode json --out invoices.ndjson --result result.json

fetch: execute every statement and fetch its rows, nothing else. json: the same, plus one nested dict per
document (its header's columns by name and the list of its line dicts), encoded with msgspec (which turns
Decimals and dates into JSON, as the product's encoder does) and written as NDJSON, one line per document.

A statement whose first selected column is the first statement's (a page of headers, keyed by LOGICALREF) opens a
page; every other statement's rows are lines, attached to the header of that page whose first column equals the
line's first column (Logo: STLINE.INVOICEREF = INVOICE.LOGICALREF), as the adapter's _group_lines does.

The child imports neither SQLAlchemy nor the product: only the driver (sqlite3 or psycopg) and msgspec.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Capture", "capture", "load", "replay", "save"]

# The rendered SQL's first selected column: `SELECT "TABLE"."COLUMN", ...` (quoted the way the dialect quotes).
_FIRST_COLUMN = re.compile(r'^\s*SELECT\s+(?:DISTINCT\s+)?((?:"(\w+)"|(\w+))\.(?:"\w+"|\w+))', re.IGNORECASE)
# Statements the dialect runs for itself (reflection, server questions), not the stream's reads.
_CATALOGUE = re.compile(r"\b(PRAGMA|sqlite_master|sqlite_schema|pg_catalog|information_schema)\b|^\s*show\s", re.I)


@dataclass(frozen=True)
class Capture:
    driver: str  # "sqlite" or "postgresql"
    database: str  # the SQLite file's path, or a libpq URI for psycopg
    statements: list[tuple[bool, str, Any]]  # (opens a page of headers, SQL as the driver got it, its parameters)
    header_table: str
    line_tables: list[str]


def capture(config: Path, stream: str = "invoices") -> Capture:
    """The SELECTs the first source of `config` executes for one full read of `stream`, in order."""
    import sqlalchemy as sa

    from dealersync.config import load_config

    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not _CATALOGUE.search(statement):
            seen.append((statement, parameters))

    with load_config(config).sources[0].build_adapter() as adapter:
        engine: sa.Engine = adapter.engine
        sa.event.listen(engine, "before_cursor_execute", listen)
        for _ in adapter.stream(stream).read(None):
            pass
        url = engine.url
    if not seen:
        raise ValueError(f"the {stream} stream executed no SELECT")
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = str(Path(url.database or "").resolve())
    elif backend == "postgresql":
        database = url.set(drivername="postgresql").render_as_string(hide_password=False)
    else:
        raise ValueError(f"no bare-driver replay for {backend} (sqlite and postgresql only)")

    def first_column(sql: str) -> tuple[str, str]:
        match = _FIRST_COLUMN.match(sql)
        if match is None:
            raise ValueError(f"cannot tell the first selected column (table-qualified) of: {sql[:200]}")
        return match.group(1), match.group(2) or match.group(3)

    header_column, header_table = first_column(seen[0][0])
    statements = [(first_column(sql)[0] == header_column, sql, params) for sql, params in seen]
    line_tables = sorted({first_column(sql)[1] for opens, sql, _ in statements if not opens})
    return Capture(backend, database, statements, header_table, line_tables)


def save(captured: Capture, path: Path) -> None:
    # Plain values only: the child runs this file as __main__, where the dataclass has another module name.
    state = {
        "driver": captured.driver,
        "database": captured.database,
        "statements": captured.statements,
        "header_table": captured.header_table,
        "line_tables": captured.line_tables,
    }
    path.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


def load(path: Path) -> Capture:
    return Capture(**pickle.loads(path.read_bytes()))


def _connect(captured: Capture) -> Any:
    if captured.driver == "sqlite":
        # Read-only, as the adapter opens a SQLite source.
        return sqlite3.connect(f"file:{Path(captured.database).as_posix()}?mode=ro", uri=True)
    import psycopg

    return psycopg.connect(captured.database)


def replay(captured: Capture, out: Path | None = None) -> dict[str, int]:
    """Run the captured statements and fetch their rows; with `out`, also write the documents there as NDJSON.
    Counts of what was read."""
    connection = _connect(captured)
    try:
        cursor = connection.cursor()
        return _fetch(captured, cursor) if out is None else _documents(captured, cursor, out)
    finally:
        connection.close()


def _fetch(captured: Capture, cursor: Any) -> dict[str, int]:
    headers = lines = 0
    for opens, sql, params in captured.statements:
        cursor.execute(sql, params)
        rows = len(cursor.fetchall())
        if opens:
            headers += rows
        else:
            lines += rows
    return {"header_rows": headers, "line_rows": lines}


def _documents(captured: Capture, cursor: Any, out: Path) -> dict[str, int]:
    import msgspec

    encoder = msgspec.json.Encoder(decimal_format="string")  # the product's setting (mapping/schema.py)
    documents = lines = orphans = 0
    page: list[dict[str, Any]] = []
    by_ref: dict[Any, list[dict[str, Any]]] = {}
    with out.open("wb") as handle:
        for opens, sql, params in captured.statements:
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
            if opens:
                # The adapter yields a page once its lines are attached: the next page's query closes this one.
                handle.write(encoder.encode_lines(page))
                documents += len(page)
                page, by_ref = [], {}
                for row in rows:
                    attached: list[dict[str, Any]] = []
                    page.append({**dict(zip(names, row, strict=True)), "lines": attached})
                    by_ref[row[0]] = attached
                continue
            for row in rows:
                attached_to = by_ref.get(row[0])
                if attached_to is None:
                    orphans += 1
                else:
                    attached_to.append(dict(zip(names, row, strict=True)))
                    lines += 1
        handle.write(encoder.encode_lines(page))
        documents += len(page)
        handle.flush()
        # The product's file sink fsyncs what it writes: so does the replay, once at the end.
        os.fsync(handle.fileno())
    return {"documents": documents, "lines": lines, "orphan_lines": orphans, "bytes": out.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("capture", type=Path, help="the file `save` wrote")
    parser.add_argument("--mode", choices=["fetch", "json"], required=True)
    parser.add_argument("--out", type=Path, help="the NDJSON file (mode json)")
    parser.add_argument("--result", type=Path, help="write the counts here as JSON")
    args = parser.parse_args()
    if args.mode == "json" and args.out is None:
        parser.error("--mode json needs --out")
    counts = replay(load(args.capture), args.out if args.mode == "json" else None)
    if args.result:
        args.result.write_text(json.dumps(counts), encoding="utf-8")
    else:
        print(json.dumps(counts))


if __name__ == "__main__":
    main()
