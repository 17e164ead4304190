"""Rows as SAP Gateway writes them in OData V2 JSON, by the service's metadata: only the properties the entity type
has (every one, with its initial value where nothing was written, unless $select names fewer), decimals at most at
the property's scale, navigations deferred unless expanded; and the checks Gateway makes of $select and $expand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.edmx import EntityType, Metadata, Property
from connectors.sap.emulator.s4_filter import ODataError, Row
from connectors.sap.emulator.s4_metadata import initial

__all__ = ["Renderer", "tree"]

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
Tree = dict[str, Any]


def tree(text: str) -> Tree:
    """ "a,b/c,b/d/e" -> {"a": {}, "b": {"c": {}, "d": {"e": {}}}} ($select and $expand paths)."""
    out: Tree = {}
    for path in filter(None, (p.strip() for p in text.split(","))):
        node = out
        for part in path.split("/"):
            node = node.setdefault(part, {})
    return out


def _value(value: Any, prop: Property) -> Any:
    """A typed value as V2 JSON shows it."""
    if isinstance(value, Decimal):
        if prop.scale is not None:
            places = Decimal(1).scaleb(-prop.scale)
            if value.is_zero() or value.as_tuple().exponent < -prop.scale:  # type: ignore[operator]
                value = value.quantize(places, ROUND_HALF_UP)
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # Edm.DateTime: ms since epoch of the wall time, no offset
            return f"/Date({(value - _NAIVE_EPOCH) // dt.timedelta(milliseconds=1)})/"
        return f"/Date({(value - _EPOCH) // dt.timedelta(milliseconds=1)}+0000)/"
    if isinstance(value, dt.time):
        return f"PT{value.hour:02d}H{value.minute:02d}M{value.second:02d}S"
    return value


def _unknown(name: str, entity: EntityType) -> ODataError:
    return ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Property '{name}' not found in type '{entity.name}'")


class Renderer:
    """Writes rows of one service's entity types; notes what a row held that the served type lacks."""

    def __init__(self, metadata: Metadata, deferred: set[str], dropped: set[tuple[str, str]]) -> None:
        self.metadata = metadata
        self.deferred = deferred  # navigations answered deferred even when expanded, as some gateways do
        self.dropped = dropped

    def target(self, entity: EntityType, navigation: str) -> EntityType:
        return self.metadata.types[entity.navigations[navigation].target]

    def check(self, entity: EntityType, select: Tree, expand: Tree) -> None:
        """400 for a $select or $expand path the type does not have, or a selected path below an unexpanded one."""
        for name, below in expand.items():
            if name not in entity.navigations:
                raise _unknown(name, entity)
            self.check(self.target(entity, name), {}, below)
        for name, below in select.items():
            if name in entity.properties and not below:
                continue
            if name not in entity.navigations:
                raise _unknown(name, entity)
            if below and name not in expand:
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Navigation '{name}' selected below but not expanded")
            if below:
                self.check(self.target(entity, name), below, expand.get(name, {}))

    def row(self, row: Row, uri: str, entity: EntityType, expand: Tree, select: Tree) -> dict[str, Any]:
        for name in row:
            if not name.startswith("_") and name not in entity.properties and name not in entity.navigations:
                self.dropped.add((entity.name, name))
        out: dict[str, Any] = {"__metadata": {"id": uri, "uri": uri, "type": entity.name}}
        names = list(select) if select else [*entity.properties, *entity.navigations]
        for name in names:
            prop = entity.properties.get(name)
            if prop is not None:
                value = row[name] if name in row else initial(prop)
                out[name] = _value(value, prop)
            elif name in expand and name not in self.deferred:
                out[name] = self._expanded(row.get(name), f"{uri}/{name}", entity, name, expand, select)
            else:
                out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
        return out

    def _expanded(
        self, value: Any, uri: str, entity: EntityType, name: str, expand: Tree, select: Tree
    ) -> dict[str, Any] | None:
        target = self.target(entity, name)
        found = value() if callable(value) else value
        below, chosen = expand[name], select.get(name, {}) if select else {}
        if entity.navigations[name].many:
            rows: list[Row] = found or []
            return {"results": [self.row(r, uri, target, below, chosen) for r in rows]}
        return None if found is None else self.row(found, uri, target, below, chosen)

    @staticmethod
    def properties(entity: EntityType) -> Mapping[str, Any]:
        """The initial values of the type's properties, as filters compare them."""
        return {name: initial(prop) for name, prop in entity.properties.items()}
