"""check proves the customer's schema: every column each enabled stream reads, from the same declaration the
streams execute (statements()), against the database's own catalogue, every problem at once, each with the
setting that remaps it or disables the stream; optional columns missing are warnings and the sync runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import SourceContext
from connectors.mikro import MikroAdapter, MikroSettings
from connectors.mikro.streams import SINCE
from connectors.sql_schema import Recorder, needs
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.mikro_dbs import SITE, adapter, records, vat_settings, write

SCENARIO = build(invoice_lines=2000)


def _sqlite(tmp_path: Path, name: str = "mikro") -> str:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    write(url, SCENARIO)
    return url


def _alter(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _schema(url: str, **settings: object) -> dict[str, list[tuple[bool, bool, str]]]:
    """stream -> its schema lines (ok, warning, detail)."""
    with adapter(url, SCENARIO, **settings) as source:
        results = source.check()
    out: dict[str, list[tuple[bool, bool, str]]] = {}
    for r in results:
        if r.name.endswith(": schema"):
            out.setdefault(r.name.removeprefix("stream ").removesuffix(": schema"), []).append(
                (r.ok, r.warning, r.detail)
            )
    return out


@pytest.fixture(params=DATABASE_KINDS)
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        write(url, SCENARIO)
        yield url


def test_check_proves_every_stream_on_every_backend(any_url: str) -> None:
    with adapter(any_url, SCENARIO) as source:
        # The test context schedules no reconcile, which the stock levels' warning is about (test_mikro_nochange).
        results = [r for r in source.check() if r.name != "stock levels"]
    assert all(r.ok and not r.warning for r in results), [r for r in results if not r.ok or r.warning]
    schema = [r for r in results if r.name.endswith(": schema")]
    assert len(schema) == 11 and all("present" in r.detail for r in schema)


def test_missing_columns_of_several_streams_are_listed_at_once(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    _alter(
        url,
        "ALTER TABLE CARI_HESAPLAR DROP COLUMN cari_unvan1",
        "ALTER TABLE CARI_HESAPLAR DROP COLUMN cari_grup_kodu",
        "ALTER TABLE STOKLAR DROP COLUMN sto_isim",
        "ALTER TABLE CARI_HESAP_HAREKETLERI DROP COLUMN cha_belge_no",
        "ALTER TABLE CARI_HESAP_HAREKETLERI DROP COLUMN cha_aratoplam",
        "ALTER TABLE CARI_HESAP_HAREKETLERI DROP COLUMN cha_vade",
        "ALTER TABLE SIPARISLER DROP COLUMN sip_vergi",
    )
    with adapter(url, SCENARIO) as source:
        results = source.check()
    details = {r.name: r.detail for r in results if not r.ok}
    assert not any("no Mikro company" in d for d in details.values())
    accounts = details["stream accounts: schema"]
    assert "missing columns cari_unvan1, cari_grup_kodu in CARI_HESAPLAR" in accounts
    assert (
        "columns: {CARI_HESAPLAR.cari_unvan1: <its name here>, CARI_HESAPLAR.cari_grup_kodu: <its name here>}"
        in accounts
    )
    assert "streams: {accounts: {enabled: false}}" in accounts
    assert "missing column sto_isim in STOKLAR" in details["stream products: schema"]
    invoices = details["stream invoices: schema"]
    assert "missing columns cha_belge_no, cha_aratoplam in CARI_HESAP_HAREKETLERI" in invoices
    # Each stream names exactly what it reads: the due date is the collections', the document no the invoices'.
    assert "missing column cha_vade in CARI_HESAP_HAREKETLERI;" in details["stream collections: schema"]
    assert "cha_vade" not in invoices
    assert "missing column sip_vergi in SIPARISLER" in details["stream orders: schema"]
    assert "missing columns cha_aratoplam, sip_vergi" not in details["stream risk_limits: schema"]
    assert (
        "cha_aratoplam" in details["stream risk_limits: schema"]
        and "sip_vergi" in details["stream risk_limits: schema"]
    )
    # Streams whose columns are all there are still proved and counted; the failed ones are not counted.
    assert {"stream stock_levels", "stream discounts"} <= {r.name for r in results if r.ok}
    assert "stream accounts" not in {r.name for r in results}


def test_a_type_that_would_change_a_value_fails(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    _alter(
        url,
        "ALTER TABLE CARI_HESAP_HAREKETLERI DROP COLUMN cha_meblag",
        "ALTER TABLE CARI_HESAP_HAREKETLERI ADD COLUMN cha_meblag NVARCHAR(40)",
    )
    lines = _schema(url)
    (ok, _, detail) = lines["collections"][0]
    assert not ok and "CARI_HESAP_HAREKETLERI.cha_meblag is text, read as number: its values would change" in detail


def test_a_missing_optional_column_warns_and_the_sync_leaves_its_field_empty(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    _alter(url, "ALTER TABLE CARI_HESAPLAR DROP COLUMN cari_Ana_cari_kodu")
    lines = _schema(url)
    assert [(ok, warning) for ok, warning, _ in lines["accounts"]] == [(True, False), (True, True)]
    assert (
        lines["accounts"][1][2]
        == "CARI_HESAPLAR has no column cari_Ana_cari_kodu: accounts.parent_code will stay empty"
    )
    with adapter(url, SCENARIO) as source:
        accounts = records(source.stream("accounts"))
    assert len(accounts) == len(SCENARIO.accounts) and all(a.parent_code is None for a in accounts)
    assert any(s.record.parent_code for s in SCENARIO.accounts)


def test_the_columns_setting_names_a_column_or_reads_it_as_null(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    _alter(url, "ALTER TABLE CARI_HESAPLAR RENAME COLUMN cari_grup_kodu TO cari_grup")
    assert not _schema(url)["accounts"][0][0]
    renamed = {"CARI_HESAPLAR.cari_grup_kodu": "cari_grup", "CARI_HESAPLAR.cari_EMail": None}
    lines = _schema(url, columns=renamed)
    assert lines["accounts"] == [
        (True, False, "36 columns in 3 tables present"),
        (True, True, "CARI_HESAPLAR.cari_EMail is set to null in the settings: accounts.email will stay empty"),
    ]
    with adapter(url, SCENARIO, columns=renamed) as source:
        accounts = {a.code: a for a in records(source.stream("accounts"))}
    for fact in (s.record for s in SCENARIO.accounts):
        assert (accounts[fact.code].group_code, accounts[fact.code].email) == (fact.group_code, None)


def test_check_verifies_only_the_enabled_streams(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    _alter(url, "DROP TABLE SIPARISLER")
    context = SourceContext("mikro-test", ZoneInfo(SCENARIO.timezone), 1000)
    settings = MikroSettings(url=url, **vat_settings(url), **SITE.settings())
    with MikroAdapter(
        dataclasses.replace(context, disabled=frozenset({"orders", "stock_levels", "risk_limits"})), settings
    ) as source:
        results = source.check()
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    assert not any("orders" in r.name for r in results)


def test_statements_declare_every_column_a_sync_reads(tmp_path: Path) -> None:
    """A full read, an incremental read, the count and a fetch, recorded: every table column they use is one
    check verifies (declared by the stream's statements())."""
    url = _sqlite(tmp_path)
    with adapter(url, SCENARIO, chunk_size=300) as source:
        recorder = Recorder()
        recorder.attach(source.engine)
        declared: dict[str, set[tuple[str, str]]] = {}
        for stream in source.streams():
            declared[stream.name] = {(n.container, n.name) for n in needs(stream.statements()) if n.name}
            with recorder.running(stream.name):
                keys: list[str] = []
                for chunk in stream.read(None):
                    for item in chunk:
                        keys.append(stream.key(item))
                        stream.map(item)
                list(stream.read(SINCE))
                stream.count()
                list(stream.fetch(keys[:5]))
    for name, columns in declared.items():
        used = recorder.columns(name)
        assert used, name
        assert used <= columns, (name, sorted(used - columns))
