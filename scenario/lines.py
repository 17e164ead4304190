"""Document lines: what a line holds (a Spec, drawn at random) and its money (computed exactly).

Hot loops work in integers (see scenario.money) and build Decimals once per stored field.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal

from mapping.money import apportion
from mapping.schema import InvoiceLine, OrderLine
from scenario.master import DealerProfile, ProductProfile, unit_code
from scenario.money import RATE, Rates, dec2, dec3, dec4, round_div, to_local

# Lines per invoice, 1..12, mean ~5.25: drawn by uniform index into this table.
_LINE_COUNTS = tuple(n for n, w in enumerate((10, 12, 13, 12, 11, 10, 8, 7, 5, 4, 4, 4), start=1) for _ in range(w))
_VAT = {v: dec2(v * 100) for v in (0, 1, 10, 20)}
_QTY: dict[int, Decimal] = {}
_ZERO = dec2(0)
_CASE_CODE = unit_code("KOLİ")

# (product code, line kind, unit, unit code, quantity/1000, unit price/10000, discount bp, vat %, warehouse)
Spec = tuple[str, str, str, str | None, int, int, int, int, str]


def plan_line_counts(rng: random.Random, target: int) -> list[int]:
    """Line counts of documents until `target` lines are planned (the last one cut to fit)."""
    counts: list[int] = []
    left = target
    table = _LINE_COUNTS
    while left > 0:
        n = min(table[int(rng.random() * len(table))], left)
        counts.append(n)
        left -= n
    return counts


class PriceList:
    """The month's list prices per currency: USD-based, converted at the month's first rate (TRY
    prices follow the lira's slide month by month), rounded to whole cents as price lists are."""

    def __init__(self, rates: Rates, day: dt.date) -> None:
        self.usd = rates.micro("USD", day)
        self.eur = rates.micro("EUR", day)
        self.tables: dict[str, dict[str, int]] = {"TRY": {}, "USD": {}, "EUR": {}}
        self.decimals: dict[int, Decimal] = {}

    def table(self, currency: str) -> dict[str, int]:
        return self.tables[currency]

    def price(self, p: ProductProfile, currency: str) -> int:
        table = self.tables[currency]
        value = table.get(p.code)
        if value is None:
            usd = p.usd_price
            if currency == "USD":
                value = usd
            elif currency == "TRY":
                value = round_div(usd * self.usd, RATE * 100) * 100
            else:
                value = round_div(usd * self.usd, self.eur * 100) * 100
            table[p.code] = value
        return value


def doc_currency(rng: random.Random, dealer: DealerProfile) -> str:
    """Foreign-currency dealers trade in theirs; lira dealers get ~10 % USD and ~10 % EUR documents
    (imported cable and fittings are priced in hard currency)."""
    if dealer.currency != "TRY":
        return dealer.currency
    r = rng.random()
    return "USD" if r < 0.085 else "EUR" if r < 0.17 else "TRY"


def item_specs(
    rng: random.Random,
    picks: Sequence[ProductProfile],
    prices: PriceList,
    currency: str,
    dealer: DealerProfile,
    central: str,
) -> list[Spec]:
    """Random line contents for item lines of a sale or an order."""
    rand = rng.random
    table = prices.tables[currency]
    base_bp = dealer.discount_bp
    home = dealer.warehouse
    specs: list[Spec] = []
    for p in picks:
        price = table.get(p.code)
        if price is None:
            price = prices.price(p, currency)
        if p.case and rand() < 0.15:  # sold by the case
            unit, code, qty, price = "KOLİ", _CASE_CODE, (1 + int(rand() * 5)) * 1000, price * p.case
        else:
            qs = p.quantities
            unit, code, qty = p.unit, p.unit_code, qs[int(rand() * len(qs))]
        bp = base_bp + 500 if rand() < 0.12 else base_bp  # a 5 % campaign on some lines
        specs.append((p.code, "item", unit, code, qty, price, bp, p.vat, central if rand() < 0.08 else home))
    return specs


def make_lines(
    specs: Sequence[Spec],
    rate: int,
    rep: str,
    prices: PriceList,
    shipped: Sequence[int] | None = None,
    closed: bool = False,
) -> tuple[list, int, int, int]:
    """Lines with money fields from specs, and the document totals (gross, discount, vat) in cents.

    gross = round(quantity x unit price, 2); discount = round(gross x percent, 2); net = gross - discount;
    vat = round(net x vat rate, 2); net_local: the document's local net (round(net x rate, 2)) spread
    over the lines by mapping.money.apportion, so they add up to it. With `shipped` (quantities per
    line) the lines are order lines; `closed` closes every line (a cancelled order).
    """
    decimals = prices.decimals
    qty_dec = _QTY
    vat_dec = _VAT
    zero = _ZERO
    dec = Decimal
    local = rate != RATE
    lines: list = []
    total_g = total_d = total_v = 0
    for no, (code, kind, unit, ucode, qty, price, bp, vat, wh) in enumerate(specs, start=1):
        gross = (qty * price + 50_000) // 100_000
        disc = (gross * bp + 5000) // 10_000
        net = gross - disc
        tax = (net * vat + 50) // 100
        total_g += gross
        total_d += disc
        total_v += tax
        q = qty_dec.get(qty)
        if q is None:
            q = qty_dec[qty] = dec3(qty)
        pd = decimals.get(price)
        if pd is None:
            pd = decimals[price] = dec4(price)
        # Decimal(int).scaleb(-2) inline: the exact 2-place value, built once per stored field
        gross_d = dec(gross).scaleb(-2)
        if disc:
            disc_d, net_d = dec(disc).scaleb(-2), dec(net).scaleb(-2)
        else:
            disc_d, net_d = zero, gross_d
        net_l = net_d  # a foreign document's lines get their share of its local net below
        if shipped is None:
            lines.append(
                InvoiceLine(
                    line_no=no,
                    kind=kind,
                    product_code=code,
                    quantity=q,
                    unit=unit,
                    unit_code=ucode,
                    unit_price=pd,
                    gross=gross_d,
                    discount=disc_d,
                    net=net_d,
                    vat_rate=vat_dec[vat],
                    vat=dec(tax).scaleb(-2),
                    net_local=net_l,
                    warehouse_code=wh,
                    sales_rep_code=rep,
                )
            )
            continue
        done = shipped[no - 1]
        q_done = qty_dec.get(done)
        if q_done is None:
            q_done = qty_dec[done] = dec3(done)
        lines.append(
            OrderLine(
                line_no=no,
                kind=kind,
                product_code=code,
                quantity=q,
                unit=unit,
                unit_code=ucode,
                unit_price=pd,
                gross=gross_d,
                discount=disc_d,
                net=net_d,
                vat_rate=vat_dec[vat],
                vat=dec(tax).scaleb(-2),
                net_local=net_l,
                warehouse_code=wh,
                sales_rep_code=rep,
                shipped_quantity=q_done,
                closed=closed or done >= qty,
            )
        )
    if local:
        shares = apportion(dec2(to_local(total_g - total_d, rate)), [line.net for line in lines])
        for line, share in zip(lines, shares, strict=True):
            line.net_local = share
    return lines, total_g, total_d, total_v


def sum_lines(specs: Sequence[Spec]) -> tuple[int, int, int]:
    """make_lines' totals (gross, discount, vat) in cents without building lines: the same formulas."""
    total_g = total_d = total_v = 0
    for _, _, _, _, qty, price, bp, vat, _ in specs:
        gross = (qty * price + 50_000) // 100_000
        disc = (gross * bp + 5000) // 10_000
        total_g += gross
        total_d += disc
        total_v += ((gross - disc) * vat + 50) // 100
    return total_g, total_d, total_v
