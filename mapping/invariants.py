"""The arithmetic every order and invoice must satisfy, checked on what the adapter mapped.

The engine runs `discrepancies()` on every document before it is hashed and sent. A document whose
ERP figures break a rule goes out as the ERP holds it, with each broken rule listed in
`discrepancies` (expected, found, difference): never mended in silence, never dropped, since the
dealer's money is in it either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from mapping.schema import Discrepancy, DiscrepancyRule, Document, Totals

__all__ = ["discrepancies"]

_ZERO = Decimal(0)


def _rule(rule: DiscrepancyRule, expected: Decimal, found: Decimal) -> Discrepancy | None:
    if expected == found:
        return None
    return Discrepancy(rule=rule, expected=expected, found=found, difference=found - expected)


def _totals(t: Totals, net_rule: DiscrepancyRule, total_rule: DiscrepancyRule) -> Iterator[Discrepancy | None]:
    yield _rule(net_rule, t.gross - t.discount, t.net)
    yield _rule(total_rule, t.net + t.vat, t.total)


def _checks(doc: Document) -> Iterator[Discrepancy | None]:
    yield from _totals(doc.totals, "totals_net", "totals_total")
    local = doc.totals_local
    if local is not None:
        yield from _totals(local, "local_net", "local_total")
    # No lines at all is no exemption: a header with money and no lines is what lost lines look like.
    gross = discount = net = vat = net_local = _ZERO
    for line in doc.lines:  # type: ignore[attr-defined]
        gross += line.gross
        discount += line.discount
        net += line.net
        vat += line.vat
        if line.net_local is not None:  # a line without its local net counts as none: the sum falls short
            net_local += line.net_local
    t = doc.totals
    yield _rule("lines_gross", gross, t.gross)
    yield _rule("lines_discount", discount, t.discount)
    yield _rule("lines_net", net, t.net)
    yield _rule("lines_vat", vat, t.vat)
    if local is not None:
        yield _rule("lines_net_local", net_local, local.net)


def discrepancies(doc: Document) -> list[Discrepancy]:
    """The rules `doc`'s figures break (header totals against the lines: `found` is the header's)."""
    return [d for d in _checks(doc) if d is not None]
