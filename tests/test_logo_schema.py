"""Logo on a customer's database: check proves every column each stream reads, the code census, the
readings settled against Logo's data dictionary, and invariants on the documents it sends.

Databases that differ from the writer's are made by altering a copy with plain DDL, the way real
installs differ: an older release's names, columns a release lacks, a renamed column, a wrong type.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import sqlite3
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.logo import LogoAdapter, LogoSettings
from connectors.sql_schema import Recorder, logical_name, needs
from dealersync.cli import _census_checks
from engine.state import StateStore
from engine.sync import Engine
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.dbs import adapter, records, write

SCENARIO = build(invoice_lines=1500)
VENDOR = Path(__file__).resolve().parent.parent / "connectors" / "logo" / "vendor" / "ldds_columns.tsv"
# Tables the LDDS copy does not describe (connectors/logo/vendor/README.md says why each is read).
NOT_IN_LDDS = {"UNITBARCODE", "CAPIWHOUSE", "CAPIPERIOD", "DISCOUNT_VIEW"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logo") / "logo.db"
    write(f"sqlite:///{path}", SCENARIO)
    return path


def altered(template: Path, tmp_path: Path, *ddl: str) -> str:
    """A copy of the writer's database with `ddl` applied: what another install looks like."""
    path = tmp_path / "customer.db"
    shutil.copy(template, path)
    with sqlite3.connect(path) as conn:
        for statement in ddl:
            conn.execute(statement)
    return f"sqlite:///{path}"


def _failed(results: list[Any]) -> dict[str, str]:
    return {r.name: r.detail for r in results if not r.ok}


def _warnings(results: list[Any]) -> list[str]:
    return [r.detail for r in results if r.warning]


# -- one declaration: what check verifies is what the streams read --------------------------------------------


def test_every_column_a_sync_reads_is_declared_by_the_streams_statements(template: Path) -> None:
    recorder = Recorder()
    since = SCENARIO.as_of - dt.timedelta(days=5)
    with adapter(f"sqlite:///{template}", SCENARIO, chunk_size=400) as source:
        recorder.attach(source.engine)
        for stream in source.streams():
            with recorder.running(stream.name):
                keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
                assert keys, stream.name
                list(stream.read(since))
                stream.count()
                stream.fetch(keys[:5])
            declared = {(n.container, n.name) for n in needs(stream.statements()) if n.name}
            used = recorder.columns(stream.name)
            assert used, stream.name
            assert used <= declared, f"{stream.name} reads undeclared columns {sorted(used - declared)}"


def test_every_name_read_is_in_logo_s_data_dictionary() -> None:
    ldds: dict[str, set[str]] = defaultdict(set)
    with VENDOR.open(encoding="utf-8") as file:
        for row in csv.DictReader(file, delimiter="\t"):
            ldds[row["table"]].add(row["column"])
    with adapter("sqlite://", SCENARIO) as source:
        tables = {t.name: t for t in source.declared_tables()}
        for stream in source.streams():
            for need in needs(stream.statements()):
                logical = logical_name(tables[need.container])
                if not need.name or logical in NOT_IN_LDDS:
                    continue
                known = ldds[logical]
                column = tables[need.container].c
                info = next(c.info for c in column if c.name == need.name)
                if need.optional is not None:
                    assert need.name in known or info.get("source"), f"{logical}.{need.name}: optional, but whence?"
                else:
                    assert {need.name, *need.alternates} & known, f"{stream.name} requires {logical}.{need.name}"


# -- check: every problem at once, with the setting that mends it -----------------------------------------------


def test_check_lists_every_missing_column_of_every_stream_at_once(template: Path, tmp_path: Path) -> None:
    url = altered(
        template,
        tmp_path,
        'ALTER TABLE "LG_001_01_INVOICE" DROP COLUMN "TRNET"',
        'ALTER TABLE "LG_001_01_INVOICE" DROP COLUMN "TOTALVAT"',
        'ALTER TABLE "LG_001_01_STLINE" DROP COLUMN "VATAMNT"',
        'ALTER TABLE "LG_001_01_CLFLINE" DROP COLUMN "TRANNO"',
        'ALTER TABLE "LG_001_CLCARD" DROP COLUMN "TAXOFFICE"',
    )
    with adapter(url, SCENARIO) as source:
        results = source.check()
    failed = _failed(results)
    assert set(failed) == {
        "stream invoices: schema",
        "stream collections: schema",
        "stream account_ledger: schema",
        "stream accounts: schema",
    }
    invoices = failed["stream invoices: schema"]
    assert "missing columns TOTALVAT, TRNET in LG_001_01_INVOICE" in invoices
    assert "missing column VATAMNT in LG_001_01_STLINE" in invoices
    assert "columns: {INVOICE.TOTALVAT: <its name here>, INVOICE.TRNET: <its name here>}" in invoices
    assert "streams: {invoices: {enabled: false}}" in invoices
    assert "missing column TRANNO in LG_001_01_CLFLINE" in failed["stream collections: schema"]
    assert "missing column TRANNO in LG_001_01_CLFLINE" in failed["stream account_ledger: schema"]
    assert "missing column TAXOFFICE in LG_001_CLCARD" in failed["stream accounts: schema"]
    counted = {r.name for r in results if r.ok and r.detail.endswith("rows")}
    assert "stream orders" in counted and "stream invoices" not in counted  # a broken stream is not counted


def test_a_disabled_stream_is_not_checked(template: Path, tmp_path: Path) -> None:
    url = altered(template, tmp_path, 'ALTER TABLE "LG_001_01_CLFLINE" DROP COLUMN "TRANNO"')
    disabled = frozenset({"collections", "account_ledger"})  # both read CLFLINE.TRANNO
    context = SourceContext("logo", ZoneInfo(SCENARIO.timezone), disabled=disabled)
    settings = LogoSettings(url=url, firm=1, periods=[1], discount_view="DEALERSYNC_DISCOUNTS")
    with LogoAdapter(context, settings) as source:
        results = source.check()
    assert all(r.ok for r in results) and not any(name in r.name for r in results for name in disabled)


def test_an_older_release_is_read_through_its_own_names_and_without_newer_columns(
    template: Path, tmp_path: Path
) -> None:
    dropped = {"CLCARD": ("TCKNO", "ISPERSCOMP", "ACCEPTEINV", "PARENTCLREF", "SPECODE2"), "01_INVOICE": ("GUID",)}
    ddl = [f'ALTER TABLE "LG_001_{t}" DROP COLUMN "{c}"' for t, columns in dropped.items() for c in columns]
    ddl += [
        'ALTER TABLE "LG_001_01_CLRNUMS" RENAME COLUMN "ACCRISKLIMIT" TO "RISKLIMIT"',
        *(
            f'ALTER TABLE "LG_001_01_CLRNUMS" DROP COLUMN "{c}"'
            for c in ("ORDRISKLIMIT", "DESPRISKLIMIT", "CSTCSRISKLIMIT", "CSTCSRISKTOTAL", "COLLATERAL")
        ),
    ]
    url = altered(template, tmp_path, *ddl)
    with adapter(url, SCENARIO) as source:
        results = source.check()
        assert _failed(results) == {}
        warnings = " | ".join(_warnings(results))
        for field in ("accounts.parent_code", "accounts.tax_id of individuals", "invoices.e_invoice_uuid"):
            assert field in warnings
        risk = next(r.detail for r in results if r.name == "stream risk_limits: schema" and not r.warning)
        assert "LG_001_01_CLRNUMS.RISKLIMIT for ACCRISKLIMIT" in risk
        limits = {r.account_code: r for r in records(source.stream("risk_limits"))}
        accounts = records(source.stream("accounts"))
        invoices = records(source.stream("invoices"))
    expected = {r.account_code: r.limit for r in SCENARIO.risk_limits}
    assert {code: r.limit for code, r in limits.items()} == expected  # read from RISKLIMIT
    assert all(r.collateral is None and r.order_limit is None for r in limits.values())
    assert all(a.parent_code is None for a in accounts) and all(i.e_invoice_uuid is None for i in invoices)


def test_the_columns_setting_names_a_column_another_install_calls_otherwise(template: Path, tmp_path: Path) -> None:
    url = altered(template, tmp_path, 'ALTER TABLE "LG_001_CLCARD" RENAME COLUMN "DEFINITION_" TO "UNVAN"')
    with adapter(url, SCENARIO) as source:
        assert "missing column DEFINITION_ in LG_001_CLCARD" in _failed(source.check())["stream accounts: schema"]
    with adapter(url, SCENARIO, columns={"CLCARD.DEFINITION_": "UNVAN"}) as source:
        assert _failed(source.check()) == {}
        titles = {a.code: a.title for a in records(source.stream("accounts"))}
    assert titles == {s.record.code: s.record.title for s in SCENARIO.accounts}


def test_a_column_whose_type_would_change_the_values_fails_check(template: Path, tmp_path: Path) -> None:
    url = altered(
        template,
        tmp_path,
        'ALTER TABLE "LG_001_01_INVOICE" RENAME COLUMN "NETTOTAL" TO "NETTOTAL_OLD"',
        'ALTER TABLE "LG_001_01_INVOICE" ADD COLUMN "NETTOTAL" VARCHAR(20)',
    )
    with adapter(url, SCENARIO) as source:
        detail = _failed(source.check())["stream invoices: schema"]
    assert "LG_001_01_INVOICE.NETTOTAL is text, read as number: its values would change" in detail


# -- the census ---------------------------------------------------------------------------------------------------


def test_the_census_of_the_writer_s_database_knows_every_value(template: Path) -> None:
    with adapter(f"sqlite:///{template}", SCENARIO) as source:
        counts = source.census()
        assert _census_checks(source)[0].detail.startswith("every code value since")
    assert counts and all(c.reading is not None for c in counts)
    by_name = {(c.column.name, c.shown): c for c in counts}
    sales = [s.record for s in SCENARIO.invoices() if s.record.kind == "sale"]
    assert by_name[("INVOICE.TRCODE", "8")].rows == len(sales)
    assert by_name[("INVOICE.TRCODE", "8")].money == sum(i.totals_local.total for i in sales)
    assert by_name[("ORFICHE.TRCODE", "1")].reading.source.startswith("LDDS")


def test_an_unknown_code_is_counted_warned_about_and_mapped_by_a_setting(template: Path, tmp_path: Path) -> None:
    url = altered(
        template,
        tmp_path,
        'UPDATE "LG_001_01_INVOICE" SET "TRCODE" = 15 WHERE "LOGICALREF" = (SELECT MAX("LOGICALREF") FROM '
        '"LG_001_01_INVOICE" WHERE "TRCODE" = 8)',
    )
    with adapter(url, SCENARIO) as source:
        unknown = [c for c in source.census() if c.reading is None]
        warnings = _census_checks(source)
        numbers = {i.number for i in records(source.stream("invoices"))}
    assert [(c.column.name, c.shown, c.rows) for c in unknown] == [("INVOICE.TRCODE", "15", 1)]
    assert unknown[0].money is not None and unknown[0].money > 0
    assert len(warnings) == 1 and warnings[0].warning
    assert "INVOICE.TRCODE" in warnings[0].detail and "invoice_kinds" in warnings[0].detail
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        (number,) = conn.execute('SELECT "FICHENO" FROM "LG_001_01_INVOICE" WHERE "TRCODE" = 15').fetchone()
    assert number not in numbers
    kinds = {**LogoSettings(url=url, firm=1, periods=[1]).invoice_kinds, 15: "sale"}
    with adapter(url, SCENARIO, invoice_kinds=kinds) as source:
        assert all(c.reading is not None for c in source.census())
        found = {i.number: i for i in records(source.stream("invoices"))}
    assert found[number].kind == "sale"
    assert next(c for c in source.census() if c.shown == "15").reading.source == "your settings"


def test_blocked_means_warns_when_most_accounts_in_use_would_read_blocked(template: Path) -> None:
    url = f"sqlite:///{template}"
    with adapter(url, SCENARIO) as source:
        assert not _warnings(source.check())  # LDDS's reading: 0 = blocked, and few dealers are
    with adapter(url, SCENARIO, blocked_means=1) as source:
        (warning,) = _warnings(source.check())
    assert "would read as blocked with blocked_means: 1" in warning and "set blocked_means: 0" in warning


# -- what the feed carries --------------------------------------------------------------------------------------


def _sync(url: str, tmp_path: Path, streams: list[str]) -> dict[str, Any]:
    tmp_path.mkdir()
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    sink = FileSink(FileSinkSettings(kind="file", path=tmp_path / "feed", fsync=False))
    try:
        with adapter(url, SCENARIO) as source:
            return {r.stream: r for r in Engine(state, sink).sync(source, streams)}
    finally:
        state.close()


def test_documents_are_flagged_only_where_logo_s_own_figures_break_an_invariant(template: Path, tmp_path: Path) -> None:
    results = _sync(f"sqlite:///{template}", tmp_path / "clean", ["orders", "invoices"])
    assert {name: (r.status, r.flagged) for name, r in results.items()} == {
        "orders": ("ok", 0),
        "invoices": ("ok", 0),
    }
    url = altered(
        template,
        tmp_path,
        'UPDATE "LG_001_01_INVOICE" SET "TOTALVAT" = "TOTALVAT" + 0.01 WHERE "LOGICALREF" = (SELECT MIN("LOGICALREF")'
        ' FROM "LG_001_01_INVOICE" WHERE "TRCODE" = 8 AND "TRCURR" = 0)',
    )
    results = _sync(url, tmp_path / "broken", ["invoices"])
    assert results["invoices"].flagged == 1 and results["invoices"].dead_lettered == 0
    with adapter(url, SCENARIO) as source:
        stream = source.stream("invoices")
        item = next(i for c in stream.read(None) for i in c)
        record = stream.map(item)
    assert record.totals.vat == sum(line.vat for line in record.lines) + Decimal("0.01")  # sent as Logo holds it


def test_a_bad_tax_number_flags_the_account_instead_of_losing_it(template: Path, tmp_path: Path) -> None:
    url = altered(
        template,
        tmp_path,
        """UPDATE "LG_001_CLCARD" SET "TAXNR" = '9876543210', "ISPERSCOMP" = 0 WHERE "LOGICALREF" = """
        """(SELECT MIN("LOGICALREF") FROM "LG_001_CLCARD" WHERE "CARDTYPE" = 1 AND "CODE" <> 'ÿ')""",
    )
    with adapter(url, SCENARIO) as source:
        accounts = records(source.stream("accounts"))
    flagged = [a for a in accounts if a.tax_id_valid is False]
    assert [(a.tax_id, a.tax_id_kind) for a in flagged] == [("9876543210", "VKN")]
    assert all(a.tax_id_valid for a in accounts if a.tax_id and a is not flagged[0])


def test_a_columns_key_that_names_nothing_the_adapter_reads_fails_check(template: Path) -> None:
    with adapter(f"sqlite:///{template}", SCENARIO, columns={"CLCARD.DEFINITON_": "UNVAN"}) as source:
        (result,) = source.check()
    assert not result.ok and result.name == "settings"
    assert result.detail.startswith("columns: CLCARD.DEFINITON_ name no column the adapter reads")


def test_the_census_names_every_ledger_code_and_an_unnamed_one_is_mapped_by_ledger_kinds(
    template: Path, tmp_path: Path
) -> None:
    notes = [s.record for s in SCENARIO.notes()]
    with adapter(f"sqlite:///{template}", SCENARIO) as source:
        by_name = {(c.column.name, c.shown): c for c in source.census() if c.column.stream == "account_ledger"}
    debit_notes = by_name[("CLFLINE.MODULENR x TRCODE", "5 x 3")]
    assert debit_notes.rows == sum(1 for n in notes if n.kind == "debit_note")
    assert debit_notes.reading.action == "ledger entry, kind debit_note" and "UNCONFIRMED" in debit_notes.reading.source
    assert by_name[("CLFLINE.MODULENR x TRCODE", "4 x 38")].reading.action.startswith("ledger entry, kind invoice")
    url = altered(
        template,
        tmp_path,
        'UPDATE "LG_001_01_CLFLINE" SET "TRCODE" = 99 WHERE "LOGICALREF" = (SELECT MIN("LOGICALREF") FROM '
        '"LG_001_01_CLFLINE" WHERE "MODULENR" = 5 AND "TRCODE" = 4)',
    )
    with adapter(url, SCENARIO) as source:
        unknown = [(c.column.name, c.shown, c.rows) for c in source.census() if c.reading is None]
        other = [e for e in records(source.stream("account_ledger")) if e.erp_kind == "5:99"]
    # Unknown to both readers of CLFLINE: the ledger (kind other) and collections (a credit may be money received).
    assert sorted(unknown) == [
        ("CLFLINE.MODULENR x TRCODE", "5 x 99", 1),
        ("CLFLINE.MODULENR x TRCODE x SIGN", "5 x 99 x 1", 1),
    ]
    assert [e.kind for e in other] == ["other"]
    kinds = {**LogoSettings(url=url, firm=1, periods=[1]).ledger_kinds, "5:99": "credit_note"}
    with adapter(url, SCENARIO, ledger_kinds=kinds) as source:
        assert all(c.reading is not None for c in source.census() if c.column.stream == "account_ledger")
        mapped = [e for e in records(source.stream("account_ledger")) if e.erp_kind == "5:99"]
    assert [e.kind for e in mapped] == ["credit_note"] and mapped[0].credit > 0
