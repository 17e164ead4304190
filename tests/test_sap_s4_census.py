"""The S/4 code census against the emulator: every code value the adapter interprets, its rows and money, what
dealersync does with it and the source of that reading; an unknown code shows as unknown, makes check warn naming
the setting, and mapping it in the settings brings its rows into the feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.census import CodeCount, census_warnings
from connectors.sap import SapAdapter, SapSettings, codes
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, RATES, S4Emulator
from mapping.errors import RecordError
from scenario.generate import build
from tests.commands import with_source

SCENARIO = build(invoice_lines=400)


@pytest.fixture
def sap() -> Iterator[S4Emulator]:
    with S4Emulator(SCENARIO) as emulator:
        yield emulator


def _settings(sap: S4Emulator, s4: dict[str, Any] | None = None, **changes: Any) -> SapSettings:
    return SapSettings(
        flavour="s4_odata",
        url=sap.url,
        sap_client=sap.client,
        auth={"username": sap.user, "password": sap.password},
        s4={"plant": PLANT, "exchange_rates": RATES, **(s4 or {})},
        **{**DEMO_SETTINGS, **changes},
    )


def _census(sap: S4Emulator, since: dt.date | None = None, **settings: Any) -> list[CodeCount]:
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), _settings(sap, **settings)) as source:
        counts = source.census(since)
    assert counts is not None
    return counts


def _find(counts: list[CodeCount], column: str, *value: str) -> CodeCount:
    return next(c for c in counts if c.column.name.startswith(column) and c.value == value)


def _read(sap: S4Emulator, stream: str, **settings: Any) -> tuple[dict[str, Any], dict[str, str]]:
    records: dict[str, Any] = {}
    errors: dict[str, str] = {}
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), _settings(sap, **settings)) as source:
        found = source.stream(stream)
        for chunk in found.read(None):
            for item in chunk:
                try:
                    records[found.key(item)] = found.map(item)
                except RecordError as exc:
                    errors[found.key(item)] = str(exc)
    return records, errors


def test_the_demo_census_knows_every_value_and_names_each_reading_s_source(sap: S4Emulator) -> None:
    counts = _census(sap)
    assert census_warnings(counts) == []
    assert [c.shown for c in counts if c.reading is None] == []
    streams = {c.column.stream for c in counts}
    assert streams == {
        "accounts", "products", "stock_levels", "discounts", "price_lists", "orders", "invoices", "collections",
        "account_ledger", "stock_movements",
    }  # fmt: skip
    sales = _find(counts, "BillingDocumentType", "F2", "M")
    f2 = [i for i in (st.record for st in SCENARIO.invoices()) if i.kind in ("sale", "service")]
    assert sales.rows == len(f2) and sales.money == sum(i.totals.net for i in f2)
    assert sales.reading is not None and sales.reading.action == "invoice kind sale"
    assert sales.reading.source == "UNCONFIRMED"  # the default billing_types: SAP customising, unproven
    cancel = _find(counts, "BillingDocumentType", "S1", "N")
    assert cancel.reading is not None and not cancel.reading.sent and "VBTYP" in cancel.reading.source
    vprs = _find(counts, "ConditionType x ConditionClass", "VPRS", "B", "statistical")
    assert vprs.reading is not None and not vprs.reading.sent
    own = _find(counts, "InventorySpecialStockType", "")
    assert own.reading is not None and "0RPA_SSC" in own.reading.source
    # Price records without customer, per price list type: the scenario's two lists, all PPR0, VAT excluded.
    lists = [c for c in counts if c.column.stream == "price_lists"]
    assert {c.value for c in lists} == {("PPR0", "01"), ("PPR0", "02")}
    assert sum(c.rows for c in lists) == len(SCENARIO.price_lists)
    wholesale = _find(counts, "ConditionType x PriceListType", "PPR0", "01").reading
    assert wholesale is not None and "VAT excluded" in wholesale.action and wholesale.source == "UNCONFIRMED"
    receivables = _find(counts, "AccountingDocumentType x PaymentMethod", "RV", "")
    assert receivables.reading is not None and not receivables.reading.sent


def test_settings_the_configuration_gives_are_the_reading_s_source(sap: S4Emulator) -> None:
    counts = _census(sap, billing_types={**codes.DEFAULT_BILLING_TYPES})
    reading = _find(counts, "BillingDocumentType", "F2", "M").reading
    assert reading is not None and reading.source == "your settings"


def test_documents_are_counted_from_the_date_given(sap: S4Emulator) -> None:
    since = SCENARIO.as_of.date() - dt.timedelta(days=200)
    counts = _census(sap, since)
    billing = sum(c.rows for c in counts if c.column.name.startswith("BillingDocumentType"))
    held = [fact.record for fact in sap.layout.billing.facts.values()]
    assert billing == sum(1 for doc in held if doc.date >= since) < len(held)
    orders = sum(c.rows for c in counts if c.column.name == "SalesOrderType")
    assert orders == sum(1 for st in SCENARIO.orders() if st.record.date >= since)


def test_an_unknown_billing_type_is_unknown_warns_and_arrives_once_mapped(sap: S4Emulator) -> None:
    invoice = next(st.record for st in SCENARIO.invoices() if st.record.kind == "sale" and not st.record.cancelled)
    sap.layout.billing.override((invoice.number,), BillingDocumentType="ZIC", SDDocumentCategory="5")
    counts = _census(sap)
    unknown = _find(counts, "BillingDocumentType", "ZIC", "5")
    assert (unknown.reading, unknown.rows, unknown.money) == (None, 1, invoice.totals.net)
    (warning,) = census_warnings(counts)
    assert warning.warning and warning.name == "codes invoices"
    assert (
        f"ZIC x 5 (1 rows, {invoice.totals.net:,.2f})" in warning.detail and "setting billing_types" in warning.detail
    )
    _, errors = _read(sap, "invoices")
    assert errors == {invoice.number: "kind: billing type 'ZIC' (category '5') is not a sales invoice kind: map it "
                                      "(or exclude it) in the setting billing_types"}  # fmt: skip
    mapped = {**codes.DEFAULT_BILLING_TYPES, "ZIC": "sale"}
    invoices, errors = _read(sap, "invoices", billing_types=mapped)
    assert errors == {} and invoices[invoice.number].kind == "sale"
    assert census_warnings(_census(sap, billing_types=mapped)) == []
    excluded = {**codes.DEFAULT_BILLING_TYPES, "ZIC": "excluded"}
    invoices, errors = _read(sap, "invoices", billing_types=excluded)
    assert errors == {} and invoice.number not in invoices


def test_an_unknown_order_type_is_a_dead_letter_until_the_setting_maps_it(sap: S4Emulator) -> None:
    order = next(st.record for st in SCENARIO.orders())
    sap.layout.orders.override((order.number,), SalesOrderType="ZOS")
    counts = _census(sap)
    assert _find(counts, "SalesOrderType", "ZOS").reading is None
    assert any("s4.sales_order_types" in w.detail for w in census_warnings(counts))
    _, errors = _read(sap, "orders")
    assert list(errors) == [order.number] and "add it to the setting s4.sales_order_types" in errors[order.number]
    orders, errors = _read(sap, "orders", s4={"sales_order_types": {"OR": "order", "ZOS": "order"}})
    assert errors == {} and orders[order.number].number == order.number
    orders, errors = _read(sap, "orders", s4={"sales_order_types": {"OR": "order", "ZOS": "excluded"}})
    assert errors == {} and order.number not in orders


def test_an_unknown_special_stock_type_is_a_dead_letter_until_the_setting_maps_it(sap: S4Emulator) -> None:
    level = SCENARIO.stock_levels[0]
    fact = (level, "01", Decimal(3), {"InventorySpecialStockType": "Y", "Customer": "0000000042"})
    row = sap.layout.stock.render(fact)
    sap.layout.stock.put(tuple(str(row[k]) for k in sap.layout.stock.key_fields), fact)
    counts = _census(sap)
    assert _find(counts, "InventorySpecialStockType", "Y").reading is None
    assert any("s4.special_stock_types" in w.detail for w in census_warnings(counts))
    _, errors = _read(sap, "stock_levels")
    assert list(errors.values()) == [
        "special_stock: special stock type 'Y' is not mapped: add it to the setting s4.special_stock_types"
    ]
    types = {"Y": "other", "E": "sales_order", "W": "consignment", "Q": "project"}
    levels, errors = _read(sap, "stock_levels", s4={"special_stock_types": types})
    assert errors == {}
    (other,) = [s for s in levels.values() if s.special_stock == "other"]
    assert (other.product_code, other.on_hand, other.special_stock_ref) == (level.product_code, 3, "42")


def test_check_warns_and_discover_codes_prints_the_census(sap: S4Emulator, tmp_path: Path) -> None:
    """The command line: `check` passes with a warning naming the setting; `discover --codes` lists the value."""
    sales = [st.record for st in SCENARIO.invoices() if st.record.kind == "sale" and not st.record.cancelled]
    invoice = max(sales, key=lambda i: i.date)  # check's census looks at the last year
    sap.layout.billing.override((invoice.number,), BillingDocumentType="ZIC", SDDocumentCategory="5")
    source = {
        "name": "s4",
        "kind": "sap",
        "timezone": SCENARIO.timezone,
        "flavour": "s4_odata",
        "url": sap.url,
        "sap_client": sap.client,
        "auth": {"username": sap.user, "password": "${S4_PASSWORD}"},
        "local_currency": SCENARIO.local_currency,
        **DEMO_SETTINGS,
        "s4": {"plant": PLANT, "exchange_rates": RATES},
    }
    run = with_source(tmp_path, source, {"S4_PASSWORD": sap.password})

    checked = run("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all checks passed, with warnings" in checked.stdout
    assert "ZIC x 5 (1 rows" in checked.stdout and "billing_types" in checked.stdout
    census = run("discover", "--codes")
    assert census.returncode == 0, census.stdout + census.stderr
    line = next(line for line in census.stdout.splitlines() if "ZIC x 5" in line)
    assert f"{invoice.totals.net:,.2f}" in line and "unknown: not in the feed" in line
    assert "1 code value(s) unknown to dealersync" in census.stdout
    assert sap.password not in checked.stdout + census.stdout
