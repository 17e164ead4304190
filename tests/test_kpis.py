"""engine.kpis: a dealer's months from its facts, with figures worked out by hand, and properties that must hold
for any dealer (a brute-force month-end sweep against the bucketed one)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kpis import (
    CollectionFact,
    InvoiceFact,
    OrderFact,
    _Totals,
    dealer,
    decode_fact,
    explain,
    fact_of,
    kpis,
    month_of,
)
from mapping.schema import Collection, Invoice, InvoiceLine, Totals, encode

D = Decimal
ACC = "120.01"


def inv(number: str, day: str, total: str, *, kind: str = "sale", due: str | None = None, net: str | None = None,
        lines: tuple[tuple[str | None, str], ...] = (), cancelled: bool = False, original: str | None = None,
        local: bool = True) -> InvoiceFact:  # fmt: skip
    totals = _Totals(net=D(net or total), total=D(total)) if local else None
    return InvoiceFact(
        number=number, account_code=ACC, date=dt.date.fromisoformat(day), kind=kind,
        due_date=dt.date.fromisoformat(due) if due else None, cancelled=cancelled, original_invoice=original,
        totals_local=totals, by_product={p or "": D(n) for p, n in lines},
    )  # fmt: skip


def col(number: str, day: str, amount: str, *settles: str, cancelled: bool = False) -> CollectionFact:
    return CollectionFact(
        number=number, account_code=ACC, date=dt.date.fromisoformat(day), amount_local=D(amount),
        cancelled=cancelled, settles=list(settles),
    )  # fmt: skip


def by_month(facts: list, products: dict | None = None) -> dict:
    return {k.month: k for k in kpis(dealer(ACC, facts), products or {})}


def test_a_collection_pays_the_invoices_the_erp_links_it_to_first_then_the_oldest_open_one() -> None:
    facts = [
        inv("S1", "2026-01-05", "100", due="2026-02-04"),
        inv("S2", "2026-01-20", "50", due="2026-02-19"),
        col("C1", "2026-02-10", "50", "S2"),  # linked to S2: on time, 21 days
        col("C2", "2026-02-10", "70"),  # oldest first: S1 (due 02-04): late, 36 days
    ]
    d = dealer(ACC, facts)
    paid = [(a.credit.ref, a.debit.ref, a.amount, a.how, a.on_time, a.days) for a in d.allocations]
    assert paid == [
        ("collection C1", "invoice S2", D(50), "erp_links", True, 21),
        ("collection C2", "invoice S1", D(70), "oldest_first", False, 36),
    ]
    feb = by_month(facts)["2026-02"]
    assert (feb.collections, feb.paid_on_time, feb.paid_late, feb.matching) == (D(120), D(50), D(70), "mixed")
    assert feb.average_days_to_pay == D("29.75")  # (50 x 21 + 70 x 36) / 120
    assert feb.balance == D(30) and feb.overdue == D(30)  # S1's 30 left, due 02-04


def test_a_return_credits_the_invoice_it_returns_and_counts_as_neither_payment_nor_sale() -> None:
    facts = [
        inv("S1", "2026-03-01", "120", net="100", due="2026-03-31", lines=(("P1", "100"),)),
        inv("S2", "2026-03-02", "240", net="200", due="2026-04-01", lines=(("P2", "200"),)),
        inv("R1", "2026-03-15", "60", net="50", kind="return", original="S2", lines=(("P2", "50"),)),
    ]
    products = {"P1": ("G1", "B"), "P2": (None, "B")}
    march = by_month(facts, products)["2026-03"]
    assert (march.sales, march.returns, march.net_sales) == (D(300), D(50), D(250))
    assert (march.invoices, march.return_invoices) == (2, 1)
    assert [(s.code, s.net_sales) for s in march.by_group] == [("G1", D(100)), (None, D(150))]
    assert [(s.code, s.net_sales) for s in march.by_brand] == [("B", D(250))]
    assert (march.paid_on_time, march.paid_late, march.matching) == (D(0), D(0), "none")
    assert march.balance == D(300)  # 120 + 240 - 60
    [a] = dealer(ACC, facts).allocations
    assert (a.debit.ref, a.amount, a.how) == ("invoice S2", D(60), "erp_links")


def test_money_given_back_is_owed_again_from_its_date() -> None:
    facts = [
        inv("S1", "2026-01-10", "100", due="2026-01-31"),
        col("C1", "2026-01-20", "100"),  # pays S1 on time
        col("C2", "2026-02-05", "-100"),  # the cheque bounced: owed again, due at once
        col("C3", "2026-03-10", "100"),  # pays the bounce, late
    ]
    months = by_month(facts)
    assert months["2026-01"].paid_on_time == D(100) and months["2026-01"].overdue == D(0)
    assert months["2026-02"].collections == D(-100) and months["2026-02"].overdue == D(100)
    assert months["2026-02"].balance == D(100)
    assert months["2026-03"].paid_late == D(100) and months["2026-03"].overdue == D(0)
    assert months["2026-03"].average_days_to_pay == D("33.00")  # 02-05 to 03-10


def test_cancelled_documents_count_nowhere_and_unknown_local_amounts_are_counted_not_guessed() -> None:
    facts = [
        inv("S1", "2026-05-02", "100"),
        inv("S2", "2026-05-03", "999", cancelled=True),
        inv("S3", "2026-05-04", "0", local=False),  # the ERP gave no rate
        col("C1", "2026-05-06", "999", cancelled=True),
        OrderFact(number="O1", account_code=ACC, date=dt.date(2026, 5, 1), status="open"),
        OrderFact(number="O2", account_code=ACC, date=dt.date(2026, 5, 1), status="cancelled"),
    ]
    may = by_month(facts)["2026-05"]
    assert (may.sales, may.invoices, may.without_local, may.orders, may.collections) == (D(100), 2, 1, 1, D(0))
    assert may.balance == D(100)


def test_months_run_from_the_first_document_to_the_last_with_tenure_from_the_first_invoice() -> None:
    facts = [
        OrderFact(number="O1", account_code=ACC, date=dt.date(2025, 11, 20), status="open"),
        inv("S1", "2026-01-10", "100", due="2026-02-09"),
        col("C1", "2026-03-01", "40"),
    ]
    months = by_month(facts)
    assert list(months) == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert [months[m].tenure_months for m in months] == [0, 0, 1, 2, 3]
    assert months["2025-12"].first_invoice_date is None
    assert months["2026-02"].first_invoice_date == dt.date(2026, 1, 10)
    assert [months[m].overdue for m in months] == [D(0), D(0), D(0), D(100), D(60)]


def test_explain_lists_the_documents_behind_a_month() -> None:
    facts = [inv("S1", "2026-01-05", "100", due="2026-01-20"), col("C1", "2026-02-01", "30")]
    e = explain(dealer(ACC, facts), {}, "2026-02")
    assert e is not None and e.record.paid_late == D(30)
    assert [c.number for c in e.collections] == ["C1"]
    assert [(a.debit.ref, a.amount) for a in e.payments] == [("invoice S1", D(30))]
    assert [(d.ref, unpaid) for d, unpaid in e.overdue] == [("invoice S1", D(70))]
    assert explain(dealer(ACC, facts), {}, "2027-01") is None


def test_a_fact_is_decoded_from_the_record_as_sent() -> None:
    record = Invoice(
        number="S1", account_code=ACC, date=dt.date(2026, 1, 2), currency="USD", rate=D("30"), kind="sale",
        totals=Totals(gross=D(10), discount=D(0), net=D(10), vat=D(2), total=D(12)),
        totals_local=Totals(gross=D(300), discount=D(0), net=D(300), vat=D(60), total=D(360)),
        lines=[InvoiceLine(line_no=n, product_code=p, quantity=D(1), unit_price=D(10), gross=D(10),
                           discount=D(0), net=D(10), vat=D(2), net_local=D(v))
               for n, p, v in ((1, "P", 200), (2, None, 50), (3, "P", 50))],
    )  # fmt: skip
    stored = fact_of("invoices", encode(record))
    fact = decode_fact("invoices", stored.payload)
    assert stored.account == ACC and isinstance(fact, InvoiceFact)
    assert fact.totals_local == _Totals(net=D(300), total=D(360)) and fact.by_product == {"P": D(250), "": D(50)}
    payment = Collection(number="C", account_code="X", date=dt.date(2026, 1, 3), amount=D(1), currency="TRY",
                         rate=D(1), amount_local=D(1), method="cash", settles=["S1"])  # fmt: skip
    assert fact_of("collections", encode(payment)).account == "X"


# -- properties ------------------------------------------------------------------------------------------
days = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2025, 12, 31))
cents = st.integers(min_value=-5_000, max_value=50_000).map(lambda c: Decimal(c) / 100)


@st.composite
def dealers_facts(draw: st.DrawFn) -> list:
    facts: list = []
    for i in range(draw(st.integers(0, 12))):
        day = draw(days)
        due = day + dt.timedelta(days=draw(st.integers(0, 90)))
        kind = draw(st.sampled_from(["sale", "sale", "return", "service", "price_difference"]))
        amount = draw(cents) if kind == "price_difference" else abs(draw(cents))  # a price lowered: negative
        facts.append(inv(f"S{i}", day.isoformat(), str(amount), kind=kind, due=due.isoformat(),
                         original=f"S{draw(st.integers(0, 12))}" if kind == "return" else None,
                         cancelled=draw(st.booleans()) and draw(st.booleans())))  # fmt: skip
    for i in range(draw(st.integers(0, 10))):
        links = draw(st.lists(st.integers(0, 12).map(lambda n: f"S{n}"), max_size=2))
        facts.append(col(f"C{i}", draw(days).isoformat(), str(draw(cents)), *links))
    return facts


@settings(max_examples=300, deadline=None)
@given(dealers_facts())
def test_matching_never_pays_more_than_owed_or_paid_and_month_ends_match_a_brute_force_sweep(facts: list) -> None:
    d = dealer(ACC, facts)
    owed = {id(x): x.amount for x in d.debits}
    given_ = {id(c): c.amount for c in d.credits}
    for a in d.allocations:
        owed[id(a.debit)] -= a.amount
        given_[id(a.credit)] -= a.amount
        assert a.amount > 0
    assert all(v >= 0 for v in owed.values()) and all(v >= 0 for v in given_.values())
    # Every credit is spent as long as anything is owed: what is left on both sides cannot meet.
    assert not (any(v > 0 for v in owed.values()) and any(v > 0 for v in given_.values()))
    for k in kpis(d, {}):
        end = k.month
        balance = sum((x.amount for x in d.debits if month_of(x.date) <= end), D(0)) - sum(
            (c.amount for c in d.credits if month_of(c.date) <= end), D(0)
        )
        overdue = D(0)
        for x in d.debits:
            if month_of(x.due) <= end:
                overdue += x.amount - sum(
                    (a.amount for a in d.allocations if a.debit is x and month_of(a.credit.date) <= end), D(0)
                )
        assert (k.balance, k.overdue) == (balance, overdue), k.month
        assert k.paid_on_time + k.paid_late <= sum(
            (c.amount_local for c in d.collections if month_of(c.date) == end and c.amount_local > 0), D(0)
        )
        assert k.net_sales == k.sales - k.returns


def test_an_invoice_of_negative_total_lowers_what_is_owed_like_a_return() -> None:
    facts = [
        inv("S1", "2026-01-05", "120", net="100", due="2026-02-04"),
        inv("K1", "2026-01-10", "-24", net="-20", kind="price_difference", original="S1"),
        col("C1", "2026-02-01", "96"),
    ]
    months = by_month(facts)
    assert months["2026-01"].sales == D(80) and months["2026-01"].balance == D(96)
    assert (months["2026-02"].balance, months["2026-02"].overdue, months["2026-02"].paid_on_time) == (D(0), D(0), D(96))


def test_a_cheque_pays_at_its_maturity_and_an_unpaid_invoice_shows_overdue_after_the_last_document() -> None:
    cheque = CollectionFact(number="C1", account_code=ACC, date=dt.date(2026, 1, 15), amount_local=D(100),
                            due_date=dt.date(2026, 4, 15))  # fmt: skip
    facts = [inv("S1", "2026-01-05", "100", due="2026-02-04"), cheque, inv("S2", "2026-01-06", "50", due="2026-03-10")]
    months = {k.month: k for k in kpis(dealer(ACC, facts), {}, today=dt.date(2026, 12, 4))}
    assert months["2026-01"].paid_late == D(100) and months["2026-01"].average_days_to_pay == D("100.00")
    assert list(months) == ["2026-01", "2026-02", "2026-03"]  # S2 falls due in March, unpaid
    assert months["2026-03"].overdue == D(150)  # S2, and S1 until the cheque matures in April
    early = kpis(dealer(ACC, facts), {}, today=dt.date(2026, 2, 20))
    assert [k.month for k in early] == ["2026-01", "2026-02"]  # a month that has not begun is not made


def test_a_payment_never_goes_to_an_invoice_dated_after_it_and_an_advance_pays_the_next_one() -> None:
    facts = [
        inv("S1", "2026-01-05", "100", due="2026-03-31"),
        col("C1", "2026-01-20", "150"),  # pays S1; 50 is an advance
        inv("S2", "2026-02-01", "100", due="2026-02-15"),  # dated after C1: takes the advance, not S1's payment
    ]
    d = dealer(ACC, facts)
    paid = [(a.credit.ref, a.debit.ref, a.amount, a.days) for a in d.allocations]
    assert paid == [("collection C1", "invoice S1", D(100), 15), ("collection C1", "invoice S2", D(50), 0)]
    months = by_month(facts)
    # January's collection paid 100 to S1 after 15 days and 50 ahead of S2 (0 days): all of it on time.
    assert (months["2026-01"].average_days_to_pay, months["2026-01"].paid_on_time) == (D("10.00"), D(150))
    assert (months["2026-02"].overdue, months["2026-03"].overdue) == (D(50), D(50))  # S2's rest; S1 paid


def test_documents_dated_out_of_any_plausible_range_make_no_months() -> None:
    facts = [inv("S1", "2026-01-05", "100"), inv("S2", "2206-01-05", "100"), inv("S3", "0206-01-05", "100")]
    assert list(by_month(facts)) == ["2026-01"]
