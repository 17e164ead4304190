"""Values a record can carry exactly but that are implausible: found here, then flagged, dead-lettered or
accepted by the engine per `engine.implausible`. Nothing is ever mended.

The rules follow the feed's conventions: documents (returns included) carry positive amounts and
quantities, collections may be negative by design (money given back), rates are percentages, and business
dates and instants fall in the years 1900-2100 (ERP sentinels such as 1899-12-30 are already None).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any, Literal

import msgspec

from mapping.errors import RecordError
from mapping.schema import Account, Discount, Document, Flag, FlagRule, Order, Record, RiskLimit, Totals

__all__ = ["ImplausiblePolicy", "apply_policy", "implausible"]

# What the engine does with a record that has implausible values (engine.implausible).
ImplausiblePolicy = Literal["flag", "dead_letter", "accept"]

FIRST_YEAR = 1900
LAST_YEAR = 2100
_HUNDRED = Decimal(100)
_TOTALS = ("gross", "discount", "net", "vat", "total")
_LINE_AMOUNTS = ("unit_price", "gross", "discount", "net", "vat", "net_local")
_LIMITS = ("limit", "collateral", "order_limit", "dispatch_limit", "cheque_note_limit")


def implausible(record: Record) -> list[Flag]:
    """Every implausible value of `record`, in field order; [] for a plausible one."""
    found: list[Flag] = []
    _dates(record, found)
    if isinstance(record, Document):
        _document(record, found)
    elif isinstance(record, Account):
        _rate(record.discount_rate, "discount_rate", found)
    elif isinstance(record, Discount):
        if record.kind == "percent":
            _rate(record.value, "value", found)
        else:
            _negative(record.value, "value", "negative_amount", found)
        _negative(record.min_quantity, "min_quantity", "negative_quantity", found)
    elif isinstance(record, RiskLimit):
        for name in _LIMITS:
            _negative(getattr(record, name), name, "negative_amount", found)
    return found


def apply_policy(record: Record, policy: ImplausiblePolicy) -> bool:
    """Whether `record` went out flagged: its implausible values listed in `record.flags` ("flag"), a
    RecordError naming the first one ("dead_letter": the record becomes a dead letter), or nothing ("accept")."""
    if policy == "accept":
        return False
    found = implausible(record)
    if not found:
        return False
    if policy == "dead_letter":
        first, more = found[0], f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise RecordError(f"implausible value {first.value} ({first.rule}{more}; engine.implausible)", first.field)
    record.flags = found
    return True


def _flag(rule: FlagRule, field: str, value: object, found: list[Flag]) -> None:
    found.append(Flag(rule=rule, field=field, value=value.isoformat() if isinstance(value, dt.date) else str(value)))


def _negative(value: Decimal | None, field: str, rule: FlagRule, found: list[Flag]) -> None:
    # is_signed: the amounts are normalised, so a zero is never signed.
    if value is not None and value.is_signed():
        _flag(rule, field, value, found)


def _rate(value: Decimal | None, field: str, found: list[Flag]) -> None:
    if value is None:
        return
    if value > _HUNDRED:
        _flag("discount_over_100", field, value, found)
    else:
        _negative(value, field, "negative_amount", found)


def _dates(record: Record, found: list[Flag]) -> None:
    for name in _date_fields(type(record)):
        value = getattr(record, name)
        if isinstance(value, dt.date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
            _flag("date_out_of_range", name, value, found)


@cache
def _date_fields(cls: type[Record]) -> tuple[str, ...]:
    """The fields of `cls` whose type admits a date or an instant (a record has few: looking at every field of
    every record was a fifth of this module's cost)."""
    return tuple(f.name for f in msgspec.inspect.type_info(cls).fields if _holds_date(f.type))


def _holds_date(t: Any) -> bool:
    if isinstance(t, msgspec.inspect.Metadata):
        return _holds_date(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_holds_date(u) for u in t.types)
    return isinstance(t, msgspec.inspect.DateType | msgspec.inspect.DateTimeType | msgspec.inspect.AnyType)


def _totals(totals: Totals | None, prefix: str, found: list[Flag]) -> None:
    if totals is not None:
        for name in _TOTALS:
            _negative(getattr(totals, name), f"{prefix}.{name}", "negative_amount", found)


def _document(record: Document, found: list[Flag]) -> None:
    _totals(record.totals, "totals", found)
    _totals(record.totals_local, "totals_local", found)
    is_order = isinstance(record, Order)
    for i, line in enumerate(record.lines):  # type: ignore[attr-defined]
        # The common case, a line with nothing negative, in one expression; a field name is only built for a flag.
        try:
            suspect = (
                line.quantity.is_signed()
                or line.unit_price.is_signed()
                or line.gross.is_signed()
                or line.discount.is_signed()
                or line.net.is_signed()
                or line.vat.is_signed()
                or (line.net_local is not None and line.net_local.is_signed())
                or (is_order and line.shipped_quantity is not None and line.shipped_quantity.is_signed())
            )
        except AttributeError:  # an amount left None: the careful path below skips it
            suspect = True
        if suspect:
            _line(line, i, is_order, found)


def _line(line: Any, i: int, is_order: bool, found: list[Flag]) -> None:
    _negative(line.quantity, f"lines[{i}].quantity", "negative_quantity", found)
    for name in _LINE_AMOUNTS:
        _negative(getattr(line, name), f"lines[{i}].{name}", "negative_amount", found)
    if is_order:
        _negative(line.shipped_quantity, f"lines[{i}].shipped_quantity", "negative_quantity", found)
