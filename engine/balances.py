"""Account balances: a dealer's account per currency as of a day, computed from the account ledger's facts.

The ledger keeps no settlement links, so what is still open is found the way a balance reconciliation (cari
mutabakat) or an ageing list does: within a currency, the credits pay the debits in order of due date. What
is open is then the latest-due debits, and what is overdue is the open part of those due before the day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from engine.facts import StoredFact
from mapping.schema import AccountBalance

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


def balances(
    account: str, entries: Iterable[LedgerFact], today: dt.date
) -> tuple[list[AccountBalance], dt.date | None]:
    """The dealer's balance per currency on `today`, and the next day its figures change with no new entry (a debit
    falls due, a cheque matures), or None."""
    by_currency: dict[str, list[LedgerFact]] = defaultdict(list)
    for e in entries:
        if not e.cancelled and _PLAUSIBLE[0] <= e.date <= _PLAUSIBLE[1]:
            by_currency[e.currency].append(e)
    out: list[AccountBalance] = []
    upcoming: list[dt.date] = []
    for currency in sorted(by_currency):
        record, next_day = _balance(account, currency, by_currency[currency], today)
        out.append(record)
        if next_day is not None:
            upcoming.append(next_day)
    return out, min(upcoming, default=None)


def _balance(
    account: str, currency: str, entries: list[LedgerFact], today: dt.date
) -> tuple[AccountBalance, dt.date | None]:
    debit = sum((e.debit for e in entries), _ZERO)
    credit = sum((e.credit for e in entries), _ZERO)
    local = sum((e.debit_local - e.credit_local for e in entries), _ZERO)
    debits = sorted(
        (_Debit(_due(e), e.date, e.debit, e.kind in _INVOICES) for e in entries if e.debit > 0),
        key=lambda d: (d.due, d.date),
    )
    left = credit
    overdue = open_amount = _ZERO
    open_invoices = 0
    oldest: dt.date | None = None
    upcoming: list[dt.date] = []
    for d in debits:
        paid = min(left, d.amount)
        left -= paid
        unpaid = d.amount - paid
        if unpaid <= 0:
            continue
        oldest = d.due if oldest is None else min(oldest, d.due)
        if d.due < today:
            overdue += unpaid
        else:
            upcoming.append(d.due + dt.timedelta(days=1))  # overdue from the day after its due date
        if d.invoice:
            open_invoices += 1
            open_amount += unpaid
    uncleared = _ZERO
    for e in entries:
        if e.kind in _CLEARING and e.credit > 0 and e.due_date is not None and e.due_date > today:
            uncleared += e.credit
            upcoming.append(e.due_date)
    return (
        AccountBalance(
            account_code=account,
            currency=currency,
            debit=debit,
            credit=credit,
            balance=debit - credit,
            balance_local=local,
            overdue=overdue,
            open_invoices=open_invoices,
            open_invoice_amount=open_amount,
            oldest_open_due=oldest,
            not_yet_cleared=uncleared,
            last_entry=max(e.date for e in entries),
            entries=len(entries),
            as_of=today,
        ),
        min(upcoming, default=None),
    )


def _due(e: LedgerFact) -> dt.date:
    return e.due_date if e.due_date is not None and e.due_date <= _PLAUSIBLE[1] else e.date
