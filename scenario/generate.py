"""build(): a deterministic Turkish building-materials and electrical-supplies distributor.

The same (invoice_lines, seed, timezone, as_of) always gives the same facts. Master data is
built eagerly; documents are generators (scenario.documents, scenario.payments) that the
Scenario calls afresh for each iteration. Risk balances need the documents' sums, so the
build walks the documents once, streaming, without keeping them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from mapping.schema import RiskLimit
from scenario import master, names
from scenario.calendar import months
from scenario.documents import Context, Numbers, derive_seed, invoice_briefs, invoices, new_sale
from scenario.facts import Change, Scenario, Service
from scenario.images import product_images
from scenario.lines import PriceList, item_specs
from scenario.master import DealerProfile, ProductProfile, clamp
from scenario.money import Rates, dec2
from scenario.notes import notes
from scenario.orders import OPEN_ORDER_DAYS, orders
from scenario.payments import DEFERRED, Ledger, collections, new_collection
from scenario.pricing import discounts, price_lists
from scenario.stock import stock_slips

DEFAULT_AS_OF = dt.datetime(2026, 11, 20, 17, 0)  # wall time in the scenario's zone: tests need a fixed "now"
HISTORY_DAYS = 730
_ZERO = dec2(0)


def build(
    invoice_lines: int = 20_000,
    seed: int = 7,
    timezone: str = "Europe/Istanbul",
    as_of: dt.datetime | None = None,
) -> Scenario:
    tz = ZoneInfo(timezone)
    now = (as_of or DEFAULT_AS_OF).replace(microsecond=0)
    now = now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)
    start = now.date() - dt.timedelta(days=HISTORY_DAYS)
    rng = random.Random(derive_seed(seed, 0, 0))

    depots = master.warehouses(3 if invoice_lines < 10_000 else 4 if invoice_lines < 100_000 else 5)
    reps = master.sales_reps(rng, clamp(5 + invoice_lines / 20_000, 5, 15))
    dealer_count = clamp(invoice_lines / 60, 40, 3000)
    accounts, dealers = master.accounts(rng, dealer_count, clamp(dealer_count / 200, 2, 5), reps, depots, now, start)
    products, catalogue = master.products(rng, clamp(invoice_lines / 100, 30, 5000), now)
    services = [
        ProductProfile(
            index=-1 - i,
            code=code,
            usd_price=round(rng.uniform(low, high) * 100) * 100,
            vat=vat,
            unit="ADET",
            unit_code=master.unit_code("ADET"),
            case=0,
            quantities=(1000, 1000, 2000),
            weight=1.0,
            active_until=None,
        )
        for i, (code, _, vat, (low, high)) in enumerate(names.SERVICES)
    ]
    rates = Rates(start, now.date())
    ctx = Context(seed, now, months(start, now, invoice_lines), dealers, catalogue, services, rates, depots[0].code)
    books = _Books.keep(ctx)

    dealer_accounts = [s.record for s in accounts if s.record.kind != "supplier"]
    suppliers = [s.record.code for s in accounts if s.record.kind == "supplier"]
    rules = discounts(
        rng, dealer_accounts, [s.record for s in products], catalogue, now, start, rates.micro("USD", now.date())
    )
    return Scenario(
        seed=seed,
        timezone=timezone,
        local_currency="TRY",
        as_of=now,
        accounts=accounts,
        products=products,
        warehouses=depots,
        sales_reps=reps,
        stock_levels=master.stock_levels(rng, catalogue, depots, now),
        discounts=rules,
        risk_limits=books.risk_limits(rng, dealer_accounts, now),
        order_facts=lambda: orders(ctx),
        invoice_facts=lambda: invoices(ctx),
        collection_facts=lambda: collections(ctx, books.ledger),
        note_facts=lambda: notes(ctx),
        slip_facts=lambda: stock_slips(ctx, suppliers, depots),
        price_lists=price_lists(catalogue, rates, now.date()),
        images=product_images(seed, catalogue),
        changes=books.changes(random.Random(derive_seed(seed, 9, 0)), rules),
        services=[
            Service(code=s.code, name=name, unit=s.unit, unit_code=s.unit_code, vat_rate=dec2(s.vat * 100))
            for s, (_, name, _, _) in zip(services, names.SERVICES, strict=True)
        ],
    )


@dataclass
class _Books:
    """What one streaming pass over the documents leaves behind: balances, the collections' ledger,
    and the last document numbers (so the changes continue the sequences)."""

    ctx: Context
    ledger: Ledger = field(default_factory=Ledger)
    balance: dict[str, Decimal] = field(default_factory=dict)  # local: debits (invoices, notes) - credits
    invoiced: dict[str, int] = field(default_factory=dict)  # local cents, debit invoices only: sizes the limits
    open_orders: dict[str, Decimal] = field(default_factory=dict)
    uncashed: dict[str, Decimal] = field(default_factory=dict)
    invoice_numbers: Numbers = field(default_factory=Numbers)
    collection_numbers: Numbers = field(default_factory=Numbers)
    recent_sales: deque[str] = field(default_factory=lambda: deque(maxlen=50))

    @classmethod
    def keep(cls, ctx: Context) -> _Books:
        books = cls(ctx)
        month_of = {(m.year, m.month): m.index for m in ctx.calendar}
        index_of = {d.code: d.index for d in ctx.dealers}
        balance, invoiced = books.balance, books.invoiced
        cents: dict[str, int] = {}
        for inv in invoice_briefs(ctx, books.invoice_numbers):
            if inv.cancelled:
                continue
            code = inv.account_code
            # sale, service and price_difference invoices all debit the dealer; returns credit
            signed = -inv.total_local if inv.kind == "return" else inv.total_local
            cents[code] = cents.get(code, 0) + signed
            if signed > 0:
                invoiced[code] = invoiced.get(code, 0) + signed
            sale = inv.number if inv.kind == "sale" else None
            books.ledger.add(index_of[code], month_of[inv.date.year, inv.date.month], signed, sale)
            if sale:
                books.recent_sales.append(sale)
        balance.update((code, dec2(value)) for code, value in cents.items())
        today = ctx.as_of.date()
        for fact in collections(ctx, books.ledger, books.collection_numbers):
            c = fact.record
            if c.cancelled:
                continue
            balance[c.account_code] = balance.get(c.account_code, _ZERO) - c.amount_local
            if c.method in DEFERRED and c.due_date is not None and c.due_date > today:
                books.uncashed[c.account_code] = books.uncashed.get(c.account_code, _ZERO) + c.amount_local
        for fact in notes(ctx):
            n = fact.record
            signed = -n.amount if n.kind == "credit_note" else n.amount
            balance[n.account_code] = balance.get(n.account_code, _ZERO) + signed
        for fact in orders(ctx, since=today - dt.timedelta(days=OPEN_ORDER_DAYS)):
            o = fact.record
            if o.status in ("open", "shippable"):
                books.open_orders[o.account_code] = books.open_orders.get(o.account_code, _ZERO) + o.totals_local.total
        return books

    def risk_limits(self, rng: random.Random, dealers: list, as_of: dt.datetime) -> list[RiskLimit]:
        """Credit limits for most dealers, sized to 2-4 months of purchases; exposure from the books."""
        out = []
        months_covered = max(len(self.ctx.calendar), 1)
        for account in dealers:
            if not account.blocked and rng.random() < 0.1:  # no limit defined
                continue
            code = account.code
            open_balance = self.balance.get(code, _ZERO)
            open_orders = self.open_orders.get(code, _ZERO)
            uncashed = self.uncashed.get(code, _ZERO)
            exposure = open_balance + open_orders + uncashed
            # a few dealers are over their limit; the rest have headroom
            need = float(exposure) * (rng.uniform(0.7, 0.95) if rng.random() < 0.08 else rng.uniform(1.1, 1.8))
            monthly = self.invoiced.get(code, 0) / 100 / months_covered
            limit = max(25_000, int(max(need, monthly * rng.uniform(2.0, 4.0))) // 5_000 * 5_000 + 5_000)
            collateral = dec2(limit // 2 // 1000 * 1000 * 100) if rng.random() < 0.3 else None
            out.append(
                RiskLimit(
                    account_code=code,
                    limit=dec2(limit * 100),
                    currency="TRY",
                    open_balance=open_balance,
                    open_orders=open_orders,
                    uncashed_cheques=uncashed,
                    exposure=exposure,
                    collateral=collateral,
                    blocked=account.blocked,
                    as_of=as_of,
                )
            )
        return out

    def changes(self, rng: random.Random, rules: list) -> list[Change]:
        """Edits made just after as_of: a new sale, a cancellation, a collection, a discount's new value."""
        ctx = self.ctx
        at = [ctx.as_of + dt.timedelta(minutes=minutes) for minutes in (5, 8, 11, 14)]
        live = [d for d in ctx.dealers if d.active_until is None]
        dealer: DealerProfile = rng.choice(live)
        last = ctx.calendar[-1]
        products, cum = ctx.product_pool(last)
        prices = PriceList(ctx.rates, last.first)
        specs = item_specs(
            rng, rng.choices(products, cum_weights=cum, k=rng.randint(2, 6)), prices, "TRY", dealer, ctx.central
        )
        invoice = new_sale(ctx, rng, self.invoice_numbers, dealer, at[0], specs, prices)
        payer = max(live, key=lambda d: self.balance.get(d.code, _ZERO))  # the dealer owing most pays a part
        owed = int(self.balance.get(payer.code, _ZERO).scaleb(2))
        collection = new_collection(ctx, rng, self.collection_numbers, at[2], payer, max(owed // 3, 10_000), [])
        percent = [s.record for s in rules if s.record.kind == "percent" and s.record.active]
        rule = rng.choice(percent)
        return [
            Change("new_invoice", at[0], invoice=invoice),
            Change("cancel_invoice", at[1], number=rng.choice(list(self.recent_sales))),
            Change("new_collection", at[2], collection=collection),
            Change("discount_value", at[3], number=rule.code, value=rule.value + dec2(250)),
        ]
