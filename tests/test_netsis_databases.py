"""A source spanning a company's yearly databases (GIDA2025 holding 2024-2025, GIDA2026 holding 2026):
documents come from the database that holds them, keyed by it; cards (accounts, products, conditions),
which every year's database holds, come once, from the master database; SUBE_KODU is part of a
document's identity. Runs on SQLite files and on throwaway PostgreSQL/MariaDB databases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.netsis.tables import netsis_tables
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import Server, adapter, read, records, server, write

SCENARIO = build(invoice_lines=2000)
TABLES = netsis_tables(sa.MetaData())


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def years(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The databases, shared by the module's tests: a test that edits them undoes its edit (`_edited`)."""
    where = server(request.param, tmp_path_factory.mktemp("netsis"))
    try:
        rates = where.url("NETSIS")
        write(where.url("GIDA2025"), SCENARIO, rates, years=(2000, 2025))
        write(where.url("GIDA2026"), SCENARIO, rates, years=(2026, 2026))
        yield where
    finally:
        where.close()


def _settings(where: Server, **more: Any) -> dict[str, Any]:
    names = [where.database("GIDA2025"), where.database("GIDA2026")]
    return {"databases": names, "rates_database": where.database("NETSIS"), "company": "GIDA", **more}


def _edit(url: str, *statements: Any) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    engine.dispose()


@contextmanager
def _edited(url: str, do: list[Any], undo: list[Any]) -> Iterator[None]:
    _edit(url, *do)
    try:
        yield
    finally:
        _edit(url, *undo)


def test_documents_come_from_every_year_keyed_by_their_database(years: Server) -> None:
    old, new = years.database("GIDA2025"), years.database("GIDA2026")
    with adapter(years.url("GIDA2026"), SCENARIO, **_settings(years)) as source:
        got = {name: read(source.stream(name)) for name in ("invoices", "orders", "collections")}
    # This install deletes what it cancels (no cancel flag in Netsis's tables): the live documents come back.
    for name, facts in (
        ("invoices", [s.record for s in SCENARIO.invoices() if not s.record.cancelled]),
        ("orders", [s.record for s in SCENARIO.orders() if s.record.status != "cancelled"]),
        ("collections", [s.record for s in SCENARIO.collections() if not s.record.cancelled]),
    ):
        rows = got[name]
        assert sorted(r.number for _, r, _ in rows) == sorted(f.number for f in facts), name
        assert len({key for key, _, _ in rows}) == len(rows), name
        for key, record, _ in rows:
            assert key.startswith(f"{new}:" if record.date.year == 2026 else f"{old}:"), (name, key)
    invoices = [r for _, r, _ in got["invoices"]]
    facts = [s.record for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(invoices) == expect.invoice_totals_by_dealer_month(facts)
    collections = [r for _, r, _ in got["collections"]]
    facts_collections = [s.record for s in SCENARIO.collections()]
    assert expect.collections_by_dealer(collections) == expect.collections_by_dealer(facts_collections)


def test_cards_come_once_from_the_master_database(years: Server) -> None:
    code = SCENARIO.accounts[0].record.code
    c = TABLES.CASABIT.c
    rename = TABLES.CASABIT.update().where(code == c.CARI_KOD)
    old_title = rename.values(CARI_ISIM="Eski Unvan")
    with _edited(years.url("GIDA2025"), [old_title], [rename.values(CARI_ISIM=SCENARIO.accounts[0].record.title)]):
        with adapter(years.url("GIDA2026"), SCENARIO, **_settings(years)) as source:
            accounts = read(source.stream("accounts"))
            products = records(source.stream("products"))
            discounts = records(source.stream("discounts"))
            stock = records(source.stream("stock_levels"))
        # The master is a setting: the older database's card then wins, under the same key.
        older = _settings(years, master_database=years.database("GIDA2025"))
        with adapter(years.url("GIDA2026"), SCENARIO, **older) as src:
            again = {r.code: (key, r) for key, r, _ in read(src.stream("accounts"))}
    assert Counter(r.code for _, r, _ in accounts) == Counter(s.record.code for s in SCENARIO.accounts)
    assert len(products) == len(SCENARIO.products) and len(discounts) == len(SCENARIO.discounts)
    assert len(stock) == len(SCENARIO.stock_levels)  # balances: the master database's only
    by_code = {r.code: (key, r) for key, r, _ in accounts}
    assert by_code[code][0] == f"GIDA:{code}"
    assert by_code[code][1].title == SCENARIO.accounts[0].record.title  # GIDA2026 is the master
    assert again[code][0] == f"GIDA:{code}" and again[code][1].title == "Eski Unvan"


def test_a_card_only_in_an_older_database_still_comes_once(years: Server) -> None:
    c = TABLES.CASABIT.c
    card = {"CARI_KOD": "120.99.0001", "CARI_ISIM": "Yalnız 2025 Bayi", "CARI_TIP": "A", "ULKE_KODU": "TR"}
    remove = TABLES.CASABIT.delete().where(c.CARI_KOD == "120.99.0001")
    other = f"GIDA:{SCENARIO.accounts[1].record.code}"
    with (
        _edited(years.url("GIDA2025"), [TABLES.CASABIT.insert().values(card)], [remove]),
        adapter(years.url("GIDA2026"), SCENARIO, **_settings(years)) as source,
    ):
        stream = source.stream("accounts")
        keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
        fetched = [stream.map(item) for item in stream.fetch(["GIDA:120.99.0001", other])]
        count = stream.count()
    assert keys.count("GIDA:120.99.0001") == 1 and len(keys) == len(set(keys)) == count
    assert {a.code for a in fetched} == {"120.99.0001", SCENARIO.accounts[1].record.code}


def test_the_branch_is_part_of_a_documents_identity(years: Server) -> None:
    """Branch 1 has an invoice with the same number as one of branch 0: two documents, each with its own lines."""
    h, ln = TABLES.FATUIRS.c, TABLES.STHAR.c
    engine = sa.create_engine(years.url("GIDA2026"))
    with engine.connect() as conn:
        header = conn.execute(
            sa.select(TABLES.FATUIRS).where(h.FATIRS_NO.like("SF2026%")).order_by(h.SIRANO.desc()).limit(1)
        ).one()
        line = conn.execute(sa.select(TABLES.STHAR).where(ln.FISNO == header.FATIRS_NO).limit(1)).one()
        top_header = conn.execute(sa.select(sa.func.max(h.SIRANO))).scalar_one()
        top_line = conn.execute(sa.select(sa.func.max(ln.INCKEYNO))).scalar_one()
    engine.dispose()
    copy = {**header._asdict(), "SIRANO": top_header + 1, "SUBE_KODU": 1, "TOPDEPO": 9}
    copy_line = {**line._asdict(), "INCKEYNO": top_line + 1, "SUBE_KODU": 1, "DEPO_KODU": 9, "STHAR_GCMIK": 1.0}
    db = years.database("GIDA2026")
    add = [TABLES.FATUIRS.insert().values(copy), TABLES.STHAR.insert().values(copy_line)]
    remove = [TABLES.STHAR.delete().where(ln.SUBE_KODU == 1), TABLES.FATUIRS.delete().where(h.SUBE_KODU == 1)]
    with (
        _edited(years.url("GIDA2026"), add, remove),
        adapter(years.url("GIDA2026"), SCENARIO, **_settings(years)) as source,
    ):
        stream = source.stream("invoices")
        same = {k: r for k, r, _ in read(stream) if r.number == header.FATIRS_NO}
        fetched = list(stream.fetch(list(same)))
    number, account = header.FATIRS_NO, header.CARI_KODU
    assert set(same) == {f"{db}:0:1:{number}:{account}", f"{db}:1:1:{number}:{account}"}
    branch1 = same[f"{db}:1:1:{number}:{account}"]
    assert [x.warehouse_code for x in branch1.lines] == ["9"] and branch1.warehouse_code == "9"
    assert all(x.warehouse_code != "9" for x in same[f"{db}:0:1:{number}:{account}"].lines)
    assert len(fetched) == 2


def test_the_ledger_comes_from_every_year(years: Server) -> None:
    """Each year's TBLCAHAR holds that year's movements (the notes included), keyed by its database; together
    they are the scenario's ledger, and they add up to the balances of the master's account cards."""
    old, new = years.database("GIDA2025"), years.database("GIDA2026")
    with adapter(years.url("GIDA2026"), SCENARIO, **_settings(years)) as source:
        rows = read(source.stream("account_ledger"))
        limits = records(source.stream("risk_limits"))
    facts = expect.ledger_entries(
        [s.record for s in SCENARIO.invoices() if not s.record.cancelled],
        [s.record for s in SCENARIO.collections() if not s.record.cancelled],
        [s.record for s in SCENARIO.notes()],
    )
    assert sorted((e.document_no or "", e.kind) for _, e, _ in rows) == sorted(
        (f.document_no or "", f.kind) for f in facts
    )
    assert len({key for key, _, _ in rows}) == len(rows)
    for key, entry, _ in rows:
        assert key.startswith(f"{new}:" if entry.date.year == 2026 else f"{old}:"), key
    assert {e.kind for _, e, _ in rows if e.date.year < 2026} >= {"opening", "debit_note", "credit_note"}
    balance: Counter[str] = Counter()
    for _, e, _ in rows:
        balance[e.account_code] += e.debit_local - e.credit_local  # type: ignore[assignment]
    assert limits and all(balance[r.account_code] == r.open_balance for r in limits)
