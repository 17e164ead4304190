"""Collections (tahsilat): dealers pay what they were invoiced, after their payment terms.

Collections follow the invoices, so they are generated from a small ledger the build takes
from one pass over the invoices (local amount owed per dealer and month, and a few sale
numbers to settle), month by month with their own seeded `random.Random`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from mapping.schema import Collection
from scenario.documents import EDITED, Context, Numbers, derive_seed
from scenario.facts import Stamped
from scenario.master import DealerProfile
from scenario.money import RATE, dec2, round_div, to_local

METHODS = ("bank_transfer", "cash", "card", "cheque", "promissory_note")
METHOD_CUM = (45, 59, 75, 92, 100)  # cumulative shares: transfer 45 %, cash 14, card 16, cheque 17, note 8
DEFERRED = ("cheque", "promissory_note")  # paid with a due date 30-120 days ahead


@dataclass
class Ledger:
    """Per (dealer index, month index): local cents invoiced net of returns, and some sale invoice numbers."""

    owed: dict[tuple[int, int], int] = field(default_factory=dict)
    sales: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    def add(self, dealer: int, month: int, local_cents: int, sale_number: str | None) -> None:
        key = (dealer, month)
        self.owed[key] = self.owed.get(key, 0) + local_cents
        if sale_number is not None:
            numbers = self.sales.setdefault(key, [])
            if len(numbers) < 6:
                numbers.append(sale_number)


def collections(ctx: Context, ledger: Ledger, numbers: Numbers | None = None) -> Iterator[Stamped[Collection]]:
    """Every collection of the history, in date order. `numbers` (fresh by default) ends holding the last numbers."""
    numbers = Numbers() if numbers is None else numbers
    for m in ctx.calendar:
        rng = random.Random(derive_seed(ctx.seed, 3, m.index))
        planned: list[tuple[DealerProfile, int, list[str]]] = []
        for d in ctx.dealers:
            source = m.index - round(d.payment_days / 30)  # the month whose invoices fall due now
            owed = ledger.owed.get((d.index, source), 0)
            if owed <= 0:
                continue
            pay = owed * (86 + int(rng.random() * 15)) // 100  # 86-100 %: most pay in full, some leave arrears
            parts = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
            settles = ledger.sales.get((d.index, source), [])
            for k in range(parts):
                share = pay // parts + (pay % parts if k == 0 else 0)
                planned.append((d, share, settles))
        rng.shuffle(planned)  # stamps come sorted; shuffle so dealers are not ordered in time
        for stamp, (dealer, local, settles) in zip(m.stamps(rng, len(planned)), planned, strict=True):
            yield _collection(ctx, rng, numbers, stamp, dealer, local, settles)


def _collection(
    ctx: Context,
    rng: random.Random,
    numbers: Numbers,
    stamp: dt.datetime,
    dealer: DealerProfile,
    local: int,
    settles: list[str],
) -> Stamped[Collection]:
    day = stamp.date()
    method = rng.choices(METHODS, cum_weights=METHOD_CUM)[0]
    currency = dealer.currency
    if currency == "TRY":
        r = rng.random()
        currency = "USD" if r < 0.05 else "EUR" if r < 0.08 else "TRY"
    rate = ctx.rates.micro(currency, day)
    amount = round_div(local * RATE, rate)
    due = None
    if method in DEFERRED:  # cheques and notes are written for round sums
        amount = max(10_000, round_div(amount, 10_000) * 10_000)
        due = day + dt.timedelta(days=30 + int(rng.random() * 91))
    cancelled = rng.random() < 0.01
    chosen = sorted(rng.sample(settles, min(len(settles), rng.randint(1, 3)))) if settles and rng.random() < 0.4 else []
    collection = Collection(
        number=numbers.next("TH", day.year),
        account_code=dealer.code,
        date=day,
        amount=dec2(amount),
        currency=currency,
        rate=ctx.rates.decimal(rate),
        amount_local=dec2(to_local(amount, rate)),
        method=method,
        due_date=due,
        cancelled=cancelled,
        settles=chosen,
    )
    created, modified = ctx.stamp(rng, stamp, cancelled or rng.random() < EDITED)
    return Stamped(collection, created, modified)


def new_collection(
    ctx: Context,
    rng: random.Random,
    numbers: Numbers,
    stamp: dt.datetime,
    dealer: DealerProfile,
    local: int,
    settles: list[str],
) -> Collection:
    """A collection outside the history (the incremental-sync change)."""
    return _collection(ctx, rng, numbers, stamp, dealer, local, settles).record
