"""One OData entity set of the emulator: facts by key, rendered to rows on demand, and the keys a query selects.

Filters on the set's change field (gt/ge) and eq filters on key and indexed fields are answered from indexes,
so paging through ~100k invoice lines stays linear; other filters scan. A selection is kept until the next
change, since every page of a paged read asks for it again.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import ChainMap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.sap.emulator.s4_filter import BoolOp, Cmp, FilterParser, Row

__all__ = ["EntitySet"]

_UTC = dt.UTC


@dataclass
class EntitySet:
    """One entity set: facts by key, rendered to rows on demand, with a change index and lookup indexes."""

    service: str
    name: str
    key_fields: tuple[str, ...]
    render: Callable[[Any], Row]
    change_field: str | None = None
    indexed: tuple[str, ...] = ()
    facts: dict[tuple[str, ...], Any] = field(default_factory=dict)
    # Values of properties the renderer leaves out, as SAP sends them (its types' initial values): set by the server
    # from the service's metadata, so that filters see what a reader sees.
    initial: dict[str, Any] = field(default_factory=dict)
    # Values a test writes over a rendered row (an unknown code, a wrong total): key -> {property: value}.
    overrides: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    _order: list[tuple[str, ...]] | None = None
    _by_change: list[tuple[Any, tuple[str, ...]]] | None = None
    _index: dict[str, dict[Any, set[tuple[str, ...]]]] | None = None
    _selections: dict[tuple[str, tuple[tuple[str, bool], ...]], list[tuple[str, ...]]] = field(default_factory=dict)

    def put(self, key: tuple[str, ...], fact: Any) -> None:
        self.facts[key] = fact
        self._changed()

    def override(self, key: tuple[str, ...], **values: Any) -> None:
        """Serve these property values in the row of `key` from now on."""
        self.overrides.setdefault(key, {}).update(values)
        self._changed()

    def _changed(self) -> None:
        self._order = self._by_change = self._index = None
        self._selections.clear()

    def row(self, key: tuple[str, ...]) -> Row:
        row = self.render(self.facts[key])
        changes = self.overrides.get(key)
        return {**row, **changes} if changes else row

    def ordered(self) -> list[tuple[str, ...]]:
        if self._order is None:
            self._order = sorted(self.facts)
        return self._order

    def _indexes(self) -> tuple[list[tuple[Any, tuple[str, ...]]], dict[str, dict[Any, set[tuple[str, ...]]]]]:
        if self._by_change is None or self._index is None:
            by_change: list[tuple[Any, tuple[str, ...]]] = []
            index: dict[str, dict[Any, set[tuple[str, ...]]]] = {f: {} for f in (*self.key_fields, *self.indexed)}
            for key in self.facts:
                row = self.row(key)
                if self.change_field is not None and row.get(self.change_field) is not None:
                    by_change.append((row[self.change_field], key))
                for name, values in index.items():
                    values.setdefault(row.get(name), set()).add(key)
            by_change.sort()
            self._by_change, self._index = by_change, index
        return self._by_change, self._index

    def candidates(self, tree: Any) -> set[tuple[str, ...]] | None:
        """Keys that may match `tree` from the indexes, or None when a full scan is needed."""
        if isinstance(tree, Cmp):
            by_change, index = self._indexes()
            if tree.field == self.change_field and tree.op in ("gt", "ge") and tree.value is not None:
                probe = _like(tree.value, by_change[0][0]) if by_change else tree.value
                find = bisect.bisect_left if tree.op == "ge" else bisect.bisect_right
                at = find(by_change, probe, key=lambda entry: entry[0])
                return {key for _, key in by_change[at:]}
            if tree.op == "eq" and tree.field in index:
                return index[tree.field].get(tree.value, set())  # read only: never mutated by the callers
            return None
        if isinstance(tree, BoolOp):
            found = [self.candidates(p) for p in tree.parts]
            if tree.op == "or":
                if any(f is None for f in found):
                    return None
                return set().union(*found)  # type: ignore[arg-type]
            known = sorted((f for f in found if f is not None), key=len)
            if not known:
                return None
            return known[0].intersection(*known[1:])
        return None

    def select(self, filter_text: str, orderby: list[tuple[str, bool]]) -> list[tuple[str, ...]]:
        """Keys matching a $filter in $orderby order; kept until the next change, since paging asks again."""
        cache_key = (filter_text, tuple(orderby))
        found = self._selections.get(cache_key)
        if found is None:
            tree = FilterParser(filter_text).parse() if filter_text else None
            found = self._selections[cache_key] = self._select(tree, orderby)
        return found

    def _select(self, tree: Any | None, orderby: list[tuple[str, bool]]) -> list[tuple[str, ...]]:
        keys: Iterable[tuple[str, ...]]
        if tree is None:
            keys = self.ordered()
        else:
            found = self.candidates(tree)
            pool = self.ordered() if found is None else sorted(found)
            keys = [k for k in pool if tree.test(ChainMap(self.row(k), self.initial))]
        keys = list(keys)
        if orderby and [f for f, _ in orderby] != list(self.key_fields[: len(orderby)]):
            for name, descending in reversed(orderby):
                keys.sort(key=lambda k, n=name: _sort_key(self.row(k).get(n)), reverse=descending)
        elif orderby and orderby[0][1]:
            keys.reverse()
        return keys


def _like(probe: Any, sample: Any) -> Any:
    """`probe` in the time domain of an index's values (naive Edm.DateTime counts as UTC)."""
    if isinstance(probe, dt.datetime) and isinstance(sample, dt.datetime):
        if sample.tzinfo is None and probe.tzinfo is not None:
            return probe.astimezone(_UTC).replace(tzinfo=None)
        if sample.tzinfo is not None and probe.tzinfo is None:
            return probe.replace(tzinfo=_UTC)
    return probe


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return (1, value.replace(tzinfo=_UTC))
    return (1, value)
