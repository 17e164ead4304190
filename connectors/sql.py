"""Shared helpers for adapters that read an ERP's database through SQLAlchemy Core.

Nothing here knows an ERP: engines with per-dialect options, keyset paging, IN-list
chunking, plain-words database errors, a table probe, and the bulk insert the scenario
writers lay their test databases out with. Logo, Netsis and Mikro use it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

import sqlalchemy as sa
from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import URL, Engine, Row
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.sql.compiler import SQLCompiler

from connectors.base import Adapter, AdapterSettings, CheckResult, ConnectorError, SourceContext, Stream
from connectors.sql_schema import read_around, unknown_column_keys, verify_streams
from mapping.text import undecodable

__all__ = [
    "BULK_CHUNK",
    "MAX_IN_LIST",
    "SqlAdapter",
    "bound",
    "bulk_insert",
    "describe_db_error",
    "for_refs",
    "in_chunks",
    "insert_batch",
    "insert_batched",
    "keyset_chunks",
    "make_engine",
    "safe_url",
    "stream_counts",
    "table_exists",
]

T = TypeVar("T")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#@]{0,127}$")
# SQL Server accepts at most 2100 parameters per statement; 1000 leaves room for the others.
MAX_IN_LIST = 1000
# Rows per driver executemany in bulk_insert: big enough to amortise the call, small enough to bound memory.
BULK_CHUNK = 5000


def safe_url(url: str | URL) -> str:
    """The URL for messages and logs: password masked."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


class SqlSourceSettings(AdapterSettings):
    """Settings every SQL adapter shares: where the database is and how to log in.

    The password is read when connecting (not at load), so a rotated password_file is picked up.
    """

    url: str = Field(
        description="SQLAlchemy URL, e.g. mssql+pyodbc://sync_reader@erp-sql/ERPDB?driver=ODBC+Driver+18+for+SQL+Server"
        "&TrustServerCertificate=yes (no password here: use password or password_file)",
    )
    password: SecretStr | None = None
    password_file: Path | None = None
    connect_timeout_seconds: int = Field(15, ge=1, le=600)
    columns: dict[str, str | None] = Field(
        default_factory=dict,
        description="columns this database names otherwise: {'TABLE.COLUMN': 'its name here'}, or null where the "
        "database has no such column (read as NULL; check names the feed fields that stay empty)",
    )

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for key, name in value.items():
            table, dot, column = key.partition(".")
            if not (dot and _IDENTIFIER.match(table) and _IDENTIFIER.match(column)):
                raise ValueError(f"key {key!r} must be TABLE.COLUMN, as the adapter's README names them")
            if name is not None and not _IDENTIFIER.match(name):
                raise ValueError(f"{key}: {name!r} is not a plain column name (letters, digits, '_')")
        return value

    @model_validator(mode="after")
    def _one_password_source(self) -> SqlSourceSettings:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set password or password_file, not both")
        return self

    def secret(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConnectorError(f"cannot read password_file {self.password_file}: {exc.strerror}") from None
        return None

    def secrets(self) -> list[str]:
        """The password, to scrub from driver messages; empty when there is none or it cannot be read."""
        try:
            secret = self.secret()
        except ConnectorError:
            return []
        return [secret] if secret else []


def make_engine(
    url: str | URL,
    password: str | None = None,
    connect_timeout: int | None = None,
    *,
    read_only: bool = False,
) -> Engine:
    """An engine with the password merged in and sensible per-dialect options.

    `read_only` asks the database to refuse writes where the dialect allows it per session
    (PostgreSQL, MySQL/MariaDB, SQLite opened with mode=ro). On SQL Server grant the login
    db_datareader only: there is no per-session read-only switch worth trusting.
    """
    try:
        parsed = sa.make_url(url)
    except ArgumentError as exc:
        raise ConnectorError(f"the database URL is not valid: {exc}") from None
    backend = parsed.get_backend_name()
    if password is not None and backend != "sqlite":  # SQLite has no login; SQLAlchemy rejects a password there
        parsed = parsed.set(password=password)
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if backend == "sqlite":
        # The ERP (or the test writer) may hold a write lock; wait rather than fail at once.
        connect_args["timeout"] = connect_timeout or 30
        database = parsed.database or ""
        if read_only and database and database != ":memory:" and not database.startswith("file:"):
            # mode=ro also makes a missing file an error instead of silently creating it. A creator
            # keeps the engine's URL the plain one the operator wrote (it is shown in messages).
            uri = f"file:{quote(Path(database).resolve().as_posix())}?mode=ro"
            timeout = connect_args["timeout"]

            def _read_only_sqlite() -> sqlite3.Connection:
                return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

            options["creator"] = _read_only_sqlite
    elif connect_timeout:
        if backend == "mssql":
            connect_args["timeout"] = connect_timeout  # pyodbc login timeout
        else:  # psycopg, pymysql both call it connect_timeout
            connect_args["connect_timeout"] = connect_timeout
    try:
        engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **options)
    except (ArgumentError, ImportError) as exc:
        raise ConnectorError(f"cannot use database URL {safe_url(parsed)}: {exc}{_driver_hint(exc)}") from None
    if backend == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _undecodable_text(dbapi_connection: Any, _record: Any) -> None:
            # SQLite holds whatever bytes were written; a column that is not valid UTF-8 would fail the whole
            # page's fetch. Read the bad bytes as surrogates: that row alone then fails mapping, as a dead letter.
            dbapi_connection.text_factory = _text

    if read_only and backend in ("postgresql", "mysql", "mariadb"):
        statement = (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
            if backend == "postgresql"
            else "SET SESSION TRANSACTION READ ONLY"
        )

        @sa.event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            if backend == "postgresql":
                dbapi_connection.commit()

    return engine


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _driver_hint(exc: Exception) -> str:
    text = str(exc)
    if "libodbc" in text:
        return (
            " (the ODBC driver manager is missing: install unixODBC, e.g. `apt install unixodbc`, and"
            " Microsoft ODBC Driver 18 for SQL Server)"
        )
    if "pyodbc" in text:
        return " (install the SQL Server extra: pip install 'dealersync[mssql]')"
    if "psycopg" in text:
        return " (install the PostgreSQL extra: pip install 'dealersync[postgres]')"
    return ""


def keyset_chunks(
    engine: Engine,
    stmt_factory: Callable[[Any], sa.Select[Any]],
    key: str,
    chunk_size: int,
    then: Callable[[sa.Connection, Sequence[Row[Any]]], T] | None = None,
) -> Iterator[Any]:
    """Pages of rows of `stmt_factory(last_key)` (ordered by `key`, filtered `key > last_key`).

    Each page checks a connection out and back in, so no connection or transaction is held
    while the caller works on a page (the engine may take seconds to push it). `then`, when
    given, runs on the same connection with the page (e.g. to fetch a page's lines) and its
    result is yielded instead of the bare rows.
    """
    last: Any = None
    while True:
        with engine.connect() as conn:
            rows = conn.execute(stmt_factory(bound(last)).limit(chunk_size)).all()
            if not rows:
                return
            yield then(conn, rows) if then is not None else rows
        if len(rows) < chunk_size:
            return
        last = getattr(rows[-1], key)


def in_chunks(values: Iterable[T], size: int = MAX_IN_LIST) -> Iterator[list[T]]:
    """Values in lists of at most `size`, for IN (...) lists SQL Server accepts."""
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def for_refs(
    conn: sa.Connection, stmt: sa.Select[Any], column: sa.ColumnElement[Any], refs: Iterable[Any]
) -> list[Any]:
    """Rows of `stmt` WHERE column IN (refs), in IN lists SQL Server accepts (a page may exceed 1000).

    A NULL reference matches no row in SQL, so it is left out of the lists (a row that holds one is its stream's
    to dead-letter, not a reason to fail the page); references of mixed types (a damaged row of a loosely typed
    database) are sorted per type, so that they never make the sort raise."""
    rows: list[Any] = []
    present = {r for r in refs if r is not None}
    for chunk in in_chunks(sorted(present, key=lambda v: (type(v).__name__, v))):
        rows.extend(conn.execute(stmt.where(column.in_([bound(r) for r in chunk]))).all())
    return rows


def bound(value: Any) -> Any:
    """A value read from a row, as a parameter that finds that row again.

    Text whose bytes are not UTF-8 reads back with lone surrogates (SQLite, see make_engine), which no driver
    can send as text: it goes back as its original bytes, cast to text in SQL, so that `code > last` and
    `code IN (...)` still match the row (paging past a damaged code instead of failing the stream). Only SQLite
    gives such text (its text_factory, in make_engine): the drivers of the servers decode by their encodings and
    never hand back surrogates, and the cast would mean something else there."""
    if isinstance(value, str) and undecodable(value) is not None:
        return sa.cast(sa.literal(value.encode("utf-8", "surrogateescape"), sa.LargeBinary), sa.Text)
    return value


def bulk_insert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    defaults: Mapping[str, Any] | None = None,
    chunk: int = BULK_CHUNK,
) -> None:
    """INSERT `rows` (column key -> value) into `table` by executemany at the driver, `chunk` rows a call.

    Core compiles the statement once and the column types' bind processors run once per value (they
    matter: SQLite stores DATETIME as text in SQLAlchemy's format, and readers compare against it),
    but Core's per-row parameter handling is skipped: it costs more than the insert itself.
    Every row sets the same columns, the union of all rows' keys and `defaults`' keys; where a row
    lacks one, `defaults` gives its value, else it is NULL. Column defaults declared in Python
    (Column(default=...)) are not run: pass such values in the rows or in `defaults`.
    """
    if not rows:
        return
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    dialect = conn.dialect
    given = set().union(*rows)
    unknown = given - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(map(repr, sorted(unknown)))}")
    names = [*(defaults or ()), *(c.key for c in table.columns if c.key in given and c.key not in (defaults or ()))]
    compiled = cast(SQLCompiler, table.insert().compile(dialect=dialect, column_keys=names))
    positional = compiled.positional
    order = list(compiled.positiontup or ()) if positional else names
    unsupplied = set(order if positional else compiled.binds) - set(names)
    if unsupplied:
        raise ValueError(
            f"{table.name}: bulk_insert does not run the Python-side defaults of {', '.join(sorted(unsupplied))}:"
            " give them a value in the rows or in defaults"
        )
    procs = [
        (name, proc)
        for name in names
        if (proc := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    processor = dict(procs).get
    # Where each column's value goes in the driver's parameters: a tuple position, or a bind name
    # (a column "a b" binds as %(a_b)s), and the parameters of a row that sets nothing, defaults processed.
    escaped = compiled.escaped_bind_names
    slot: dict[str, Any] = {name: i if positional else escaped.get(name, name) for i, name in enumerate(order)}
    blank: dict[Any, Any] | list[Any] = [None] * len(order) if positional else dict.fromkeys(slot.values())
    for name, value in (defaults or {}).items():
        proc = processor(name)
        blank[slot[name]] = proc(value) if proc is not None and value is not None else value
    pick = itemgetter(*order) if len(order) > 1 else lambda full: tuple(full[name] for name in order)
    # A row setting every column is copied whole and only its typed values processed; with positional
    # parameters itemgetter lines it up. A row leaving columns out starts from `blank`, and so does
    # every row when bind names differ from column keys (that path keys by bind name).
    whole = len(names) if positional or not escaped else -1
    sql = str(compiled)
    for start in range(0, len(rows), chunk):
        params: list[Any] = []
        append = params.append
        for row in rows[start : start + chunk]:
            if len(row) == whole:
                full: Mapping[str, Any] = row
                if procs:
                    full = typed = dict(row)
                    for name, proc in procs:
                        value = row[name]
                        if value is not None:
                            typed[name] = proc(value)
                append(pick(full) if positional else full)
            else:
                part = blank.copy()
                for name, value in row.items():
                    if value is not None and (proc := processor(name)) is not None:
                        value = proc(value)
                    part[slot[name]] = value
                append(tuple(part) if positional else part)
        conn.exec_driver_sql(sql, params)


def table_exists(conn: sa.Connection, name: str, schema: str | None = None) -> bool:
    return sa.inspect(conn).has_table(name, schema=schema)


# (pattern in the driver's message, plain words). First match wins; patterns are lower case.
_ERROR_WORDS: tuple[tuple[str, str], ...] = (
    (
        r"login failed|password authentication failed|access denied|28000|authentication failed|"
        r"role \S+ does not exist|no password supplied",
        "login failed: check the user name and password",
    ),
    (
        r"database \S+ does not exist|unknown database|cannot open database|4060",
        "the database does not exist or the user may not open it",
    ),
    (r"unable to open database file", "cannot open the SQLite database file (missing path or no permission)"),
    (
        r"im002|data source name not found|can't open lib|driver not found|file not found.*driver",
        "the ODBC driver named in the URL is not installed",
    ),
    (r"timeout expired|timed out|timeout", "the database server did not answer in time (host, port, firewall)"),
    (
        r"connection refused|could not connect|can't connect|could not translate host|name or service not known|"
        r"network-related|server was not found|tcp provider|named pipes|08001|no route to host|2003",
        "cannot reach the database server (host, port, firewall, is the service running?)",
    ),
    (r"permission denied|select permission was denied|229", "the user may not read this table (grant db_datareader)"),
    (r"no such table|invalid object name|does not exist|doesn't exist|undefined table", "a table is missing"),
)


def describe_db_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """An operator-readable sentence for a database error, with any known secret scrubbed."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    detail = " ".join(str(original).split())[:300]
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "***")
    lowered = detail.lower()
    for pattern, words in _ERROR_WORDS:
        if re.search(pattern, lowered):
            return f"{words} ({type(original).__name__}: {detail})"
    if isinstance(exc, SQLAlchemyError | OSError):
        return f"database error ({type(original).__name__}: {detail})"
    return f"{type(original).__name__}: {detail}"


Batch = dict[str, list[dict[str, Any]]]  # table attribute name -> rows gathered for it


def insert_batch(
    conn: sa.Connection,
    batch: Batch,
    table_of: Callable[[str], sa.Table],
    insert: Callable[[sa.Connection, sa.Table, list[dict[str, Any]]], None] | None = None,
) -> None:
    """Insert and empty every table's rows of `batch` (`insert` defaults to bulk_insert)."""
    for name, rows in batch.items():
        if rows:
            (insert or bulk_insert)(conn, table_of(name), rows)
            rows.clear()


def insert_batched(
    engine: Engine,
    facts: Iterable[T],
    rows_of: Callable[[T, Batch], int],
    table_of: Callable[[str], sa.Table],
    *,
    flush_rows: int = 20_000,
    insert: Callable[[sa.Connection, sa.Table, list[dict[str, Any]]], None] | None = None,
) -> None:
    """Lay many facts into several tables, as scenario writers do: `rows_of(fact, batch)` appends a
    fact's rows to `batch` and returns how many; every `flush_rows` rows go in, one transaction each."""
    batch: Batch = {}
    size = 0
    for fact in facts:
        size += rows_of(fact, batch)
        if size >= flush_rows:
            with engine.begin() as conn:
                insert_batch(conn, batch, table_of, insert)
            size = 0
    with engine.begin() as conn:
        insert_batch(conn, batch, table_of, insert)


def stream_counts(
    streams: Iterable[Stream], secrets: Iterable[str] = (), skip: Iterable[str] = ()
) -> list[CheckResult]:
    """A check line per stream with its row count, or the database's complaint about its query (streams in
    `skip`, whose schema check failed, are left out: their query can only fail the same way)."""
    results = []
    skipped = set(skip)
    for stream in streams:
        if stream.name in skipped:
            continue
        try:
            results.append(CheckResult(f"stream {stream.name}", True, f"{stream.count()} rows"))
        except SQLAlchemyError as exc:
            results.append(CheckResult(f"stream {stream.name}", False, describe_db_error(exc, secrets)))
    return results


class SqlAdapter(Adapter):
    """An adapter over one SQL database: a read-only engine made on first use, and a `check` that connects,
    runs the adapter's `check_database`, proves every column each enabled stream reads against the
    database's catalogue, then counts the rows of every stream whose columns are all there.

    Streams declare their statements (`statements()`); the engine reads absent optional columns as NULL.
    """

    settings: SqlSourceSettings

    def __init__(self, context: SourceContext, settings: SqlSourceSettings) -> None:
        super().__init__(context, settings)
        self._engine: Engine | None = None
        self._env: Any = None  # what the adapter's streams share, built from the engine on first use

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            s = self.settings
            self._engine = make_engine(s.url, s.secret(), s.connect_timeout_seconds, read_only=True)
            read_around(self._engine, self.declared_tables)
        return self._engine

    def declared_tables(self) -> Iterable[sa.Table]:
        """The tables the streams read, as the adapter declares them (optional and absent columns included)."""
        return ()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._env = None

    def check_database(self, conn: sa.Connection) -> list[CheckResult]:
        """The adapter's own checks once connected: its tables, firm, settings that read the database."""
        return []

    def missing_table_hint(self, table: str) -> str | None:
        """What to do about a table the database lacks, for check (a view the integrator creates...)."""
        return None

    def check(self) -> list[CheckResult]:
        where = safe_url(self.settings.url)
        misnamed = unknown_column_keys(self.declared_tables(), self.settings.columns)
        if misnamed is not None:
            return [misnamed]
        enabled = [s for s in self.streams() if s.name not in self.context.disabled]
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(1)).scalar()
                results = [CheckResult("connect", True, f"connected to {where}"), *self.check_database(conn)]
                if not all(r.ok for r in results):
                    return results
                schema, failed = verify_streams(conn, enabled, container_hint=self.missing_table_hint)
        except ConnectorError as exc:
            return [CheckResult("connect", False, str(exc))]
        except (SQLAlchemyError, OSError) as exc:
            detail = describe_db_error(exc, self.settings.secrets())
            return [CheckResult("connect", False, f"cannot connect to {where}: {detail}")]
        return results + schema + stream_counts(enabled, self.settings.secrets(), skip=failed)
