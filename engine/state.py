"""The state store: cursors, per-key content hashes, the outbox and dead letters, in one database.

State lives in one SQLAlchemy database (a SQLite file by default, PostgreSQL for
larger sites) so that an outbox batch, the hashes of the records in it, the dead
letters found beside it and the cursor commit in one transaction: nothing can be
half-recorded by a crash.

A store that cannot be used (locked by another process beyond the busy timeout, unreachable,
damaged, out of disk) raises StateError, whose message says what to do; a damaged SQLite file is
found before anything runs (PRAGMA quick_check in `create`). Other database errors (a constraint
the code expects, a bug) keep their own type.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    URL,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import IntegrityError

from connectors.sql import bulk_insert
from engine.facts import CONSUMERS, StoredFact
from engine.kpis import ProductFact, decode_fact
from sinks.base import Attachment


class StateError(Exception):
    """The state store cannot be used as it is; the message (one line, no secrets) says what to do."""


metadata = MetaData()

streams_t = Table(
    "ds_streams",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    Column("cursor", String(40)),  # ISO 8601 with offset: portable and readable in `status`
    Column("lock_owner", String(120)),
    Column("lock_until", DateTime(timezone=True)),
    Column("last_started", DateTime(timezone=True)),
    Column("last_finished", DateTime(timezone=True)),
    Column("last_status", String(10)),
    Column("read", Integer),
    Column("pushed", Integer),
    Column("unchanged", Integer),
    Column("deleted", Integer),
    Column("dead_lettered", Integer),
    Column("flagged", Integer),  # documents sent with discrepancies by the last run
    Column("excluded", Text),  # JSON {rule: items} the last run left out of the feed on purpose
    Column("error", Text),
)

hashes_t = Table(
    "ds_record_hashes",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("hash", String(32), nullable=False),
    # The source's own version of the record (1C's DataVersion), when its stream declares one.
    Column("version", String(64), nullable=True),
)

# Derived streams (engine/facts.py): the fact of each record the fact streams sent, written with its batch; per derived
# stream, the dealers whose facts moved since it last ran ('*': all of them); which streams' facts are complete.
kpi_facts_t = Table(
    "ds_kpi_facts",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("account", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    # The fact this one replaced: put back if the receiver rejects the new version (it holds the old one).
    Column("previous_account", String(200)),
    Column("previous", LargeBinary),
    Index("ix_ds_kpi_facts_account", "source", "account"),
)

dirty_t = Table(
    "ds_derived_dirty",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),  # the derived stream
    Column("account", String(200), primary_key=True),
    Column("seq", BigInteger, nullable=False),  # the mark: one made while the derived stream runs outlives the run
)

# Dealers to recompute once a day or month has begun: their figures move with the calendar (an invoice falls due)
# with no document of their own to mark them.
later_t = Table(
    "ds_derived_later",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    Column("account", String(200), primary_key=True),
    Column("due", String(10), nullable=False),  # YYYY-MM (dealer_kpis) or YYYY-MM-DD: compared as text
)

# Release 2.2's tables of dealer_kpis' marks, moved into the tables above when such a store is opened.
_old = MetaData()
_OLD_MARKS = (
    (Table("ds_kpi_dirty", _old, Column("source"), Column("account"), Column("seq")), dirty_t, "seq"),
    (Table("ds_kpi_later", _old, Column("source"), Column("account"), Column("month")), later_t, "month"),
)

kpi_ready_t = Table(
    "ds_kpi_ready",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
)

ALL_DEALERS = "*" * 101  # never an account code: the feed's codes are at most 100 characters

# Columns later releases added to existing tables: (table, column, type as DDL), created by create().
_ADDED_COLUMNS = (
    (hashes_t, "version", "VARCHAR(64)"),
    (streams_t, "flagged", "INTEGER"),
    (streams_t, "excluded", "TEXT"),
)

outbox_t = Table(
    "ds_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(36), nullable=False, unique=True),
    Column("source", String(100), nullable=False),
    Column("stream", String(50), nullable=False),
    Column("records", Integer, nullable=False),
    Column("payload", LargeBinary),  # NULL once acknowledged: the sink has it now
    Column("status", String(10), nullable=False),  # pending | done | failed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("acked_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Index("ix_ds_outbox_pending", "source", "stream", "status", "id"),
)

# The bytes a pending batch's records name (product images), kept with it until the sink has taken it.
outbox_files_t = Table(
    "ds_outbox_files",
    metadata,
    Column("outbox_id", Integer, primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("content_type", String(200), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

dead_letters_t = Table(
    "ds_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("stream", String(50), nullable=False),
    Column("key", String(200), nullable=False),
    Column("stage", String(10), nullable=False),  # map: failed validation; sink: rejected by the sink
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("resolved_at", DateTime(timezone=True)),
    Index("ix_ds_dead_letters_key", "source", "stream", "key"),
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; all stored times are UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@dataclass(frozen=True)
class StreamStatus:
    source: str
    stream: str
    cursor: dt.datetime | None
    last_started: dt.datetime | None
    last_finished: dt.datetime | None
    last_status: str | None
    read: int
    pushed: int
    unchanged: int
    deleted: int
    dead_lettered: int
    flagged: int
    excluded: dict[str, int]
    error: str | None
    pending_batches: int
    open_dead_letters: int


@dataclass(frozen=True)
class DeadLetter:
    id: int
    source: str
    stream: str
    key: str
    stage: str
    reason: str
    raw: dict[str, Any]
    created_at: dt.datetime
    attempts: int
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class PendingBatch:
    id: int
    batch_id: str
    source: str
    stream: str
    records: int
    payload: bytes
    created_at: dt.datetime
    files: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class OutboxBatch:
    """An outbox row without its payload, for `dealersync outbox`."""

    id: int
    batch_id: str
    source: str
    stream: str
    records: int
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime


@dataclass
class BatchWrite:
    """Everything one outbox commit records together."""

    source: str
    stream: str
    batch_id: str | None = None
    created_at: dt.datetime = field(default_factory=now)
    lines: list[bytes] = field(default_factory=list)
    new_hashes: dict[str, str] = field(default_factory=dict)  # keys the store has no hash for yet
    changed_hashes: dict[str, str] = field(default_factory=dict)  # keys whose stored hash changes
    dropped_hashes: list[str] = field(default_factory=list)  # deleted keys
    dead_letters: list[tuple[str, str, str, str]] = field(default_factory=list)  # key, stage, reason, raw json
    resolved_keys: list[str] = field(default_factory=list)  # keys whose open dead letters this batch settles
    versions: dict[str, str] = field(default_factory=dict)  # source versions to store (new, changed or not)
    facts: dict[str, StoredFact | None] = field(default_factory=dict)  # KPI facts to store (None: drop)
    files: dict[str, Attachment] = field(default_factory=dict)  # by sha256: bytes the batch's records name

    def __bool__(self) -> bool:
        return bool(
            self.lines or self.dead_letters or self.dropped_hashes or self.versions or self.resolved_keys or self.facts
        )  # files travel with lines


DEFAULT_BUSY_SECONDS = 30.0  # how long a write waits for another process's write on a SQLite store


class StateStore:
    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.where = _where(parsed)
        # `?timeout=` (seconds) is SQLAlchemy's own SQLite URL parameter; the busy timeout must not undo it.
        self.busy_seconds = float(parsed.query.get("timeout", DEFAULT_BUSY_SECONDS))  # type: ignore[arg-type]
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        event.listen(self.engine, "handle_error", self._state_error)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", self._sqlite_pragmas)

    def create(self) -> None:
        """Check a SQLite store for damage, then create the tables a new store lacks."""
        if self.engine.dialect.name == "sqlite":
            self._quick_check()
        metadata.create_all(self.engine)
        self._add_new_columns()
        self._move_old_marks()

    def _quick_check(self) -> None:
        # Every b-tree page's structure, the freelist and record formats, without the index cross-checks of
        # integrity_check: ~0.06 s for a 45 MB store. It cannot see bytes changed inside a value: no checksums.
        with self.engine.connect() as conn:
            problems = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StateError(_damaged(self.where, " ".join(" ".join(problems).split())[:300]))

    def _add_new_columns(self) -> None:
        """Bring a state store made by an earlier release up to this one's tables (columns only ever added)."""
        inspector = inspect(self.engine)
        for table, column, ddl in _ADDED_COLUMNS:
            if column not in {c["name"] for c in inspector.get_columns(table.name)}:
                with self.engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column} {ddl}"))

    def _move_old_marks(self) -> None:
        """A store of release 2.2 kept dealer_kpis' marks in tables of their own: moved, then those dropped."""
        names = set(inspect(self.engine).get_table_names())
        for old, new, value in _OLD_MARKS:
            if old.name not in names:
                continue
            with self.engine.begin() as conn:
                rows = conn.execute(select(old.c.source, old.c.account, old.c[value])).all()
                column = "seq" if new is dirty_t else "due"
                bulk_insert(
                    conn,
                    new,
                    [{"source": s, "account": a, column: v} for s, a, v in rows],
                    defaults={"stream": "dealer_kpis"},
                )
                conn.execute(text(f"DROP TABLE {old.name}"))

    def close(self) -> None:
        self.engine.dispose()

    def _state_error(self, context: ExceptionContext) -> None:
        """Turn the store's own failures into a StateError that says what to do; leave the rest alone."""
        if context.is_pre_ping:
            return  # the pool reconnects by itself
        found = _classify(context, self.where, self.busy_seconds)
        if found is not None:
            raise StateError(found) from context.original_exception

    def _sqlite_pragmas(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets `status` read while a sync writes; synchronous=FULL makes each commit survive power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(self.busy_seconds * 1000)}")
        cursor.close()

    # -- leases: one run of a stream at a time, across processes --------------------------
    def acquire(self, source: str, stream: str, owner: str, ttl: dt.timedelta) -> bool:
        moment = now()
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(streams_t.c.source).where(streams_t.c.source == source, streams_t.c.stream == stream)
            ).first()
            if exists is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(streams_t).values(source=source, stream=stream))
                except IntegrityError:
                    pass  # another process created it first
            taken = conn.execute(
                update(streams_t)
                .where(
                    streams_t.c.source == source,
                    streams_t.c.stream == stream,
                    (streams_t.c.lock_owner.is_(None)) | (streams_t.c.lock_until < moment),
                )
                .values(lock_owner=owner, lock_until=moment + ttl, last_started=moment, last_status="running")
            )
            return taken.rowcount == 1

    def lock_holder(self, source: str, stream: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(streams_t.c.lock_owner).where(streams_t.c.source == source, streams_t.c.stream == stream)
            ).scalar()

    def break_lock(self, source: str, stream: str, holder: str) -> bool:
        """Free a lease whose holder is known to be dead; only if that holder still has it."""
        with self.engine.begin() as conn:
            freed = conn.execute(
                update(streams_t)
                .where(streams_t.c.source == source, streams_t.c.stream == stream, streams_t.c.lock_owner == holder)
                .values(lock_owner=None, lock_until=None)
            )
            return freed.rowcount == 1

    def renew(self, source: str, stream: str, owner: str, ttl: dt.timedelta) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(streams_t)
                .where(streams_t.c.source == source, streams_t.c.stream == stream, streams_t.c.lock_owner == owner)
                .values(lock_until=now() + ttl)
            )

    def release(self, source: str, stream: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(streams_t)
                .where(streams_t.c.source == source, streams_t.c.stream == stream, streams_t.c.lock_owner == owner)
                .values(lock_owner=None, lock_until=None)
            )

    def untracked(self, source: str, streams: Iterable[str]) -> list[str]:
        """Those of `streams` that never ran with this store (every run starts by taking the stream's lease)."""
        wanted = list(streams)
        with self.engine.connect() as conn:
            known = set(
                conn.execute(
                    select(streams_t.c.stream).where(streams_t.c.source == source, streams_t.c.stream.in_(wanted))
                ).scalars()
            )
        return [s for s in wanted if s not in known]

    # -- cursors and run results -----------------------------------------------------------
    def cursor(self, source: str, stream: str) -> dt.datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(streams_t.c.cursor).where(streams_t.c.source == source, streams_t.c.stream == stream)
            ).scalar()
        return dt.datetime.fromisoformat(value) if value else None

    def finish(
        self,
        source: str,
        stream: str,
        *,
        status: str,
        counts: dict[str, int],
        cursor: dt.datetime | None = None,
        error: str | None = None,
        excluded: dict[str, int] | None = None,
    ) -> None:
        values: dict[str, Any] = {"last_finished": now(), "last_status": status, "error": error, **counts}
        values["excluded"] = json.dumps(excluded or {}, ensure_ascii=False, sort_keys=True)
        if cursor is not None:
            values["cursor"] = cursor.isoformat()
        with self.engine.begin() as conn:
            conn.execute(
                update(streams_t).where(streams_t.c.source == source, streams_t.c.stream == stream).values(**values)
            )

    def reset_cursor(self, source: str, stream: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(streams_t).where(streams_t.c.source == source, streams_t.c.stream == stream).values(cursor=None)
            )

    # -- content hashes ----------------------------------------------------------------------
    def has_hashes(self, source: str, stream: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(hashes_t.c.key).where(hashes_t.c.source == source, hashes_t.c.stream == stream).limit(1)
            ).first()
        return found is not None

    def hashes(self, source: str, stream: str, keys: Sequence[str]) -> dict[str, str]:
        return {key: digest for key, (digest, _) in self.stored(source, stream, keys).items()}

    def versions(self, source: str, stream: str, keys: Sequence[str]) -> dict[str, str]:
        """Stored source versions of those keys that have one."""
        return {key: version for key, (_, version) in self.stored(source, stream, keys).items() if version is not None}

    def stored(self, source: str, stream: str, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """key -> (content hash, source version) for the keys the store knows."""
        stmt = select(hashes_t.c.key, hashes_t.c.hash, hashes_t.c.version).where(
            hashes_t.c.source == source,
            hashes_t.c.stream == stream,
            hashes_t.c.key.in_(bindparam("keys", expanding=True)),
        )
        found: dict[str, tuple[str, str | None]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 1000):
                batch = list(keys[start : start + 1000])
                found.update((k, (h, v)) for k, h, v in conn.execute(stmt, {"keys": batch}))
        return found

    def known_keys(self, source: str, stream: str) -> Iterator[str]:
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                select(hashes_t.c.key).where(hashes_t.c.source == source, hashes_t.c.stream == stream)
            )
            for (key,) in result:
                yield key

    # -- the outbox ------------------------------------------------------------------------
    def commit(self, write: BatchWrite) -> int | None:
        """Record one batch, its hashes and its dead letters atomically; returns the outbox row id."""
        moment = write.created_at
        source, stream = write.source, write.stream
        outbox_id = None
        with self.engine.begin() as conn:
            if write.lines:
                outbox_id = conn.execute(
                    insert(outbox_t).values(
                        batch_id=write.batch_id,
                        source=source,
                        stream=stream,
                        records=len(write.lines),
                        payload=b"".join(write.lines),
                        status="pending",
                        created_at=moment,
                        attempts=0,
                    )
                ).inserted_primary_key[0]
                if write.files:
                    conn.execute(
                        insert(outbox_files_t),
                        [
                            {"outbox_id": outbox_id, "sha256": f.sha256, "content_type": f.content_type, "data": f.data}
                            for f in write.files.values()
                        ],
                    )
            versions = write.versions
            if write.new_hashes:  # a full read's every record: at the driver, without Core's per-row handling
                bulk_insert(
                    conn,
                    hashes_t,
                    [{"key": k, "hash": h, "version": versions.get(k)} for k, h in write.new_hashes.items()],
                    defaults={"source": source, "stream": stream},
                )
            by_key = (hashes_t.c.source == source, hashes_t.c.stream == stream, hashes_t.c.key == bindparam("k"))
            if write.changed_hashes:
                conn.execute(
                    update(hashes_t).where(*by_key).values(hash=bindparam("h")),
                    [{"k": k, "h": h} for k, h in write.changed_hashes.items()],
                )
            # Changed content or not, a known key's new version is remembered so it is not mapped again.
            moved = [{"k": k, "v": v} for k, v in versions.items() if k not in write.new_hashes]
            if moved:
                conn.execute(update(hashes_t).where(*by_key).values(version=bindparam("v")), moved)
            self._drop_hashes(conn, source, stream, write.dropped_hashes)
            if write.resolved_keys:
                self._resolve(conn, source, stream, write.resolved_keys, moment)
            for key, stage, reason, raw in write.dead_letters:
                self._dead_letter(conn, source, stream, key, stage, reason, raw, moment)
            if write.facts:
                self._write_facts(conn, source, stream, write.facts)
        return outbox_id

    # -- dealer KPIs -----------------------------------------------------------------------
    def _write_facts(self, conn: Any, source: str, stream: str, facts: dict[str, StoredFact | None]) -> None:
        """Replace the facts of these keys, and mark the dealers whose facts moved (a product's: every dealer)."""
        old: dict[str, tuple[str, bytes]] = {}
        known = list(facts)
        for start in range(0, len(known), 1000):
            rows = conn.execute(
                select(kpi_facts_t.c.key, kpi_facts_t.c.account, kpi_facts_t.c.payload).where(
                    kpi_facts_t.c.source == source,
                    kpi_facts_t.c.stream == stream,
                    kpi_facts_t.c.key.in_(known[start : start + 1000]),
                )
            )
            old.update((k, (a, bytes(p))) for k, a, p in rows)
        moved: set[str] = set()
        for key, fact in facts.items():
            before = old.get(key)
            if (None if before is None else StoredFact(*before)) == fact:
                continue
            if before is not None:
                moved.add(before[0])
            if fact is not None:
                moved.add(fact.account)
        gone = list(old)
        for start in range(0, len(gone), 1000):
            conn.execute(
                delete(kpi_facts_t).where(
                    kpi_facts_t.c.source == source,
                    kpi_facts_t.c.stream == stream,
                    kpi_facts_t.c.key.in_(gone[start : start + 1000]),
                )
            )
        bulk_insert(
            conn,
            kpi_facts_t,
            [
                {
                    "key": k,
                    "account": f.account,
                    "payload": f.payload,
                    "previous_account": old[k][0] if k in old else None,
                    "previous": old[k][1] if k in old else None,
                }
                for k, f in facts.items()
                if f is not None
            ],
            defaults={"source": source, "stream": stream},
        )
        if stream == "products":
            # Every dealer's group and brand split moves only when a product it may have bought changes labels
            # or goes: a new product is named by no invoice fact yet (products are read before invoices).
            relabelled = [k for k, (_, payload) in old.items() if _labels(payload) != _labels(facts[k])]
            if relabelled:
                self._mark_dirty(conn, source, CONSUMERS[stream], {ALL_DEALERS})
        elif moved:
            self._mark_dirty(conn, source, CONSUMERS[stream], moved)

    def _put_back_facts(self, conn: Any, source: str, stream: str, keys: Sequence[str]) -> None:
        """The facts of rejected records back to the version before them; a record never taken has none."""
        moved: set[str] = set()
        for start in range(0, len(keys), 1000):
            rows = conn.execute(
                select(kpi_facts_t.c.key, kpi_facts_t.c.account, kpi_facts_t.c.previous_account, kpi_facts_t.c.previous)
                .where(
                    kpi_facts_t.c.source == source,
                    kpi_facts_t.c.stream == stream,
                    kpi_facts_t.c.key.in_(list(keys[start : start + 1000])),
                )
            ).all()
            for key, account, previous_account, previous in rows:
                by_key = (kpi_facts_t.c.source == source, kpi_facts_t.c.stream == stream, kpi_facts_t.c.key == key)
                moved.add(account)
                if previous is None:
                    conn.execute(delete(kpi_facts_t).where(*by_key))
                    continue
                moved.add(previous_account)
                conn.execute(
                    update(kpi_facts_t)
                    .where(*by_key)
                    .values(account=previous_account, payload=previous, previous_account=None, previous=None)
                )
        if moved:
            self._mark_dirty(conn, source, CONSUMERS[stream], {ALL_DEALERS} if stream == "products" else moved)

    @staticmethod
    def _mark_dirty(conn: Any, source: str, derived: str, accounts: Iterable[str]) -> None:
        """Mark dealers (again) with a fresh mark: an upsert, so two writers marking one dealer at once both land."""
        marked = sorted(accounts)
        mark = secrets.randbits(62)  # compared for equality only: a run clears exactly the marks it read
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert_ = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(dirty_t)
            upsert = insert_.on_conflict_do_update(
                index_elements=["source", "stream", "account"], set_={"seq": insert_.excluded.seq}
            )
            rows = [{"source": source, "stream": derived, "account": a, "seq": mark} for a in marked]
            conn.execute(upsert, rows)  # executemany
            return
        for start in range(0, len(marked), 1000):
            chunk = marked[start : start + 1000]
            conn.execute(delete(dirty_t).where(*_of(dirty_t, source, derived), dirty_t.c.account.in_(chunk)))
            marks = {"source": source, "stream": derived, "seq": mark}
            bulk_insert(conn, dirty_t, [{"account": a} for a in chunk], defaults=marks)

    def dirty_dealers(self, source: str, derived: str) -> list[tuple[str, int]]:
        """(account, mark) of the dealers whose facts moved since the derived stream last computed them."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(dirty_t.c.account, dirty_t.c.seq)
                .where(*_of(dirty_t, source, derived))
                .order_by(dirty_t.c.account)
            )
            return [(a, s) for a, s in rows]

    def dealers_due(self, source: str, derived: str, today: str) -> list[str]:
        """Dealers to recompute because `today` (a month or a day, or an earlier one they waited for) has begun."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(later_t.c.account).where(*_of(later_t, source, derived), later_t.c.due <= today))
            return [a for (a,) in rows]

    def reschedule(self, source: str, derived: str, computed: Sequence[str] | None, later: dict[str, str]) -> None:
        """After a good run: the computed dealers (None: every dealer) wait for the months or days in `later` only."""
        with self.engine.begin() as conn:
            if computed is None:
                conn.execute(delete(later_t).where(*_of(later_t, source, derived)))
            elif computed:
                by_account = delete(later_t).where(*_of(later_t, source, derived), later_t.c.account == bindparam("a"))
                conn.execute(by_account, [{"a": a} for a in computed])
            bulk_insert(
                conn,
                later_t,
                [{"account": a, "due": when} for a, when in later.items()],
                defaults={"source": source, "stream": derived},
            )

    def clear_dirty(self, source: str, derived: str, marks: Sequence[tuple[str, int]]) -> None:
        """Drop these marks; a dealer marked again since (another mark) stays dirty."""
        if not marks:
            return
        stmt = delete(dirty_t).where(
            *_of(dirty_t, source, derived),
            dirty_t.c.account == bindparam("a"),
            dirty_t.c.seq == bindparam("s"),
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, [{"a": account, "s": seq} for account, seq in marks])

    def facts(
        self, source: str, streams: Sequence[str], accounts: Sequence[str] | None = None
    ) -> Iterator[tuple[str, str, str, bytes]]:
        """(account, stream, key, payload) of the dealers' facts from these streams (all dealers: None), grouped by
        account."""
        stmt = select(kpi_facts_t.c.account, kpi_facts_t.c.stream, kpi_facts_t.c.key, kpi_facts_t.c.payload).where(
            kpi_facts_t.c.source == source, kpi_facts_t.c.stream.in_(list(streams))
        )
        with self.engine.connect() as conn:
            if accounts is None:
                result = conn.execution_options(yield_per=5000).execute(stmt.order_by(kpi_facts_t.c.account))
                for account, stream, key, payload in result:
                    yield account, stream, key, bytes(payload)
                return
            for start in range(0, len(accounts), 500):
                chunk = list(accounts[start : start + 500])
                rows = conn.execute(
                    stmt.where(kpi_facts_t.c.account.in_(chunk)).order_by(kpi_facts_t.c.account)
                ).all()
                for account, stream, key, payload in rows:
                    yield account, stream, key, bytes(payload)

    def product_facts(self, source: str) -> Iterator[tuple[str, bytes]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(kpi_facts_t.c.key, kpi_facts_t.c.payload).where(
                    kpi_facts_t.c.source == source, kpi_facts_t.c.stream == "products"
                )
            )
            for key, payload in rows:
                yield key, bytes(payload)

    def fact_keys(self, source: str, stream: str) -> Iterator[str]:
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                select(kpi_facts_t.c.key).where(kpi_facts_t.c.source == source, kpi_facts_t.c.stream == stream)
            )
            for (key,) in result:
                yield key

    def facts_ready(self, source: str, stream: str) -> bool:
        """Whether every record of the stream sent so far has its fact (a store from before facts has none)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(kpi_ready_t.c.stream).where(kpi_ready_t.c.source == source, kpi_ready_t.c.stream == stream)
            ).first()
        return found is not None

    def forget_facts(self, source: str, stream: str) -> None:
        """Facts are kept no longer: the next run of the derived stream, once they are caught up again, is a complete
        read (the dealers whose documents went meanwhile have no marks)."""
        if self.facts_ready(source, stream):
            with self.engine.begin() as conn:
                for table in (kpi_facts_t, kpi_ready_t):
                    conn.execute(delete(table).where(table.c.source == source, table.c.stream == stream))
                conn.execute(
                    update(streams_t)
                    .where(streams_t.c.source == source, streams_t.c.stream == CONSUMERS[stream])
                    .values(cursor=None)
                )

    def mark_facts_ready(self, source: str, stream: str) -> None:
        if not self.facts_ready(source, stream):
            with self.engine.begin() as conn:
                conn.execute(insert(kpi_ready_t).values(source=source, stream=stream))

    def pending(self, source: str, stream: str) -> Iterator[PendingBatch]:
        """Unacknowledged batches, oldest first, read one at a time so memory stays flat."""
        last_id = 0
        while True:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(outbox_t)
                    .where(
                        outbox_t.c.source == source,
                        outbox_t.c.stream == stream,
                        outbox_t.c.status == "pending",
                        outbox_t.c.id > last_id,
                    )
                    .order_by(outbox_t.c.id)
                    .limit(1)
                ).first()
            if row is None:
                return
            last_id = row.id
            yield self._pending(row)

    def outbox(self, source: str | None = None, include_done: bool = False, limit: int = 100) -> list[OutboxBatch]:
        c = outbox_t.c
        stmt = select(
            c.id, c.batch_id, c.source, c.stream, c.records, c.status, c.attempts, c.last_error, c.created_at
        ).order_by(c.id)
        if source:
            stmt = stmt.where(c.source == source)
        if not include_done:
            stmt = stmt.where(c.status == "pending")
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.limit(limit)).all()
        return [OutboxBatch(*row[:-1], _aware(row.created_at)) for row in rows]  # type: ignore[arg-type]

    def pending_batch(self, batch_id: str) -> PendingBatch | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(outbox_t).where(outbox_t.c.batch_id == batch_id, outbox_t.c.status == "pending")
            ).first()
        if row is None:
            return None
        return self._pending(row)

    def _pending(self, row: Any) -> PendingBatch:
        with self.engine.connect() as conn:
            files = conn.execute(
                select(outbox_files_t.c.sha256, outbox_files_t.c.content_type, outbox_files_t.c.data)
                .where(outbox_files_t.c.outbox_id == row.id)
                .order_by(outbox_files_t.c.sha256)
            ).all()
        return PendingBatch(
            row.id, row.batch_id, row.source, row.stream, row.records, row.payload, _aware(row.created_at),
            tuple(Attachment(sha, kind, bytes(data)) for sha, kind, data in files),
        )  # fmt: skip

    def acknowledge(
        self,
        outbox_id: int,
        rejected: Sequence[tuple[str, str, str]] = (),
        status: str = "done",
        *,
        forget_hashes: bool = True,
    ) -> None:
        """Mark a batch done; records the sink rejected become dead letters.

        `forget_hashes`: a record rejected on its own (an unknown dealer, say) may pass later
        unchanged, so its hash is dropped and the next read sends it again; a batch refused as a
        whole would be refused again, so its records wait for a change or a dead-letter retry.
        """
        moment = now()
        with self.engine.begin() as conn:
            row = conn.execute(select(outbox_t.c.source, outbox_t.c.stream).where(outbox_t.c.id == outbox_id)).one()
            conn.execute(
                update(outbox_t)
                .where(outbox_t.c.id == outbox_id)
                .values(status=status, acked_at=moment, payload=None, attempts=outbox_t.c.attempts + 1)
            )
            conn.execute(delete(outbox_files_t).where(outbox_files_t.c.outbox_id == outbox_id))
            if rejected and forget_hashes:
                self._drop_hashes(conn, row.source, row.stream, [key for key, _, _ in rejected])
            if rejected:  # the receiver holds the version before (if any): so do the KPIs, till the next is taken
                self._put_back_facts(conn, row.source, row.stream, [key for key, _, _ in rejected])
            for key, reason, raw in rejected:
                self._dead_letter(conn, row.source, row.stream, key, "sink", reason, raw, moment)

    def attempt_failed(self, outbox_id: int, error: str, *, give_up: bool = False) -> None:
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"attempts": outbox_t.c.attempts + 1, "last_error": error[:2000]}
            if give_up:
                values["status"] = "failed"
            conn.execute(update(outbox_t).where(outbox_t.c.id == outbox_id).values(**values))

    def prune_outbox(self, older_than: dt.timedelta) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                delete(outbox_t).where(outbox_t.c.status == "done", outbox_t.c.acked_at < now() - older_than)
            ).rowcount

    # -- dead letters ----------------------------------------------------------------------
    def open_dead_letter_keys(self, source: str, stream: str, stage: str | None = None) -> set[str]:
        """Keys with an open dead letter (of `stage` only: "map" or "sink", when given)."""
        where = [
            dead_letters_t.c.source == source,
            dead_letters_t.c.stream == stream,
            dead_letters_t.c.resolved_at.is_(None),
        ]
        if stage is not None:
            where.append(dead_letters_t.c.stage == stage)
        with self.engine.connect() as conn:
            return set(conn.execute(select(dead_letters_t.c.key).where(*where)).scalars())

    def dead_letters(
        self,
        source: str | None = None,
        stream: str | None = None,
        include_resolved: bool = False,
        limit: int | None = 100,
        ids: Iterable[int] | None = None,
    ) -> list[DeadLetter]:
        stmt = select(dead_letters_t).order_by(dead_letters_t.c.id)
        if source:
            stmt = stmt.where(dead_letters_t.c.source == source)
        if stream:
            stmt = stmt.where(dead_letters_t.c.stream == stream)
        if not include_resolved:
            stmt = stmt.where(dead_letters_t.c.resolved_at.is_(None))
        if ids is not None:
            stmt = stmt.where(dead_letters_t.c.id.in_(list(ids)))
        if limit:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            DeadLetter(
                r.id,
                r.source,
                r.stream,
                r.key,
                r.stage,
                r.reason,
                json.loads(r.raw) if r.raw else {},
                _aware(r.created_at),  # type: ignore[arg-type]
                r.attempts,
                _aware(r.resolved_at),
            )
            for r in rows
        ]

    def resolve(self, source: str, stream: str, keys: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            self._resolve(conn, source, stream, keys, now())

    # -- status ----------------------------------------------------------------------------
    def status(self, source: str | None = None) -> list[StreamStatus]:
        with self.engine.connect() as conn:
            stmt = select(streams_t).order_by(streams_t.c.source, streams_t.c.stream)
            if source:
                stmt = stmt.where(streams_t.c.source == source)
            rows = conn.execute(stmt).all()
            pending = dict(
                ((r.source, r.stream), r.n)
                for r in conn.execute(
                    select(outbox_t.c.source, outbox_t.c.stream, func.count().label("n"))
                    .where(outbox_t.c.status == "pending")
                    .group_by(outbox_t.c.source, outbox_t.c.stream)
                )
            )
            dead = dict(
                ((r.source, r.stream), r.n)
                for r in conn.execute(
                    select(dead_letters_t.c.source, dead_letters_t.c.stream, func.count().label("n"))
                    .where(dead_letters_t.c.resolved_at.is_(None))
                    .group_by(dead_letters_t.c.source, dead_letters_t.c.stream)
                )
            )
        return [
            StreamStatus(
                source=r.source,
                stream=r.stream,
                cursor=dt.datetime.fromisoformat(r.cursor) if r.cursor else None,
                last_started=_aware(r.last_started),
                last_finished=_aware(r.last_finished),
                last_status=r.last_status,
                read=r.read or 0,
                pushed=r.pushed or 0,
                unchanged=r.unchanged or 0,
                deleted=r.deleted or 0,
                dead_lettered=r.dead_lettered or 0,
                flagged=r.flagged or 0,
                excluded=json.loads(r.excluded) if r.excluded else {},
                error=r.error,
                pending_batches=pending.get((r.source, r.stream), 0),
                open_dead_letters=dead.get((r.source, r.stream), 0),
            )
            for r in rows
        ]

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _drop_hashes(conn: Any, source: str, stream: str, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            conn.execute(
                delete(hashes_t).where(
                    hashes_t.c.source == source,
                    hashes_t.c.stream == stream,
                    hashes_t.c.key.in_(list(keys[start : start + 1000])),
                )
            )

    @staticmethod
    def _resolve(conn: Any, source: str, stream: str, keys: Sequence[str], moment: dt.datetime) -> None:
        for start in range(0, len(keys), 1000):
            conn.execute(
                update(dead_letters_t)
                .where(
                    dead_letters_t.c.source == source,
                    dead_letters_t.c.stream == stream,
                    dead_letters_t.c.key.in_(list(keys[start : start + 1000])),
                    dead_letters_t.c.resolved_at.is_(None),
                )
                .values(resolved_at=moment, updated_at=moment)
            )

    @staticmethod
    def _dead_letter(
        conn: Any, source: str, stream: str, key: str, stage: str, reason: str, raw: str, moment: dt.datetime
    ) -> None:
        # One open dead letter per key and stage: a row re-read in the overlap window updates it.
        updated = conn.execute(
            update(dead_letters_t)
            .where(
                dead_letters_t.c.source == source,
                dead_letters_t.c.stream == stream,
                dead_letters_t.c.key == key,
                dead_letters_t.c.stage == stage,
                dead_letters_t.c.resolved_at.is_(None),
            )
            .values(reason=reason, raw=raw, updated_at=moment, attempts=dead_letters_t.c.attempts + 1)
        ).rowcount
        if not updated:
            conn.execute(
                insert(dead_letters_t).values(
                    source=source,
                    stream=stream,
                    key=key,
                    stage=stage,
                    reason=reason,
                    raw=raw,
                    created_at=moment,
                    updated_at=moment,
                    attempts=1,
                )
            )


def _of(table: Table, source: str, derived: str) -> tuple[Any, Any]:
    return table.c.source == source, table.c.stream == derived


def _labels(payload: bytes | StoredFact | None) -> tuple[str | None, str | None] | None:
    """A product fact's (group, brand); None for no fact."""
    if payload is None:
        return None
    fact = decode_fact("products", payload.payload if isinstance(payload, StoredFact) else payload)
    return (fact.group_code, fact.brand) if isinstance(fact, ProductFact) else None


def _where(url: URL) -> str:
    """The store as messages may name it: a SQLite file's path, or the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return url.database or "(in memory)"
    return url.render_as_string(hide_password=True)


def _damaged(where: str, detail: str) -> str:
    return (
        f"the state store {where} is damaged ({detail}): stop dealersync, move the file away and restore your "
        "latest backup of it; without one, a new store makes the next sync send everything again, which "
        "dealersync asks you to confirm with `sync --full-refresh`"
    )


def _classify(context: ExceptionContext, where: str, busy_seconds: float) -> str | None:
    """What to tell the operator about a failure of the store itself, or None for any other error."""
    exc = context.original_exception
    name = getattr(exc, "sqlite_errorname", None)  # SQLite's own result code name (Python 3.11+)
    if isinstance(name, str):
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return (
                f"the state store {where} is locked: another process has held a write on it for more than "
                f"{busy_seconds:g} s (another dealersync with the same state, a backup or a database tool?); "
                "stop it or wait for it, then run again"
            )
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
            return _damaged(where, _first_line(exc))
        if name.startswith("SQLITE_CANTOPEN"):
            return (
                f"cannot open the state store {where}: check that its folder exists and that this user may write in it"
            )
        if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")):
            return f"cannot write the state store {where}: check that this user may write the file and its folder"
        if name.startswith("SQLITE_FULL"):
            return f"the disk holding the state store {where} is full: free some space, then run again"
        if name.startswith("SQLITE_IOERR"):
            return f"cannot read or write the state store {where} ({_first_line(exc)}): check its disk, then run again"
        return None
    if context.connection is None:  # failed while connecting
        return (
            f"cannot reach the state store {where}: {_first_line(exc)}; check state.url, that the database server "
            "is up and the credentials"
        )
    if context.is_disconnect:
        return f"lost the connection to the state store {where} ({_first_line(exc)}): run again once it is back"
    return None


def _first_line(exc: BaseException) -> str:
    # Drivers append the statement and its parameters below the first line; the driver's message may quote the URL.
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
