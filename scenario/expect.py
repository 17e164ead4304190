"""ERP-neutral expectations: what every adapter's round-trip test compares its sync output with.

Each helper takes normalised records (from a sync, or the scenario's facts unwrapped from
Stamped) so the same call computes both sides of a comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec

from mapping.images import image_record
from mapping.schema import (
    Account,
    Collection,
    Invoice,
    LedgerEntry,
    Order,
    ProductImage,
    StockLevel,
    StockMovement,
)
from scenario.facts import Note
from scenario.images import ImageFact
from scenario.stock import StockSlip

_ZERO = Decimal("0.00")


def invoice_totals_by_dealer_month(invoices: Iterable[Invoice]) -> dict[tuple[str, str], Decimal]:
    """(account_code, "YYYY-MM") -> net_local of non-cancelled invoices: sales (and the other debit
    kinds, service and price_difference) minus returns. net_local per invoice is totals_local.net."""
    out: dict[tuple[str, str], Decimal] = {}
    for inv in invoices:
        if inv.cancelled:
            continue
        key = (inv.account_code, f"{inv.date.year:04d}-{inv.date.month:02d}")
        net = inv.totals_local.net
        out[key] = out.get(key, _ZERO) + (-net if inv.kind == "return" else net)
    return out


def collections_by_dealer(collections: Iterable[Collection]) -> dict[str, Decimal]:
    """account_code -> amount_local of its non-cancelled collections."""
    out: dict[str, Decimal] = {}
    for c in collections:
        if not c.cancelled:
            out[c.account_code] = out.get(c.account_code, _ZERO) + c.amount_local
    return out


def open_orders_by_dealer(orders: Iterable[Order]) -> dict[str, Decimal]:
    """account_code -> totals_local.total of its orders still open or shippable (a risk limit's open orders)."""
    out: dict[str, Decimal] = {}
    for order in orders:
        if order.status in ("open", "shippable"):
            out[order.account_code] = out.get(order.account_code, _ZERO) + order.totals_local.total
    return out


def on_hand_by_product(levels: Iterable[StockLevel]) -> dict[str, Decimal]:
    """product_code -> on_hand summed over its warehouses."""
    out: dict[str, Decimal] = {}
    for level in levels:
        out[level.product_code] = out.get(level.product_code, Decimal(0)) + level.on_hand
    return out


def dealer_codes(accounts: Iterable[Account]) -> set[str]:
    """Codes of the accounts that buy (customers and accounts that are both), not pure suppliers."""
    return {a.code for a in accounts if a.kind != "supplier"}


def ledger_entries(
    invoices: Iterable[Invoice], collections: Iterable[Collection], notes: Iterable[Note]
) -> list[LedgerEntry]:
    """The account ledger the documents and notes make, one entry each, cancelled ones included (flagged):
    an invoice debits its total (VAT included), a return credits it, a collection credits its amount
    (a negative one debits it back as a payment), a note debits or credits its amount in local currency.
    `erp_kind` and `sequence` are the ERP's own and left empty here: compare without them."""
    out: list[LedgerEntry] = []
    for inv in invoices:
        total, local = inv.totals.total, inv.totals_local.total if inv.totals_local is not None else None
        credit = inv.kind == "return"
        out.append(
            _entry(
                inv.account_code,
                inv.date,
                "return" if credit else "invoice",
                inv.number,
                inv.currency,
                inv.rate,
                total,
                local,
                credit,
                inv.due_date,
                inv.cancelled,
            )
        )
    for c in collections:
        back = c.amount < 0
        out.append(
            _entry(
                c.account_code,
                c.date,
                "payment" if back else "collection",
                c.number,
                c.currency,
                c.rate,
                abs(c.amount),
                abs(c.amount_local),
                not back,
                c.due_date,
                c.cancelled,
            )
        )
    for n in notes:
        out.append(
            _entry(
                n.account_code,
                n.date,
                n.kind,
                n.number,
                "TRY",
                Decimal("1.000000"),
                n.amount,
                n.amount,
                n.kind == "credit_note",
                None,
                False,
                n.description,
            )
        )
    return out


def _entry(
    account: str,
    date: Any,
    kind: Any,
    number: str,
    currency: str,
    rate: Decimal | None,
    amount: Decimal,
    local: Decimal | None,
    credit: bool,
    due: Any,
    cancelled: bool,
    description: str | None = None,
) -> LedgerEntry:
    zero, zero_local = amount * 0, (amount if local is None else local) * 0
    return LedgerEntry(
        account_code=account,
        date=date,
        kind=kind,
        erp_kind="",
        document_no=number,
        description=description,
        currency=currency,
        rate=rate,
        debit=zero if credit else amount,
        credit=amount if credit else zero,
        debit_local=zero_local if credit or local is None else local,
        credit_local=local if credit and local is not None else zero_local,
        due_date=due,
        cancelled=cancelled,
    )


_MOVING_LINES = frozenset({"item", "promotion"})  # goods that leave or enter a warehouse; a service does not


def stock_movements(invoices: Iterable[Invoice], slips: Iterable[StockSlip]) -> list[StockMovement]:
    """The stock movements the documents make, cancelled ones included (flagged): a sale's or return's item
    lines out of or into the line's warehouse (a price-difference invoice moves nothing), a purchase's lines into
    its warehouse, a transfer's lines out of one warehouse and into the other. `erp_kind` is the ERP's own and
    left empty here; `document_no` is the invoice's number for its lines: compare without the fields an ERP
    does not keep."""
    out: list[StockMovement] = []
    for inv in invoices:
        if inv.kind not in ("sale", "return"):
            continue
        back = inv.kind == "return"
        for line in inv.lines:
            if line.kind not in _MOVING_LINES or line.product_code is None or line.warehouse_code is None:
                continue
            out.append(
                StockMovement(
                    date=inv.date,
                    kind="sale_return" if back else "sale",
                    direction="in" if back else "out",
                    erp_kind="",
                    document_no=inv.number,
                    line_no=line.line_no,
                    invoice_number=inv.number,
                    account_code=inv.account_code,
                    product_code=line.product_code,
                    warehouse_code=line.warehouse_code,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_code=line.unit_code,
                    cancelled=inv.cancelled,
                )
            )
    for slip in slips:
        source, target = slip.warehouse_code, slip.to_warehouse_code
        sides = [("in", source, None)] if slip.kind == "purchase" else [("out", source, target), ("in", target, source)]
        for line in slip.lines:
            for direction, warehouse, other in sides:
                out.append(
                    StockMovement(
                        date=slip.date,
                        kind=slip.kind,
                        direction=direction,  # type: ignore[arg-type]
                        erp_kind="",
                        document_no=slip.number,
                        line_no=line.line_no,
                        account_code=slip.account_code,
                        product_code=line.product_code,
                        warehouse_code=str(warehouse),
                        other_warehouse_code=other,
                        quantity=line.quantity,
                        unit=line.unit,
                        unit_code=line.unit_code,
                    )
                )
    return out


def product_images(images: Iterable[ImageFact]) -> list[ProductImage]:
    """The image records the scenario's images make. `image_id` and `modified_at` are the ERP's own and left
    empty here: compare without them."""
    return [
        image_record(i.product_code, "-", i.data, position=i.position, file_name=i.file_name) for i in images
    ]


def comparable(record: Any, ignore: set[str] | frozenset[str] = frozenset()) -> Any:
    """The record as builtins (Decimals as strings, dates ISO), without the fields named in `ignore`
    at any depth: for field-by-field comparison leaving out what an ERP does not store."""
    return _drop(msgspec.to_builtins(record), ignore)


def _drop(value: Any, ignore: set[str] | frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop(v, ignore) for k, v in value.items() if k not in ignore}
    if isinstance(value, list):
        return [_drop(v, ignore) for v in value]
    return value
