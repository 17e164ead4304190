"""Mikro's money convention: amounts are stored in the movement's currency (cha_d_cins / sth_har_doviz_cinsi
/ sip_doviz_cinsi) beside its rate to the main currency; local amounts are amount x rate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.mikro.codes import LOCAL_CURRENCY_CODE
from connectors.mikro.streams import MikroEnv
from mapping.money import fixed, minor_units, rate, to_decimal

ONE = Decimal("1.000000")


class DocMoney:
    """Per-document converter: FLOAT amounts -> Decimal in the document currency, and their local value
    (each amount times the rate, rounded on its own, as Mikro's reports compute it)."""

    __slots__ = ("currency", "local", "local_places", "places", "rate")

    def __init__(self, env: MikroEnv, code: Any, kur: Any) -> None:
        self.currency = env.currency(code, "currency")
        self.local = code in (None, LOCAL_CURRENCY_CODE) or self.currency == env.local_currency
        self.rate: Decimal = ONE if self.local else rate(kur, "rate")  # type: ignore[assignment]
        self.places = minor_units(self.currency)
        self.local_places = minor_units(env.local_currency)

    def doc(self, value: Any, field: str) -> Decimal:
        return fixed(value, self.places, field)

    def to_local(self, value: Decimal, field: str, line_rate: Decimal | None = None) -> Decimal:
        if self.local:
            return value
        return to_decimal(value * (line_rate or self.rate), self.local_places, field)  # type: ignore[return-value]
