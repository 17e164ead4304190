"""A sales document's money: its items' pricing elements, its exchange rate and its local amounts.

A pricing element's role comes from `s4.condition_types` (by condition type), else `s4.condition_classes` (by
condition class: B prices, A discounts and surcharges, D taxes by default); statistical and inactive elements never
count, and elements of other roles are left out of the line's money (the census lists them, and a document whose
money they would have changed is flagged by the engine's invariants). S/4 sales documents carry no local amounts:
they are converted at document level (mapping.money.to_local_totals) and the local net is spread over the lines'
nets (mapping.money.apportion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from connectors.sap.s4.options import ConditionRole
from connectors.sap.s4.shape import Shape, f
from connectors.sap.s4.streams import money, number
from mapping.money import apportion, minor_units, to_local_totals, unit_price
from mapping.money import rate as to_rate
from mapping.schema import DocumentLine, Totals

__all__ = ["PRICING_ELEMENT", "DocMoney", "LinePrice", "price_line"]

_ZERO = Decimal("0.00")
PRICING_ELEMENT = Shape(
    (
        f("ConditionType"),
        f("ConditionClass"),
        f("ConditionRateValue", "number"),
        f("ConditionQuantity", "number"),
        f("ConditionAmount", "number"),
        f("ConditionIsForStatistics", "boolean"),
        f("ConditionInactiveReason"),
    )
)
LinePrice = tuple[Decimal, Decimal, Decimal, Decimal | None]  # unit price, gross, discount, VAT rate


def role(element: Mapping[str, Any], by_type: Mapping[str, ConditionRole], by_class: Mapping[str, ConditionRole]) -> (
    ConditionRole | None
):  # fmt: skip
    found = by_type.get(str(element.get("ConditionType") or ""))
    return found if found is not None else by_class.get(str(element.get("ConditionClass") or ""))


class DocMoney:
    """A document's currency and rate (None: unknown) and the conversions to local currency.

    `exact` is the rate the local amounts are converted at (an indirect quotation's inverse unrounded), `rate` the
    feed's: the same to six places. For an indirect quotation the local totals can therefore differ from the totals
    times `rate` by rounding."""

    def __init__(self, currency: str, exact: Decimal | None, local: str) -> None:
        self.currency = currency
        self.exact = exact
        self.rate = None if exact is None else to_rate(exact, "rate")
        self.local = local

    def doc(self, value: Any, field: str) -> Decimal:
        return money(value, self.currency, field)  # type: ignore[no-any-return]

    def local_totals(self, totals: Totals) -> Totals | None:
        return None if self.exact is None else to_local_totals(totals, self.exact, self.local)

    def spread(self, lines: Sequence[DocumentLine], local: Totals | None) -> None:
        """Set the lines' net_local: the document's local net spread over their nets, to the cent."""
        if local is None:
            return
        shares = apportion(local.net, [ln.net for ln in lines], minor_units(self.local))
        for line, share in zip(lines, shares, strict=True):
            line.net_local = share


def price_line(
    elements: list[dict[str, Any]],
    m: DocMoney,
    net: Decimal,
    qty: Decimal,
    by_type: Mapping[str, ConditionRole],
    by_class: Mapping[str, ConditionRole],
) -> LinePrice:
    """(unit price, gross, discount, VAT rate) of an item from its pricing elements."""
    active = [e for e in elements if not e.get("ConditionIsForStatistics") and not e.get("ConditionInactiveReason")]
    roles = [(role(e, by_type, by_class), e) for e in active]
    prices = [e for r, e in roles if r == "price"]
    if not prices:  # no pricing detail published: the net is all SAP tells
        per_unit = unit_price(net / qty if qty else net, "lines.unit_price")
        return per_unit, net, _ZERO, None  # type: ignore[return-value]
    first = prices[0]
    per = number(first.get("ConditionQuantity") or 1, 3, "lines.unit_price") or Decimal(1)
    price = unit_price(number(first.get("ConditionRateValue"), 6, "lines.unit_price") / per, "lines.unit_price")
    gross = m.doc(sum(number(e.get("ConditionAmount"), 6, "lines.gross") for e in prices), "lines.gross")
    reductions = [number(e.get("ConditionAmount"), 6, "lines.discount") for r, e in roles if r == "discount"]
    discount = m.doc(-sum(reductions, Decimal(0)), "lines.discount")
    taxes = [e for r, e in roles if r == "tax"]
    vat_rate = number(taxes[0].get("ConditionRateValue"), 2, "lines.vat_rate") if taxes else None
    return price, gross, discount, vat_rate  # type: ignore[return-value]
