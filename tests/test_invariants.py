"""The arithmetic every document must satisfy, and local amounts converted at document level."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction

import msgspec
import pytest

from mapping.invariants import discrepancies
from mapping.money import apportion, to_local_totals
from mapping.schema import Invoice, InvoiceLine, Totals

D = Decimal


def _line(no: int, gross: str, discount: str, vat: str, net_local: str | None) -> InvoiceLine:
    g, d = D(gross), D(discount)
    return InvoiceLine(
        line_no=no, quantity=D("1.000"), unit_price=g, gross=g, discount=d, net=g - d, vat=D(vat),
        net_local=None if net_local is None else D(net_local),
    )  # fmt: skip


def _invoice(lines: list[InvoiceLine], totals: Totals, local: Totals | None, rate: str | None = "30") -> Invoice:
    return Invoice(
        number="F1", kind="sale", account_code="A", date=dt.date(2026, 1, 1), currency="USD",
        rate=None if rate is None else D(rate), totals=totals, totals_local=local, lines=lines,
    )  # fmt: skip


def _totals(gross: str, discount: str, vat: str, net: str | None = None, total: str | None = None) -> Totals:
    g, d, v = D(gross), D(discount), D(vat)
    n = D(net) if net else g - d
    return Totals(gross=g, discount=d, net=n, vat=v, total=D(total) if total else n + v)


def test_a_consistent_document_has_no_discrepancies() -> None:
    lines = [_line(1, "100.00", "10.00", "18.00", "2700.00"), _line(2, "50.00", "0.00", "10.00", "1500.00")]
    doc = _invoice(
        lines, _totals("150.00", "10.00", "28.00"), to_local_totals(_totals("150.00", "10.00", "28.00"), D(30), "TRY")
    )
    assert discrepancies(doc) == []


def test_each_broken_rule_is_listed_with_the_difference_never_mended() -> None:
    lines = [_line(1, "100.00", "10.00", "18.00", "2700.00"), _line(2, "50.00", "0.00", "10.00", "1500.01")]
    header = _totals("150.00", "10.00", "28.01", net="140.00", total="168.00")  # vat a cent off, total not net + vat
    local = Totals(gross=D("4500.00"), discount=D("300.00"), net=D("4200.00"), vat=D("840.30"), total=D("5040.31"))
    doc = _invoice(lines, header, local)
    found = {d.rule: (d.expected, d.found, d.difference) for d in discrepancies(doc)}
    assert found == {
        "totals_total": (D("168.01"), D("168.00"), D("-0.01")),
        "local_total": (D("5040.30"), D("5040.31"), D("0.01")),
        "lines_vat": (D("28.00"), D("28.01"), D("0.01")),
        "lines_net_local": (D("4200.01"), D("4200.00"), D("-0.01")),
    }
    assert doc.totals.vat == D("28.01")  # the document itself is untouched


def test_unknown_local_amounts_skip_the_local_rules() -> None:
    lines = [_line(1, "10.00", "0.00", "2.00", None)]
    doc = _invoice(lines, _totals("10.00", "0.00", "2.00"), None, rate=None)
    assert discrepancies(doc) == []
    assert b'"totals_local":null' in msgspec.json.encode(doc) and b'"rate":null' in msgspec.json.encode(doc)


def test_to_local_totals_converts_once_and_derives_gross_and_total() -> None:
    local = to_local_totals(_totals("100.03", "10.01", "18.01"), D("34.123457"), "TRY")
    assert local.net == D("3071.79") and local.discount == D("341.58") and local.vat == D("614.56")
    assert local.gross == local.net + local.discount and local.total == local.net + local.vat


@pytest.mark.parametrize(
    ("target", "weights"),
    [
        ("100.00", ["33.33", "33.33", "33.34"]),
        ("3071.46", ["40.01", "50.01", "0.00", "0.01"]),
        ("-10.00", ["1", "1", "1"]),
        ("10.01", ["5", "-2", "7"]),
        ("0.05", ["1", "1", "1", "1", "1", "1", "1"]),
    ],
)
def test_apportion_sums_exactly_and_stays_within_a_unit_of_each_share(target: str, weights: list[str]) -> None:
    shares = apportion(D(target), [D(w) for w in weights])
    whole = sum(D(w) for w in weights)
    assert sum(shares) == D(target)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - D(target) * D(weight) / whole) < D("0.01")
        assert share.as_tuple().exponent == -2


def test_apportion_edge_cases() -> None:
    assert apportion(D("1.00"), []) == []
    assert apportion(D("5.00"), [D("1"), D("-1")]) == [D("5.00"), D("0.00")]  # weights cancel: first carries it


def test_a_header_with_money_and_no_lines_is_flagged() -> None:
    found = {d.rule: d.difference for d in discrepancies(_invoice([], _totals("10.00", "0.00", "2.00"), None, None))}
    assert found == {"lines_gross": D("10.00"), "lines_net": D("10.00"), "lines_vat": D("2.00")}
    empty = _invoice([], _totals("0.00", "0.00", "0.00"), None, None)
    assert discrepancies(empty) == []


def test_a_line_without_its_local_net_under_known_local_totals_is_flagged() -> None:
    lines = [_line(1, "10.00", "0.00", "2.00", "300.00"), _line(2, "10.00", "0.00", "2.00", None)]
    doc = _invoice(
        lines, _totals("20.00", "0.00", "4.00"), to_local_totals(_totals("20.00", "0.00", "4.00"), D(30), "TRY")
    )
    assert [(d.rule, d.difference) for d in discrepancies(doc)] == [("lines_net_local", D("300.00"))]


def _largest_remainder_cents(target: int, weights: list[int]) -> list[int]:
    """An independent oracle in whole cents: floor toward zero, then one cent each to the largest remainders
    (ties: the earlier line), the way mapping.money.apportion is specified."""
    whole = sum(weights)
    exact = [Fraction(target * w, whole) for w in weights]
    shares = [int(e) for e in exact]  # int() truncates toward zero
    left = target - sum(shares)
    step = 1 if left > 0 else -1
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]) * step, i))
    for i in order[: abs(left)]:
        shares[i] += step
    return shares


def test_apportion_agrees_with_an_independent_largest_remainder_in_cents() -> None:
    rng = random.Random(20261203)
    for _ in range(2000):
        weights = [rng.choice([rng.randint(1, 10**6), rng.randint(-(10**4), 10**6)]) for _ in range(rng.randint(1, 9))]
        if sum(weights) <= 0:
            continue
        target = sum(weights) * rng.randint(2_000_000, 60_000_000) // 1_000_000 + rng.randint(-3, 3)
        got = apportion(D(target).scaleb(-2), [D(w).scaleb(-2) for w in weights])
        assert [int(g.scaleb(2)) for g in got] == _largest_remainder_cents(target, weights), (target, weights)
