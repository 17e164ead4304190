"""What a SQL stream reads, taken from the very statements it executes, and the database's own catalogue.

A SQL stream lists its statements (`statements()`: the SELECT of its rows and every query that
fetches more, such as a document's lines). `needs()` walks them for the table columns they use, so
the columns `check` verifies are exactly the ones the stream selects, joins and filters on; the
adapter's tests prove it by recording every statement a real sync executes (`Recorder`).

Three settings-level tools for real databases that differ from the adapter's tables:
- `renamed()` builds a table whose column is called otherwise on this database (the `columns`
  setting: `{"CLCARD.PARENTCLREF": "PARENTREF"}`), keeping the key the adapter's code uses;
- a column set to null there, or an optional column (`optional(...)` in its `info`) the database
  lacks, is read as NULL: `read_around()` rewrites each statement before it executes, so the stream
  runs and the feed field stays empty, which `check` reports as a warning;
- `catalogue()` reads INFORMATION_SCHEMA through SQLAlchemy's inspector, one table at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement

from connectors.base import CheckResult, ConnectorError
from connectors.catalog import Catalogue, Kind, Need, verify

__all__ = [
    "Recorder",
    "alternates",
    "catalogue",
    "filtering",
    "kind_of",
    "logical_name",
    "needs",
    "optional",
    "read_around",
    "renamed",
    "tables_of",
    "unknown_column_keys",
    "verify_streams",
]

ColumnId = tuple[str, str]  # (table's full name, column's name on the database)


def optional(
    feeds: str, *, source: str | None = None, alternates: tuple[str, ...] = (), guarded: bool = False
) -> dict[str, Any]:
    """`info` of a column the stream can do without: `feeds` names the feed fields left empty without it;
    `source` where its name comes from when the vendor's metadata lacks it; `alternates` other releases' names.
    `guarded`: the stream filters on it only where the database has it (it asks first, as Netsis's card
    streams do with their stamps), so it may stand in a WHERE; any other optional column may not."""
    return {"optional": feeds, "source": source, "alternates": alternates, "guarded": guarded}


def alternates(*names: str, source: str | None = None) -> dict[str, Any]:
    """`info` of a required column that other releases of the ERP call otherwise: the first present is read."""
    return {"alternates": names, "source": source}


def kind_of(type_: sa.types.TypeEngine[Any]) -> Kind:
    """The family a column type's values read as."""
    try:
        python = type_.python_type
    except NotImplementedError:
        python = None
    if isinstance(type_, sa.Boolean) or python is bool:
        return "boolean"
    if isinstance(type_, sa.Integer) or python is int:
        return "integer"
    if isinstance(type_, sa.Numeric) or python is float:
        # NUMERIC(p, 0) holds whole numbers: as good as an integer for a key or a code.
        if isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float) and type_.scale == 0:
            return "integer"
        return "number"
    if isinstance(type_, sa.Uuid) or type(type_).__name__.upper() in ("UNIQUEIDENTIFIER", "UUID"):
        return "guid"
    if isinstance(type_, sa.DateTime):
        return "datetime"
    if isinstance(type_, sa.Date):
        return "date"
    if isinstance(type_, sa.Time):
        return "time"
    if isinstance(type_, sa.String):
        return "text"
    if isinstance(type_, sa.LargeBinary | sa.types._Binary):
        return "binary"
    return "any"


def logical_name(table: sa.Table) -> str:
    """The table's name as settings and READMEs spell it (CLCARD for LG_001_CLCARD)."""
    return str(table.info.get("logical", table.name))


def full_name(table: sa.Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name


def renamed(columns: Iterable[sa.Column[Any]], logical: str, names: Mapping[str, str | None]) -> list[sa.Column[Any]]:
    """`columns` with the names this database gives them (`names`: "LOGICAL.KEY" -> name or None).

    The key stays what the adapter's code uses (`table.c.PARENTCLREF`), the SQL uses the database's
    name. None means this database has no such column: it is kept, marked absent, and read as NULL.
    """
    out = []
    for column in columns:
        wanted = f"{logical}.{column.key}"
        if wanted not in names:
            out.append(column)
            continue
        copy = column._copy()
        name = names[wanted]
        if name is None:
            copy.info = {**column.info, "absent": True}
        else:
            copy.name = name
            copy.key = column.key
        out.append(copy)
    return out


def unknown_column_keys(tables: Iterable[sa.Table], names: Mapping[str, str | None]) -> CheckResult | None:
    """check()'s line for `columns` keys that name no column the adapter reads: they would rename nothing,
    silently (a typo in a table or column name)."""
    known = {f"{logical_name(t)}.{c.key}" for t in tables for c in t.columns}
    unknown = sorted(set(names) - known)
    if not unknown:
        return None
    detail = f"columns: {', '.join(unknown)} name no column the adapter reads (TABLE.COLUMN as its README names them)"
    return CheckResult("settings", False, detail)


def tables_of(statement: ClauseElement) -> dict[sa.Table, dict[str, sa.Column[Any]]]:
    """Every table column `statement` uses (selected, joined, filtered, ordered, in subqueries)."""
    found: dict[sa.Table, dict[str, sa.Column[Any]]] = {}
    for element in visitors.iterate(statement):
        if isinstance(element, sa.Table):
            found.setdefault(element, {})
        elif isinstance(element, sa.Column):
            for column in element.proxy_set:  # a column of an alias or subquery stands for its table's
                if isinstance(column, sa.Column) and isinstance(column.table, sa.Table):
                    found.setdefault(column.table, {})[column.key] = column
    return found


def filtering(statement: ClauseElement) -> set[ColumnId]:
    """The table columns `statement` uses to pick, inner-join, group or order rows (anywhere but a SELECT
    list or an outer join's condition), in any of its subqueries. An optional column must never be among
    them: read as NULL there, it would drop or reorder rows instead of leaving a feed field empty."""
    clauses: list[Any] = []
    for element in visitors.iterate(statement):
        if isinstance(element, sa.Select):
            clauses += [element.whereclause, *element._group_by_clauses, *element._order_by_clauses]
            clauses += element._having_criteria
        elif isinstance(element, sa.Join) and not element.isouter:
            # An outer join on a NULL finds nothing to join: the joined fields stay empty, no row is lost.
            clauses.append(element.onclause)
    found: set[ColumnId] = set()
    for clause in clauses:
        if clause is not None:
            for table, columns in tables_of(clause).items():
                found.update((full_name(table), c.name) for c in columns.values())
    return found


def needs(statements: Iterable[ClauseElement]) -> list[Need]:
    """What the statements read, as check() verifies it."""
    out: list[Need] = []
    for statement in statements:
        for table, columns in tables_of(statement).items():
            container = full_name(table)
            out.append(Need(container, ""))
            logical = logical_name(table)
            for column in columns.values():
                out.append(
                    Need(
                        container,
                        column.name,
                        kind_of(column.type),
                        column.info.get("optional"),
                        remap=f"columns: {{{logical}.{column.key}: <its name here>}}",
                        alternates=tuple(column.info.get("alternates") or ()),
                        absent=bool(column.info.get("absent")),
                    )
                )
    return out


def catalogue(conn: Connection, containers: Iterable[str]) -> Catalogue:
    """The columns (with their kinds) of the named tables, "schema.name" or "name", as the database has them."""
    inspector = sa.inspect(conn)
    result = Catalogue(case_sensitive=conn.dialect.name == "postgresql")
    for container in dict.fromkeys(containers):
        schema, _, name = container.rpartition(".")
        try:
            if not inspector.has_table(name, schema=schema or None):
                continue
            columns = inspector.get_columns(name, schema=schema or None)
        except SQLAlchemyError as exc:
            result.unreadable[container] = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
            continue
        result.containers[container] = {str(c["name"]): kind_of(c["type"]) for c in columns}
    return result


def _resolve(conn: Connection, tables: Iterable[sa.Table]) -> dict[ColumnId, str | ConnectorError | None]:
    """The columns this database needs read otherwise: -> an alternate name it has, None (read as NULL: set
    to null in the settings, or optional and missing here), or the error a statement reading it raises (a
    required column set to null: as NULL it would pick, key or price rows wrongly without a word).
    Columns the database has as declared are left out."""
    resolved: dict[ColumnId, str | ConnectorError | None] = {}
    probe: dict[str, list[sa.Column[Any]]] = {}
    for table in tables:
        for column in table.columns:
            if column.info.get("absent"):
                resolved[(full_name(table), column.name)] = (
                    None
                    if column.info.get("optional")
                    else ConnectorError(
                        f"setting columns: {logical_name(table)}.{column.key} is null, but the streams cannot do "
                        "without that column: name the column this database uses instead (see dealersync check)"
                    )
                )
            elif column.info.get("optional") or column.info.get("alternates"):
                probe.setdefault(full_name(table), []).append(column)
    if probe:
        found = catalogue(conn, probe)
        for container, columns in probe.items():
            if found.columns(container) is None:
                continue  # a missing table: its statements fail, and check says why
            for c in columns:
                if found.kind_of(container, c.name) is not None:
                    continue
                other = next((a for a in c.info.get("alternates") or () if found.kind_of(container, a)), None)
                if other is not None or c.info.get("optional"):
                    resolved[(container, c.name)] = other
    return resolved


def read_around(engine: Engine, tables: Callable[[], Iterable[sa.Table]], refresh_seconds: float = 900) -> None:
    """Read the columns of `tables` this database lacks through an alternate name it has, or as NULL where
    they are optional, in every statement `engine` executes.

    The database is asked on the first statement and again `refresh_seconds` later (the service keeps
    its adapters for months: an ERP upgrade that adds a column is read from then on). The rewrite keeps
    the column's key as its label in a SELECT list, so rows still answer to `row.KEY`.
    """
    state: dict[str, Any] = {"resolved": None, "at": 0.0, "asking": False}

    def resolved(conn: Connection) -> dict[ColumnId, str | ConnectorError | None]:
        if state["resolved"] is None or time.monotonic() - state["at"] >= refresh_seconds:
            if state["asking"]:
                return {}  # the catalogue's own queries
            state["asking"] = True
            try:
                state["resolved"] = _resolve(conn, tables())
                state["at"] = time.monotonic()
            finally:
                state["asking"] = False
        return state["resolved"]  # type: ignore[no-any-return]

    @sa.event.listens_for(engine, "before_execute", retval=True)
    def _rewrite(conn: Connection, clause: Any, multiparams: Any, params: Any, options: Any) -> Any:
        if not isinstance(clause, ClauseElement) or isinstance(clause, sa.TextClause):
            return clause, multiparams, params
        other = resolved(conn)
        if other:

            def replace(element: Any) -> Any:
                if isinstance(element, sa.Column) and isinstance(element.table, sa.Table):
                    key = (full_name(element.table), element.name)
                    if key in other:
                        name = other[key]
                        if isinstance(name, ConnectorError):
                            raise name
                        if name is None:
                            return sa.cast(sa.null(), element.type).label(element.key)
                        return sa.column(name, element.type, _selectable=element.table).label(element.key)
                return None

            clause = visitors.replacement_traverse(clause, {}, replace)
        return clause, multiparams, params


class Recorder:
    """The table columns every statement an engine executes uses, grouped by what was running (tests)."""

    def __init__(self) -> None:
        self.current = "-"
        self.seen: dict[str, list[ClauseElement]] = {}

    def attach(self, engine: Engine) -> None:
        @sa.event.listens_for(engine, "before_execute")
        def _record(conn: Connection, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
            if isinstance(clause, ClauseElement) and not isinstance(clause, sa.TextClause):
                self.seen.setdefault(self.current, []).append(clause)

    @contextmanager
    def running(self, label: str) -> Iterator[None]:
        previous, self.current = self.current, label
        try:
            yield
        finally:
            self.current = previous

    def columns(self, label: str) -> set[tuple[str, str]]:
        """(table, column) pairs the statements recorded under `label` used."""
        return {
            (full_name(table), column.name)
            for clause in self.seen.get(label, [])
            for table, columns in tables_of(clause).items()
            for column in columns.values()
        }


def verify_streams(
    conn: Connection,
    streams: Iterable[Any],
    *,
    prefix: str = "",
    container_hint: Callable[[str], str | None] | None = None,
) -> tuple[list[CheckResult], set[str]]:
    """check()'s schema lines for the streams that declare their statements, and the names of those that failed.

    One catalogue read covers every stream: each table is asked for once however many streams read it.
    `container_hint` says what to do about a missing table (e.g. a view the integrator must create).
    """
    declared = {s.name: needs(s.statements()) for s in streams if callable(getattr(s, "statements", None))}
    found = catalogue(conn, {need.container for stream_needs in declared.values() for need in stream_needs})
    results = verify(declared, found, container_hint=container_hint)
    if prefix:
        results = [CheckResult(f"{prefix}{r.name}", r.ok, r.detail, r.warning) for r in results]
    failed = {name for name in declared if any(not r.ok and r.name.endswith(f"stream {name}: schema") for r in results)}
    return results, failed
