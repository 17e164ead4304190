"""A state store that is locked, unreachable or damaged: found at start, told in one line that says what to do.

The state store holds the outbox and the content hashes: working on a damaged one could lose batches or
resend history, so a damaged SQLite file is found before anything runs (PRAGMA quick_check), and every
command stops with a one-line message and exit 1, never a traceback (unless --debug).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from engine.state import BatchWrite, StateError, StateStore
from tests.dbs import logo_file

DEALERSYNC = str(Path(sys.executable).parent / "dealersync")
BTREE_PAGE_TYPES = {2, 5, 10, 13}  # interior/leaf index, interior/leaf table: the first byte of a b-tree page


@pytest.fixture(scope="module")
def logo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return logo_file(tmp_path_factory.mktemp("logo"), invoice_lines=300)


def filled_store(path: Path, batches: int = 40) -> None:
    """A real state file: outbox batches with their hashes, acknowledged, and the file checkpointed and closed."""
    store = StateStore(f"sqlite:///{path}")
    store.create()
    for b in range(batches):
        keys = [f"001:01:{b * 200 + i}" for i in range(200)]
        lines = [b'{"key": "%s", "data": {"note": "%s"}}\n' % (k.encode(), b"x" * 200) for k in keys]
        write = BatchWrite("logo", "invoices", batch_id=f"batch-{b}", lines=lines)
        write.new_hashes = {k: f"{b:032x}" for k in keys}
        store.acknowledge(store.commit(write) or 0)
    store.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def cli(folder: Path, *args: str, state_url: str = "sqlite:///state.db", logo: Path | None = None) -> tuple[int, str]:
    config = {
        "state": {"url": state_url},
        "logging": {"level": "WARNING", "format": "json"},
        "sink": {"kind": "file", "path": "./feed", "fsync": False},
        "sources": [
            {
                "name": "logo",
                "kind": "logo",
                "url": f"sqlite:///{logo or folder / 'logo.db'}",
                "firm": 1,
                "periods": [1],
                "discount_view": "DEALERSYNC_DISCOUNTS",
            }
        ],
    }
    (folder / "dealersync.yaml").write_text(json.dumps(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DEALERSYNC_DEBUG"} | {"COLUMNS": "300"}
    done = subprocess.run([DEALERSYNC, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=180)
    return done.returncode, done.stdout + done.stderr


def one_line_error(output: str) -> str:
    assert "Traceback" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, output[-3000:]
    return lines[0]


def zero_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(bytes(100))


def garbage(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(64 * 1024))


def damage_a_middle_page(path: Path) -> None:
    """Random bytes over the header and cell pointers of the b-tree page nearest the file's middle.

    quick_check walks every b-tree page and checks its header, cell pointers and cells, so it must see this;
    bytes written inside a cell's content (a hash, a payload) would pass it: SQLite keeps no checksums.
    """
    data = path.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    pages = len(data) // page_size
    middle = pages // 2
    page = next(
        p for p in sorted(range(1, pages), key=lambda p: abs(p - middle)) if data[p * page_size] in BTREE_PAGE_TYPES
    )
    with path.open("r+b") as f:
        f.seek(page * page_size)
        f.write(random.Random(11).randbytes(48))


@pytest.mark.parametrize("damage", [zero_header, garbage, damage_a_middle_page])
def test_a_damaged_store_is_found_at_start(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    path = tmp_path / "state.db"
    filled_store(path)
    damage(path)
    store = StateStore(f"sqlite:///{path}")
    with pytest.raises(StateError) as found:
        store.create()
    store.close()
    message = str(found.value)
    assert "damaged" in message and "backup" in message and str(path) in message


def test_check_reports_a_damaged_store_on_its_own_line(tmp_path: Path, logo_db: Path) -> None:
    filled_store(tmp_path / "state.db")
    zero_header(tmp_path / "state.db")
    code, output = cli(tmp_path, "check", logo=logo_db)
    assert code == 1 and "Traceback" not in output, output
    (line,) = [line for line in output.splitlines() if "state store" in line]
    assert "FAILED" in line and "StateError" not in line


@pytest.mark.parametrize("damage", [zero_header, damage_a_middle_page])
@pytest.mark.parametrize("command", [("status",), ("sync",), ("outbox",), ("dead-letters",)])
def test_every_command_says_so_in_one_line(tmp_path: Path, damage: Callable[[Path], None], command: tuple[str]) -> None:
    filled_store(tmp_path / "state.db")
    damage(tmp_path / "state.db")
    code, output = cli(tmp_path, *command)
    assert code == 1, output
    line = one_line_error(output)
    assert "damaged" in line and "restore" in line


def test_a_store_locked_beyond_the_busy_timeout(tmp_path: Path, logo_db: Path) -> None:
    filled_store(tmp_path / "state.db")
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction, held
    try:
        started = time.monotonic()
        code, output = cli(tmp_path, "sync", "-t", "accounts", state_url="sqlite:///state.db?timeout=0.5", logo=logo_db)
        assert time.monotonic() - started < 60
    finally:
        holder.rollback()
        holder.close()
    assert code == 1, output
    line = one_line_error(output)
    assert "locked" in line and "another process" in line
    code, output = cli(tmp_path, "sync", "-t", "accounts", state_url="sqlite:///state.db?timeout=0.5", logo=logo_db)
    assert code == 0, output  # once the other process let go


def test_reads_pass_while_another_process_writes(tmp_path: Path) -> None:
    filled_store(tmp_path / "state.db")
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code, output = cli(tmp_path, "outbox", "--all", state_url="sqlite:///state.db?timeout=0.5")
    finally:
        holder.rollback()
        holder.close()
    assert code == 0, output
    assert "batch-39" in output


def test_an_unreachable_sqlite_store(tmp_path: Path) -> None:
    code, output = cli(tmp_path, "status", state_url="sqlite:///no/such/folder/state.db")
    assert code == 1
    line = one_line_error(output)
    assert "cannot open the state store" in line and "folder" in line


def test_an_unreachable_postgresql_store_keeps_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://dealersync:Very-Secret-77@127.0.0.1:9/dealersync"  # port 9 (discard): refused
    code, output = cli(tmp_path, "status", state_url=url)
    assert code == 1
    line = one_line_error(output)
    assert "cannot reach the state store" in line and "127.0.0.1:9" in line
    assert "Very-Secret-77" not in output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    filled_store(tmp_path / "state.db")
    zero_header(tmp_path / "state.db")
    code, output = cli(tmp_path, "--debug", "status")
    assert code == 1
    assert "Traceback" in output and "StateError" in output


def test_integrity_errors_still_reach_the_code_that_expects_them(tmp_path: Path) -> None:
    # acquire() relies on a primary-key conflict when two processes create a stream's row at once.
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.create()
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from engine.state import streams_t

    with store.engine.begin() as conn:
        conn.execute(insert(streams_t).values(source="s", stream="accounts"))
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(streams_t).values(source="s", stream="accounts"))
    store.close()


def test_a_lost_postgresql_connection_is_a_state_error_and_the_next_use_reconnects(pg_url: str) -> None:
    store = StateStore(pg_url)
    store.create()
    admin = create_engine(pg_url)
    try:
        with store.engine.connect() as conn:
            backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with admin.begin() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend or 0)})")  # a server restart, say
            with pytest.raises(StateError, match="lost the connection to the state store"):
                conn.exec_driver_sql("SELECT 1")
        assert store.status() == []
    finally:
        admin.dispose()
        store.close()
