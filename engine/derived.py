"""Streams dealersync computes from what it has read, for every adapter alike: `dealer_kpis` and `account_balances`.

A derived stream runs through the engine like any other (hashes, outbox, deletes), after the streams it is made
from (its inputs, whose facts the engine keeps: engine/facts.py). Its incremental read recomputes the dealers whose
facts moved since it last ran, and those whose figures the calendar moves; a complete read (the first,
`--full-refresh`, `--reconcile`) recomputes every dealer.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from connectors.base import Adapter, Partition, Stream
from engine import balances, kpis
from engine.facts import CONSUMERS, StoredFact, inputs_of
from engine.state import ALL_DEALERS, StateStore
from mapping.schema import Record

_DEALERS_PER_CHUNK = 50

# An item: (key, the record, or None for a key the dealer no longer has).
Item = tuple[str, Record | None]
# The cursor every item carries: what is recomputed is what the dirty marks say, so the engine's cursor only
# tells a first (complete) read from the later ones. A fixed past instant never runs ahead of the clock.
_READ_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def stream_names(adapter: Adapter) -> list[str]:
    """Every stream a source offers: the adapter's, then the derived ones its streams feed."""
    own = [s.name for s in adapter.streams()]
    return [*own, *_fed(own)]


def derived_streams(state: StateStore, adapter: Adapter) -> list[Stream]:
    """The derived streams of a source that reads their inputs and does not disable them."""
    source = adapter.context.name
    return [
        DERIVED[name](state, source)
        for name in _fed(s.name for s in adapter.streams())
        if name not in adapter.context.disabled
    ]


def _fed(names: Iterable[str]) -> list[str]:
    """The derived streams that a dealer's own input among these streams feeds (products alone feed nothing)."""
    fed = {CONSUMERS[n] for n in names if n in CONSUMERS and n != "products"}
    return [name for name in DERIVED if name in fed]


def keeps_facts(adapter: Adapter, stream: str) -> bool:
    """Whether the engine keeps the facts of a stream's records: unless the source disables the stream they feed."""
    consumer = CONSUMERS.get(stream)
    return consumer is not None and consumer not in adapter.context.disabled


def fact_of(stream: str, data: bytes) -> StoredFact:
    """The fact of one sent record of a fact stream (its encoded JSON)."""
    return balances.fact_of(data) if stream == "account_ledger" else kpis.fact_of(stream, data)


class _PerDealer(Stream):
    """A derived stream of a dealer's records, computed one dealer at a time."""

    replication_key = "computed"  # not a field: see _READ_BEFORE
    today = staticmethod(dt.date.today)  # which months or days have begun

    def __init__(self, state: StateStore, source: str) -> None:
        self.state = state
        self.source = source
        self.inputs = inputs_of(self.name)  # the engine skips a run until each of these has finished a read
        self._taken: list[tuple[str, int]] = []
        self._computed: list[str] | None = []  # None: every dealer
        self._later: dict[str, str] = {}

    @abstractmethod
    def _now(self, today: dt.date) -> str:
        """The label (a month, a day) of `today` that the dealers waiting for the calendar are compared with."""

    @abstractmethod
    def _compute(self, accounts: Sequence[str] | None, today: dt.date) -> Iterator[tuple[str, list[Any], str | None]]:
        """Per dealer (every dealer: None): its records, and the label of the next month or day its figures move
        with no new fact (None: none)."""

    @abstractmethod
    def _key(self, account: str, record: Any) -> str:
        """The key of one of the dealer's records."""

    @abstractmethod
    def _account_of(self, key: str) -> str | None:
        """The dealer of a key this stream makes (None: not one of its keys)."""

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Item]]:
        marks = self.state.dirty_dealers(self.source, self.name)
        self._taken = marks
        today = self.today()
        now = self._now(today)
        due = self.state.dealers_due(self.source, self.name, now)
        marked = sorted({account for account, _ in marks if account != ALL_DEALERS} | set(due))
        everyone = since is None or any(account == ALL_DEALERS for account, _ in marks)
        self._computed = None if everyone else marked
        self._later = {}
        # Keys a dealer no longer has are sent as deletes here; a complete read leaves that to the engine,
        # which deletes every key it did not read.
        recheck = set() if since is None else set(marked)
        if not everyone and not marked:  # nothing moved since the last run
            return
        sent = self._sent_keys(recheck)
        chunk: list[Item] = []
        done: set[str] = set()
        for account, records, later in self._compute(None if everyone else marked, today):
            chunk.extend(self._items(account, records, sent.get(account, ())))
            if later is not None and later > now:
                self._later[account] = later
            done.add(account)
            if len(done) % _DEALERS_PER_CHUNK == 0:
                yield chunk
                chunk = []
        for account in sorted(recheck - done):  # no facts left: every record of the dealer deleted
            chunk.extend(self._items(account, [], sent.get(account, ())))
        if chunk:
            yield chunk

    def _sent_keys(self, accounts: set[str]) -> dict[str, list[str]]:
        """The keys the feed holds for these dealers, split exactly in Python (an account code may hold '|', and a
        LIKE would fold case): one pass over the stream's keys."""
        out: dict[str, list[str]] = defaultdict(list)
        if accounts:
            for key in self.state.known_keys(self.source, self.name):
                account = self._account_of(key)
                if account is not None and account in accounts:
                    out[account].append(key)
        return out

    def fetch(self, keys: Sequence[str]) -> list[Item]:
        """Dead-letter retry: the dealers of these keys recomputed, as the keys' items now."""
        accounts = sorted({account for key in keys if (account := self._account_of(key)) is not None})
        found: dict[str, Item] = {}
        for account, records, _ in self._compute(accounts, self.today()):
            found.update((key, (key, r)) for key, r in self._items(account, records, ()))
        return [found.get(key, (key, None)) for key in keys]

    def done(self) -> None:
        self.state.reschedule(self.source, self.name, self._computed, self._later)
        self.state.clear_dirty(self.source, self.name, self._taken)
        self._taken, self._computed, self._later = [], [], {}

    def _items(self, account: str, records: Sequence[Any], sent: Iterable[str]) -> list[Item]:
        """The dealer's records, and a delete for each key the feed holds that the dealer no longer has."""
        items: list[Item] = [(self._key(account, r), r) for r in records]
        kept = {key for key, _ in items}
        items.extend((key, None) for key in sent if key not in kept)
        return items

    def key(self, item: Any) -> str:
        return str(item[0])

    def cursor(self, item: Any) -> dt.datetime | None:
        return _READ_BEFORE

    def map(self, item: Any) -> Record | None:
        return item[1]  # type: ignore[no-any-return]

    def raw(self, item: Any) -> dict[str, Any]:
        return {"key": item[0]}


class DealerKpis(_PerDealer):
    name = "dealer_kpis"
    primary_key = ("account_code", "month")

    def _now(self, today: dt.date) -> str:
        return kpis.month_of(today)

    def _compute(self, accounts: Sequence[str] | None, today: dt.date) -> Iterator[tuple[str, list[Any], str | None]]:
        labels = kpis.product_labels(self.state, self.source)
        this_month = kpis.month_of(today)
        for d in kpis.dealers(self.state, self.source, accounts):
            latest = max((x.due for x in d.debits), default=None)
            # A month not yet begun that the dealer's figures wait for: an invoice due then is seen overdue.
            later = _next_month(this_month) if latest is not None and kpis.month_of(latest) > this_month else None
            yield d.account, kpis.kpis(d, labels, today), later

    def _key(self, account: str, record: Any) -> str:
        return f"{account}|{record.month}"

    def _account_of(self, key: str) -> str | None:
        account, _, month = key.rpartition("|")
        is_month = len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit()
        return account if is_month else None


class AccountBalances(_PerDealer):
    name = "account_balances"
    primary_key = ("account_code",)

    def _now(self, today: dt.date) -> str:
        return today.isoformat()

    def _compute(self, accounts: Sequence[str] | None, today: dt.date) -> Iterator[tuple[str, list[Any], str | None]]:
        for account, entries in balances.dealer_entries(self.state, self.source, accounts):
            record, next_day = balances.balance(account, entries, today)
            yield account, [] if record is None else [record], None if next_day is None else next_day.isoformat()

    def _key(self, account: str, record: Any) -> str:
        return account

    def _account_of(self, key: str) -> str:
        return key


DERIVED: dict[str, type[_PerDealer]] = {"dealer_kpis": DealerKpis, "account_balances": AccountBalances}


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"
