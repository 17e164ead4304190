"""Incremental syncs from 1C through the real Engine (SQLite StateStore, FileSink) against the emulator:
only changed objects travel, unchanged DataVersions are not even mapped, deletes arrive by DeletionMark,
by unposting and by a reconcile (a full read whose keys give the deletes)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from dealersync.demo import read_feed
from engine.state import StateStore
from engine.sync import Engine, Policy, RunResult
from scenario import expect
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")

SCENARIO = build(invoice_lines=1000)
STREAMS = (
    "accounts",
    "products",
    "stock_levels",
    "discounts",
    "price_lists",
    "risk_limits",
    "orders",
    "invoices",
    "collections",
    "account_ledger",
    "stock_movements",
)
# БП 3 keeps no credit limit, and no stock register (goods are accounting records on account 41)
TRADE_ONLY = frozenset({"risk_limits", "stock_movements"})


class Setup:
    def __init__(self, erp: Any, tmp: Path) -> None:
        self.erp = erp
        self.feed = tmp / "feed"
        self.state = StateStore(f"sqlite:///{tmp / 'state.db'}")
        self.state.create()
        self.engine = Engine(self.state, FileSink(FileSinkSettings(kind="file", path=self.feed, fsync=False)), Policy())
        context = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 250)
        self.adapter = onec.OneCAdapter(context, onec.OneCSettings(**erp.settings()))

    def sync(self, *streams: str, reconcile: bool = False) -> dict[str, RunResult]:
        results = {r.stream: r for r in self.engine.sync(self.adapter, list(streams) or None, reconcile=reconcile)}
        failed = {name: r.error for name, r in results.items() if r.status != "ok"}
        assert not failed, failed
        return results

    def feed_of(self, stream: str) -> dict[str, dict[str, Any]]:
        return read_feed(self.feed)[stream]


@pytest.fixture(params=["ut11", "bp3"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as erp:
        s = Setup(erp, tmp_path)
        yield s
        s.adapter.close()
        s.state.close()


def test_only_changes_travel(setup: Setup) -> None:
    bp = setup.erp.configuration == "bp3"
    first = setup.sync()
    assert set(first) == {*STREAMS, "dealer_kpis", "account_balances"} - (TRADE_ONLY if bp else set())
    assert all(r.pushed > 0 and r.dead_lettered == 0 for r in first.values()), first
    assert first["invoices"].unchanged >= 1  # an unposted draft: read, never in the feed

    assert sum(r.flagged for r in first.values()) == 0  # the demo's figures hold together
    second = setup.sync()
    assert {name: r.pushed + r.deleted for name, r in second.items()} == dict.fromkeys(first, 0)
    # Documents are read from the cursor's date back `lookback_days`, not from the beginning.
    assert 0 < second["invoices"].read < first["invoices"].read
    requests = [r for r in setup.erp.requests if "Date%20ge%20datetime'" in r]
    assert requests, "the incremental read must bound documents by date"

    for change in SCENARIO.changes:
        setup.erp.apply(change)
    third = setup.sync()
    pushed = {name: r.pushed for name, r in third.items() if r.pushed}
    # The cancelled sale is older than the lookback window: marked documents are read from any date.
    # 1C keeps dealer prices only: a new value of a percent or amount rule has no record to change.
    changes = {c.kind: c for c in SCENARIO.changes}
    rules = {d.record.code: d.record for d in SCENARIO.discounts}
    changed = rules[changes["discount_value"].number or ""]
    priced = changed.kind == "fixed_price" and changed.active
    # Only the months of the dealers whose documents changed are recomputed and sent.
    assert 0 < pushed.pop("dealer_kpis") < first["dealer_kpis"].pushed / 10
    # The ledger: the new sale's and the new payment's movements; the cancelled sale's, removed with its posting,
    # go out as a delete (test_1c_ledger.py checks which).
    ledger = {"account_ledger": 3}
    # УТ's receivables are the Balance of those movements: the limits of the dealers they moved are sent again.
    invoices_by_number = {s.record.number: s.record for s in SCENARIO.invoices()}
    moved = {
        changes["new_invoice"].invoice.account_code,  # type: ignore[union-attr]
        invoices_by_number[changes["cancel_invoice"].number or ""].account_code,
        changes["new_collection"].collection.account_code,  # type: ignore[union-attr]
    }
    limited = len(moved & {r.account_code for r in SCENARIO.risk_limits})
    limits = {"risk_limits": limited} if limited and not bp else {}
    # УТ's stock: the new sale's goods leave their warehouses; the cancelled sale's records, removed with its
    # posting, go out as deletes (pushed counts them too; test_1c_stock.py checks which).
    cancelled = invoices_by_number[changes["cancel_invoice"].number or ""]
    issued, returned = (len(expect.stock_movements([doc], [])) for doc in (changes["new_invoice"].invoice, cancelled))
    stock, unstocked = ({"stock_movements": issued + returned}, {"stock_movements": returned}) if not bp else ({}, {})
    assert pushed.pop("account_balances") == len(moved)  # the balances of the dealers whose ledger moved
    assert pushed == {
        "invoices": 2,
        "collections": 1,
        **ledger,
        **limits,
        **stock,
        **({"discounts": 1} if priced else {}),
    }
    assert {name: r.deleted for name, r in third.items() if r.deleted} == {"account_ledger": 1, **unstocked}
    invoices = {e["data"]["number"]: e["data"] for e in setup.feed_of("invoices").values() if e["data"]}
    new = changes["new_invoice"].invoice
    assert new is not None and invoices[new.number]["totals_local"]["total"] == str(new.totals_local.total)
    assert invoices[changes["cancel_invoice"].number or ""]["cancelled"] is True
    collection = changes["new_collection"].collection
    assert collection is not None and collection.number in {
        e["data"]["number"] for e in setup.feed_of("collections").values()
    }
    values = {e["data"]["value"] for e in setup.feed_of("discounts").values()}
    assert not priced or str(changes["discount_value"].value) in values


def test_an_unchanged_data_version_is_not_mapped_and_a_new_one_is(setup: Setup) -> None:
    setup.sync("accounts", "products")
    counterparties = setup.erp.infobase.sets["Catalog_Контрагенты"]
    row = next(r for r in counterparties.rows if len(r["ИНН"]) == 10)
    good = row["ИНН"]
    # Edit the stored row behind 1C's back, keeping its DataVersion: a mapped row would go out flagged.
    row["ИНН"] = good[:9] + str((int(good[9]) + 1) % 10)
    quiet = setup.sync("accounts")["accounts"]
    assert (quiet.pushed, quiet.dead_lettered) == (0, 0) and quiet.unchanged == quiet.read

    setup.erp.infobase.update("Catalog_Контрагенты", row["Ref_Key"])  # written in 1C: a new DataVersion
    loud = setup.sync("accounts")["accounts"]
    # A mistyped INN does not stop the dealer's account: it goes out flagged, with the number as 1C holds it.
    assert (loud.pushed, loud.dead_lettered) == (1, 0)
    sent = setup.feed_of("accounts")[row["Ref_Key"]]["data"]
    assert sent["tax_id_valid"] is False and sent["tax_id"] == row["ИНН"] and sent["tax_id_kind"] == "INN"

    setup.erp.infobase.update("Catalog_Контрагенты", row["Ref_Key"], ИНН=good)  # corrected in 1C
    assert setup.sync("accounts")["accounts"].pushed == 1
    assert setup.feed_of("accounts")[row["Ref_Key"]]["data"]["tax_id_valid"] is True

    item = next(r for r in setup.erp.infobase.sets["Catalog_Номенклатура"].rows if not r["IsFolder"])
    setup.erp.infobase.update("Catalog_Номенклатура", item["Ref_Key"])  # saved without a change
    resaved = setup.sync("products")["products"]
    assert resaved.pushed == 0 and resaved.unchanged == resaved.read  # new DataVersion, same content hash


def test_deletes_by_deletion_mark_unposting_and_reconciliation(setup: Setup) -> None:
    setup.sync()
    base = setup.erp.infobase
    product = next(r for r in base.sets["Catalog_Номенклатура"].rows if not r["IsFolder"])
    base.update("Catalog_Номенклатура", product["Ref_Key"], DeletionMark=True)
    sales = base.sets["Document_РеализацияТоваровУслуг"].rows
    posted = [r for r in sales if r["Posted"]]
    recent, old = posted[-1], posted[0]
    base.update("Document_РеализацияТоваровУслуг", recent["Ref_Key"], Posted=False)  # posting undone
    base.remove("Document_РеализацияТоваровУслуг", old["Ref_Key"])  # deleted for good, long ago

    results = setup.sync("products", "invoices")
    assert (results["products"].deleted, results["invoices"].deleted) == (1, 1)
    assert setup.feed_of("products")[product["Ref_Key"]]["op"] == "delete"
    assert setup.feed_of("invoices")[recent["Ref_Key"]]["op"] == "delete"
    assert setup.feed_of("invoices")[old["Ref_Key"]]["op"] == "upsert"  # outside the window: not seen yet

    invoices = setup.adapter.stream("invoices")
    [unposted] = invoices.fetch([recent["Ref_Key"]])
    assert unposted["_lines"]["Товары"] and invoices.map(unposted) is None
    assert invoices.cursor(unposted) is not None
    assert list(invoices.fetch([old["Ref_Key"]])) == []

    reconciled = setup.sync("invoices", reconcile=True)["invoices"]
    assert reconciled.deleted == 1
    assert setup.feed_of("invoices")[old["Ref_Key"]]["op"] == "delete"


def test_a_version_covers_the_rows_read_beside_the_object(setup: Setup) -> None:
    """Contact rows are read before the catalog pages; if what was attached differs from the last run (an
    object written between the two reads), the same DataVersion must not hide it."""
    setup.sync("accounts")
    contacts = setup.erp.infobase.sets["Catalog_Контрагенты_КонтактнаяИнформация"]
    phone = next(row for row in contacts.rows if row["Тип"] == "Телефон")
    phone["Представление"] = "+7 495 123 45 67"  # behind 1C's back: the object's DataVersion stays
    contacts.changed()
    result = setup.sync("accounts")["accounts"]
    assert result.pushed == 1
    assert setup.feed_of("accounts")[phone["Ref_Key"]]["data"]["phone"] == "+74951234567"


def test_a_document_whose_own_figures_do_not_add_up_goes_out_flagged(setup: Setup) -> None:
    """1C's СуммаДокумента is the document's total as 1C holds it: when it is not the lines' net + VAT (a
    section not read, a hand edit), the invoice is sent as 1C holds it with the difference named."""
    sales = setup.erp.infobase.sets["Document_РеализацияТоваровУслуг"]
    row = next(r for r in sales.rows if r["Posted"] and not r["Number"].endswith(("-Ч", "-Р")))
    held = Decimal(repr(row["СуммаДокумента"])).quantize(Decimal("0.01"))
    setup.erp.infobase.update("Document_РеализацияТоваровУслуг", row["Ref_Key"], СуммаДокумента=float(held + 1))
    result = setup.sync("invoices")["invoices"]
    assert result.flagged == 1 and result.dead_lettered == 0
    sent = setup.feed_of("invoices")[row["Ref_Key"]]["data"]
    assert sent["totals"]["total"] == str(held + 1)  # not mended
    [discrepancy] = sent["discrepancies"]
    assert discrepancy["rule"] == "totals_total" and discrepancy["difference"] == "1.00"
    assert discrepancy["expected"] == str(held)
