"""Finds adapters through the `dealersync.connectors` entry-point group.

An integrator ships an adapter in a separate package by declaring, in its pyproject:

    [project.entry-points."dealersync.connectors"]
    myerp = "myerp_connector:MyErpAdapter"
"""

from __future__ import annotations

from importlib.metadata import entry_points

from connectors.base import Adapter, ConnectorError

GROUP = "dealersync.connectors"


def available() -> dict[str, str]:
    """Adapter kinds and where they come from."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(kind: str) -> type[Adapter]:
    found = [ep for ep in entry_points(group=GROUP) if ep.name == kind]
    if not found:
        known = ", ".join(sorted(available())) or "none installed"
        raise ConnectorError(f"unknown source kind {kind!r} (known: {known})")
    adapter = found[0].load()
    if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
        raise ConnectorError(f"entry point {kind!r} does not name an Adapter subclass")
    return adapter
