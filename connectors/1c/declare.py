"""One declaration of what each stream reads from 1C: the entity sets and every field it selects, filters or
orders by. The requests are built from it ($select lists, filters, orderings) and `check` verifies it
against the infobase's $metadata, so the two cannot drift apart.

Fields carry their vendor names (the typical configuration's, as in vendor/); the `fields` setting maps a
"<Set>.<Field>" of a customised base to the name it has there, and the rows read are renamed back, so the
mapping code only ever sees vendor names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.catalog import Kind, Need

__all__ = ["Field", "Query", "Read", "composite", "flag", "guid", "number", "text", "unique", "when", "whole"]


@dataclass(frozen=True)
class Field:
    name: str  # the vendor's name of the OData property
    kind: Kind
    # None: the stream cannot work without it. Else the feed fields that stay empty when the base lacks it:
    # the adapter leaves it out of $select and reads it as absent.
    optional: str | None = None


def unique(fields: Iterable[Field]) -> tuple[Field, ...]:
    """Fields by name, the first of each name kept (a code field may be Ref_Key itself)."""
    out: dict[str, Field] = {}
    for f in fields:
        out.setdefault(f.name, f)
    return tuple(out.values())


def _fields(kind: Kind, names: Iterable[str]) -> tuple[Field, ...]:
    return tuple(Field(name, kind) for name in names)


def guid(*names: str) -> tuple[Field, ...]:
    return _fields("guid", names)


def text(*names: str) -> tuple[Field, ...]:
    return _fields("text", names)


def number(*names: str) -> tuple[Field, ...]:
    return _fields("number", names)


def whole(*names: str) -> tuple[Field, ...]:
    return _fields("integer", names)


def flag(*names: str) -> tuple[Field, ...]:
    return _fields("boolean", names)


def when(*names: str) -> tuple[Field, ...]:
    return _fields("datetime", names)


def composite(*names: str) -> tuple[Field, ...]:
    """A composite-typed attribute: its value and its _Type, both Edm.String."""
    return tuple(Field(n, "text") for name in names for n in (name, f"{name}_Type"))


@dataclass(frozen=True)
class Read:
    """One query shape: a container (an entity set, a tabular section's set `<Set>_<Section>`, a virtual
    table `<Set>/Balance`) named by its vendor name, and the fields the query uses."""

    container: str  # the vendor's name; the `sets` setting's renames are applied by Query
    fields: tuple[Field, ...]
    role: str  # the `sets` role whose set this is (or its tabular section, or its virtual table)

    def needs(self, physical: str, renames: Mapping[str, str]) -> list[Need]:
        out = []
        for f in self.fields:
            key = f"{self.container}.{f.name}"
            name = renames.get(key, f.name)
            hint = f"fields: {{{key}: <its name here>}}"
            out.append(Need(physical, name, f.kind, f.optional, remap=hint))
        return out


class Query:
    """A Read bound to one infobase: physical set and field names, and the optional fields it lacks."""

    def __init__(self, read: Read, physical: str, renames: Mapping[str, str], absent: frozenset[str]) -> None:
        self.read = read
        self.set = physical
        self.absent = absent  # optional vendor names this base does not have
        self._out = {f.name: renames.get(f"{read.container}.{f.name}", f.name) for f in read.fields}
        self._back = {v: k for k, v in self._out.items() if v != k}

    def name(self, field: str) -> str:
        """The field's name in this base, for $filter and $orderby. Only declared fields may be used."""
        return self._out[field]

    def select(self, *only: str) -> tuple[str, ...]:
        """The $select list: every declared field the base has (or `only` these)."""
        names = only or tuple(self._out)
        return tuple(self._out[n] for n in names if n not in self.absent)

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows with vendor names: renamed fields are renamed back (nothing to do when nothing is renamed)."""
        if not self._back:
            return rows
        back = self._back
        return [{back.get(k, k): v for k, v in row.items()} for row in rows]
