"""SAP's internal formats as RFC_READ_TABLE writes them into its text rows.

Dates are YYYYMMDD ("00000000" = none), times HHMMSS, packed numbers right-aligned with a
trailing minus ("123.45-") and a leading "*" when the value overflowed the field's output
width, flags "X" or blank, and exchange rates negative for an indirect quotation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from connectors.sap.quotation import per_unit
from mapping.dates import business_date, combine
from mapping.errors import RecordError
from mapping.text import flag as text_flag

__all__ = ["OPEN_END", "date", "flag", "integer", "number", "personnel", "rate", "stamp"]

OPEN_END = dt.date(9999, 12, 31)  # DATBI of a condition valid until further notice


def flag(value: str | None, field: str) -> bool:
    """An ABAP flag: "X" set, blank not set; anything else is an error, never taken for "not set"."""
    return text_flag(value, field, ("X",), ("",))


def number(value: str | None, field: str) -> Decimal:
    """A packed number's value (blank is zero); RecordError for an overflowed or malformed one."""
    s = (value or "").strip()
    if not s:
        return Decimal(0)
    if s.startswith("*"):
        raise RecordError("value too wide for RFC_READ_TABLE's output (starts with '*')", field)
    negative = s.endswith("-")
    try:
        d = Decimal(s[:-1].strip() if negative else s)
    except InvalidOperation:
        raise RecordError(f"not an SAP number: {s[:30]!r}", field) from None
    return -d if negative else d


def personnel(value: str | None) -> str | None:
    """A personnel number (PERNR, NUMC 8) for display; None when blank, which NUMC writes as zeros."""
    s = (value or "").strip().lstrip("0")
    return s or None


def integer(value: str | None, field: str) -> int:
    """A NUMC value (item and line numbers: "000010")."""
    s = (value or "").strip()
    if not (s.isascii() and s.isdigit()):
        raise RecordError(f"not an SAP number text: {s[:20]!r}", field)
    return int(s)


def date(value: str | None, field: str) -> dt.date | None:
    """A DATS value; None for blank or 00000000; the open end 99991231 stays a date."""
    return business_date((value or "").strip() or None, field)


def stamp(day: str | None, time: str | None, tz: ZoneInfo, field: str) -> dt.datetime | None:
    """A date field plus a time field (ERDAT + ERZET) as an instant in the system's zone."""
    d = date(day, field)
    if d is None:
        return None
    t = (time or "").strip() or "000000"
    if len(t) != 6 or not t.isdigit():
        raise RecordError(f"not an SAP time: {t[:10]!r}", field)
    return combine(d, int(t[:2]), int(t[2:4]), int(t[4:]), tz, field)


def rate(value: str | None, field: str) -> Decimal:
    """An exchange rate (KURRF, KURSF) as the exact local units per document unit: a negative value is an indirect
    quotation, 1 / |value|, unrounded (local amounts are converted at it; the feed's rate is mapping.money.rate)."""
    d = number(value, field)
    if d.is_zero():
        raise RecordError("missing exchange rate", field)
    return per_unit(d)
