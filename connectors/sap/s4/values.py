"""OData V2 as S/4 writes it: filter literals, the JSON value forms, and expanded navigations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from mapping.dates import business_date, odata_v2_datetime
from mapping.errors import RecordError

__all__ = [
    "all_of",
    "any_of",
    "date_literal",
    "day_literal",
    "day_of",
    "expanded",
    "expanded_one",
    "instant_of",
    "string_literal",
    "time_of",
    "wall_time",
]


def string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def date_literal(value: dt.datetime) -> str:
    """A datetimeoffset literal (for Edm.DateTimeOffset fields) in UTC."""
    return "datetimeoffset'" + value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def day_literal(value: dt.date) -> str:
    """A datetime literal at midnight (for Edm.DateTime fields, which hold dates)."""
    return f"datetime'{value.isoformat()}T00:00:00'"


def any_of(field: str, values: Iterable[str]) -> str:
    return "(" + " or ".join(f"{field} eq {string_literal(v)}" for v in values) + ")"


def all_of(*conditions: str | None) -> str | None:
    parts = [c for c in conditions if c]
    return " and ".join(parts) if parts else None


def _not_expanded(navigation: str) -> RecordError:
    # A gateway that ignores $expand (seen in captured S/4 answers) must not turn into a document without lines.
    return RecordError(
        f"{navigation} came back deferred although the request expanded it: the service did not expand it, "
        "so the document cannot be read whole (retry it with dealersync dead-letters --retry; if it stays, "
        "check the service's $expand support)",
        navigation,
    )


def expanded(row: Mapping[str, Any], navigation: str) -> list[Any]:
    """The rows of an expanded to-many navigation; RecordError when it came back deferred or not at all."""
    value = row.get(navigation)
    if isinstance(value, Mapping):
        rows = value.get("results")
        if isinstance(rows, list):
            return rows
    raise _not_expanded(navigation)


def expanded_one(row: Mapping[str, Any], navigation: str) -> Any:
    """An expanded to-one navigation (None when the entity has none); RecordError when it came back deferred."""
    if navigation not in row:
        raise _not_expanded(navigation)
    value = row.get(navigation)
    if value is None:
        return None
    if not isinstance(value, Mapping) or "__deferred" in value:
        raise _not_expanded(navigation)
    return value


def instant_of(value: Any, field: str) -> dt.datetime | None:
    """An Edm.DateTimeOffset (`/Date(ms+0000)/`) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    try:
        return odata_v2_datetime(str(value))
    except ValueError:
        raise RecordError("not an OData V2 date", field) from None


def day_of(value: Any, field: str) -> dt.date | None:
    """An Edm.DateTime holding a date (`/Date(ms)/` at midnight)."""
    return business_date(value, field)


def time_of(value: Any, field: str) -> dt.time | None:
    """An Edm.Time (`PT13H45M12S`)."""
    if value in (None, ""):
        return None
    text = str(value)
    if not text.startswith("PT"):
        raise RecordError("not an OData V2 time", field)
    parts = {"H": 0, "M": 0, "S": 0}
    number = ""
    for ch in text[2:]:
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in parts and number:
            parts[ch] = int(float(number))
            number = ""
        else:
            raise RecordError("not an OData V2 time", field)
    try:
        return dt.time(parts["H"], parts["M"], parts["S"])
    except ValueError:
        raise RecordError("OData V2 time out of range", field) from None


def wall_time(day: Any, time: Any, tz: ZoneInfo, field: str) -> dt.datetime | None:
    """A date and a time of day kept separately (CreationDate + CreationTime) as an instant in `tz`."""
    d = day_of(day, field)
    if d is None:
        return None
    t = time_of(time, field) or dt.time()
    return dt.datetime.combine(d, t, tzinfo=tz)
