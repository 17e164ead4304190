"""What an S/4 stream reads, declared once: the entity set, its key, the properties it selects and filters on,
and the navigations it expands with theirs.

The reader builds every request's `$select`, `$expand` and `$orderby` from a `Read`, and `check` proves the same
`Read` against the service's `$metadata`, so what a stream reads and what check verifies cannot drift apart. A
property the service lacks is left out of `$select` when the declaration marks it optional (the feed fields it
fills stay empty); any other missing name stops the read with the names missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from connectors.catalog import Kind, Need
from connectors.edmx import Metadata

__all__ = ["Field", "Read", "Shape", "f"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = "text"
    optional: str | None = None  # the feed fields that stay empty when the service lacks it


def f(name: str, kind: Kind = "text", optional: str | None = None) -> Field:
    return Field(name, kind, optional)


@dataclass(frozen=True)
class Shape:
    """An entity's selected properties and the navigations expanded from it."""

    fields: tuple[Field, ...]
    expand: tuple[tuple[str, Shape], ...] = ()

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Shape]]:
        """(navigation path from the entity set, shape) of this shape and every expanded one."""
        yield prefix, self
        for name, child in self.expand:
            yield from child.walk(f"{prefix}/{name}" if prefix else name)


@dataclass(frozen=True)
class Read:
    """One kind of request a stream sends."""

    path: str  # "<SERVICE>/<EntitySet>", from the setting named `setting`
    setting: str  # the S4Options attribute that names the path
    key: tuple[str, ...]  # the entity's whole key, in the service's order: reads page in it
    shape: Shape
    filters: tuple[Field, ...] = ()  # properties only $filter names
    what: str = field(default="", compare=False)  # what the read is for, in messages

    @property
    def service(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def entity_set(self) -> str:
        return self.path.split("/", 1)[1]

    def keys_only(self) -> Read:
        """The same entity set, selecting its key alone (check's probe that the stream's entity set answers)."""
        return Read(self.path, self.setting, self.key, Shape(tuple(f(k) for k in self.key)), self.filters, self.what)

    def containers(self) -> Iterator[tuple[str, Shape]]:
        """(container, shape): the entity set and each expanded navigation path below it."""
        for nav, shape in self.shape.walk():
            yield (f"{self.path}/{nav}" if nav else self.path), shape

    def needs(self) -> list[Need]:
        """Every name this read uses, for check: key, selected and filtered properties, navigations."""
        out = [Need(self.path, name, "any") for name in self.key]
        out += [Need(self.path, flt.name, flt.kind, flt.optional) for flt in self.filters]
        for container, shape in self.containers():
            out += [Need(container, fld.name, fld.kind, fld.optional) for fld in shape.fields]
            out += [Need(container, name, "any") for name, _ in shape.expand]
        return out

    def declared(self) -> dict[str, set[str]]:
        """container -> the names this read may use there."""
        out: dict[str, set[str]] = {}
        for container, shape in self.containers():
            out.setdefault(container, set()).update(fld.name for fld in shape.fields)
            out[container].update(name for name, _ in shape.expand)
        out[self.path].update(self.key)
        out[self.path].update(flt.name for flt in self.filters)
        return out

    def absent(self, meta: Metadata) -> tuple[set[str], list[str]]:
        """(optional `nav/Property` paths the service lacks, required names it lacks) against `meta`."""
        optional: set[str] = set()
        required: list[str] = []
        for container, shape in self.containers():
            entity = meta.entity(container.split("/", 1)[1])
            nav = container[len(self.path) + 1 :]
            if entity is None:
                required.append(container)
                continue
            names = {**entity.properties, **entity.navigations}
            fields = [*shape.fields, *(f(n) for n, _ in shape.expand)]
            if not nav:
                fields += [*self.filters, *(f(k) for k in self.key)]
            for fld in fields:
                if fld.name in names:
                    continue
                if fld.optional is None:
                    required.append(f"{container}.{fld.name}")
                else:
                    optional.add(f"{nav}/{fld.name}" if nav else fld.name)
        return optional, required

    def select(self, absent: set[str] | frozenset[str] = frozenset()) -> str:
        """The $select of this read: every declared property (and key) but the optional ones the service lacks."""
        names: list[str] = list(self.key)
        for nav, shape in self.shape.walk():
            for fld in shape.fields:
                path = f"{nav}/{fld.name}" if nav else fld.name
                if path not in absent:
                    names.append(path)
        return ",".join(dict.fromkeys(names))

    def expansion(self) -> str | None:
        """The $expand of this read (its leaf navigation paths), None when it expands nothing."""
        leaves = [nav for nav, shape in self.shape.walk() if nav and not shape.expand]
        return ",".join(leaves) or None
