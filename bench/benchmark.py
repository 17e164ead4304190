"""Benchmark: a full sync and a no-change incremental sync of a generated ERP.

    .venv/bin/python bench/benchmark.py --erp logo --lines 1000000

Builds the scenario at the given size (invoice lines), lays it into the ERP the way
`dealersync demo` does (a SQLite copy of its tables, or its emulator on loopback, served
from this process), then runs `dealersync sync` twice as a child process: once from scratch
(every stream, to the file sink with fsync on) and once again with nothing changed.
Reports wall time, invoice lines per second, records per second and the child's peak
RSS. Setup time (generating and writing the ERP database) is reported apart.

Not a test: the figures go in the README. Targets on a 2-core machine: at least
25,000 invoice lines/s, peak RSS under 300 MB, no-change incremental under 2 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dealersync.demo import demo_erps, open_demo  # noqa: E402
from scenario.generate import build  # noqa: E402

CONFIG = """\
state: {{url: "sqlite:///{run}/state.db"}}
engine: {{batch_size: {batch_size}, overlap_minutes: 10, workers: {workers}}}
logging: {{level: INFO, format: json}}
sink: {{kind: file, path: ./{run}/feed, fsync: true}}
sources:
  - name: bench
    kind: {erp}
    timezone: Europe/Istanbul
    chunk_size: {chunk_size}
"""


# Runs the command in the child and, on the way out, writes the child's own peak RSS and that of
# the worker processes it waited for: per run, which the parent's wait4/RUSAGE_CHILDREN is not.
# The child's own peak is VmHWM (its memory since exec): ru_maxrss would carry over the peak of
# this benchmark process, which forked it and holds the scenario (and, for SAP and 1C, the emulator).
MEASURED = """
import json, resource, sys
from dealersync.cli import app
try:
    app(sys.argv[2:], prog_name="dealersync")
finally:
    own = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    open(sys.argv[1], "w").write(json.dumps({"peak_rss_kb": max(own, workers)}))
"""


def run_sync(directory: Path, config: Path) -> tuple[float, float, float, dict[str, float]]:
    """Wall seconds, CPU seconds (user + system, the child's and its workers'), peak RSS (MB) and per-stream
    seconds of one `dealersync sync` child process. CPU time is the figure to compare on a shared machine."""
    rss_file = directory / "rss.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", MEASURED, str(rss_file), "sync", "-c", str(config)],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = child.stdout.decode(errors="replace")
    if child.returncode != 0:
        raise SystemExit(f"sync failed:\n{output[-4000:]}")
    streams = {}
    for line in output.splitlines():
        if line.startswith("{") and '"stream.done"' in line:
            event = json.loads(line)
            streams[event["stream"]] = event["seconds"]
    peak_mb = json.loads(rss_file.read_text())["peak_rss_kb"] / 1024
    return seconds, cpu, peak_mb, streams


def feed_counts(feed: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for folder in sorted(p for p in feed.iterdir() if p.is_dir()):
        counts[folder.name] = sum(
            sum(1 for line in path.open("rb") if line.strip()) for path in folder.glob("*.ndjson")
        )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--erp", choices=demo_erps(), default="logo", help="which ERP to lay the scenario into")
    parser.add_argument("--lines", type=int, default=1_000_000, help="invoice lines in the generated database")
    parser.add_argument("--dir", type=Path, help="working folder (recreated); default bench-run-<erp>")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="engine.workers settings to measure")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    directory: Path = (args.dir or ROOT / f"bench-run-{args.erp}").resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)

    t0 = time.perf_counter()
    scenario = build(invoice_lines=args.lines)
    erp_side = open_demo(args.erp, scenario, directory)
    try:
        measure(args, directory, scenario, erp_side, time.perf_counter() - t0)
    finally:
        erp_side.close()


def measure(args: argparse.Namespace, directory: Path, scenario: Any, erp_side: Any, setup: float) -> None:
    invoice_lines = sum(len(s.record.lines) for s in scenario.invoices())
    print(f"setup: {invoice_lines:,} invoice lines generated and laid into {erp_side.description} in {setup:.0f} s")
    figures: dict[str, object] = {"erp": args.erp, "invoice_lines": invoice_lines, "setup_seconds": round(setup, 1)}
    source = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in erp_side.settings.items())
    for workers in args.workers:
        run = directory / f"workers-{workers}"
        run.mkdir()
        config = directory / f"workers-{workers}.yaml"
        text = CONFIG.format(
            run=run.name, erp=args.erp, batch_size=args.batch_size, chunk_size=args.chunk_size, workers=workers
        )
        config.write_text(text + source, encoding="utf-8")
        full_s, full_cpu, full_rss, streams = run_sync(directory, config)
        counts = feed_counts(run / "feed")
        again_s, again_cpu, again_rss, _ = run_sync(directory, config)
        resent = sum(feed_counts(run / "feed").values()) - sum(counts.values())
        figures[f"workers={workers}"] = {
            "records": sum(counts.values()),
            "full_sync_seconds": round(full_s, 2),
            "full_sync_cpu_seconds": round(full_cpu, 2),
            "invoice_lines_per_second_full_sync": round(invoice_lines / full_s),
            "invoice_lines_per_cpu_second_full_sync": round(invoice_lines / full_cpu),
            "invoices_stream_seconds": streams.get("invoices"),
            "invoice_lines_per_second_invoices_stream": round(invoice_lines / streams["invoices"]),
            "records_per_second": round(sum(counts.values()) / full_s),
            "full_sync_peak_rss_mb": round(full_rss),
            "no_change_sync_seconds": round(again_s, 2),
            "no_change_sync_cpu_seconds": round(again_cpu, 2),
            "no_change_sync_peak_rss_mb": round(again_rss),
            "no_change_records_resent": resent,
            "stream_seconds": streams,
            "records_by_stream": counts,
        }
        print(json.dumps({f"workers={workers}": figures[f"workers={workers}"]}, indent=2), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
