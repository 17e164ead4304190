"""Date and timestamp normalisers: ERP "no date" sentinels, SAP YYYYMMDD, OData V2 /Date(ms)/, zones.

ERP datetimes carry no zone (Logo, Netsis, Mikro, 1C); the source's configured zone is attached,
never guessed. Business dates are kept as written: they are never shifted through a zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from mapping.errors import RecordError

# 1899-12-30: Mikro writes no NULLs (and it is the OLE automation zero date);
# 1900-01-01: SQL Server's datetime zero; 0001-01-01: 1C's and .NET's empty date.
NULL_DATES: frozenset[date] = frozenset({date(1899, 12, 30), date(1900, 1, 1), date(1, 1, 1)})
_NULL_TEXTS = frozenset({"00000000", "0000-00-00"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _attach(v: datetime, tz: tzinfo) -> datetime:
    """`v.replace(tzinfo=tz)`, which in 3.11 costs ~1 µs against ~0.3 µs for the positional constructor."""
    if v.fold:
        return v.replace(tzinfo=tz)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tz)


def aware(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Naive -> `tz` attached (fold=0 on DST-ambiguous wall times); aware -> converted to `tz`."""
    if value is None:
        return None
    if value.tzinfo is None:
        return _attach(value, tz)
    return value.astimezone(tz)


def combine(
    day: date | datetime | None,
    hour: int | None,
    minute: int | None,
    second: int | None,
    tz: ZoneInfo,
    field: str | None = None,
) -> datetime | None:
    """An aware timestamp from a date plus separate time parts (Logo FTIME, SAP ERZET-style columns).

    A datetime `day` keeps its own time only when all three parts are None; otherwise the parts
    (None as 0) replace it.
    """
    if day is None:
        return None
    if isinstance(day, datetime) and hour is None and minute is None and second is None:
        return aware(day, tz)
    try:
        return datetime(day.year, day.month, day.day, hour or 0, minute or 0, second or 0, 0, tz)
    except (ValueError, TypeError) as exc:
        raise RecordError(f"invalid time of day: {exc}", field) from None


def _odata_parts(text: str) -> tuple[datetime, int]:
    """(UTC instant, offset minutes) of "/Date(ms)/" or "/Date(ms+hhmm)/"; ValueError if malformed."""
    s = text.strip().replace("\\/", "/")
    if not (s.startswith("/Date(") and s.endswith(")/")):
        raise ValueError("not an OData V2 date")
    body = s[6:-2]
    # The millisecond count may itself be negative, so the offset sign is searched after it.
    cut = max(body.find("+", 1), body.find("-", 1))
    offset = 0
    if cut > 0:
        tail = body[cut + 1 :]
        if not (len(tail) == 4 and tail.isdigit()):
            raise ValueError("malformed OData V2 date offset")
        # OData V2 ([MS-ODATA] 2.2.6.3.2) counts the offset in minutes.
        offset = int(tail) if body[cut] == "+" else -int(tail)
        body = body[:cut]
    try:
        return _EPOCH + timedelta(milliseconds=int(body)), offset
    except OverflowError:
        raise ValueError("OData V2 date out of range") from None


def odata_v2_datetime(text: str) -> datetime:
    """The UTC instant of an OData V2 JSON date; the ticks are UTC, a trailing offset is informational."""
    return _odata_parts(text)[0]


def _parse_text(s: str) -> datetime | date:
    """A date or (naive or aware) datetime from the ERP text forms; ValueError if none fits."""
    if s[0] == "/" or s[0] == "\\":
        instant, offset = _odata_parts(s)
        # Same instant on the offset's wall clock, so .date() is the date as written at the source.
        return instant.astimezone(timezone(timedelta(minutes=offset))) if offset else instant
    if len(s) == 8 and s.isdigit():
        return date(int(s[:4]), int(s[4:6]), int(s[6:]))
    if len(s) == 10:
        if s[2] == "." and s[5] == ".":  # "01.03.2026": Turkish/Russian exports, day first
            return date(int(s[6:]), int(s[3:5]), int(s[:2]))
        return date.fromisoformat(s)
    if s[2:3] == "." and s[5:6] == "." and s[10:11] == " ":  # "01.03.2026 9:05:00" (1C text)
        d = date(int(s[6:10]), int(s[3:5]), int(s[:2]))
        parts = s[11:].split(":")
        if not 2 <= len(parts) <= 3:
            raise ValueError("malformed time of day")
        return datetime(d.year, d.month, d.day, *(int(p) for p in parts))
    return datetime.fromisoformat(s)


def business_date(value: object, field: str, null_dates: frozenset[date] = NULL_DATES) -> date | None:
    """A calendar date as written at the source (time dropped, never zone-shifted); sentinels -> None."""
    if isinstance(value, datetime):
        d = value.date()
    elif isinstance(value, date):
        d = value
    elif isinstance(value, str):
        s = value.strip()
        if not s or s in _NULL_TEXTS:
            return None
        try:
            parsed = _parse_text(s)
        except (ValueError, OverflowError):
            # No value in the reason: a date column may be a birth date.
            raise RecordError("unparseable date", field) from None
        d = parsed.date() if isinstance(parsed, datetime) else parsed
    elif value is None:
        return None
    else:
        raise RecordError(f"unsupported date type {type(value).__name__}", field)
    return None if d in null_dates else d


def timestamp(value: object, field: str, tz: ZoneInfo, null_dates: frozenset[date] = NULL_DATES) -> datetime | None:
    """An instant in `tz`: naive values are taken as `tz` wall time, aware ones converted; sentinels -> None."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        s = value.strip()
        if not s or s in _NULL_TEXTS:
            return None
        try:
            parsed = _parse_text(s)
        except (ValueError, OverflowError):
            raise RecordError("unparseable timestamp", field) from None
        dt = parsed if isinstance(parsed, datetime) else datetime(parsed.year, parsed.month, parsed.day)
    elif value is None:
        return None
    else:
        raise RecordError(f"unsupported timestamp type {type(value).__name__}", field)
    # The sentinel test uses the date as written, before any zone conversion moves it.
    if dt.date() in null_dates:
        return None
    if dt.tzinfo is None:
        return _attach(dt, tz)
    try:
        return dt.astimezone(tz)
    except OverflowError:  # only at the edges of year 1 / 9999
        raise RecordError("timestamp out of range", field) from None


def required_date(value: object, field: str, null_dates: frozenset[date] = NULL_DATES) -> date:
    """`business_date` of a date the record cannot do without: None (NULL, blank, a sentinel) is "missing"."""
    d = business_date(value, field, null_dates)
    if d is None:
        raise RecordError("missing", field)
    return d
