"""Streaming, deterministic sales orders (satış siparişi), month by month.

Each month is independent (its own seeded `random.Random`, numbers restarting per month), so
the build can generate just the recent months, where orders are still open.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from mapping.schema import Order
from scenario.calendar import Month
from scenario.documents import EDITED, Context, derive_seed
from scenario.facts import Stamped
from scenario.lines import PriceList, doc_currency, item_specs, make_lines, plan_line_counts
from scenario.money import local_totals, totals


def order_status(rng: random.Random, age_days: int) -> str:
    """Recent orders are still open or being shipped; older ones are closed (or were cancelled)."""
    if age_days <= 14:
        return rng.choices(("open", "shippable", "proposal", "closed", "cancelled"), (40, 25, 15, 15, 5))[0]
    if age_days <= 45:
        return rng.choices(("open", "shippable", "proposal", "closed", "cancelled"), (10, 12, 5, 68, 5))[0]
    return rng.choices(("closed", "cancelled", "proposal"), (88, 8, 4))[0]


OPEN_ORDER_DAYS = 45  # orders older than this are never open or shippable
ORDER_SHARE = 0.4  # order lines per invoice line: many sales are invoiced over the counter


def orders(ctx: Context, since: dt.date | None = None) -> Iterator[Stamped[Order]]:
    """Every order of the history in issue order; or only those of the months overlapping [since, as_of]."""
    for m in ctx.calendar:
        if since is None or m.last >= since:
            yield from _month_orders(ctx, m)


def _month_orders(ctx: Context, m: Month) -> Iterator[Stamped[Order]]:
    rng = random.Random(derive_seed(ctx.seed, 2, m.index))
    counts = plan_line_counts(rng, round(m.lines * ORDER_SHARE))
    if not counts:
        return
    dealers, dealer_cum = ctx.dealer_pool(m)
    products, product_cum = ctx.product_pool(m)
    who = rng.choices(dealers, cum_weights=dealer_cum, k=len(counts))
    picks = rng.choices(products, cum_weights=product_cum, k=sum(counts))
    prices = PriceList(ctx.rates, m.first)
    today = ctx.as_of.date()
    at = 0
    for seq, (issued, dealer, count) in enumerate(zip(m.stamps(rng, len(counts)), who, counts, strict=True), 1):
        day = issued.date()
        status = order_status(rng, (today - day).days)
        currency = doc_currency(rng, dealer)
        specs = item_specs(rng, picks[at : at + count], prices, currency, dealer, ctx.central)
        at += count
        if status == "closed":
            shipped = [s[4] for s in specs]
        elif status == "shippable":  # partly delivered: some lines in full, some in part, some not yet
            shipped = [rng.choice((0, s[4] // 2000 * 1000, s[4])) for s in specs]
        else:
            shipped = [0] * len(specs)
        rate = ctx.rates.micro(currency, day)
        lines, gross, disc, vat = make_lines(specs, rate, dealer.sales_rep, prices, shipped, status == "cancelled")
        order = Order(
            number=f"SS{m.year}{m.month:02d}{seq:04d}",
            account_code=dealer.code,
            date=day,
            issued_at=issued,
            status=status,
            currency=currency,
            rate=ctx.rates.decimal(rate),
            totals=totals(gross, disc, vat),
            totals_local=local_totals(gross, disc, vat, rate),
            warehouse_code=dealer.warehouse,
            sales_rep_code=dealer.sales_rep,
            lines=lines,
        )
        created, modified = ctx.stamp(rng, issued, status == "cancelled" or rng.random() < EDITED)
        yield Stamped(order, created, modified)
