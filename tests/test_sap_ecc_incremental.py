"""Incremental syncs from SAP ECC through the real engine (SQLite state store, file sink): after the scenario's
changes are made in the emulated ECC, the second sync pushes exactly those changes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.ecc import EccEmulator
from engine.state import StateStore
from engine.sync import Engine, Policy
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.kpi_checks import only_touched_dealers

SCENARIO = build(invoice_lines=1000)
SOURCE = "ecc"


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def make_engine(tmp_path: Path) -> Engine:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    sink = FileSink(FileSinkSettings(kind="file", path=tmp_path / "out", fsync=False))
    return Engine(state, sink, Policy(batch_size=300))


def adapter(ecc: EccEmulator) -> SapAdapter:
    context = SourceContext(SOURCE, ZoneInfo(SCENARIO.timezone), 250)
    return SapAdapter(context, SapSettings(**ecc.settings()))


def envelopes(folder: Path, skip: Collection[Path] = ()) -> list[dict[str, Any]]:
    """The envelopes of the sink's batch files, but those in `skip`."""
    files = [path for path in sorted(folder.glob("*/*.ndjson")) if path not in skip]
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


def test_the_second_sync_pushes_only_the_changes(tmp_path: Path, ecc: EccEmulator) -> None:
    engine = make_engine(tmp_path)
    with adapter(ecc) as source:
        first = {r.stream: r for r in engine.sync(source)}
        assert {r.status for r in first.values()} == {"ok"}, {r.stream: r.error for r in first.values()}
        assert first["invoices"].pushed == sum(1 for _ in SCENARIO.invoices())
        assert first["collections"].pushed == sum(1 for _ in SCENARIO.collections())
        documents = [*SCENARIO.invoices(), *SCENARIO.collections(), *SCENARIO.notes()]
        assert first["account_ledger"].pushed == len(documents)
        assert sum(r.dead_lettered for r in first.values()) == 0
        assert sum(r.flagged for r in first.values()) == 0  # SAP's figures and the local amounts hold together
        first_files = set((tmp_path / "out").glob("*/*.ndjson"))

        for change in SCENARIO.changes:
            ecc.apply(change)
        second = {r.stream: r for r in engine.sync(source)}
        third = {r.stream: r for r in engine.sync(source)}

    assert {r.status for r in second.values()} == {"ok"}
    sent = envelopes(tmp_path / "out", first_files)
    new = [e for e in sent if e["stream"] not in ("dealer_kpis", "account_balances")]
    documents = [e for e in new if e["stream"] in ("invoices", "collections")]
    only_touched_dealers([e for e in sent if e["stream"] == "dealer_kpis"], documents)
    balances = {e["key"] for e in sent if e["stream"] == "account_balances"}
    assert balances and balances <= {e["data"]["account_code"] for e in new if e["stream"] == "account_ledger"}
    changes = {c.kind: c for c in SCENARIO.changes}
    invoice, collection = changes["new_invoice"].invoice, changes["new_collection"].collection
    assert invoice is not None and collection is not None
    rule = ecc.discount_codes[changes["discount_value"].number or ""]
    # The ledger: the new invoice's and collection's entries and the cancelled invoice's, now cancelled; the
    # cancellation document's own item is left out (Excluded), as the invoices stream leaves out S1 documents.
    ledger = {(e["data"]["document_no"], e["data"]["kind"]): e["data"] for e in new if e["stream"] == "account_ledger"}
    assert sorted(ledger) == sorted(
        [(invoice.number, "invoice"), (changes["cancel_invoice"].number, "invoice"), (collection.number, "collection")]
    )
    assert ledger[changes["cancel_invoice"].number, "invoice"]["cancelled"] is True
    assert ledger[invoice.number, "invoice"]["debit_local"] == str(invoice.totals_local.total)
    assert ledger[collection.number, "collection"]["credit"] == str(collection.amount)
    assert second["account_ledger"].read < first["account_ledger"].read / 10
    # Stock movements: the new invoice's goods lines, and the cancelled invoice's again, cancelled (found through
    # the reversal document entered now); the reversal's own rows are left out.
    cancelled = next(st.record for st in SCENARIO.invoices() if st.record.number == changes["cancel_invoice"].number)
    moves = [(e["data"]["document_no"], e["data"]["cancelled"]) for e in new if e["stream"] == "stock_movements"]
    goods = ("item", "promotion")
    assert sorted(moves) == sorted(
        [*((inv.number, inv is cancelled) for inv in (invoice, cancelled) if inv.kind in ("sale", "return")
           for ln in inv.lines if ln.kind in goods and ln.product_code and ln.warehouse_code)]
    )  # fmt: skip
    assert moves and second["stock_movements"].excluded == {
        "reversal document: the reversed movement is sent cancelled": sum(1 for _, c in moves if c)
    }
    new = [e for e in new if e["stream"] not in ("account_ledger", "stock_movements")]
    assert sorted((e["stream"], e["data"]["number" if e["stream"] != "discounts" else "code"]) for e in new) == sorted(
        [
            ("invoices", invoice.number),
            ("invoices", changes["cancel_invoice"].number),
            ("collections", collection.number),
            ("discounts", rule),
        ]
    )
    by_number = {e["data"].get("number", e["data"].get("code")): e["data"] for e in new}
    assert by_number[invoice.number]["totals_local"]["total"] == str(invoice.totals_local.total)
    assert by_number[changes["cancel_invoice"].number]["cancelled"] is True
    assert by_number[collection.number]["amount"] == str(collection.amount)
    assert by_number[rule]["value"] == str(changes["discount_value"].value)
    # Documents are read from the cursor's day only; snapshots whole (and found unchanged).
    assert second["invoices"].read < first["invoices"].read / 10
    assert second["accounts"].read == first["accounts"].read and second["accounts"].pushed == 0
    # The cancellation (S1 document, 17:08) moved the invoices' cursor, not just the new invoice (17:05).
    assert engine.state.cursor(SOURCE, "invoices") == changes["cancel_invoice"].at
    assert sum(r.pushed + r.deleted for r in third.values()) == 0


def test_a_stream_the_user_may_not_read_fails_and_the_others_sync(tmp_path: Path, ecc: EccEmulator) -> None:
    ecc.deny("KNKK")
    engine = make_engine(tmp_path)
    with adapter(ecc) as source:
        results = {r.stream: r for r in engine.sync(source)}
    failed = results["risk_limits"]
    assert failed.status == "error" and "NOT_AUTHORIZED" in (failed.error or "") and failed.pushed == 0
    assert engine.state.cursor(SOURCE, "risk_limits") is None
    assert all(r.status == "ok" for name, r in results.items() if name != "risk_limits")


def test_an_order_delivered_since_the_last_sync_is_read_again(tmp_path: Path, ecc: EccEmulator) -> None:
    engine = make_engine(tmp_path)
    with adapter(ecc) as source:
        engine.sync(source, ["orders"])
        order = next(st.record for st in SCENARIO.orders() if st.record.status == "open")
        line = order.lines[0]
        # A delivery for the order's first item, made after the sync: only the document flow (VBFA) records it.
        at = SCENARIO.as_of + dt.timedelta(minutes=30)
        ecc.db.upsert(
            "VBFA",
            VBELV=order.number,
            POSNV=line.line_no,
            VBELN="0080999999",
            POSNN=1,
            VBTYP_N="J",
            RFMNG=line.quantity,
            MEINS="ST",
            VBTYP_V="C",
            ERDAT=at.date(),
            ERZET=at.time(),
        )
        result = engine.sync(source, ["orders"])[0]
    assert result.status == "ok" and result.pushed == 1
    assert engine.state.cursor(SOURCE, "orders") == at


def test_a_bad_invoice_is_dead_lettered_and_fetched_again_once_fixed(tmp_path: Path, ecc: EccEmulator) -> None:
    number = next(st.record.number for st in SCENARIO.invoices() if not st.record.cancelled)
    ecc.db.update("VBRK", {"VBELN": number}, WAERK="XYZ")  # a currency key SAP's TCURC would not have
    engine = make_engine(tmp_path)
    with adapter(ecc) as source:
        [result] = engine.sync(source, ["invoices"])
        assert result.status == "ok" and result.dead_lettered == 1
        assert result.pushed == sum(1 for _ in SCENARIO.invoices()) - 1
        [letter] = engine.state.dead_letters()
        assert (letter.key, letter.reason) == (number, "currency: unknown currency 'XYZ'")
        assert letter.raw["VBRK"]["WAERK"] == "XYZ"
        ecc.db.update("VBRK", {"VBELN": number}, WAERK="TRY")
        outcome = engine.retry_dead_letters(source)
    assert (outcome.retried, outcome.fixed, outcome.failed) == (1, 1, 0)
    assert engine.state.dead_letters() == []
