"""Values as 1C sends them, found on payloads captured from live 1C systems: LineNumber as a JSON string,
БП's VAT rate as an enumeration on the line and a kind of rate on the item, VAT-inclusive documents.
The captured БП sale (vendor/bp3_capture_*) is read through the emulator and must come out exactly."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from mapping.invariants import discrepancies
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
infobase = importlib.import_module("connectors.1c.infobase")
vendor_data = importlib.import_module("connectors.1c.vendor_data")
publish_documents = importlib.import_module("connectors.1c.publish_documents")

SCENARIO = build(invoice_lines=1000)
CONTEXT = SourceContext("1c", ZoneInfo("Europe/Moscow"), 250)
SALES = "Document_РеализацияТоваровУслуг"
D = Decimal


def adapter(erp: Any, **overrides: Any) -> Any:
    return onec.OneCAdapter(CONTEXT, onec.OneCSettings(**{**erp.settings(), **overrides}))


def fetched(erp: Any, stream_name: str, ref: str, **overrides: Any) -> Any:
    with adapter(erp, **overrides) as source:
        stream = source.stream(stream_name)
        [item] = stream.fetch([ref])
        return stream.map(item)


@pytest.fixture(params=["ut11", "bp3"])
def erp(request: pytest.FixtureRequest) -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as running:
        yield running


def test_line_number_is_a_string_and_lines_follow_it_as_numbers(erp: Any) -> None:
    lines = erp.infobase.sets[f"{SALES}_Товары"]
    ref = next(r for r, rows in lines.index("Ref_Key").items() if len(rows) >= 10)
    wire = json.loads(erp.answer(f"/trade/odata/standard.odata/{SALES}_Товары?$format=json&$top=1").body)
    assert wire["value"][0]["LineNumber"] == "1"  # Edm.Int64 goes out as a JSON string
    invoice = fetched(erp, "invoices", ref)
    stored = sorted(lines.index("Ref_Key")[ref], key=lambda row: row["LineNumber"])
    assert (
        [line.line_no for line in invoice.lines]
        == [row["LineNumber"] for row in stored]
        == list(range(1, len(stored) + 1))
    )
    products = {r["Ref_Key"]: r["Code"] for r in erp.infobase.sets["Catalog_Номенклатура"].rows}
    assert [line.product_code for line in invoice.lines] == [products[row["Номенклатура_Key"]] for row in stored]


def _capture(erp: Any) -> list[dict[str, Any]]:
    """The captured БП sales loaded into the emulator as 1C returned them (only the fields the emulator's sets
    hold), with catalog entries for what they refer to."""
    documents = json.loads((vendor_data.VENDOR / "bp3_capture_Document_РеализацияТоваровУслуг.json").read_text())
    base = erp.infobase
    units = "Catalog_КлассификаторЕдиницИзмерения"
    unit = "f40235d5-d84c-11ea-8133-0050569f62a1"
    base.add(units, {"Ref_Key": unit, "DeletionMark": False, "Code": "796", "Description": "шт"})
    base.add("Catalog_Валюты", {"Ref_Key": documents["value"][0]["ВалютаДокумента_Key"], "Code": "643"})
    base.add(
        "Catalog_Пользователи", {"Ref_Key": documents["value"][0]["Ответственный_Key"], "Description": "Кладовщик"}
    )
    base.add(
        "Catalog_Склады", {"Ref_Key": documents["value"][0]["Склад_Key"], "Code": "00001", "Description": "Основной"}
    )
    for n, document in enumerate(documents["value"]):
        code = f"К-{n}"
        base.add("Catalog_Контрагенты", {"Ref_Key": document["Контрагент_Key"], "Code": code, "IsFolder": False})
        for section in ("Товары", "Услуги"):
            for line in document[section]:
                item = {"Ref_Key": line["Номенклатура_Key"], "Code": line["Номенклатура_Key"][:8], "IsFolder": False}
                base.add("Catalog_Номенклатура", {**item, "ЕдиницаИзмерения_Key": unit, "Услуга": section == "Услуги"})
                held = base.sets[f"{SALES}_{section}"].fields
                base.add(f"{SALES}_{section}", {k: v for k, v in line.items() if k in held})
        base.add(SALES, {k: v for k, v in document.items() if k in base.sets[SALES].fields})
    return list(documents["value"])


def test_the_captured_bp_sale_reads_exactly() -> None:
    """The real БП 3.0 sale: СуммаВключаетНДС true, Сумма 136,375 + 13,754 with VAT inside (СуммаНДС 22,729.17 +
    2,292.33), СуммаДокумента 150,129. Net is Сумма - СуммаНДС, and no discount: БП's lines have no
    discount column, so the VAT must not reappear as one (25,021.50)."""
    with emulator.OneCEmulator(build(invoice_lines=100), configuration="bp3") as erp:
        goods, services = _capture(erp)
        assert fetched(erp, "invoices", goods["Ref_Key"]) is None  # captured unposted: not in the feed
        for document in (goods, services):
            erp.infobase.update(SALES, document["Ref_Key"], Posted=True)  # as posting it would
        sale = fetched(erp, "invoices", goods["Ref_Key"])
        service = fetched(erp, "invoices", services["Ref_Key"])
    figures = [(x.line_no, x.quantity, x.unit_price, x.gross, x.discount, x.net, x.vat, x.vat_rate) for x in sale.lines]
    assert figures == [
        (1, D("25.000"), D("5455.0000"), D("113645.83"), D("0.00"), D("113645.83"), D("22729.17"), D("20.00")),
        (2, D("2.000"), D("6877.0000"), D("11461.67"), D("0.00"), D("11461.67"), D("2292.33"), D("20.00")),
    ]
    t = sale.totals
    assert (t.gross, t.discount, t.net, t.vat, t.total) == (
        D("125107.50"),
        D("0.00"),
        D("125107.50"),
        D("25021.50"),
        D("150129.00"),
    )
    assert sale.number == "0000-000001" and sale.kind == "sale" and sale.currency == "RUB"
    assert service.kind == "service" and [x.net for x in service.lines] == [D("43425.00"), D("47036.67")]
    assert (service.totals.vat, service.totals.total) == (D("18092.33"), D("108554.00"))
    assert discrepancies(sale) == [] and discrepancies(service) == []


def test_bp_vat_comes_from_the_line_enumeration_and_the_item_kind_of_rate() -> None:
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp:
        items = erp.infobase.sets["Catalog_Номенклатура"]
        item = next(r for r in items.rows if r["ВидСтавкиНДС"] == "Общая")
        assert fetched(erp, "products", item["Ref_Key"]).vat_rate == D("20.00")
        erp.infobase.update("Catalog_Номенклатура", item["Ref_Key"], ВидСтавкиНДС="Пониженная")
        assert fetched(erp, "products", item["Ref_Key"]).vat_rate == D("10.00")
        # The rate a kind stands for changes with the law: vat_kinds says which is in force.
        assert fetched(erp, "products", item["Ref_Key"], vat_kinds={"Пониженная": 12}).vat_rate == D("12.00")
        lines = erp.infobase.sets[f"{SALES}_Товары"]
        line = next(r for r in lines.rows if r["СтавкаНДС"] == "НДС20")
        line["СтавкаНДС"] = "НДС20_120"  # the calculated rate: 20/120 of an amount with VAT, 20 % of its net
        lines.changed()
        erp.infobase.revision += 1
        invoice = fetched(erp, "invoices", line["Ref_Key"])
        assert invoice.lines[line["LineNumber"] - 1].vat_rate == D("20.00")
        erp.infobase.update("Catalog_Номенклатура", item["Ref_Key"], ВидСтавкиНДС="БезНДС")
        assert fetched(erp, "products", item["Ref_Key"]).vat_rate is None  # no VAT: no rate


def test_vat_included_prices_do_not_book_the_vat_as_a_discount() -> None:
    """УТ: with ЦенаВключаетНДС, Сумма and the manual discount include VAT; net is Сумма - СуммаНДС and the
    discount is brought to the same VAT-exclusive footing, so the scenario's figures come back."""
    facts = {i.record.number: i.record for i in SCENARIO.invoices()}
    with emulator.OneCEmulator(SCENARIO, configuration="ut11") as erp:
        inclusive = [
            row
            for row in erp.infobase.sets[SALES].rows
            if row["ЦенаВключаетНДС"] and row["Number"] in facts and facts[row["Number"]].totals.discount
        ]
        assert inclusive
        for row in inclusive[:5]:
            fact, got = facts[row["Number"]], fetched(erp, "invoices", row["Ref_Key"])
            assert got.totals == fact.totals
            assert [x.discount for x in got.lines] == [x.discount for x in fact.lines]
            assert publish_documents.vat_included(row["Number"])
