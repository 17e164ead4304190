"""Account balances: a dealer's account as of a day, in local currency and per currency, computed from the account
ledger's facts.

The ledger keeps no settlement links, so what is still open is found the way a balance reconciliation (cari
mutabakat) or an ageing list does: the credits pay the debits in order of due date (in local amounts; per
currency, in that currency's). What is open is then the latest-due debits, and what is overdue is the open part
of those due before the day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from engine.facts import StoredFact
from mapping.schema import AccountBalance, CurrencyPosition

if TYPE_CHECKING:
    from engine.state import StateStore


class LedgerFact(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a balance needs of one ledger entry."""

    account_code: str
    date: dt.date
    kind: str
    document_no: str | None = None
    currency: str
    debit: Decimal
    credit: Decimal
    debit_local: Decimal
    credit_local: Decimal
    due_date: dt.date | None = None
    cancelled: bool = False


_decode = msgspec.json.Decoder(LedgerFact).decode
_encode = msgspec.json.Encoder(decimal_format="string").encode
_ZERO = Decimal(0)
_PLAUSIBLE = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))  # mapping.plausibility's range of dates
_CLEARING = frozenset({"collection"})  # a credit with a later due date is a cheque or note not yet paid
_INVOICES = frozenset({"invoice"})


def fact_of(data: bytes) -> StoredFact:
    """The fact of one sent ledger entry (its encoded JSON)."""
    fact = _decode(data)
    return StoredFact(fact.account_code, _encode(fact))


def dealer_entries(
    state: StateStore, source: str, accounts: Sequence[str] | None
) -> Iterator[tuple[str, list[LedgerFact]]]:
    """Each dealer's ledger facts (every dealer: None), in account order."""
    account: str | None = None
    entries: list[LedgerFact] = []
    for acc, _, _, payload in state.facts(source, ("account_ledger",), accounts):
        if acc != account:
            if account is not None:
                yield account, entries
            account, entries = acc, []
        entries.append(_decode(payload))
    if account is not None:
        yield account, entries


class _Debit(msgspec.Struct):
    due: dt.date
    date: dt.date
    amount: Decimal
    invoice: bool


class _Open(msgspec.Struct):
    """What is left unpaid once the credits have paid the debits in order of due date."""

    overdue: Decimal
    open_invoices: int
    open_invoice_amount: Decimal
    oldest_due: dt.date | None
    falls_due: dt.date | None  # the next day an unpaid debit becomes overdue


def _open(debits: list[_Debit], credit: Decimal, today: dt.date) -> _Open:
    left = credit
    overdue = amount = _ZERO
    invoices = 0
    oldest: dt.date | None = None
    falls_due: dt.date | None = None
    for d in sorted(debits, key=lambda d: (d.due, d.date)):
        paid = min(left, d.amount)
        left -= paid
        unpaid = d.amount - paid
        if unpaid <= 0:
            continue
        oldest = d.due if oldest is None else min(oldest, d.due)
        if d.due < today:
            overdue += unpaid
        else:  # overdue from the day after its due date
            after = d.due + dt.timedelta(days=1)
            falls_due = after if falls_due is None else min(falls_due, after)
        if d.invoice:
            invoices += 1
            amount += unpaid
    return _Open(overdue, invoices, amount, oldest, falls_due)


def balance(
    account: str, entries: Iterable[LedgerFact], today: dt.date
) -> tuple[AccountBalance | None, dt.date | None]:
    """The dealer's account on `today` (None: no entry counts), and the next day its figures change with no new entry
    (a debit falls due, a cheque matures), or None."""
    live = [e for e in entries if not e.cancelled and _PLAUSIBLE[0] <= e.date <= _PLAUSIBLE[1]]
    if not live:
        return None, None
    debit = sum((e.debit_local for e in live), _ZERO)
    credit = sum((e.credit_local for e in live), _ZERO)
    local = _open([_Debit(_due(e), e.date, e.debit_local, e.kind in _INVOICES) for e in live if e.debit_local > 0],
                  credit, today)  # fmt: skip
    upcoming = [day for day in (local.falls_due,) if day is not None]
    uncleared = _ZERO
    for e in live:
        if e.kind in _CLEARING and e.credit_local > 0 and e.due_date is not None and e.due_date > today:
            uncleared += e.credit_local
            upcoming.append(e.due_date)
    positions = []
    by_currency: dict[str, list[LedgerFact]] = defaultdict(list)
    for e in live:
        by_currency[e.currency].append(e)
    for currency in sorted(by_currency):
        mine = by_currency[currency]
        c_debit = sum((e.debit for e in mine), _ZERO)
        c_credit = sum((e.credit for e in mine), _ZERO)
        own = _open([_Debit(_due(e), e.date, e.debit, False) for e in mine if e.debit > 0], c_credit, today)
        if own.falls_due is not None:
            upcoming.append(own.falls_due)
        positions.append(
            CurrencyPosition(
                currency=currency,
                debit=c_debit,
                credit=c_credit,
                balance=c_debit - c_credit,
                balance_local=sum((e.debit_local - e.credit_local for e in mine), _ZERO),
                overdue=own.overdue,
                entries=len(mine),
            )
        )
    record = AccountBalance(
        account_code=account,
        debit=debit,
        credit=credit,
        balance=debit - credit,
        overdue=local.overdue,
        open_invoices=local.open_invoices,
        open_invoice_amount=local.open_invoice_amount,
        oldest_open_due=local.oldest_due,
        not_yet_cleared=uncleared,
        last_entry=max(e.date for e in live),
        entries=len(live),
        by_currency=positions,
        as_of=today,
    )
    return record, min(upcoming, default=None)


def _due(e: LedgerFact) -> dt.date:
    return e.due_date if e.due_date is not None and e.due_date <= _PLAUSIBLE[1] else e.date
