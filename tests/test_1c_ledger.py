"""account_ledger of УТ 11 and 1C:ERP 2 (the movements of AccumulationRegister_РасчетыСКлиентами) and БП 3 (the
records of AccountingRegister_Хозрасчетный on the receivable accounts), posted by the emulator for every client
document and for the scenario's notes, read over HTTP and synced through the engine.

How 1C holds the ledger differently (applied to the expected entries before comparing):
  * УТ's legal entities have no code: an entry's account_code is the counterparty's Ref_Key (БП: its Code);
  * settlements are kept in the agreement's currency, which the emulator keeps in roubles: every entry is in RUB
    at rate 1, its debit and credit the document's local figures (the document's own currency stays on the
    recorder); the scenario's lira notes read as roubles (amounts kept);
  * a document marked for deletion is unposted and unposting removes its movements: a cancelled invoice or
    collection has no entry (the incremental test sees its entry deleted);
  * cheques and promissory notes are banked: a collection's movement has no payment date (due_date None);
    БП's accounting records keep no payment date at all (due_date None).
Compared without: erp_kind (1C's ХозяйственнаяОперация, checked on its own), sequence (null: LineNumber orders a
recorder's own records only, nothing orders movements across documents), balance (null: 1C keeps balances per
register dimensions, none per movement), flags (the engine's).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import Excluded, SourceContext
from connectors.census import census_warnings
from mapping.errors import RecordError
from mapping.schema import LedgerEntry
from scenario import expect
from scenario.generate import build
from tests.strict_sync import sync

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
infobase = importlib.import_module("connectors.1c.infobase")

SCENARIO = build(invoice_lines=1500)
IGNORE = frozenset({"erp_kind", "sequence", "balance", "flags"})
MOVEMENTS = "AccumulationRegister_РасчетыСКлиентами_RecordType"
ONE = Decimal("1.000000")


def adapter(erp: Any, **overrides: Any) -> Any:
    context = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 250)
    return onec.OneCAdapter(context, onec.OneCSettings(**{**erp.settings(), **overrides}))


def entries(source: Any) -> list[LedgerEntry]:
    stream = source.stream("account_ledger")
    return [stream.map(item) for chunk in stream.read(None) for item in chunk]


@pytest.fixture(scope="module", params=["ut11", "erp2", "bp3"])
def synced(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as erp, adapter(erp) as source:
        out = {"bp": request.param == "bp3", "ledger": entries(source), "risk_limits": []}
        if not out["bp"]:  # БП keeps no credit limit
            limits = source.stream("risk_limits")
            out["risk_limits"] = [limits.map(item) for chunk in limits.read(None) for item in chunk]
        yield out


def code(account: str, bp: bool = False) -> str:
    return account if bp else infobase.guid("counterparty", account)


def as_held(entry: LedgerEntry, bp: bool = False) -> LedgerEntry:
    """The scenario's entry as 1C keeps it (the module's docstring says why)."""
    return msgspec.structs.replace(
        entry,
        account_code=code(entry.account_code, bp),
        currency="RUB",
        rate=ONE,
        debit=entry.debit_local,
        credit=entry.credit_local,
        due_date=entry.due_date if entry.kind in ("invoice", "return") and not bp else None,
    )


def expected(bp: bool = False) -> list[LedgerEntry]:
    facts = expect.ledger_entries(
        (s.record for s in SCENARIO.invoices()),
        (s.record for s in SCENARIO.collections()),
        (s.record for s in SCENARIO.notes()),
    )
    return [as_held(e, bp) for e in facts if not e.cancelled]


def test_the_ledger_is_the_scenarios(synced: dict[str, Any]) -> None:
    got = {(e.document_no, e.kind): e for e in synced["ledger"]}
    assert len(got) == len(synced["ledger"])  # one movement per document here
    want = {(e.document_no, e.kind): e for e in expected(synced["bp"])}
    assert set(got) == set(want)  # no draft, retail sale or supplier's refund: they settle with no dealer
    for key, entry in want.items():
        assert expect.comparable(got[key], IGNORE) == expect.comparable(entry, IGNORE), key
    assert {e.kind for e in got.values()} == {"opening", "invoice", "return", "collection", "debit_note", "credit_note"}
    notes = [e for e in got.values() if e.kind in ("opening", "debit_note", "credit_note")]
    assert notes and all(e.description for e in notes)  # the document's Комментарий


def test_erp_kind_is_the_registers_operation(synced: dict[str, Any]) -> None:
    kinds: dict[str, set[str]] = {}
    for e in synced["ledger"]:
        kinds.setdefault(e.kind, set()).add(e.erp_kind)
    if synced["bp"]:  # the recorder's document
        assert kinds == {
            "invoice": {"РеализацияТоваровУслуг", "КорректировкаРеализации"},
            "return": {"ВозвратТоваровОтПокупателя"},
            "collection": {"ПоступлениеНаРасчетныйСчет", "ПриходныйКассовыйОрдер"},
            "opening": {"ВводНачальныхОстатков"},
            "debit_note": {"ОперацияБух"},
            "credit_note": {"КорректировкаДолга"},
        }
        return
    assert kinds == {
        "invoice": {"РеализацияКлиенту", "КорректировкаПоСогласованиюСторон"},
        "return": {"ВозвратТоваровОтКлиента"},
        "collection": {"ПоступлениеОплатыОтКлиента", "ПоступлениеОплатыОтКлиентаПоПлатежнойКарте"}
        & {e.erp_kind for e in synced["ledger"]},
        "opening": {"ВводОстатковЗадолженностиКлиентов"},
        "debit_note": {"НачислениеДебиторскойЗадолженности"},
        "credit_note": {"СписаниеДебиторскойЗадолженности"},
    }


def test_the_balance_of_each_dealer_is_its_risk_limits_open_balance(synced: dict[str, Any]) -> None:
    """The entries' sums per dealer are the scenario's balances (openings and notes included), and (УТ) the risk
    limits stream, which reads РасчетыСКлиентами/Balance, gives the same figures."""
    sums: dict[str, Decimal] = {}
    for e in synced["ledger"]:
        if not e.cancelled:
            sums[e.account_code] = sums.get(e.account_code, Decimal("0.00")) + e.debit_local - e.credit_local
    limits = {r.account_code: r for r in SCENARIO.risk_limits if r.open_balance is not None}
    assert limits
    for account, limit in limits.items():
        assert sums.get(code(account, synced["bp"]), Decimal("0.00")) == limit.open_balance, account
    read = {r.account_code: r.open_balance for r in synced["risk_limits"]}
    assert read == {account: sums.get(account, Decimal("0.00")) for account in read}
    assert synced["bp"] or read


# -- through the engine ------------------------------------------------------------------------------------


@pytest.fixture
def ut(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    with emulator.OneCEmulator(SCENARIO, configuration="ut11") as erp, adapter(erp) as source:
        yield erp, source


def test_after_the_changes_only_the_changed_entries_travel(ut: tuple[Any, Any], tmp_path: Path) -> None:
    erp, source = ut
    first = sync(source, tmp_path, "account_ledger")
    assert not first.dead and len(first.feed) == len(expected())
    for change in SCENARIO.changes:
        erp.apply(change)
    before = dict(first.feed)
    second = sync(source, tmp_path, "account_ledger")
    [result] = second.results
    changed = {key: data for key, data in second.feed.items() if before.get(key, "new") != data}
    changes = {c.kind: c for c in SCENARIO.changes}
    new, paid = changes["new_invoice"].invoice, changes["new_collection"].collection
    assert new is not None and paid is not None
    cancelled = infobase.guid("document", changes["cancel_invoice"].number)
    assert set(changed) == {
        ("account_ledger", f"{infobase.guid('document', new.number)}:1"),
        ("account_ledger", f"{infobase.guid('document', paid.number)}:1"),
        ("account_ledger", f"{cancelled}:1"),
    }
    assert changed["account_ledger", f"{cancelled}:1"] is None  # unposted with its deletion mark: a delete
    assert (result.pushed, result.deleted, result.dead_lettered) == (3, 1, 0)
    want = expect.ledger_entries([new], [paid], [])
    for entry in want:
        sent = changed["account_ledger", f"{infobase.guid('document', entry.document_no)}:1"]
        got = msgspec.convert(sent, LedgerEntry)
        assert expect.comparable(got, IGNORE) == expect.comparable(as_held(entry), IGNORE)


def test_a_bad_movement_is_a_dead_letter_and_the_rest_flows(ut: tuple[Any, Any], tmp_path: Path) -> None:
    erp, source = ut
    rows = erp.infobase.sets[MOVEMENTS].rows
    bad = rows[3]
    bad["RecordType"] = "Turnover"  # neither Receipt nor Expense
    erp.infobase.replace_rows(MOVEMENTS, rows)
    outcome = sync(source, tmp_path, "account_ledger")
    key = f"{bad['Recorder']}:{bad['LineNumber']}"
    assert outcome.dead == {("account_ledger", key): "debit: RecordType 'Turnover' is neither Receipt nor Expense"}
    assert len(outcome.feed) == len(rows) - 1


def test_what_1c_can_hold_beside_the_facts(ut: tuple[Any, Any]) -> None:
    """A movement switched off (Active false) is cancelled; a storno record (a negative Сумма) moves the other way;
    an operation with no reading is kind other with its raw code, however long (1C's longest names run past 60)."""
    erp, source = ut
    rows = erp.infobase.sets[MOVEMENTS].rows
    sale = next(r for r in rows if r["ХозяйственнаяОперация"] == "РеализацияКлиенту")
    paid = next(r for r in rows if r["ХозяйственнаяОперация"] == "ПоступлениеОплатыОтКлиента")
    note = next(r for r in rows if r["ХозяйственнаяОперация"] == "НачислениеДебиторскойЗадолженности")
    sale["Active"] = False
    paid.update(Сумма=-paid["Сумма"], СуммаРегл=-paid["СуммаРегл"])  # a payment stornoed: the debt is back
    note["ХозяйственнаяОперация"] = "КорректировкаРеализацииУменьшениеЗадолженностиСводно" + "Новая"
    erp.infobase.replace_rows(MOVEMENTS, rows)
    got = {e.document_no: e for e in entries(source)}
    numbers = {r["Recorder"]: number_of(erp, r) for r in (sale, paid, note)}
    assert got[numbers[sale["Recorder"]]].cancelled is True
    stornoed = got[numbers[paid["Recorder"]]]
    assert stornoed.kind == "payment" and stornoed.debit == Decimal(repr(-paid["Сумма"])).quantize(Decimal("0.01"))
    assert stornoed.credit == Decimal("0.00")
    other = got[numbers[note["Recorder"]]]
    assert other.kind == "other" and other.erp_kind == note["ХозяйственнаяОперация"]
    with adapter(erp, ledger_kinds={note["ХозяйственнаяОперация"]: "exchange_difference"}) as mapped:
        assert {e.document_no: e for e in entries(mapped)}[numbers[note["Recorder"]]].kind == "exchange_difference"


def number_of(erp: Any, movement: dict[str, Any]) -> str:
    """The Number of a movement's recorder, as the emulator holds it."""
    return str(erp.infobase.get(movement["Recorder_Type"].rsplit(".", 1)[-1], movement["Recorder"])["Number"])


def test_the_census_shows_each_operation_with_its_reading(ut: tuple[Any, Any]) -> None:
    erp, source = ut
    found = {c.shown: c for c in source.census() if c.column.stream == "account_ledger"}
    assert found["ВводОстатковЗадолженностиКлиентов"].reading.source.startswith("УТ 11.5.20.68 dump")
    assert found["СписаниеДебиторскойЗадолженности"].reading.action.startswith("account_ledger kind credit_note")
    paid = found["ПоступлениеОплатыОтКлиента"]
    assert paid.money is not None and paid.money < 0  # an Expense lowers the debt
    rows = erp.infobase.sets[MOVEMENTS].rows
    odd = next(r for r in rows if r["ХозяйственнаяОперация"] == "НачислениеДебиторскойЗадолженности")
    odd["ХозяйственнаяОперация"] = "НачислениеПроцентовПоДисконтированию"  # no reading: kind other, and a warning
    erp.infobase.replace_rows(MOVEMENTS, rows)
    counts = source.census()
    [unknown] = [c for c in counts if c.shown == "НачислениеПроцентовПоДисконтированию"]
    assert unknown.reading is None and unknown.rows == 1 and unknown.money == Decimal(repr(odd["Сумма"]))
    [warning] = [w for w in census_warnings(counts) if w.name == "codes account_ledger"]
    assert "with the setting ledger_kinds" in warning.detail
    with adapter(erp, ledger_kinds={"НачислениеПроцентовПоДисконтированию": "debit_note"}) as mapped:
        [shown] = [c for c in mapped.census() if c.shown == "НачислениеПроцентовПоДисконтированию"]
        assert shown.reading is not None and shown.reading.source == "your settings"


def test_bp_records_between_receivable_accounts_in_currency_and_without_a_buyer() -> None:
    """БП: an advance set off (62.02 against 62.01) is left out by name; a currency account's record is in its
    currency (ВалютнаяСумма) beside the roubles (Сумма); a record whose subconto names no buyer is a RecordError."""
    records = "AccountingRegister_Хозрасчетный/RecordsWithExtDimensions"
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp, adapter(erp) as source:
        rows = erp.infobase.sets[records].rows
        sales = [r for r in rows if r["Recorder_Type"].endswith("РеализацияТоваровУслуг")]
        offset, foreign, orphan = sales[0], sales[-1], sales[2]  # the last: a day with a dollar rate
        offset["AccountCr_Key"] = infobase.guid("ledger-account", "62.02")
        foreign.update(ВалютаDr_Key=infobase.guid("currency", "USD"), ВалютнаяСуммаDr=12.5)
        orphan["ExtDimensionDr1_Type"] = "StandardODATA.Catalog_ФизическиеЛица"
        erp.infobase.replace_rows(records, rows)
        stream = source.stream("account_ledger")
        items = {stream.key(i): i for chunk in stream.read(None) for i in chunk}
        left_out = Excluded("a move between receivable accounts (an advance set off)")
        assert stream.map(items[stream.key(offset)]) == left_out
        entry = stream.map(items[stream.key(foreign)])
        assert (entry.currency, entry.debit, entry.debit_local) == (
            "USD",
            Decimal("12.50"),
            Decimal(repr(foreign["Сумма"])).quantize(Decimal("0.01")),
        )
        assert entry.rate == stream.lookups.rate_on("USD", entry.date) != ONE
        with pytest.raises(RecordError, match=r"^account_code: the record has no Контрагенты subconto on its Dr side$"):
            stream.map(items[stream.key(orphan)])
