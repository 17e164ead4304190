"""price_lists of УТ 11, 1C:ERP 2 and БП 3: the scenario's sales price lists laid by the emulator into price types
(Catalog_ВидыЦен / Catalog_ТипыЦенНоменклатуры) and their InformationRegister_ЦеныНоменклатуры records, read over
HTTP and synced through the engine.

How 1C holds the price lists differently (applied to the expected entries before comparing):
  * УТ 11.5's price types have no code: a list's code is its name (`codes: {price_types: Description}`), so
    list_code "SATIS" reads "Toptan satış fiyatları"; БП's price types have a Code: "SATIS" stays;
  * ЦеныНоменклатуры holds one price per item, characteristic and price type at a time (Упаковка is a resource,
    not a dimension): УТ keeps the wholesale list's per-case prices as a price type of their own, "<name> (кор)",
    whose records name the case packaging; БП keeps no packagings, so it holds no per-case price at all;
  * units have Russian names (шт, м, кг, кор; their UN/ECE codes are unchanged), the lira is the rouble (RUB,
    amounts kept);
  * valid_to is derived: a record holds until the day before the next record of the same dimensions, which is
    how the quarters of the wholesale list end (an item leaving a list gets a zero-priced record that ends it).
Compared without: min_quantity (1C keeps no minimum quantity on a price: the per-case entry's 1 is its
packaging), flags (the engine's).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import Excluded, SourceContext
from mapping.schema import PriceListEntry
from scenario import expect
from scenario.generate import build
from tests.strict_sync import sync

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
infobase = importlib.import_module("connectors.1c.infobase")
layout = importlib.import_module("connectors.1c.layout")

SCENARIO = build(invoice_lines=600)
IGNORE = frozenset({"min_quantity", "flags"})
PRICES = "InformationRegister_ЦеныНоменклатуры_RecordType"
PRODUCTS = {p.record.code: p.record for p in SCENARIO.products}

Key = tuple[str, str, str | None, Any]


def adapter(erp: Any, **overrides: Any) -> Any:
    context = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 250)
    return onec.OneCAdapter(context, onec.OneCSettings(**{**erp.settings(), **overrides}))


def read_all(source: Any, name: str = "price_lists") -> list[Any]:
    stream = source.stream(name)
    return [stream.map(item) for chunk in stream.read(None) for item in chunk]


def key(entry: PriceListEntry) -> Key:
    return (entry.list_code, entry.product_code, entry.unit, entry.valid_from)


def as_held(entry: PriceListEntry, bp: bool) -> PriceListEntry | None:
    """The scenario's entry as 1C keeps it (the module's docstring says why); None: 1C cannot hold it."""
    per_case = entry.unit != PRODUCTS[entry.product_code].base_unit
    if per_case and bp:
        return None
    unit = layout.RUSSIAN_UNITS[entry.unit]
    name = entry.list_name or entry.list_code
    if per_case:
        name = f"{name} ({unit})"
    return msgspec.structs.replace(
        entry,
        list_code=entry.list_code if bp else name,
        list_name=name,
        unit=unit,
        currency="RUB" if entry.currency == SCENARIO.local_currency else entry.currency,
    )


def expected(bp: bool) -> dict[Key, PriceListEntry]:
    held = (as_held(e, bp) for e in SCENARIO.price_lists)
    return {key(e): e for e in held if e is not None}


@pytest.fixture(scope="module", params=["ut11", "erp2", "bp3"])
def synced(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as erp, adapter(erp) as source:
        yield {
            "bp": request.param == "bp3",
            "price_lists": read_all(source),
            "discounts": read_all(source, "discounts"),
        }


@pytest.fixture
def ut() -> Iterator[tuple[Any, Any]]:
    with emulator.OneCEmulator(SCENARIO, configuration="ut11") as erp, adapter(erp) as source:
        yield erp, source


def test_the_price_lists_are_the_scenarios(synced: dict[str, Any]) -> None:
    got = {key(e): e for e in synced["price_lists"]}
    assert len(got) == len(synced["price_lists"]), "two records gave one (list, product, unit, valid_from)"
    want = expected(synced["bp"])
    assert set(got) == set(want)
    for k, entry in want.items():
        assert expect.comparable(got[k], IGNORE) == expect.comparable(entry, IGNORE), k
    # The quarters of the wholesale list end the day before the next one starts: derived, not stored.
    assert any(e.valid_to is not None for e in got.values())


def test_dealer_prices_stay_in_discounts_and_lists_out_of_them(synced: dict[str, Any]) -> None:
    """A price type one customer's agreement (УТ) / sales contract (БП) uses is that dealer's deal: its records are
    discounts of kind fixed_price and no price list entry; the shared lists' records are no discount."""
    dealer_prices = [d.record for d in SCENARIO.discounts if d.record.kind == "fixed_price" and d.record.active]
    discounts = synced["discounts"]
    assert len(discounts) == len(dealer_prices)
    assert all(d.kind == "fixed_price" and d.account_code for d in discounts)
    listed = {(d.product_code, str(d.valid_from), d.value) for d in discounts}
    assert not listed & {(e.product_code, str(e.valid_from), e.price) for e in synced["price_lists"]}
    assert not any(e.list_code.startswith("И-") for e in synced["price_lists"])


def test_a_purchase_price_type_is_no_sales_list_unless_all_are_asked_for(ut: tuple[Any, Any]) -> None:
    """УТ's purchase price type (ИспользоватьПриПродаже false) is left out by default; `price_list_types: all`
    reads every price type that is no customer's deal."""
    erp, source = ut
    assert "Закупочные цены" not in {e.list_code for e in read_all(source)}
    with adapter(erp, price_list_types="all") as every:
        codes = {e.list_code for e in read_all(every) if not isinstance(e, Excluded)}
    assert "Закупочные цены" in codes


def _current(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A record of the wholesale list's current quarter (the latest Period of the base price type)."""
    base = infobase.guid("price-type", "base")
    mine = [r for r in rows if r.get("ВидЦены_Key") == base]
    latest = max(str(r["Period"]) for r in mine)
    return next(r for r in mine if r["Period"] == latest)


def test_a_changed_price_comes_back_and_nothing_else(ut: tuple[Any, Any], tmp_path: Path) -> None:
    erp, source = ut
    first = sync(source, tmp_path, "price_lists")
    assert not first.dead and len(first.feed) == len(expected(False))
    rows = erp.infobase.sets[PRICES].rows
    row = _current(rows)
    row["Цена"] = round(float(row["Цена"]) + 1.25, 4)
    erp.infobase.replace_rows(PRICES, rows)
    before = dict(first.feed)
    second = sync(source, tmp_path, "price_lists")
    [result] = second.results
    assert (result.pushed, result.deleted, result.dead_lettered) == (1, 0, 0)
    changed = {k: v for k, v in second.feed.items() if before.get(k) != v}
    [(_, data)] = changed.items()
    assert data is not None and float(data["price"]) == row["Цена"]


def test_a_new_record_ends_the_open_one_and_a_zero_price_unlists(ut: tuple[Any, Any], tmp_path: Path) -> None:
    """valid_to is the day before the next record of the same dimensions; a zero price ends the listing and is
    left out by name (`zero_price_unlists`)."""
    erp, source = ut
    sync(source, tmp_path, "price_lists")
    rows = erp.infobase.sets[PRICES].rows
    open_row = _current(rows)
    later = {**open_row, "Recorder": infobase.guid("price-setting", "test"), "LineNumber": 1}
    later["Period"] = "2099-01-01T00:00:00"
    later["Цена"] = 0.0
    erp.infobase.replace_rows(PRICES, [*rows, later])
    second = sync(source, tmp_path, "price_lists")
    [result] = second.results
    assert result.excluded == {"a zero price: the item is no longer listed (zero_price_unlists)": 1}
    assert (result.pushed, result.dead_lettered) == (1, 0)
    [data] = [v for v in second.feed.values() if v is not None and v["valid_to"] == "2098-12-31"]
    assert float(data["price"]) == open_row["Цена"]


def test_a_bad_record_is_a_dead_letter_and_the_rest_flows(ut: tuple[Any, Any], tmp_path: Path) -> None:
    erp, source = ut
    rows = erp.infobase.sets[PRICES].rows
    bad = _current(rows)
    bad["Номенклатура_Key"] = infobase.guid("no such item")
    erp.infobase.replace_rows(PRICES, rows)
    outcome = sync(source, tmp_path, "price_lists")
    [(stream, _)] = outcome.dead
    assert stream == "price_lists"
    [reason] = outcome.dead.values()
    assert "nomenclature item that is not in the published catalog" in reason
    assert len(outcome.feed) == len(expected(False)) - 1


def test_a_price_replaced_the_same_day_is_left_out_by_name(ut: tuple[Any, Any]) -> None:
    """УТ's register is periodic to the second: of two records of one item and price type on one day the later
    stands for that day, and the earlier never held a whole day (one entry per list, product, unit and day)."""
    erp, source = ut
    rows = erp.infobase.sets[PRICES].rows
    row = _current(rows)
    noon = {**row, "Recorder": infobase.guid("price-setting", "noon"), "LineNumber": 1, "Цена": 7.5}
    noon["Period"] = str(row["Period"]).replace("T00:00:00", "T12:00:00")
    erp.infobase.replace_rows(PRICES, [*rows, noon])
    got = read_all(source)
    assert Excluded("a price replaced the same day (a later record of the same day stands)") in got
    entries = [e for e in got if not isinstance(e, Excluded)]
    assert len({key(e) for e in entries}) == len(entries) == len(expected(False))
    [replaced] = [e for e in entries if str(e.price) == "7.5000"]
    assert replaced.valid_to is None


def test_a_price_type_marked_for_deletion_gives_inactive_entries(ut: tuple[Any, Any]) -> None:
    erp, source = ut
    erp.infobase.update("Catalog_ВидыЦен", infobase.guid("price-type", "base"), DeletionMark=True)
    entries = read_all(source)
    wholesale = [e for e in entries if e.list_code == "Toptan satış fiyatları"]
    assert wholesale and not any(e.active for e in wholesale)
    assert all(e.active for e in entries if e not in wholesale)
