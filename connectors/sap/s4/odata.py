"""Reading S/4HANA OData V2 entity sets: paging, filters and the V2 JSON value forms.

Paging: every read orders by the entity's key and asks for `$top` rows at `$skip`; when the
server pages smaller it answers with `__next` (a `$skiptoken` link), which is followed until the
`$top` window is full. Ordering by key keeps `$skip` stable while the system changes under the
read: a change moves a row's change time, never its key, and rows only ever enter a
change-time filter, so nothing shifts out from under the next page (new rows may shift one in,
which reads a row twice, harmlessly).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from connectors.http import HttpClient, HttpSourceError
from mapping.dates import business_date, odata_v2_datetime
from mapping.errors import RecordError

__all__ = [
    "KEYS_PER_FILTER",
    "ODataReader",
    "all_of",
    "any_of",
    "date_literal",
    "day_literal",
    "day_of",
    "instant_of",
    "results",
    "single",
    "string_literal",
    "time_of",
    "wall_time",
]

# Key lists in one `$filter` (k eq 'a' or k eq 'b' ...): short enough for gateways' URL limits.
KEYS_PER_FILTER = 40


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


def results(value: Any) -> list[dict[str, Any]]:
    """The rows of an expanded to-many navigation ({"results": [...]}), [] when absent or deferred."""
    if isinstance(value, Mapping):
        rows = value.get("results")
        if isinstance(rows, list):
            return rows
    return []


def single(value: Any) -> dict[str, Any] | None:
    """An expanded to-one navigation, None when null or deferred."""
    if isinstance(value, Mapping) and "__deferred" not in value:
        return dict(value)
    return None


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


class ODataReader:
    """Pages through entity sets of one S/4 system."""

    def __init__(self, client: HttpClient, page_size: int) -> None:
        self.client = client
        self.page_size = page_size

    def pages(
        self,
        path: str,
        order_by: Sequence[str],
        *,
        filter: str | None = None,
        expand: str | None = None,
        select: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of rows, in key order."""
        base: dict[str, str] = {"$format": "json", "$orderby": ",".join(order_by), "$top": str(self.page_size)}
        if filter:
            base["$filter"] = filter
        if expand:
            base["$expand"] = expand
        if select:
            base["$select"] = select
        skip = 0
        while True:
            received = 0
            url: str = path
            params: dict[str, str] | None = {**base, "$skip": str(skip)}
            while True:
                body = self._get(url, params)
                rows = body.get("results")
                if not isinstance(rows, list):
                    raise HttpSourceError(f"{path}: the answer holds no result list (is this an OData V2 service?)")
                if rows:
                    yield rows
                received += len(rows)
                following = body.get("__next")
                if not following or received >= self.page_size:
                    break
                url, params = str(following), None
            if received < self.page_size:
                return
            skip += received

    def count(self, path: str, filter: str | None = None) -> int | None:
        params = {"$format": "json", "$top": "0", "$inlinecount": "allpages"}
        if filter:
            params["$filter"] = filter
        count = self._get(path, params).get("__count")
        return int(count) if isinstance(count, str) and count.isdigit() else None

    def by_keys(
        self,
        path: str,
        key: str,
        values: Iterable[str],
        order_by: Sequence[str],
        *,
        filter: str | None = None,
        expand: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows whose `key` is one of `values`, a few dozen keys per request."""
        wanted = sorted(set(values))
        for start in range(0, len(wanted), KEYS_PER_FILTER):
            chunk = any_of(key, wanted[start : start + KEYS_PER_FILTER])
            yield from self.pages(path, order_by, filter=all_of(filter, chunk), expand=expand)

    def _get(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        document = self.client.get_json(url, params)
        body = document.get("d") if isinstance(document, Mapping) else None
        if not isinstance(body, Mapping):
            raise HttpSourceError(f"{self.client.where(url)}: the answer is not OData V2 JSON ({{'d': ...}})")
        return dict(body)
