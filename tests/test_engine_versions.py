"""Source versions (Stream.version, e.g. 1C's DataVersion): stored per key, unchanged versions skip mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.base import Adapter, AdapterSettings, CheckResult, Partition, SourceContext, Stream
from engine.state import StateStore
from mapping.errors import RecordError
from mapping.schema import Product
from tests.test_engine import make_engine
from tests.toy import TZ


class Catalog(Stream):
    """A snapshot of in-memory objects, each with a version, counting how often it maps."""

    name = "products"
    primary_key = ("ref",)

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects
        self.mapped: list[str] = []

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        items = [{"ref": ref, **obj} for ref, obj in sorted(self.objects.items())]
        for start in range(0, len(items), 3):
            yield items[start : start + 3]

    def key(self, item: Any) -> str:
        return str(item["ref"])

    def version(self, item: Any) -> str | None:
        return str(item["version"])

    def map(self, item: Any) -> Product | None:
        self.mapped.append(item["ref"])
        if item.get("deleted"):
            return None
        if not item["name"]:
            raise RecordError("empty name", "name")
        return Product(code=item["ref"], name=item["name"], vat_rate=Decimal("20"))


class Versioned(Adapter):
    kind = "versioned"
    Settings = AdapterSettings

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        super().__init__(SourceContext("onec-like", TZ), AdapterSettings())
        self.catalog = Catalog(objects)

    def check(self) -> list[CheckResult]:
        return []

    def streams(self) -> list[Stream]:
        return [self.catalog]


def objects(n: int = 7) -> dict[str, dict[str, Any]]:
    return {f"R{i}": {"name": f"Товар {i}", "version": "AAAAAQ=="} for i in range(1, n + 1)}


def test_unchanged_versions_are_not_mapped_and_changed_ones_are(tmp_path: Path) -> None:
    source = Versioned(objects())
    engine, sink = make_engine(tmp_path)
    [first] = engine.sync(source)
    assert first.pushed == 7 and len(source.catalog.mapped) == 7

    source.catalog.mapped.clear()
    [second] = engine.sync(source)
    assert second.read == 7 and second.unchanged == 7 and second.pushed == 0 and second.deleted == 0
    assert source.catalog.mapped == []  # the versions matched: nothing was mapped

    source.catalog.objects["R3"] = {"name": "Товар 3 (новый)", "version": "AAAAAg=="}
    [third] = engine.sync(source)
    assert source.catalog.mapped == ["R3"] and third.pushed == 1 and sink.pushed_keys()[-1] == "R3"


def test_a_new_version_with_the_same_content_is_remembered_but_not_sent(tmp_path: Path) -> None:
    source = Versioned(objects())
    engine, _ = make_engine(tmp_path)
    engine.sync(source)
    source.catalog.objects["R5"]["version"] = "AAAAAw=="  # re-saved in 1C without a change we carry
    source.catalog.mapped.clear()
    [run] = engine.sync(source)
    assert source.catalog.mapped == ["R5"] and run.pushed == 0 and run.unchanged == 7
    assert engine.state.versions("onec-like", "products", ["R5"]) == {"R5": "AAAAAw=="}
    source.catalog.mapped.clear()
    engine.sync(source)
    assert source.catalog.mapped == []


def test_deletes_still_work_beside_skipped_versions(tmp_path: Path) -> None:
    source = Versioned(objects())
    engine, sink = make_engine(tmp_path)
    engine.sync(source)
    del source.catalog.objects["R2"]  # gone from the snapshot
    source.catalog.objects["R4"] = {"name": "x", "version": "AAAABA==", "deleted": True}  # marked for deletion
    [run] = engine.sync(source)
    deleted = sorted(e["key"] for e in sink.envelopes() if e["op"] == "delete")
    assert deleted == ["R2", "R4"] and run.deleted == 2
    assert run.unchanged == 5  # the other five were skipped by version and still count as live


def test_full_refresh_maps_and_sends_everything(tmp_path: Path) -> None:
    source = Versioned(objects())
    engine, _ = make_engine(tmp_path)
    engine.sync(source)
    source.catalog.mapped.clear()
    [run] = engine.sync(source, full_refresh=True)
    assert len(source.catalog.mapped) == 7 and run.pushed == 7


def test_an_invalid_object_is_retried_once_its_version_moves(tmp_path: Path) -> None:
    data = objects()
    data["R6"]["name"] = ""
    source = Versioned(data)
    engine, _ = make_engine(tmp_path)
    [first] = engine.sync(source)
    assert first.dead_lettered == 1 and first.pushed == 6
    source.catalog.objects["R6"] = {"name": "Товар 6", "version": "AAAABQ=="}
    [second] = engine.sync(source)
    assert second.pushed == 1 and engine.state.dead_letters("onec-like", "products") == []


def test_a_state_store_from_before_versions_gets_the_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE ds_record_hashes (source VARCHAR(100), stream VARCHAR(50), key VARCHAR(200), "
                "hash VARCHAR(32) NOT NULL, PRIMARY KEY (source, stream, key))"
            )
        )
        conn.execute(sa.text("INSERT INTO ds_record_hashes VALUES ('s', 'products', 'R1', 'abc')"))
    old.dispose()
    state = StateStore(url)
    state.create()
    assert state.stored("s", "products", ["R1"]) == {"R1": ("abc", None)}
    state.create()  # idempotent
    state.close()
