"""The stock_movements stream: the scenario's invoices and stock slips, written into STOK_HAREKETLERI by MikroWriter,
come back as the movements `expect.stock_movements` makes of them, on SQLite, PostgreSQL and MariaDB (the latter two
skip, with the reason, when not reachable).

Movements are matched by (document_no, line_no, direction) and compared with `expect.comparable`, ignoring:
  * erp_kind: Mikro's own codes (sth_evraktip:cins:tip:normal_iade), which the ERP-neutral facts leave empty
    (checked apart: each kind has the codes the writer laid);
  * flags: the engine's plausibility marks, set after mapping.
Representation: warehouses are DEPOLAR numbers (the scenario's "01" is warehouse 1).

What Mikro has beside the facts: the writer's count slips (Depo Giriş / Çıkış Fişi of sth_cins 10 Sayım) that bring
each item's movements to the scenario's stock on hand, read as kind `count`; all the movements of an item and
warehouse, those counts included, add up to the level the scenario holds. A price-difference invoice's lines
(sth_cins 9) move no goods: read and left out under a named rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.base import Excluded, Partition
from connectors.census import UNCONFIRMED
from connectors.mikro.stock import NO_GOODS
from connectors.mikro.tables import mikro_tables
from engine.sync import Policy
from mapping.schema import StockMovement
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.mikro_dbs import adapter, edit, insert, read, write
from tests.reconcile import Feed

SCENARIO = build(invoice_lines=2000)
IGNORED = frozenset({"erp_kind", "flags"})
STREAM = "stock_movements"
# The codes the writer lays each kind with (sth_evraktip:cins:tip:normal_iade).
ERP_KINDS = {
    ("sale", "out"): "4:0:1:0",
    ("sale_return", "in"): "3:0:0:1",
    ("purchase", "in"): "13:0:0:0",
    ("transfer", "out"): "2:6:2:0",
    ("transfer", "in"): "2:6:2:0",
}
FACTORS = {s.record.code: {u.unit: u.factor for u in s.record.units} for s in SCENARIO.products}


def _depot(code: str | None) -> str | None:
    return None if code is None else str(int(code))


def mikro(m: StockMovement) -> StockMovement:
    """The fact as Mikro represents it: warehouses by DEPOLAR number."""
    return msgspec.structs.replace(
        m, warehouse_code=_depot(m.warehouse_code), other_warehouse_code=_depot(m.other_warehouse_code)
    )


def expected() -> dict[tuple[str | None, int | None, str], StockMovement]:
    made = expect.stock_movements([s.record for s in SCENARIO.invoices()], [s.record for s in SCENARIO.stock_slips()])
    return {(m.document_no, m.line_no, m.direction): mikro(m) for m in made}


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with database_url(request.param, tmp_path_factory.mktemp("stock")) as url:
        write(url, SCENARIO)
        with adapter(url, SCENARIO) as source:
            stream = source.stream(STREAM)
            items = [item for chunk in stream.read(None) for item in chunk]
            mapped = [(stream.key(item), stream.map(item)) for item in items]
            some = [key for key, record in mapped if isinstance(record, StockMovement)][::41]
            fetched = [(stream.key(item), stream.map(item)) for item in stream.fetch(some)]
            levels = [r for _, r, _ in read(source.stream("stock_levels")) if r is not None]
            invoices = [r for _, r, _ in read(source.stream("invoices")) if r is not None]
            counted = stream.count()
        yield {
            "mapped": mapped,
            "fetched": fetched,
            "some": some,
            "levels": levels,
            "invoices": invoices,
            "count": counted,
        }


def movements(synced: dict[str, Any]) -> list[StockMovement]:
    return [record for _, record in synced["mapped"] if isinstance(record, StockMovement)]


def test_the_movements_are_the_scenarios_line_by_line(synced: dict[str, Any]) -> None:
    got = {(m.document_no, m.line_no, m.direction): m for m in movements(synced)}
    assert len(got) == len(movements(synced))  # (document_no, line_no, direction) names one movement
    want = expected()
    assert want.keys() <= got.keys()
    for key, movement in want.items():
        assert expect.comparable(got[key], IGNORED) == expect.comparable(movement, IGNORED), key
        assert got[key].erp_kind == ERP_KINDS[movement.kind, movement.direction], key
    # Beside the facts, only the writer's count slips: no movement the scenario lacks is anything else.
    extra = [got[key] for key in got.keys() - want.keys()]
    assert extra and {(m.kind, m.erp_kind) for m in extra} == {("count", "12:10:0:0"), ("count", "0:10:1:0")}
    kinds = {(m.kind, m.direction) for m in want.values()}
    assert kinds == {
        ("sale", "out"),
        ("sale_return", "in"),
        ("purchase", "in"),
        ("transfer", "out"),
        ("transfer", "in"),
    }
    assert any(m.cancelled for m in want.values())


def test_a_transfer_row_is_two_movements_each_naming_the_other_warehouse(synced: dict[str, Any]) -> None:
    by_key = dict(synced["mapped"])
    transfers = [key for key, record in synced["mapped"] if getattr(record, "kind", None) == "transfer"]
    assert transfers and all(key.endswith(("|out", "|in")) for key in transfers)
    for key in (k for k in transfers if k.endswith("|out")):
        out, into = by_key[key], by_key[key.removesuffix("|out") + "|in"]
        assert (out.warehouse_code, out.other_warehouse_code) == (into.other_warehouse_code, into.warehouse_code)
        assert (out.document_no, out.line_no, out.quantity) == (into.document_no, into.line_no, into.quantity)
    assert synced["count"] == len(synced["mapped"])  # count() counts a transfer twice, as read() gives it


def test_the_movements_add_up_to_the_stock_levels(synced: dict[str, Any]) -> None:
    """Every movement that is not cancelled, counts included, in base units: the level Mikro's stock levels give and
    the scenario holds, per item and warehouse."""
    net: dict[tuple[str, str], Decimal] = {}
    for m in movements(synced):
        if not m.cancelled:
            base = m.quantity * FACTORS[m.product_code][m.unit]
            key = (m.product_code, m.warehouse_code)
            net[key] = net.get(key, Decimal(0)) + (base if m.direction == "in" else -base)
    levels = {(s.product_code, s.warehouse_code): s.on_hand for s in synced["levels"]}
    facts = {(s.product_code, _depot(s.warehouse_code)): s.on_hand for s in SCENARIO.stock_levels}
    assert facts and {k: v for k, v in net.items() if v} == {k: v for k, v in facts.items() if v}
    assert {k: v for k, v in levels.items() if v} == {k: v for k, v in facts.items() if v}


def test_invoice_lines_carry_their_invoices_number_and_account(synced: dict[str, Any]) -> None:
    invoices = {i.number: i for i in synced["invoices"]}
    lines = [m for m in movements(synced) if m.kind in ("sale", "sale_return")]
    assert len(lines) > 1900
    for m in lines:
        invoice = invoices[m.invoice_number]  # type: ignore[index]
        assert (invoice.account_code, invoice.cancelled) == (m.account_code, m.cancelled)
    others = [m for m in movements(synced) if m.kind not in ("sale", "sale_return")]
    assert others and all(m.invoice_number is None for m in others)


def test_price_difference_lines_are_left_out_by_a_named_rule(synced: dict[str, Any]) -> None:
    left_out = [record for _, record in synced["mapped"] if isinstance(record, Excluded)]
    differences = [s.record for s in SCENARIO.invoices() if s.record.kind == "price_difference"]
    assert differences and set(left_out) == {Excluded(NO_GOODS)}
    assert len(left_out) == sum(len(i.lines) for i in differences)


def test_a_fetched_key_maps_as_the_read_did(synced: dict[str, Any]) -> None:
    """`dead-letters --retry` re-reads keys with fetch(): a transfer's side alone, by its suffixed key."""
    read_ = dict(synced["mapped"])
    assert sorted(key for key, _ in synced["fetched"]) == sorted(synced["some"])
    assert any(key.endswith("|in") or key.endswith("|out") for key in synced["some"])
    assert all(read_[key] == record for key, record in synced["fetched"])


# -- incremental -------------------------------------------------------------------------------------------------


def _changed_movements() -> set[tuple[str | None, int | None, str, bool]]:
    """(document_no, line_no, direction, cancelled) of the movements the scenario's changes make."""
    changes = {c.kind: c for c in SCENARIO.changes}
    new = changes["new_invoice"].invoice
    assert new is not None
    cancelled = next(s.record for s in SCENARIO.invoices() if s.record.number == changes["cancel_invoice"].number)
    made = expect.stock_movements([new, msgspec.structs.replace(cancelled, cancelled=True)], [])
    assert made
    return {(m.document_no, m.line_no, m.direction, m.cancelled) for m in made}


def test_an_incremental_sync_sends_exactly_the_changed_movements(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    writer = write(url, SCENARIO)
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        stream = source.stream(STREAM)
        first = read(stream)
        last = max(cursor for _, _, cursor in first if cursor is not None)
        full, _ = feed.sync(source, STREAM)
        for change in SCENARIO.changes:
            writer.apply(change)
        since = last - Policy().overlap
        again = read(stream, since)
        result, sent = feed.sync(source, STREAM)
        future = read(stream, dt.datetime.now(dt.UTC) + dt.timedelta(days=3650))
    before = {key for key, _, cursor in first if cursor is not None and cursor >= since}
    changed = {key for key, _, cursor in again if cursor is not None and cursor > SCENARIO.as_of}
    assert {key for key, _, _ in again} == before | changed and changed
    got = {
        (e["data"]["document_no"], e["data"]["line_no"], e["data"]["direction"], e["data"]["cancelled"]) for e in sent
    }
    assert got == _changed_movements()
    assert all(e["op"] == "upsert" for e in sent) and result.read < full.read
    assert future == []  # a far-future cursor reads nothing


def test_a_changed_invoice_header_re_reads_its_lines(tmp_path: Path) -> None:
    """The invoice number and account come from the header: a header stamped later re-reads its lines alone."""
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    t = mikro_tables(sa.MetaData())
    h, s = t.CARI_HESAP_HAREKETLERI, t.STOK_HAREKETLERI
    later = SCENARIO.as_of + dt.timedelta(hours=2)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        head = conn.execute(
            sa.select(h.c.cha_Guid).where(h.c.cha_evrak_tip == 63, h.c.cha_satir_no == 0, h.c.cha_cari_cins == 0)
        ).first()
        assert head is not None
        lines = set(conn.execute(sa.select(s.c.sth_Guid).where(s.c.sth_fat_uid == head.cha_Guid)).scalars())
        conn.execute(h.update().where(h.c.cha_Guid == head.cha_Guid).values(cha_lastup_date=later.replace(tzinfo=None)))
    engine.dispose()
    with adapter(url, SCENARIO) as source:
        rows = read(source.stream(STREAM), later - dt.timedelta(minutes=1))
    assert lines and {key for key, _, _ in rows} == {str(g).lower() for g in lines}
    assert all(cursor == later for _, _, cursor in rows)


# -- bad rows, unknown codes, the census ---------------------------------------------------------------------------

VIRMAN = {  # a Stok Virman Fişi (6): a code no default reads
    "sth_Guid": "5d1c6a52-0000-4000-8000-000000000006",
    "sth_tarih": dt.datetime(2026, 11, 2),
    "sth_lastup_date": dt.datetime(2026, 11, 2, 10),
    "sth_tip": 0,
    "sth_cins": 3,
    "sth_evraktip": 6,
    "sth_evrakno_seri": "VR",
    "sth_evrakno_sira": 1,
    "sth_stok_kod": "AYD-000019",
    "sth_miktar": 4.0,
    "sth_birim_pntr": 1,
    "sth_giris_depo_no": 2,
}


def test_a_bad_row_is_a_dead_letter_and_the_rest_flows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    t = mikro_tables(sa.MetaData()).STOK_HAREKETLERI.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        sale, purchase = (
            conn.execute(sa.select(t.sth_Guid).where(t.sth_evraktip == evraktip).limit(1)).scalar_one()
            for evraktip in (4, 13)
        )
    engine.dispose()
    edit(url, "STOK_HAREKETLERI", {"sth_tip": 7}, lambda c: c.sth_Guid == sale)
    edit(url, "STOK_HAREKETLERI", {"sth_giris_depo_no": 0}, lambda c: c.sth_Guid == purchase)
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        result, sent = feed.sync(source, STREAM)
        dead = {d.key: d.reason for d in feed.state.dead_letters(stream=STREAM)}
    assert dead == {
        str(sale).lower(): "direction: sth_tip 7 is none of 0 (in), 1 (out), 2 (transfer)",
        str(purchase).lower(): "warehouse_code: no warehouse on the in side (sth_giris_depo_no 0)",
    }
    assert result.dead_lettered == 2 and len(sent) == result.pushed == result.read - 2 - sum(result.excluded.values())
    assert len(sent) > 3000


def test_an_unknown_code_goes_out_as_other_and_the_census_shows_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    insert(url, "STOK_HAREKETLERI", VIRMAN)
    with adapter(url, SCENARIO) as source:
        rows = {key: record for key, record, _ in read(source.stream(STREAM))}
        counts = [c for c in source.census() if c.column.setting.startswith("stock_movement_kinds")]
    virman = rows[VIRMAN["sth_Guid"]]
    assert (virman.kind, virman.erp_kind, virman.direction, virman.warehouse_code) == ("other", "6:3:0:0", "in", "2")
    assert virman.document_no == "VR000001" and virman.quantity == Decimal("4.000")
    census = {c.value: c for c in counts}
    assert census[6, 3, 0, 0].rows == 1
    reading = census[6, 3, 0, 0].reading
    assert reading is not None and reading.sent and reading.source == UNCONFIRMED
    assert "kind other: no reading (Stok Virman Fişi" in reading.action
    # Mapped in the setting, it is read so from then on, the census naming the setting as its source.
    with adapter(url, SCENARIO, stock_movement_kinds={"6": "count"}) as source:
        mapped = {key: record for key, record, _ in read(source.stream(STREAM))}
        again = {c.value: c for c in source.census() if c.column.setting.startswith("stock_movement_kinds")}
    assert mapped[VIRMAN["sth_Guid"]].kind == "count"
    assert again[6, 3, 0, 0].reading.source == "your settings"  # type: ignore[union-attr]


def test_the_census_lists_every_movement_code_with_its_reading(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        counts = [c for c in source.census() if c.column.setting.startswith("stock_movement_kinds")]
        stream = source.stream(STREAM)
        by_codes: dict[str, int] = {}
        for _, record, _ in read(stream):
            if isinstance(record, StockMovement):
                by_codes[record.erp_kind] = by_codes.get(record.erp_kind, 0) + 1
    census = {c.value: c for c in counts}
    assert {c.column.name for c in counts} == {"sth_evraktip x sth_cins x sth_tip x sth_normal_iade"}
    assert all(c.reading is not None for c in counts)
    # The census counts rows; the stream gives a transfer row as two movements.
    rows = {":".join(map(str, v)): c.rows * (2 if v[2] == 2 else 1) for v, c in census.items() if c.reading.sent}  # type: ignore[union-attr]
    assert rows == by_codes
    actions = {v: (c.reading.action, c.reading.source) for v, c in census.items()}  # type: ignore[union-attr]
    assert actions[4, 0, 1, 0][0].startswith("stock movement, kind sale (Çıkış Faturası), out")
    assert actions[2, 6, 2, 0][0].startswith("stock movement, kind transfer (Depo Transfer Fişi), two movements")
    assert actions[4, 9, 1, 0][0] == "left out: sth_cins 9 moves no goods (Çıkış Faturası)"
    assert all(source != UNCONFIRMED for _, source in actions.values())  # the writer lays only confirmed codes


def test_a_partitioned_read_gives_every_movement_once(tmp_path: Path) -> None:
    """A large first sync is read by workers, one slice each: a transfer's two sides stay in one slice, and a
    NULL or negative document sequence lands in a slice too."""
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    insert(url, "STOK_HAREKETLERI", {**VIRMAN, "sth_evrakno_sira": -7})
    with adapter(url, SCENARIO) as source:
        stream = source.stream(STREAM)
        whole = sorted(stream.key(item) for chunk in stream.read(None) for item in chunk)
        sliced = [
            sorted(stream.key(item) for chunk in stream.read(None, Partition(n, 3)) for item in chunk) for n in range(3)
        ]
    assert sorted(key for part in sliced for key in part) == whole and all(sliced)
    assert VIRMAN["sth_Guid"] in whole
    for part in sliced:
        sides = {key.partition("|")[0] for key in part if "|" in key}
        assert all(f"{guid}|in" in part and f"{guid}|out" in part for guid in sides)
