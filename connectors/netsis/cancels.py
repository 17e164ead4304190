"""check's lines about cancellations: an IPTAL column left unread, and deletes without a reconcile schedule.

Netsis's own tables have no cancel flag: a cancelled document is deleted, and only a reconcile
sends the delete. Some installs add a flag column; until issue 9 `cancelled_column` defaulted to
IPTAL, so an install upgraded without naming it would read its cancelled invoices, orders and
collections as live ones and send them again (money paid twice). check fails on that.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from connectors.base import CheckResult
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.netsis.streams import NetsisStream
from connectors.sql_schema import full_name

__all__ = ["cancellations"]

LEGACY_COLUMN = "IPTAL"  # cancelled_column's default before issue 9
_LABEL = "cancellations"
_DELETES_SENT_BY = ("invoices", "orders", "collections", "account_ledger", "stock_movements")


def _flagged_tables(env: NetsisEnv, stream: str) -> tuple[sa.Table, ...]:
    """The tables whose cancel flag `stream` reads."""
    t = env.tables
    return {
        "invoices": (t.FATUIRS,),
        "orders": (t.SIPAMAS,),
        "risk_limits": (t.SIPAMAS,),  # open orders leave the cancelled ones out
        "collections": (t.CAHAR,),
        "account_ledger": (t.CAHAR,),
        "stock_movements": (t.FATUIRS,),  # a movement is cancelled with its document
    }.get(stream, ())


def _legacy_columns(env: NetsisEnv, streams: Sequence[NetsisStream]) -> dict[str, list[str]]:
    """Database -> the tables read for cancel flags that have an IPTAL column, in the order the streams read them."""
    wanted: dict[str, tuple[Database, list[sa.Table]]] = {}
    for stream in streams:
        for db in stream.databases():
            tables = wanted.setdefault(db.name, (db, []))[1]
            tables.extend(t for t in _flagged_tables(env, stream.name) if t not in tables)
    found: dict[str, list[str]] = {}
    for db, tables in wanted.values():
        names = [t.name for t in tables if env.columns(db, t).kind_of(full_name(t), LEGACY_COLUMN) is not None]
        if names:
            found[db.name] = names
    order = [t.name for t in (env.tables.FATUIRS, env.tables.SIPAMAS, env.tables.CAHAR)]
    return {db: sorted(names, key=order.index) for db, names in found.items()}


def cancellations(env: NetsisEnv, streams: Sequence[NetsisStream], reconciles: bool) -> list[CheckResult]:
    """A failure when cancelled_column is null but a table read has an IPTAL column; else, when cancellations
    are deletes and no reconcile is scheduled, a warning that deletes would never reach the feed."""
    if env.settings.cancelled_column is not None:
        return []
    legacy = _legacy_columns(env, streams)
    if legacy:
        where = "; ".join(
            f"{', '.join(tables)} (database {db}) {'have' if len(tables) > 1 else 'has'} a column {LEGACY_COLUMN}"
            for db, tables in legacy.items()
        )
        detail = (
            f"{where}, but cancelled_column is null (the default now; it used to default to {LEGACY_COLUMN}): "
            f"the documents {LEGACY_COLUMN} marks cancelled would be sent as not cancelled. "
            f"Set cancelled_column: {LEGACY_COLUMN} (or name the column that marks cancellations)"
        )
        return [CheckResult(_LABEL, False, detail)]
    if reconciles or not any(s.name in _DELETES_SENT_BY for s in streams):
        return []
    detail = (
        "cancelled_column is null: Netsis deletes cancelled documents, so deleted (cancelled) invoices, orders and "
        "collections reach the feed only at a reconcile, and this source has none scheduled: add reconcile: "
        "{cron: ...} to the source (e.g. reconcile: {cron: '0 2 * * *'}, nightly)"
    )
    return [CheckResult(_LABEL, True, detail, warning=True)]
