"""A lost state store (deleted, or replaced by an empty file) while the sink holds the source's batches.

Synced on, such a store would send the whole history again under new batch ids: a reader of the file
feed would find every record twice. `sync` and `run` refuse until the operator restores the store or
says the resend is wanted with `sync --full-refresh`. The file sink tells from its manifests, the
loyalty core from GET /checkpoint; a core without that endpoint cannot tell, and the sync goes on
with a warning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dbs import logo_file
from tests.loyalty_server import LoyaltyServer

DEALERSYNC = str(Path(sys.executable).parent / "dealersync")


@pytest.fixture(scope="module")
def logo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return logo_file(tmp_path_factory.mktemp("logo"), invoice_lines=300)


class Install:
    """A dealersync folder: config, state and sink, and the CLI run there."""

    def __init__(self, folder: Path, logo_db: Path, sink: dict[str, Any] | None = None) -> None:
        self.folder = folder
        self.state = folder / "state.db"
        config = {
            "state": {"url": "sqlite:///state.db"},
            "logging": {"level": "WARNING", "format": "json"},
            "sink": sink or {"kind": "file", "path": "./feed", "fsync": False},
            "sources": [
                {
                    "name": "logo",
                    "kind": "logo",
                    "url": f"sqlite:///{logo_db}",
                    "firm": 1,
                    "periods": [1],
                    "discount_view": "DEALERSYNC_DISCOUNTS",
                }
            ],
        }
        (folder / "dealersync.yaml").write_text(json.dumps(config), encoding="utf-8")

    def __call__(self, *args: str) -> tuple[int, str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DEALERSYNC_DEBUG"} | {"COLUMNS": "300"}
        done = subprocess.run(
            [DEALERSYNC, *args], cwd=self.folder, env=env, capture_output=True, text=True, timeout=180
        )
        return done.returncode, done.stdout, done.stderr

    def lose_state(self, empty_file: bool) -> None:
        for path in self.folder.glob("state.db*"):
            path.unlink()
        if empty_file:
            self.state.write_bytes(b"")

    def feed(self) -> dict[str, list[str]]:
        """Stream -> batch ids its manifest lists."""
        return {
            path.parent.name: [e["batch_id"] for e in json.loads(path.read_text())["files"]]
            for path in sorted((self.folder / "feed").glob("*/manifest.json"))
        }


def refusal(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("empty_file", [True, False], ids=["empty file", "deleted"])
def test_a_lost_store_is_refused_until_the_operator_confirms(tmp_path: Path, logo_db: Path, empty_file: bool) -> None:
    install = Install(tmp_path, logo_db)
    code, out, err = install("sync")
    assert code == 0, out + err
    before = install.feed()
    assert len(before) == 13  # Logo's eleven streams and the two derived ones

    install.lose_state(empty_file)
    code, out, err = install("sync")
    assert code == 1, out + err
    line = refusal(err)
    assert "has no record of" in line and "accounts" in line and "--full-refresh" in line and "backup" in line
    assert install.feed() == before  # nothing was sent
    code, out, err = install("run")
    assert code == 1 and "--full-refresh" in refusal(err)
    assert install.feed() == before

    code, out, err = install("sync", "--full-refresh")
    assert code == 0, out + err
    after = install.feed()
    assert all(len(after[s]) > len(before[s]) for s in before)  # the resend the operator asked for
    code, out, err = install("sync")
    assert code == 0, out + err
    assert install.feed() == after  # nothing changed at the source: nothing sent


def test_streams_the_store_never_ran_are_checked_one_by_one(tmp_path: Path, logo_db: Path) -> None:
    install = Install(tmp_path, logo_db)
    assert install("sync")[0] == 0
    install.lose_state(empty_file=False)
    code, out, err = install("sync", "-t", "accounts", "--full-refresh")
    assert code == 0, out + err
    code, out, err = install("sync", "-t", "accounts")
    assert code == 0, out + err
    code, out, err = install("sync")
    assert code == 1
    line = refusal(err)
    assert "invoices" in line and "no record of accounts" not in line


def test_a_first_sync_into_an_empty_feed_passes(tmp_path: Path, logo_db: Path) -> None:
    install = Install(tmp_path, logo_db)
    install.state.write_bytes(b"")  # an empty file is a new store
    code, out, err = install("sync")
    assert code == 0, out + err


def test_the_loyalty_core_tells_through_its_checkpoint(tmp_path: Path, logo_db: Path) -> None:
    with LoyaltyServer(token="tkn") as core:
        install = Install(
            tmp_path, logo_db, {"kind": "http", "url": core.url, "auth": {"kind": "bearer", "token": "tkn"}}
        )
        assert install("sync", "-t", "accounts")[0] == 0
        stored = len(core.records())
        install.lose_state(empty_file=True)
        code, _, err = install("sync", "-t", "accounts")
        assert code == 1
        assert "no record of accounts" in refusal(err)
        assert len(core.records()) == stored
        assert core.requests_to("/checkpoint", "GET")[-1].status == 200


def test_a_core_without_checkpoint_cannot_tell_and_the_sync_goes_on_with_a_warning(
    tmp_path: Path, logo_db: Path
) -> None:
    with LoyaltyServer(token="tkn", checkpoint=False) as core:
        install = Install(
            tmp_path, logo_db, {"kind": "http", "url": core.url, "auth": {"kind": "bearer", "token": "tkn"}}
        )
        assert install("sync", "-t", "accounts")[0] == 0
        install.lose_state(empty_file=True)
        code, out, err = install("sync", "-t", "accounts")
        assert code == 0, out + err
        warnings = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert [w["event"] for w in warnings] == ["state.unverified"]
        assert warnings[0]["streams"] == ["accounts"]


def test_a_core_that_cannot_be_asked_stops_the_sync(tmp_path: Path, logo_db: Path) -> None:
    with LoyaltyServer(token="tkn") as core:
        url = core.url
    install = Install(tmp_path, logo_db, {"kind": "http", "url": url, "auth": {"kind": "bearer", "token": "tkn"}})
    code, _, err = install("sync", "-t", "accounts")
    assert code == 1
    assert "cannot ask the loyalty core" in refusal(err)
    assert "no batches waiting" in install("outbox")[1]  # refused before anything reached the outbox
