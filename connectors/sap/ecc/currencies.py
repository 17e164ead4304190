"""Amounts as SAP stores them: every CURR field holds two decimals, whatever its currency.

An amount of a currency whose decimals are not two (TCURX-CURRDEC; a currency TCURX does not list has
two) is stored shifted to two decimals: 10,000 JPY as 100.00, 1.234 KWD as 12.34 (ABAP Keyword
Documentation, "Currency Fields"). RFC_READ_TABLE returns the stored value, so every CURR amount read is
scaled by 10^(2 - CURRDEC) of the currency its DDIC reference field names before it is mapped: the
document currency for SD amounts, the company code's for local amounts (DMBTR). Condition rates in
percent are no currency amounts and are not scaled.

TCURX is small: it is read once per adapter, by the first stream that reads amounts, in its reading
thread (mapping never calls SAP). A CURRDEC that is not a number spoils the records in that currency
(dead letters naming it), not the read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal

from connectors.sap.ecc import values as v
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import TableReader
from mapping.errors import RecordError

__all__ = ["DECIMALS", "Currencies"]

DECIMALS = Read("TCURX", ("CURRKEY",), ("CURRDEC",))
_DEFAULT = 2


class Currencies:
    """The decimals of the currencies that do not have two, read from TCURX once."""

    def __init__(self) -> None:
        self._decimals: Mapping[str, str] | None = None
        self._lock = threading.Lock()

    def load(self, reader: TableReader) -> None:
        with self._lock:
            if self._decimals is None:
                self._decimals = {r["CURRKEY"]: r["CURRDEC"] for r in reader.rows(DECIMALS)}

    def external(self, value: str | None, currency: str | None, field: str) -> Decimal:
        """A CURR field's output text as the amount in `currency` (an SAP currency key, as TCURX holds it)."""
        if self._decimals is None:
            raise RuntimeError("an amount was mapped before TCURX was read (Currencies.load)")
        stored = v.number(value, field)
        text = self._decimals.get((currency or "").strip())
        if text is None:
            return stored
        try:
            decimals = v.integer(text, field)
        except RecordError:
            raise RecordError(f"TCURX gives currency {currency} no readable decimals ({text[:10]!r})", field) from None
        return stored.scaleb(_DEFAULT - decimals)
