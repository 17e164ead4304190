"""The installed `dealersync` console script, run as a user would (subprocess, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mapping.schema import SCHEMA_VERSION, STREAMS

DEALERSYNC = str(Path(sys.executable).parent / "dealersync")


def dealersync(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("LOGO_DB_PASSWORD", "DEALERSYNC_DEBUG")}
    full_env.update(env or {})
    return subprocess.run([DEALERSYNC, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def test_init_writes_once(tmp_path: Path) -> None:
    first = dealersync("init", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "dealersync.yaml").read_text().startswith("# dealersync configuration")
    again = dealersync("init", cwd=tmp_path)
    assert again.returncode == 1 and "--force" in again.stderr
    assert dealersync("init", "--force", cwd=tmp_path).returncode == 0


def test_check_on_a_broken_config_names_the_field(tmp_path: Path) -> None:
    assert dealersync("init", "-c", "conf.yaml", cwd=tmp_path).returncode == 0
    config = tmp_path / "conf.yaml"
    config.write_text(config.read_text().replace("  batch_size: 2000", "  batch_size: 0\n  colour: blue"))
    result = dealersync("check", "-c", "conf.yaml", cwd=tmp_path, env={"LOGO_DB_PASSWORD": "Hidden-Pw-77"})
    assert result.returncode == 2
    assert "engine.batch_size: Input should be greater than or equal to 1" in result.stderr
    assert "engine.colour: Extra inputs are not permitted" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Hidden-Pw-77" not in result.stderr + result.stdout


def test_missing_env_var_and_debug_traceback(tmp_path: Path) -> None:
    assert dealersync("init", cwd=tmp_path).returncode == 0
    result = dealersync("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "sources[0].password: environment variable LOGO_DB_PASSWORD is not set" in result.stderr
    assert "Traceback" not in result.stderr
    debug = dealersync("check", cwd=tmp_path, env={"DEALERSYNC_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = dealersync("status", "-c", "nowhere.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "dealersync init" in result.stderr


def test_schema_writes_one_file_per_stream(tmp_path: Path) -> None:
    result = dealersync("schema", "--out", "schemas", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "schemas"
    files = sorted(p.name for p in folder.glob("*.json") if p.name != "index.json")
    assert files == sorted(f"{stream}.json" for stream in STREAMS) and len(files) == 14
    for name in files:
        document = json.loads((folder / name).read_text())
        assert document["$id"].endswith(f"/{name}")
        assert document["$schema"].startswith("https://json-schema.org/")
        assert document["properties"]["stream"] == {"const": name.removesuffix(".json")}
    index = json.loads((folder / "index.json").read_text())
    assert index["schema_version"] == SCHEMA_VERSION and set(index["streams"]) == set(STREAMS)


def test_demo_rejects_an_erp_without_a_demo(tmp_path: Path) -> None:
    result = dealersync("demo", "--erp", "navision", "--dir", "d", cwd=tmp_path)
    assert result.returncode == 2 and "supports: " in result.stderr and "logo" in result.stderr
    assert not (tmp_path / "d").exists()


def test_demo_end_to_end_then_status_and_check(tmp_path: Path) -> None:
    result = dealersync("demo", "--size", "2000", "--dir", "demo", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    feed = tmp_path / "demo" / "feed"
    for stream in set(STREAMS) - {"product_images"}:  # no adapter reads product images yet
        files = list((feed / stream).glob("*.ndjson"))
        assert files, f"no NDJSON for {stream}"
        first = json.loads(files[0].read_text().splitlines()[0])
        assert first["stream"] == stream and first["op"] in ("upsert", "delete")
    assert "Incremental streams sent only the changes" in result.stdout
    assert "net sales, last 12 months" in result.stdout
    assert "statement from the account_ledger stream" in result.stdout

    config = tmp_path / "demo" / "dealersync.yaml"
    for command in ("check", "status", "discover", "dead-letters"):
        outcome = dealersync(command, "-c", str(config), cwd=tmp_path)
        assert outcome.returncode == 0, f"{command}: {outcome.stdout}{outcome.stderr}"
    incremental = dealersync("sync", "-c", str(config), "--stream", "invoices", cwd=tmp_path)
    assert incremental.returncode == 0, incremental.stdout + incremental.stderr
    assert "invoices" in incremental.stdout
    checked = dealersync("check", "-c", str(config), cwd=tmp_path, env={"COLUMNS": "250"})
    assert "stream invoices: schema" in checked.stdout and "every code value since" in checked.stdout
    census = dealersync("discover", "-c", str(config), "--codes", cwd=tmp_path, env={"COLUMNS": "250"})
    assert census.returncode == 0, census.stdout + census.stderr
    assert "INVOICE.TRCODE" in census.stdout and "every code value in the data is known" in census.stdout
    bad = dealersync("discover", "-c", str(config), "--codes", "--since", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr

    # A re-run recreates its own folder; a foreign non-empty folder is refused.
    assert dealersync("demo", "--size", "500", "--dir", "demo", cwd=tmp_path).returncode == 0
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    refused = dealersync("demo", "--size", "500", "--dir", "mine", cwd=tmp_path)
    assert refused.returncode == 2 and (tmp_path / "mine" / "keep.txt").exists()


def test_the_demo_statement_runs_the_balance_over_every_entry_and_skips_cancelled_ones() -> None:
    from rich.console import Console

    from dealersync.demo import dealer_statement

    def entry(key: str, day: str, seq: int | None, debit: str, credit: str, cancelled: bool = False) -> tuple:
        data = {"account_code": "D1", "date": day, "sequence": seq, "kind": "invoice", "document_no": key,
                "debit_local": debit, "credit_local": credit, "cancelled": cancelled}  # fmt: skip
        return key, {"op": "upsert", "data": data}

    feed = {
        "account_ledger": dict(
            [
                entry("b", "2026-01-02", 1, "0.00", "40.00"),
                entry("a", "2026-01-01", None, "100.00", "0.00"),
                entry("c", "2026-01-02", 2, "55.55", "0.00", cancelled=True),
                entry("d", "2026-01-03", 3, "10.00", "0.00"),
                (
                    "x",
                    {
                        "op": "upsert",
                        "data": {**entry("x", "2026-01-01", 0, "999.00", "0.00")[1]["data"], "account_code": "D2"},
                    },
                ),
            ]
        )
    }
    table = dealer_statement(feed, "D1", last=3)
    assert table is not None and "last 3 of 4 entries; balance 70.00" in str(table.title)
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    cells = [[c.strip() for c in line.split("│") if c.strip()] for line in text.splitlines()]
    rows = [r for r in cells if r and r[0].startswith("2026")]
    assert [r[0] for r in rows] == ["2026-01-02", "2026-01-02", "2026-01-03"]  # date, then the ERP's order
    assert [r[-1] for r in rows] == ["60.00", "60.00", "70.00"] and "(cancelled)" in text
    assert dealer_statement(feed, "nobody") is None
