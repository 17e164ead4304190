"""Bounced cheques and protested notes: TBLCAHAR debit rows (HAREKET_TURU J, I) undo a collection the feed sent.

They go out as negative collections of the method they reverse (as the Mikro adapter sends returned cheques
and notes), through the `debit_reversals` setting, which the census shows with its source (UNCONFIRMED: the
letters come from one source). The scenario has no bounced cheques, and the writer cannot add them without
moving the account balances the risk limits report, so the test inserts the rows a bounce posts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from connectors.census import UNCONFIRMED, census_warnings
from connectors.netsis import NetsisSettings
from connectors.netsis.tables import netsis_tables
from connectors.netsis.writer import damage
from mapping.schema import Collection
from scenario import expect
from scenario.generate import build
from tests.netsis_dbs import adapter, records, server, write

SCENARIO = build(invoice_lines=2000)
CAHAR = netsis_tables(sa.MetaData()).CAHAR
LIVE = [s.record for s in SCENARIO.collections() if not s.record.cancelled]
LEDGER = "TBLCAHAR.HAREKET_TURU x side"
LEFT_OUT = {"I": "protested note: agreed with the platform", "J": "bounced cheque: agreed with the platform"}


def _bounced(url: str) -> dict[str, Collection]:
    """A foreign cheque bounces, a note is protested, and some cash is paid out (D): the debit rows Netsis posts,
    each on the collection's number, account, currency and amounts. Returns the letter -> the collection undone."""
    cheque = next(c for c in LIVE if c.method == "cheque" and c.currency != "TRY")
    note = next(c for c in LIVE if c.method == "promissory_note")
    cash = next(c for c in LIVE if c.method == "cash")
    c = CAHAR.c
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        top = conn.execute(sa.select(sa.func.max(c.INC_KEY_NUMBER))).scalar_one()
        for n, (letter, undone) in enumerate((("J", cheque), ("I", note), ("D", cash)), start=1):
            original = conn.execute(sa.select(CAHAR).where(damage(undone.number) == c.BELGE_NO, c.ALACAK > 0)).one()
            day = original.TARIH + dt.timedelta(days=3)
            row = {
                **original._asdict(),
                "INC_KEY_NUMBER": top + n,
                "TARIH": day,
                "HAREKET_TURU": letter,
                "BORC": original.ALACAK,
                "ALACAK": 0.0,
                "KAYITTARIHI": day,
                "DUZELTMETARIHI": None,
            }
            conn.execute(CAHAR.insert().values(row))
    engine.dispose()
    return {"J": cheque, "I": note}


@pytest.fixture
def url(tmp_path: Path) -> str:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    return where.url("GIDA2026")


def test_bounced_cheques_and_protested_notes_are_negative_collections(url: str) -> None:
    undone = _bounced(url)
    with adapter(url, SCENARIO) as source:
        got = records(source.stream("collections"))
        counts = {c.shown: c for c in source.census(None) if c.column.name == LEDGER}
    negative = sorted((c for c in got if c.amount_local < 0), key=lambda c: c.method)
    assert [(c.number, c.method, c.amount, c.amount_local, c.currency) for c in negative] == [
        (x.number, x.method, -x.amount, -x.amount_local, x.currency) for x in (undone["J"], undone["I"])
    ]
    assert len(got) == len(LIVE) + 2  # the cash paid out (D) stays out
    assert negative[0].rate == undone["J"].rate and negative[0].currency != "TRY"
    # What the payout sees per dealer: what was collected, less what bounced.
    want = expect.collections_by_dealer(LIVE)
    for x in undone.values():
        want[x.account_code] -= x.amount_local
    assert expect.collections_by_dealer(got) == want
    for letter, method in (("J", "cheque"), ("I", "promissory_note")):
        reading = counts[f"{letter} x BORC"].reading
        assert reading is not None and reading.sent and reading.source == UNCONFIRMED
        assert reading.action == f"collection reversed: a negative collection, method {method}"
        assert counts[f"{letter} x BORC"].money == undone[letter].amount_local
    assert counts["D x BORC"].reading is not None and not counts["D x BORC"].reading.sent


def test_the_ledger_debits_bounced_cheques_back(url: str) -> None:
    """In the account ledger the three debits are entries of their own: the bounced cheque and the protested note
    are cheque_return entries on the collection's number (the negative collection's), the cash paid out a payment;
    each in the currency of the movement, debit positive."""
    undone = _bounced(url)
    with adapter(url, SCENARIO) as source:
        entries = records(source.stream("account_ledger"))
    debits = {(e.erp_kind, e.document_no): e for e in entries if e.erp_kind in ("I", "J", "D") and e.debit_local}
    cash = next(c for c in LIVE if c.method == "cash")
    assert sorted(debits) == sorted([("J", undone["J"].number), ("I", undone["I"].number), ("D", cash.number)])
    for letter, x in (*undone.items(), ("D", cash)):
        e = debits[(letter, x.number)]
        assert (e.kind, e.account_code, e.currency) == (
            "payment" if letter == "D" else "cheque_return",
            x.account_code,
            x.currency,
        )
        assert (e.debit, e.debit_local, e.credit, e.credit_local) == (x.amount, x.amount_local, 0, 0)
        assert e.rate == x.rate and e.sequence is not None and e.date > x.date
        assert e.due_date == (x.due_date if letter != "D" else None)


def test_an_integrator_switches_reversals_off(url: str) -> None:
    """debit_reversals: {} with the letters left out on purpose: no reversal is sent, and the census says why."""
    undone = _bounced(url)
    with adapter(url, SCENARIO, debit_reversals={}) as source:
        warned = {w.name: w for w in census_warnings(source.census(None))}
    # Unknown to the collections stream, and to the ledger too (kind other) until ledger_debits reads them.
    assert sorted(warned) == ["codes account_ledger", "codes collections"]
    assert "debit_reversals" in warned["codes collections"].detail
    for line in warned.values():
        assert "I x BORC (1 rows" in line.detail and "J x BORC (1 rows" in line.detail
    left_out = {**NetsisSettings(url=url).debits_left_out, **LEFT_OUT}
    ledger_debits = {**NetsisSettings(url=url).ledger_debits, "I": "cheque_return", "J": "cheque_return"}
    settings: dict[str, Any] = {"debit_reversals": {}, "debits_left_out": left_out, "ledger_debits": ledger_debits}
    with adapter(url, SCENARIO, **settings) as source:
        got = records(source.stream("collections"))
        entries = records(source.stream("account_ledger"))
        census = source.census(None)
        counts = {c.shown: c for c in census if c.column.name == LEDGER}
    assert sorted(c.number for c in got) == sorted(c.number for c in LIVE)
    assert all(c.amount_local > 0 for c in got)
    reading = counts["J x BORC"].reading
    assert reading is not None and not reading.sent and reading.source == "your settings"
    assert census_warnings(census) == []
    # The ledger still debits the bounced cheque and the protested note back, read through ledger_debits.
    assert sorted(e.document_no or "" for e in entries if e.kind == "cheque_return") == sorted(
        c.number for c in undone.values()
    )


def test_a_letter_cannot_be_both_reversed_and_left_out() -> None:
    """A config listing J among the debits left out (as the README's example did) must choose."""
    with pytest.raises(ValidationError, match="'J' is both in debit_reversals and in debits_left_out"):
        NetsisSettings(url="sqlite:///GIDA2026.db", debits_left_out={"J": "bounced cheque"})
    settings: dict[str, Any] = {"debit_reversals": {"J": "cheque"}, "debits_left_out": {"I": "protested note"}}
    assert NetsisSettings(url="sqlite:///GIDA2026.db", **settings).debit_reversals == {"J": "cheque"}


def test_the_default_reversals_read_the_letters_the_reference_gives() -> None:
    settings = NetsisSettings(url="sqlite:///GIDA2026.db")
    assert settings.debit_reversals == {"I": "promissory_note", "J": "cheque"}
    assert not set(settings.debit_reversals) & set(settings.debits_left_out)
