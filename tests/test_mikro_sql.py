"""The Mikro adapter's SQL: valid on SQL Server (TOP/OFFSET, no LIMIT, bounded IN lists, bound
parameters); settings validation; check() in plain words; Mikro's conventions (no NULLs, VAT
pointers, cash-closed invoices, returns as credits) and bad rows as RecordErrors."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import mssql

from connectors.base import Partition
from connectors.mikro import MikroSettings
from connectors.mikro.streams import VatRates
from connectors.mikro.tables import mikro_tables
from connectors.sql import MAX_IN_LIST
from mapping.errors import RecordError
from scenario.generate import build
from tests.dbs import first_record_error
from tests.mikro_dbs import adapter, read, records, write

SCENARIO = build(invoice_lines=2000)
TZ = ZoneInfo(SCENARIO.timezone)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('mikro') / 'mikro.db'}"
    write(url, SCENARIO)
    return url


def _edit(url: str, table: str, values: dict[str, Any], where: Any = None) -> None:
    t = getattr(mikro_tables(sa.MetaData()), table)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        stmt = t.update().values(values)
        conn.execute(stmt if where is None else stmt.where(where(t.c)))
    engine.dispose()


def _statements(url: str, chunk_size: int) -> list[Any]:
    """Every statement the streams execute (read, read since, count, fetch), as SQLAlchemy objects."""
    seen: list[Any] = []
    with adapter(url, SCENARIO, chunk_size=chunk_size) as source:
        sa.event.listen(source.engine, "before_execute", lambda conn, stmt, *a: seen.append(stmt))
        for stream in source.streams():
            keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
            list(stream.read(SCENARIO.as_of - dt.timedelta(days=3)))
            stream.count()
            list(stream.fetch(keys[:5]))
    return [s for s in seen if isinstance(s, sa.sql.ClauseElement)]


def test_statements_compile_for_sql_server(url: str) -> None:
    statements = _statements(url, chunk_size=1500)  # pages over 1000 rows: the lines' IN lists must split
    assert len(statements) > 30
    names: set[str] = set()
    for stmt in statements:
        compiled = stmt.compile(dialect=mssql.dialect())
        sql = str(compiled)
        names |= set(re.findall(r"\b([A-Z][A-Z_]{4,})\b", sql))
        assert "LIMIT" not in sql, sql[:300]
        assert len(compiled.params) <= 2100, sql[:200]
        for values in compiled.params.values():
            if isinstance(values, list | tuple):
                assert len(values) <= MAX_IN_LIST
        assert "2026-11" not in sql  # the since instant is a bound parameter, never spliced in
        str(stmt.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True}))
    paged = [str(s.compile(dialect=mssql.dialect())) for s in statements]
    assert any("TOP " in sql or "FETCH FIRST" in sql or "OFFSET" in sql for sql in paged)
    assert {
        "CARI_HESAPLAR",
        "CARI_HESAP_ADRESLERI",
        "ODEME_PLANLARI",
        "STOKLAR",
        "BARKOD_TANIMLARI",
        "DEPOLAR",
        "STOK_CARI_ISKONTO_TANIMLARI",
        "STOK_SATIS_FIYAT_LISTELERI",
        "CARI_HESAP_HAREKETLERI",
        "STOK_HAREKETLERI",
        "SIPARISLER",
        "ODEME_EMIRLERI",
        "DEALERSYNC_CARI_RISK",
    } <= names


def test_vat_rates_come_from_mikros_function() -> None:
    rates = VatRates(sa.create_engine("sqlite://"), None, "dbo.fn_VergiYuzde", 5)
    sql = str(rates.statement().compile(dialect=mssql.dialect(), compile_kwargs={"render_postcompile": True}))
    assert "dbo.fn_VergiYuzde(0)" in sql and "dbo.fn_VergiYuzde(5)" in sql
    with pytest.raises(Exception, match="vat_function"):
        VatRates(sa.create_engine("sqlite://"), None, "dbo.x; DROP TABLE y", 5).statement()


def test_vat_pointer_is_resolved_per_firm(tmp_path: Path) -> None:
    """The same pointer means what the firm's table says: an older firm's 4 is 18 %, not 20 %."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    write(url, SCENARIO)
    old = {0: 0, 1: 0, 2: 1, 3: 8, 4: 18, 5: 26}
    # Products come in Guid order, which differs per write: pick one the scenario gives 20 % (pointer 4).
    standard = {p.record.code for p in SCENARIO.products if p.record.vat_rate == Decimal("20.00")}
    with adapter(url, SCENARIO, vat_rates=old) as source:
        product = next(r for r in records(source.stream("products")) if r.code in standard)
    assert product.vat_rate == Decimal("18.00")
    with adapter(url, SCENARIO, vat_rates={1: 0}) as source:
        stream = source.stream("products")
        item = next(i for chunk in stream.read(None) for i in chunk if i[0].sto_kod in standard)  # (row, barcodes)
        with pytest.raises(RecordError, match="VAT pointer 4 has no rate"):
            stream.map(item)


def test_no_nulls_empty_values_read_as_absent(tmp_path: Path) -> None:
    """Mikro writes '' and 1899-12-30 for "nothing": optional fields come out None, not '' or a date."""
    url = f"sqlite:///{tmp_path / 'blank.db'}"
    write(url, SCENARIO)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        t = mikro_tables(sa.MetaData())
        nulls = conn.execute(sa.select(sa.func.count()).where(t.CARI_HESAPLAR.c.cari_Ana_cari_kodu.is_(None))).scalar()
        blank_dates = conn.execute(
            sa.select(sa.func.count()).where(t.STOK_HAREKETLERI.c.sth_tarih == dt.datetime(1899, 12, 30))
        ).scalar()
    engine.dispose()
    assert nulls == 0
    _edit(url, "CARI_HESAPLAR", {"cari_create_date": dt.datetime(1899, 12, 30), "cari_EMail": "", "cari_grup_kodu": ""})
    with adapter(url, SCENARIO) as source:
        accounts = records(source.stream("accounts"))
    assert all(a.created_at is None and a.email is None and a.group_code is None for a in accounts)
    assert any(a.parent_code for a in accounts) and not any(a.parent_code == "" for a in accounts)
    assert blank_dates == 0


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="number_format"):
        MikroSettings(url="sqlite://", number_format="{serial}{sira}")
    with pytest.raises(ValidationError, match="risk_limit_view"):
        MikroSettings(url="sqlite://", risk_limit_view="X; DROP TABLE Y")
    for bad, words in [
        ({"98": "collection:wire"}, "must name a method"),
        ({"*:1": "collection:cash"}, "evrak_tip must be a number"),
        ({"1:x": "collection:cash"}, "not a code number"),
        ({"1:0:1:0:9": "collection:cash"}, "evrak_tip\\[:cinsi"),
        ({"31": "refund"}, "must be invoice"),
        ({"1:0:*:*": "ignore"}, "name the same codes"),  # the same pattern as the default "1:0"
    ]:
        with pytest.raises(ValidationError, match=words):
            MikroSettings(url="sqlite://", movement_codes=bad)
    settings = MikroSettings(url="sqlite://", number_format="{seri}-{sira}", movement_codes={"98": "collection:cash"})
    assert settings.movement_codes == {"98": "collection:cash"}


def test_number_format_setting(url: str) -> None:
    with adapter(url, SCENARIO, number_format="{seri}-{sira}") as source:
        numbers = {i.number for i in records(source.stream("invoices"))}
    first = next(iter(SCENARIO.invoices())).record.number
    assert f"{first[:-6]}-{int(first[-6:])}" in numbers


def test_check_ok(url: str) -> None:
    with adapter(url, SCENARIO) as source:
        results = source.check()
    assert all(r.ok for r in results), results
    assert any(r.name == "stream invoices" and r.detail.endswith("rows") for r in results)
    assert any(r.name == "vat rates" and "4: 20.00%" in r.detail for r in results)


def test_check_wrong_database_and_missing_view(tmp_path: Path, url: str) -> None:
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with adapter(f"sqlite:///{empty}", SCENARIO) as source:
        results = source.check()
    assert [r.ok for r in results] == [True, False]
    assert "no Mikro company" in results[1].detail and "CARI_HESAPLAR, STOKLAR" in results[1].detail
    with adapter(url, SCENARIO, risk_limit_view="NO_SUCH_VIEW") as source:
        bad = [r for r in source.check() if not r.ok]
    assert len(bad) == 1 and bad[0].name == "stream risk_limits: schema"
    assert bad[0].detail.startswith("table NO_SUCH_VIEW not found (Mikro keeps no credit limit column")
    assert "risk_limits: {enabled: false}" in bad[0].detail


def test_check_without_vat_function_says_what_to_set(url: str) -> None:
    with adapter(url, SCENARIO, vat_rates=None) as source:
        bad = [r for r in source.check() if not r.ok]
    assert len(bad) == 1 and bad[0].name == "vat rates" and "set vat_rates" in bad[0].detail


def test_check_bad_login_hides_password() -> None:
    url = "postgresql+psycopg://no_such_user_ds:url-pw@127.0.0.1:5432/test"
    with adapter(url, SCENARIO, password="s3cret-pw", connect_timeout_seconds=3) as source:
        results = source.check()
    assert len(results) == 1 and not results[0].ok
    detail = results[0].detail
    if "cannot reach" in detail:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {detail}")
    assert "login failed" in detail and "s3cret-pw" not in detail and "url-pw" not in detail


def _first_error(url: str, stream_name: str) -> RecordError:
    with adapter(url, SCENARIO) as source:
        return first_record_error(source.stream(stream_name))


def test_bad_rows_raise_record_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    write(url, SCENARIO)
    _edit(url, "CARI_HESAP_HAREKETLERI", {"cha_d_cins": 9}, lambda c: c.cha_evrak_tip == 63)
    error = _first_error(url, "invoices")
    assert error.field == "currency" and "unknown Mikro currency number 9" in error.reason
    # A receipt row whose cha_cinsi no reading knows: a dead letter naming the setting, not a lost row.
    _edit(url, "CARI_HESAP_HAREKETLERI", {"cha_cinsi": 55}, lambda c: c.cha_evrak_tip == 1)
    error = _first_error(url, "collections")
    assert error.field == "movement_codes" and "1:55:1:0" in error.reason


def test_hidden_and_cancelled_rows(tmp_path: Path) -> None:
    """*_iptal on a document is a cancellation (still sent); *_hidden or a cancelled card is a delete."""
    url = f"sqlite:///{tmp_path / 'hidden.db'}"
    write(url, SCENARIO)
    _edit(url, "CARI_HESAP_HAREKETLERI", {"cha_hidden": True}, lambda c: c.cha_evrakno_seri == "TH2025")
    _edit(url, "CARI_HESAPLAR", {"cari_iptal": True}, lambda c: c.cari_kod == "120.01.0002")
    with adapter(url, SCENARIO) as source:
        collections = read(source.stream("collections"))
        accounts = read(source.stream("accounts"))
        invoices = records(source.stream("invoices"))
    hidden = [key for key, record, _ in collections if record is None]
    assert hidden and all(":TH2025:" in k for k in hidden)
    assert [r for _, r, _ in accounts].count(None) == 1
    assert any(i.cancelled for i in invoices)


@pytest.mark.parametrize("name", ["invoices", "collections", "orders"])
def test_partitions_split_documents_without_overlap(url: str, name: str) -> None:
    with adapter(url, SCENARIO, chunk_size=200) as source:
        stream = source.stream(name)
        assert stream.partitionable
        whole = [stream.key(item) for chunk in stream.read(None) for item in chunk]
        parts = [[stream.key(item) for chunk in stream.read(None, Partition(i, 3)) for item in chunk] for i in range(3)]
    assert all(parts) and sorted(k for part in parts for k in part) == sorted(whole)
    assert len(whole) == len(set(whole))
