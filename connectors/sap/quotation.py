"""Exchange rates as SAP quotes them, as the exact number of local currency units per document currency unit.

A direct quotation states local units per document unit; an indirect one states document units per local unit, so
its rate is the inverse. TCURR-UKURS, VBRK-KURRF, VBKD-KURRF and BKPF-KURSF keep an indirect quotation negative; an
S/4 billing document keeps it positive beside AcctgExchangeRateIsIndrctQtan. A rate table row is also stated for a
number of units of each currency (TCURF's ratios, I_ExchangeRateRawData's NumberOfSourceCurrencyUnits and
NumberOfTargetCurrencyUnits: 100 JPY = 22.87183 TRY), so the rate per unit is quote x to units / from units, or
to units / (|quote| x from units) when quoted indirectly.

The result is not rounded: local amounts are computed with it, and only the feed's `rate` is rounded to six places
(mapping.money.rate). Rounding an inverse first moved a 10,000,000 JPY invoice quoted at 160.12345 from 62,451.81
to 62,450.00.
"""

from __future__ import annotations

from decimal import Context, Decimal

__all__ = ["per_unit"]

_ONE = Decimal(1)
# 34 significant digits (IEEE decimal128): an inverse's error stays far below a cent on any amount an ERP holds.
_CTX = Context(prec=34)


def per_unit(quote: Decimal, indirect: bool = False, from_units: Decimal = _ONE, to_units: Decimal = _ONE) -> Decimal:
    """Local units per document unit from a non-zero quote; a negative quote is an indirect quotation too."""
    if quote.is_zero():
        raise ValueError("a zero exchange rate states no rate")
    if indirect or quote < 0:
        return _CTX.divide(to_units, _CTX.multiply(abs(quote), from_units))
    return _CTX.divide(_CTX.multiply(quote, to_units), from_units)
