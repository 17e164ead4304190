"""The 1C code census against the emulator: every value found with its rows, money and reading; an unknown
value shows as unknown, makes check warn naming the setting, and arrives in the feed once mapped."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.census import census_warnings
from mapping.errors import RecordError
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
infobase = importlib.import_module("connectors.1c.infobase")

SCENARIO = build(invoice_lines=1000)
CONTEXT = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 250)
SALES = "Document_РеализацияТоваровУслуг"


def adapter(erp: Any, **overrides: Any) -> Any:
    return onec.OneCAdapter(CONTEXT, onec.OneCSettings(**{**erp.settings(), **overrides}))


@pytest.fixture(params=["ut11", "bp3"])
def erp(request: pytest.FixtureRequest) -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as running:
        yield running


def counts(erp: Any, since: dt.date | None = None, **overrides: Any) -> dict[tuple[str, str, str], Any]:
    with adapter(erp, **overrides) as source:
        return {(c.column.stream, c.column.name, c.shown): c for c in source.census(since)}


def posted_sales(erp: Any, n: int) -> list[dict[str, Any]]:
    rows = [r for r in erp.infobase.sets[SALES].rows if r["Posted"] and "-" not in r["Number"]]
    return rows[-n:]


def test_the_demo_census_knows_every_value_that_carries_money(erp: Any) -> None:
    found = counts(erp)
    unknown = [c for c in found.values() if c.reading is None and (c.money or not c.column.money)]
    assert unknown == []
    sales = found["invoices", "document set", SALES]
    assert sales.reading.sent and sales.rows == sum(1 for r in erp.infobase.sets[SALES].rows if r["Posted"])
    # Left out on purpose, with why: a retail sale (УТ) / a shipment before ownership passes (БП).
    left_out = [c for c in found.values() if c.reading is not None and not c.reading.sent]
    assert {c.column.stream for c in left_out} == {"invoices", "collections"} and all(c.money for c in left_out)
    op = "ХозяйственнаяОперация" if erp.configuration == "ut11" else "ВидОперации"
    assert all(c.reading.source.endswith(".json)") for c in left_out if op in c.column.name)
    vat = {key[2]: c for key, c in found.items() if key[1].startswith("lines' СтавкаНДС")}
    assert vat["НДС20"].reading.action == "vat_rate 20" and vat["НДС20"].rows > 0
    items = {key[2]: c for key, c in found.items() if key[0] == "products"}
    if erp.configuration == "bp3":  # a kind of rate names no rate: the reading is this install's, UNCONFIRMED
        assert items["Общая"].reading.source == "UNCONFIRMED" and items["Общая"].money is None
    else:
        assert items["НДС20"].reading.action == "vat_rate 20"


def test_an_unknown_operation_is_counted_warns_and_arrives_once_mapped(erp: Any) -> None:
    field = "ХозяйственнаяОперация" if erp.configuration == "ut11" else "ВидОперации"
    value = "РеализацияЧерезКомиссионера" if erp.configuration == "ut11" else "ПродажаЧерезКомиссионера"
    chosen = posted_sales(erp, 2)
    for row in chosen:
        erp.infobase.update(SALES, row["Ref_Key"], **{field: value})
    money = sum((Decimal(repr(row["СуммаДокумента"])) for row in chosen), Decimal("0.00"))
    found = counts(erp)[("invoices", f"set x {field}", f"{SALES} x {value}")]
    assert found.reading is None and found.rows == 2 and found.money == money
    [warning] = [w for w in census_warnings(counts(erp).values()) if w.name == "codes invoices"]
    assert warning.warning and f"{SALES} x {value} (2 rows, {money:,.2f})" in warning.detail
    assert "with the setting operations.invoices" in warning.detail
    with adapter(erp) as source:
        stream = source.stream("invoices")
        [item] = stream.fetch([chosen[0]["Ref_Key"]])
        with pytest.raises(RecordError, match=f"operations: {{invoices: {{{value}: include}}}}"):
            stream.map(item)  # a dead letter with its reason until the value is mapped
    mapped = {"operations": {"invoices": {value: "include"}}}
    assert counts(erp, **mapped)[("invoices", f"set x {field}", f"{SALES} x {value}")].reading.sent
    with adapter(erp, **mapped) as source:
        stream = source.stream("invoices")
        sent = {stream.map(item).number for chunk in stream.read(None) for item in chunk if stream.map(item)}
    assert {row["Number"] for row in chosen} <= sent


def test_an_unknown_vat_code_is_counted_and_named_by_its_setting() -> None:
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp:
        [sale] = posted_sales(erp, 1)
        lines = erp.infobase.sets[f"{SALES}_Товары"]
        line = next(r for r in lines.rows if r["Ref_Key"] == sale["Ref_Key"])
        line["СтавкаНДС"] = "НДС22"  # a rate this configuration release does not list
        lines.changed()
        erp.infobase.revision += 1
        found = counts(erp)[("invoices", "lines' СтавкаНДС", "НДС22")]
        assert found.reading is None and found.rows == 1
        with adapter(erp) as source:
            stream = source.stream("invoices")
            [item] = stream.fetch([sale["Ref_Key"]])
            with pytest.raises(RecordError, match="unknown VAT code 'НДС22': map it with the setting vat_rates"):
                stream.map(item)
        with adapter(erp, vat_rates={"НДС22": 22}) as source:
            stream = source.stream("invoices")
            [item] = stream.fetch([sale["Ref_Key"]])
            invoice = stream.map(item)
        assert invoice is not None and Decimal("22.00") in {x.vat_rate for x in invoice.lines}
        assert counts(erp, vat_rates={"НДС22": 22})[("invoices", "lines' СтавкаНДС", "НДС22")].reading.source == (
            "your settings"
        )


def test_a_currency_code_that_is_not_iso_is_unknown_until_mapped(erp: Any) -> None:
    usd = erp.infobase.get("Catalog_Валюты", infobase.guid("currency", "USD"))
    erp.infobase.update("Catalog_Валюты", usd["Ref_Key"], Code="у.е.")  # a site's conventional unit
    found = counts(erp)[("invoices", "Catalog_Валюты.Code", "у.е.")]
    assert found.reading is None and found.rows > 0
    assert counts(erp, currency_codes={"у.е.": "USD"})[("invoices", "Catalog_Валюты.Code", "у.е.")].reading.sent


def test_the_census_counts_documents_from_a_date(erp: Any) -> None:
    since = SCENARIO.as_of.date() - dt.timedelta(days=60)
    every, recent = counts(erp), counts(erp, since=since)
    key = ("invoices", "document set", SALES)
    dates = [dt.date.fromisoformat(r["Date"][:10]) for r in erp.infobase.sets[SALES].rows if r["Posted"]]
    assert recent[key].rows == sum(1 for d in dates if d >= since) < every[key].rows
