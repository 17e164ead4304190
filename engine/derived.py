"""Streams dealersync computes from what it has read, for every adapter alike: `dealer_kpis`.

A derived stream runs through the engine like any other (hashes, outbox, deletes), after the streams it is made
from. Its incremental read recomputes the dealers whose facts moved since it last ran; a complete read
(the first, `--full-refresh`, `--reconcile`) recomputes every dealer.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from connectors.base import Adapter, Partition, Stream
from engine.kpis import FACT_TYPES, dealers, kpis, month_of, product_labels
from engine.state import ALL_DEALERS, StateStore
from mapping.schema import DealerKpi

DERIVED = ("dealer_kpis",)
_DEALER_DOCUMENTS = frozenset({"invoices", "collections", "orders"})
_DEALERS_PER_CHUNK = 50

# An item: (key, the record, or None for a month the dealer no longer has).
Item = tuple[str, DealerKpi | None]
# The cursor every item carries: what is recomputed is what the dirty marks say, so the engine's cursor only
# tells a first (complete) read from the later ones. A fixed past instant never runs ahead of the clock.
_READ_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def stream_names(adapter: Adapter) -> list[str]:
    """Every stream a source offers: the adapter's, then the derived ones."""
    own = [s.name for s in adapter.streams()]
    return [*own, *(DERIVED if _reads_documents(own) else ())]


def derived_streams(state: StateStore, adapter: Adapter) -> list[Stream]:
    """The derived streams of a source that reads dealers' documents (a catalog-only source has none)."""
    if not _reads_documents(s.name for s in adapter.streams()):
        return []
    return [DealerKpis(state, adapter.context.name)]


def _reads_documents(names: Iterable[str]) -> bool:
    return not _DEALER_DOCUMENTS.isdisjoint(names)


def kpis_enabled(adapter: Adapter) -> bool:
    """Whether the engine keeps facts for dealer_kpis: unless the source's configuration disables the stream."""
    return "dealer_kpis" not in adapter.context.disabled


class DealerKpis(Stream):
    name = "dealer_kpis"
    primary_key = ("account_code", "month")
    replication_key = "computed"  # not a field: see _READ_BEFORE
    inputs = tuple(FACT_TYPES)  # the engine skips a run until each of these has finished a read
    today = staticmethod(dt.date.today)  # which months have begun

    def __init__(self, state: StateStore, source: str) -> None:
        self.state = state
        self.source = source
        self._taken: list[tuple[str, int]] = []
        self._computed: list[str] | None = []  # None: every dealer
        self._later: dict[str, str] = {}

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Item]]:
        marks = self.state.dirty_dealers(self.source)
        self._taken = marks
        today = self.today()
        this_month = month_of(today)
        due = self.state.dealers_due(self.source, this_month)  # a month they waited for has begun
        marked = sorted({account for account, _ in marks if account != ALL_DEALERS} | set(due))
        everyone = since is None or any(account == ALL_DEALERS for account, _ in marks)
        self._computed = None if everyone else marked
        self._later = {}
        accounts = None if everyone else marked
        # Months a dealer no longer has are sent as deletes here; a complete read leaves that to the engine,
        # which deletes every key it did not read.
        recheck = set() if since is None else set(marked)
        if not everyone and not marked:  # nothing moved since the last run
            return
        sent = self._sent_months(recheck)
        labels = product_labels(self.state, self.source)
        chunk: list[Item] = []
        done: set[str] = set()
        for d in dealers(self.state, self.source, accounts):
            account = d.account
            chunk.extend(_items(account, kpis(d, labels, today), sent.get(account, ())))
            latest = max((x.due for x in d.debits), default=None)
            if latest is not None and month_of(latest) > this_month:
                self._later[account] = _next_month(this_month)
            done.add(account)
            if len(done) % _DEALERS_PER_CHUNK == 0:
                yield chunk
                chunk = []
        for account in sorted(recheck - done):  # no facts left: every document of the dealer deleted
            chunk.extend(_items(account, [], sent.get(account, ())))
        if chunk:
            yield chunk

    def _sent_months(self, accounts: set[str]) -> dict[str, list[str]]:
        """The keys the feed holds for these dealers, split exactly in Python (an account code may hold '|', and a
        LIKE would fold case): one pass over the stream's keys."""
        out: dict[str, list[str]] = defaultdict(list)
        if accounts:
            for key in self.state.known_keys(self.source, self.name):
                account, _, month = key.rpartition("|")
                if account in accounts and _is_month(month):
                    out[account].append(key)
        return out

    def fetch(self, keys: Sequence[str]) -> list[Item]:
        """Dead-letter retry: the dealers of these keys recomputed, as the keys' items now."""
        accounts = sorted({key.rpartition("|")[0] for key in keys})
        labels = product_labels(self.state, self.source)
        found: dict[str, Item] = {}
        for d in dealers(self.state, self.source, accounts):
            found.update((key, (key, r)) for key, r in _items(d.account, kpis(d, labels, self.today()), ()))
        return [found.get(key, (key, None)) for key in keys]

    def done(self) -> None:
        self.state.reschedule(self.source, self._computed, self._later)
        self.state.clear_dirty(self.source, self._taken)
        self._taken, self._computed, self._later = [], [], {}

    def key(self, item: Any) -> str:
        return str(item[0])

    def cursor(self, item: Any) -> dt.datetime | None:
        return _READ_BEFORE

    def map(self, item: Any) -> DealerKpi | None:
        return item[1]  # type: ignore[no-any-return]

    def raw(self, item: Any) -> dict[str, Any]:
        return {"key": item[0]}


def _items(account: str, records: list[DealerKpi], sent: Iterable[str]) -> list[Item]:
    """The dealer's months, and a delete for each month the feed holds that the dealer no longer has."""
    items: list[Item] = [(f"{account}|{r.month}", r) for r in records]
    kept = {key for key, _ in items}
    items.extend((key, None) for key in sent if key not in kept)
    return items


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"


def _is_month(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit()
