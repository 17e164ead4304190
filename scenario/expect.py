"""ERP-neutral expectations: what every adapter's round-trip test compares its sync output with.

Each helper takes normalised records (from a sync, or the scenario's facts unwrapped from
Stamped) so the same call computes both sides of a comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec

from mapping.schema import Account, Collection, Invoice, Order, StockLevel

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
