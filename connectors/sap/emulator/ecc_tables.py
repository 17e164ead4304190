"""The emulator's ECC database and the function module that reads it, RFC_READ_TABLE, as SAP implements it.

Each row keeps every field in its RFC_READ_TABLE output form (fixed width: CHAR left-aligned,
NUMC zero-padded, packed numbers right-aligned with a trailing sign, "00000000" for no date),
so serving a row is joining strings. DD03L, the data dictionary's field table, is served from the
tables' own definitions, so a test that drops or retypes a field sees both agree, as in SAP. Rows
stay in primary-key order, as a database returns a SELECT without ORDER BY in practice. A
condition finds its rows through per-field indexes built on first use, and a paged read (same
table and OPTIONS, growing ROWSKIPS) reuses the matched rows, so no read costs more than one
pass over its table.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from connectors.sap.emulator.ecc_ddic import Field, Table, tables
from connectors.sap.emulator.ecc_where import OptionError, comparable, parse

__all__ = ["Database", "ReadTableError", "fmt"]

ROW_WIDTH = 512  # TAB512-WA: RFC_READ_TABLE's data buffer


class ReadTableError(Exception):
    """An exception RFC_READ_TABLE raises (TABLE_NOT_AVAILABLE, FIELD_NOT_VALID, ...)."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


def fmt(field: Field, value: Any) -> str:
    """`value` in the fixed-width form RFC_READ_TABLE writes for `field` (MOVE <field> TO <char field>)."""
    n = field.length
    t = field.type
    if t == "C":
        text = "" if value is None else str(value)
        if len(text) > n:
            raise ValueError(f"{field.name}: {text!r} is longer than {n} characters")
        return text.ljust(n)
    if t == "N":
        digits = str(value or 0)
        if not digits.isdigit() or len(digits) > n:
            raise ValueError(f"{field.name}: {digits!r} is not a NUMC {n} value")
        return digits.zfill(n)
    if t == "D":  # not strftime: "%Y" does not pad year 1 to four digits everywhere
        return "00000000" if value is None else f"{value.year:04d}{value.month:02d}{value.day:02d}"
    if t == "T":
        return "000000" if value is None else f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    # Packed numbers and integers (INT1): right-aligned, the last position the sign's.
    number = Decimal(value or 0)
    text = f"{abs(number):.{field.decimals}f}" + ("-" if number < 0 else " ")
    # A packed value wider than the output length is cut on the left and starred, as ABAP does.
    return text.rjust(n) if len(text) <= n else "*" + text[len(text) - n + 1 :]


class _Store:
    """One table's rows in key order, with lazily built indexes and a small cache of matched rows."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.rows: list[dict[str, str]] = []
        self._keys: list[tuple[str, ...]] = []
        self._equal: dict[str, dict[Any, list[int]]] = {}
        self._ordered: dict[str, tuple[list[Any], list[int]]] = {}
        self._results: OrderedDict[tuple[str, ...], list[int]] = OrderedDict()
        self._blank: dict[str, str] | None = None

    def key_of(self, row: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(row[name] for name in self.table.key)

    def formatted(self, values: Mapping[str, Any], client: str) -> dict[str, str]:
        """A row from some field values; the others blank (zeros, "00000000"), the client field `client`."""
        if self._blank is None:
            self._blank = {f.name: fmt(f, None) for f in self.table.fields}
            self._blank[self.table.fields[0].name] = fmt(self.table.fields[0], client)
        row = dict(self._blank)
        by_name = self.table.by_name
        for name, value in values.items():
            field = by_name.get(name)
            if field is None:
                raise ValueError(f"{self.table.name} has no field {name}")
            row[name] = fmt(field, value)
        return row

    def load(self, rows: Iterable[dict[str, str]]) -> None:
        """Bulk load, sorted into key order once; a duplicate key is an error, as on a database."""
        keyed = sorted(((self.key_of(r), r) for r in [*self.rows, *rows]), key=lambda pair: pair[0])
        self._keys = [k for k, _ in keyed]
        self.rows = [r for _, r in keyed]
        for before, after in zip(self._keys, self._keys[1:], strict=False):
            if before == after:
                raise ValueError(f"duplicate key in {self.table.name}: {after}")
        self._changed()

    def upsert(self, row: dict[str, str]) -> None:
        key = self.key_of(row)
        at = bisect.bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            self.rows[at] = row
        else:
            self.rows.insert(at, row)
            self._keys.insert(at, key)
        self._changed()

    def delete(self, key: tuple[str, ...]) -> dict[str, str]:
        at = bisect.bisect_left(self._keys, key)
        if at >= len(self._keys) or self._keys[at] != key:
            raise KeyError(f"{self.table.name} has no row {key}")
        del self._keys[at]
        row = self.rows.pop(at)
        self._changed()
        return row

    def _changed(self) -> None:
        self._blank = None
        self._equal.clear()
        self._ordered.clear()
        self._results.clear()

    # Indexes protocol (ecc_where) ---------------------------------------------------------------
    def equal(self, field: str) -> Mapping[Any, list[int]]:
        index = self._equal.get(field)
        if index is None:
            key = comparable(self.table.by_name[field])
            index = {}
            for i, row in enumerate(self.rows):
                index.setdefault(key(row[field]), []).append(i)
            self._equal[field] = index
        return index

    def ordered(self, field: str) -> tuple[list[Any], list[int]]:
        index = self._ordered.get(field)
        if index is None:
            key = comparable(self.table.by_name[field])
            pairs = sorted((key(row[field]), i) for i, row in enumerate(self.rows))
            index = self._ordered[field] = ([v for v, _ in pairs], [i for _, i in pairs])
        return index

    def matching(self, options: Sequence[str]) -> list[int]:
        cache_key = tuple(options)
        hit = self._results.get(cache_key)
        if hit is not None:
            self._results.move_to_end(cache_key)
            return hit
        try:
            condition = parse(options, self.table)
        except OptionError as exc:
            raise ReadTableError("OPTION_NOT_VALID", str(exc)) from None
        if condition is None:
            ids = list(range(len(self.rows)))
        else:
            found = condition.candidates(self)
            scan = range(len(self.rows)) if found is None else sorted(found)
            rows = self.rows
            ids = [i for i in scan if condition.matches(rows[i])]
        self._results[cache_key] = ids
        if len(self._results) > 64:
            self._results.popitem(last=False)
        return ids


class Database:
    """The ECC tables of one client, and RFC_READ_TABLE over them. Thread-safe: one lock for all."""

    def __init__(self, client: str, matnr_length: int = 18) -> None:
        self.client = client
        self.lock = threading.RLock()
        self.stores = {name: _Store(table) for name, table in tables(matnr_length).items()}
        self.denied: set[str] = set()  # tables the technical user may not read (S_TABU_DIS / S_TABU_NAM)
        self._describe()

    def _describe(self) -> None:
        """DD03L from the tables as they are now: one active row per field."""
        store = self.stores["DD03L"]
        store.rows, store._keys = [], []
        rows = []
        for name, described in self.stores.items():
            for position, f in enumerate(described.table.fields, start=1):
                rows.append(
                    self.row(
                        "DD03L",
                        TABNAME=name,
                        FIELDNAME=f.name,
                        AS4LOCAL="A",
                        AS4VERS=0,
                        POSITION=position,
                        KEYFLAG="X" if f.key else "",
                        INTTYPE=f.type,
                        INTLEN=f.length,
                        DATATYPE=f.ddic_type,
                        LENG=f.length,
                        DECIMALS=f.decimals,
                    )
                )
        store.load(rows)

    def drop(self, table: str, *fields: str) -> None:
        """Take fields out of a table, as a release or an installation without them has it."""
        with self.lock:
            store = self.stores[table]
            store.table = store.table.without(*fields)
            store._changed()
            self._describe()

    def retype(self, table: str, field: str, type_: str, datatype: str) -> None:
        """Give a field another type (a Z field a customer created as CHAR where SAP has CURR)."""
        with self.lock:
            store = self.stores[table]
            store.table = store.table.retyped(field, type_, datatype)
            store._changed()
            self._describe()

    def row(self, table: str, **values: Any) -> dict[str, str]:
        """A row of `table` in output form; unknown fields or values too long for a field raise."""
        return self.stores[table].formatted(values, self.client)

    def load(self, table: str, rows: Iterable[dict[str, str]]) -> None:
        with self.lock:
            self.stores[table].load(rows)

    def upsert(self, table: str, **values: Any) -> None:
        with self.lock:
            self.stores[table].upsert(self.row(table, **values))

    def update(self, table: str, key: Mapping[str, Any], **values: Any) -> None:
        """Change some fields of the row with `key` (all key fields but the client)."""
        with self.lock:
            store = self.stores[table]
            row = store.delete(self._key(store, key))
            by_name = store.table.by_name
            row.update({name: fmt(by_name[name], value) for name, value in values.items()})
            store.upsert(row)

    def delete(self, table: str, key: Mapping[str, Any]) -> dict[str, str]:
        with self.lock:
            store = self.stores[table]
            return store.delete(self._key(store, key))

    def _key(self, store: _Store, key: Mapping[str, Any]) -> tuple[str, ...]:
        by_name = store.table.by_name
        first = store.table.fields[0].name
        return tuple(fmt(by_name[name], self.client if name == first else key[name]) for name in store.table.key)

    def count(self, table: str) -> int:
        return len(self.stores[table].rows)

    def read_table(
        self,
        query_table: str,
        fields: Sequence[str],
        options: Sequence[str],
        delimiter: str = "",
        no_data: bool = False,
        rowskips: int = 0,
        rowcount: int = 0,
    ) -> tuple[list[str], list[dict[str, str]]]:
        """(DATA rows, FIELDS) as RFC_READ_TABLE returns them; ReadTableError for its exceptions."""
        name = query_table.strip().upper()
        store = self.stores.get(name)
        if store is None:
            raise ReadTableError("TABLE_NOT_AVAILABLE", f"Table {name} is not active in the Dictionary")
        if name in self.denied:
            raise ReadTableError("NOT_AUTHORIZED", f"No authorization to display table {name}")
        table = store.table
        chosen: list[Field] = []
        for requested in fields or [f.name for f in table.fields]:
            field = table.by_name.get(requested.strip().upper())
            if field is None:
                raise ReadTableError("FIELD_NOT_VALID", f"Field {requested} is not a field of table {name}")
            chosen.append(field)
        described, cursor = [], 0
        for field in chosen:
            if described:
                cursor += len(delimiter)
            described.append(
                {
                    "FIELDNAME": field.name,
                    "OFFSET": f"{cursor:06d}",
                    "LENGTH": f"{field.length:06d}",
                    "TYPE": field.type,
                    "FIELDTEXT": "",
                }
            )
            cursor += field.length
            if cursor > ROW_WIDTH and not no_data:
                raise ReadTableError("DATA_BUFFER_EXCEEDED", f"Selected fields do not fit into {ROW_WIDTH} characters")
        if no_data:
            return [], described
        names = [f.name for f in chosen]
        with self.lock:
            ids = store.matching(options)
            end = len(ids) if rowcount <= 0 else rowskips + rowcount
            rows = store.rows
            data = [delimiter.join([rows[i][n] for n in names]) for i in ids[rowskips:end]]
        return data, described
