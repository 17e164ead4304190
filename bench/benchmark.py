"""Benchmark: a full sync and a no-change incremental sync of a generated Logo database.

    .venv/bin/python bench/benchmark.py --lines 1000000

Builds the scenario at the given size (invoice lines), lays it into a Logo SQLite
database, then runs `dealersync sync` twice as a child process: once from scratch
(every stream, to the file sink with fsync on) and once again with nothing changed.
Reports wall time, invoice lines per second, records per second and the child's peak
RSS. Setup time (generating and writing the ERP database) is reported apart.

Not a test: the figures go in the README. Targets on a 2-core machine: at least
25,000 invoice lines/s, peak RSS under 300 MB, no-change incremental under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.logo.writer import LogoWriter  # noqa: E402
from scenario.generate import build  # noqa: E402

CONFIG = """\
state: {{url: "sqlite:///state.db"}}
engine: {{batch_size: {batch_size}, overlap_minutes: 10}}
logging: {{level: WARNING, format: json}}
sink: {{kind: file, path: ./feed, fsync: true}}
sources:
  - name: bench
    kind: logo
    timezone: Europe/Istanbul
    chunk_size: {chunk_size}
    url: "{url}"
    firm: 1
    periods: [1]
"""


def run_sync(directory: Path) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one `dealersync sync` child process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "dealersync", "sync", "-c", str(directory / "dealersync.yaml")],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    output = child.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sync failed:\n{output[-4000:]}")
    return seconds, usage.ru_maxrss / 1024, output


def feed_counts(feed: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for folder in sorted(p for p in feed.iterdir() if p.is_dir()):
        counts[folder.name] = sum(
            sum(1 for line in path.open("rb") if line.strip()) for path in folder.glob("*.ndjson")
        )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="invoice lines in the generated database")
    parser.add_argument("--dir", type=Path, default=ROOT / "bench-run", help="working folder (recreated)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    directory: Path = args.dir.resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    erp_url = f"sqlite:///{directory / 'logo.db'}"

    t0 = time.perf_counter()
    scenario = build(invoice_lines=args.lines)
    writer = LogoWriter(create_engine(erp_url), firm=1, period=1)
    writer.create_tables()
    writer.write(scenario)
    setup = time.perf_counter() - t0
    invoice_lines = sum(len(s.record.lines) for s in scenario.invoices())
    (directory / "dealersync.yaml").write_text(
        CONFIG.format(url=erp_url, batch_size=args.batch_size, chunk_size=args.chunk_size), encoding="utf-8"
    )

    full_s, full_rss, _ = run_sync(directory)
    counts = feed_counts(directory / "feed")
    again_s, again_rss, _ = run_sync(directory)
    after = feed_counts(directory / "feed")
    resent = sum(after.values()) - sum(counts.values())

    figures = {
        "invoice_lines": invoice_lines,
        "records": sum(counts.values()),
        "records_by_stream": counts,
        "setup_seconds": round(setup, 1),
        "full_sync_seconds": round(full_s, 2),
        "invoice_lines_per_second": round(invoice_lines / full_s),
        "records_per_second": round(sum(counts.values()) / full_s),
        "full_sync_peak_rss_mb": round(full_rss),
        "no_change_sync_seconds": round(again_s, 2),
        "no_change_sync_peak_rss_mb": round(again_rss),
        "no_change_records_resent": resent,
    }
    print("| figure | value |\n|---|---|")
    for name, value in figures.items():
        if name != "records_by_stream":
            print(f"| {name} | {value:,} |" if isinstance(value, int) else f"| {name} | {value} |")
    print("records by stream:", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
