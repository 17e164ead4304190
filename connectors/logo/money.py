"""Logo's money convention: amounts are stored in local currency (FLOAT), the document currency
only as TRCURR/TRRATE and the document total TRNET. This recovers document-currency amounts."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.logo.codes import LOCAL_CURRENCY_CODE
from connectors.logo.streams import currency_of
from mapping.money import minor_units, rate, to_decimal

ONE = Decimal("1.000000")
_SCALE = tuple(10**p for p in range(7))
_QUANT = tuple(Decimal(1).scaleb(-p) for p in range(7))
# float -> Decimal per number of places. Quantities, prices, rates and many amounts repeat across
# lines, and a dict hit costs a tenth of a conversion. Decimals are immutable, so sharing is safe.
_MEMO: tuple[dict[float, Decimal], ...] = tuple({} for _ in range(7))
_MEMO_MAX = 200_000


def fixed(value: Any, places: int, field: str) -> Decimal:
    """`value` (Logo FLOAT) at `places` decimals; None -> 0. Same result as mapping.money.to_decimal.

    Fast path: a float that holds a value with at most `places` decimals (every amount Logo stores
    rounded) becomes a Decimal from its integer count of units, which is exact and ~5x cheaper than
    parsing repr(). Anything else (more decimals: half-up rounding matters) takes to_decimal.
    """
    if type(value) is float:
        memo = _MEMO[places]
        hit = memo.get(value)
        if hit is not None:
            return hit
        scaled = value * _SCALE[places]
        units = round(scaled)
        if -1e-7 < scaled - units < 1e-7 and -(2**52) < units < 2**52:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            hit = memo[value] = Decimal(units) * _QUANT[places]  # int * 10**-places: exact, exponent -places
            return hit
    elif value is None:
        value = 0
    return to_decimal(value, places, field)  # type: ignore[return-value]


class DocMoney:
    """Per-document converter: local FLOAT -> document-currency Decimal at the document's rate.

    round(local / rate, places) is exact when rate > 1 (every foreign currency against the lira):
    the local amount was rounded once (at most half a minor unit off), and dividing by the rate
    shrinks that error below half a unit, so rounding lands on the original document amount.
    """

    __slots__ = ("currency", "local", "local_places", "places", "rate", "trcurr")

    def __init__(self, currencies: Mapping[int, str], local_currency: str, trcurr: Any, trrate: Any) -> None:
        self.trcurr = trcurr
        self.currency = currency_of(currencies, trcurr, "currency")
        self.local = trcurr == LOCAL_CURRENCY_CODE or trcurr is None or self.currency == local_currency
        self.rate = ONE if self.local else rate(trrate, "rate")
        self.places = minor_units(self.currency)
        self.local_places = minor_units(local_currency)

    def local_amount(self, value: Any, field: str) -> Decimal:
        return fixed(value, self.local_places, field)

    def doc_amount(self, value: Any, field: str) -> Decimal:
        """A local amount in document currency (the same value for a local-currency document)."""
        if self.local:
            return fixed(value, self.places, field)
        return to_decimal(Decimal(repr(float(value or 0))) / self.rate, self.places, field)  # type: ignore[return-value]

    def unit_price(self, price: Any, prprice: Any, prcurr: Any) -> Decimal:
        """A unit price (4 places): PRICE is local; PRPRICE is in the price currency PRCURR."""
        if self.local:
            return fixed(price, 4, "unit_price")
        if prcurr == self.trcurr and prprice is not None:
            return fixed(prprice, 4, "unit_price")
        return to_decimal(Decimal(repr(float(price or 0))) / self.rate, 4, "unit_price")  # type: ignore[return-value]
