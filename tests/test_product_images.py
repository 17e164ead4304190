"""Product images through the real engine: the bytes travel beside their records, through the outbox, to the file
sink (`<stream>/files/<sha256>`) and to a loopback loyalty core (`PUT /files/{sha256}` before the batch), once per
change, and a batch that could not be delivered keeps its files until it is."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import Adapter, AdapterSettings, CheckResult, Partition, SourceContext, Stream
from engine.state import StateStore, outbox_files_t
from engine.sync import Engine, Policy
from mapping.images import image_record
from mapping.schema import Record
from scenario import expect
from scenario.generate import build
from tests.loyalty_server import LoyaltyServer
from tests.nochange import held
from tests.reconcile import Feed
from tests.test_end_to_end import http_sink

SCENARIO = build(invoice_lines=300)


class _Images(Stream):
    """A snapshot of (product, image number, bytes) rows, as an ERP's image table."""

    name = "product_images"
    primary_key = ("product_code", "image_id")

    def __init__(self, rows: list[tuple[str, int, bytes]]) -> None:
        self.rows = rows
        self.lie: set[str] = set()  # keys whose record names other bytes than the row's

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        yield list(self.rows)

    def key(self, item: Any) -> str:
        return f"{item[0]}|{item[1]}"

    def map(self, item: Any) -> Record:
        data = b"other" if self.key(item) in self.lie else item[2]
        return image_record(item[0], str(item[1]), data, position=item[1], file_name=f"{item[0].lower()}-{item[1]}.png")

    def attachment(self, item: Any) -> bytes:
        return item[2]  # type: ignore[no-any-return]


class _Catalog(Adapter):
    kind = "catalog"
    Settings = AdapterSettings

    def __init__(self, rows: list[tuple[str, int, bytes]]) -> None:
        super().__init__(SourceContext("catalog", ZoneInfo("Europe/Istanbul")), AdapterSettings())
        self.images = _Images(rows)

    def check(self) -> list[CheckResult]:
        return []

    def streams(self) -> list[Stream]:
        return [self.images]


def _rows() -> list[tuple[str, int, bytes]]:
    return [(i.product_code, i.position, i.data) for i in SCENARIO.images]


def test_the_scenarios_images_reach_the_file_sink_once_and_again_only_when_they_change(tmp_path: Path) -> None:
    rows = _rows()
    adapter = _Catalog(rows)
    with Feed(tmp_path) as feed:
        result, sent = feed.sync(adapter, "product_images")
        assert result.pushed == len(rows) > 20
        files = tmp_path / "feed" / "product_images" / "files"
        by_key = {f"{product}|{position}": data for product, position, data in rows}
        for envelope in sent:
            assert (files / envelope["data"]["sha256"]).read_bytes() == by_key[envelope["key"]]
        assert sorted(p.name for p in files.iterdir()) == sorted({hashlib.sha256(r[2]).hexdigest() for r in rows})
        got = [expect.comparable(r, {"image_id", "flags"}) for r in held(feed, "product_images").values()]
        want = [expect.comparable(r, {"image_id", "flags"}) for r in expect.product_images(SCENARIO.images)]
        assert sorted(got, key=str) == sorted(want, key=str)
        assert {r["content_type"] for r in got} == {"image/png"}
        assert feed.sync(adapter, "product_images")[1] == []  # unchanged: no record, so no file
        product, position, _ = rows[0]
        rows[0] = (product, position, SCENARIO.images[-1].data)  # the ERP's image replaced by another
        result, sent = feed.sync(adapter, "product_images")
        assert [e["key"] for e in sent] == [f"{product}|{position}"] and result.pushed == 1
        assert (files / sent[0]["data"]["sha256"]).read_bytes() == SCENARIO.images[-1].data
        del rows[0]  # and then deleted: the record goes; the file stays where others may name it
        assert [e["op"] for e in feed.sync(adapter, "product_images")[1]] == ["delete"]
        with feed.state.engine.connect() as conn:  # every batch taken: no bytes left in the outbox
            assert conn.execute(sa.select(sa.func.count()).select_from(outbox_files_t)).scalar_one() == 0


def test_a_record_whose_bytes_are_not_the_ones_it_names_is_a_dead_letter(tmp_path: Path) -> None:
    adapter = _Catalog(_rows())
    bad = adapter.images.key(adapter.images.rows[3])
    adapter.images.lie.add(bad)
    with Feed(tmp_path) as feed:
        result, sent = feed.sync(adapter, "product_images")
        assert result.dead_lettered == 1 and bad not in {e["key"] for e in sent}
        [letter] = feed.state.dead_letters("catalog", "product_images")
        assert letter.key == bad and "sha256" in letter.reason


def test_the_core_gets_each_file_once_before_the_batch_that_names_it(tmp_path: Path) -> None:
    rows = _rows()
    rows.append(("SHARED-1", 1, rows[0][2]))  # two products with the very same photo: one upload
    adapter = _Catalog(rows)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with LoyaltyServer(token="tkn") as server:
        [result] = Engine(state, http_sink(server.url), Policy(batch_size=25)).sync(adapter)
        assert result.status == "ok" and result.pushed == len(rows)
        records = server.records()
        assert len(records) == len(rows)  # none refused: every file was there before its record
        assert set(server.files) == {hashlib.sha256(r[2]).hexdigest() for r in rows}
        assert all(server.files[r["data"]["sha256"]][1] for r in records)
        puts = server.requests_to(f"/files/{hashlib.sha256(rows[0][2]).hexdigest()}", "PUT")
        assert len(puts) == 1 and puts[0].headers["content-type"] == "image/png"
        assert len(server.requests_to("/files/" + next(iter(server.files)), "HEAD")) >= 1
    state.close()


def test_an_undelivered_batch_keeps_its_files_in_the_outbox_until_the_core_takes_them(tmp_path: Path) -> None:
    rows = _rows()[:30]
    adapter = _Catalog(rows)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with LoyaltyServer(token="tkn") as server:
        server.fail_files_next(*([503] * 50))  # the core's file store is down
        [down] = Engine(state, http_sink(server.url, max_attempts=2), Policy(batch_size=10)).sync(adapter)
        assert down.status == "error" and server.records() == [] and server.files == {}
        with state.engine.connect() as conn:
            kept = conn.execute(sa.select(outbox_files_t.c.sha256, outbox_files_t.c.data)).all()
        assert {sha for sha, _ in kept} == {hashlib.sha256(r[2]).hexdigest() for r in rows[:10]}
        assert all(hashlib.sha256(data).hexdigest() == sha for sha, data in kept)
        server._file_faults.clear()  # the core is back
        [up] = Engine(state, http_sink(server.url), Policy(batch_size=10)).sync(adapter)
        assert up.status == "ok" and len(server.records()) == len(rows)
        assert set(server.files) == {hashlib.sha256(r[2]).hexdigest() for r in rows}
        with state.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(outbox_files_t)).scalar_one() == 0
    state.close()


def test_a_core_that_refuses_a_file_gets_no_batch_naming_it(tmp_path: Path) -> None:
    adapter = _Catalog(_rows()[:5])
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    with LoyaltyServer(token="tkn") as server:
        server.fail_files_next(413)
        [result] = Engine(state, http_sink(server.url), Policy(batch_size=10)).sync(adapter)
        assert result.status == "error" and "refused file" in (result.error or "") and "HTTP 413" in result.error
        assert server.requests_to("/batches") == []
    state.close()


@pytest.mark.parametrize("shared", [False, True])
def test_the_file_sink_writes_a_file_once_whoever_names_it(tmp_path: Path, shared: bool) -> None:
    rows = _rows()[:3]
    if shared:
        rows.append(("SHARED-1", 1, rows[0][2]))
    with Feed(tmp_path) as feed:
        feed.sync(_Catalog(rows), "product_images")
        files = list((tmp_path / "feed" / "product_images" / "files").iterdir())
        assert len(files) == 3
