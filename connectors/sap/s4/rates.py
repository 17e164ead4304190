"""Exchange rates of S/4 documents: the document's own rate, else the system's rate table for its date.

Sales orders often carry no rate (`AccountingExchangeRate` "0.00000": none fixed on the order; billing fixes it
later). SAP publishes no OData V2 API for its rate table (TCURR), so where a customer exposes one (a custom CDS
view over I_ExchangeRateRawData, served as OData), `s4.exchange_rates` names its entity set and the rate of the
document's date is taken from it (UNCONFIRMED: a customer's own service). Without one, a foreign-currency document
without its own rate is sent with rate, totals_local and the lines' net_local null: local amounts unknown.
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal
from typing import Any

from connectors.sap.quotation import per_unit
from connectors.sap.s4.odata import ODataReader
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.values import all_of, day_of, string_literal
from mapping.money import to_decimal

__all__ = ["RATE_KEY", "RATE_TABLE", "RateBook", "quoted"]

_ONE = Decimal(1)
# The rate table's properties: those of SAP's CDS view I_ExchangeRateRawData (TCURR's KURST, FCURR, TCURR, GDATU,
# UKURS, FFACT, TFACT).
RATE_TABLE = Shape(
    (
        f("ExchangeRateType"),
        f("SourceCurrency"),
        f("TargetCurrency"),
        f("ValidityStartDate", "datetime"),
        f("ExchangeRate", "number"),
        f("NumberOfSourceCurrencyUnits", "number"),
        f("NumberOfTargetCurrencyUnits", "number"),
    )
)
RATE_KEY = ("ExchangeRateType", "SourceCurrency", "TargetCurrency", "ValidityStartDate")


def quoted(value: Any, indirect: bool, field: str) -> Decimal | None:
    """The exact local currency units per document currency unit of a quoted rate; None for an empty (zero) rate.

    An indirect quotation (SAP's flag, or a negative rate as TCURR and FI keep it) states the other way round:
    document currency per local unit, so the rate is its inverse, unrounded (connectors.sap.quotation)."""
    d = to_decimal(value, 5, field)
    if d is None or d.is_zero():
        return None
    return per_unit(d, indirect)


class RateBook:
    """The rate table's rates into the local currency, read once per currency for one read of a stream: each row's
    quote per unit of the document currency, its units and quotation applied and nothing rounded."""

    def __init__(self, reader: ODataReader, read: Read | None, rate_type: str, local: str) -> None:
        self.reader = reader
        self.table = read
        self.rate_type = rate_type
        self.local = local
        self._days: dict[str, tuple[list[dt.date], list[Decimal]]] = {}

    def rate(self, currency: str, day: dt.date) -> Decimal | None:
        """The rate valid on `day` (the newest valid-from on or before it); None without a table or a rate."""
        if self.table is None:
            return None
        found = self._days.get(currency)
        if found is None:
            found = self._days[currency] = self._load(currency)
        days, rates = found
        at = bisect.bisect_right(days, day) - 1
        return rates[at] if at >= 0 else None

    def _load(self, currency: str) -> tuple[list[dt.date], list[Decimal]]:
        assert self.table is not None
        pairs: list[tuple[dt.date, Decimal]] = []
        condition = all_of(
            f"ExchangeRateType eq {string_literal(self.rate_type)}",
            f"SourceCurrency eq {string_literal(currency)}",
            f"TargetCurrency eq {string_literal(self.local)}",
        )
        for rows in self.reader.pages(self.table, condition):
            for row in rows:
                valid = day_of(row.get("ValidityStartDate"), "ValidityStartDate")
                quote = to_decimal(row.get("ExchangeRate"), 5, "ExchangeRate")
                if valid is None or quote is None or quote.is_zero():
                    continue
                source = to_decimal(row.get("NumberOfSourceCurrencyUnits"), 0, "rate") or _ONE
                target = to_decimal(row.get("NumberOfTargetCurrencyUnits"), 0, "rate") or _ONE
                pairs.append((valid, per_unit(quote, False, source, target)))
        pairs.sort()
        return [d for d, _ in pairs], [r for _, r in pairs]
