"""Units of the S/4 flavour: the shared SAP codes, the OData V2 value forms and paging (single requests via
`responses`: the reader's requests, not the system), and the emulator's $filter reading of the literal forms the
reader sends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import responses

from connectors.edmx import parse
from connectors.http import HttpClient, HttpSourceError
from connectors.sap import SapSettings, codes
from connectors.sap.emulator.s4_entity_set import EntitySet
from connectors.sap.emulator.s4_filter import FilterParser, ODataError
from connectors.sap.emulator.s4_metadata import vendor_file
from connectors.sap.s4.odata import ODataReader
from connectors.sap.s4.rates import quoted
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.snapshots import StockLevels
from connectors.sap.s4.streams import S4Env
from connectors.sap.s4.values import (
    date_literal,
    expanded,
    expanded_one,
    instant_of,
    string_literal,
    time_of,
    wall_time,
)
from mapping.errors import RecordError
from mapping.money import rate as to_rate

IST = ZoneInfo("Europe/Istanbul")
ROOT = "https://s4.example.com/sap/opu/odata/sap"
THING_METADATA = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
 xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><edmx:DataServices m:DataServiceVersion="2.0">
<Schema Namespace="API_X" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
<EntityType Name="A_ThingType"><Key><PropertyRef Name="K"/></Key><Property Name="K" Type="Edm.String" Nullable="false"/>
</EntityType><EntityContainer Name="API_X_Entities"><EntitySet Name="A_Thing" EntityType="API_X.A_ThingType"/>
</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"""
THING = Read("API_X/A_Thing", "s4.things", ("K",), Shape((f("K"),)))


# --- codes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "length", "internal", "display"),
    [("1234", 10, "0000001234", "1234"), ("120.01.0001", 10, "120.01.0001", "120.01.0001"), ("0", 18, "0" * 18, "0")],
)
def test_alpha_conversion(value: str, length: int, internal: str, display: str) -> None:
    assert codes.alpha_in(value, length) == internal
    assert codes.alpha_out(internal) == display


def test_alpha_in_refuses_overlong_numbers() -> None:
    with pytest.raises(ValueError, match="longer than 10"):
        codes.alpha_in("12345678901", 10)


@pytest.mark.parametrize(
    ("billing_type", "category", "items", "kind"),
    [
        ("F2", "M", ["TAN", "TAD"], "sale"),
        ("F2", "M", ["TAD", "TAD"], "service"),
        ("G2", "O", ["G2N"], "return"),
        ("RE", "O", ["REN"], "return"),
        ("L2", "P", ["L2N"], "price_difference"),
        ("ZF2", "M", ["TAN"], "sale"),  # an installation's own type falls back to its category
        ("ZL2", "P", ["L2N"], "price_difference"),
    ],
)
def test_invoice_kind(billing_type: str, category: str, items: list[str], kind: str) -> None:
    assert codes.invoice_kind(billing_type, category, items) == kind


def test_invoice_kind_refuses_what_is_no_sales_invoice() -> None:
    with pytest.raises(RecordError, match="not a sales invoice kind"):
        codes.invoice_kind("IV", "5", ["TAN"])


@pytest.mark.parametrize(
    ("process", "rejection", "block", "status"),
    [("A", "A", "", "open"), ("A", "A", "01", "proposal"), ("B", "A", "", "shippable"), ("C", "A", "", "closed"),
     ("A", "C", "", "cancelled"), ("C", "C", "", "cancelled")],
)  # fmt: skip
def test_order_status(process: str, rejection: str, block: str, status: str) -> None:
    assert codes.order_status(process, rejection, block) == status


def test_collection_method_prefers_the_specific_key() -> None:
    assert codes.collection_method("DZ", "C") == "cheque"
    assert codes.collection_method("DZ", "") == "bank_transfer"
    assert codes.collection_method("DZ", "Q") == "bank_transfer"  # unknown payment method: the type's default
    assert codes.collection_method("RV", "") is None


def test_billing_type_excluded_by_the_setting_is_no_invoice_kind() -> None:
    with pytest.raises(RecordError, match="excluded by the setting billing_types"):
        codes.invoice_kind("ZIV", "M", ["TAN"], {"ZIV": "excluded"})


def test_units_and_currencies() -> None:
    assert [codes.sap_unit_code(u) for u in ("ST", "KAR", "M", "KG", "ADET", "??")] == ["C62", "CT", "MTR", "KGM",
                                                                                        "C62", None]  # fmt: skip
    assert codes.sap_currency("TRL", "currency") == "TRY" and codes.sap_currency("", "currency") is None


# --- OData V2 values ----------------------------------------------------------------------------------------------


def test_value_forms() -> None:
    assert time_of("PT13H05M09S", "t") == dt.time(13, 5, 9)
    assert wall_time("/Date(1794441600000)/", "PT13H48M44S", IST, "t") == dt.datetime(
        2026, 11, 12, 13, 48, 44, tzinfo=IST
    )
    assert wall_time(None, "PT01H00M00S", IST, "t") is None
    assert instant_of("/Date(1795183200000+0000)/", "t") == dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)
    assert string_literal("O'Neil") == "'O''Neil'"
    assert date_literal(dt.datetime(2026, 11, 20, 17, 0, tzinfo=IST)) == "datetimeoffset'2026-11-20T14:00:00Z'"
    with pytest.raises(RecordError):
        time_of("13:05", "t")


@pytest.mark.parametrize(
    ("value", "indirect", "rate"),
    [("34.12346", False, "34.123460"), ("0.00000", False, None), (None, False, None), ("0.02931", True, "34.118048"),
     ("-34.50000", False, "0.028986")],  # TCURR and FI keep an indirect quotation as a negative rate
)  # fmt: skip
def test_quoted_rates(value: str | None, indirect: bool, rate: str | None) -> None:
    found = quoted(value, indirect, "rate")  # exact (tests/test_sap_rates.py); the feed shows it to six places
    assert (None if found is None else str(to_rate(found, "rate"))) == rate


def test_expanded_navigation_must_come_back_expanded() -> None:
    row = {"to_Item": {"results": [{"A": 1}]}, "to_Customer": None, "to_Partner": {"__deferred": {"uri": "x"}}}
    assert expanded(row, "to_Item") == [{"A": 1}] and expanded_one(row, "to_Customer") is None
    for name in ("to_Partner", "to_Missing"):
        with pytest.raises(RecordError, match="came back deferred although the request expanded it"):
            expanded(row, name)
        with pytest.raises(RecordError, match="came back deferred"):
            expanded_one(row, name)


def _reader(page_size: int) -> ODataReader:
    settings = SapSettings(flavour="s4_odata", url=ROOT, sap_client="100", auth={"username": "u", "password": "p"})
    return ODataReader(HttpClient(settings, params={"sap-client": "100"}), page_size)


@responses.activate
def test_pages_follow_next_then_skip() -> None:
    base = f"{ROOT}/API_X/A_Thing"
    responses.get(f"{base[: -len('/A_Thing')]}/$metadata", body=THING_METADATA)
    nxt = f"{base}?$skiptoken=2&$top=3&sap-client=100"
    query = {"$format": "json", "$orderby": "K", "$top": "3", "$select": "K", "sap-client": "100"}
    responses.get(base, json={"d": {"results": [{"K": "1"}, {"K": "2"}], "__next": nxt}},
                  match=[responses.matchers.query_param_matcher({**query, "$skip": "0"})])  # fmt: skip
    responses.get(nxt, json={"d": {"results": [{"K": "3"}]}})
    responses.get(base, json={"d": {"results": [{"K": "4"}]}},
                  match=[responses.matchers.query_param_matcher({**query, "$skip": "3"})])  # fmt: skip
    pages = list(_reader(3).pages(THING))
    assert [[r["K"] for r in page] for page in pages] == [["1", "2"], ["3"], ["4"]]


@responses.activate
def test_pages_refuse_what_is_not_odata_v2() -> None:
    responses.get(f"{ROOT}/API_X/$metadata", body=THING_METADATA)
    responses.get(f"{ROOT}/API_X/A_Thing", json={"value": []})
    with pytest.raises(HttpSourceError, match="not OData V2 JSON"):
        list(_reader(3).pages(THING))


@responses.activate
def test_a_required_property_the_service_lacks_stops_the_read_naming_it() -> None:
    responses.get(f"{ROOT}/API_X/$metadata", body=THING_METADATA)
    read = Read("API_X/A_Thing", "s4.things", ("K",), Shape((f("K"), f("Colour"), f("Size", optional="x.size"))))
    with pytest.raises(HttpSourceError, match=r"API_X/A_Thing lacks API_X/A_Thing.Colour, .*\(s4.things\)"):
        list(_reader(3).pages(read))
    assert len(responses.calls) == 1  # the metadata only: no request the server would refuse


@responses.activate
def test_stock_groups_straddling_a_page_boundary_are_summed() -> None:
    base = f"{ROOT}/API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod"
    responses.get(f"{ROOT}/API_MATERIAL_STOCK_SRV/$metadata", body=vendor_file("API_MATERIAL_STOCK_SRV").read_bytes())
    row = {"Material": "M1", "Plant": "1000", "StorageLocation": "01", "InventorySpecialStockType": "",
           "InventoryStockType": "01"}  # fmt: skip
    pages = [
        [{**row, "MatlWrhsStkQtyInMatlBaseUnit": "5.000"}, {**row, "MatlWrhsStkQtyInMatlBaseUnit": "2.500"}],
        [
            {**row, "MatlWrhsStkQtyInMatlBaseUnit": "1.000", "InventoryStockType": "02"},
            {**row, "Material": "M2", "MatlWrhsStkQtyInMatlBaseUnit": "4"},
        ],
        [],
    ]
    for number, rows in enumerate(pages):
        skip = responses.matchers.query_param_matcher({"$skip": str(2 * number)}, strict_match=False)
        responses.get(base, json={"d": {"results": rows}}, match=[skip])
    reader = _reader(2)
    settings = SapSettings(flavour="s4_odata", url=ROOT, sap_client="100", auth={"username": "u", "password": "p"})
    stream = StockLevels(S4Env(reader, settings, IST))
    levels = [stream.map(item) for chunk in stream.read(None) for item in chunk]
    assert [(s.product_code, s.warehouse_code, s.on_hand) for s in levels] == [
        ("M1", "1000/01", Decimal("8.500")),
        ("M2", "1000/01", Decimal("4.000")),
    ]


# --- the emulator's $filter -----------------------------------------------------------------------------------


def _index(rows: list[dict[str, object]]) -> EntitySet:
    entity = EntitySet("API_X", "A_Thing", ("K",), dict, change_field="Changed")
    for row in rows:
        entity.put((str(row["K"]),), row)
    return entity


ROWS = [
    {
        "K": "1",
        "Changed": dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC),
        "Day": dt.datetime(2026, 11, 19),
        "N": "O'Neil",
    },
    {"K": "2", "Changed": dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC), "Day": dt.datetime(2026, 11, 20), "N": "B"},
    {"K": "3", "Changed": dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC), "Day": dt.datetime(2026, 11, 21), "N": ""},
]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("Changed gt datetimeoffset'2026-11-20T14:00:00Z'", ["3"]),
        ("Changed ge datetimeoffset'2026-11-20T14:00:00Z'", ["2", "3"]),
        ("Changed ge datetimeoffset'2026-11-20T17:00:00+03:00'", ["2", "3"]),
        ("Changed gt datetime'2026-11-20T13:30:00'", ["2", "3"]),
        ("Day ge datetime'2026-11-20T00:00:00'", ["2", "3"]),
        ("(Day ge datetime'2026-11-21T00:00:00' or N eq 'O''Neil') and not (K eq '2')", ["1", "3"]),
        ("N ne '' and Changed le datetimeoffset'2026-11-20T14:00:00Z'", ["1", "2"]),
        ("K eq '2' or K eq '3'", ["2", "3"]),
    ],
)
def test_emulator_filters(text: str, keys: list[str]) -> None:
    entity = _index(ROWS)
    assert [k[0] for k in entity.select(text, [])] == keys


def test_emulator_refuses_broken_filters() -> None:
    for text in ("K eq", "K like 'a'", "(K eq '1'", "K eq datetime'yesterday'"):
        with pytest.raises(ODataError) as caught:
            FilterParser(text).parse()
        assert caught.value.status == 400


# --- the declaration a read is built from -------------------------------------------------------------------------


def test_a_read_s_select_expand_and_needs_come_from_one_declaration() -> None:
    item = Shape((f("NetAmount", "number"),), (("to_PricingElement", Shape((f("ConditionType"),))),))
    read = Read(
        "API_SALES_ORDER_SRV/A_SalesOrder",
        "s4.sales_orders",
        ("SalesOrder",),
        Shape((f("SalesOrderType"), f("Legacy", optional="orders.legacy")), (("to_Item", item),)),
        (f("LastChangeDateTime", "datetime"),),
    )
    assert read.select() == "SalesOrder,SalesOrderType,Legacy,to_Item/NetAmount,to_Item/to_PricingElement/ConditionType"
    assert (
        read.select({"Legacy"}) == "SalesOrder,SalesOrderType,to_Item/NetAmount,to_Item/to_PricingElement/ConditionType"
    )
    assert read.expansion() == "to_Item/to_PricingElement"
    assert read.keys_only().select() == "SalesOrder" and read.keys_only().expansion() is None
    needs = {(n.container, n.name, n.kind, n.optional) for n in read.needs()}
    assert ("API_SALES_ORDER_SRV/A_SalesOrder", "LastChangeDateTime", "datetime", None) in needs
    assert ("API_SALES_ORDER_SRV/A_SalesOrder", "to_Item", "any", None) in needs
    assert ("API_SALES_ORDER_SRV/A_SalesOrder/to_Item/to_PricingElement", "ConditionType", "text", None) in needs
    assert ("API_SALES_ORDER_SRV/A_SalesOrder", "Legacy", "text", "orders.legacy") in needs
    metadata = parse(vendor_file("API_SALES_ORDER_SRV").read_bytes())
    assert read.absent(metadata) == ({"Legacy"}, [])
