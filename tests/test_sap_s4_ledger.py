"""The account_ledger stream of S/4HANA: the scenario's invoices, collections and notes as customer items of
API_OPLACCTGDOCITEMCUBE_SRV (notes as FI documents DA/DR/DG), served by S4Emulator on loopback, read over HTTP.

Compared with expect.ledger_entries(...) matched by (document_no, kind), ignoring only:
  * erp_kind: SAP's own code ("RV:S", "DZ:H", "DR:S": AccountingDocumentType and DebitCreditCode), which the
    scenario does not know;
  * sequence and balance: SAP keeps neither (documents are numbered per number range and fiscal year, and FI
    keeps no running balance per item), so both are null;
  * flags: set by the engine, not by the stream.
Translations that are SAP's own representation, not losses (as in test_sap_s4_roundtrip):
  * a foreign document's rate has five decimals (DEC 9,5); an invoice's receivable in local currency is its totals
    converted at that rate (net and VAT once each, mapping.money.to_local_totals), a collection's the amount at it;
  * every FI customer item has a net due date: a note, posted without terms, is due on its date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import Excluded, SourceContext
from connectors.sap import SapAdapter, SapSettings, codes
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
from connectors.sap.emulator.s4_system import COMPANY_CODE, local_at, rate5
from engine.state import StateStore
from engine.sync import Engine, RetryResult
from mapping.money import to_local_totals
from mapping.schema import Collection, Invoice, LedgerEntry
from scenario import expect
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
IGNORED = frozenset({"erp_kind", "sequence", "balance", "flags"})
NOTE_KINDS = ("opening", "debit_note", "credit_note")


@pytest.fixture(scope="module")
def sap() -> Iterator[S4Emulator]:
    with S4Emulator(SCENARIO) as emulator:
        yield emulator


def adapter(sap: S4Emulator, **overrides: Any) -> SapAdapter:
    values: dict[str, Any] = {
        "flavour": "s4_odata",
        "url": sap.url,
        "sap_client": sap.client,
        "auth": {"username": sap.user, "password": sap.password},
        "s4": {"plant": PLANT, "page_size": 300},
        **DEMO_SETTINGS,
    }
    return SapAdapter(SourceContext("s4-ledger", ZoneInfo(SCENARIO.timezone)), SapSettings(**{**values, **overrides}))


@pytest.fixture(scope="module")
def mapped(sap: S4Emulator) -> list[LedgerEntry | Excluded]:
    with adapter(sap) as source:
        stream = source.stream("account_ledger")
        return [stream.map(item) for chunk in stream.read(None) for item in chunk]


def sap_invoice(inv: Invoice) -> Invoice:
    """The invoice as FI posts its receivable: the five-decimal rate, the totals converted at it."""
    if inv.currency == SCENARIO.local_currency or inv.rate is None:
        return inv
    rate = rate5(inv.rate)
    local = to_local_totals(inv.totals, rate, SCENARIO.local_currency)
    return msgspec.structs.replace(inv, rate=rate.quantize(inv.rate), totals_local=local)


def sap_collection(c: Collection) -> Collection:
    if c.currency == SCENARIO.local_currency:
        return c
    rate = rate5(c.rate)
    return msgspec.structs.replace(c, rate=rate.quantize(c.rate), amount_local=local_at(c.amount, rate))


def expected() -> dict[tuple[str | None, str], LedgerEntry]:
    invoices = [sap_invoice(st.record) for st in SCENARIO.invoices()]
    collections = [sap_collection(st.record) for st in SCENARIO.collections()]
    notes = [st.record for st in SCENARIO.notes()]
    due = {n.number: n.date for n in notes}
    entries = expect.ledger_entries(invoices, collections, notes)
    out = {}
    for e in entries:
        if e.kind in NOTE_KINDS:
            e = msgspec.structs.replace(e, due_date=due[e.document_no or ""])
        out[(e.document_no, e.kind)] = e
    assert len(out) == len(entries)
    return out


def test_the_ledger_is_every_invoice_collection_and_note(mapped: list[LedgerEntry | Excluded]) -> None:
    got = [r for r in mapped if isinstance(r, LedgerEntry)]
    by_key = {(r.document_no, r.kind): r for r in got}
    assert len(by_key) == len(got)
    want = expected()
    assert set(by_key) == set(want)
    for key, entry in want.items():
        assert expect.comparable(by_key[key], IGNORED) == expect.comparable(entry, IGNORED), key
    assert {r.erp_kind for r in got} == {"RV:S", "RV:H", "DZ:H", "DA:S", "DR:S", "DG:H"}
    assert all(r.sequence is None and r.balance is None for r in got)
    assert any(r.cancelled and r.kind == "invoice" for r in got)
    assert any(r.cancelled and r.kind == "collection" for r in got)
    excluded = [r.rule for r in mapped if isinstance(r, Excluded)]
    assert sorted(set(excluded)) == [
        "billing cancellation document: the cancelled invoice's entry is sent cancelled",
        "reversal document: the reversed document's entry is sent cancelled",
    ]
    cancelled = [*(st for st in SCENARIO.invoices() if st.record.cancelled),
                 *(st for st in SCENARIO.collections() if st.record.cancelled)]  # fmt: skip
    assert len(excluded) == len(cancelled)


def test_each_dealers_ledger_adds_up_to_the_open_balance(mapped: list[LedgerEntry | Excluded]) -> None:
    """The scenario's open_balance (S/4's credit account entity publishes none) is in the scenario's own local
    amounts; FI's local amounts of foreign documents are converted at the five-decimal rate, so each dealer's
    ledger must equal open_balance plus the difference that rounding makes on the dealer's live foreign documents."""
    sums: dict[str, Decimal] = {}
    for r in mapped:
        if isinstance(r, LedgerEntry) and not r.cancelled:
            sums[r.account_code] = sums.get(r.account_code, Decimal(0)) + r.debit_local - r.credit_local
    rounding: dict[str, Decimal] = {}
    for st in SCENARIO.invoices():
        inv = st.record
        if not inv.cancelled and inv.totals_local is not None:
            diff = sap_invoice(inv).totals_local.total - inv.totals_local.total  # type: ignore[union-attr]
            rounding[inv.account_code] = rounding.get(inv.account_code, Decimal(0)) + (
                -diff if inv.kind == "return" else diff
            )
    for st in SCENARIO.collections():
        c = st.record
        if not c.cancelled:
            diff = sap_collection(c).amount_local - c.amount_local
            rounding[c.account_code] = rounding.get(c.account_code, Decimal(0)) - diff
    limits = [r for r in SCENARIO.risk_limits if r.open_balance]
    assert limits and any(rounding.get(r.account_code) for r in limits)
    for limit in limits:
        code = limit.account_code
        assert sums.get(code, Decimal(0)) == limit.open_balance + rounding.get(code, Decimal(0)), code


def test_ledger_kinds_is_a_setting_and_unknown_types_are_other(sap: S4Emulator) -> None:
    with adapter(sap, ledger_kinds={"RV:S": "invoice", "DZ:H": "collection"}) as source:
        stream = source.stream("account_ledger")
        got = [stream.map(i) for chunk in stream.read(None) for i in chunk]
        counts = [c for c in source.census() or [] if c.column.stream == "account_ledger"]
    others = {r.erp_kind for r in got if isinstance(r, LedgerEntry) and r.kind == "other"}
    assert others == {"RV:H", "DA:S", "DR:S", "DG:H"}
    unknown = {c.shown for c in counts if c.reading is None}
    assert unknown == {"DA x S", "DR x S", "DG x H", "RV x H", "DZ x S"}  # DZ x S: the reversal, left out by IsReversal


def test_the_census_reads_every_default(sap: S4Emulator) -> None:
    with adapter(sap) as source:
        counts = [c for c in source.census() or [] if c.column.stream == "account_ledger"]
    readings = {c.shown: c.reading for c in counts}
    assert set(readings) == {"RV x S", "RV x H", "DZ x H", "DZ x S", "DA x S", "DR x S", "DG x H"}
    assert all(r is not None for r in readings.values())
    assert readings["DZ x H"].source == codes.LEDGER_KIND_SOURCES["DZ:H"]  # type: ignore[union-attr]
    assert readings["DR x S"].source == "UNCONFIRMED"  # type: ignore[union-attr]


def test_a_bad_item_is_dead_lettered_and_the_rest_flows(tmp_path: Path) -> None:
    note = next(st.record for st in SCENARIO.notes() if st.record.kind == "credit_note")
    with S4Emulator(SCENARIO) as sap, adapter(sap) as source:
        items = sap.layout.items
        [key] = [k for k, line in items.facts.items() if line.reference == note.number]
        items.override(key, TransactionCurrency="XYZ")
        outcome = sync(source, tmp_path, "account_ledger")
        [result] = outcome.results
        assert result.status == "ok" and result.dead_lettered == 1
        assert result.pushed == len(expected()) - 1
        feed_key = "/".join((COMPANY_CODE, key[1], key[2], items.row(key)["Customer"]))
        assert outcome.dead == {("account_ledger", feed_key): "currency: unknown currency 'XYZ'"}
        items.override(key, TransactionCurrency=SCENARIO.local_currency)
        retried = retry(source, tmp_path)  # fetch(): the document read again by its key
        again = sync(source, tmp_path, "account_ledger")
    assert (retried.retried, retried.fixed, retried.failed) == (1, 1, 0)
    assert again.dead == {}
    assert again.feed[("account_ledger", feed_key)]["document_no"] == note.number  # type: ignore[index]


def test_a_reversed_collection_is_read_again_through_its_reversal() -> None:
    """A reversal posts a new document; the payment it reverses, entered long before, comes back cancelled."""
    reversed_ = next(st for st in SCENARIO.collections() if st.record.cancelled)
    assert reversed_.modified_at is not None
    since = reversed_.modified_at - dt.timedelta(minutes=10)
    assert reversed_.created_at < since - dt.timedelta(days=1)  # the payment itself is not in the window
    with S4Emulator(SCENARIO) as sap, adapter(sap) as source:
        stream = source.stream("account_ledger")
        got = [stream.map(item) for chunk in stream.read(since) for item in chunk]
    entries = {(r.document_no, r.kind): r for r in got if isinstance(r, LedgerEntry)}
    assert entries[reversed_.record.number, "collection"].cancelled is True
    assert "reversal document: the reversed document's entry is sent cancelled" in {
        r.rule for r in got if isinstance(r, Excluded)
    }


def retry(source: SapAdapter, folder: Path) -> RetryResult:
    """`dealersync dead-letters --retry` on the state and feed strict_sync.sync keeps in `folder`."""
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    sink = FileSink(FileSinkSettings(kind="file", path=folder / "feed", fsync=False))
    try:
        return Engine(state, sink).retry_dead_letters(source)
    finally:
        state.engine.dispose()


def test_a_document_on_two_customers_is_an_entry_for_each() -> None:
    """A payment whose lines credit two dealers (one pays for the other) is two entries, each with its own lines."""
    lines: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    with S4Emulator(SCENARIO) as sap, adapter(sap) as source:
        items = sap.layout.items
        for key, line in items.facts.items():
            if line.doc_type == "DZ" and not line.reversal and not line.reversed_by:
                lines.setdefault(key[:3], []).append(key)
        doc, (first, second, *_) = next((d, keys) for d, keys in lines.items() if len(keys) > 1)
        other = next(st.record.code for st in SCENARIO.accounts if st.record.code != items.facts[first].account)
        items.override(second, Customer=other)
        stream = source.stream("account_ledger")
        got = [
            stream.map(i) for i in stream.fetch(["/".join((*doc, c)) for c in (items.row(first)["Customer"], other)])
        ]
    amounts = {r.account_code: r.credit for r in got if isinstance(r, LedgerEntry)}
    assert set(amounts) == {items.facts[first].account, other}
    assert amounts[other] == -items.facts[second].amount
    assert {r.document_no for r in got if isinstance(r, LedgerEntry)} == {doc[2]}
