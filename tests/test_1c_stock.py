"""stock_movements of УТ 11 and 1C:ERP 2: the records of AccumulationRegister_ТоварыНаСкладах, which the emulator
posts for every sale, return, purchase (Document_ПриобретениеТоваровУслуг) and transfer (Document_ПеремещениеТоваров)
of the scenario, read over HTTP and synced through the engine.

How 1C holds the movements differently (applied to the expected movements before comparing):
  * УТ's legal entities have no code: account_code is the counterparty's Ref_Key; УТ's warehouses have no code: a
    warehouse_code (and other_warehouse_code) is the warehouse's name;
  * register quantities are in the item's own unit: a case line moves its count of pieces (unit and unit_code the
    item's base unit, in Russian: шт, м, кг);
  * УТ's returns keep one warehouse, the header's (their Товары has no Склад): a returned line comes back there;
  * a document marked for deletion is unposted and unposting removes its records: a cancelled invoice has no
    movements (the incremental test sees them deleted), where the scenario keeps them flagged;
  * a retail sale (an operation kind the invoices stream leaves out) moves goods too: its movements are in the feed,
    kind sale, with no invoice_number (there is no such invoice in the feed); a draft (unposted) moves nothing.
Compared without: erp_kind (the recorder's document name, checked on its own), line_no (the register's LineNumber
numbers a document's records, not its lines: checked on its own), flags (the engine's).

БП 3 has no stock_movements stream: it keeps goods only as accounting records of Хозрасчетный on account 41, whose
postings per document (a return as a storno or a reversed entry, the subconto order, warehouse analytics switched
off) no primary source read here confirms (the last test and the adapter README say so).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import Excluded, SourceContext
from connectors.census import UNCONFIRMED, census_warnings
from mapping.errors import RecordError
from mapping.schema import StockMovement
from scenario import expect
from scenario.generate import build
from tests.strict_sync import sync

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
infobase = importlib.import_module("connectors.1c.infobase")
layout = importlib.import_module("connectors.1c.layout")
readings = importlib.import_module("connectors.1c.readings")

SCENARIO = build(invoice_lines=1500)
IGNORE = frozenset({"erp_kind", "line_no", "flags"})
RECORDS = "AccumulationRegister_ТоварыНаСкладах_RecordType"
PRODUCTS = {p.record.code: p.record for p in SCENARIO.products}
WAREHOUSES = {w.code: w.name for w in SCENARIO.warehouses}
INVOICES = {s.record.number: s.record for s in SCENARIO.invoices()}
RETAIL = "-Р"  # the emulator's retail copies of some sales (publish.RETAIL_EVERY)


def adapter(erp: Any, **overrides: Any) -> Any:
    context = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 250)
    return onec.OneCAdapter(context, onec.OneCSettings(**{**erp.settings(), **overrides}))


def movements(source: Any) -> list[Any]:
    stream = source.stream("stock_movements")
    return [stream.map(item) for chunk in stream.read(None) for item in chunk]


def as_held(movement: StockMovement) -> StockMovement:
    """The scenario's movement as 1C keeps it (the module's docstring says why)."""
    product = PRODUCTS[movement.product_code]
    factor = next((u.factor for u in product.units if u.unit == movement.unit), Decimal(1))
    warehouse = movement.warehouse_code
    if movement.kind == "sale_return":
        warehouse = INVOICES[movement.document_no or ""].warehouse_code or warehouse
    account = movement.account_code
    return msgspec.structs.replace(
        movement,
        account_code=None if account is None else infobase.guid("counterparty", account),
        warehouse_code=WAREHOUSES[warehouse],
        other_warehouse_code=None
        if movement.other_warehouse_code is None
        else WAREHOUSES[movement.other_warehouse_code],
        quantity=(movement.quantity * factor).quantize(Decimal("0.001")),
        unit=layout.RUSSIAN_UNITS[product.base_unit],
        unit_code=product.base_unit_code,
    )


def expected(invoices: Any = None, slips: Any = None) -> list[StockMovement]:
    facts = expect.stock_movements(
        INVOICES.values() if invoices is None else invoices,
        (s.record for s in SCENARIO.stock_slips()) if slips is None else slips,
    )
    return [as_held(m) for m in facts if not m.cancelled]


def bag(records: Any) -> Counter[str]:
    """Movements as a multiset of their comparable form (a document may move one item twice)."""
    return Counter(msgspec.json.encode(expect.comparable(r, IGNORE)).decode() for r in records)


@pytest.fixture(scope="module", params=["ut11", "erp2"])
def synced(request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as erp, adapter(erp) as source:
        yield movements(source)


def test_the_movements_are_the_scenarios(synced: list[Any]) -> None:
    assert all(isinstance(m, StockMovement) for m in synced)
    retail = [m for m in synced if (m.document_no or "").endswith(RETAIL)]
    assert retail and all(m.kind == "sale" and m.invoice_number is None and m.account_code for m in retail)
    facts = [m for m in synced if m not in retail]
    want = expected()
    assert len(facts) == len(want)
    assert bag(facts) == bag(want)
    kinds = Counter((m.kind, m.direction) for m in facts)
    assert set(kinds) == {
        ("sale", "out"),
        ("sale_return", "in"),
        ("purchase", "in"),
        ("transfer", "out"),
        ("transfer", "in"),
    }
    assert kinds["transfer", "out"] == kinds["transfer", "in"]  # a transfer is two records, one per warehouse


def test_erp_kind_is_the_recorders_document_and_line_no_numbers_its_records(synced: list[Any]) -> None:
    kinds: dict[str, set[str]] = {}
    for m in synced:
        kinds.setdefault(m.kind, set()).add(m.erp_kind)
    assert kinds == {
        "sale": {"РеализацияТоваровУслуг"},
        "sale_return": {"ВозвратТоваровОтКлиента"},
        "purchase": {"ПриобретениеТоваровУслуг"},
        "transfer": {"ПеремещениеТоваров"},
    }
    numbers: dict[str, list[int]] = {}
    for m in synced:
        numbers.setdefault(m.document_no, []).append(m.line_no)
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in numbers.values())


# -- through the engine ------------------------------------------------------------------------------------


@pytest.fixture
def ut() -> Iterator[tuple[Any, Any]]:
    with emulator.OneCEmulator(SCENARIO, configuration="ut11") as erp, adapter(erp) as source:
        yield erp, source


def test_after_the_changes_only_their_movements_travel(
    ut: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1C keeps no change stamp on register records: the stream is a snapshot, read whole on every sync, and the
    engine sends what changed: the new sale's movements, and deletes for the cancelled sale's (unposted)."""
    erp, source = ut
    stream = source.stream("stock_movements")
    assert stream.replication_key is None
    first = sync(source, tmp_path, "stock_movements")
    assert not first.dead and len(first.feed) == len(erp.infobase.sets[RECORDS].rows)
    changes = {c.kind: c for c in SCENARIO.changes}
    new, cancelled = changes["new_invoice"].invoice, INVOICES[changes["cancel_invoice"].number or ""]
    assert new is not None and not cancelled.cancelled
    for change in SCENARIO.changes:
        erp.apply(change)
    before = dict(first.feed)
    second = sync(source, tmp_path, "stock_movements")
    [result] = second.results
    changed = {key: data for key, data in second.feed.items() if before.get(key, "new") != data}
    gone = {key for key, data in changed.items() if data is None}
    sent = [msgspec.convert(data, StockMovement) for data in changed.values() if data is not None]
    assert bag(sent) == bag(expected([new], []))
    assert {key[1].split(":")[0] for key in gone} == {infobase.guid("document", cancelled.number)}
    assert len(gone) == len(expected([cancelled], []))
    assert (result.pushed, result.deleted, result.dead_lettered) == (len(sent) + len(gone), len(gone), 0)
    # Nothing changed since: a snapshot sends nothing, whatever the cursor (it has none to move), and maps nothing
    # (each record's version is unchanged).
    mapped: list[Any] = []
    original = type(stream).map
    monkeypatch.setattr(type(stream), "map", lambda self, item: mapped.append(item) or original(self, item))
    third = sync(source, tmp_path, "stock_movements")
    [result] = third.results
    records = erp.infobase.sets[RECORDS].rows
    assert (result.pushed, result.deleted, result.unchanged, len(mapped)) == (0, 0, len(records), 0)
    far = dt.datetime(2999, 1, 1, tzinfo=ZoneInfo(SCENARIO.timezone))
    assert sum(len(chunk) for chunk in stream.read(far)) == len(records)  # no cursor narrows a snapshot
    # A warehouse renamed (УТ: the name is its code): only the movements naming it travel again, with the new name.
    old = SCENARIO.warehouses[1]
    naming = {
        key
        for key, data in third.feed.items()
        if data and old.name in (data["warehouse_code"], data["other_warehouse_code"])
    }
    erp.infobase.update("Catalog_Склады", infobase.guid("warehouse", old.code), Description="Склад Измир")
    fourth = sync(source, tmp_path, "stock_movements")
    [result] = fourth.results
    resent = {key for key, data in fourth.feed.items() if third.feed.get(key) != data}
    assert naming and resent == naming and result.pushed == len(naming)
    assert all(
        "Склад Измир" in (fourth.feed[key]["warehouse_code"], fourth.feed[key]["other_warehouse_code"])
        for key in naming
    )


def test_a_bad_record_is_a_dead_letter_and_the_rest_flows(ut: tuple[Any, Any], tmp_path: Path) -> None:
    erp, source = ut
    rows = erp.infobase.sets[RECORDS].rows
    bad, dangling = rows[3], rows[7]
    bad["RecordType"] = "Turnover"  # neither Receipt nor Expense
    dangling["Номенклатура_Key"] = infobase.guid("item", "no-such-item")
    erp.infobase.replace_rows(RECORDS, rows)
    outcome = sync(source, tmp_path, "stock_movements")
    key = f"{bad['Recorder']}:{bad['LineNumber']}"
    assert outcome.dead == {
        ("stock_movements", key): "direction: RecordType 'Turnover' is neither Receipt nor Expense",
        ("stock_movements", f"{dangling['Recorder']}:{dangling['LineNumber']}"): (
            "product_code: refers to a nomenclature item that is not in the published catalog "
            f"({dangling['Номенклатура_Key']})"
        ),
    }
    assert len(outcome.feed) == len(rows) - 2
    stream = source.stream("stock_movements")
    [fetched] = stream.fetch([key])  # what `dead-letters --retry` re-reads: that record, as it is now
    assert (stream.key(fetched), fetched["RecordType"]) == (key, "Turnover")


def test_values_are_read_strictly(ut: tuple[Any, Any]) -> None:
    """An Edm.Boolean that is null is no flag, an empty quantity no zero: RecordErrors naming the field."""
    _, source = ut
    stream = source.stream("stock_movements")
    item = next(i for chunk in stream.read(None) for i in chunk)
    with pytest.raises(RecordError, match=r"^cancelled: missing \(no flag value\)$"):
        stream.map({**item, "Active": None})
    with pytest.raises(RecordError, match=r"^quantity: "):
        stream.map({**item, "ВНаличии": "много"})
    with pytest.raises(RecordError, match=r"^date: the record has no date \(Period\)$"):
        stream.map({**item, "Period": "0001-01-01T00:00:00"})


def test_what_1c_can_hold_beside_the_facts(ut: tuple[Any, Any]) -> None:
    """A record switched off (Active false) is cancelled; a storno (a negative ВНаличии) moves the other way; a
    record that moves only КОтгрузке is left out by name; a recorder no setting reads is kind other with its
    document's name (and no number: its set is not read), until movement_kinds names it."""
    erp, source = ut
    rows = erp.infobase.sets[RECORDS].rows
    sales = [r for r in rows if r["Recorder_Type"].endswith("РеализацияТоваровУслуг")]
    off, storno, reserved, count = sales[0], sales[1], sales[2], sales[3]
    off["Active"] = False
    storno["ВНаличии"] = -storno["ВНаличии"]
    reserved.update(ВНаличии=0.0, КОтгрузке=5.0)
    count["Recorder_Type"] = "StandardODATA.Document_ПересчетТоваров"
    erp.infobase.replace_rows(RECORDS, rows)
    stream = source.stream("stock_movements")
    items = {stream.key(i): i for chunk in stream.read(None) for i in chunk}
    got = {key: stream.map(item) for key, item in items.items()}
    assert got[stream.key(off)].cancelled is True
    assert got[stream.key(storno)].direction == "in" and got[stream.key(storno)].kind == "sale"
    assert got[stream.key(storno)].quantity == Decimal(repr(-storno["ВНаличии"])).quantize(Decimal("0.001"))
    assert got[stream.key(reserved)] == Excluded(
        "a record that moves no stock on hand (ВНаличии 0: only КОтгрузке, goods to ship)"
    )
    other = got[stream.key(count)]
    assert (other.kind, other.erp_kind, other.document_no, other.account_code) == (
        "other",
        "ПересчетТоваров",
        None,
        None,
    )
    with adapter(erp, movement_kinds={"ПересчетТоваров": "count"}) as mapped:
        stream = mapped.stream("stock_movements")
        found = [stream.map(i) for chunk in stream.read(None) for i in chunk if stream.key(i) == stream.key(count)]
        assert [m.kind for m in found] == ["count"]


def test_the_census_lists_the_movement_codes(ut: tuple[Any, Any]) -> None:
    erp, source = ut
    found = {c.shown: c for c in source.census() if c.column.stream == "stock_movements"}
    records = erp.infobase.sets[RECORDS].rows
    assert set(found) == {
        "РеализацияТоваровУслуг",
        "ВозвратТоваровОтКлиента",
        "ПриобретениеТоваровУслуг",
        "ПеремещениеТоваров",
    }
    assert sum(c.rows for c in found.values()) == len(records)
    for shown, count in found.items():
        assert count.reading is not None and count.reading.source == readings.MOVEMENT_SOURCE, shown
    assert found["ПеремещениеТоваров"].reading.action.startswith("stock_movements kind transfer")
    last = max(r["Period"] for r in records)[:10]  # check counts the last year: records dated `since` or later
    recent = [c for c in source.census(dt.date.fromisoformat(last)) if c.column.stream == "stock_movements"]
    assert 0 < sum(c.rows for c in recent) == sum(1 for r in records if r["Period"] >= last) < len(records)
    rows = erp.infobase.sets[RECORDS].rows
    rows[0]["Recorder_Type"] = "StandardODATA.Document_ПересчетТоваров"  # no reading: kind other, and a warning
    rows[1]["Recorder_Type"] = "StandardODATA.Document_ПорчаТоваров"  # read by its name only
    erp.infobase.replace_rows(RECORDS, rows)
    counts = [c for c in source.census() if c.column.stream == "stock_movements"]
    shown = {c.shown: c for c in counts}
    assert shown["ПересчетТоваров"].reading is None and shown["ПересчетТоваров"].rows == 1
    assert shown["ПорчаТоваров"].reading.source == UNCONFIRMED
    [warning] = [w for w in census_warnings(counts) if w.name == "codes stock_movements"]
    assert "ПересчетТоваров (1 rows)" in warning.detail and "with the setting movement_kinds" in warning.detail
    with adapter(erp, movement_kinds={"ПересчетТоваров": "count"}) as mapped:
        [mine] = [c for c in mapped.census() if c.shown == "ПересчетТоваров"]
        assert mine.reading is not None and mine.reading.source == "your settings"


def test_bp3_has_no_stock_movements_stream() -> None:
    """БП 3 keeps no stock register: goods are accounting records of Хозрасчетный on account 41 (41.01, quantity
    КоличествоDr/Cr, subconto item and warehouse), whose postings per document no primary source read here
    confirms; the adapter offers no stream rather than guess (README: "Stock movements")."""
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp, adapter(erp) as source:
        assert "stock_movements" not in {s.name for s in source.streams()}
        assert not [c for c in source.census() if c.column.stream == "stock_movements"]
