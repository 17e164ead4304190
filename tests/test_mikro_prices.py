"""The price_lists stream: the scenario's sales price lists, written into STOK_SATIS_FIYAT_LISTELERI and
STOK_SATIS_FIYAT_LISTE_TANIMLARI by MikroWriter, come back as `Scenario.price_lists`, on SQLite, PostgreSQL and
MariaDB (the latter two skip, with the reason, when not reachable).

Entries are matched by (list_code, product_code, unit, valid_from) and compared with `expect.comparable`, ignoring:
  * flags: the engine's plausibility marks, set after mapping;
  * min_quantity: a Mikro price row has no quantity tier (its unique key is product, list, warehouse, unit and
    payment plan), so the per-case entry's 1.000 cannot be stored: the stream sends null, and the case price is the
    price of the KOLİ unit (sfiyat_birim_pntr), which is compared.

Representation: Mikro numbers its lists (sfl_sirano) and keeps a list's validity on its header (sfl_ilktarih,
sfl_sontarih), not on the price, so each list and validity is a list number of its own. The site lays the scenario's
lists under MikroSite.general_price_lists, each list's validities newest first (the current wholesale list is list
1): the expected records carry that number as list_code where the scenario says "SATIS" or "IHRACAT".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import sqlalchemy as sa

from connectors.mikro.tables import mikro_tables
from mapping.schema import Discount, PriceListEntry
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.mikro_dbs import SITE, adapter, edit, insert, read, records, write
from tests.reconcile import Feed
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=300)
IGNORED = frozenset({"flags", "min_quantity"})
T = mikro_tables(sa.MetaData())
Key = tuple[str, str, str | None, dt.date | None]


def mikro_numbers() -> dict[tuple[str, dt.date | None], str]:
    """(scenario list, valid_from) -> the Mikro list number the site keeps it under (see the module docstring)."""
    order = list(dict.fromkeys(e.list_code for e in SCENARIO.price_lists))
    heads = sorted(
        {(e.list_code, e.valid_from) for e in SCENARIO.price_lists},
        key=lambda h: (order.index(h[0]), -(h[1] or dt.date.min).toordinal()),
    )
    return {head: str(number) for head, number in zip(heads, SITE.general_price_lists, strict=True)}


def key(e: PriceListEntry) -> Key:
    return (e.list_code, e.product_code, e.unit, e.valid_from)


def expected() -> dict[Key, PriceListEntry]:
    numbers = mikro_numbers()
    out = {}
    for e in SCENARIO.price_lists:
        mikro = msgspec.structs.replace(e, list_code=numbers[e.list_code, e.valid_from])
        out[key(mikro)] = mikro
    return out


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with database_url(request.param, tmp_path_factory.mktemp("mikro")) as url:
        write(url, SCENARIO)
        with adapter(url, SCENARIO) as source:
            yield {
                "price_lists": records(source.stream("price_lists")),
                "discounts": records(source.stream("discounts")),
            }


def test_the_price_lists_round_trip(synced: dict[str, Any]) -> None:
    got = {key(r): r for r in synced["price_lists"]}
    want = expected()
    assert len(got) == len(synced["price_lists"])  # one record per (list, product, unit, validity)
    assert set(got) == set(want)
    for k, entry in want.items():
        assert expect.comparable(got[k], IGNORED) == expect.comparable(entry, IGNORED), k
    # What the comparison covers, spelled out: the current wholesale list is list 1, open-ended, with case prices.
    current = [r for r in got.values() if r.list_code == "1"]
    assert {r.valid_to for r in current} == {None} and any(r.unit == "KOLİ" and r.unit_code for r in current)
    assert {r.currency for r in got.values() if r.list_name == "İhracat fiyatları (USD)"} == {"USD"}


def test_general_lists_and_customer_prices_stay_apart(synced: dict[str, Any]) -> None:
    """Every price_lists record is of a general list; every fixed price in discounts is a dealer's, and all of the
    scenario's active ones are there (the writer no longer copies them into a general list)."""
    general = {str(n) for n in SITE.general_price_lists}
    assert {r.list_code for r in synced["price_lists"]} == general
    fixed = {d.code for d in synced["discounts"] if isinstance(d, Discount) and d.kind == "fixed_price"}
    dealers = [s.record for s in SCENARIO.discounts if s.record.kind == "fixed_price" and s.record.active]
    assert dealers and len(fixed) == len(dealers)
    assert {c.rsplit(":", 2)[0] for c in fixed}.isdisjoint({r.list_name for r in synced["price_lists"]})
    # No dealer's price leaked into a general list: every (product, price) sent is one the scenario's lists hold.
    sent = {(r.product_code, r.price) for r in synced["price_lists"]}
    listed = {(e.product_code, e.price) for e in SCENARIO.price_lists}
    assert sent == listed


def _price_row(url: str, where: Any) -> Any:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(T.STOK_SATIS_FIYAT_LISTELERI).where(where).order_by("sfiyat_Guid").limit(1)).one()
    engine.dispose()
    return row


def test_a_changed_price_and_a_renamed_list_come_back_and_nothing_else(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    f = T.STOK_SATIS_FIYAT_LISTELERI.c
    row = _price_row(url, f.sfiyat_listesirano == 1)
    # Mikro stamps local wall time.
    later = (SCENARIO.as_of + dt.timedelta(hours=1)).astimezone(ZoneInfo(SCENARIO.timezone)).replace(tzinfo=None)
    with Feed(tmp_path) as feed, adapter(url, SCENARIO) as source:
        full, first = feed.sync(source, "price_lists")
        assert len(first) == len(SCENARIO.price_lists)
        edit(
            url,
            "STOK_SATIS_FIYAT_LISTELERI",
            {"sfiyat_fiyati": 123.45, "sfiyat_lastup_date": later},
            lambda c: c.sfiyat_Guid == row.sfiyat_Guid,
        )
        _, sent = feed.sync(source, "price_lists")
        assert [(e["key"], e["op"], e["data"]["price"]) for e in sent] == [(str(row.sfiyat_Guid), "upsert", "123.4500")]
        # The export list's header renamed: every one of its prices carries the name, so each is sent again.
        edit(
            url,
            "STOK_SATIS_FIYAT_LISTE_TANIMLARI",
            {"sfl_aciklama": "Export USD", "sfl_lastup_date": later + dt.timedelta(minutes=5)},
            lambda c: c.sfl_sirano == 5,
        )
        _, renamed = feed.sync(source, "price_lists")
        again, none = feed.sync(source, "price_lists")
    exports = [e for e in SCENARIO.price_lists if e.list_code == "IHRACAT"]
    assert len(renamed) == len(exports) and {e["data"]["list_name"] for e in renamed} == {"Export USD"}
    assert {e["data"]["list_code"] for e in renamed} == {"5"}
    assert none == [] and again.read < full.read  # the reads follow the stamps


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "mikro") as url:
        write(url, SCENARIO)
        yield url


def test_bad_rows_are_dead_letters_and_the_rest_flows(url: str, tmp_path: Path) -> None:
    f = T.STOK_SATIS_FIYAT_LISTELERI.c
    currency = _price_row(url, f.sfiyat_listesirano == 2)
    unit = _price_row(url, f.sfiyat_listesirano == 3)
    warehouse = _price_row(url, f.sfiyat_listesirano == 4)
    by = "STOK_SATIS_FIYAT_LISTELERI"
    edit(url, by, {"sfiyat_doviz": 99}, lambda c: c.sfiyat_Guid == currency.sfiyat_Guid)
    edit(url, by, {"sfiyat_birim_pntr": 7}, lambda c: c.sfiyat_Guid == unit.sfiyat_Guid)
    edit(url, by, {"sfiyat_deposirano": 2}, lambda c: c.sfiyat_Guid == warehouse.sfiyat_Guid)
    orphan = "5d1c6a52-0000-4000-8000-000000000009"  # a price of list 9, which has no header
    insert(
        url,
        by,
        {
            "sfiyat_Guid": orphan,
            "sfiyat_stokkod": currency.sfiyat_stokkod,
            "sfiyat_listesirano": 9,
            "sfiyat_birim_pntr": 1,
            "sfiyat_fiyati": 10.0,
            "sfiyat_lastup_date": dt.datetime(2026, 11, 2, 10),
        },
    )
    general = [*SITE.general_price_lists, 9]
    with adapter(url, SCENARIO, general_price_lists=general) as source:
        out = sync(source, tmp_path / "sync", "price_lists")
    assert out.dead == {
        ("price_lists", str(currency.sfiyat_Guid)): "currency: unknown Mikro currency number 99 (add it to the "
        "currency_codes setting)",
        ("price_lists", str(unit.sfiyat_Guid)): "unit: unit pointer 7 is not 1, 2 or 3",
        ("price_lists", str(warehouse.sfiyat_Guid)): "price: a price for warehouse 2 (the feed has no warehouse)",
        ("price_lists", orphan): "list_name: price list 9 has no STOK_SATIS_FIYAT_LISTE_TANIMLARI row",
    }
    assert all(r.status == "ok" for r in out.results)
    sent = [data for (_, _), data in out.feed.items() if data is not None]
    assert len(sent) == len(SCENARIO.price_lists) - 3  # every other price flows


def test_the_setting_decides_what_is_general(tmp_path: Path) -> None:
    """With only list 1 general, the older quarters and the export list are no price list of the feed (and, held by
    no account, no dealer's price either)."""
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    with adapter(url, SCENARIO, general_price_lists=[1]) as source:
        lists = {r.list_code for _, r, _ in read(source.stream("price_lists"))}
        fixed = [d for d in records(source.stream("discounts")) if d.kind == "fixed_price"]
    assert lists == {"1"}
    assert fixed and all(not d.code.startswith("Toptan") and not d.code.startswith("İhracat") for d in fixed)
