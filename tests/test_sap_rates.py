"""Exchange rates as SAP quotes them, turned into local amounts, in both flavours.

An indirect quotation states document currency units per local unit (TCURR-UKURS, VBRK-KURRF and BKPF-KURSF keep it
negative; an S/4 billing document keeps it positive beside AcctgExchangeRateIsIndrctQtan), and a rate table row is
stated for a number of units of each currency (TCURF's from/to ratios, I_ExchangeRateRawData's
NumberOfSourceCurrencyUnits / NumberOfTargetCurrencyUnits): 100 JPY = 22.87183 TRY. The adapter turned each into a
rate per unit rounded to six places before converting, so every local amount of a small-rate currency was off by
up to half a millionth per document unit: a few local units on a large invoice. The expected local figures here are
computed in the tests from the quotes as SAP states them, with exact fractions; the feed's `rate` is the exact rate
rounded to six places.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.ecc.values import rate as ecc_rate
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, RATES, S4Emulator
from connectors.sap.s4.rates import quoted
from mapping.schema import Invoice, Order, Totals
from scenario.facts import Scenario, Stamped
from scenario.generate import build

SCENARIO = build(invoice_lines=200)
LOCAL = SCENARIO.local_currency
D = TypeVar("D", Invoice, Order)


def cents(x: Fraction) -> Decimal:
    """`x` rounded half up (away from zero) to cents."""
    whole = int(abs(x) * 100 + Fraction(1, 2))
    return Decimal(whole if x >= 0 else -whole).scaleb(-2)


def local_totals(totals: Totals, rate: Fraction) -> Totals:
    """The document's local totals as SAP converts a document: net, discount and VAT each once, at the rate."""
    net, discount, vat = (cents(Fraction(x) * rate) for x in (totals.net, totals.discount, totals.vat))
    return Totals(gross=net + discount, discount=discount, net=net, vat=vat, total=net + vat)


def published(rate: Fraction) -> Decimal:
    """The feed's rate: six places, half up."""
    return Decimal(int(rate * 10**6 + Fraction(1, 2))).scaleb(-6)


def assert_local_amounts(document: Invoice | Order, rate: Fraction) -> None:
    assert document.rate == published(rate)
    assert document.totals_local == local_totals(document.totals, rate)
    nets = [line.net_local for line in document.lines]
    assert None not in nets and sum(nets, Decimal(0)) == document.totals_local.net  # type: ignore[union-attr]
    for line in document.lines:  # each within a cent of its exact share, spread by largest remainder
        assert abs(Fraction(line.net_local) - Fraction(line.net) * rate) <= Fraction(15, 1000)  # type: ignore[arg-type]


def scaled(record: D, currency: str, factor: int) -> D:
    """`record` in another currency, every amount `factor` times larger (whole units, for a currency without
    minor units); its local amounts are left to the ERP's rate."""
    lines = [
        msgspec.structs.replace(
            line,
            unit_price=line.unit_price * factor,
            gross=line.gross * factor,
            discount=line.discount * factor,
            net=line.net * factor,
            vat=line.vat * factor,
            net_local=None,
        )
        for line in record.lines
    ]
    t = record.totals
    totals = Totals(
        gross=t.gross * factor, discount=t.discount * factor, net=t.net * factor, vat=t.vat * factor,
        total=t.total * factor,
    )  # fmt: skip
    return msgspec.structs.replace(record, currency=currency, lines=lines, totals=totals, totals_local=None)


def moved(kind: str, currency: str, factor: int) -> tuple[Scenario, str]:
    """The scenario with its largest foreign-currency sale invoice (kind "invoice") or order (kind "order") moved
    to `currency`, `factor` times larger; and that document's number."""
    if kind == "invoice":
        candidates: list[Stamped[Any]] = [
            s for s in SCENARIO.invoices() if s.record.kind == "sale" and not s.record.cancelled
        ]
    else:
        candidates = list(SCENARIO.orders())
    foreign = [s for s in candidates if s.record.currency != LOCAL and s.record.rate is not None and s.record.lines]
    number = max(foreign, key=lambda s: s.record.totals.net).record.number

    def facts(found: Iterator[Stamped[Any]]) -> Iterator[Stamped[Any]]:
        for s in found:
            yield dataclasses.replace(s, record=scaled(s.record, currency, factor)) if s.record.number == number else s

    if kind == "invoice":
        return dataclasses.replace(SCENARIO, invoice_facts=lambda: facts(SCENARIO.invoices())), number
    return dataclasses.replace(SCENARIO, order_facts=lambda: facts(SCENARIO.orders())), number


def s4_document(sap: S4Emulator, stream: str, number: str) -> Any:
    settings = SapSettings(
        flavour="s4_odata",
        url=sap.url,
        sap_client=sap.client,
        auth={"username": sap.user, "password": sap.password},
        s4={"plant": PLANT, "exchange_rates": RATES},
        **DEMO_SETTINGS,
    )
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), settings) as source:
        found = source.stream(stream)
        [document] = [found.map(item) for item in found.fetch([number])]
    return document


def test_an_s4_invoice_quoted_indirectly_converts_at_the_exact_inverse() -> None:
    """1 TRY = 4.37219 JPY: a JPY billing document's local amounts are its amounts / 4.37219, not its amounts
    times 0.228718 (the inverse at six places)."""
    scenario, number = moved("invoice", "JPY", 10_000)
    quote = Decimal("4.37219")
    rate = 1 / Fraction(quote)
    with S4Emulator(scenario) as sap:
        sap.layout.billing.override((number,), AbsltAccountingExchangeRate=quote, AcctgExchangeRateIsIndrctQtan=True)
        invoice = s4_document(sap, "invoices", number)
    assert invoice.currency == "JPY" and invoice.totals.net >= 1_000_000
    # The case is one where rounding the rate first shows in the local net.
    assert local_totals(invoice.totals, Fraction(published(rate))).net != local_totals(invoice.totals, rate).net
    assert_local_amounts(invoice, rate)


@pytest.mark.parametrize(
    ("quote", "source_units", "target_units", "rate"),
    [
        ("22.87183", 100, 1, Fraction("22.87183") / 100),  # direct: 100 JPY = 22.87183 TRY
        ("-4.37219", 1, 1, 1 / Fraction("4.37219")),  # indirect: 1 TRY = 4.37219 JPY
        ("-437.21900", 1, 100, 100 / Fraction("437.219")),  # indirect: 100 TRY = 437.219 JPY
        ("0.22871", 1, 1, Fraction("0.22871")),  # direct, 1:1
    ],
)
def test_the_rate_table_applies_its_units_and_quotation_exactly(
    quote: str, source_units: int, target_units: int, rate: Fraction
) -> None:
    """An order without its own rate takes the rate table's of its date (TCURR as I_ExchangeRateRawData names it):
    rate per document unit = quote x target units / source units, or, quoted indirectly (negative),
    target units / (|quote| x source units)."""
    scenario, number = moved("order", "JPY", 10_000)
    with S4Emulator(scenario) as sap:
        sap.layout.orders.override((number,), AccountingExchangeRate=Decimal(0))  # none fixed on the order
        order_date = next(s.record.date for s in scenario.orders() if s.record.number == number)
        [key] = [k for k in sap.layout.rates.facts if k[1] == "JPY" and k[3] == order_date.isoformat()]
        sap.layout.rates.override(
            key,
            ExchangeRate=Decimal(quote),
            NumberOfSourceCurrencyUnits=Decimal(source_units),
            NumberOfTargetCurrencyUnits=Decimal(target_units),
        )
        order = s4_document(sap, "orders", number)
    assert order.currency == "JPY" and order.totals.net >= 1_000_000
    assert_local_amounts(order, rate)


def test_an_ecc_invoice_quoted_indirectly_converts_at_the_exact_inverse() -> None:
    """KURRF -43.87213 (1 TRY = 43.87213 NGN): the local amounts are the amounts / 43.87213, not the amounts times
    0.022794. (NGN, not JPY: ECC keeps the amounts of a currency without two decimals shifted by TCURX, which
    RFC_READ_TABLE does not undo; see the README's limits.)"""
    scenario, number = moved("invoice", "NGN", 1000)
    quote = Decimal("43.87213")
    rate = 1 / Fraction(quote)
    with EccEmulator(scenario) as ecc:
        ecc.db.update("VBRK", {"VBELN": number}, KURRF=-quote)
        settings = SapSettings(**ecc.settings())
        with SapAdapter(SourceContext("ecc", ZoneInfo(SCENARIO.timezone), 500), settings) as source:
            found = source.stream("invoices")
            [invoice] = [found.map(item) for item in found.fetch([number])]
    assert invoice.currency == "NGN" and invoice.totals.net >= 500_000
    assert local_totals(invoice.totals, Fraction(published(rate))).net != local_totals(invoice.totals, rate).net
    assert_local_amounts(invoice, rate)


@pytest.mark.parametrize(
    ("value", "indirect", "rate"),
    [
        ("160.12345", True, 1 / Fraction("160.12345")),
        ("-160.12345", False, 1 / Fraction("160.12345")),  # TCURR and FI keep an indirect quotation negative
        ("34.12346", False, Fraction("34.12346")),
    ],
)
def test_quoted_rates_are_exact(value: str, indirect: bool, rate: Fraction) -> None:
    found = quoted(value, indirect, "rate")
    assert found is not None and abs(Fraction(found) - rate) < Fraction(1, 10**25)
    assert quoted("0.00000", False, "rate") is None and quoted(None, True, "rate") is None


@pytest.mark.parametrize(
    ("value", "rate"),
    [("160.12345-", 1 / Fraction("160.12345")), ("35.12346", Fraction("35.12346"))],
)
def test_ecc_rates_are_exact(value: str, rate: Fraction) -> None:
    assert abs(Fraction(ecc_rate(value, "KURRF")) - rate) < Fraction(1, 10**25)
