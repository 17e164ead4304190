"""The account_ledger stream: the scenario's invoices, returns, collections, opening balances and debit and credit
notes, written into CARI_HESAP_HAREKETLERI by MikroWriter, come back as the ledger `expect.ledger_entries` makes of
them, on SQLite, PostgreSQL and MariaDB (the latter two skip, with the reason, when not reachable).

Entries are matched by (document_no, kind) and compared with `expect.comparable`, ignoring:
  * erp_kind: the raw Mikro codes (evrak_tip:cinsi:tip:iade), which the ERP-neutral facts cannot know (checked
    apart for the notes);
  * sequence: Mikro's own record number (cha_RECno), an identity the facts do not have (checked apart: one each);
  * balance: Mikro keeps no running balance on a movement, so the stream sends null;
  * flags: the engine's plausibility marks, set after mapping;
  * due_date, of invoice and return entries only: on an invoice cha_vade is a payment-plan number, not a date
    (the invoices stream lacks it too); a cheque's or note's due date is compared.

What Mikro does otherwise: a cash-terms dealer's sale is closed to the cash box or bank at once (cha_cari_cins 4 / 2,
the dealer only in cha_ciro_cari_kodu) and never posted to the account, so it is no entry of the ledger (read and
excluded under a named rule), and each dealer's entries add up to Mikro's balance: the scenario's balance less those
invoices, which is what risk_limits reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.base import Excluded
from connectors.mikro.ledger import CLOSED
from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer import pays_at_once
from engine.sync import Policy
from mapping.schema import Invoice, LedgerEntry
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.mikro_dbs import adapter, read, records, write
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
IGNORED = frozenset({"erp_kind", "sequence", "balance", "flags"})
DOCUMENT_IGNORED = IGNORED | {"due_date"}
ACCOUNTS = {s.record.code: s.record for s in SCENARIO.accounts}
ZERO = Decimal("0.00")


def closed(invoices: list[Invoice]) -> dict[str, Invoice]:
    """The invoices the writer closes to the cash box or bank (sales of cash-terms dealers), by number."""
    return {i.number: i for i in invoices if i.kind == "sale" and pays_at_once(ACCOUNTS[i.account_code])}


def expected() -> dict[tuple[str | None, str], LedgerEntry]:
    invoices = [s.record for s in SCENARIO.invoices()]
    entries = expect.ledger_entries(
        invoices, [s.record for s in SCENARIO.collections()], [n.record for n in SCENARIO.notes()]
    )
    left_out = closed(invoices)
    return {(e.document_no, e.kind): e for e in entries if e.document_no not in left_out}


def same(got: LedgerEntry, want: LedgerEntry) -> bool:
    ignore = DOCUMENT_IGNORED if want.kind in ("invoice", "return") else IGNORED
    return bool(expect.comparable(got, ignore) == expect.comparable(want, ignore))


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with database_url(request.param, tmp_path_factory.mktemp("ledger")) as url:
        write(url, SCENARIO)
        with adapter(url, SCENARIO) as source:
            stream = source.stream("account_ledger")
            items = [item for chunk in stream.read(None) for item in chunk]
            mapped = [(stream.key(item), stream.map(item)) for item in items]
            some = [key for key, record in mapped if isinstance(record, LedgerEntry)][::97]
            fetched = [(stream.key(item), stream.map(item)) for item in stream.fetch(some)]
            risk = records(source.stream("risk_limits"))
            invoices = records(source.stream("invoices"))
            collections = records(source.stream("collections"))
        yield {"mapped": mapped, "fetched": fetched, "risk": risk, "invoices": invoices, "collections": collections}


def entries(synced: dict[str, Any]) -> list[LedgerEntry]:
    return [record for _, record in synced["mapped"] if isinstance(record, LedgerEntry)]


def test_the_ledger_is_the_scenarios_entry_by_entry(synced: dict[str, Any]) -> None:
    got = {(e.document_no, e.kind): e for e in entries(synced)}
    assert len(got) == len(entries(synced))  # (document_no, kind) names one entry
    want = expected()
    assert got.keys() == want.keys()
    for key, entry in want.items():
        assert same(got[key], entry), key
    assert {e.kind for e in got.values()} == {"opening", "debit_note", "credit_note", "invoice", "return", "collection"}
    assert any(e.cancelled for e in got.values()) and {"USD", "EUR"} <= {e.currency for e in got.values()}
    assert any(e.due_date for e in got.values())  # the cheques' and notes' maturities


def test_document_entries_carry_their_documents_numbers_and_figures(synced: dict[str, Any]) -> None:
    """An invoice's or return's entry has the number, account and local total the invoices stream gives it; a
    collection's the number, account and local amount the collections stream gives it."""
    invoices = {i.number: i for i in synced["invoices"]}
    collections = {c.number: c for c in synced["collections"]}
    documents = [e for e in entries(synced) if e.kind in ("invoice", "return", "collection")]
    assert len(documents) > 700
    for e in documents:
        if e.kind == "collection":
            c = collections[e.document_no]  # type: ignore[index]
            assert (c.account_code, c.amount_local, c.cancelled) == (e.account_code, e.credit_local, e.cancelled)
        else:
            i = invoices[e.document_no]  # type: ignore[index]
            local = e.debit_local if e.kind == "invoice" else e.credit_local
            assert i.totals_local is not None and (i.account_code, i.totals_local.total) == (e.account_code, local)


def test_notes_are_mikros_opening_slips_and_dekonts_and_every_entry_has_its_record_number(
    synced: dict[str, Any],
) -> None:
    got = entries(synced)
    notes = {e.kind: e.erp_kind for e in got if e.kind in ("opening", "debit_note", "credit_note")}
    assert notes == {"opening": "29:16:0:0", "debit_note": "31:5:0:0", "credit_note": "32:5:1:0"}
    assert all(e.balance is None for e in got)
    sequences = [e.sequence for e in got]
    assert None not in sequences and len(set(sequences)) == len(sequences)


def test_documents_closed_to_cash_or_bank_are_left_out_by_a_named_rule(synced: dict[str, Any]) -> None:
    """A closed sale posts to the cash box or bank and a transfer promise's closing to the bank: neither is on the
    account, so both are read and excluded, each under the rule; nothing else is."""
    left_out = [key for key, record in synced["mapped"] if isinstance(record, Excluded)]
    assert {record.rule for _, record in synced["mapped"] if isinstance(record, Excluded)} == {CLOSED}
    invoices = closed([s.record for s in SCENARIO.invoices()])
    sales = {key for key in left_out if key.startswith("63:")}
    assert {f"63:{n[:-6]}:{int(n[-6:])}:0" for n in invoices} == sales
    assert all(key.startswith("93:") for key in set(left_out) - sales) and len(left_out) > len(sales)


def test_each_dealers_entries_add_up_to_its_balance(synced: dict[str, Any]) -> None:
    sums: dict[str, Decimal] = {}
    for e in entries(synced):
        if not e.cancelled:
            sums[e.account_code] = sums.get(e.account_code, ZERO) + e.debit_local - e.credit_local
    risk = {r.account_code: r.open_balance for r in synced["risk"]}
    left_out: dict[str, Decimal] = {}
    for inv in closed([s.record for s in SCENARIO.invoices()]).values():
        if not inv.cancelled:
            left_out[inv.account_code] = left_out.get(inv.account_code, ZERO) + inv.totals_local.total
    facts = [f for f in SCENARIO.risk_limits if f.open_balance is not None]
    assert facts and left_out
    for fact in facts:
        balance = fact.open_balance - left_out.get(fact.account_code, ZERO)  # type: ignore[operator]
        assert sums.get(fact.account_code, ZERO) == risk[fact.account_code] == balance, fact.account_code


def test_a_fetched_key_maps_as_the_read_did(synced: dict[str, Any]) -> None:
    """`dead-letters --retry` re-reads keys with fetch(): the same entries, an invoice with its further rows."""
    read_ = dict(synced["mapped"])
    assert len(synced["fetched"]) > 5
    assert all(read_[key] == record for key, record in synced["fetched"])


def _changed_entries() -> set[tuple[str | None, str, bool]]:
    """(document_no, kind, cancelled) of the entries the scenario's changes make, closed sales left out."""
    changes = {c.kind: c for c in SCENARIO.changes}
    new, collection = changes["new_invoice"].invoice, changes["new_collection"].collection
    assert new is not None and collection is not None
    cancelled = next(s.record for s in SCENARIO.invoices() if s.record.number == changes["cancel_invoice"].number)
    invoices = [new, msgspec.structs.replace(cancelled, cancelled=True)]
    made = expect.ledger_entries([i for i in invoices if i.number not in closed(invoices)], [collection], [])
    return {(e.document_no, e.kind, e.cancelled) for e in made}


def test_an_incremental_sync_sends_exactly_the_changed_entries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    writer = write(url, SCENARIO)
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        stream = source.stream("account_ledger")
        first = read(stream)
        last = max(cursor for _, _, cursor in first if cursor is not None)
        full, _ = feed.sync(source, "account_ledger")
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - Policy().overlap
        again = read(stream, since)
        result, sent = feed.sync(source, "account_ledger")
    # The read: the rows stamped within the overlap, and the changed ones, nothing else.
    before = {key for key, _, cursor in first if cursor is not None and cursor >= since}
    changed = {key for key, _, cursor in again if cursor is not None and cursor > SCENARIO.as_of}
    assert {key for key, _, _ in again} == before | changed and changed
    # The engine: exactly the entries of the new invoice, the cancelled one and the new collection.
    assert {(e["data"]["document_no"], e["data"]["kind"], e["data"]["cancelled"]) for e in sent} == _changed_entries()
    assert all(e["op"] == "upsert" for e in sent) and result.read < full.read


def test_a_changed_further_row_re_reads_its_invoice(tmp_path: Path) -> None:
    """A service invoice keeps a row per service; a change to the second row re-reads the invoice's one entry."""
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    h = mikro_tables(sa.MetaData()).CARI_HESAP_HAREKETLERI
    later = SCENARIO.as_of + dt.timedelta(hours=1)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(h.c.cha_Guid, h.c.cha_evrakno_seri, h.c.cha_evrakno_sira)
            .where(h.c.cha_evrak_tip == 63, h.c.cha_satir_no == 1, h.c.cha_cari_cins == 0)
            .limit(1)
        ).one()
        conn.execute(h.update().where(h.c.cha_Guid == row.cha_Guid).values(cha_lastup_date=later.replace(tzinfo=None)))
    engine.dispose()
    with adapter(url, SCENARIO) as source:
        stream = source.stream("account_ledger")
        rows = read(stream, later - dt.timedelta(minutes=1))
        whole = {key: record for key, record, _ in read(stream)}
    key = f"63:{row.cha_evrakno_seri}:{row.cha_evrakno_sira}:0"
    assert [k for k, _, _ in rows] == [key]
    entry = rows[0][1]
    invoice = next(s.record for s in SCENARIO.invoices() if s.record.number == entry.document_no)
    assert len([ln for ln in invoice.lines if ln.kind == "service"]) > 1
    assert entry == whole[key] and entry.debit == invoice.totals.total  # every service row, one entry
