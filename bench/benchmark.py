"""Benchmark: dealersync against the floor under it and against dlt, in one run on one generated ERP database.

    .venv/bin/python bench/benchmark.py --erp logo --lines 1000000 --json bench.json
    .venv/bin/python bench/benchmark.py --lines 50000 --only replay,dlt           # one part, quickly
    .venv/bin/python bench/benchmark.py --sizes 1000000 4000000 --only dealersync  # memory and no-change by size
    .venv/bin/python bench/benchmark.py --source-db postgresql                     # the tables on local PostgreSQL

Builds the scenario at the given size (invoice lines) and lays it into the ERP the way `dealersync demo` does (a
SQLite copy of its tables, or its emulator on loopback, served from this process); with --source-db postgresql
the SQLite copy's tables are then copied into a fresh PostgreSQL database on localhost, which the source reads.
Then, each measured as a child process (CPU seconds: user + system of the child and the processes it waited for;
peak RSS: the child's VmHWM and its workers' high-water mark; a PostgreSQL server's own CPU is not counted, for
any run):

- dealersync: for each `engine.workers` setting, `dealersync sync -t invoices` alone, then a full sync of all
  streams and a no-change incremental sync of all streams (file sink with fsync on, SQLite state);
- alone: each of --alone (default: the streams issue 12 added) synced alone with workers 1, then again with
  nothing changed: its own records per CPU-second (a derived stream: in its input's folder, after the input);
- replay: the exact SELECTs the adapter's invoices stream executes in one read (captured as untimed setup),
  replayed with the bare DB-API driver, fetch only, then fetch + one nested dict per invoice encoded with
  msgspec to an NDJSON file (bench/replay.py);
- dlt: dlt's sql_table source reading the same header and line tables, backend sqlalchemy (to jsonl) and
  pyarrow (to parquet), a full pipeline run to local files (bench/dlt_compare.py; needs the extra `bench`);
- http: the HTTP sink's push rate (bench/http_push.py, where present).

It prints the runs, the ratios of dealersync's invoices-stream lines per CPU-second to the yardsticks beside the
goals of issue 11, and, for each of --sizes, the full sync's peak RSS and the no-change sync's seconds; with
--json FILE it saves every figure. Setup (generating and laying in the data) is apart.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import dlt_compare, replay  # noqa: E402
from bench.postgres_copy import drop_database, lay_into_postgresql  # noqa: E402
from dealersync.demo import demo_erps, open_demo  # noqa: E402
from scenario.demo import SqlDemo  # noqa: E402
from scenario.generate import build  # noqa: E402

PARTS = ("dealersync", "alone", "replay", "dlt", "http")
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"  # trust auth, as the tests use it

# Issue 11's goals: dealersync's invoices-stream lines per CPU-second against each yardstick, and absolutes.
RATIO_GOALS: dict[str, tuple[str, float] | None] = {
    "replay_fetch": None,
    "replay_fetch_json": (">=", 0.5),
    "dlt_sqlalchemy": (">=", 2.5),
    "dlt_pyarrow": (">", 1.0),
}
INVOICES_GOAL = 52_000  # invoice lines per CPU-second, the invoices stream alone
ALL_STREAMS_GOAL = 35_000  # invoice lines per CPU-second, the full sync of all streams
RSS_GOAL_MB = 200  # peak RSS, below
# Streams measured alone by default: the ones issue 12 added. A derived stream is measured in its input's run folder
# once that input has been synced there (its facts kept): the derived computation alone.
ALONE = ("account_ledger", "price_lists", "stock_movements", "account_balances")
DERIVED_FROM = {"account_balances": "account_ledger"}
COMPARISONS = {">=": operator.ge, ">": operator.gt, "<": operator.lt}

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


# Runs `dealersync ARGS` (target "dealersync") or a script (target: its path) in the child and, on the way out,
# writes the child's own peak RSS and that of the worker processes it waited for: per run, which the parent's
# wait4/RUSAGE_CHILDREN is not. The child's own peak is VmHWM (its memory since exec): ru_maxrss would carry over
# the peak of this benchmark process, which forked it and holds the scenario (and, for SAP and 1C, the emulator).
MEASURED = """
import json, resource, runpy, sys
rss_file, target = sys.argv[1], sys.argv[2]
try:
    if target == "dealersync":
        from dealersync.cli import app
        app(sys.argv[3:], prog_name="dealersync")
    else:
        sys.argv = sys.argv[2:]
        runpy.run_path(target, run_name="__main__")
finally:
    own = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    open(rss_file, "w").write(json.dumps({"peak_rss_kb": max(own, workers)}))
"""


class ChildFailed(Exception):
    """A measured child exited non-zero; the message ends with its output."""


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall
    cpu: float  # user + system, the child's and its workers'
    peak_mb: float
    output: str


def run_child(directory: Path, target: str, args: Sequence[str], env: dict[str, str] | None = None) -> Measured:
    """One measured child process (see MEASURED), run in `directory`. CPU time is the figure to compare on a
    shared machine."""
    rss_file = directory / "rss.json"
    rss_file.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", MEASURED, str(rss_file), target, *args],
        cwd=directory,
        env=None if env is None else {**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = child.stdout.decode(errors="replace")
    if child.returncode != 0:
        raise ChildFailed(f"{target} {' '.join(args)} failed (exit {child.returncode}):\n{output[-4000:]}")
    peak_mb = json.loads(rss_file.read_text())["peak_rss_kb"] / 1024
    return Measured(seconds, cpu, peak_mb, output)


def run_sync(directory: Path, config: Path, streams: Sequence[str] = ()) -> tuple[Measured, dict[str, float]]:
    """One `dealersync sync` child process, and the seconds of each stream it logged."""
    args = ["sync", "-c", str(config), *(arg for name in streams for arg in ("-t", name))]
    try:
        run = run_child(directory, "dealersync", args)
    except ChildFailed as exc:
        raise SystemExit(str(exc)) from None
    seconds = {}
    for line in run.output.splitlines():
        if line.startswith("{") and '"stream.done"' in line:
            event = json.loads(line)
            seconds[event["stream"]] = event["seconds"]
    return run, seconds


def feed_counts(feed: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for folder in sorted(p for p in feed.iterdir() if p.is_dir()):
        counts[folder.name] = sum(
            sum(1 for line in path.open("rb") if line.strip()) for path in folder.glob("*.ndjson")
        )
    return counts


@dataclass
class Erp:
    """The scenario at one size, laid into the ERP (and, with --source-db postgresql, copied into PostgreSQL)."""

    folder: Path
    side: Any  # the DemoErp
    invoice_lines: int
    settings: dict[str, Any]  # the source's adapter settings
    description: str
    setup_seconds: float
    url: str | None = None  # absolute SQLAlchemy URL of a SQL ERP's database


@dataclass
class Figures:
    """Every figure of the run, as --json saves it; `runs` feeds the printed summary."""

    data: dict[str, Any]
    runs: list[tuple[str, Measured | None, str]] = field(default_factory=list)  # (label, measured, note)


def lay(args: argparse.Namespace, folder: Path, size: int) -> Erp:
    folder.mkdir(parents=True)
    started = time.perf_counter()
    scenario = build(invoice_lines=size)
    side = open_demo(args.erp, scenario, folder)
    invoice_lines = sum(len(s.record.lines) for s in scenario.invoices())
    settings = dict(side.settings)
    description, url = side.description, None
    if isinstance(side, SqlDemo):
        sqlite_file = folder / f"{args.erp}.db"
        url = f"sqlite:///{sqlite_file}"
        if args.source_db == "postgresql":
            # Every MetaData the writer holds: the tables it created are all described there.
            definitions = [value for value in vars(side.writer).values() if isinstance(value, sa.MetaData)]
            url = lay_into_postgresql(sqlite_file, definitions, args.pg_admin_url, args.pg_database)
            settings["url"] = url
            description = f"PostgreSQL database {args.pg_database} (copied from {sqlite_file.name})"
    elif args.source_db == "postgresql":
        side.close()
        raise SystemExit(f"--source-db postgresql: {args.erp} is not a SQL ERP (its demo is an emulator)")
    return Erp(folder, side, invoice_lines, settings, description, time.perf_counter() - started, url)


def write_config(args: argparse.Namespace, erp: Erp, name: str, workers: int) -> Path:
    """A config whose run folder (state and feed) is `name` beside it; the folder is created empty."""
    (erp.folder / name).mkdir()
    config = erp.folder / f"{name}.yaml"
    text = CONFIG.format(
        run=name, erp=args.erp, batch_size=args.batch_size, chunk_size=args.chunk_size, workers=workers
    )
    source = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in erp.settings.items())
    config.write_text(text + source, encoding="utf-8")
    return config


def per_cpu(lines: int, run: Measured) -> int:
    return round(lines / run.cpu)


def run_figures(lines: int, run: Measured) -> dict[str, float]:
    return {
        "seconds": round(run.seconds, 2),
        "cpu_seconds": round(run.cpu, 2),
        "invoice_lines_per_cpu_second": per_cpu(lines, run),
        "peak_rss_mb": round(run.peak_mb),
    }


def measure_dealersync(args: argparse.Namespace, erp: Erp, out: Figures) -> None:
    lines = erp.invoice_lines
    out.data["invoices_stream"] = {}
    for workers in args.workers:
        name = f"invoices-w{workers}"
        run, seconds = run_sync(erp.folder, write_config(args, erp, name, workers), ["invoices"])
        out.data["invoices_stream"][f"workers={workers}"] = {
            **run_figures(lines, run),
            "stream_seconds": seconds.get("invoices"),
        }
        out.runs.append((f"dealersync -t invoices, workers {workers}", run, ""))
        progress(out.runs[-1], lines)

        name = f"workers-{workers}"
        config = write_config(args, erp, name, workers)
        full, streams = run_sync(erp.folder, config)
        counts = feed_counts(erp.folder / name / "feed")
        again, _ = run_sync(erp.folder, config)
        resent = sum(feed_counts(erp.folder / name / "feed").values()) - sum(counts.values())
        out.data[f"workers={workers}"] = {
            "records": sum(counts.values()),
            "full_sync_seconds": round(full.seconds, 2),
            "full_sync_cpu_seconds": round(full.cpu, 2),
            "invoice_lines_per_second_full_sync": round(lines / full.seconds),
            "invoice_lines_per_cpu_second_full_sync": per_cpu(lines, full),
            "invoices_stream_seconds": streams.get("invoices"),
            "invoice_lines_per_second_invoices_stream": round(lines / streams["invoices"]),
            "records_per_second": round(sum(counts.values()) / full.seconds),
            "full_sync_peak_rss_mb": round(full.peak_mb),
            "no_change_sync_seconds": round(again.seconds, 2),
            "no_change_sync_cpu_seconds": round(again.cpu, 2),
            "no_change_sync_peak_rss_mb": round(again.peak_mb),
            "no_change_records_resent": resent,
            "stream_seconds": streams,
            "records_by_stream": counts,
        }
        out.runs.append((f"dealersync all streams, workers {workers}", full, f"{sum(counts.values()):,} records"))
        progress(out.runs[-1], lines)
        out.runs.append((f"  no-change sync, workers {workers}", again, f"{resent} resent"))
        progress(out.runs[-1], None)


def measure_alone(args: argparse.Namespace, erp: Erp, out: Figures) -> None:
    """Each of --alone synced alone (workers 1), then again with nothing changed."""
    lines = erp.invoice_lines
    out.data["alone"] = {}
    configs: dict[str, Path] = {}
    for stream in args.alone:
        source = DERIVED_FROM.get(stream, stream)
        name = f"alone-{source}"
        if source not in configs:
            configs[source] = write_config(args, erp, name, 1)
            if source != stream:  # the input first, unmeasured: the derived stream waits for its facts
                run_sync(erp.folder, configs[source], [source])
        config = configs[source]
        run, seconds = run_sync(erp.folder, config, [stream])
        records = feed_counts(erp.folder / name / "feed").get(stream, 0)
        again, _ = run_sync(erp.folder, config, [stream])
        out.data["alone"][stream] = {
            "records": records,
            "seconds": round(run.seconds, 2),
            "cpu_seconds": round(run.cpu, 2),
            "records_per_cpu_second": round(records / run.cpu),
            "peak_rss_mb": round(run.peak_mb),
            "no_change_cpu_seconds": round(again.cpu, 2),
            "stream_seconds": seconds.get(stream),
        }
        out.runs.append((f"dealersync -t {stream}, workers 1", run, f"{records:,} records"))
        progress(out.runs[-1], lines)
        out.runs.append((f"  no-change sync -t {stream}", again, ""))
        progress(out.runs[-1], None)


def measure_replay(erp: Erp, captured: replay.Capture, out: Figures) -> None:
    (erp.folder / "replay").mkdir()
    saved = erp.folder / "replay" / "capture.pickle"
    replay.save(captured, saved)
    figures: dict[str, Any] = {
        "driver": captured.driver,
        "statements": len(captured.statements),
        "tables": [captured.header_table, *captured.line_tables],
    }
    modes = {"fetch": ["--mode", "fetch"], "fetch_json": ["--mode", "json", "--out", "invoices.ndjson"]}
    script = str(ROOT / "bench" / "replay.py")
    for mode, flags in modes.items():
        result = erp.folder / "replay" / f"{mode}.json"
        label = "raw replay, fetch only" if mode == "fetch" else "raw replay, fetch + dicts + msgspec NDJSON"
        try:
            run = run_child(erp.folder / "replay", script, [str(saved), *flags, "--result", str(result)])
        except ChildFailed as exc:
            figures[mode] = {"failed": str(exc)[-2000:]}
            out.runs.append((label, None, "failed"))
            continue
        counts = json.loads(result.read_text())
        figures[mode] = {**run_figures(erp.invoice_lines, run), "read": counts}
        out.runs.append((label, run, ", ".join(f"{key} {value:,}" for key, value in counts.items())))
        progress(out.runs[-1], erp.invoice_lines)
    out.data["replay"] = figures


def measure_dlt(erp: Erp, url: str, captured: replay.Capture, out: Figures) -> None:
    absent = dlt_compare.missing()
    if absent:
        out.data["dlt"] = {"skipped": f"{absent}: {dlt_compare.INSTALL}"}
        print(f"dlt: skipped ({absent}); install it with {dlt_compare.INSTALL}", flush=True)
        return
    tables = [captured.header_table, *captured.line_tables]
    script = str(ROOT / "bench" / "dlt_compare.py")
    figures: dict[str, Any] = {"tables": tables}
    for backend, file_format in dlt_compare.FORMATS.items():
        folder = erp.folder / f"dlt-{backend}"
        folder.mkdir()
        result = folder / "result.json"
        args = ["--url", url, *(a for t in tables for a in ("--table", t)), "--backend", backend]
        # dlt's data dir and pipelines stay in the run folder (never $HOME), and it sends nothing.
        env = {"DLT_DATA_DIR": str(folder / "dlt-data"), "RUNTIME__DLTHUB_TELEMETRY": "false"}
        label = f"dlt sql_table, {backend} -> {file_format}"
        try:
            run = run_child(folder, script, [*args, "--dir", str(folder), "--result", str(result)], env)
        except ChildFailed as exc:
            figures[backend] = {"failed": str(exc)[-2000:]}
            out.runs.append((label, None, "failed"))
            continue
        loaded = json.loads(result.read_text())
        figures[backend] = {**run_figures(erp.invoice_lines, run), "format": file_format, **loaded}
        rows = ", ".join(f"{table} {n:,}" for table, n in loaded["rows"].items() if not table.startswith("_dlt"))
        out.runs.append((label, run, rows))
        progress(out.runs[-1], erp.invoice_lines)
    out.data["dlt"] = figures


def measure_http(args: argparse.Namespace, out: Figures) -> None:
    try:
        from bench.http_push import push_rate
    except ImportError as exc:
        out.data["http_push"] = {"skipped": f"not available ({exc})"}
        print(f"http push: not available ({exc})", flush=True)
        return
    from dealersync.logs import setup

    setup("WARNING", "json")  # the sink runs in this process: its per-batch info lines would bury the figures
    figures = push_rate(records=args.http_records)
    out.data["http_push"] = figures
    print("http push: " + ", ".join(f"{key} {shown(value)}" for key, value in figures.items()), flush=True)


def shown(value: object) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}" if isinstance(value, int | float) else str(value)


def progress(entry: tuple[str, Measured | None, str], lines: int | None) -> None:
    label, run, note = entry
    if run is None:
        print(f"{label}: {note}", flush=True)
        return
    rate = f", {per_cpu(lines, run):,} lines/CPU-s" if lines else ""
    extra = f" ({note})" if note else ""
    print(f"{label}: {run.seconds:.1f} s, {run.cpu:.1f} CPU-s{rate}, {run.peak_mb:.0f} MB{extra}", flush=True)


def ratios_and_goals(args: argparse.Namespace, out: Figures) -> list[list[str]]:
    """Rows of the goals table (one value column per workers setting), also stored in out.data["goals"]: the
    ratios of dealersync's invoices-stream lines per CPU-second to each yardstick's, and the absolute goals."""

    def rate(*path: str) -> float | None:
        node: Any = out.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node if isinstance(node, int | float) else None

    yardsticks = {  # name -> (its figures in out.data, its label)
        "replay_fetch": (("replay", "fetch"), "raw fetch only"),
        "replay_fetch_json": (("replay", "fetch_json"), "raw fetch + JSON"),
        "dlt_sqlalchemy": (("dlt", "sqlalchemy"), "dlt sqlalchemy"),
        "dlt_pyarrow": (("dlt", "pyarrow"), "dlt pyarrow"),
    }
    rows: list[list[str]] = []
    goals: list[dict[str, Any]] = []
    columns = [f"workers={w}" for w in args.workers]

    def add(
        label: str, goal: tuple[str, float] | None, values: list[float | None], fmt: Callable[[float], str]
    ) -> None:
        cells = [label, "" if goal is None else f"{goal[0]} {fmt(goal[1])}"]
        saved: dict[str, Any] = {"measure": label, "goal": cells[1] or None}
        for column, value in zip(columns, values, strict=True):
            met = None if value is None or goal is None else COMPARISONS[goal[0]](value, goal[1])
            saved[column] = {"value": value if value is None else round(value, 3), "met": met}
            if value is None:
                cells.append("n/a")
            else:
                cells.append(fmt(value) if met is None else f"{fmt(value)} {'met' if met else 'NOT met'}")
        rows.append(cells)
        goals.append(saved)

    def ratio(value: float) -> str:
        return f"{value:.2f}"

    def count(value: float) -> str:
        return f"{value:,.0f}"

    for name, (path, label) in yardsticks.items():
        floor = rate(*path, "invoice_lines_per_cpu_second")
        values: list[float | None] = []
        for column in columns:
            ours = rate("invoices_stream", column, "invoice_lines_per_cpu_second")
            values.append(None if ours is None or not floor else ours / floor)
        add(f"invoices stream / {label}", RATIO_GOALS[name], values, ratio)
    add(
        "invoices stream lines/CPU-s",
        (">=", INVOICES_GOAL),
        [rate("invoices_stream", c, "invoice_lines_per_cpu_second") for c in columns],
        count,
    )
    add(
        "all streams lines/CPU-s",
        (">=", ALL_STREAMS_GOAL),
        [rate(c, "invoice_lines_per_cpu_second_full_sync") for c in columns],
        count,
    )
    peaks = [
        max(
            (v for v in (rate(c, "full_sync_peak_rss_mb"), rate("invoices_stream", c, "peak_rss_mb")) if v is not None),
            default=None,
        )
        for c in columns
    ]
    add("peak RSS MB (dealersync syncs)", ("<", RSS_GOAL_MB), peaks, count)
    out.data["goals"] = goals
    return [["", "goal", *columns], *rows]


def measure_size(args: argparse.Namespace, erp: Erp) -> dict[str, Any]:
    """A larger database: the full sync of all streams (workers 1) and the no-change sync after it."""
    config = write_config(args, erp, "workers-1", 1)
    full, _ = run_sync(erp.folder, config)
    counts = feed_counts(erp.folder / "workers-1" / "feed")
    again, _ = run_sync(erp.folder, config)
    resent = sum(feed_counts(erp.folder / "workers-1" / "feed").values()) - sum(counts.values())
    figures = {
        "invoice_lines": erp.invoice_lines,
        "setup_seconds": round(erp.setup_seconds, 1),
        "full_sync_cpu_seconds": round(full.cpu, 2),
        "full_sync_peak_rss_mb": round(full.peak_mb),
        "no_change_sync_seconds": round(again.seconds, 2),
        "no_change_sync_cpu_seconds": round(again.cpu, 2),
        "no_change_records_resent": resent,
    }
    print(
        f"{erp.invoice_lines:,} invoice lines: full sync {full.cpu:.1f} CPU-s, {full.peak_mb:.0f} MB; "
        f"no-change sync {again.seconds:.2f} s, {again.cpu:.2f} CPU-s, {resent} resent",
        flush=True,
    )
    return figures


def text_table(rows: list[list[str]], left: frozenset[int] = frozenset({0})) -> str:
    """Rows as aligned columns (those in `left` left-aligned, the others right-aligned), a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells: list[str]) -> str:
        aligned = (c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(aligned).rstrip()

    return "\n".join([line(rows[0]), "  ".join("-" * w for w in widths), *(line(row) for row in rows[1:])])


def summary(args: argparse.Namespace, out: Figures, goals: list[list[str]] | None) -> None:
    if out.runs:
        lines = out.data["invoice_lines"]
        print(f"\n== {args.erp}, {lines:,} invoice lines, {out.data['database']}")
        rows = [["run", "wall s", "CPU s", "lines/CPU-s", "peak RSS MB", "read"]]
        for label, run, note in out.runs:
            if run is None:
                rows.append([label, "", "", "", "", note])
                continue
            rate = "" if label.lstrip().startswith("no-change") else f"{per_cpu(lines, run):,}"
            rows.append([label, f"{run.seconds:.1f}", f"{run.cpu:.1f}", rate, f"{run.peak_mb:.0f}", note])
        print(text_table(rows, frozenset({0, 5})))
    if out.data.get("alone"):
        print("\n== streams alone (workers 1): their own records per CPU-second")
        rows = [["stream", "records", "CPU s", "records/CPU-s", "peak RSS MB", "no-change CPU s"]]
        for stream, f in out.data["alone"].items():
            rows.append(
                [
                    stream,
                    f"{f['records']:,}",
                    f"{f['cpu_seconds']:.1f}",
                    f"{f['records_per_cpu_second']:,}",
                    f"{f['peak_rss_mb']}",
                    f"{f['no_change_cpu_seconds']:.2f}",
                ]
            )
        print(text_table(rows))
    if goals is not None:
        print("\n== dealersync's invoices stream against the yardsticks (lines per CPU-second), goals of issue 11")
        print(text_table(goals))
    for part in ("replay", "dlt", "http_push"):
        skipped = out.data.get(part, {}).get("skipped")
        if skipped:
            print(f"{part}: skipped, {skipped}")
    pushed = out.data.get("http_push", {})
    if "records_per_second" in pushed:
        print(f"\nHTTP sink push: {pushed['records_per_second']:,.0f} records/s, {pushed['cpu_seconds']:.2f} CPU-s")
    if len(out.data.get("sizes", [])) > 1:
        print("\n== by size (all streams, workers 1)")
        rows = [["invoice lines", "full sync CPU s", "full sync peak RSS MB", "no-change s", "no-change CPU s"]]
        for size in out.data["sizes"]:
            rows.append(
                [
                    f"{size['invoice_lines']:,}",
                    f"{size['full_sync_cpu_seconds']:.1f}",
                    f"{size['full_sync_peak_rss_mb']}",
                    f"{size['no_change_sync_seconds']:.2f}",
                    f"{size['no_change_sync_cpu_seconds']:.2f}",
                ]
            )
        print(text_table(rows))


def parse_parts(text: str) -> set[str]:
    parts = {part.strip() for part in text.split(",") if part.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(sorted(unknown))}: choose from {', '.join(PARTS)}"
        )
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--erp", choices=demo_erps(), default="logo", help="which ERP to lay the scenario into")
    parser.add_argument("--lines", type=int, default=1_000_000, help="invoice lines in the generated database")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="invoice lines of each database to build, in turn (instead of --lines); the first gets every part, "
        "the others only the full sync of all streams (workers 1) and the no-change sync",
    )
    parser.add_argument("--source-db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL, help="a PostgreSQL server's maintenance database")
    parser.add_argument("--pg-database", default="dealersync_bench", help="the database laid (dropped first and last)")
    parser.add_argument("--only", dest="parts", type=parse_parts, default=set(PARTS), help=f"of {','.join(PARTS)}")
    parser.add_argument("--dir", type=Path, help="working folder (recreated); default bench-run-<erp>")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="engine.workers settings to measure")
    parser.add_argument(
        "--alone", nargs="*", default=list(ALONE), help="streams to measure alone (workers 1); none: --alone"
    )
    parser.add_argument("--http-records", type=int, default=100_000, help="records the HTTP push rate sends")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    directory: Path = (args.dir or ROOT / f"bench-run-{args.erp}").resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    first, *others = args.sizes or [args.lines]
    out = Figures({"erp": args.erp, "source_db": args.source_db})
    try:
        if args.parts - {"http"}:  # the HTTP push rate needs no database
            with laid(args, directory / f"lines-{first}", first) as erp:
                measure_first(args, erp, out)
                if "dealersync" in args.parts:
                    out.data["sizes"] = [first_size(args, erp, out)]
        if "dealersync" in args.parts:
            for size in others:
                with laid(args, directory / f"lines-{size}", size) as erp:
                    out.data["sizes"].append(measure_size(args, erp))
    finally:
        if args.source_db == "postgresql":
            drop_database(args.pg_admin_url, args.pg_database)
    if "http" in args.parts:
        measure_http(args, out)
    goals = ratios_and_goals(args, out) if "dealersync" in args.parts else None
    summary(args, out, goals)
    if args.json:
        args.json.write_text(json.dumps(out.data, indent=2), encoding="utf-8")


@contextmanager
def laid(args: argparse.Namespace, folder: Path, size: int) -> Iterator[Erp]:
    erp = lay(args, folder, size)
    try:
        print(
            f"setup: {erp.invoice_lines:,} invoice lines generated and laid into {erp.description} "
            f"in {erp.setup_seconds:.0f} s",
            flush=True,
        )
        yield erp
    finally:
        erp.side.close()


def measure_first(args: argparse.Namespace, erp: Erp, out: Figures) -> None:
    """Every part but http on the first size's database."""
    out.data.update(
        invoice_lines=erp.invoice_lines, database=erp.description, setup_seconds=round(erp.setup_seconds, 1)
    )
    if "dealersync" in args.parts:
        measure_dealersync(args, erp, out)
    if "alone" in args.parts:
        measure_alone(args, erp, out)
    if not {"replay", "dlt"} & args.parts:
        return
    if erp.url is None:
        reason = f"{args.erp} is not a SQL ERP"
        out.data.update({part: {"skipped": reason} for part in ("replay", "dlt") if part in args.parts})
        return
    config = write_config(args, erp, "capture", 1)
    started = time.perf_counter()
    captured = replay.capture(config)
    print(
        f"captured the invoices stream's {len(captured.statements):,} SELECTs in {time.perf_counter() - started:.0f} s "
        f"(untimed setup)",
        flush=True,
    )
    if "replay" in args.parts:
        measure_replay(erp, captured, out)
    if "dlt" in args.parts:
        measure_dlt(erp, erp.url, captured, out)


def first_size(args: argparse.Namespace, erp: Erp, out: Figures) -> dict[str, Any]:
    """The by-size figures of the first database: those of its workers-1 syncs, or new ones if none ran."""
    full = out.data.get("workers=1")
    if full is None:
        return measure_size(args, erp)
    return {
        "invoice_lines": erp.invoice_lines,
        "setup_seconds": round(erp.setup_seconds, 1),
        "full_sync_cpu_seconds": full["full_sync_cpu_seconds"],
        "full_sync_peak_rss_mb": full["full_sync_peak_rss_mb"],
        "no_change_sync_seconds": full["no_change_sync_seconds"],
        "no_change_sync_cpu_seconds": full["no_change_sync_cpu_seconds"],
        "no_change_records_resent": full["no_change_records_resent"],
    }


if __name__ == "__main__":
    main()
