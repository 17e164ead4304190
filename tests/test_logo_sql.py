"""The Logo adapter's SQL: valid on SQL Server, parameterised, bounded IN lists; settings validation;
check() in plain words; bad rows become RecordErrors with a reason."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import mssql

from connectors.base import ConnectorError
from connectors.logo import LogoSettings
from connectors.logo.streams import changed_since
from connectors.logo.tables import logo_tables
from connectors.sql import MAX_IN_LIST, describe_db_error, in_chunks
from mapping.errors import RecordError
from scenario.generate import build
from tests.dbs import adapter, first_record_error, write

SCENARIO = build(invoice_lines=2000)
SCENARIO_TZ = ZoneInfo(SCENARIO.timezone)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('logo') / 'logo.db'}"
    write(url, SCENARIO)
    return url


def _statements(url: str, chunk_size: int) -> list[Any]:
    """Every statement the streams execute (read, read since, count, fetch), as SQLAlchemy objects."""
    seen: list[Any] = []
    with adapter(url, SCENARIO, chunk_size=chunk_size) as source:
        sa.event.listen(source.engine, "before_execute", lambda conn, stmt, *a: seen.append(stmt))
        for stream in source.streams():
            keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
            list(stream.read(SCENARIO.as_of - dt.timedelta(days=3)))
            stream.count()
            stream.fetch(keys[:5])
    return [s for s in seen if isinstance(s, sa.sql.ClauseElement)]


def test_statements_compile_for_sql_server(url: str) -> None:
    statements = _statements(url, chunk_size=1500)  # pages over 1000 rows: the lines' IN lists must split
    assert len(statements) > 30
    names: set[str] = set()
    for stmt in statements:
        compiled = stmt.compile(dialect=mssql.dialect())
        sql = str(compiled)
        names |= set(re.findall(r"\b(LG_\w+|L_\w+|DEALERSYNC_\w+)\b", sql))
        assert len(compiled.params) <= 2100, sql[:200]
        for values in compiled.params.values():
            if isinstance(values, list | tuple):
                assert len(values) <= MAX_IN_LIST
        assert "2026-11" not in sql  # the since day is a bound parameter, never spliced in
    assert {
        "LG_001_CLCARD",
        "LG_001_ITEMS",
        "LG_001_01_INVOICE",
        "LG_001_01_STLINE",
        "LG_001_01_CLFLINE",
        "LG_001_01_ORFICHE",
        "LG_001_01_ORFLINE",
        "LG_001_01_GNTOTST",
        "LG_001_01_CLRNUMS",
        "LG_001_01_GNTOTCL",
        "LG_001_01_PAYTRANS",
        "LG_001_PRCLIST",
        "DEALERSYNC_DISCOUNTS",
        "LG_SLSMAN",
        "L_CAPIWHOUSE",
    } <= names


def test_since_filter_is_bound() -> None:
    t = logo_tables(sa.MetaData(), 1, 1)
    clause = changed_since(t.INVOICE, dt.datetime(2026, 11, 20, 16, 50, tzinfo=dt.UTC), SCENARIO_TZ)
    compiled = clause.compile(dialect=mssql.dialect())
    assert ":CAPIBLOCK_MODIFIEDDATE_1" in str(compiled) and "2026" not in str(compiled)
    assert set(compiled.params.values()) == {dt.datetime(2026, 11, 20)}


@pytest.mark.parametrize("firm", [0, 1000, -1, "1; DROP TABLE x", "001", 1.0, None, True])
def test_firm_is_validated(firm: object) -> None:
    with pytest.raises(ConnectorError, match="firm"):
        logo_tables(sa.MetaData(), firm, 1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="firm"):
        LogoSettings(url="sqlite://", firm=firm, periods=[1])  # type: ignore[arg-type]


@pytest.mark.parametrize("period", [0, 100, "1; DROP", 1.5])
def test_period_is_validated(period: object) -> None:
    with pytest.raises(ConnectorError, match="periods"):
        logo_tables(sa.MetaData(), 1, period)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="periods"):
        LogoSettings(url="sqlite://", firm=1, periods=[period])  # type: ignore[list-item]


def test_collection_codes_setting_is_validated() -> None:
    with pytest.raises(ValidationError, match="MODULENR:TRCODE"):
        LogoSettings(url="sqlite://", firm=1, periods=[1], collection_codes={"7-20": "bank_transfer"})
    settings = LogoSettings(url="sqlite://", firm=1, periods=[1], collection_codes={"7:22": "bank_transfer"})
    assert settings.collection_codes == {"7:22": "bank_transfer"}


def test_check_ok(url: str) -> None:
    with adapter(url, SCENARIO) as source:
        results = source.check()
    assert all(r.ok for r in results), results
    assert any(r.name == "stream invoices" and r.detail.endswith("rows") for r in results)


def test_check_missing_firm_and_period(url: str) -> None:
    with adapter(url, SCENARIO, firm=2) as source:
        results = source.check()
    assert [r.ok for r in results] == [True, False]
    assert results[1].detail == "firm 002 not found: no table LG_002_CLCARD, LG_002_ITEMS"
    with adapter(url, SCENARIO, periods=[1, 2]) as source:
        bad = [r for r in source.check() if not r.ok]
    assert len(bad) == 1 and bad[0].detail.startswith("period 02 of firm 001 not found: no table LG_001_02_INVOICE")


def test_check_missing_sqlite_file(tmp_path: Path) -> None:
    with adapter(f"sqlite:///{tmp_path / 'nope.db'}", SCENARIO) as source:
        results = source.check()
    assert len(results) == 1 and not results[0].ok
    assert "cannot open the SQLite database file" in results[0].detail
    assert not (tmp_path / "nope.db").exists()  # read-only: never creates the file


def test_check_bad_login_hides_password() -> None:
    url = "postgresql+psycopg://no_such_user_ds:url-pw@127.0.0.1:5432/test"  # a password in the URL is masked too
    with adapter(url, SCENARIO, password="s3cret-pw", connect_timeout_seconds=3) as source:
        results = source.check()
    assert len(results) == 1 and not results[0].ok
    detail = results[0].detail
    if "cannot reach" in detail:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {detail}")
    assert "login failed" in detail and "s3cret-pw" not in detail and "url-pw" not in detail
    assert "no_such_user_ds:***@127.0.0.1" in detail


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    settings = LogoSettings(url="sqlite://", firm=1, periods=[1], password_file=secret)
    assert settings.secret() == "from-file"
    assert "from-file" not in repr(settings)


def test_describe_db_error_scrubs_secrets() -> None:
    exc = sa.exc.OperationalError("x", {}, Exception("Login failed for user 'sa' with password hunter2"))
    text = describe_db_error(exc, ["hunter2"])
    assert text.startswith("login failed") and "hunter2" not in text


def test_in_chunks() -> None:
    assert [len(c) for c in in_chunks(range(2500))] == [1000, 1000, 500]
    assert list(in_chunks([])) == []


def _edit(url: str, table: str, column: str, value: Any) -> None:
    t = logo_tables(sa.MetaData(), 1, 1)
    target = getattr(t, table)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        first = conn.execute(
            sa.select(sa.func.min(target.c.LOGICALREF)).where(target.c.CODE != "ÿ" if table == "CLCARD" else sa.true())
        ).scalar_one()
        conn.execute(target.update().where(first == target.c.LOGICALREF).values({column: value}))
    engine.dispose()


def _first_error(url: str, stream_name: str) -> RecordError:
    with adapter(url, SCENARIO) as source:
        return first_record_error(source.stream(stream_name))


def test_bad_rows_raise_record_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    write(url, SCENARIO)
    _edit(url, "CLCARD", "CARDTYPE", 9)
    error = _first_error(url, "accounts")
    assert error.field == "kind" and "CARDTYPE 9" in error.reason and "account_kinds" in error.reason
    _edit(url, "INVOICE", "TRCURR", 99)
    error = _first_error(url, "invoices")
    assert error.field == "currency" and "unknown Logo currency code 99" in error.reason


def test_password_and_password_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x")
    with pytest.raises(ValueError, match="password or password_file, not both"):
        LogoSettings(url="sqlite:///x.db", firm=1, periods=[1], password="a", password_file=secret)


def test_a_missing_odbc_driver_manager_is_explained() -> None:
    try:
        import pyodbc  # noqa: F401
    except ImportError as exc:
        if "libodbc" not in str(exc):
            pytest.skip(f"pyodbc fails differently here: {exc}")
    else:
        pytest.skip("unixODBC is installed here, so there is nothing to explain")
    from connectors.sql import make_engine

    with pytest.raises(ConnectorError, match="install unixODBC") as caught:
        make_engine("mssql+pyodbc://reader@sqlhost/LOGODB?driver=ODBC+Driver+18+for+SQL+Server", password="Gizli-1")
    assert "Gizli-1" not in str(caught.value)
