"""Logo's money convention: amounts are stored in local currency (FLOAT), the document currency
only as TRCURR/TRRATE and the document total TRNET. This recovers document-currency amounts."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.logo.codes import LOCAL_CURRENCY_CODE
from connectors.logo.streams import currency_of
from mapping.money import FIXED, divided, fixed, minor_units, rate

ONE = Decimal("1.000000")


class DocMoney:
    """Per-document converter: local FLOAT -> document-currency Decimal at the document's rate.

    round(local / rate, places) is exact when rate > 1 (every foreign currency against the lira):
    the local amount was rounded once (at most half a minor unit off), and dividing by the rate
    shrinks that error below half a unit, so rounding lands on the original document amount.
    """

    __slots__ = ("amount", "currency", "local", "local_amount", "local_places", "places", "rate", "trcurr")

    def __init__(self, currencies: Mapping[int, str], local_currency: str, trcurr: Any, trrate: Any) -> None:
        self.trcurr = trcurr
        self.currency = currency_of(currencies, trcurr, "currency")
        self.local = trcurr == LOCAL_CURRENCY_CODE or self.currency == local_currency
        self.rate = ONE if self.local else rate(trrate, "rate")
        self.places = minor_units(self.currency)
        self.local_places = minor_units(local_currency)
        # (value, field) -> Decimal, chosen once per document: these run for every amount of every line.
        self.local_amount = FIXED[self.local_places]
        self.amount = FIXED[self.places] if self.local else self._in_document_currency

    def doc_amount(self, value: Any, field: str) -> Decimal:
        """A local amount in document currency (the same value for a local-currency document)."""
        return self.amount(value, field)

    def _in_document_currency(self, value: Any, field: str) -> Decimal:
        return divided(value, self.rate, self.places, field)

    def unit_price(self, price: Any, prprice: Any, prcurr: Any) -> Decimal:
        """A unit price (4 places): PRICE is local; PRPRICE is in the price currency PRCURR."""
        if self.local:
            return fixed(price, 4, "unit_price")
        if prcurr == self.trcurr and prprice is not None:
            return fixed(prprice, 4, "unit_price")
        return divided(price, self.rate, 4, "unit_price")


class Converters:
    """The DocMoney of each (TRCURR, TRRATE), shared by every row with that currency and rate (a DocMoney holds
    no state); bounded, since rates vary by the day."""

    __slots__ = ("currencies", "found", "local_currency")

    def __init__(self, currencies: Mapping[int, str], local_currency: str) -> None:
        self.currencies = currencies
        self.local_currency = local_currency
        self.found: dict[tuple[Any, Any], DocMoney] = {}

    def get(self, trcurr: Any, trrate: Any) -> DocMoney:
        found = self.found.get((trcurr, trrate))
        if found is None:
            if len(self.found) >= 10_000:
                self.found.clear()
            found = self.found[trcurr, trrate] = DocMoney(self.currencies, self.local_currency, trcurr, trrate)
        return found
