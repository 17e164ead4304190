"""The code census: every code value the customer's data holds, its rows and money, and what dealersync does with it.

ERPs decide what a row means through code columns (Logo's INVOICE.TRCODE, Mikro's cha_evrak_tip,
SAP's billing type...), and sites use codes nobody has seen. An adapter lists each code column it
interprets as a `CodeColumn`: the columns, the stream, the setting that maps them, what its money
sum adds up, and `explain`, which gives each value's `Reading` (sent as what, or left out on purpose
and why) from the adapter's effective settings. `Adapter.census()` counts the values in the data;
`dealersync discover --codes` prints them and `check` warns about unknown values that carry money,
so an integrator can prove that no money in the ERP falls outside the feed unnoticed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.base import CheckResult

__all__ = [
    "UNCONFIRMED",
    "CodeColumn",
    "CodeCount",
    "Reading",
    "census_warnings",
    "count_codes",
    "excluded",
    "mapped",
    "sort",
    "values",
]

UNCONFIRMED = "UNCONFIRMED"


@dataclass(frozen=True)
class Reading:
    """What dealersync does with one code value."""

    action: str  # "invoice kind sale", "left out: purchase invoice (the feed carries sales only)"
    sent: bool  # the feed carries the rows (mapped), or leaves them out on purpose
    source: str = UNCONFIRMED  # the primary source confirming this reading, "your settings", or UNCONFIRMED


def mapped(action: str, source: str = UNCONFIRMED) -> Reading:
    return Reading(action, True, source)


def excluded(why: str, source: str = UNCONFIRMED) -> Reading:
    return Reading(f"left out: {why}", False, source)


@dataclass(frozen=True)
class CodeColumn:
    """A code column (or a combination read together) that decides what a row means."""

    name: str  # as the ERP's documentation names it: "INVOICE.TRCODE", "cha_evrak_tip x cha_cinsi"
    stream: str
    setting: str  # the setting that maps its values, e.g. "invoice_kinds"
    money: str  # what the money sum adds up, e.g. "NETTOTAL, local currency"; "" when the rows carry none
    explain: Callable[[tuple[Any, ...]], Reading | None]  # None: unknown to dealersync


@dataclass(frozen=True)
class CodeCount:
    """One value of a code column found in the data."""

    column: CodeColumn
    value: tuple[Any, ...]
    rows: int
    money: Decimal | None

    @property
    def reading(self) -> Reading | None:
        return self.column.explain(self.value)

    @property
    def shown(self) -> str:
        return " x ".join("NULL" if v is None else str(v).strip() for v in self.value)


def values(table: dict[Any, Reading]) -> Callable[[tuple[Any, ...]], Reading | None]:
    """`explain` for a single code column read through a dict (the value -> Reading table the settings give)."""

    def explain(value: tuple[Any, ...]) -> Reading | None:
        return table.get(_plain(value[0]))

    return explain


def _plain(value: Any) -> Any:
    """A code as settings spell it: text stripped, whole decimals as ints (NUMERIC codes, FLOAT columns)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float | Decimal) and value == int(value):
        return int(value)
    return value


def count_codes(
    conn: sa.Connection,
    column: CodeColumn,
    codes: Sequence[sa.ColumnElement[Any]],
    money: sa.ColumnElement[Any] | None,
    from_: sa.FromClause,
    where: sa.ColumnElement[bool] | None = None,
) -> list[CodeCount]:
    """The census of one code column in SQL: SELECT codes, COUNT(*), SUM(money) ... GROUP BY codes."""
    labelled = [c.label(f"c{i}") for i, c in enumerate(codes)]
    parts: list[Any] = [*labelled, sa.func.count().label("n")]
    if money is not None:
        parts.append(sa.func.sum(money).label("m"))
    stmt = sa.select(*parts).select_from(from_).group_by(*codes)
    if where is not None:
        stmt = stmt.where(where)
    out = []
    for row in conn.execute(stmt):
        total = None if money is None or row.m is None else Decimal(str(row.m)).quantize(Decimal("0.01"))
        out.append(CodeCount(column, tuple(_plain(row[i]) for i in range(len(codes))), int(row.n), total))
    return out


def sort(counts: Iterable[CodeCount]) -> list[CodeCount]:
    return sorted(counts, key=lambda c: (c.column.stream, c.column.name, -c.rows, c.shown))


def census_warnings(counts: Iterable[CodeCount], since: dt.date | None = None) -> list[CheckResult]:
    """check()'s lines: one warning per code column with values the adapter does not know, naming the values,
    their rows and money, and the setting to map them. Any unknown row counts, not only those whose money
    sums to something: a document type posted and reversed in the window nets to zero."""
    unknown: dict[CodeColumn, list[CodeCount]] = {}
    for count in counts:
        if count.reading is None and count.rows:
            unknown.setdefault(count.column, []).append(count)
    window = f" since {since.isoformat()}" if since else ""
    results = []
    for column, found in unknown.items():
        listed = ", ".join(
            f"{c.shown} ({c.rows:,} rows" + (f", {c.money:,.2f}" if c.money is not None else "") + ")"
            for c in sorted(found, key=lambda c: -c.rows)[:12]
        )
        money = f"; money: {column.money}" if column.money else ""
        detail = (
            f"{column.name}: values dealersync does not know{window}: {listed}{money}. Their rows are not in the "
            f"feed: map or exclude each with the setting {column.setting} (dealersync discover --codes lists all)"
        )
        results.append(CheckResult(f"codes {column.stream}", True, detail, warning=True))
    return results
