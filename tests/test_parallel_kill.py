"""A sync killed with SIGKILL during a parallel full read takes its reader processes with it (Linux).

The readers of a large full read are processes of their own, each with its own ERP connection. If they
outlived a killed sync they would hold those connections (and multiprocessing's resource tracker, which
lives as long as any of them) for as long as they stay blocked, minutes or forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbs import logo_file

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; the parent-death signal is Linux's")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def logo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return logo_file(tmp_path_factory.mktemp("logo"), invoice_lines=20_000)


def write_config(folder: Path, db: Path, workers: int = 2) -> Path:
    config = {
        "state": {"url": "sqlite:///state.db"},
        "engine": {"workers": workers, "parallel_min_items": 500, "batch_size": 200},
        "logging": {"level": "INFO", "format": "json"},
        "sink": {"kind": "file", "path": "./feed", "fsync": False},
        "sources": [
            {
                "name": "logo",
                "kind": "logo",
                "timezone": "Europe/Istanbul",
                "chunk_size": 50,
                "url": f"sqlite:///{db}",
                "firm": 1,
                "periods": [1],
                "discount_view": "DEALERSYNC_DISCOUNTS",
            }
        ],
    }
    path = folder / "dealersync.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, state) of every process /proc shows."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # The command name (field 2) is in parentheses and may hold spaces: the rest follows the last ')'.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        yield int(entry.name), int(ppid), state


def children(pid: int) -> dict[int, str]:
    """The live children of `pid` with their command lines."""
    found = {}
    for child, ppid, state in processes():
        if ppid == pid and state != "Z":
            try:
                found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    return found


def running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie has ended: it only waits to be reaped by its new parent)."""
    return any(p == pid and state != "Z" for p, _, state in processes())


def has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open: an SQLite connection is an open file."""
    target = str(path.resolve())
    try:
        fds = list((Path("/proc") / str(pid) / "fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == target:
                return True
        except OSError:
            continue
    return False


def holders(path: Path) -> list[int]:
    return [pid for pid, _, _ in processes() if has_open(pid, path)]


def test_kill_9_of_the_sync_ends_its_readers_and_releases_their_connections(tmp_path: Path, logo_db: Path) -> None:
    config = write_config(tmp_path, logo_db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEALERSYNC_DEBUG", None)
    sync = subprocess.Popen(
        [sys.executable, "-m", "dealersync", "sync", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    family: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        readers: dict[int, str] = {}
        while time.monotonic() < deadline and sync.poll() is None:
            family = children(sync.pid)
            readers = {pid: cmd for pid, cmd in family.items() if "multiprocessing.spawn" in cmd}
            if len(readers) >= 2 and all(has_open(pid, logo_db) for pid in readers):
                break
            time.sleep(0.05)
        assert len(readers) >= 2, f"no parallel read seen; sync exited {sync.poll()}"
        family = children(sync.pid)
        assert any("resource_tracker" in cmd for cmd in family.values()), family
        sync.send_signal(signal.SIGKILL)
        sync.wait(10)

        ends = time.monotonic() + 5
        while time.monotonic() < ends and any(running(pid) for pid in family):
            time.sleep(0.05)
        left = {pid: cmd for pid, cmd in family.items() if running(pid)}
        assert left == {}, f"still running 5 s after the kill: {left}"
        assert holders(logo_db) == []
    finally:
        if sync.poll() is None:
            sync.kill()
            sync.wait(10)
        for pid in family:
            if running(pid):
                os.kill(pid, signal.SIGKILL)  # orphans of a failed test must not outlive it


def test_without_the_linux_signal_a_reader_still_ends_with_its_parent() -> None:
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.parent_watch_driver"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    child = 0
    try:
        assert driver.stdout is not None
        child = int(driver.stdout.readline())
        assert running(child)
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        ends = time.monotonic() + 5
        while time.monotonic() < ends and running(child):
            time.sleep(0.05)
        assert not running(child), "the child outlived its killed parent"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(10)
        if child and running(child):
            os.kill(child, signal.SIGKILL)
