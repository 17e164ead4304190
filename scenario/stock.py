"""Stock slips: the goods movements no sales document makes. Purchases come from the suppliers into the central
warehouse; transfers carry goods from there to the regional warehouses that serve the dealers.

A dealer's sales and returns move stock too: those movements are the item lines of its invoices (see
`expect.stock_movements`). Each month draws with its own seeded `random.Random`, so the slips are the same on
every call and do not move when other streams change.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Literal

import msgspec

from mapping.schema import Record
from scenario.documents import Context, Numbers, derive_seed
from scenario.facts import Stamped, Warehouse
from scenario.money import dec3

SlipKind = Literal["purchase", "transfer"]
_PREFIX: dict[SlipKind, str] = {"purchase": "AI", "transfer": "DT"}  # alış irsaliyesi, depo transferi
_PURCHASES = (2, 5)  # per month, into the central warehouse
_TRANSFERS = (1, 2)  # per month and regional warehouse
_LINES = (3, 9)


class SlipLine(msgspec.Struct, kw_only=True):
    line_no: int
    product_code: str
    quantity: Decimal  # 3 places, positive, in `unit`
    unit: str
    unit_code: str | None


class StockSlip(Record, kw_only=True):
    """A receipt from a supplier, or a transfer between two warehouses (out of `warehouse_code`, into `to`)."""

    number: str
    kind: SlipKind
    date: dt.date
    account_code: str | None  # the supplier of a purchase
    warehouse_code: str  # where a purchase comes in; where a transfer leaves
    to_warehouse_code: str | None  # where a transfer comes in
    lines: list[SlipLine]


def stock_slips(
    ctx: Context, suppliers: Sequence[str], warehouses: Sequence[Warehouse]
) -> Iterator[Stamped[StockSlip]]:
    """Every slip of the history, month by month, in time order."""
    numbers = Numbers()
    regional = [w.code for w in warehouses if w.code != ctx.central]
    for m in ctx.calendar:
        rng = random.Random(derive_seed(ctx.seed, 6, m.index))
        products, cum = ctx.product_pool(m)
        planned: list[tuple[SlipKind, str | None, str, str | None]] = []
        if suppliers:
            planned += [("purchase", rng.choice(suppliers), ctx.central, None) for _ in range(rng.randint(*_PURCHASES))]
        for code in regional:
            planned += [("transfer", None, ctx.central, code) for _ in range(rng.randint(*_TRANSFERS))]
        rng.shuffle(planned)
        for stamp, (kind, supplier, source, target) in zip(m.stamps(rng, len(planned)), planned, strict=True):
            picks = {p.code: p for p in rng.choices(products, cum_weights=cum, k=rng.randint(*_LINES))}
            scale = 40 if kind == "purchase" else 10
            lines = [
                SlipLine(
                    line_no=no,
                    product_code=p.code,
                    quantity=dec3(p.quantities[rng.randrange(len(p.quantities))] * scale),
                    unit=p.unit,
                    unit_code=p.unit_code,
                )
                for no, p in enumerate(picks.values(), start=1)
            ]
            day = stamp.date()
            slip = StockSlip(
                number=numbers.next(_PREFIX[kind], day.year),
                kind=kind,
                date=day,
                account_code=supplier,
                warehouse_code=source,
                to_warehouse_code=target,
                lines=lines,
            )
            created, modified = ctx.stamp(rng, stamp, False)
            yield Stamped(slip, created, modified)
