"""Discount rules (iskonto) of the distributor: by dealer group, product group, dealer and product
group, volume tiers per product, fixed prices per dealer and product, and amount discounts; and its
sales price lists."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from mapping.schema import Account, Discount, PriceListEntry, Product
from scenario.facts import Stamped
from scenario.lines import PriceList
from scenario.master import ProductProfile, unit_code
from scenario.money import RATE, Rates, dec2, dec3, dec4, round_div

_DIMENSIONS = ("account", "account_group", "product", "product_group")


def scope(d: Discount) -> str:
    """The '+'-joined restricting dimensions in schema order, or 'all'."""
    present = (d.account_code, d.account_group_code, d.product_code, d.product_group_code)
    return "+".join(name for name, value in zip(_DIMENSIONS, present, strict=True) if value) or "all"


def discounts(
    rng: random.Random,
    dealers: list[Account],
    products: list[Product],
    profiles: list[ProductProfile],
    as_of: dt.datetime,
    start: dt.date,
    usd_try: int,
) -> list[Stamped[Discount]]:
    """`usd_try`: today's USD rate in millionths, for lira fixed prices."""
    today = as_of.date()
    groups = sorted({p.group_code for p in products if p.group_code})
    rules: list[Discount] = []

    def window() -> tuple[dt.date, dt.date | None]:
        """Campaign validity: mostly current, some expired, some starting in the future."""
        r = rng.random()
        if r < 0.2:  # expired
            begin = start + dt.timedelta(days=rng.randint(0, 500))
            return begin, begin + dt.timedelta(days=rng.randint(30, 120))
        if r < 0.3:  # announced, starts later
            begin = today + dt.timedelta(days=rng.randint(5, 40))
            return begin, begin + dt.timedelta(days=rng.randint(30, 90))
        begin = today - dt.timedelta(days=rng.randint(10, 300))
        return begin, (None if rng.random() < 0.5 else today + dt.timedelta(days=rng.randint(10, 200)))

    def add(
        kind: str,
        value: Decimal,
        *,
        account: str | None = None,
        account_group: str | None = None,
        product: str | None = None,
        product_group: str | None = None,
        currency: str | None = None,
        min_quantity: Decimal | None = None,
        priority: int = 0,
        valid: tuple[dt.date, dt.date | None] | None = None,
    ) -> None:
        begin, end = valid or window()
        rule = Discount(
            code=f"IND-{len(rules) + 1:04d}",
            scope="all",
            account_code=account,
            account_group_code=account_group,
            product_code=product,
            product_group_code=product_group,
            kind=kind,  # type: ignore[arg-type]
            value=value,
            currency=currency,
            min_quantity=min_quantity,
            valid_from=begin,
            valid_to=end,
            priority=priority,
            active=rng.random() >= 0.04,
        )
        rule.scope = scope(rule)
        rules.append(rule)

    for group, pct in (("BAYI-A", 1000), ("BAYI-B", 750), ("BAYI-C", 500)):
        add("percent", dec2(pct), account_group=group, priority=10, valid=(start, None))
    for group in rng.sample(groups, max(1, len(groups) // 3)):
        add("percent", dec2(rng.randint(3, 12) * 100), product_group=group, priority=20)
    for dealer in rng.sample(dealers, max(2, len(dealers) // 20)):
        add(
            "percent", dec2(rng.randint(4, 16) * 50), account=dealer.code, product_group=rng.choice(groups), priority=30
        )
    live = [(p, prof) for p, prof in zip(products, profiles, strict=True) if p.active]
    for p, _ in rng.sample(live, max(2, len(live) // 25)):
        begin, end = window()
        for tier, (minimum, pct) in enumerate(((10, 200), (50, 400), (100, 650))):
            add(
                "percent",
                dec2(pct),
                product=p.code,
                min_quantity=dec3(minimum * 1000),
                priority=40 + tier,
                valid=(begin, end),
            )
    for dealer in rng.sample(dealers, max(2, len(dealers) // 30)):
        p, prof = rng.choice(live)
        currency = "USD" if dealer.currency == "USD" or rng.random() < 0.3 else "TRY"
        usd = prof.usd_price * rng.randint(85, 95) // 100
        price = usd if currency == "USD" else round_div(usd * usd_try, RATE * 100) * 100
        add("fixed_price", dec4(price), account=dealer.code, product=p.code, currency=currency, priority=50)
    for dealer in rng.sample(dealers, min(len(dealers), 3)):
        add("amount", dec2(rng.choice((250, 500, 1000)) * 100), account=dealer.code, currency="TRY", priority=5)
    out = []
    for rule in rules:
        assert rule.valid_from is not None
        created = dt.datetime.combine(min(rule.valid_from, today), dt.time(9), as_of.tzinfo) - dt.timedelta(
            days=rng.randint(1, 10), minutes=rng.randint(0, 300)
        )
        later = None
        if rng.random() < 0.2 and created < as_of - dt.timedelta(days=2):  # edited since
            later = created + dt.timedelta(seconds=rng.randint(3600, int((as_of - created).total_seconds())))
        out.append(Stamped(rule, created, later))
    return out


# The distributor's sales price lists (not a dealer's: those are fixed-price discounts): a lira wholesale list
# renewed every quarter as the lira slides, with a per-case price for goods sold by the case this quarter, and
# a dollar export list for every other product, set at the start of the year. VAT excluded in both.
WHOLESALE = ("SATIS", "Toptan satış fiyatları")
EXPORT = ("IHRACAT", "İhracat fiyatları (USD)")
_CASE_DISCOUNT_BP = 300  # a case costs 3 % less than its units bought one by one
_QUARTERS_KEPT = 4


def price_lists(profiles: list[ProductProfile], rates: Rates, today: dt.date) -> list[PriceListEntry]:
    """Every entry of the price lists as of `today`: the last four quarters of the wholesale list (the
    current quarter open-ended) and this year's export list."""
    out: list[PriceListEntry] = []
    starts = _quarter_starts(today, _QUARTERS_KEPT)
    for i, start in enumerate(starts):
        end = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else None
        prices = PriceList(rates, start)
        for p in profiles:
            if p.active_until is not None and p.active_until < start:
                continue  # discontinued before the quarter: no longer listed
            unit_price = prices.price(p, "TRY")
            out.append(_entry(WHOLESALE, p, p.unit, p.unit_code, unit_price, "TRY", start, end))
            if end is None and p.case:
                per_case = round_div(unit_price * p.case * (10_000 - _CASE_DISCOUNT_BP), 10_000 * 100) * 100
                out.append(_entry(WHOLESALE, p, "KOLİ", unit_code("KOLİ"), per_case, "TRY", start, None, dec3(1000)))
    new_year = dt.date(today.year, 1, 1)
    dollars = PriceList(rates, new_year)
    out.extend(
        _entry(EXPORT, p, p.unit, p.unit_code, dollars.price(p, "USD"), "USD", new_year, None)
        for p in profiles
        if p.index % 2 == 0 and (p.active_until is None or p.active_until >= new_year)
    )
    return out


def _entry(
    listed: tuple[str, str],
    p: ProductProfile,
    unit: str,
    code: str | None,
    price: int,
    currency: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
    min_quantity: Decimal | None = None,
) -> PriceListEntry:
    return PriceListEntry(
        list_code=listed[0],
        list_name=listed[1],
        product_code=p.code,
        unit=unit,
        unit_code=code,
        price=dec4(price),
        currency=currency,
        vat_included=False,
        min_quantity=min_quantity,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def _quarter_starts(today: dt.date, count: int) -> list[dt.date]:
    """The first days of the last `count` quarters, oldest first, the current one last."""
    year, quarter = today.year, (today.month - 1) // 3
    starts = []
    for _ in range(count):
        starts.append(dt.date(year, quarter * 3 + 1, 1))
        year, quarter = (year - 1, 3) if quarter == 0 else (year, quarter - 1)
    return starts[::-1]
