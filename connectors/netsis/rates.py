"""Exchange rates: Netsis keeps a document's foreign amounts (DOVIZTUT, STHAR_DOVFIAT, DOVIZ_TUTAR) but
not its rate; the rate is the day's row in the system database's DOVIZ table (by default [NETSIS].dbo.DOVIZ).

The rate of a day is the latest DOVIZ row on or before it: the central bank publishes no rates
at weekends and on holidays, and Netsis then applies the last published one. A DOVIZ row whose rate is
impossible (negative, out of range) is kept as that day's error: the documents that would use it become dead
letters saying so, never converted at another day's rate, and the rest of the read goes on.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mapping.errors import RecordError
from mapping.money import rate

__all__ = ["ONE", "RateBook"]

ONE = Decimal("1.000000")


class RateBook:
    """Rates by (currency number, day), loaded a currency-year at a time and kept for the book's life.

    A book lives for one read: rates entered later (today's, once published) are seen by the next read.
    """

    def __init__(self, engine: Engine, table: sa.Table, column: str, database: str, currencies: Mapping[int, str]):
        self.engine = engine
        self.table = table
        self.column = table.c[column]
        self.database = database
        self.currencies = currencies
        self.years: dict[tuple[int, int], tuple[list[dt.date], list[Decimal | RecordError]]] = {}

    def currency(self, code: int | None, field: str) -> str:
        """ISO code of a Netsis currency number; unknown numbers are an error, never guessed. 0 is the local
        currency (production queries); NULL no source explains, so it is an error too, never the local one."""
        if code is None:
            raise RecordError("missing (NULL; 0 is the local currency)", field)
        iso = self.currencies.get(code)
        if iso is None:
            raise RecordError(f"unknown Netsis currency number {code!r} (add it to the currency_codes setting)", field)
        return iso

    def prepare(self, wanted: Iterable[tuple[int | None, dt.date | None]]) -> None:
        """Load the currency-years a page of documents needs, in the reader (not the mapping) thread."""
        for code, day in wanted:
            if code and day is not None and (code, day.year) not in self.years:
                self._load(code, day.year)

    def rate(self, code: int | None, day: dt.date, field: str = "rate") -> Decimal:
        if not code:
            return ONE
        for year in (day.year, day.year - 1):
            days, values = self.years.get((code, year)) or self._load(code, year)
            at = bisect.bisect_right(days, day) if year == day.year else len(days)
            if at:
                found = values[at - 1]
                if isinstance(found, RecordError):
                    raise RecordError(
                        f"{self.database}.DOVIZ's rate of currency number {code} on {days[at - 1]} is {found.reason}",
                        field,
                    )
                return found
        raise RecordError(
            f"no exchange rate for currency number {code} on or before {day} in {self.database}.DOVIZ", field
        )

    def select(self, code: int, year: int) -> sa.Select[Any]:
        """The rates of one currency and year, by day."""
        t = self.table.c
        return (
            sa.select(t.TARIH, self.column)
            .where(code == t.SIRA, dt.datetime(year, 1, 1) <= t.TARIH, dt.datetime(year + 1, 1, 1) > t.TARIH)
            .order_by(t.TARIH)
        )

    def _load(self, code: int, year: int) -> tuple[list[dt.date], list[Decimal | RecordError]]:
        stmt = self.select(code, year)
        days: list[dt.date] = []
        values: list[Decimal | RecordError] = []
        with self.engine.connect() as conn:
            for day, value in conn.execute(stmt):
                if value:  # an empty rate cell is no rate
                    days.append(day.date())
                    try:
                        values.append(rate(value, "rate"))  # type: ignore[arg-type]
                    except RecordError as exc:
                        values.append(exc)
        self.years[(code, year)] = (days, values)
        return days, values
