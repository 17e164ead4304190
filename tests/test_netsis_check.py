"""check proves each database's schema: every column each enabled stream reads, in every database it reads it
from, every problem at once, each with the setting that remaps it or disables the stream; optional columns are
warnings and read as NULL; the statements a real sync executes use only columns the streams declare.

The schema tests run on SQLite files and throwaway PostgreSQL/MariaDB databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import Partition, SourceContext
from connectors.netsis import NetsisAdapter, NetsisSettings
from connectors.netsis.census import census_statements, specs
from connectors.netsis.documents import Invoices
from connectors.sql_schema import Recorder, needs
from engine.state import StateStore
from engine.sync import Engine
from scenario import expect
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import STAMPED_SITE, Server, adapter, records, server, write
from tests.netsis_dbs import alter_columns as _alter
from tests.netsis_dbs import missing_columns as _missing

SCENARIO = build(invoice_lines=2000)


@pytest.fixture(params=DATABASE_KINDS)
def years(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    where = server(request.param, tmp_path)
    try:
        write(where.url("GIDA2025"), SCENARIO, where.url("NETSIS"), years=(2000, 2025))
        write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), years=(2026, 2026))
        yield where
    finally:
        where.close()


def _settings(where: Server, **more: Any) -> dict[str, Any]:
    names = [where.database("GIDA2025"), where.database("GIDA2026")]
    return {"databases": names, "rates_database": where.database("NETSIS"), "company": "GIDA", **more}


def _check(
    where: Server, disabled: frozenset[str] = frozenset(), reconciles: bool = False, **settings: Any
) -> dict[str, list[Any]]:
    context = SourceContext("netsis-test", ZoneInfo(SCENARIO.timezone), disabled=disabled, reconciles=reconciles)
    source = NetsisAdapter(context, NetsisSettings(url=where.url("GIDA2026"), **_settings(where, **settings)))
    with source:
        results = source.check()
    out: dict[str, list[Any]] = {}
    for r in results:
        out.setdefault(r.name, []).append(r)
    return out


def test_a_database_missing_columns_lists_them_all_at_once(years: Server) -> None:
    """GIDA2025 has the tables but lacks columns of three streams: each stream's line names every column missing,
    in which table of which database, the setting that names them, and how to disable the stream."""
    old = years.database("GIDA2025")
    _alter(
        years.url("GIDA2025"),
        ("TBLSTHAR", "STHAR_NF", None),
        ("TBLSTHAR", "STHAR_BF", None),
        ("TBLCAHAR", "HAREKET_TURU", None),
        ("TBLCAHAR", "DOVIZ_TUTAR", None),
        ("TBLCAHAR", "ACIKLAMA", None),  # only the account ledger reads the movement's text
        ("TBLSIPAMAS", "ONAYTIPI", None),
    )
    got = _check(years)
    assert all(r.ok for r in got[f"database {old}"]), got[f"database {old}"]
    assert not any("not a Netsis company database" in r.detail for rs in got.values() for r in rs)
    invoices, orders, collections = (got[f"stream {name}: schema"][0] for name in ("invoices", "orders", "collections"))
    assert not invoices.ok and not orders.ok and not collections.ok
    assert _missing(invoices.detail, f"TBLSTHAR (database {old})") == {"STHAR_NF", "STHAR_BF"}
    assert _missing(collections.detail, f"TBLCAHAR (database {old})") == {"HAREKET_TURU", "DOVIZ_TUTAR"}
    assert _missing(orders.detail, f"TBLSIPAMAS (database {old})") == {"ONAYTIPI"}
    assert (
        "columns: {TBLCAHAR.HAREKET_TURU: <its name here>, TBLCAHAR.DOVIZ_TUTAR: <its name here>}" in collections.detail
    )
    assert "disable the stream: streams: {collections: {enabled: false}}" in collections.detail
    ledger = got["stream account_ledger: schema"][0]
    assert not ledger.ok
    assert _missing(ledger.detail, f"TBLCAHAR (database {old})") == {"HAREKET_TURU", "DOVIZ_TUTAR", "ACIKLAMA"}
    assert "disable the stream: streams: {account_ledger: {enabled: false}}" in ledger.detail
    new = years.database("GIDA2026")
    assert all(f"(database {new})" not in r.detail for r in (invoices, orders, collections))
    # The streams whose schema passed are counted; the four that failed are not. stock_movements reads TBLSTHAR too,
    # but not its prices: it passes.
    counted = {name.removeprefix("stream ") for name in got if name.startswith("stream ") and ":" not in name}
    assert counted == {
        "accounts",
        "products",
        "stock_levels",
        "discounts",
        "price_lists",
        "risk_limits",
        "stock_movements",
    }


def test_a_type_that_would_change_a_value_fails(tmp_path: Path) -> None:
    """A site keeping GİB's user list with the tax numbers as integers: a VKN's leading zero would be lost."""
    where = server("sqlite", tmp_path)
    engine = sa.create_engine(where.url("GIDA2026"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE TBLEFATCARI (IDENTIFIER BIGINT PRIMARY KEY, ALIAS VARCHAR(100))"))
    engine.dispose()
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        accounts = next(r for r in source.check() if r.name == "stream accounts: schema")
    assert not accounts.ok
    assert "TBLEFATCARI (database GIDA2026).IDENTIFIER is integer, read as text: its values would change" in (
        accounts.detail
    )


def test_a_missing_optional_column_is_a_warning_and_the_sync_runs(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    _alter(where.url("GIDA2026"), ("TBLCASABIT", "BAGLICARIKOD", None))
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        results = [r for r in source.check() if r.name == "stream accounts: schema"]
        accounts = records(source.stream("accounts"))
    assert [r.ok for r in results] == [True, True] and results[1].warning
    assert results[1].detail == (
        "TBLCASABIT (database GIDA2026) has no column BAGLICARIKOD: accounts.parent_code will stay empty"
    )
    assert any(a.parent_code for a in (s.record for s in SCENARIO.accounts))
    assert len(accounts) == len(SCENARIO.accounts) and all(a.parent_code is None for a in accounts)


def test_check_verifies_only_the_enabled_streams(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    _alter(where.url("GIDA2026"), ("TBLSTHAR", "STHAR_NF", None))
    context = SourceContext("netsis-test", ZoneInfo(SCENARIO.timezone), disabled=frozenset({"invoices"}))
    with NetsisAdapter(context, NetsisSettings(url=where.url("GIDA2026"))) as source:
        results = source.check()
    assert all(r.ok for r in results) and not any("invoices" in r.name for r in results)


def test_the_columns_setting_reads_a_column_named_otherwise(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    _alter(where.url("GIDA2026"), ("TBLSTHAR", "STHAR_NF", "NET_FIYAT"))
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        unnamed = next(r for r in source.check() if r.name == "stream invoices: schema")
    assert not unnamed.ok and "columns: {TBLSTHAR.STHAR_NF: <its name here>}" in unnamed.detail
    with adapter(where.url("GIDA2026"), SCENARIO, columns={"TBLSTHAR.STHAR_NF": "NET_FIYAT"}) as source:
        assert all(r.ok for r in source.check())
        invoices = records(source.stream("invoices"))
    facts = [s.record for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(invoices) == expect.invoice_totals_by_dealer_month(facts)


def test_a_columns_key_that_renames_nothing_fails(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with adapter(where.url("GIDA2026"), SCENARIO, columns={"TBLSTHAR.STHAR_NFF": "NET_FIYAT"}) as source:
        results = source.check()
    assert [(r.name, r.ok) for r in results if not r.ok] == [("settings", False)]
    assert "columns: TBLSTHAR.STHAR_NFF name no column the adapter reads" in results[0].detail


def test_a_cancel_column_the_database_lacks(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        got = {r.name: r for r in source.check() if not r.warning}
    streams = (("invoices", "TBLFATUIRS"), ("orders", "TBLSIPAMAS"), ("collections", "TBLCAHAR"))
    for stream, table in (*streams, ("account_ledger", "TBLCAHAR")):
        line = got[f"stream {stream}: schema"]
        assert not line.ok and _missing(line.detail, f"{table} (database GIDA2026)") == {"IPTAL"}, line
        assert "name them with cancelled_column: <the column marking cancelled documents, or null>" in line.detail


def test_check_says_which_database_is_not_netsis(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    folder = Path(sa.make_url(where.url("GIDA2026")).database or "").parent
    empty = sa.create_engine(f"sqlite:///{folder / 'BOS2026.db'}")
    with empty.begin() as conn:
        conn.execute(sa.text("CREATE TABLE MUHASEBE (KOD VARCHAR(35))"))
    empty.dispose()
    with adapter(where.url("GIDA2026"), SCENARIO, databases=["GIDA2026", "BOS2026", "YOK2026"]) as source:
        results = {r.name: r for r in source.check()}
    assert results["database GIDA2026"].ok
    assert results["database BOS2026"].detail.startswith(
        "BOS2026 is not a Netsis company database: none of the tables TBLCASABIT, TBLSTSABIT"
    )
    missing = results["database YOK2026"]
    assert not missing.ok and "cannot open YOK2026" in missing.detail and "SQLite database file" in missing.detail
    assert not (folder / "YOK2026.db").exists()  # read-only: never creates a database
    assert not any(name.startswith("stream") for name in results)  # no schema or counting on a broken source


def test_the_statements_a_sync_executes_use_only_declared_columns(tmp_path: Path) -> None:
    """A full sync, an incremental one and a reconciling one through the engine, then reads by partition, keys,
    counts, fetches and the census, over two years' databases and the rates database: every column used is one
    the stream (or its census) declares."""
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2025"), SCENARIO, where.url("NETSIS"), years=(2000, 2025))
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), years=(2026, 2026))
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    engine = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "feed", fsync=False)))
    recorder = Recorder()
    with adapter(where.url("GIDA2026"), SCENARIO, databases=["GIDA2025", "GIDA2026"]) as source:
        env = source.env()
        for each in env.engines():
            recorder.attach(each)
        declared_census = census_statements(specs(env, Invoices(env).has_return_lines()))
        for stream in source.streams():
            with recorder.running(stream.name):
                for reconcile in (False, False, True):
                    result = engine.sync(source, [stream.name], reconcile=reconcile)[0]
                    assert result.status == "ok" and result.dead_lettered == 0, result
                keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
                if stream.partitionable:
                    list(stream.read(None, Partition(1, 2)))
                stream.count()
                stream.fetch(keys[:5])
        with recorder.running("census"):
            source.census(None)
            source.census(SCENARIO.as_of.date() - dt.timedelta(days=30))
        for stream in source.streams():
            declared = {(n.container, n.name) for n in needs(stream.statements())}  # type: ignore[attr-defined]
            used = recorder.columns(stream.name)
            assert used and used <= declared, (stream.name, used - declared)
        census_declared = {(n.container, n.name) for group in declared_census.values() for n in needs(group)}
        assert recorder.columns("census") <= census_declared


@pytest.mark.parametrize("backend", DATABASE_KINDS)
def test_an_upgraded_install_with_an_iptal_column_fails_check(tmp_path: Path, backend: str) -> None:
    """cancelled_column defaulted to IPTAL before issue 9 and defaults to null now. An install whose older year
    keeps an IPTAL column, upgraded without naming it, would send its cancelled documents as live (money paid
    twice): check fails naming each table and database, and the setting; named, check passes."""
    where = server(backend, tmp_path)
    try:
        write(where.url("GIDA2025"), SCENARIO, where.url("NETSIS"), years=(2000, 2025), **STAMPED_SITE)
        write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), years=(2026, 2026))
        old = where.database("GIDA2025")
        got = _check(where, reconciles=True)
        [line] = got["cancellations"]
        assert not line.ok and not line.warning
        assert f"TBLFATUIRS, TBLSIPAMAS, TBLCAHAR (database {old}) have a column IPTAL" in line.detail
        assert where.database("GIDA2026") not in line.detail
        assert "Set cancelled_column: IPTAL (or name the column that marks cancellations)" in line.detail
        # Only the streams that read a table count: with invoices, stock movements and the ledger rows disabled,
        # orders still do.
        disabled = frozenset({"invoices", "collections", "account_ledger", "stock_movements"})
        orders_only = _check(where, disabled, reconciles=True)["cancellations"]
        assert [r.ok for r in orders_only] == [False] and f"TBLSIPAMAS (database {old}) has" in orders_only[0].detail
    finally:
        where.close()


def test_an_iptal_column_named_in_the_settings_passes(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), **STAMPED_SITE)
    with adapter(where.url("GIDA2026"), SCENARIO, cancelled_column="IPTAL") as source:
        results = source.check()
    assert all(r.ok for r in results) and not any(r.name == "cancellations" for r in results)


def test_deletes_without_a_reconcile_schedule_warn(years: Server) -> None:
    """The vendor's tables have no cancel flag: cancellations are deletes, which only a reconcile sends."""
    [line] = _check(years)["cancellations"]
    assert line.ok and line.warning
    assert "deleted (cancelled) invoices, orders and collections reach the feed only at a reconcile" in line.detail
    assert "add reconcile: {cron: ...} to the source" in line.detail
    assert "cancellations" not in _check(years, reconciles=True)
    streams = frozenset({"invoices", "orders", "collections", "account_ledger", "stock_movements"})
    assert "cancellations" not in _check(years, streams)
