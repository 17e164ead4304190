"""The `dealersync` command line.

Exit codes: 0 ok; 1 something failed (a check, a stream, a connection); 2 the configuration
or the command line is wrong. Expected errors print one message without a traceback; `--debug`
(or DEALERSYNC_DEBUG=1) shows tracebacks. Tables go to stdout, logs to stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connectors.base import CheckResult, ConnectorError
from dealersync import logs
from dealersync.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from sinks.base import SinkError

app = typer.Typer(
    name="dealersync",
    help="Read dealer data from ERPs, normalise it, and push it to the loyalty platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
)

# Piped output (logs, CI, `| less`) is not limited to rich's 80-column fallback: tables stay readable.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The configuration file.", dir_okay=False, show_default=True)
]
SourceOption = Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")]


class _Options:
    debug = False


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", envvar="DEALERSYNC_DEBUG", help="Show tracebacks for expected errors.")
    ] = False,
) -> None:
    _Options.debug = debug


@contextmanager
def _handled() -> Iterator[None]:
    """Turn expected errors into one message and an exit code; unexpected ones keep their traceback."""
    try:
        yield
    except ConfigError as exc:
        if _Options.debug:
            raise
        err.print(f"[red]configuration error:[/] {logs.scrub(str(exc))}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except (ConnectorError, SinkError) as exc:
        if _Options.debug:
            raise
        err.print(f"[red]error:[/] {logs.scrub(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        # A StateError (locked, unreachable, damaged state store) says what to do. engine.state is imported only by
        # the commands that open the store, so `init` and `schema` do not pay for SQLAlchemy to name the class.
        state = sys.modules.get("engine.state")
        if _Options.debug or state is None or not isinstance(exc, state.StateError):
            raise
        err.print(f"[red]error:[/] {logs.scrub(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


@contextmanager
def _state_of(config: Path, source: str | None) -> Iterator[tuple[Config, Any]]:
    """The loaded config and its state store (tables created), closed afterwards.

    An unknown --source is an error, not an empty table.
    """
    from engine.state import StateStore

    cfg = _load(config)
    if source:
        cfg.source(source)
    store = StateStore(cfg.state.url)
    try:
        store.create()
        yield cfg, store
    finally:
        store.close()


def _load(path: Path, *, quiet_on_terminal: bool = False) -> Config:
    config = load_config(path)
    level = config.logging.level
    if quiet_on_terminal and sys.stderr.isatty() and level != "DEBUG":
        level = "WARNING"  # the progress bar and tables say it better than INFO lines on a terminal
    logs.setup(level, config.logging.format)
    return config


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        numeric = column in {
            "Read",
            "Pushed",
            "Unchanged",
            "Deleted",
            "Dead letters",
            "Flagged",
            "Batches",
            "Pending",
            "Rows",
            "Retried",
            "Fixed",
            "Still failing",
            "Seconds",
        }
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    return table


def excluded_cell(excluded: dict[str, int]) -> str:
    """Items left out on purpose, per rule: "12 (purchase invoice 10, retail sale 2)"."""
    if not excluded:
        return "0"
    rules = ", ".join(f"{rule} {n:,}" for rule, n in sorted(excluded.items(), key=lambda x: -x[1]))
    return f"{sum(excluded.values()):,} ({rules})"


def short_error(text: str | None, limit: int = 160) -> str:
    """An error's first line, scrubbed and cut: a table cell is no place for a driver's SQL dump."""
    if not text:
        return ""
    line = logs.scrub(text).strip().splitlines()[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _ok(result: CheckResult) -> str:
    if not result.ok:
        return "[red]FAILED[/]"
    return "[yellow]warning[/]" if result.warning else "[green]ok[/]"


# --- init --------------------------------------------------------------------------------------------------------


@app.command()
def init(
    config: ConfigOption = Path(DEFAULT_CONFIG),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a fully commented example configuration."""
    if config.exists() and not force:
        err.print(f"{config} already exists; use --force to overwrite it")
        raise typer.Exit(1)
    text = resources.files("dealersync").joinpath("example.yaml").read_text(encoding="utf-8")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    out.print(f"wrote {config}: edit the source's url, firm and periods, set LOGO_DB_PASSWORD, then run")
    out.print(f"  dealersync check -c {config}")


# --- check -------------------------------------------------------------------------------------------------------


def _safe_checks(run: Any) -> list[CheckResult]:
    """A component's checks, or one failed check if it could not even start (adapters must not raise, but...)."""
    try:
        return list(run())
    except Exception as exc:
        return [CheckResult("connect", False, logs.scrub(f"{type(exc).__name__}: {exc}"))]


@app.command()
def check(config: ConfigOption = Path(DEFAULT_CONFIG)) -> None:
    """Check every source, the sink and the state store; exit 1 if anything failed."""
    with _handled():
        cfg = _load(config)
        table = _table(f"dealersync check ({cfg.path})", "Component", "Check", "Result", "Detail")
        all_ok = True
        warned = False

        def add(component: str, results: list[CheckResult]) -> None:
            nonlocal all_ok, warned
            for result in results:
                all_ok &= result.ok
                warned |= result.warning
                table.add_row(component, result.name, _ok(result), logs.scrub(result.detail))

        for source in cfg.sources:

            def source_checks(source: Any = source) -> list[CheckResult]:
                with source.build_adapter() as adapter:
                    results = adapter.check()
                    if all(r.ok for r in results):
                        results += _census_checks(adapter)
                    return results

            add(f"source {source.name} ({source.kind})", _safe_checks(source_checks))

        def sink_checks() -> list[CheckResult]:
            from sinks import build_sink

            sink = build_sink(cfg.sink)
            try:
                return sink.check()
            finally:
                sink.close()

        add(f"sink ({cfg.sink.kind})", _safe_checks(sink_checks))
        add("state store", _safe_checks(lambda: _state_check(cfg)))
        out.print(table)
        if not all_ok:
            out.print("[red]some checks failed[/]")
        elif warned:
            out.print("[yellow]all checks passed, with warnings: read them before the first sync[/]")
        else:
            out.print("[green]all checks passed[/]")
        if not all_ok:
            raise typer.Exit(1)


# check's census looks at a year of documents: every code in current use, in a time a check can afford.
CENSUS_DAYS = 366


def _census_checks(adapter: Any) -> list[CheckResult]:
    """Warnings for code values the data holds that the adapter does not know, with money the feed leaves out."""
    from connectors.census import census_warnings

    since = dt.date.today() - dt.timedelta(days=CENSUS_DAYS)
    try:
        counts = adapter.census(since)
    except Exception as exc:  # the census informs; it never hides the checks that passed
        detail = logs.scrub(f"the code census could not run: {type(exc).__name__}: {exc}")
        return [CheckResult("codes", True, short_error(detail, 400), warning=True)]
    if counts is None:
        return []
    warnings = census_warnings(counts, since)
    return warnings or [CheckResult("codes", True, f"every code value since {since.isoformat()} is known")]


def _state_check(cfg: Config) -> list[CheckResult]:
    from engine.state import StateError, StateStore

    store = StateStore(cfg.state.url)
    try:
        store.create()
        tracked = len(store.status())
    except StateError as exc:  # locked, unreachable, damaged: the sentence says what to do
        return [CheckResult("reachable", False, logs.scrub(str(exc)))]
    finally:
        store.close()
    return [CheckResult("reachable", True, f"{logs.scrub(cfg.state.url)} ({tracked} streams tracked)")]


# --- discover ----------------------------------------------------------------------------------------------------


@app.command()
def discover(
    config: ConfigOption = Path(DEFAULT_CONFIG),
    source: SourceOption = None,
    codes: Annotated[
        bool, typer.Option("--codes", help="The code census: every code value in the data and what it becomes.")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="With --codes: only documents dated on or after YYYY-MM-DD.")
    ] = None,
) -> None:
    """List each source's streams: key, replication key (or snapshot), row count; or, with --codes, the census."""
    from engine.derived import DERIVED, stream_names

    with _handled():
        cfg = _load(config)
        sources = [cfg.source(source)] if source else cfg.sources
        if codes:
            _census(sources, _since(since))
            return
        table = _table("streams", "Source", "Stream", "Key", "Replication", "Rows", "Enabled")
        for src in sources:
            with src.build_adapter() as adapter:
                for stream in adapter.streams():
                    try:
                        count = stream.count()
                    except Exception as exc:  # a count is informative, never a reason to stop the listing
                        count = None
                        logs.get_logger("dealersync.cli").warning("count_failed", stream=stream.name, error=str(exc))
                    table.add_row(
                        src.name,
                        stream.name,
                        ", ".join(stream.primary_key),
                        stream.replication_key or "snapshot",
                        "?" if count is None else f"{count:,}",
                        "yes" if src.enabled(stream.name) else "no",
                    )
                for name in stream_names(adapter)[len(adapter.streams()) :]:
                    key = ", ".join(DERIVED[name].primary_key)
                    table.add_row(src.name, name, key, "derived", "-", "yes" if src.enabled(name) else "no")
        out.print(table)


def _since(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since: {text!r} is not a date (YYYY-MM-DD)") from None


def _census(sources: Sequence[Any], since: dt.date | None) -> None:
    from connectors.census import sort

    table = _table("code census", "Source", "Stream", "Code column", "Value", "Rows", "Money", "dealersync", "Reading")
    unknown = 0
    for src in sources:
        with src.build_adapter() as adapter:
            counts = adapter.census(since)
            if counts is None:
                table.add_row(src.name, "", "", "", "", "", f"the {src.kind} adapter has no census", "")
                continue
            for c in sort(counts):
                reading = c.reading
                if reading is None:
                    unknown += 1
                    what, source = "[red]unknown: not in the feed[/]", ""
                else:
                    what = reading.action if reading.sent else f"[yellow]{reading.action}[/]"
                    source = reading.source
                table.add_row(
                    src.name,
                    c.column.stream,
                    c.column.name,
                    c.shown,
                    f"{c.rows:,}",
                    "" if c.money is None else f"{c.money:,.2f}",
                    what,
                    source,
                )
    out.print(table)
    if unknown:
        out.print(
            f"[red]{unknown} code value(s) unknown to dealersync: their rows are not in the feed.[/] Map or exclude "
            "each with the setting named in `dealersync check`"
        )
    else:
        out.print("[green]every code value in the data is known to dealersync[/]")


# --- sync --------------------------------------------------------------------------------------------------------


def _selected_streams(cfg: Config, source: str | None, streams: Sequence[str]) -> list[tuple[Any, list[str] | None]]:
    """(source config, explicit stream list or None for the enabled ones) for each source to sync."""
    sources = [cfg.source(source)] if source else cfg.sources
    return [(src, list(streams) if streams else None) for src in sources]


def result_table(title: str, results: Sequence[Any]) -> Table:
    table = _table(
        title,
        "Source",
        "Stream",
        "Status",
        "Read",
        "Pushed",
        "Unchanged",
        "Deleted",
        "Dead letters",
        "Flagged",
        "Excluded",
        "Batches",
        "Seconds",
        "Error",
    )
    for r in results:
        status = {"ok": "[green]ok[/]", "error": "[red]error[/]"}.get(r.status, f"[yellow]{r.status}[/]")
        table.add_row(
            r.source,
            r.stream,
            status,
            f"{r.read:,}",
            f"{r.pushed:,}",
            f"{r.unchanged:,}",
            f"{r.deleted:,}",
            f"{r.dead_lettered:,}",
            f"{r.flagged:,}",
            excluded_cell(r.excluded),
            f"{r.batches:,}",
            f"{r.seconds:.1f}",
            short_error(r.error),
        )
    return table


@contextmanager
def progress_display(enabled: bool) -> Iterator[Any]:
    """A progress callback for the engine: a rich bar per stream on a terminal, nothing otherwise."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[read]:>10,} read"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        tasks: dict[tuple[str, str], Any] = {}

        def update(source: str, stream: str, read: int) -> None:
            task = tasks.get((source, stream))
            if task is None:
                task = tasks[(source, stream)] = progress.add_task(f"{source}/{stream}", total=None, read=0)
            progress.update(task, read=read)

        yield update


@app.command()
def sync(
    config: ConfigOption = Path(DEFAULT_CONFIG),
    source: SourceOption = None,
    stream: Annotated[list[str] | None, typer.Option("--stream", "-t", help="Only this stream (repeatable).")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Read everything, ignoring cursors.")] = False,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile", help="Read every row, whatever its cursor: send what changed and delete what is gone."
        ),
    ] = False,
) -> None:
    """Sync now (once) and print a summary; exit 1 if any stream failed."""
    from engine.derived import stream_names
    from engine.state import StateStore
    from engine.sync import Engine
    from mapping.schema import STREAMS
    from scheduler import refuse_blind_resend
    from sinks import build_sink

    with _handled(), ExitStack() as stack:
        cfg = _load(config, quiet_on_terminal=True)
        plan = _selected_streams(cfg, source, stream or [])
        state = StateStore(cfg.state.url)
        stack.callback(state.close)
        state.create()
        sink = build_sink(cfg.sink)
        stack.callback(sink.close)
        if not full_refresh:  # --full-refresh is the operator's word that a resend of everything is wanted
            refuse_blind_resend(
                state, sink, [(s.name, names or [n for n in STREAMS if s.enabled(n)]) for s, names in plan]
            )
        results: list[Any] = []
        with progress_display(sys.stderr.isatty()) as progress:
            engine = Engine(state, sink, cfg.engine.policy(), progress=progress)
            for src, names in plan:
                with src.build_adapter() as adapter:
                    available = stream_names(adapter)
                    if names is None:
                        chosen = [n for n in available if src.enabled(n)]
                    else:
                        unknown = sorted(set(names) - set(available))
                        if unknown:
                            raise ConfigError(
                                f"source {src.name} has no stream {', '.join(unknown)} (it has: {', '.join(available)})"
                            )
                        chosen = names
                    if chosen:
                        results.extend(engine.sync(adapter, chosen, full_refresh=full_refresh, reconcile=reconcile))
        out.print(result_table("sync", results))
        failed = [r for r in results if r.status == "error"]
        if failed:
            out.print(f"[red]{len(failed)} stream(s) failed[/]")
            raise typer.Exit(1)


# --- run ---------------------------------------------------------------------------------------------------------


@app.command()
def run(config: ConfigOption = Path(DEFAULT_CONFIG)) -> None:
    """Run as a service: sync on the configured schedules until SIGTERM or Ctrl-C."""
    import scheduler

    with _handled():
        cfg = _load(config)
        scheduler.run(cfg)


# --- status ------------------------------------------------------------------------------------------------------


@app.command()
def status(config: ConfigOption = Path(DEFAULT_CONFIG), source: SourceOption = None) -> None:
    """The last run of each stream: when, counts, errors, cursor, pending outbox batches."""
    with _handled():
        with _state_of(config, source) as (_, store):
            rows = store.status(source)
        table = _table(
            "status",
            "Source",
            "Stream",
            "Last run",
            "Status",
            "Read",
            "Pushed",
            "Unchanged",
            "Deleted",
            "Dead letters",
            "Flagged",
            "Excluded",
            "Pending",
            "Cursor",
            "Error",
        )
        for s in rows:
            state = {"ok": "[green]ok[/]", "error": "[red]error[/]", None: "never"}.get(s.last_status, s.last_status)
            table.add_row(
                s.source,
                s.stream,
                _when(s.last_finished or s.last_started),
                state,
                f"{s.read:,}",
                f"{s.pushed:,}",
                f"{s.unchanged:,}",
                f"{s.deleted:,}",
                f"{s.dead_lettered:,} ({s.open_dead_letters:,} open)",
                f"{s.flagged:,}",
                excluded_cell(s.excluded),
                f"{s.pending_batches:,}",
                s.cursor.strftime("%Y-%m-%d %H:%M:%S%z") if s.cursor else "-",
                short_error(s.error),
            )
        out.print(table if rows else "no runs recorded yet: run `dealersync sync` or `dealersync run`")


# --- dead letters ------------------------------------------------------------------------------------------------


def _parse_ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise typer.BadParameter("use comma-separated numbers, e.g. --ids 3,4,9", param_hint="--ids") from None


@app.command()
def outbox(
    config: ConfigOption = Path(DEFAULT_CONFIG),
    source: SourceOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include delivered and parked batches.")] = False,
    park: Annotated[
        str | None,
        typer.Option("--park", help="Move this pending batch's records to dead letters (a batch the sink refuses)."),
    ] = None,
) -> None:
    """List the batches waiting for the sink; park one the sink will never take."""
    from engine.sync import park_batch

    with _handled():
        with _state_of(config, source) as (_, store):
            if park is not None:
                try:
                    moved = park_batch(store, park)
                except ValueError as exc:
                    err.print(f"[red]error:[/] {exc}")
                    raise typer.Exit(1) from None
                out.print(f"batch {park}: {moved:,} records moved to dead letters (see `dealersync dead-letters`)")
                return
            batches = store.outbox(source, include_done=all_)
        table = _table("outbox", "Batch", "Created", "Source", "Stream", "Records", "Status", "Attempts", "Last error")
        for b in batches:
            table.add_row(
                b.batch_id,
                _when(b.created_at),
                b.source,
                b.stream,
                f"{b.records:,}",
                b.status,
                str(b.attempts),
                short_error(b.last_error),
            )
        out.print(table if batches else "no batches waiting: everything was delivered")


@app.command("dead-letters")
def dead_letters(
    config: ConfigOption = Path(DEFAULT_CONFIG),
    source: SourceOption = None,
    stream: Annotated[str | None, typer.Option("--stream", "-t", help="Only this stream.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved dead letters.")] = False,
    show: Annotated[int | None, typer.Option("--show", help="Print one dead letter with its raw row.")] = None,
    retry: Annotated[bool, typer.Option("--retry", help="Re-read and re-map them from the source.")] = False,
    ids: Annotated[str | None, typer.Option("--ids", help="Only these ids, e.g. 1,2,5.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many in the list.")] = 100,
) -> None:
    """List records that could not be mapped or were rejected; show one; or retry them."""
    id_list = _parse_ids(ids)
    with _handled(), _state_of(config, source) as (cfg, store):
        if show is not None:
            _show_dead_letter(store, show)
        elif retry:
            _retry_dead_letters(cfg, store, source, stream, id_list)
        else:
            letters = store.dead_letters(source, stream, include_resolved=all_, limit=limit, ids=id_list)
            table = _table("dead letters", "Id", "When", "Source", "Stream", "Key", "Stage", "Reason", "Resolved")
            for d in letters:
                table.add_row(
                    str(d.id),
                    _when(d.created_at),
                    d.source,
                    d.stream,
                    d.key,
                    d.stage,
                    d.reason,
                    _when(d.resolved_at) if d.resolved_at else "",
                )
            out.print(table if letters else "no dead letters" + ("" if all_ else " open (use --all for resolved)"))


def _show_dead_letter(store: Any, letter_id: int) -> None:
    found = store.dead_letters(include_resolved=True, limit=None, ids=[letter_id])
    if not found:
        err.print(f"no dead letter with id {letter_id}")
        raise typer.Exit(1)
    d = found[0]
    out.print(
        f"id:        {d.id}\nsource:    {d.source}\nstream:    {d.stream}\nkey:       {d.key}\n"
        f"stage:     {d.stage}\nreason:    {d.reason}\ncreated:   {_when(d.created_at)}\n"
        f"attempts:  {d.attempts}\nresolved:  {_when(d.resolved_at) if d.resolved_at else 'no'}\nraw row:",
        markup=False,
    )
    # The operator asked for this row explicitly: it is printed to their terminal, never logged.
    out.print_json(json.dumps(d.raw, default=str, ensure_ascii=False))


def _retry_dead_letters(cfg: Config, store: Any, source: str | None, stream: str | None, ids: list[int] | None) -> None:
    from engine.sync import Engine
    from sinks import build_sink

    sink = build_sink(cfg.sink)
    try:
        engine = Engine(store, sink, cfg.engine.policy())
        table = _table("dead-letter retry", "Source", "Retried", "Fixed", "Still failing")
        failed = 0
        for src in [cfg.source(source)] if source else cfg.sources:
            with src.build_adapter() as adapter:
                outcome = engine.retry_dead_letters(adapter, ids=ids, stream=stream)
            failed += outcome.failed
            table.add_row(src.name, str(outcome.retried), str(outcome.fixed), str(outcome.failed))
        out.print(table)
    finally:
        sink.close()
    if failed:
        raise typer.Exit(1)


# --- schema ------------------------------------------------------------------------------------------------------


# --- dealer KPIs -------------------------------------------------------------------------------------------------


@app.command()
def kpis(
    account: Annotated[str, typer.Argument(help="The dealer's account code.")],
    config: ConfigOption = Path(DEFAULT_CONFIG),
    source: SourceOption = None,
    month: Annotated[str | None, typer.Option("--month", "-m", help="Only this month (YYYY-MM).")] = None,
    why: Annotated[
        bool, typer.Option("--explain", help="With --month: the documents behind the month's figures.")
    ] = False,
) -> None:
    """A dealer's months as the dealer_kpis stream computes them; --explain lists the documents behind one."""
    if month is not None and not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        raise typer.BadParameter("use YYYY-MM, e.g. 2026-03", param_hint="--month")
    if why and month is None:
        raise typer.BadParameter("--explain needs --month", param_hint="--explain")
    from dealersync.kpis_view import show

    with _handled(), _state_of(config, source) as (cfg, store):
        if source is None and len(cfg.sources) > 1:
            names = ", ".join(s.name for s in cfg.sources)
            raise ConfigError(f"{cfg.path}: several sources ({names}): say which with --source")
        name = source or cfg.sources[0].name
        if not show(out, store, name, account, month, why):
            raise typer.Exit(1)


@app.command()
def schema(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the JSON Schema files into.")],
) -> None:
    """Write one JSON Schema per stream (<stream>.json) and an index.json with the schema version."""
    from mapping.schema import SCHEMA_VERSION, STREAMS, json_schema

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for stream in STREAMS:
        name = f"{stream}.json"
        (out_dir / name).write_text(json.dumps(json_schema(stream), indent=2) + "\n", encoding="utf-8")
        files[stream] = name
    index = {"schema_version": SCHEMA_VERSION, "streams": files}
    (out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    out.print(f"wrote {len(files)} schemas (version {SCHEMA_VERSION}) and index.json to {out_dir}")


# --- demo --------------------------------------------------------------------------------------------------------


@app.command()
def demo(
    erp: Annotated[
        str, typer.Option("--erp", help="ERP to simulate: logo, mikro, netsis (SQLite copies), sap, 1c (emulators).")
    ] = "logo",
    size: Annotated[int, typer.Option("--size", min=100, help="Invoice lines to generate.")] = 20_000,
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo (recreated).")] = Path(
        "dealersync-demo"
    ),
) -> None:
    """Build a sample distributor in a local copy of an ERP and sync it to a file feed (nothing else needed)."""
    from dealersync import demo as demo_module

    with _handled():
        demo_module.run(erp=erp, size=size, directory=directory, console=out)


if __name__ == "__main__":
    app()
