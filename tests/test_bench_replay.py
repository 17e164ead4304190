"""The benchmark's raw replay (bench/replay.py) reads what the adapter's invoices stream reads: the same invoices
and lines, nested the same way, from SQLite and, copied there by bench/postgres_copy.py, from PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import replay
from bench.postgres_copy import drop_database, lay_into_postgresql
from connectors.logo.tables import logo_tables
from scenario.generate import build
from tests.conftest import PG_ADMIN_URL
from tests.dbs import adapter, logo_file

SCENARIO = build(invoice_lines=300)

CONFIG = """\
state: {{url: "sqlite:///state.db"}}
sink: {{kind: file, path: ./feed}}
sources:
  - name: bench
    kind: logo
    timezone: {timezone}
    chunk_size: 25
    url: "{url}"
    firm: 1
    periods: [1]
    discount_view: DEALERSYNC_DISCOUNTS
"""


def config(folder: Path, url: str) -> Path:
    path = folder / "bench.yaml"
    path.write_text(CONFIG.format(timezone=SCENARIO.timezone, url=url), encoding="utf-8")
    return path


def adapter_documents(url: str) -> dict[int, list[int]]:
    """LOGICALREF -> the line numbers the adapter's invoices stream reads for it."""
    with adapter(url, SCENARIO) as source:
        stream = source.stream("invoices")
        return {
            header.LOGICALREF: [ln.LINENO for ln in lines] for chunk in stream.read(None) for header, lines in chunk
        }


def check_replay(captured: replay.Capture, url: str, folder: Path) -> None:
    expected = adapter_documents(url)
    assert captured.header_table == "LG_001_01_INVOICE" and captured.line_tables == ["LG_001_01_STLINE"]
    # Pages of 25 headers (chunk_size), each followed by its lines' query: the replay crosses pages.
    assert len(expected) > 50 and sum(opens for opens, _, _ in captured.statements) >= 3
    lines = sum(len(numbers) for numbers in expected.values())

    assert replay.replay(captured) == {"header_rows": len(expected), "line_rows": lines}

    out = folder / "invoices.ndjson"
    counts = replay.replay(captured, out)
    assert counts == {"documents": len(expected), "lines": lines, "orphan_lines": 0, "bytes": out.stat().st_size}
    documents = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {d["LOGICALREF"]: [ln["LINENO"] for ln in d["lines"]] for d in documents} == expected
    assert {"FICHENO", "DATE_", "NETTOTAL", "TRCURR"} <= set(documents[0])


def test_replay_of_sqlite_reads_what_the_stream_reads(tmp_path: Path) -> None:
    url = f"sqlite:///{logo_file(tmp_path, 300)}"
    captured = replay.capture(config(tmp_path, url))
    assert captured.driver == "sqlite"
    assert not any("PRAGMA" in sql for _, sql, _ in captured.statements)
    check_replay(captured, url, tmp_path)


def test_save_and_load_keep_the_statements(tmp_path: Path) -> None:
    captured = replay.capture(config(tmp_path, f"sqlite:///{logo_file(tmp_path, 300)}"))
    replay.save(captured, tmp_path / "capture.pickle")
    assert replay.load(tmp_path / "capture.pickle") == captured


@pytest.mark.postgres
def test_replay_of_postgresql_copy(tmp_path: Path) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        admin.connect().close()
    except Exception as exc:  # any failure to reach the server means skip, as the conftest fixtures do
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}: {exc}"[:300])
    finally:
        admin.dispose()
    definitions = sa.MetaData()
    logo_tables(definitions, 1, 1)
    name = f"ds_test_{uuid.uuid4().hex[:10]}"
    try:
        url = lay_into_postgresql(logo_file(tmp_path, 300), [definitions], PG_ADMIN_URL, name)
        captured = replay.capture(config(tmp_path, url))
        assert captured.driver == "postgresql" and "%(" in captured.statements[0][1]
        check_replay(captured, url, tmp_path)
    finally:
        drop_database(PG_ADMIN_URL, name)
