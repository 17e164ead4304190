"""The emulator's in-memory infobase: entity sets of JSON-ready rows, as 1C's standard OData interface shows them.

Objects (catalog items, documents) carry Ref_Key, DataVersion and DeletionMark; their tabular sections
are sets of their own (`Document_X_Товары`: Ref_Key + LineNumber). Virtual tables such as
`AccumulationRegister_X/Balance` are sets whose rows are the balances. Every write bumps the
infobase's `revision`, which the query cache keys on.
"""

from __future__ import annotations

import base64
import struct
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EMPTY_DATE", "EMPTY_REF", "EntitySet", "Infobase", "guid"]

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
_NAMESPACE = uuid.UUID("5f0c1c1e-8a3b-4d7e-9a51-3c2d1e0f1c01")

Row = dict[str, Any]


def guid(*parts: object) -> str:
    """A stable reference for a scenario object: the same parts give the same GUID on every run."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class EntitySet:
    name: str
    fields: tuple[str, ...]
    types: dict[str, str]  # field -> Edm type, as the configuration's metadata declares it
    rows: list[Row] = field(default_factory=list)
    sections: tuple[str, ...] = ()  # names of this object's tabular-section sets, shown inline in full output
    _indexes: dict[str, dict[Any, list[Row]]] = field(default_factory=dict, repr=False)

    def index(self, name: str) -> dict[Any, list[Row]]:
        built = self._indexes.get(name)
        if built is None:
            built = {}
            for row in self.rows:
                built.setdefault(row.get(name), []).append(row)
            self._indexes[name] = built
        return built

    def changed(self) -> None:
        self._indexes.clear()

    def wide(self) -> tuple[str, ...]:
        """Fields 1C declares Edm.Int64, whose values it sends as JSON strings."""
        return tuple(f for f, kind in self.types.items() if kind == "Edm.Int64")


class Infobase:
    """Entity sets by name, with the bookkeeping an object write does in 1C (a new DataVersion). Only fields
    the configuration's metadata (`vendor`: set -> field -> Edm type) has can be defined."""

    def __init__(self, vendor: dict[str, dict[str, str]]) -> None:
        self.vendor = vendor
        self.sets: dict[str, EntitySet] = {}
        self.revision = 0
        self.lock = threading.RLock()
        self._writes = 0

    def define(self, name: str, fields: Iterable[str], sections: Iterable[str] = ()) -> EntitySet:
        declared = self.vendor.get(name)
        if declared is None:
            raise KeyError(f"the configuration's metadata has no set {name}")
        names = tuple(fields)
        invented = [f for f in names if f not in declared]
        if invented:
            raise KeyError(f"the configuration's metadata has no field(s) {invented} in {name}")
        entity_set = EntitySet(name, names, {f: declared[f] for f in names}, sections=tuple(sections))
        self.sets[name] = entity_set
        return entity_set

    def rename(self, set_name: str, old: str, new: str) -> None:
        """Give a field another name, as a customised base may (tests of the `fields` setting)."""
        with self.lock:
            entity_set = self.sets[set_name]
            entity_set.fields = tuple(new if f == old else f for f in entity_set.fields)
            entity_set.types = {new if f == old else f: kind for f, kind in entity_set.types.items()}
            for row in entity_set.rows:
                row[new] = row.pop(old)
            entity_set.changed()
            self.revision += 1

    def drop(self, set_name: str, *fields: str) -> None:
        """Take fields out of a set, as a customised or older base lacks them."""
        with self.lock:
            entity_set = self.sets[set_name]
            entity_set.fields = tuple(f for f in entity_set.fields if f not in fields)
            for name in fields:
                entity_set.types.pop(name, None)
                for row in entity_set.rows:
                    row.pop(name, None)
            entity_set.changed()
            self.revision += 1

    def data_version(self) -> str:
        """A fresh DataVersion: 8 bytes in Base64 ("AAAABwAAAAA="), different after every write."""
        self._writes += 1
        return base64.b64encode(struct.pack(">II", self._writes, 0)).decode()

    def add(self, set_name: str, row: Row) -> Row:
        with self.lock:
            return self._add(set_name, row)

    def _add(self, set_name: str, row: Row) -> Row:
        entity_set = self.sets[set_name]
        unknown = set(row) - set(entity_set.fields)
        if unknown:
            raise KeyError(f"{set_name} has no field(s) {sorted(unknown)}")
        if "DataVersion" in entity_set.fields and "DataVersion" not in row:
            row["DataVersion"] = self.data_version()
        entity_set.rows.append(row)
        entity_set.changed()
        self.revision += 1
        return row

    def get(self, set_name: str, ref: str) -> Row:
        rows = self.sets[set_name].index("Ref_Key").get(ref)
        if not rows:
            raise KeyError(f"no {set_name} object {ref}")
        return rows[0]

    def update(self, set_name: str, ref: str, **values: Any) -> Row:
        """Write an object: change fields and give it a new DataVersion, as saving it in 1C does."""
        with self.lock:
            return self._update(set_name, ref, values)

    def _update(self, set_name: str, ref: str, values: dict[str, Any]) -> Row:
        row = self.get(set_name, ref)
        unknown = set(values) - set(self.sets[set_name].fields)
        if unknown:
            raise KeyError(f"{set_name} has no field(s) {sorted(unknown)}")
        row.update(values)
        if "DataVersion" in row:
            row["DataVersion"] = self.data_version()
        self.sets[set_name].changed()
        self.revision += 1
        return row

    def remove(self, set_name: str, ref: str) -> None:
        """Delete an object physically (as "Удаление помеченных объектов" does), with its tabular sections."""
        with self.lock:
            self._remove(set_name, ref)

    def _remove(self, set_name: str, ref: str) -> None:
        entity_set = self.sets[set_name]
        entity_set.rows = [row for row in entity_set.rows if row.get("Ref_Key") != ref]
        entity_set.changed()
        for section in entity_set.sections:
            lines = self.sets[section]
            lines.rows = [row for row in lines.rows if row.get("Ref_Key") != ref]
            lines.changed()
        self.revision += 1

    def replace_rows(self, set_name: str, rows: list[Row]) -> None:
        entity_set = self.sets[set_name]
        entity_set.rows = rows
        entity_set.changed()
        self.revision += 1

    def sections_of(self, set_name: str, ref: str) -> Iterator[tuple[str, list[Row]]]:
        """(section name, lines) of one object: the tabular sections shown inline in its full JSON."""
        entity_set = self.sets[set_name]
        for section in entity_set.sections:
            short = section[len(set_name) + 1 :]
            yield short, self.sets[section].index("Ref_Key").get(ref, [])
