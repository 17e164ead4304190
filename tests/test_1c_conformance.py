"""The adapter reads only what the configurations have (vendor/: field lists from the configurations' own
metadata), and exactly what it declares: check() verifies the declaration, the requests are built from it.

* conformance: every set and field every stream declares, per configuration, is in the vendor metadata
  with a type that reads the same value; the emulator holds nothing else;
* drift: a full read, an incremental read, count and fetch of each stream, and the census,
  against the emulator (which answers HTTP 400 for a field a set does not have, as 1C does): the sets and
  fields the requests name are exactly the ones the stream declares.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.catalog import Catalogue, verify
from connectors.edmx import Property
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
query = importlib.import_module("connectors.1c.query")
vendor_data = importlib.import_module("connectors.1c.vendor_data")

SCENARIO = build(invoice_lines=600)
CONTEXT = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 100)
CONFIGURATIONS = ("ut11", "erp2", "bp3")


def vendor_catalogue(configuration: str) -> Catalogue:
    sets = vendor_data.vendor(configuration)["sets"]
    containers = {name: {f: Property(f, kind).kind for f, kind in fields.items()} for name, fields in sets.items()}
    return Catalogue(containers=containers)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_every_declared_field_is_in_the_configurations_metadata(configuration: str) -> None:
    url = "http://127.0.0.1:9/x/odata/standard.odata"
    settings = onec.OneCSettings(url=url, auth={"username": "u", "password": "p"}, configuration=configuration)
    with onec.OneCAdapter(CONTEXT, settings) as source:
        needs = {stream.name: stream.needs() for stream in source.streams()}
    results = verify(needs, vendor_catalogue(configuration))
    problems = [r.detail for r in results if not r.ok or r.warning]
    assert problems == [], problems
    assert len(results) == len(needs)  # one line per stream, all proven


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_the_emulator_publishes_only_what_the_configuration_has(configuration: str) -> None:
    vendor = vendor_data.vendor(configuration)["sets"]
    with emulator.OneCEmulator(SCENARIO, configuration=configuration) as erp:
        for name, entity_set in erp.infobase.sets.items():
            assert set(entity_set.fields) <= set(vendor[name]), name
            assert all(set(row) <= set(entity_set.fields) for row in entity_set.rows), name
            assert entity_set.types == {f: vendor[name][f] for f in entity_set.fields}
        with pytest.raises(KeyError, match="no field"):
            erp.infobase.define("Catalog_Валюты", ("Ref_Key", "КодВалютыИнвентированный"))


class _Anything:
    def __contains__(self, name: object) -> bool:
        return True


def _fields(node: Any) -> Iterator[str]:
    if isinstance(node, query.Field):
        yield node.name
    for child in ("left", "right", "operand"):
        if hasattr(node, child):
            yield from _fields(getattr(node, child))


def used(requests: list[str], prefix: str) -> set[tuple[str, str]]:
    """(container, field) of every field the requests select, filter or order by."""
    out: set[tuple[str, str]] = set()
    for target in requests:
        split = urlsplit(target)
        container = unquote(split.path).removeprefix(prefix).strip("/").removesuffix("/$count")
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        names = [n.strip() for n in params.get("$select", "").split(",") if n.strip()]
        names += [n.split()[0] for n in params.get("$orderby", "").split(",") if n.strip()]
        if params.get("$filter"):
            names += _fields(query.parse_filter(params["$filter"], _Anything()).tree)
        out.update((container, name) for name in names)
    return out


@pytest.fixture(scope="module", params=["ut11", "bp3"])
def erp(request: pytest.FixtureRequest) -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as running:
        yield running


def _settle_every_kind(erp: Any) -> None:
    """Point two payment breakdown lines at a return and a correction: a payment may settle any invoice."""
    bp = erp.configuration == "bp3"
    field = "Сделка" if bp else "ОснованиеПлатежа"
    breakdown = erp.infobase.sets["Document_ПриходныйКассовыйОрдер_РасшифровкаПлатежа"]
    returns = "Document_ВозвратТоваровОтПокупателя" if bp else "Document_ВозвратТоваровОтКлиента"
    for line, set_name in zip(breakdown.rows, (returns, "Document_КорректировкаРеализации"), strict=False):
        line[field], line[f"{field}_Type"] = erp.infobase.sets[set_name].rows[0]["Ref_Key"], f"StandardODATA.{set_name}"
    breakdown.changed()
    erp.infobase.revision += 1


def test_each_stream_reads_exactly_what_it_declares(erp: Any) -> None:
    prefix = "/trade/odata/standard.odata"
    _settle_every_kind(erp)
    since = dt.datetime.now(ZoneInfo(SCENARIO.timezone)) - dt.timedelta(days=30)
    with onec.OneCAdapter(CONTEXT, onec.OneCSettings(**erp.settings())) as source:
        for stream in source.streams():
            start = len(erp.requests)
            keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
            for _ in stream.read(since):
                pass
            stream.count()
            stream.fetch(keys[:3])
            declared = {(need.container, need.name) for need in stream.needs()}
            assert used(erp.requests[start:], prefix) == declared, stream.name
        start = len(erp.requests)
        source.census(since.date())
        every = {(need.container, need.name) for stream in source.streams() for need in stream.needs()}
        assert used(erp.requests[start:], prefix) <= every  # the census reads with the streams' declarations
