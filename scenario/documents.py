"""Streaming, deterministic invoice generation, month by month.

Nothing is kept beyond a month (plus each dealer's last few sales, which returns refer to):
a month draws from its own `random.Random`, seeded from (scenario seed, stream, month), so
every iteration yields the same facts in the same order.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mapping.schema import Invoice
from scenario.calendar import Month
from scenario.facts import Stamped
from scenario.lines import PriceList, Spec, doc_currency, item_specs, make_lines, plan_line_counts, sum_lines
from scenario.master import DealerProfile, ProductProfile
from scenario.money import RATE, Rates, local_total, local_totals, totals

PREFIX = {"sale": "SF", "return": "SIF", "price_difference": "FF", "service": "HF"}
EDITED = 0.15  # share of documents edited after creation


def derive_seed(seed: int, stream: int, index: int) -> int:
    """A per-(stream, month) seed: plain integers, so no PYTHONHASHSEED dependence."""
    return (seed * 1_000_003 + stream) * 100_003 + index


@dataclass
class Context:
    """Everything the document generators draw from."""

    seed: int
    as_of: dt.datetime
    calendar: list[Month]
    dealers: list[DealerProfile]
    catalogue: list[ProductProfile]
    services: list[ProductProfile]
    rates: Rates
    central: str  # the central warehouse's code: some lines ship from there
    _pools: dict[tuple[str, int], tuple[list, list[float]]] = field(default_factory=dict, repr=False)

    def dealer_pool(self, m: Month) -> tuple[list[DealerProfile], list[float]]:
        """Dealers trading during the whole month, with cumulative purchase weights."""
        pool = self._pools.get(("d", m.index))
        if pool is None:
            live = [
                d
                for d in self.dealers
                if d.active_from <= m.first and (d.active_until is None or d.active_until > m.last)
            ]
            pool = self._pools[("d", m.index)] = (live, _cumulative(d.weight for d in live))
        return pool

    def product_pool(self, m: Month) -> tuple[list[ProductProfile], list[float]]:
        pool = self._pools.get(("p", m.index))
        if pool is None:
            live = [p for p in self.catalogue if p.active_until is None or p.active_until > m.last]
            pool = self._pools[("p", m.index)] = (live, _cumulative(p.weight for p in live))
        return pool

    def stamp(self, rng: random.Random, issued: dt.datetime, edit: bool) -> tuple[dt.datetime, dt.datetime | None]:
        """(created_at, modified_at): saved a few minutes after issue; edits days later, never after as_of."""
        created = min(issued + dt.timedelta(seconds=int(rng.random() * 600)), self.as_of)
        if not edit:
            return created, None
        return created, min(created + dt.timedelta(seconds=3600 + int(rng.random() * 19 * 86400)), self.as_of)


def _cumulative(weights: Iterator[float] | Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


@dataclass(slots=True)
class _Sale:
    """What a later return needs of a sale invoice."""

    number: str
    date: dt.date
    currency: str
    specs: list[Spec]


class Numbers:
    """Yearly document number sequences, as ERPs keep them: SF2025000123."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}

    def next(self, prefix: str, year: int, width: int = 6) -> str:
        n = self.last[prefix, year] = self.last.get((prefix, year), 0) + 1
        return f"{prefix}{year}{n:0{width}d}"


class Brief(NamedTuple):
    """An invoice as the build's balance pass needs it: the same draws as the full invoice, no Decimals."""

    number: str
    kind: str
    account_code: str
    date: dt.date
    cancelled: bool
    total_local: int  # cents


def invoices(ctx: Context, numbers: Numbers | None = None) -> Iterator[Stamped[Invoice]]:
    """Every invoice of the history, in issue order. `numbers` (fresh by default) ends holding the last numbers."""
    return _invoices(ctx, Numbers() if numbers is None else numbers, lean=False)


def invoice_briefs(ctx: Context, numbers: Numbers) -> Iterator[Brief]:
    """The invoices() sequence as Briefs, about three times faster: for sums over the whole history."""
    return _invoices(ctx, numbers, lean=True)


def _invoices(ctx: Context, numbers: Numbers, lean: bool) -> Iterator[Any]:
    recent: dict[int, deque[_Sale]] = {}
    carry = 0  # lines owed to the target when a return or service invoice came out shorter than planned
    for m in ctx.calendar:
        produced = yield from _month_invoices(ctx, m, numbers, recent, m.lines + carry, lean)
        carry += m.lines - produced


def _month_invoices(
    ctx: Context,
    m: Month,
    numbers: Numbers,
    recent: dict[int, deque[_Sale]],
    target: int,
    lean: bool,
) -> Generator[Any, None, int]:
    """The month's invoices (or Briefs); returns the number of lines made."""
    rng = random.Random(derive_seed(ctx.seed, 1, m.index))
    counts = plan_line_counts(rng, target)
    if not counts:
        return 0
    dealers, dealer_cum = ctx.dealer_pool(m)
    products, product_cum = ctx.product_pool(m)
    who = rng.choices(dealers, cum_weights=dealer_cum, k=len(counts))
    picks = rng.choices(products, cum_weights=product_cum, k=sum(counts))
    prices = PriceList(ctx.rates, m.first)
    rand = rng.random
    at = produced = 0
    for issued, dealer, count in zip(m.stamps(rng, len(counts)), who, counts, strict=True):
        day = issued.date()
        roll = rand()
        # ~5 % returns, ~1 % price differences, ~3 % service invoices, the rest sales
        kind = "return" if roll < 0.055 else "price_difference" if roll < 0.066 else "sale"
        kind = "service" if 0.066 <= roll < 0.096 else kind
        original = None
        if kind == "return":
            original = _returnable(rng, recent.get(dealer.index), day)
            kind = "sale" if original is None else kind
        if original is not None:
            currency = original.currency
            chosen = sorted(rng.sample(range(len(original.specs)), rng.randint(1, min(count, len(original.specs)))))
            specs = [_returned(rng, original.specs[i]) for i in chosen]
        else:
            currency = doc_currency(rng, dealer)
            if kind == "service":
                size = min(count, 1 + int(rand() * 3))
                specs = [
                    (s, "service", *rest)
                    for s, _, *rest in item_specs(
                        rng, rng.sample(ctx.services, size), prices, currency, dealer, dealer.warehouse
                    )
                ]
            else:
                specs = item_specs(rng, picks[at : at + count], prices, currency, dealer, ctx.central)
                if kind == "price_difference":  # the agreed price was raised after delivery: invoice the gap
                    specs = [
                        (c, k, u, uc, q, max(100, p * int(200 + rand() * 600) // 10_000 // 100 * 100), 0, v, w)
                        for c, k, u, uc, q, p, _, v, w in specs[:2]
                    ]
        at += count
        produced += len(specs)
        cancelled = rand() < 0.02
        created, modified = ctx.stamp(rng, issued, cancelled or rand() < EDITED)
        number = numbers.next(PREFIX[kind], day.year)
        document_no = numbers.next("EFA" if dealer.e_invoice else "EAR", day.year, 9)  # GİB e-document number
        uid = uuid4(rng) if dealer.e_invoice else None
        if kind == "sale" and not cancelled:
            recent.setdefault(dealer.index, deque(maxlen=4)).append(_Sale(number, day, currency, specs))
        rate = ctx.rates.micro(currency, day)
        if lean:
            gross, disc, vat = sum_lines(specs)
            yield Brief(number, kind, dealer.code, day, cancelled, local_total(gross, disc, vat, rate))
            continue
        invoice = make_invoice(
            ctx,
            kind,
            dealer,
            issued,
            currency,
            rate,
            specs,
            prices,
            number=number,
            document_no=document_no,
            uuid=uid,
            cancelled=cancelled,
            original=original,
        )
        yield Stamped(invoice, created, modified)
    return produced


def make_invoice(
    ctx: Context,
    kind: str,
    dealer: DealerProfile,
    issued: dt.datetime,
    currency: str,
    rate: int,
    specs: Sequence[Spec],
    prices: PriceList,
    *,
    number: str,
    document_no: str,
    uuid: str | None,
    cancelled: bool = False,
    original: _Sale | None = None,
) -> Invoice:
    day = issued.date()
    lines, gross, disc, vat = make_lines(specs, rate, dealer.sales_rep, prices)
    doc_totals = totals(gross, disc, vat)
    return Invoice(
        number=number,
        document_no=document_no,
        kind=kind,  # type: ignore[arg-type]
        account_code=dealer.code,
        date=day,
        issued_at=issued,
        due_date=day + dt.timedelta(days=dealer.payment_days if kind != "return" else 0),
        currency=currency,
        rate=ctx.rates.decimal(rate),
        totals=doc_totals,
        # a lira document's local totals are its totals: one struct serves both (never mutated)
        totals_local=doc_totals if rate == RATE else local_totals(gross, disc, vat, rate),
        cancelled=cancelled,
        original_invoice=original.number if original else None,
        e_invoice_uuid=uuid,
        sales_rep_code=dealer.sales_rep,
        warehouse_code=dealer.warehouse,
        lines=lines,
    )


def new_sale(
    ctx: Context,
    rng: random.Random,
    numbers: Numbers,
    dealer: DealerProfile,
    issued: dt.datetime,
    specs: Sequence[Spec],
    prices: PriceList,
) -> Invoice:
    """A lira sale invoice outside the history (the incremental-sync change), continuing `numbers`."""
    day = issued.date()
    return make_invoice(
        ctx,
        "sale",
        dealer,
        issued,
        "TRY",
        RATE,
        specs,
        prices,
        number=numbers.next(PREFIX["sale"], day.year),
        document_no=numbers.next("EFA" if dealer.e_invoice else "EAR", day.year, 9),
        uuid=uuid4(rng) if dealer.e_invoice else None,
    )


_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def uuid4(rng: random.Random) -> str:
    """str(uuid.UUID(int=rng.getrandbits(128), version=4)), five times faster: the same bits, formatted directly."""
    h = f"{(rng.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _returnable(rng: random.Random, sales: deque[_Sale] | None, day: dt.date) -> _Sale | None:
    """One of the dealer's recent sales (up to 90 days old) not returned yet; removed so it is returned once."""
    if not sales:
        return None
    candidates = [s for s in sales if s.date < day and (day - s.date).days <= 90]
    if not candidates:
        return None
    sale = rng.choice(candidates)
    sales.remove(sale)
    return sale


def _returned(rng: random.Random, spec: Spec) -> Spec:
    """A returned line: all of the sold quantity, or part of it (whole units)."""
    code, _, unit, ucode, qty, price, bp, vat, wh = spec
    if qty >= 2000 and rng.random() < 0.4:
        qty = max(1000, qty * rng.randint(1, 9) // 10 // 1000 * 1000)
    return (code, "item", unit, ucode, qty, price, bp, vat, wh)
