"""What each stream reads from its source, and `check`'s proof of it against the source's own catalogue.

An adapter declares every name a stream uses (a table's column, an entity set's property, an RFC
table's field) as a `Need`, from the same declaration its reads are built from, so the two cannot
drift apart. `check` asks the live system for its catalogue (the database's INFORMATION_SCHEMA, an
OData service's $metadata, SAP's DDIC) and `verify` reports every problem of every stream at once:

- a missing container (table, entity set) or a missing required name fails the stream's check,
  naming all the names at once and the setting that remaps them or disables the stream;
- a missing optional name is a warning naming the feed fields that stay empty (the adapter reads
  around it);
- a type that would change a value (a code read as a number loses its leading zeros, an amount read
  from text meets decimal commas) fails the check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from connectors.base import CheckResult

__all__ = ["SQL_WORDS", "Catalogue", "Kind", "Need", "Words", "compatible", "verify"]

# Type families: what a value is read as, whatever the source calls the type.
Kind = Literal["number", "integer", "text", "datetime", "date", "time", "boolean", "guid", "binary", "any"]


@dataclass(frozen=True)
class Need:
    """One name a stream reads: `name` in `container` (a column of a table, a property of an entity set)."""

    container: str
    name: str
    kind: Kind = "any"
    # None: the stream cannot work without it. Else the feed fields that stay empty when it is missing:
    # the adapter then reads around it (NULL in SQL, left out of $select in OData).
    optional: str | None = None
    remap: str | None = None  # the setting that names it differently on this system, e.g. "columns: {CLCARD.CODE: ...}"
    # Names other releases of the ERP give the same field (Logo's older CLRNUMS.RISKLIMIT for ACCRISKLIMIT):
    # the adapter reads the first one the system has.
    alternates: tuple[str, ...] = ()
    # The settings say this system has no such field (SQL `columns: {T.C: null}`): an optional one is read as
    # empty, a required one cannot be, and check says which.
    absent: bool = False


@dataclass
class Catalogue:
    """What the live system has: container -> {name -> kind}. A container absent from `containers` does not
    exist; `unreadable` holds containers whose catalogue could not be read, with the reason."""

    containers: dict[str, dict[str, Kind]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    case_sensitive: bool = True  # SQL Server and SAP compare names without regard to case; PostgreSQL does not

    def columns(self, container: str) -> dict[str, Kind] | None:
        return self.containers.get(container)

    def kind_of(self, container: str, name: str) -> Kind | None:
        """The kind of `name` in `container`, None when it is not there."""
        columns = self.containers.get(container) or {}
        found = columns.get(name)
        if found is None and not self.case_sensitive:
            lowered = name.lower()
            found = next((k for n, k in columns.items() if n.lower() == lowered), None)
        return found


# (expected, found) pairs that read the same value. Anything else of a different family changes it.
_SAME_VALUE = {
    ("number", "integer"),  # an amount stored whole still reads as the same number
    ("boolean", "integer"),  # a flag in a TINYINT / SMALLINT / BIT column
    ("integer", "boolean"),
    ("guid", "text"),  # a Guid kept as text compares and prints the same
    ("text", "guid"),
    ("datetime", "date"),  # a date without its time is still the day (cursors filter by day where so)
}


def compatible(expected: Kind, found: Kind) -> bool:
    return expected == "any" or found == "any" or expected == found or (expected, found) in _SAME_VALUE


@dataclass(frozen=True)
class Words:
    """How a kind of source names its things, for messages."""

    name: str = "column"
    names: str = "columns"
    container: str = "table"
    containers: str = "tables"

    def of(self, names: Sequence[str]) -> str:
        return f"{self.name if len(names) == 1 else self.names} {', '.join(names)}"


SQL_WORDS = Words()


def verify(
    needs: Mapping[str, Iterable[Need]],
    catalogue: Catalogue,
    *,
    words: Words = SQL_WORDS,
    disable: Callable[[str], str] = lambda stream: f"streams: {{{stream}: {{enabled: false}}}}",
    container_hint: Callable[[str], str | None] | None = None,
    kind_names: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """One result per stream (ok, or failed with every problem at once) and one warning per container whose
    optional names are missing. `needs` maps each enabled stream to what it reads."""
    results: list[CheckResult] = []
    for stream, stream_needs in needs.items():
        by_container: dict[str, list[Need]] = {}
        for need in stream_needs:
            by_container.setdefault(need.container, []).append(need)
        problems: list[str] = []
        warnings: list[str] = []
        via: list[str] = []  # alternate names this release uses
        checked = 0
        for container, wanted in by_container.items():
            if container in catalogue.unreadable:
                problems.append(f"cannot read the catalogue of {container}: {catalogue.unreadable[container]}")
                continue
            if catalogue.columns(container) is None:
                said = container_hint(container) if container_hint else None
                hint = f" ({said})" if said else ""
                problems.append(f"{words.container} {container} not found{hint}")
                continue
            missing: list[Need] = []
            absent_optional: list[Need] = []
            for need in _unique(wanted):
                if not need.name:
                    continue
                checked += 1
                if need.absent:
                    if need.optional is None:
                        problems.append(
                            f"{container}.{need.name} is set to null in the settings, but the stream cannot do "
                            f"without it (it picks or keys the rows, or carries money): name the {words.name} "
                            f"this system uses with {need.remap}"
                        )
                    else:
                        warnings.append(f"{container}.{need.name} is set to null in the settings: {need.optional} will "
                                        "stay empty")  # fmt: skip
                    continue
                present = [n for n in (need.name, *need.alternates) if catalogue.kind_of(container, n) is not None]
                if not present:
                    (missing if need.optional is None else absent_optional).append(need)
                    continue
                if present[0] != need.name:
                    via.append(f"{container}.{present[0]} for {need.name}")
                found = catalogue.kind_of(container, present[0])
                if found is not None and not compatible(need.kind, found):
                    named = (kind_names or {}).get(found, found)
                    problems.append(
                        f"{container}.{present[0]} is {named}, read as {need.kind}: its values would change"
                        + (f" (map another {words.name} with {need.remap})" if need.remap else "")
                    )
            if missing:
                remaps = [n.remap for n in missing if n.remap]
                how = f"; name them with {_merge(remaps)}" if remaps else ""
                problems.append(f"missing {words.of([n.name for n in missing])} in {container}{how}")
            if absent_optional:
                lost = ", ".join(dict.fromkeys(n.optional or "" for n in absent_optional))
                warnings.append(
                    f"{container} has no {words.of([n.name for n in absent_optional])}: {lost} will stay empty"
                )
        if problems:
            detail = "; ".join(problems) + f" (or disable the stream: {disable(stream)})"
            results.append(CheckResult(f"stream {stream}: schema", False, detail))
        else:
            containers = words.container if len(by_container) == 1 else words.containers
            detail = f"{checked} {words.names} in {len(by_container)} {containers} present"
            if via:
                detail += f" (reading {', '.join(via)})"
            results.append(CheckResult(f"stream {stream}: schema", True, detail))
        results.extend(CheckResult(f"stream {stream}: schema", True, w, warning=True) for w in warnings)
    return results


def _unique(needs: Iterable[Need]) -> list[Need]:
    """One need per name; a name read both ways is required if any read requires it."""
    out: dict[str, Need] = {}
    for need in needs:
        seen = out.get(need.name)
        if seen is None or (seen.optional is not None and need.optional is None):
            out[need.name] = need
    return list(out.values())


def _merge(remaps: Sequence[str]) -> str:
    """Several `setting: {a: ...}` hints as one mapping; other hints (`cancelled_column: ...`) as written."""
    distinct = list(dict.fromkeys(remaps))
    heads = {r.partition(":")[0] for r in distinct}
    if len(heads) == 1 and all(r.partition(":")[2].strip().startswith("{") for r in distinct):
        inner = ", ".join(r.partition(":")[2].strip().strip("{}").strip() for r in distinct)
        return f"{heads.pop()}: {{{inner}}}"
    return "; ".join(distinct)
