"""Amounts of currencies without two decimals: SAP stores every CURR amount with two decimals, shifted by the
currency's TCURX decimals (10,000 JPY is kept as 100.00, 1.234 KWD as 12.34), and RFC_READ_TABLE returns the
stored value. The emulator stores them so (ecc_scenario.internal); the adapter reads TCURX and scales each
amount by the currency its DDIC reference names: the document's for SD amounts, the company code's for DMBTR."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.ecc import EccSource
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_scenario import internal
from connectors.sap.emulator.ecc_where import packed
from mapping.money import apportion, to_local_totals, unit_price
from mapping.schema import Collection, Discount, Invoice, Totals
from scenario.facts import Change
from scenario.generate import build

SCENARIO = build(invoice_lines=300)
TZ = ZoneInfo(SCENARIO.timezone)
LOCAL = SCENARIO.local_currency
CENT = Decimal("0.01")
DAY = dt.date(2031, 3, 3)  # after every scenario document: a census from this day sees only this test's
AT = dt.datetime(2031, 3, 3, 10, 30, tzinfo=TZ)

# currency, its TCURX decimals, the factor from a scenario invoice's amounts to this one's, the rate (DEC 9,5)
CASES = [
    pytest.param("JPY", 0, Decimal(100), Decimal("0.21567"), id="JPY, 0 decimals"),
    pytest.param("KWD", 3, Decimal("0.1"), Decimal("98.76543"), id="KWD, 3 decimals"),
    # Not in the emulated TCURX: SAP keeps two decimals, though ISO 4217 gives BHD three.
    pytest.param("BHD", 2, Decimal(1), Decimal("85.12345"), id="BHD, not in TCURX"),
]


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def adapter(ecc: EccEmulator) -> SapAdapter:
    return SapAdapter(SourceContext("ecc", TZ, 500), SapSettings(**ecc.settings()))


def _scaled(totals: Totals, factor: Decimal) -> Totals:
    return Totals(
        gross=totals.gross * factor,
        discount=totals.discount * factor,
        net=totals.net * factor,
        vat=totals.vat * factor,
        total=totals.total * factor,
    )


def invoice_in(currency: str, factor: Decimal, rate: Decimal) -> Invoice:
    """A scenario sale in `currency`, its amounts times `factor` (so JPY amounts are whole yen)."""
    fact = next(
        st.record
        for st in SCENARIO.invoices()
        if st.record.kind == "sale" and not st.record.cancelled and len(st.record.lines) > 2
    )
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
        for line in fact.lines
    ]
    return msgspec.structs.replace(
        fact,
        number=f"T{currency}1",
        date=DAY,
        currency=currency,
        rate=rate,
        totals=_scaled(fact.totals, factor),
        totals_local=None,
        lines=lines,
    )


def collection_in(currency: str, factor: Decimal, rate: Decimal, account: str) -> Collection:
    return Collection(
        number=f"C{currency}1",
        account_code=account,
        date=DAY,
        amount=Decimal("12345.67") * factor,
        currency=currency,
        rate=rate,
        amount_local=(Decimal("12345.67") * factor * rate).quantize(CENT, ROUND_HALF_UP),
        method="bank_transfer",
    )


def row(ecc: EccEmulator, table: str, **key: str) -> dict[str, str]:
    return next(r for r in ecc.db.stores[table].rows if all(r[k].strip() == v for k, v in key.items()))


@pytest.mark.parametrize(("currency", "decimals", "factor", "rate"), CASES)
def test_an_invoice_is_read_with_its_currencys_decimals(
    ecc: EccEmulator, currency: str, decimals: int, factor: Decimal, rate: Decimal
) -> None:
    fact = invoice_in(currency, factor, rate)
    ecc.apply(Change("new_invoice", AT, invoice=fact))
    # SAP's internal form: shifted to two decimals (10,000 JPY as 100.00, 1.234 KWD as 12.34)
    header = row(ecc, "VBRK", VBELN=fact.number)
    assert packed(header["NETWR"]) == fact.totals.net.scaleb(decimals - 2)
    with adapter(ecc) as source:
        stream = source.stream("invoices")
        [got] = [stream.map(item) for item in stream.fetch([fact.number])]
    assert isinstance(got, Invoice)
    assert (got.currency, got.rate) == (currency, rate)
    assert got.totals == fact.totals
    local = to_local_totals(fact.totals, rate, LOCAL)
    assert got.totals_local == local
    shares = apportion(local.net, [line.net for line in fact.lines])
    for line, want, share in zip(got.lines, fact.lines, shares, strict=True):
        assert (line.gross, line.discount, line.net, line.vat) == (want.gross, want.discount, want.net, want.vat)
        assert line.unit_price == unit_price(want.unit_price, "unit_price")
        assert line.net_local == share


@pytest.mark.parametrize(("currency", "decimals", "factor", "rate"), CASES)
def test_a_collection_is_read_in_its_currency_and_locally_in_the_company_codes(
    ecc: EccEmulator, currency: str, decimals: int, factor: Decimal, rate: Decimal
) -> None:
    account = next(a.record.code for a in SCENARIO.accounts if a.record.kind == "customer")
    fact = collection_in(currency, factor, rate, account)
    ecc.apply(Change("new_collection", AT, collection=fact))
    item = row(ecc, "BSID", BELNR=fact.number)
    assert packed(item["WRBTR"]) == fact.amount.scaleb(decimals - 2)
    assert packed(item["DMBTR"]) == fact.amount_local  # local currency: two decimals
    with adapter(ecc) as source:
        stream = source.stream("collections")
        [got] = [stream.map(i) for i in stream.fetch([f"1000:{DAY.year}:{fact.number}:001"])]
    assert isinstance(got, Collection)
    assert (got.currency, got.amount, got.rate, got.amount_local) == (currency, fact.amount, rate, fact.amount_local)


@pytest.mark.parametrize(("currency", "decimals", "factor", "rate"), CASES)
def test_the_census_counts_the_amounts_read_so(
    ecc: EccEmulator, currency: str, decimals: int, factor: Decimal, rate: Decimal
) -> None:
    invoice = invoice_in(currency, factor, rate)
    ecc.apply(Change("new_invoice", AT, invoice=invoice))
    with adapter(ecc) as source:
        assert isinstance(source.source, EccSource)
        counts = {(c.column.name, c.value): c for c in source.source.census(DAY)}
    billing = counts["VBRK FKART x VBTYP", ("F2", "M")]
    assert (billing.rows, billing.money) == (1, (invoice.totals.net * rate).quantize(CENT))
    receivable = counts["BSID/BSAD BLART x ZLSCH x SHKZG", ("RV", "", "S")]
    assert receivable.money == (invoice.totals.total * rate).quantize(CENT, ROUND_HALF_UP)


def test_condition_amounts_are_read_in_their_currency_and_percentages_as_they_are(ecc: EccEmulator) -> None:
    """KONP-KBETR of an amount (KRECH B) or a price (C) is in KONWA's decimals; a percentage (A) is a rate."""
    listed = set(ecc.laid.prices.records.values())  # price list records: not the discounts stream's
    konp = {
        r["KRECH"].strip(): r
        for r in ecc.db.stores["KONP"].rows
        if not r["STFKZ"].strip() and r["KNUMH"].strip() not in listed  # no scale
    }
    amount_record, price_record = konp["B"]["KNUMH"].strip(), konp["C"]["KNUMH"].strip()
    percent_record = konp["A"]["KNUMH"].strip()
    ecc.db.update("KONP", {"KNUMH": amount_record, "KOPOS": "01"}, KONWA="JPY", KBETR=internal(Decimal(-1500), "JPY"))
    price = internal(Decimal("12.345"), "KWD")
    ecc.db.update("KONP", {"KNUMH": price_record, "KOPOS": "01"}, KONWA="KWD", KBETR=price, KPEIN=1)
    with adapter(ecc) as source:
        stream = source.stream("discounts")
        got = {d.code: d for d in (stream.map(i) for chunk in stream.read(None) for i in chunk) if d is not None}
    assert isinstance(got[str(int(amount_record))], Discount)
    assert (got[str(int(amount_record))].value, got[str(int(amount_record))].currency) == (Decimal(1500), "JPY")
    assert (got[str(int(price_record))].value, got[str(int(price_record))].currency) == (Decimal("12.345"), "KWD")
    stored = packed(konp["A"]["KBETR"])  # per mille, negative for a discount: -75.00 is 7.5 % off
    assert got[str(int(percent_record))].value == -stored / 10


def test_tcurx_is_read_once_per_adapter(ecc: EccEmulator) -> None:
    with adapter(ecc) as source:
        for name in ("invoices", "collections", "risk_limits", "discounts"):
            stream = source.stream(name)
            assert [stream.map(item) for chunk in stream.read(None) for item in chunk]
    reads = [c.fields for c in ecc.calls("RFC_READ_TABLE") if c.table == "TCURX" and c.fields]  # not its field list
    assert reads == [("CURRKEY", "CURRDEC")]


def test_check_proves_tcurx_for_every_stream_that_reads_amounts(ecc: EccEmulator) -> None:
    ecc.drop("TCURX", "CURRDEC")
    with adapter(ecc) as source:
        results: dict[str, Any] = {r.name: r for r in source.check()}
    failed = sorted(n for n, r in results.items() if n.endswith(": schema") and not r.ok)
    amounts = ["account_ledger", "collections", "discounts", "invoices", "orders", "price_lists", "risk_limits"]
    assert failed == [f"stream {name}: schema" for name in amounts]
    assert all("missing field CURRDEC in TCURX" in results[name].detail for name in failed)
