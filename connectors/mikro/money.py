"""Mikro's money convention: amounts are stored in the movement's currency (cha_d_cins / sth_har_doviz_cinsi
/ sip_doviz_cinsi) beside its rate to the main currency, and Mikro keeps no local amounts of its own.

Local amounts are converted at document level (mapping.money.to_local_totals: net, discount and VAT once
each) and the local net is spread over the lines (apportion), so a document's local figures add up to the
cent whatever its number of lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.mikro.codes import LOCAL_CURRENCY_CODE
from connectors.mikro.streams import MikroEnv
from mapping.errors import RecordError
from mapping.money import apportion, fixed, minor_units, rate, to_decimal, to_local_totals
from mapping.schema import DocumentLine, Totals

ONE = Decimal("1.000000")


def exact(value: Any, field: str) -> Decimal:
    """A FLOAT column as the Decimal of its shortest repr, for arithmetic before rounding; NULL is missing (NaN
    and infinity pass here and are refused when the result is rounded)."""
    if value is None:
        raise RecordError("missing (NULL where an amount is required)", field)
    return Decimal(repr(float(value)))


class DocMoney:
    """Per-document converter: FLOAT amounts -> Decimal in the document currency, and local figures at the
    document's rate (None: a foreign-currency document without a rate, whose local amounts are unknown)."""

    __slots__ = ("currency", "local", "local_currency", "local_places", "places", "rate")

    def __init__(self, env: MikroEnv, code: Any, kur: Any) -> None:
        self.currency = env.currency(code, "currency")
        self.local_currency = env.local_currency
        self.local = code == LOCAL_CURRENCY_CODE or self.currency == env.local_currency
        # Mikro writes 0 for "nothing": a foreign document with rate 0 has no rate.
        self.rate: Decimal | None = ONE if self.local else rate(kur, "rate") if kur and kur > 0 else None
        self.places = minor_units(self.currency)
        self.local_places = minor_units(env.local_currency)

    def doc(self, value: Any, field: str) -> Decimal:
        return fixed(value, self.places, field)

    def totals_local(self, totals: Totals) -> Totals | None:
        if self.local:
            return totals
        return None if self.rate is None else to_local_totals(totals, self.rate, self.local_currency)

    def amount_local(self, value: Decimal, field: str) -> Decimal:
        """One amount in local currency (a collection, a balance item): it needs the rate."""
        if self.local:
            return value
        if self.rate is None:
            raise RecordError(f"{self.currency} amount without an exchange rate (the rate column holds 0)", field)
        return to_decimal(value * self.rate, self.local_places, field)  # type: ignore[return-value]

    def spread(self, lines: Sequence[DocumentLine], totals_local: Totals | None) -> None:
        """Give each line its net_local: its own net in a local document, else its share of the document's
        local net (None when the rate is unknown)."""
        if self.local:
            for line in lines:
                line.net_local = line.net
            return
        shares: list[Decimal | None] = [None] * len(lines)
        if totals_local is not None:
            shares = list(apportion(totals_local.net, [ln.net for ln in lines], self.local_places))
        for line, share in zip(lines, shares, strict=True):
            line.net_local = share
