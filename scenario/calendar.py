"""The scenario's business calendar: months of history, trading days and hours, seasonal volume."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

OPEN = 8 * 3600 + 1800  # 08:30
CLOSE = 18 * 3600 + 1800  # 18:30
# Building-materials trade: the January-February slump (winter, no construction), spring and autumn peaks.
SEASON = {1: 0.58, 2: 0.62, 3: 1.0, 4: 1.12, 5: 1.18, 6: 1.08, 7: 1.0, 8: 0.95, 9: 1.15, 10: 1.2, 11: 1.1, 12: 0.92}
GROWTH = 0.12  # volume grows 12 % a year
_DAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.0)  # Monday..Sunday: half-day Saturdays, closed Sundays


@dataclass
class Month:
    index: int
    year: int
    month: int
    days: list[dt.date]
    midnights: list[dt.datetime]  # aware midnight of each day
    hours: list[tuple[int, int]]  # per day: (first, last) second of trading, clipped at as_of
    cum: list[float]  # cumulative day weights, for random.choices
    weight: float
    lines: int = 0  # invoice lines to generate in this month

    @property
    def first(self) -> dt.date:
        return self.days[0]

    @property
    def last(self) -> dt.date:
        return self.days[-1]

    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def stamps(self, rng: random.Random, n: int) -> list[dt.datetime]:
        """n aware trading-time instants in this month, in ascending order."""
        picks = rng.choices(range(len(self.days)), cum_weights=self.cum, k=n)
        hours = self.hours
        rand = rng.random
        keyed = sorted((d, hours[d][0] + int(rand() * (hours[d][1] - hours[d][0]))) for d in picks)
        midnights = self.midnights
        delta = dt.timedelta
        return [midnights[d] + delta(seconds=s) for d, s in keyed]


def months(start: dt.date, as_of: dt.datetime, lines: int) -> list[Month]:
    """The months from `start` to as_of's date, with `lines` invoice lines spread by trading days and season."""
    tz = as_of.tzinfo
    end = as_of.date()
    limit = as_of.hour * 3600 + as_of.minute * 60 + as_of.second
    out: list[Month] = []
    day = start
    while day <= end:
        y, m = day.year, day.month
        days: list[dt.date] = []
        hours: list[tuple[int, int]] = []
        cum: list[float] = []
        total = 0.0
        while day <= end and day.month == m:
            close = min(CLOSE, limit) if day == end else CLOSE
            weight = _DAY_WEIGHT[day.weekday()] * (close - OPEN) / (CLOSE - OPEN) if close > OPEN else 0.0
            if weight > 0:
                days.append(day)
                hours.append((OPEN, close))
                total += weight
                cum.append(total)
            day += dt.timedelta(days=1)
        if not days:
            continue
        years = (days[0] - start).days / 365.25
        midnights = [dt.datetime(d.year, d.month, d.day, tzinfo=tz) for d in days]
        out.append(Month(len(out), y, m, days, midnights, hours, cum, total * SEASON[m] * (1 + GROWTH * years)))
    _allot(out, lines)
    return out


def _allot(calendar: list[Month], lines: int) -> None:
    """Split `lines` over the months in proportion to their weights, exactly (largest remainder)."""
    total = sum(m.weight for m in calendar)
    shares = [lines * m.weight / total for m in calendar]
    for m, share in zip(calendar, shares, strict=True):
        m.lines = int(share)
    rest = lines - sum(m.lines for m in calendar)
    for i in sorted(range(len(calendar)), key=lambda i: int(shares[i]) - shares[i])[:rest]:
        calendar[i].lines += 1
