"""Exact money arithmetic for the scenario, in integers, and the exchange-rate curve.

Amounts are computed as integers in their smallest stored unit (cents: 2 places, quantity:
3, unit price: 4, rate: 6) because integer arithmetic is exact and several times faster than
Decimal; they become Decimal only when a record is built, already at the precision the
normalisers quantize to, so a round trip through an ERP compares equal (value and exponent).
Rounding is half-up, as Turkish ERPs round; every amount here is non-negative.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import ClassVar

from mapping.schema import Totals

CENTS = 100
QTY = 1000  # quantity units per 1
PRICE = 10_000  # unit-price units per 1
RATE = 1_000_000  # rate units per 1

_D = Decimal


def dec2(cents: int) -> Decimal:
    return _D(cents).scaleb(-2)


def dec3(milli: int) -> Decimal:
    return _D(milli).scaleb(-3)


def dec4(units: int) -> Decimal:
    return _D(units).scaleb(-4)


def dec6(micro: int) -> Decimal:
    return _D(micro).scaleb(-6)


def round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def to_local(amount: int, rate_micro: int) -> int:
    """A document-currency amount (any unit) in local currency at a rate, same unit, rounded."""
    return amount if rate_micro == RATE else (2 * amount * rate_micro + RATE) // (2 * RATE)


def totals(gross: int, discount: int, vat: int) -> Totals:
    net = gross - discount
    return Totals(gross=dec2(gross), discount=dec2(discount), net=dec2(net), vat=dec2(vat), total=dec2(net + vat))


def local_totals(gross: int, discount: int, vat: int, rate_micro: int) -> Totals:
    """Header totals in local currency, converted at document level as mapping.money.to_local_totals
    does: net, discount and vat each converted and rounded once, gross and total derived, so the
    local figures add up to the cent (the lines' local nets are spread from the net: make_lines)."""
    net = to_local(gross - discount, rate_micro)
    disc = to_local(discount, rate_micro)
    tax = to_local(vat, rate_micro)
    return Totals(gross=dec2(net + disc), discount=dec2(disc), net=dec2(net), vat=dec2(tax), total=dec2(net + tax))


def local_total(gross: int, discount: int, vat: int, rate_micro: int) -> int:
    """local_totals(...).total in cents: what the dealer owes in local currency."""
    return to_local(gross - discount, rate_micro) + to_local(vat, rate_micro)


class Rates:
    """Daily selling rates against TRY over the scenario's window, in millionths.

    The lira depreciates steadily (USD ~27 -> ~42, EUR ~29 -> ~49 over the window) with a small
    wobble so consecutive days differ. Every foreign rate is > 1, so local / rate rounded to
    2 places recovers the document amount exactly (the rounding error of the local amount,
    at most half a cent, shrinks when divided by the rate).
    """

    # currency: (rate at the start, rate at the end, phase of the wobble)
    CURVES: ClassVar[dict[str, tuple[float, float, float]]] = {"USD": (27.0, 42.0, 0.0), "EUR": (29.0, 49.0, 1.3)}

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.start = start.toordinal()
        span = max(end.toordinal() - self.start, 1)
        self.table: dict[str, list[int]] = {}
        for currency, (first, last, phase) in self.CURVES.items():
            days = []
            for day in range(span + 1):
                t = day / span
                wobble = 1 + 0.006 * math.sin(2 * math.pi * 9 * t + phase) + 0.002 * math.sin(2 * math.pi * 47 * t)
                days.append(round(first * (last / first) ** t * wobble * RATE))
            self.table[currency] = days
        self._decimals: dict[int, Decimal] = {RATE: dec6(RATE)}

    def micro(self, currency: str, day: dt.date) -> int:
        if currency == "TRY":
            return RATE
        days = self.table[currency]
        return days[min(max(day.toordinal() - self.start, 0), len(days) - 1)]

    def decimal(self, micro: int) -> Decimal:
        value = self._decimals.get(micro)
        if value is None:
            value = self._decimals[micro] = dec6(micro)
        return value
