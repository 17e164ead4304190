"""The price_lists stream: the scenario's sales price lists written into TBLSTOKFIAT by NetsisWriter come back
from NetsisAdapter, on SQLite, PostgreSQL and MariaDB (the servers skip, with the reason, when not reachable).

Fields the round trip leaves out, and why:
  * `flags`: the feed's own annotations, not ERP data.
  * `vat_included`: no public source names a VAT flag of TBLSTOKFIAT; the adapter reads none and sends the
    `price_vat_included` setting (null by default: not held).
  * `min_quantity`: no public source names a minimum-quantity column of TBLSTOKFIAT; Netsis keys a price by its
    unit (OLCUBR), so the scenario's per-case entry (min_quantity 1.000) is the KOLİ unit's price, sent without one.
Representations: none to translate. Netsis names its lists (FIYATLISTEKODU), so list_code is the scenario's
"SATIS"/"IHRACAT"; the unit is the card's unit OLCUBR names (KOLİ is the card's OLCU_BR2).

The writer also lays what the stream must leave out: a purchase price (A_S 'A') and a dealer's own price (price
group FIYATGRUBU = the dealer's account code); the discounts stream (TBLKOSULMAS) reads neither table's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.base import Excluded
from connectors.netsis.prices import DEALER_PRICE, PriceLists
from connectors.netsis.tables import netsis_tables
from connectors.netsis.writer import damage
from mapping.errors import RecordError
from mapping.schema import PriceListEntry
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import Server, adapter, read, records, server, write
from tests.netsis_dbs import alter_columns as _alter
from tests.netsis_dbs import missing_columns as _missing
from tests.nochange import counting
from tests.reconcile import Feed
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=500)
IGNORED = frozenset({"flags", "vat_included", "min_quantity"})
T = netsis_tables(sa.MetaData())
F = T.STOKFIAT.c


def _match(e: PriceListEntry) -> tuple[Any, ...]:
    return (e.list_code, e.product_code, e.unit, e.valid_from)


def _settings(where: Server) -> dict[str, Any]:
    out: dict[str, Any] = {"rates_database": where.database("NETSIS"), "company": "GIDA"}
    if where.backend != "sqlite":
        out["databases"] = [where.database("GIDA2026")]
    return out


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    where = server(request.param, tmp_path_factory.mktemp("netsis-prices"))
    try:
        company = where.url("GIDA2026")
        write(company, SCENARIO, where.url("NETSIS"))
        with adapter(company, SCENARIO, **_settings(where)) as source:
            rows = read(source.stream("price_lists"))
            yield {"rows": rows, "discounts": records(source.stream("discounts"))}
    finally:
        where.close()


def test_the_price_lists_come_back_as_the_scenario_holds_them(synced: dict[str, Any]) -> None:
    got = [r for _, r, _ in synced["rows"] if isinstance(r, PriceListEntry)]
    assert len({_match(e) for e in got}) == len(got)  # unique by the scenario's identity
    expected = {_match(e): expect.comparable(e, IGNORED) for e in SCENARIO.price_lists}
    assert {_match(e): expect.comparable(e, IGNORED) for e in got} == expected
    # The per-case entries are there, as the KOLİ unit's prices; what the ERP does not hold is sent empty.
    assert any(e.unit == "KOLİ" and e.unit_code == "CT" for e in got)
    assert all(e.min_quantity is None and e.vat_included is None for e in got)


def test_keys_are_stable_and_unique(synced: dict[str, Any]) -> None:
    keys = [k for k, r, _ in synced["rows"] if isinstance(r, PriceListEntry)]
    assert len(set(keys)) == len(keys)
    assert all(k.startswith("GIDA:") for k in keys)


def test_neither_purchase_nor_dealer_prices_are_price_lists(synced: dict[str, Any]) -> None:
    """The purchase row is not read at all (A_S), the dealer's own price is read and left out on purpose; the
    discounts stream still carries exactly the scenario's conditions, dealers' fixed prices among them."""
    excluded = [(k, r) for k, r, _ in synced["rows"] if isinstance(r, Excluded)]
    assert [r.rule for _, r in excluded] == [DEALER_PRICE]
    assert len(synced["rows"]) == len(SCENARIO.price_lists) + 1
    got = {d.code: expect.comparable(d, {"flags"}) for d in synced["discounts"]}
    assert got == {st.record.code: expect.comparable(st.record, {"flags"}) for st in SCENARIO.discounts}


def _one_price(url: str) -> tuple[str, float]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(F.STOKKODU, F.FIYAT1)
            .where(F.FIYATLISTEKODU == "SATIS", F.OLCUBR == 1, F.FIYATGRUBU.is_(None), F.BITTAR.is_(None))
            .order_by(F.STOKKODU)
            .limit(1)
        ).one()
    engine.dispose()
    return row.STOKKODU, row.FIYAT1


def _edit(url: str, where: sa.ColumnElement[bool], **values: Any) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(T.STOKFIAT.update().where(where).values(**values)).rowcount == 1
    engine.dispose()


def test_a_changed_price_comes_back_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"))
    with Feed(tmp_path) as feed, adapter(url, SCENARIO, **_settings(where)) as source:
        first, sent = feed.sync(source, "price_lists")
        assert first.pushed == len(SCENARIO.price_lists) == len(sent)
        with counting(monkeypatch, PriceLists, "map") as mapped:
            again, _ = feed.sync(source, "price_lists")
        # Unchanged prices are not even mapped; the dealer's price, left out, keeps no version and is mapped again.
        assert again.pushed == again.deleted == 0 and again.excluded == {DEALER_PRICE: 1}
        assert mapped["map"] == 1
        product, old = _one_price(url)
        current = (product == F.STOKKODU) & (F.FIYATLISTEKODU == "SATIS") & (F.OLCUBR == 1) & F.BITTAR.is_(None)
        _edit(url, current & F.FIYATGRUBU.is_(None), FIYAT1=old + 1.5)
        changed, envelopes = feed.sync(source, "price_lists")
    assert changed.pushed == 1 and changed.deleted == 0
    [envelope] = [e for e in envelopes if e["op"] == "upsert"]
    data = envelope["data"]
    [entry] = [
        e
        for e in SCENARIO.price_lists
        if (damage(e.product_code), e.list_code, e.valid_to, e.min_quantity) == (product, "SATIS", None, None)
    ]
    assert expect.comparable(data, IGNORED) == {
        **expect.comparable(entry, IGNORED),
        "price": str(entry.price + Decimal("1.5000")),
    }
    # A price the site deletes leaves the feed as a delete at the next snapshot, and only it.
    with Feed(tmp_path) as feed, adapter(url, SCENARIO, **_settings(where)) as source:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            gone = (product == F.STOKKODU) & (F.FIYATLISTEKODU == "IHRACAT")
            deleted = conn.execute(T.STOKFIAT.delete().where(gone)).rowcount
        engine.dispose()
        removed, envelopes = feed.sync(source, "price_lists")
    assert deleted == 1 and removed.pushed == removed.deleted == deleted  # a delete is pushed too
    assert [e["op"] for e in envelopes] == ["delete"] * deleted
    where.close()


def test_a_bad_price_is_a_dead_letter_and_the_rest_flows(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        codes_ = (
            conn.execute(
                sa.select(F.STOKKODU).where(F.FIYATLISTEKODU == "IHRACAT", F.FIYATGRUBU.is_(None)).order_by(F.STOKKODU)
            )
            .scalars()
            .all()[:4]
        )
    engine.dispose()
    breaks = [{"FIYATDOVIZTIPI": 9}, {"OLCUBR": 7}, {"FIYAT1": None}, {"A_S": None}]
    for product, values in zip(codes_, breaks, strict=True):
        _edit(url, (product == F.STOKKODU) & (F.FIYATLISTEKODU == "IHRACAT"), **values)
    with adapter(url, SCENARIO, **_settings(where)) as source:
        out = sync(source, tmp_path / "run", "price_lists")
    key = "GIDA:IHRACAT::{}:{}:{}-01-01"
    year = SCENARIO.as_of.year
    assert out.dead == {
        ("price_lists", key.format(codes_[0], 1, year)): "currency: unknown Netsis currency number 9 (add it to "
        "the currency_codes setting)",
        ("price_lists", key.format(codes_[1], 7, year)): "unit: OLCUBR 7 is not in the price_units setting (map it)",
        ("price_lists", key.format(codes_[2], 1, year)): "price: missing",
        ("price_lists", key.format(codes_[3], 1, year)): "list_code: A_S is missing: sales or purchase price unknown",
    }
    sent = [data for (stream, _), data in out.feed.items() if stream == "price_lists"]
    assert len(sent) == len(SCENARIO.price_lists) - len(breaks)
    where.close()


def test_the_census_shows_the_price_sides_and_currencies(tmp_path: Path) -> None:
    """Sales rows are what the stream reads (production queries), purchase rows left out; currencies as configured."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"))
    with adapter(url, SCENARIO, **_settings(where)) as source:
        counts = [c for c in source.census() if c.column.stream == "price_lists"]
    where.close()
    readings = {(c.column.name, c.value): (c.rows, c.reading.action if c.reading else None) for c in counts}
    sales = len(SCENARIO.price_lists) + 1  # the dealer's own price is a sales row too
    dollars = sum(e.currency == "USD" for e in SCENARIO.price_lists)
    base = {st.record.code: st.record.base_unit for st in SCENARIO.products}
    cases = sum(e.unit != base[e.product_code] for e in SCENARIO.price_lists)  # prices of the card's second unit
    assert readings == {
        ("TBLSTOKFIAT.A_S", ("S",)): (sales, "sales price: a price list entry"),
        ("TBLSTOKFIAT.A_S", ("A",)): (1, "left out: purchase price"),
        ("TBLSTOKFIAT.FIYATGRUBU", ("no price group",)): (sales - 1, "a price list entry"),
        ("TBLSTOKFIAT.FIYATGRUBU", ("an account code",)): (1, "left out: a dealer's own price"),
        ("TBLSTOKFIAT.OLCUBR", (1,)): (sales - cases, "the card's unit OLCU_BR1"),
        ("TBLSTOKFIAT.OLCUBR", (2,)): (cases, "the card's unit OLCU_BR2"),
        ("TBLSTOKFIAT.FIYATDOVIZTIPI", (0,)): (sales - dollars, "TRY (the local currency)"),
        ("TBLSTOKFIAT.FIYATDOVIZTIPI", (1,)): (dollars, "USD"),
    }


def test_the_settings_decide_what_a_list_and_a_dealer_price_are(tmp_path: Path) -> None:
    """dealer_price_groups: false reads the dealer's row as an entry of its list (the price group in its key);
    price_list_column: FIYATGRUBU names lists by price group, so the general rows (no group) are dead letters."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"))
    dealer = next(st.record.code for st in SCENARIO.accounts if st.record.kind == "customer")
    with adapter(url, SCENARIO, dealer_price_groups=False, **_settings(where)) as source:
        rows = read(source.stream("price_lists"))
    assert not any(isinstance(r, Excluded) for _, r, _ in rows)
    [own] = [r for k, r, _ in rows if f":{damage(dealer)}:" in k]
    assert isinstance(own, PriceListEntry) and own.list_code == SCENARIO.price_lists[0].list_code
    with adapter(url, SCENARIO, price_list_column="FIYATGRUBU", **_settings(where)) as source:
        stream = source.stream("price_lists")
        outcomes = []
        for chunk in stream.read(None):
            for item in chunk:
                try:
                    outcomes.append(stream.map(item))
                except RecordError as exc:
                    outcomes.append(exc.field)
    where.close()
    assert outcomes.count("list_code") == len(SCENARIO.price_lists)
    assert [o.rule for o in outcomes if isinstance(o, Excluded)] == [DEALER_PRICE]


def test_check_names_the_price_columns_the_master_lacks_and_a_renamed_one_reads(tmp_path: Path) -> None:
    """check proves TBLSTOKFIAT's columns against the master database: a missing one fails price_lists' schema line
    (and only it), naming the column, the table and the database; a site naming a column otherwise maps it."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"))
    _alter(url, ("TBLSTOKFIAT", "FIYATDOVIZTIPI", None), ("TBLSTOKFIAT", "FIYATLISTEACIK", "LISTE_ACIKLAMA"))
    with adapter(url, SCENARIO, **_settings(where)) as source:
        failed = {r.name: r.detail for r in source.check() if not r.ok}
    assert list(failed) == ["stream price_lists: schema"]
    assert _missing(failed["stream price_lists: schema"], "TBLSTOKFIAT (database GIDA2026)") == {
        "FIYATDOVIZTIPI",
        "FIYATLISTEACIK",
    }
    renamed = {"columns": {"TBLSTOKFIAT.FIYATLISTEACIK": "LISTE_ACIKLAMA"}}
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE TBLSTOKFIAT ADD COLUMN FIYATDOVIZTIPI SMALLINT"))
        conn.execute(sa.text("UPDATE TBLSTOKFIAT SET FIYATDOVIZTIPI = 0 WHERE FIYATLISTEKODU = 'SATIS'"))
        conn.execute(sa.text("UPDATE TBLSTOKFIAT SET FIYATDOVIZTIPI = 1 WHERE FIYATLISTEKODU = 'IHRACAT'"))
    engine.dispose()
    with adapter(url, SCENARIO, **renamed, **_settings(where)) as source:
        assert all(r.ok for r in source.check() if r.name.startswith("stream price_lists"))
        got = [r for _, r, _ in read(source.stream("price_lists")) if isinstance(r, PriceListEntry)]
    where.close()
    assert {_match(e): expect.comparable(e, IGNORED) for e in got} == {
        _match(e): expect.comparable(e, IGNORED) for e in SCENARIO.price_lists
    }
