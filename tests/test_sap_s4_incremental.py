"""Incremental S/4 syncs through the real Engine, StateStore and FileSink, against the emulator on loopback:
after the scenario's changes, the second sync pushes exactly them, and reads only what changed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
from engine.state import StateStore
from engine.sync import Engine
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.kpi_checks import only_touched_dealers

SCENARIO = build(invoice_lines=2000)
CHANGES = {c.kind: c for c in SCENARIO.changes}


def _adapter(sap: S4Emulator) -> SapAdapter:
    settings = SapSettings(
        flavour="s4_odata",
        url=sap.url,
        sap_client=sap.client,
        auth={"username": sap.user, "password": sap.password},
        s4={"plant": PLANT},
        **DEMO_SETTINGS,
    )
    return SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), settings)


def _invoice(number: str | None) -> Any:
    return next(st.record for st in SCENARIO.invoices() if st.record.number == number)


def _feed(path: Path, stream: str) -> list[dict[str, Any]]:
    batches = sorted((path / stream).glob("*.ndjson"))
    return [msgspec.json.decode(line) for batch in batches for line in batch.read_bytes().splitlines()]


@pytest.mark.parametrize("touches", [True, False], ids=["cancel-moves-original", "cancel-leaves-original"])
def test_second_sync_pushes_only_the_changes(tmp_path: Path, touches: bool) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with S4Emulator(SCENARIO, cancel_touches_original=touches) as sap, _adapter(sap) as source:
        first = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "first", fsync=False)))
        results = {r.stream: r for r in first.sync(source)}
        assert all(r.status == "ok" and r.dead_lettered == 0 and r.flagged == 0 for r in results.values()), results
        assert results["invoices"].pushed == len(list(SCENARIO.invoices()))
        assert results["collections"].pushed == len(list(SCENARIO.collections()))
        for change in SCENARIO.changes:
            sap.apply(change)
        sap.requests.clear()
        second = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "second", fsync=False)))
        results = {r.stream: r for r in second.sync(source)}
        filters = [r.params.get("$filter", "") for r in sap.data_requests()]

    assert all(r.status == "ok" and r.dead_lettered == 0 for r in results.values()), results
    pushed = {name: r.pushed for name, r in results.items() if r.pushed}
    assert pushed.pop("dealer_kpis") > 0
    assert 0 < pushed.pop("account_balances") <= 3  # the dealers of the three ledger entries that moved
    # Stock movements: the new invoice's goods lines, and the cancelled invoice's sent again cancelled.
    moved = [ln for inv in (CHANGES["new_invoice"].invoice, _invoice(CHANGES["cancel_invoice"].number))
             for ln in (inv.lines if inv is not None and inv.kind in ("sale", "return") else ())
             if ln.kind in ("item", "promotion") and ln.product_code and ln.warehouse_code]  # fmt: skip
    assert moved
    assert pushed == {"invoices": 2, "collections": 1, "discounts": 1, "account_ledger": 3,
                      "stock_movements": len(moved)}  # fmt: skip
    documents = [*_feed(tmp_path / "second", "invoices"), *_feed(tmp_path / "second", "collections")]
    only_touched_dealers(_feed(tmp_path / "second", "dealer_kpis"), documents)
    new, collection = CHANGES["new_invoice"].invoice, CHANGES["new_collection"].collection
    assert new is not None and collection is not None
    invoices = {(e["data"]["number"], e["data"]["cancelled"]) for e in _feed(tmp_path / "second", "invoices")}
    assert invoices == {(new.number, False), (CHANGES["cancel_invoice"].number, True)}
    assert [e["data"]["number"] for e in _feed(tmp_path / "second", "collections")] == [collection.number]
    # The ledger: the new invoice, the cancelled one (found through its cancellation's receivable, entered now,
    # whether or not SAP moved the original's change time) and the new collection; the cancellation is left out.
    ledger = {(e["data"]["document_no"], e["data"]["kind"], e["data"]["cancelled"])
              for e in _feed(tmp_path / "second", "account_ledger")}  # fmt: skip
    assert ledger == {
        (new.number, "invoice", False),
        (CHANGES["cancel_invoice"].number, "invoice", True),
        (collection.number, "collection", False),
    }
    assert results["account_ledger"].excluded == {
        "billing cancellation document: the cancelled invoice's entry is sent cancelled": 1
    }
    discounts = _feed(tmp_path / "second", "discounts")
    assert [(e["data"]["code"], e["data"]["value"]) for e in discounts] == [
        (CHANGES["discount_value"].number, str(CHANGES["discount_value"].value))
    ]
    # The document streams asked only for what changed since the last cursor (minus the overlap).
    assert any("LastChangeDateTime ge datetimeoffset'" in f for f in filters if "SalesOrganization" in f)
    assert results["invoices"].read < 10 and results["orders"].read < 10


def test_reversed_collection_is_read_through_its_reversal(tmp_path: Path) -> None:
    """A reversal posts a new document; the original payment, entered long before, comes back cancelled."""
    cancelled = next(st for st in SCENARIO.collections() if st.record.cancelled)
    assert cancelled.modified_at is not None
    with S4Emulator(SCENARIO) as sap, _adapter(sap) as source:
        stream = source.stream("collections")
        since = cancelled.modified_at - dt.timedelta(minutes=10)
        got = {stream.map(item).number: stream.map(item) for chunk in stream.read(since) for item in chunk}
    assert got[cancelled.record.number].cancelled is True
    assert cancelled.created_at < since - dt.timedelta(days=1)  # the original was not in the window itself


def test_an_invoice_whose_sap_figures_do_not_add_up_is_sent_flagged(tmp_path: Path) -> None:
    """SAP's header net a cent off its items: the invoice goes out as SAP holds it, with the broken rules listed."""
    invoice = next(st.record for st in SCENARIO.invoices() if st.record.kind == "sale" and st.record.lines)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with S4Emulator(SCENARIO) as sap, _adapter(sap) as source:
        sap.layout.billing.override((invoice.number,), TotalNetAmount=invoice.totals.net + Decimal("0.01"))
        engine = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "feed", fsync=False)))
        results = {r.stream: r for r in engine.sync(source, ["invoices"])}
    assert results["invoices"].flagged == 1 and results["invoices"].dead_lettered == 0
    (sent,) = [e["data"] for e in _feed(tmp_path / "feed", "invoices") if e["data"]["number"] == invoice.number]
    assert sent["totals"]["net"] == str(invoice.totals.net + Decimal("0.01"))
    rules = {d["rule"]: d["difference"] for d in sent["discrepancies"]}
    assert rules == {"totals_net": "0.01", "totals_total": "-0.01", "lines_net": "0.01"}
