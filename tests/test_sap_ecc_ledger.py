"""The account_ledger stream of SAP ECC: the scenario's invoices, collections and notes laid into BSID/BSAD/BKPF by
the emulator (notes as FI documents DA/DR/DG), served as SOAP over loopback, read by SapAdapter with zeep.

Compared with expect.ledger_entries(...) matched by (document_no, kind), ignoring only:
  * erp_kind: SAP's own code ("RV:S", "DZ:H", "DR:S": BLART and SHKZG), which the scenario does not know;
  * sequence and balance: SAP keeps neither (documents are numbered per number range and fiscal year, and FI
    keeps no running balance per item), so both are null;
  * flags: set by the engine, not by the stream.
Translations that are SAP's own representation, not losses (as in test_sap_ecc_roundtrip):
  * a foreign document's rate has five decimals (KURSF is DEC 9,5), and its local amount is FI's DMBTR: the
    document amount at that rate, rounded once;
  * every FI customer item has a net due date (baseline ZFBDT + ZBD1T): a note, posted without terms, is due
    on its date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import Excluded, SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_tables import fmt
from connectors.sap.emulator.ecc_where import packed
from engine.state import StateStore
from engine.sync import Engine, RetryResult
from mapping.schema import Collection, Invoice, LedgerEntry, Totals
from scenario import expect
from scenario.facts import Note
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
IGNORED = frozenset({"erp_kind", "sequence", "balance", "flags"})
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def adapter(ecc: EccEmulator, **overrides: Any) -> SapAdapter:
    context = SourceContext("ecc-ledger", ZoneInfo(SCENARIO.timezone), 500)
    return SapAdapter(context, SapSettings(**ecc.settings(**overrides)))


@pytest.fixture(scope="module")
def mapped(ecc: EccEmulator) -> list[LedgerEntry | Excluded]:
    with adapter(ecc) as source:
        stream = source.stream("account_ledger")
        return [stream.map(item) for chunk in stream.read(None) for item in chunk]


def rate5(rate: Decimal) -> Decimal:
    return rate.quantize(Decimal("0.00001"), ROUND_HALF_UP).quantize(Decimal("0.000001"))


def fi_local(value: Decimal, rate: Decimal) -> Decimal:
    return (value * rate).quantize(CENT, ROUND_HALF_UP)


def sap_invoice(inv: Invoice) -> Invoice:
    """The invoice as FI posts its receivable: the five-decimal rate, the total converted at it once."""
    assert inv.rate is not None and inv.totals_local is not None
    rate = rate5(inv.rate)
    total = fi_local(inv.totals.total, rate)
    totals: Totals = msgspec.structs.replace(inv.totals_local, total=total)
    return msgspec.structs.replace(inv, rate=rate, totals_local=totals)


def sap_collection(c: Collection) -> Collection:
    rate = rate5(c.rate)
    return msgspec.structs.replace(c, rate=rate, amount_local=fi_local(c.amount, rate))


def sap_notes() -> list[Note]:
    return [st.record for st in SCENARIO.notes()]


def expected() -> dict[tuple[str | None, str], LedgerEntry]:
    invoices = [sap_invoice(st.record) for st in SCENARIO.invoices()]
    collections = [sap_collection(st.record) for st in SCENARIO.collections()]
    notes = sap_notes()
    entries = expect.ledger_entries(invoices, collections, notes)
    due = {n.number: n.date for n in notes}
    out = {}
    for e in entries:
        if e.kind in ("opening", "debit_note", "credit_note"):
            e = msgspec.structs.replace(e, due_date=due[e.document_no or ""])
        out[(e.document_no, e.kind)] = e
    assert len(out) == len(entries)
    return out


def test_the_ledger_is_every_invoice_collection_and_note(mapped: list[LedgerEntry | Excluded]) -> None:
    got = [r for r in mapped if isinstance(r, LedgerEntry)]
    by_key = {(r.document_no, r.kind): r for r in got}
    assert len(by_key) == len(got)  # one entry per document and kind
    want = expected()
    assert set(by_key) == set(want)
    for key, entry in want.items():
        assert expect.comparable(by_key[key], IGNORED) == expect.comparable(entry, IGNORED), key
    assert {r.kind for r in got} == {"invoice", "return", "collection", "opening", "debit_note", "credit_note"}
    assert {r.erp_kind for r in got} == {"RV:S", "RV:H", "DZ:H", "DA:S", "DR:S", "DG:H"}
    assert all(r.sequence is None and r.balance is None for r in got)
    assert any(r.cancelled and r.kind == "invoice" for r in got) and any(
        r.cancelled and r.kind == "collection" for r in got
    )
    # What SAP posts beside them is left out by rule, never sent: the SD cancellations' and FB08 reversals' items.
    rules = {r.rule for r in mapped if isinstance(r, Excluded)}
    assert rules == {
        "billing cancellation document: the cancelled invoice's entry is sent cancelled",
        "reversal document: the reversed document's entry is sent cancelled",
    }
    assert sum(1 for r in mapped if isinstance(r, Excluded)) == sum(
        1 for st in SCENARIO.invoices() if st.record.cancelled
    ) + sum(1 for st in SCENARIO.collections() if st.record.cancelled)


def test_each_dealers_ledger_adds_up_to_the_open_balance(mapped: list[LedgerEntry | Excluded]) -> None:
    """The risk limits' open_balance is the scenario's, in its own local amounts; FI's local amounts of foreign
    documents are the document amount at the five-decimal rate, so each dealer's ledger must equal open_balance
    plus the difference FI's rounding makes on that dealer's live foreign documents (zero for most dealers)."""
    sums: dict[str, Decimal] = {}
    for r in mapped:
        if isinstance(r, LedgerEntry) and not r.cancelled:
            sums[r.account_code] = sums.get(r.account_code, Decimal(0)) + r.debit_local - r.credit_local
    rounding: dict[str, Decimal] = {}
    for st in SCENARIO.invoices():
        inv = st.record
        if not inv.cancelled and inv.totals_local is not None:
            sign = -1 if inv.kind == "return" else 1
            diff = sap_invoice(inv).totals_local.total - inv.totals_local.total  # type: ignore[union-attr]
            rounding[inv.account_code] = rounding.get(inv.account_code, Decimal(0)) + sign * diff
    for st in SCENARIO.collections():
        c = st.record
        if not c.cancelled:
            diff = sap_collection(c).amount_local - c.amount_local
            rounding[c.account_code] = rounding.get(c.account_code, Decimal(0)) - diff
    limits = [r for r in SCENARIO.risk_limits if r.open_balance]
    assert limits and any(rounding.get(r.account_code) for r in limits)  # the rounding is exercised
    for limit in limits:
        code = limit.account_code
        assert sums.get(code, Decimal(0)) == limit.open_balance + rounding.get(code, Decimal(0)), code


def test_ledger_kinds_is_a_setting_and_unknown_types_are_other(ecc: EccEmulator) -> None:
    with adapter(ecc, ledger_kinds={"RV:S": "invoice", "DZ:H": "collection"}) as source:
        stream = source.stream("account_ledger")
        got = [stream.map(i) for chunk in stream.read(None) for i in chunk]
    entries = [r for r in got if isinstance(r, LedgerEntry)]
    others = {r.erp_kind for r in entries if r.kind == "other"}
    assert others == {"RV:H", "DA:S", "DR:S", "DG:H"}  # no reading: kind other, the raw code kept
    with pytest.raises(ValueError, match="ledger_kinds key"):
        SapSettings(**ecc.settings(ledger_kinds={"DZ:X": "collection"}))


def test_a_bad_item_is_dead_lettered_and_the_rest_flows(tmp_path: Path) -> None:
    note = next(st.record for st in SCENARIO.notes() if st.record.kind == "debit_note")
    with EccEmulator(SCENARIO) as ecc:
        store = ecc.db.stores["BSID"]
        row = next(r for r in store.rows if r["XBLNR"].strip() == note.number)

        def side(value: str) -> None:
            with ecc.db.lock:
                store.upsert({**row, "SHKZG": fmt(store.table.by_name["SHKZG"], value)})

        side("X")
        with adapter(ecc) as source:
            outcome = sync(source, tmp_path, "account_ledger")
            [result] = outcome.results
            assert result.status == "ok" and result.dead_lettered == 1
            assert result.pushed == len(expected()) - 1
            key = ":".join(row[k].strip() for k in ("BUKRS", "GJAHR", "BELNR", "BUZEI"))
            assert outcome.dead == {("account_ledger", key): "debit: debit/credit indicator 'X' is neither S nor H"}
            side("S")
            retried = retry(source, tmp_path)  # fetch(): the item read again by its key
            again = sync(source, tmp_path, "account_ledger")
    assert (retried.retried, retried.fixed, retried.failed) == (1, 1, 0)
    assert again.dead == {}
    assert again.feed[("account_ledger", key)]["document_no"] == note.number  # type: ignore[index]


def test_an_invoice_cancelled_after_a_payment_cleared_it_is_sent_again_cancelled(tmp_path: Path) -> None:
    """Where SD lets a cleared invoice be cancelled, the cancellation posts its own open credit item and the
    invoice's item, cleared long ago, is not touched: the incremental read finds the invoice through the
    cancellation document (VBRK-SFAKN) and sends its entry again, cancelled."""
    with EccEmulator(SCENARIO) as ecc:
        items = ecc.db.stores["BSAD"].rows
        item = next(r for r in items if r["BLART"].strip() == "RV" and r["SHKZG"] == "S" and r["AUGBL"] != r["BELNR"])
        number, account = item["VBELN"].strip(), item["KUNNR"].strip()
        with adapter(ecc) as source:
            first = sync(source, tmp_path, "account_ledger")
            key = ":".join(item[k].strip() for k in ("BUKRS", "GJAHR", "BELNR", "BUZEI"))
            assert first.feed[("account_ledger", key)]["cancelled"] is False  # type: ignore[index]
            at = SCENARIO.as_of + dt.timedelta(hours=1)
            cancellation = "9100000001"
            with ecc.db.lock:
                header = next(r for r in ecc.db.stores["VBRK"].rows if r["VBELN"].strip() == number)
            ecc.db.update("VBRK", {"VBELN": number}, FKSTO="X")
            ecc.db.upsert(
                "VBRK", VBELN=cancellation, FKART="S1", VBTYP="N", WAERK=header["WAERK"].strip(), BUKRS="1000",
                FKDAT=at.date(), KUNRG=account, KUNAG=account, SFAKN=number, ERDAT=at.date(), ERZET=at.time(),
            )  # fmt: skip
            ecc.db.upsert(
                "BKPF", BUKRS="1000", BELNR=cancellation, GJAHR=at.year, BLART="RV", BLDAT=at.date(),
                BUDAT=at.date(), CPUDT=at.date(), CPUTM=at.time(), WAERS=header["WAERK"].strip(), KURSF=Decimal(1),
            )  # fmt: skip
            ecc.db.upsert(
                "BSID", BUKRS="1000", KUNNR=account, GJAHR=at.year, BELNR=cancellation, BUZEI=1, BUDAT=at.date(),
                BLDAT=at.date(), CPUDT=at.date(), WAERS=item["WAERS"].strip(), BLART="RV", SHKZG="H",
                WRBTR=packed(item["WRBTR"]), DMBTR=packed(item["DMBTR"]), ZFBDT=at.date(), VBELN=cancellation,
            )  # fmt: skip
            second = sync(source, tmp_path, "account_ledger")
    [result] = second.results
    assert (result.pushed, result.excluded) == (
        1,
        {"billing cancellation document: the cancelled invoice's entry is sent cancelled": 1},
    )
    assert second.feed[("account_ledger", key)]["cancelled"] is True  # type: ignore[index]


def retry(source: SapAdapter, folder: Path) -> RetryResult:
    """`dealersync dead-letters --retry` on the state and feed strict_sync.sync keeps in `folder`."""
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    sink = FileSink(FileSinkSettings(kind="file", path=folder / "feed", fsync=False))
    try:
        return Engine(state, sink).retry_dead_letters(source)
    finally:
        state.engine.dispose()
