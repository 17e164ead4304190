"""The account_ledger stream: every TBLCAHAR movement the writer lays (invoice and return postings, collections,
openings, debit and credit notes) comes back as the scenario's ledger (`expect.ledger_entries`), on SQLite,
PostgreSQL and MariaDB; incremental reads return exactly the changed movements; a broken row is a dead letter
while the rest flows.

Compared with `expect.comparable`, matched by (document_no, kind), ignoring:
  * `erp_kind`: Netsis's own HAREKET_TURU letter, which the scenario does not know (its readings are checked
    through `kind`, and the census test counts every letter);
  * `sequence`: INC_KEY_NUMBER, Netsis's identity, which the scenario does not know (checked to be the row's order);
  * `balance`: Netsis keeps no running balance one can rely on, so the stream sends null (asserted below);
  * `flags`: the engine's plausibility marks, not the ERP's data.
Representation differences: a collection's TBLCAHAR row carries the text the ERP gives it (the writer's
"Tahsilat <number>"); the scenario's collections have none. The vendor's layout deletes cancelled documents with
their postings, so the comparison there takes the live facts; a site with a cancel flag (IPTAL) keeps them, flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from connectors.netsis import NetsisSettings
from connectors.netsis.ledger import ledger_kind
from connectors.netsis.tables import netsis_tables
from engine.sync import Policy
from mapping.schema import LedgerEntry
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import STAMPED_SITE, Server, adapter, read, records, server, write
from tests.reconcile import Feed
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=2000)
IGNORE = frozenset({"erp_kind", "sequence", "balance", "flags"})
OVERLAP = Policy().overlap
CHANGES = {c.kind: c for c in SCENARIO.changes}
NOTES = [s.record for s in SCENARIO.notes()]
T = netsis_tables(sa.MetaData(), STAMPED_SITE["cancel_column"])


def _facts(cancelled: bool) -> list[LedgerEntry]:
    """The scenario's ledger as Netsis holds it: with the cancelled documents (a site flagging them) or without."""
    invoices = [s.record for s in SCENARIO.invoices() if cancelled or not s.record.cancelled]
    collections = [s.record for s in SCENARIO.collections() if cancelled or not s.record.cancelled]
    entries = expect.ledger_entries(invoices, collections, NOTES)
    return [
        msgspec.structs.replace(e, description=f"Tahsilat {e.document_no}") if e.kind == "collection" else e
        for e in entries
    ]


def _by_document(entries: list[LedgerEntry]) -> dict[tuple[str | None, str], LedgerEntry]:
    out = {(e.document_no, e.kind): e for e in entries}
    assert len(out) == len(entries), "two entries share a document number and kind"
    return out


def _same_ledger(got: list[LedgerEntry], want: list[LedgerEntry]) -> None:
    have, facts = _by_document(got), _by_document(want)
    assert set(have) == set(facts)
    for key, fact in facts.items():
        assert expect.comparable(have[key], IGNORE) == expect.comparable(fact, IGNORE), key


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    where = server(request.param, tmp_path_factory.mktemp("netsis-ledger"))
    try:
        company, rates = where.url("GIDA2026"), where.url("NETSIS")
        write(company, SCENARIO, rates)
        with adapter(company, SCENARIO, rates_database=where.database("NETSIS")) as source:
            out = {name: records(source.stream(name)) for name in ("account_ledger", "invoices", "collections")}
            out["risk_limits"] = records(source.stream("risk_limits"))
            out["keys"] = [key for key, _, _ in read(source.stream("account_ledger"))]
        yield out
    finally:
        where.close()


def test_the_ledger_is_the_scenarios(synced: dict[str, Any]) -> None:
    got: list[LedgerEntry] = synced["account_ledger"]
    _same_ledger(got, _facts(cancelled=False))
    assert {e.kind for e in got} == {"opening", "invoice", "return", "collection", "debit_note", "credit_note"}
    assert {e.currency for e in got} >= {"TRY", "USD", "EUR"}
    # What the ERP adds of its own: its letter, its record order, and no running balance.
    assert Counter((e.kind, e.erp_kind) for e in got).keys() >= {
        ("opening", "A"),
        ("invoice", "B"),
        ("return", "C"),
        ("debit_note", "K"),
        ("credit_note", "L"),
        ("collection", "K"),
    }
    assert all(e.balance is None for e in got)
    sequences = [e.sequence for e in got]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(got)  # the read order, unique
    assert len(set(synced["keys"])) == len(got)


def test_document_numbers_are_the_other_streams_numbers(synced: dict[str, Any]) -> None:
    entries: list[LedgerEntry] = synced["account_ledger"]

    def numbers(kind: str) -> list[str | None]:
        return sorted(e.document_no for e in entries if e.kind == kind)

    assert numbers("invoice") == sorted(i.number for i in synced["invoices"] if i.kind != "return")
    assert numbers("return") == sorted(i.number for i in synced["invoices"] if i.kind == "return")
    assert numbers("collection") == sorted(c.number for c in synced["collections"])


def test_the_balances_add_up_to_the_risk_limits(synced: dict[str, Any]) -> None:
    """Per dealer, debits less credits of the live movements are the open balance: the scenario's, and the one the
    risk_limits stream reads from the account card (CM_BORCT - CM_ALACT)."""
    balance: dict[str, Decimal] = {}
    for e in synced["account_ledger"]:
        if not e.cancelled:
            balance[e.account_code] = balance.get(e.account_code, Decimal("0.00")) + e.debit_local - e.credit_local
    facts = {r.account_code: r.open_balance for r in SCENARIO.risk_limits if r.open_balance is not None}
    assert facts and {code: balance.get(code, Decimal("0.00")) for code in facts} == facts
    read = {r.account_code: r.open_balance for r in synced["risk_limits"]}
    assert {code: read[code] for code in facts} == facts
    # The notes move them: without the openings and notes, most limits would not add up.
    assert any(n.account_code in facts for n in NOTES)


def test_a_site_with_a_cancel_flag_keeps_cancelled_movements(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        got = records(source.stream("account_ledger"))
    _same_ledger(got, _facts(cancelled=True))
    assert any(e.cancelled and e.kind == "invoice" for e in got)
    assert any(e.cancelled and e.kind == "collection" for e in got)


def test_the_changes_come_back_and_nothing_else(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    writer = write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        stream = source.stream("account_ledger")
        first = read(stream)
        last = max(c for _, _, c in first if c is not None)
        assert last <= SCENARIO.as_of
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - OVERLAP
        again = read(stream, since)
    new_invoice, new_collection = CHANGES["new_invoice"].invoice, CHANGES["new_collection"].collection
    assert new_invoice is not None and new_collection is not None
    cancelled = CHANGES["cancel_invoice"].number
    changed = {(new_invoice.number, "invoice"), (cancelled, "invoice"), (new_collection.number, "collection")}
    overlap = {(e.document_no, e.kind) for _, e, c in first if c is not None and c >= since}
    assert {(e.document_no, e.kind) for _, e, _ in again} == overlap | changed
    assert all(c is not None and c >= since for _, _, c in again)
    got = {(e.document_no, e.kind): (e, c) for _, e, c in again}
    [want_invoice] = expect.ledger_entries([new_invoice], [], [])
    assert expect.comparable(got[new_invoice.number, "invoice"][0], IGNORE) == expect.comparable(want_invoice, IGNORE)
    entry, cursor = got[cancelled, "invoice"]
    assert entry.cancelled and cursor == CHANGES["cancel_invoice"].at
    assert got[new_collection.number, "collection"][0].credit_local == new_collection.amount_local
    # New movements come after the old ones in Netsis's own order.
    assert got[new_invoice.number, "invoice"][0].sequence > max(e.sequence or 0 for _, e, _ in first)


def test_a_cancelled_invoices_movement_leaves_at_a_reconcile(tmp_path: Path) -> None:
    """The vendor's layout deletes a cancelled invoice with its TBLCAHAR posting: a reconcile sends the delete."""
    where = server("sqlite", tmp_path)
    writer = write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with Feed(tmp_path) as feed, adapter(where.url("GIDA2026"), SCENARIO) as source:
        first, _ = feed.sync(source, "account_ledger")
        number = CHANGES["cancel_invoice"].number
        key = next(
            k for k, e, _ in read(source.stream("account_ledger")) if (e.document_no, e.kind) == (number, "invoice")
        )
        writer.apply(CHANGES["cancel_invoice"])
        _, incremental = feed.sync(source, "account_ledger")
        reconciled, sent = feed.sync(source, "account_ledger", reconcile=True)
    assert first.read == len(_facts(cancelled=False)) and first.dead_lettered == 0
    assert incremental == []
    assert [(e["key"], e["op"]) for e in sent] == [(key, "delete")]
    assert reconciled.deleted == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    where = server(request.param, tmp_path)
    try:
        write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), cancel_column=STAMPED_SITE["cancel_column"])
        yield where
    finally:
        where.close()


def _break(url: str) -> dict[int, dict[str, Any]]:
    """Break five movements, each its own way; another gets a letter nobody maps. Their INC_KEY_NUMBERs -> edit."""
    c = T.CAHAR.c
    edits: list[dict[str, Any]] = [
        {"ALACAK": 125.0},  # on an invoice posting: a debit and a credit at once
        {"HAREKET_TURU": None},
        {"DOVIZ_TURU": 9},  # a currency number the settings do not know
        {"BORC": -50.0},
        {"HAREKET_TURU": "Z"},  # no reading: kind other, sent
    ]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        refs = conn.execute(
            sa.select(c.INC_KEY_NUMBER).where(c.HAREKET_TURU == "B").order_by(c.INC_KEY_NUMBER).limit(len(edits))
        ).scalars()
        broken = dict(zip(refs, edits, strict=True))
        foreign = conn.execute(
            sa.select(sa.func.min(c.INC_KEY_NUMBER)).where(c.DOVIZ_TURU != 0, c.INC_KEY_NUMBER.not_in(list(broken)))
        ).scalar_one()
        broken[foreign] = {"DOVIZ_TUTAR": 0.0}  # a foreign movement without its foreign amount
        for ref, values in broken.items():
            conn.execute(T.CAHAR.update().where(ref == c.INC_KEY_NUMBER).values(values))
    engine.dispose()
    return broken


def test_a_broken_movement_is_a_dead_letter_and_the_rest_flows(site: Server, tmp_path: Path) -> None:
    broken = _break(site.url("GIDA2026"))
    settings: dict[str, Any] = {"cancelled_column": STAMPED_SITE["cancel_column"]}
    if site.backend != "sqlite":
        settings |= {"databases": [site.database("GIDA2026")], "rates_database": site.database("NETSIS")}
    with adapter(site.url("GIDA2026"), SCENARIO, **settings) as source:
        out = sync(source, tmp_path, "account_ledger")
    prefix = f"{site.database('GIDA2026')}:"
    refs = list(broken)
    foreign = out.dead.pop(("account_ledger", f"{prefix}{refs[5]}"))
    assert re.fullmatch(
        r"(debit|credit): DOVIZ_TUTAR is 0\.00 on a (USD|EUR) movement: its amount must be positive", foreign
    )
    assert out.dead == {
        ("account_ledger", f"{prefix}{refs[0]}"): "debit: both BORC and ALACAK hold an amount: a movement is a debit "
        "or a credit",
        ("account_ledger", f"{prefix}{refs[1]}"): "erp_kind: HAREKET_TURU is missing: the movement's kind is unknown",
        ("account_ledger", f"{prefix}{refs[2]}"): "currency: unknown Netsis currency number 9 (add it to the "
        "currency_codes setting)",
        ("account_ledger", f"{prefix}{refs[3]}"): "debit: BORC is -50.0: Netsis keeps a movement's amount positive "
        "on its side",
    }
    sent = {key: data for (_, key), data in out.feed.items()}
    assert len(sent) == len(_facts(cancelled=True)) - 5
    other = sent[f"{prefix}{refs[4]}"]
    assert other is not None and (other["kind"], other["erp_kind"]) == ("other", "Z")


def test_one_setting_decides_each_letter() -> None:
    """Collections and bounced cheques are what the collections stream reads: ledger_credits/ledger_debits cannot
    say otherwise for their letters, nor invent collections the collections stream would not carry."""
    url = "sqlite:///GIDA2026.db"
    with pytest.raises(ValidationError, match="'K' is both in ledger_credits and in collection_kinds"):
        NetsisSettings(url=url, ledger_credits={"K": "credit_note"})
    with pytest.raises(ValidationError, match="'J' is both in ledger_debits and in debit_reversals"):
        NetsisSettings(url=url, ledger_debits={"J": "cheque_return"})
    with pytest.raises(ValidationError, match="ledger_credits may not map to collection"):
        NetsisSettings(url=url, ledger_credits={"N": "collection"})
    # A site whose dekont credits are rebates, not transfers, says so in both settings.
    site = NetsisSettings(
        url=url,
        collection_kinds={"D": "cash", "E": "promissory_note", "G": "cheque", "M": "card"},
        ledger_credits={"A": "opening", "C": "return", "K": "credit_note"},
    )
    assert ledger_kind(site, "K", credit=True) == ("credit_note", None)
    assert ledger_kind(site, "K", credit=False) == ("debit_note", None)
    assert ledger_kind(site, "G", credit=True) == ("collection", "cheque")
    assert ledger_kind(site, "J", credit=False) == ("cheque_return", "cheque")
    assert ledger_kind(site, "Z", credit=True) == ("other", None)
