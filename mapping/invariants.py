"""The arithmetic every order and invoice must satisfy, checked on what the adapter mapped.

The engine runs `discrepancies()` on every document before it is hashed and sent. A document whose
ERP figures break a rule goes out as the ERP holds it, with each broken rule listed in
`discrepancies` (expected, found, difference): never mended in silence, never dropped, since the
dealer's money is in it either way.
"""

from __future__ import annotations

from decimal import Decimal

from mapping.schema import Discrepancy, DiscrepancyRule, Document, Totals

__all__ = ["discrepancies"]

_ZERO = Decimal(0)


def _rule(found: list[Discrepancy], rule: DiscrepancyRule, expected: Decimal, figure: Decimal) -> None:
    if expected != figure:
        found.append(Discrepancy(rule=rule, expected=expected, found=figure, difference=figure - expected))


def _totals(found: list[Discrepancy], t: Totals, net_rule: DiscrepancyRule, total_rule: DiscrepancyRule) -> None:
    _rule(found, net_rule, t.gross - t.discount, t.net)
    _rule(found, total_rule, t.net + t.vat, t.total)


def discrepancies(doc: Document) -> list[Discrepancy]:
    """The rules `doc`'s figures break (header totals against the lines: `found` is the header's)."""
    found: list[Discrepancy] = []
    _totals(found, doc.totals, "totals_net", "totals_total")
    local = doc.totals_local
    if local is not None:
        _totals(found, local, "local_net", "local_total")
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
    _rule(found, "lines_gross", gross, t.gross)
    _rule(found, "lines_discount", discount, t.discount)
    _rule(found, "lines_net", net, t.net)
    _rule(found, "lines_vat", vat, t.vat)
    if local is not None:
        _rule(found, "lines_net_local", net_local, local.net)
    return found
