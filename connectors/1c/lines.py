"""The money of one document line, read the way the configuration keeps it, and the document's local amounts.

1C keeps a line's amount (Сумма) after its discounts; in a document whose prices include VAT (БП
СуммаВключаетНДС, УТ ЦенаВключаетНДС) Сумма and the discounts include the VAT too, so the line's net is
Сумма - СуммаНДС, and its discount is brought to the same VAT-exclusive footing. A section without a
discount field (БП sales and returns, УТ returns and correction differences) has no discount: its gross
is its net. A БП correction line holds the values after the change beside those before it
(…ДоИзменения): the line is their difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mapping.money import Q_AMOUNT, QUANTS, apportion, fixed, minor_units, to_local_totals
from mapping.schema import Totals

from .flavours import Section
from .odata import Row, is_ref

__all__ = ["Money", "line_money", "to_local", "totals"]

_ZERO = Decimal("0.00")
_Q_PRICE = QUANTS[4]


@dataclass(frozen=True)
class Money:
    quantity: Decimal
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    net: Decimal
    vat: Decimal


def line_money(row: Row, section: Section, places: int, vat_included: bool) -> Money:
    quantity_field = "КоличествоУпаковок" if section.packaging and is_ref(row.get("Упаковка_Key")) else "Количество"
    quantity = fixed(row.get(quantity_field), 3, "lines.quantity")
    amount = fixed(row.get("Сумма"), places, "lines.net")
    vat = fixed(row.get("СуммаНДС"), places, "lines.vat")
    price = fixed(row.get("Цена"), 4, "lines.unit_price") if section.price else None
    if section.difference:
        quantity -= fixed(row.get("КоличествоДоИзменения"), 3, "lines.quantity")
        amount -= fixed(row.get("СуммаДоИзменения"), places, "lines.net")
        vat -= fixed(row.get("СуммаНДСДоИзменения"), places, "lines.vat")
        price = (price or 0) - fixed(row.get("ЦенаДоИзменения"), 4, "lines.unit_price")
    net = amount - vat if vat_included else amount
    held = sum((fixed(row.get(name), places, "lines.discount") for name in section.discounts), _ZERO)
    discount = held
    if vat_included and held and amount:
        # The discount includes VAT as Сумма does: the same share of it is VAT.
        discount = (held * net / amount).quantize(QUANTS[places], ROUND_HALF_UP)
    if price is None:  # no price column: the amount per unit, if there are units
        price = (net / quantity).quantize(_Q_PRICE, ROUND_HALF_UP) if quantity else Decimal("0.0000")
    return Money(quantity, price, net + discount, discount, net, vat)


def to_local(amount: Decimal, exchange_rate: Decimal) -> Decimal:
    """A single document-currency amount in local currency, rounded half up to kopecks (as 1C rounds)."""
    return (amount * exchange_rate).quantize(Q_AMOUNT, ROUND_HALF_UP)


def totals(
    lines: Sequence[Money], total: Decimal, rate: Decimal, local_currency: str
) -> tuple[Totals, Totals, list[Decimal]]:
    """The document's totals (the lines' sums, and the total 1C holds: СуммаДокумента), its local totals
    converted at document level, and the lines' local nets: the local net spread over the lines so they add
    up to it to the kopeck. A СуммаДокумента that is not net + VAT (a section not read, such as БП's
    returnable packaging) is left as 1C holds it: the engine flags the document."""
    gross = sum((x.gross for x in lines), _ZERO)
    discount = sum((x.discount for x in lines), _ZERO)
    net = sum((x.net for x in lines), _ZERO)
    vat = sum((x.vat for x in lines), _ZERO)
    doc = Totals(gross=gross, discount=discount, net=net, vat=vat, total=total)
    local = to_local_totals(doc, rate, local_currency)
    return doc, local, apportion(local.net, [x.net for x in lines], minor_units(local_currency))
