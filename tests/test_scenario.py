"""The scenario generator: deterministic, sized as asked, and every fact internally consistent."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import time
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import msgspec
import pytest

from mapping.schema import Collection, Invoice, Order, PriceListEntry
from mapping.taxid import tckn_valid, vkn_valid
from scenario import expect
from scenario.facts import Scenario
from scenario.generate import build

CENT = Decimal("0.01")
TURKISH = set("İıŞşĞğÜüÖöÇç")


def r2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def sc() -> Scenario:
    return build(2000)


@pytest.fixture(scope="module")
def invoices(sc: Scenario) -> list[Invoice]:
    return [f.record for f in sc.invoices()]


@pytest.fixture(scope="module")
def collections(sc: Scenario) -> list[Collection]:
    return [f.record for f in sc.collections()]


@pytest.fixture(scope="module")
def orders(sc: Scenario) -> list[Order]:
    return [f.record for f in sc.orders()]


def _builtins(s: Scenario) -> object:
    return msgspec.to_builtins(
        [
            s.accounts,
            s.products,
            s.stock_levels,
            s.discounts,
            s.risk_limits,
            s.warehouses,
            s.sales_reps,
            s.services,
            [(c.kind, c.at, c.invoice, c.collection, c.number, c.value) for c in s.changes],
        ],
        builtin_types=(dt.datetime, dt.date, Decimal),
    )


def test_deterministic() -> None:
    a, b = build(1200, seed=3), build(1200, seed=3)
    assert _builtins(a) == _builtins(b)
    assert list(a.invoices()) == list(b.invoices()) == list(a.invoices())
    assert list(a.orders()) == list(b.orders()) == list(a.orders())
    assert list(a.collections()) == list(b.collections()) == list(a.collections())
    assert _builtins(build(1200, seed=4)) != _builtins(a)


@pytest.mark.parametrize("lines", [1000, 2000, 3000])
def test_size_scales(lines: int) -> None:
    s = build(lines)
    made = sum(len(f.record.lines) for f in s.invoices())
    assert abs(made - lines) <= lines * 0.1
    assert len(s.accounts) >= 40 and len(s.products) >= 30


def test_master_grows_sublinearly() -> None:
    small, big = build(3000), build(12_000)
    assert len(big.accounts) > len(small.accounts) and len(big.products) > len(small.products)
    assert len(big.accounts) < 4 * len(small.accounts)


def _check_lines(doc: Invoice | Order) -> None:
    rate = doc.rate
    assert rate.as_tuple().exponent == -6
    assert rate == 1 if doc.currency == "TRY" else rate > 1
    sums = dict.fromkeys(("gross", "discount", "net", "vat"), Decimal("0.00"))
    for line in doc.lines:
        assert line.quantity.as_tuple().exponent == -3 and line.unit_price.as_tuple().exponent == -4
        assert line.gross == r2(line.quantity * line.unit_price)
        assert line.net == line.gross - line.discount and line.discount >= 0
        assert line.vat_rate is not None and line.vat == r2(line.net * line.vat_rate / 100)
        assert abs(line.net_local - r2(line.net * rate)) <= Decimal("0.01")  # its share of the local net
        for name in sums:
            value = getattr(line, name)
            assert value.as_tuple().exponent == -2
            sums[name] += value
    t, tl = doc.totals, doc.totals_local
    assert (t.gross, t.discount, t.net, t.vat) == tuple(sums.values())
    assert t.total == t.net + t.vat
    # Converted at document level: net, discount and vat once each, gross and total derived from them,
    # and the lines' local nets spread so they add up to the local net.
    for name in ("discount", "net", "vat"):
        assert getattr(tl, name) == r2(getattr(t, name) * rate)
    assert tl.gross == tl.net + tl.discount and tl.total == tl.net + tl.vat
    assert sum(line.net_local for line in doc.lines) == tl.net
    for name in ("gross", "discount", "net", "vat", "total"):
        doc_value, local = getattr(t, name), getattr(tl, name)
        assert local.as_tuple().exponent == -2
        assert r2(local / rate) == doc_value  # adapters recover document amounts from local ones


def test_money_identities(invoices: list[Invoice], orders: list[Order], collections: list[Collection]) -> None:
    for doc in [*invoices, *orders]:
        assert doc.lines
        _check_lines(doc)
    for c in collections:
        assert c.amount > 0 and c.amount_local == r2(c.amount * c.rate)
        assert c.rate == 1 if c.currency == "TRY" else c.rate > 1
        assert r2(c.amount_local / c.rate) == c.amount


def test_document_mix(invoices: list[Invoice], orders: list[Order], collections: list[Collection]) -> None:
    kinds = Counter(i.kind for i in invoices)
    assert kinds["return"] > 0.02 * len(invoices) and kinds["sale"] > 0.8 * len(invoices)
    assert kinds["price_difference"] and kinds["service"]
    assert all(line.kind == "service" for i in invoices if i.kind == "service" for line in i.lines)
    foreign = Counter(i.currency for i in invoices)
    assert 0.1 < (foreign["USD"] + foreign["EUR"]) / len(invoices) < 0.35
    assert 0 < sum(i.cancelled for i in invoices) < 0.06 * len(invoices)
    assert {o.status for o in orders} == {"proposal", "open", "shippable", "closed", "cancelled"}
    assert {c.method for c in collections} == {"cash", "card", "cheque", "promissory_note", "bank_transfer"}
    assert all(c.due_date and c.due_date > c.date for c in collections if c.method in ("cheque", "promissory_note"))
    assert any(c.settles for c in collections)
    for o in orders:
        for line in o.lines:
            assert line.shipped_quantity is not None and line.shipped_quantity <= line.quantity
            if o.status == "closed":
                assert line.shipped_quantity == line.quantity and line.closed


def test_order_numbers_dates(sc: Scenario, invoices: list[Invoice], collections: list[Collection]) -> None:
    for docs in (invoices, collections, [f.record for f in sc.orders()]):
        numbers = [d.number for d in docs]
        assert len(set(numbers)) == len(numbers)
    issued = [i.issued_at for i in invoices]
    assert issued == sorted(issued) and all(t is not None and t.tzinfo for t in issued)
    assert min(i.date for i in invoices) >= sc.as_of.date() - dt.timedelta(days=731)
    assert all(i.date <= sc.as_of.date() and i.issued_at <= sc.as_of for i in invoices)  # type: ignore[operator]
    assert all(i.number.startswith(("SF", "SIF", "FF", "HF")) for i in invoices)
    for fact in [*sc.invoices(), *sc.collections(), *sc.orders()]:
        assert fact.created_at <= sc.as_of
        assert fact.modified_at is None or fact.created_at <= fact.modified_at <= sc.as_of
        if getattr(fact.record, "cancelled", False) or getattr(fact.record, "status", "") == "cancelled":
            assert fact.modified_at is not None


def test_returns_reference_earlier_sales(invoices: list[Invoice]) -> None:
    by_number = {i.number: i for i in invoices}
    returns = [i for i in invoices if i.kind == "return"]
    assert returns
    for ret in returns:
        assert ret.original_invoice is not None
        sale = by_number[ret.original_invoice]
        assert sale.kind == "sale" and not sale.cancelled
        assert sale.account_code == ret.account_code and sale.date < ret.date and sale.currency == ret.currency
        sold: Counter[tuple] = Counter()
        for line in sale.lines:  # a product may sit on two lines of the sale
            sold[line.product_code, line.unit, line.unit_price] += line.quantity  # type: ignore[assignment]
        for line in ret.lines:
            sold[line.product_code, line.unit, line.unit_price] -= line.quantity  # type: ignore[assignment]
        assert all(left >= 0 for left in sold.values())
        assert len(ret.lines) <= len(sale.lines)


def test_seasonality(invoices: list[Invoice]) -> None:
    lines_per_month: Counter[str] = Counter()
    for i in invoices:
        lines_per_month[f"{i.date:%Y-%m}"] += len(i.lines)
    full = sorted(lines_per_month)[1:-1]  # the first and last months are partial
    per_day = {k: lines_per_month[k] / calendar.monthrange(int(k[:4]), int(k[5:]))[1] for k in full}
    average = sum(per_day.values()) / len(per_day)
    slump = [v for k, v in per_day.items() if k.endswith(("-01", "-02"))]
    assert len(slump) == 4 and max(slump) < 0.75 * average


def test_master_data(sc: Scenario) -> None:
    accounts = [s.record for s in sc.accounts]
    ids = [a.tax_id for a in accounts]
    assert len(set(ids)) == len(ids)
    for a in accounts:
        assert a.tax_id is not None
        assert (tckn_valid(a.tax_id) and a.is_individual) if a.tax_id_kind == "TCKN" else vkn_valid(a.tax_id)
        assert a.country == "TR" and a.tax_office and a.tax_office.endswith(" VD") and a.created_at
        assert a.created_at <= sc.as_of - dt.timedelta(days=364)
    kinds = Counter(a.kind for a in accounts)
    assert 2 <= kinds["supplier"] <= 5 and kinds["customer"] > 30
    assert any(a.is_individual for a in accounts) and any(a.parent_code for a in accounts)
    codes = {a.code for a in accounts}
    assert all(a.parent_code in codes for a in accounts if a.parent_code)
    text = "".join(a.title + (a.address or "") for a in accounts) + "".join(p.record.name for p in sc.products)
    assert set(text) >= TURKISH
    assert TURKISH & set("".join(a.title for a in accounts))
    assert TURKISH & set("".join(p.record.name for p in sc.products))
    for p in (s.record for s in sc.products):
        assert p.barcodes and p.base_unit_code and p.units[0].unit == p.base_unit
        for code in p.barcodes + [u.barcode for u in p.units if u.barcode]:
            digits = [int(c) for c in code]
            assert code.startswith("869") and len(code) == 13
            assert (sum(digits[0:12:2]) + 3 * sum(digits[1:12:2]) + digits[12]) % 10 == 0
    for level in sc.stock_levels:
        assert level.reserved is not None and level.reserved <= level.on_hand
        assert level.available == level.on_hand - level.reserved and level.as_of == sc.as_of
    for d in (s.record for s in sc.discounts):
        present = [
            n
            for n, v in (
                ("account", d.account_code),
                ("account_group", d.account_group_code),
                ("product", d.product_code),
                ("product_group", d.product_group_code),
            )
            if v
        ]
        assert d.scope == ("+".join(present) or "all")
    assert {d.record.kind for d in sc.discounts} == {"percent", "amount", "fixed_price"}


def test_risk_matches_documents(
    sc: Scenario,
    invoices: list[Invoice],
    collections: list[Collection],
    orders: list[Order],
) -> None:
    balance: dict[str, Decimal] = {}
    for i in invoices:
        if not i.cancelled:
            sign = -1 if i.kind == "return" else 1
            balance[i.account_code] = balance.get(i.account_code, Decimal(0)) + sign * i.totals_local.total
    for code, paid in expect.collections_by_dealer(collections).items():
        balance[code] = balance.get(code, Decimal(0)) - paid
    for note in (s.record for s in sc.notes()):  # openings and debit notes owe, credit notes give back
        signed = -note.amount if note.kind == "credit_note" else note.amount
        balance[note.account_code] = balance.get(note.account_code, Decimal(0)) + signed
    today = sc.as_of.date()
    assert len(sc.risk_limits) > 0.8 * len(expect.dealer_codes(a.record for a in sc.accounts))
    for r in sc.risk_limits:
        assert r.open_balance == balance.get(r.account_code, 0)
        assert r.open_orders == sum(
            (
                o.totals_local.total
                for o in orders
                if o.account_code == r.account_code and o.status in ("open", "shippable")
            ),
            0,
        )
        assert r.uncashed_cheques == sum(
            (
                c.amount_local
                for c in collections
                if c.account_code == r.account_code
                and not c.cancelled
                and c.method in ("cheque", "promissory_note")
                and c.due_date
                and c.due_date > today
            ),
            0,
        )
        assert r.exposure == r.open_balance + r.open_orders + r.uncashed_cheques  # type: ignore[operator]
        assert r.limit > 0 and r.as_of == sc.as_of


def test_changes_reference_facts(sc: Scenario, invoices: list[Invoice], collections: list[Collection]) -> None:
    kinds = {c.kind: c for c in sc.changes}
    assert set(kinds) == {"new_invoice", "cancel_invoice", "new_collection", "discount_value"}
    assert all(c.at > sc.as_of for c in sc.changes)
    dealers = expect.dealer_codes(a.record for a in sc.accounts)
    numbers = {i.number for i in invoices}
    new = kinds["new_invoice"].invoice
    assert new is not None and new.number not in numbers and new.account_code in dealers
    assert new.date == sc.as_of.date() and new.kind == "sale"
    _check_lines(new)
    cancelled = {i.number: i for i in invoices}[kinds["cancel_invoice"].number or ""]
    assert cancelled.kind == "sale" and not cancelled.cancelled
    payment = kinds["new_collection"].collection
    assert payment is not None and payment.account_code in dealers
    assert payment.number not in {c.number for c in collections}
    rule = {d.record.code: d.record for d in sc.discounts}[kinds["discount_value"].number or ""]
    assert isinstance(kinds["discount_value"].value, Decimal) and kinds["discount_value"].value != rule.value


def test_as_of_and_zone_override() -> None:
    s = build(800, timezone="Europe/Moscow", as_of=dt.datetime(2025, 6, 2, 12, 30))
    assert s.as_of == dt.datetime(2025, 6, 2, 12, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    facts = [*s.invoices(), *s.orders(), *s.collections()]
    assert facts and all(f.created_at <= s.as_of and f.created_at.tzinfo == s.as_of.tzinfo for f in facts)
    assert max(f.record.date for f in facts) <= s.as_of.date()


def test_expect_helpers(invoices: list[Invoice]) -> None:
    by_month = expect.invoice_totals_by_dealer_month(invoices)
    live = [i for i in invoices if not i.cancelled]
    assert sum(by_month.values()) == sum(
        -i.totals_local.net if i.kind == "return" else i.totals_local.net for i in live
    )
    assert all(len(month) == 7 for _, month in by_month)
    flat = expect.comparable(invoices[0], {"e_invoice_uuid", "sales_rep_code"})
    assert "e_invoice_uuid" not in flat and "sales_rep_code" not in flat and "sales_rep_code" not in flat["lines"][0]
    assert isinstance(flat["totals"]["gross"], str) and flat["number"] == invoices[0].number


if __name__ == "__main__":  # generation speed: python -m tests.test_scenario
    started = time.perf_counter()
    scenario = build(200_000)
    built = time.perf_counter() - started
    started = time.perf_counter()
    made = sum(len(f.record.lines) for f in scenario.invoices())
    elapsed = time.perf_counter() - started
    print(f"build(200_000): {built:.1f} s; invoices(): {made} lines in {elapsed:.1f} s = {made / elapsed:,.0f} lines/s")


def test_notes_are_openings_on_the_first_day_and_dekonts_through_the_history(sc: Scenario) -> None:
    notes = [s.record for s in sc.notes()]
    assert notes == [s.record for s in sc.notes()]  # deterministic
    assert {n.kind for n in notes} == {"opening", "debit_note", "credit_note"}
    assert len({n.number for n in notes}) == len(notes) and all(n.amount > 0 for n in notes)
    first = min(n.date for n in notes)
    assert {n.date for n in notes if n.kind == "opening"} == {first}
    assert all(first <= n.date <= sc.as_of.date() for n in notes)
    assert {n.account_code for n in notes} <= expect.dealer_codes(a.record for a in sc.accounts)
    # The ledger the facts make: one entry per document, one side zero, the side the kind says.
    entries = expect.ledger_entries([], [], notes)
    assert [(e.document_no, e.kind) for e in entries] == [(n.number, n.kind) for n in notes]
    for e in entries:
        assert (e.debit == 0) != (e.credit == 0) and (e.credit > 0) == (e.kind == "credit_note")
        assert e.debit_local == e.debit and e.credit_local == e.credit and e.currency == "TRY"


def test_price_lists_renew_each_quarter_and_list_cases_and_exports(sc: Scenario) -> None:
    entries = sc.price_lists
    keys = [(e.list_code, e.product_code, e.unit, e.valid_from) for e in entries]
    assert len(keys) == len(set(keys)) and {e.list_code for e in entries} == {"SATIS", "IHRACAT"}
    wholesale = [e for e in entries if e.list_code == "SATIS" and e.min_quantity is None]
    starts = sorted({e.valid_from for e in wholesale if e.valid_from})
    assert len(starts) == 4 and all(s.day == 1 and s.month in (1, 4, 7, 10) for s in starts)
    assert starts[-1] <= sc.as_of.date() and {e.valid_to for e in wholesale if e.valid_from == starts[-1]} == {None}
    # One quarter ends the day before the next begins; the lira price never falls as the lira slides.
    by_product: dict[str, list[PriceListEntry]] = {}
    for e in sorted(wholesale, key=lambda e: e.valid_from):
        by_product.setdefault(e.product_code, []).append(e)
    for quarters in by_product.values():
        for before, after in itertools.pairwise(quarters):
            assert before.valid_to is not None and before.valid_to + dt.timedelta(days=1) == after.valid_from
            assert after.price >= before.price
    cases = [e for e in entries if e.min_quantity is not None]
    assert cases and all(e.unit == "KOLİ" and e.valid_from == starts[-1] for e in cases)
    assert {e.currency for e in entries if e.list_code == "IHRACAT"} == {"USD"}
    assert all(e.price > 0 and e.price.as_tuple().exponent == -4 and e.vat_included is False for e in entries)
