"""The Netsis adapter's SQL: valid on SQL Server, parameterised, bounded IN lists; settings validation;
check() in plain words; bad rows become RecordErrors with a reason; the Turkish repair and the rate column
are the settings they claim to be."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import mssql

from connectors.base import ConnectorError
from connectors.netsis import NetsisSettings
from connectors.netsis.scopes import database_url
from connectors.netsis.tables import netsis_tables, rates_tables
from connectors.netsis.writer import damage
from connectors.sql import MAX_IN_LIST
from mapping.errors import RecordError
from scenario.generate import build
from tests.dbs import first_record_error
from tests.netsis_dbs import adapter, read, records, server, write

SCENARIO = build(invoice_lines=2000)
BIG = build(invoice_lines=12000)  # over 1000 invoices a year: a 1500-header page must split its lines' IN list


def _sqlite(folder: Path) -> str:
    where = server("sqlite", folder)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    return where.url("GIDA2026")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _sqlite(tmp_path_factory.mktemp("netsis"))


def _statements(url: str, chunk_size: int, **settings: Any) -> list[Any]:
    """Every statement the streams execute (read, read since, count, fetch), as SQLAlchemy objects."""
    seen: list[Any] = []
    with adapter(url, BIG, chunk_size=chunk_size, **settings) as source:
        for engine in source.env().engines():
            sa.event.listen(engine, "before_execute", lambda conn, stmt, *a: seen.append(stmt))
        for stream in source.streams():
            keys: list[str] = []
            for chunk in stream.read(None):
                for item in chunk:
                    keys.append(stream.key(item))
                    stream.map(item)  # looks rates up
            list(stream.read(BIG.as_of - dt.timedelta(days=3)))
            stream.count()
            stream.fetch(keys[:5])
    return [s for s in seen if isinstance(s, sa.sql.ClauseElement)]


def test_statements_compile_for_sql_server(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2025"), BIG, where.url("NETSIS"), years=(2000, 2025))
    write(where.url("GIDA2026"), BIG, where.url("NETSIS"), years=(2026, 2026))
    # Two years: the cards' "already in a newer year?" look-ups are sent too.
    statements = _statements(where.url("GIDA2026"), chunk_size=1500, databases=["GIDA2025", "GIDA2026"])
    assert len(statements) > 40
    names: set[str] = set()
    longest_in = pages = 0
    for stmt in statements:
        compiled = stmt.compile(dialect=mssql.dialect())
        sql = str(compiled)
        names |= set(re.findall(r"\b(TBL\w+|DOVIZ)\b", sql))
        assert len(compiled.params) <= 2100, sql[:200]
        for values in compiled.params.values():
            if isinstance(values, list | tuple):
                longest_in = max(longest_in, len(values))
        assert "LIMIT" not in sql.upper()
        assert "2026-11" not in sql  # the since moment is a bound parameter, never spliced in
        # Every parameter renders as a SQL Server literal (dates, strings, numbers).
        literal = str(stmt.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True}))
        assert "?" not in literal and ":" not in re.sub(r"'[^']*'", "", literal), literal[:300]
        if getattr(stmt, "_limit_clause", None) is not None:  # a keyset page: TOP n, never OFFSET
            pages += 1
            assert re.match(r"SELECT (DISTINCT )?TOP ", sql) and "OFFSET" not in sql, sql[:200]
    assert pages > 20
    assert longest_in == MAX_IN_LIST  # a 1500-row page's lines come in two IN lists, the first of 1000
    assert {
        "TBLCASABIT",
        "TBLEFATCARI",
        "TBLSTSABIT",
        "TBLSTOKPH",
        "TBLSTOKDP",
        "TBLKOSULMAS",
        "TBLSIPAMAS",
        "TBLSIPATRA",
        "TBLFATUIRS",
        "TBLSTHAR",
        "TBLCAHAR",
        "DOVIZ",
    } <= names


def test_the_census_groups_by_plain_columns_on_sql_server(url: str) -> None:
    """SQL Server refuses a subquery in GROUP BY (error 144): the census groups a derived table's columns."""
    seen: list[Any] = []
    with adapter(url, SCENARIO) as source:
        for engine in source.env().engines():
            sa.event.listen(engine, "before_execute", lambda conn, stmt, *a: seen.append(stmt))
        counts = source.census(SCENARIO.as_of.date())
    grouped = [str(s.compile(dialect=mssql.dialect())) for s in seen if getattr(s, "_group_by_clauses", None)]
    assert counts and len(grouped) >= 14
    assert all("SELECT" not in sql.rpartition("GROUP BY")[2] for sql in grouped), grouped
    assert any("EXISTS" in sql.rpartition("GROUP BY")[0] for sql in grouped)


def test_paging_with_top_on_sql_server() -> None:
    t = netsis_tables(sa.MetaData())
    stmt = sa.select(t.FATUIRS.c.SIRANO).where(t.FATUIRS.c.SIRANO > 5).order_by(t.FATUIRS.c.SIRANO).limit(1000)
    sql = str(stmt.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True}))
    assert sql.startswith("SELECT TOP 1000 ") and "LIMIT" not in sql


def test_since_is_bound_in_the_source_wall_time(url: str) -> None:
    with adapter(url, SCENARIO) as source:
        stream = source.stream("invoices")
        since = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)
        clause = stream._filtered(stream.select_rows(), since)  # the statement read(since) sends
    compiled = clause.compile(dialect=mssql.dialect())
    moments = {v for v in compiled.params.values() if isinstance(v, dt.datetime)}
    assert moments == {dt.datetime(2026, 11, 20, 17, 0)}  # Istanbul wall time, as Netsis stamps
    assert "2026" not in str(compiled)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"databases": ["GIDA2026", "GIDA2026"]}, "twice"),
        ({"databases": ["GIDA.dbo"]}, "not a database name"),
        ({"databases": ["x]; DROP TABLE y"]}, "not a database name"),
        ({"databases": ["A2025"], "master_database": "B2026"}, "not one of databases"),
        ({"company": "GI:DA"}, "company"),
        ({"cancelled_column": "IPTAL; --"}, "plain column name"),
        ({"collection_kinds": {"DE": "cash"}}, "single Netsis code letters"),
        ({"order_statuses": {"A": "cancelled"}}, "proposal, open or shippable"),
        ({"currency_codes": {0: "USD"}}, "local currency"),
        ({"credits_left_out": {"G": "x"}}, "both in collection_kinds and in credits_left_out"),
        ({"debits_left_out": {"GG": "x"}}, "single Netsis code letters"),
        ({"rate_column": "KUR"}, "rate_column"),
        ({"price_difference_tipi": 5}, r"price_difference_tipi was replaced by invoice_tipis: write invoice_tipis: "),
    ],
)
def test_settings_are_validated(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NetsisSettings(url="sqlite:///GIDA2026.db", **settings)


def test_an_old_config_with_price_difference_tipi_is_refused(tmp_path: Path) -> None:
    """Before issue 9 one TIPI was the price difference and every other an invoice; now each TIPI is mapped in
    invoice_tipis. An old config is refused (exit 2) saying what to write instead."""
    (tmp_path / "dealersync.yaml").write_text(
        'state: {url: "sqlite:///state.db"}\n'
        "sink: {kind: file, path: ./feed, fsync: false}\n"
        "sources:\n"
        "  - name: gida\n"
        "    kind: netsis\n"
        '    url: "sqlite:///GIDA2026.db"\n'
        "    price_difference_tipi: 5\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "DEALERSYNC_DEBUG"} | {"COLUMNS": "250"}
    command = [str(Path(sys.executable).parent / "dealersync"), "check"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result
    message = " ".join(result.stderr.split())
    assert "write invoice_tipis: {1: invoice, 2: invoice, 5: price_difference}" in message
    assert "every other TIPI your invoices use as invoice" in message


def test_database_urls() -> None:
    assert str(database_url("mssql+pyodbc://reader@erp/GIDA2026?driver=X", "GIDA2025")).startswith(
        "mssql+pyodbc://reader@erp/GIDA2025?"
    )
    assert str(database_url("sqlite:////data/GIDA2026.db", "NETSIS")) == "sqlite:////data/NETSIS.db"
    with pytest.raises(ConnectorError, match="odbc_connect"):
        database_url("mssql+pyodbc:///?odbc_connect=DSN%3Dx", "GIDA2025")


def test_check_ok(url: str) -> None:
    with adapter(url, SCENARIO) as source:
        results = source.check()
    assert all(r.ok for r in results), results
    assert [r.name for r in results[:2]] == ["database GIDA2026", "rates database NETSIS"]
    assert any(r.name == "stream invoices" and r.detail == "406 rows" for r in results)
    # The vendor's item cards carry no stamps, and its documents no cancel flag (cancellations are deletes, and the
    # source schedules no reconcile): the two warnings, each naming what follows from it.
    warnings = [r for r in results if r.warning]
    assert [(r.name, r.detail.split(":")[0]) for r in warnings] == [
        ("stream products: schema", "TBLSTSABIT (database GIDA2026) has no columns KAYITTARIHI, DUZELTMETARIHI"),
        ("cancellations", "cancelled_column is null"),
    ]
    assert "every sync then reads every card" in warnings[0].detail


def test_check_bad_login_hides_password() -> None:
    url = "postgresql+psycopg://no_such_user_ds:url-pw@127.0.0.1:5432/GIDA2026"
    with adapter(url, SCENARIO, password="s3cret-pw", connect_timeout_seconds=3) as source:
        results = source.check()
    detail = results[0].detail
    if "cannot reach" in detail:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {detail}")
    assert not results[0].ok and "login failed" in detail
    assert "s3cret-pw" not in detail and "url-pw" not in detail and "no_such_user_ds:***@127.0.0.1" in detail


def _edit(url: str, statement: Any) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(statement)
    engine.dispose()


def _first_error(url: str, stream_name: str, **settings: Any) -> RecordError:
    with adapter(url, SCENARIO, **settings) as source:
        return first_record_error(source.stream(stream_name))


def test_bad_rows_raise_record_errors(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    t = netsis_tables(sa.MetaData())
    c, h = t.CASABIT.c, t.FATUIRS.c
    _edit(url, t.CASABIT.update().where(c.CARI_KOD == "120.01.0001").values(VERGI_NUMARASI=None, CARI_TIP="X"))
    error = _first_error(url, "accounts")
    assert error.field == "kind" and "account_kinds" in error.reason
    first = sa.select(sa.func.min(h.SIRANO)).scalar_subquery()
    _edit(url, t.FATUIRS.update().where(first == h.SIRANO).values(DOVIZTIP=9))
    error = _first_error(url, "invoices")
    assert error.field == "currency" and "unknown Netsis currency number 9" in error.reason
    _edit(url, t.FATUIRS.update().where(first == h.SIRANO).values(DOVIZTIP=0, TIPI=7))
    error = _first_error(url, "invoices")
    assert error.field == "kind" and "TIPI 7 is not in the invoice_tipis setting" in error.reason


def test_a_bad_tax_id_is_sent_marked_invalid(tmp_path: Path) -> None:
    """A mistyped VKN no longer makes the dealer a dead letter: the account goes out, its id marked invalid."""
    url = _sqlite(tmp_path)
    cards = netsis_tables(sa.MetaData()).CASABIT
    _edit(url, cards.update().where(cards.c.CARI_KOD == "120.01.0001").values(VERGI_NUMARASI="9876543210"))
    with adapter(url, SCENARIO) as source:
        accounts = {a.code: a for a in records(source.stream("accounts"))}
    bad = accounts["120.01.0001"]
    assert (bad.tax_id, bad.tax_id_kind, bad.tax_id_valid) == ("9876543210", "VKN", False)
    assert all(a.tax_id_valid for code, a in accounts.items() if code != "120.01.0001" and a.tax_id)


def test_a_missing_rate_is_a_record_error(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    _edit(where.url("NETSIS"), rates_tables(sa.MetaData()).DOVIZ.delete())
    error = _first_error(where.url("GIDA2026"), "invoices")
    assert error.field == "rate" and "no exchange rate for currency number" in error.reason
    assert "NETSIS.DOVIZ" in error.reason


def test_the_rate_is_the_configured_doviz_column(url: str) -> None:
    with adapter(url, SCENARIO) as source:
        buying = {i.number: i for i in records(source.stream("invoices")) if i.currency != "TRY"}
    with adapter(url, SCENARIO, rate_column="DOV_SATIS") as source:
        selling = {i.number: i for i in records(source.stream("invoices")) if i.currency != "TRY"}
    facts = {s.record.number: s.record for s in SCENARIO.invoices()}
    assert buying and all(buying[n].rate == facts[n].rate for n in buying)
    assert all(selling[n].rate > buying[n].rate for n in buying)  # the writer's selling rate is 0.5 % higher


def test_weekend_days_take_the_last_published_rate(tmp_path: Path) -> None:
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        foreign = next(i for i in records(source.stream("invoices")) if i.currency == "USD")
    doviz = rates_tables(sa.MetaData()).DOVIZ
    day = dt.datetime.combine(foreign.date, dt.time())
    # The invoice's own day has no rate now (a Saturday, say); the day before has one of its own.
    before = day - dt.timedelta(days=1)
    _edit(where.url("NETSIS"), doviz.delete().where(doviz.c.SIRA == 1, doviz.c.TARIH.in_([day, before])))
    _edit(where.url("NETSIS"), doviz.insert().values(SIRA=1, TARIH=before, DOV_ALIS=31.5, DOV_SATIS=32.0))
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        again = next(i for i in records(source.stream("invoices")) if i.number == foreign.number)
    assert str(again.rate) == "31.500000"


def test_turkish_repair_can_be_switched_off(url: str) -> None:
    with adapter(url, SCENARIO, repair_turkish=False) as source:
        damaged = {a.code: a for a in records(source.stream("accounts"))}
        lines = [ln for inv in records(source.stream("invoices")) for ln in inv.lines]
    facts = {s.record.code: s.record for s in SCENARIO.accounts}
    turkish = [code for code, a in facts.items() if set("İŞĞışğ") & set(a.title)]
    assert turkish
    for code in turkish:
        assert damaged[code].title == damage(facts[code].title) != facts[code].title
    # Codes keep the stored bytes too: a unit "KOLİ" stays "KOLÝ", which no unit table knows.
    assert {ln.unit for ln in lines if ln.unit and ln.unit.startswith("KOL")} == {"KOLÝ"}
    assert all(ln.unit_code is None for ln in lines if ln.unit == "KOLÝ")
    # Keys are the stored codes whatever the setting: switching it changes records, not keys.
    with adapter(url, SCENARIO) as repaired, adapter(url, SCENARIO, repair_turkish=False) as raw:
        keys = [[k for k, _, _ in read(source.stream("accounts"))] for source in (repaired, raw)]
    assert keys[0] and keys[0] == keys[1]


def test_password_file_and_password_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x")
    with pytest.raises(ValueError, match="password or password_file, not both"):
        NetsisSettings(url="sqlite:///x.db", password="a", password_file=secret)
