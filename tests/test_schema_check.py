"""The shared machinery behind `check` and the census: catalogue comparison, SQL reads, EDMX, code counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from connectors.catalog import Catalogue, Need, verify
from connectors.census import CodeColumn, CodeCount, census_warnings, count_codes, excluded, mapped, values
from connectors.edmx import EdmxError, parse
from connectors.sql_schema import alternates, catalogue, kind_of, needs, optional, read_around, renamed


def test_verify_reports_every_problem_of_a_stream_in_one_line() -> None:
    found = Catalogue({"T": {"A": "text", "B": "number"}, "U": {"X": "text"}})
    results = verify(
        {
            "s": [
                Need("T", ""),
                Need("T", "A", "text"),
                Need("T", "B", "number"),
                Need("T", "C", "number", remap="columns: {T.C: x}"),
                Need("T", "D", "date", remap="columns: {T.D: x}"),
                Need("U", "X", "number"),
                Need("V", "Y"),
            ],
            "ok": [Need("T", "A", "text"), Need("T", "E", "text", optional="s.e")],
        },
        found,
    )
    failed, ok, warning = results
    assert not failed.ok and failed.name == "stream s: schema"
    assert "missing columns C, D in T; name them with columns: {T.C: x, T.D: x}" in failed.detail
    assert "U.X is text, read as number: its values would change" in failed.detail
    assert "table V not found" in failed.detail
    assert failed.detail.endswith("(or disable the stream: streams: {s: {enabled: false}})")
    assert ok.ok and not ok.warning and ok.detail == "2 columns in 1 table present"
    assert warning.ok and warning.warning and warning.detail == "T has no column E: s.e will stay empty"


def test_verify_accepts_an_alternate_name_and_says_which_it_reads() -> None:
    found = Catalogue({"T": {"OLD": "number"}})
    (result,) = verify({"s": [Need("T", "NEW", "number", alternates=("OLD",))]}, found)
    assert result.ok and "(reading T.OLD for NEW)" in result.detail


@pytest.mark.parametrize(
    ("expected", "found", "same"),
    [
        ("number", "integer", True),
        ("integer", "number", False),
        ("text", "integer", False),
        ("boolean", "integer", True),
    ],
)
def test_a_type_mismatch_fails_only_where_it_changes_values(expected: str, found: str, same: bool) -> None:
    (result,) = verify({"s": [Need("T", "A", expected)]}, Catalogue({"T": {"A": found}}))  # type: ignore[arg-type]
    assert result.ok is same


def test_sql_catalogue_kinds_and_case() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "T" ("ID" INTEGER, "AMT" FLOAT, "CODE" VARCHAR(10), "DAY" DATETIME)')
        found = catalogue(conn, ["T", "MISSING"])
    assert found.containers == {"T": {"ID": "integer", "AMT": "number", "CODE": "text", "DAY": "datetime"}}
    assert not found.case_sensitive and found.kind_of("T", "amt") == "number"
    assert kind_of(sa.Numeric(12, 0)) == "integer" and kind_of(sa.Numeric(12, 2)) == "number"


def _table() -> sa.Table:
    return sa.Table(
        "T",
        sa.MetaData(),
        sa.Column("ID", sa.Integer, primary_key=True),
        sa.Column("OPT", sa.Integer, info=optional("s.opt", source="somewhere")),
        sa.Column("NEW", sa.Float, info=alternates("OLD")),
        sa.Column("NAME", sa.String(20)),
    )


def test_needs_come_from_the_statements_including_joins_subqueries_and_aliases() -> None:
    t = _table()
    other = t.alias("O")
    sub = sa.select(sa.func.max(t.c.NEW)).where(t.c.ID == other.c.ID).scalar_subquery()
    stmt = sa.select(other.c.NAME, sub.label("TOP")).where(other.c.OPT > 1)
    got = {(n.name, n.optional, n.alternates) for n in needs([stmt]) if n.name}
    assert got == {("NAME", None, ()), ("OPT", "s.opt", ()), ("NEW", None, ("OLD",)), ("ID", None, ())}


def test_read_around_reads_an_alternate_name_and_an_absent_optional_column_as_null() -> None:
    t = _table()
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "T" ("ID" INTEGER, "OLD" FLOAT, "NAME" VARCHAR(20))')
        conn.exec_driver_sql("INSERT INTO \"T\" VALUES (1, 2.5, 'x')")
    read_around(engine, lambda: [t])
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.c.ID, t.c.OPT, t.c.NEW).where(t.c.NEW > 2, t.c.OPT.is_(None))).one()
    assert (row.ID, row.OPT, row.NEW) == (1, None, 2.5)


def test_read_around_asks_the_database_again_after_a_while() -> None:
    t = _table()
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "T" ("ID" INTEGER, "NEW" FLOAT, "NAME" VARCHAR(20))')
        conn.exec_driver_sql("INSERT INTO \"T\" VALUES (1, 2.5, 'x')")
    read_around(engine, lambda: [t], refresh_seconds=0)  # every statement: an upgrade shows at once
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.c.OPT)).scalar() is None  # not there yet: read as NULL
        conn.exec_driver_sql('ALTER TABLE "T" ADD COLUMN "OPT" INTEGER')
        conn.exec_driver_sql('UPDATE "T" SET "OPT" = 7')
        assert conn.execute(sa.select(t.c.OPT)).scalar() == 7


def test_renamed_keeps_the_key_the_code_uses_and_marks_null_names_absent() -> None:
    columns = [sa.Column("A", sa.Integer), sa.Column("B", sa.Integer), sa.Column("C", sa.Integer)]
    a, b, c = renamed(columns, "T", {"T.A": "AA", "T.B": None})
    assert (a.name, a.key, b.info.get("absent"), c is columns[2]) == ("AA", "A", True, True)


def test_edmx_tolerates_a_byte_order_mark_and_refuses_v4_and_non_edmx() -> None:
    v2 = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>'
        b'<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" '
        b'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
        b'<edmx:DataServices m:DataServiceVersion="2.0"><Schema Namespace="S" '
        b'xmlns="http://schemas.microsoft.com/ado/2008/09/edm">'
        b'<EntityType Name="H"><Key><PropertyRef Name="Id"/></Key><Property Name="Id" Type="Edm.String" '
        b'Nullable="false" MaxLength="10"/><Property Name="Rate" Type="Edm.Decimal" Precision="9" Scale="5"/>'
        b'<NavigationProperty Name="to_Item" Relationship="S.assoc" FromRole="F" ToRole="T"/></EntityType>'
        b'<EntityType Name="I"><Key><PropertyRef Name="Id"/></Key><Property Name="Id" Type="Edm.String"/>'
        b'<Property Name="Qty" Type="Edm.Decimal"/></EntityType>'
        b'<Association Name="assoc"><End Type="S.H" Multiplicity="1" Role="F"/><End Type="S.I" Multiplicity="*" '
        b'Role="T"/></Association><EntityContainer Name="C"><EntitySet Name="Heads" EntityType="S.H"/>'
        b"</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )
    meta = parse(v2)
    assert meta.data_service_version == "2.0" and meta.entity("Heads").keys == ("Id",)
    assert meta.entity("Heads").properties["Rate"].scale == 5 and meta.entity("Heads/to_Item").name == "S.I"
    assert meta.catalogue(["Heads/to_Item"], "SRV/").containers == {
        "SRV/Heads/to_Item": {"Id": "text", "Qty": "number"}
    }
    v4 = b'<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"/>'
    with pytest.raises(EdmxError, match="OData V4"):
        parse(v4)
    with pytest.raises(EdmxError, match="not XML"):
        parse(b'{"d": {"results": []}}')
    with pytest.raises(EdmxError, match="not EDMX"):
        parse(b"<html><body>logon</body></html>")


def test_census_counts_values_with_money_and_warns_about_unknown_ones_that_carry_money() -> None:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    doc = sa.Table("DOC", meta, sa.Column("KIND", sa.Integer), sa.Column("AMT", sa.Float), sa.Column("DAY", sa.Date))
    meta.create_all(engine)
    rows = [(1, 10.0, "2026-01-05"), (1, 5.5, "2026-02-01"), (2, 7.0, "2026-02-01"), (9, 3.0, "2026-02-02")]
    rows += [(8, 0.0, "2026-02-02"), (7, 1.0, "2025-01-01")]
    with engine.begin() as conn:
        conn.execute(doc.insert(), [{"KIND": k, "AMT": a, "DAY": dt.date.fromisoformat(d)} for k, a, d in rows])
    table = {1: mapped("sale", "docs"), 2: excluded("a purchase", "docs")}
    column = CodeColumn("DOC.KIND", "invoices", "kinds", "AMT", values(table))
    with engine.connect() as conn:
        counts = count_codes(conn, column, [doc.c.KIND], doc.c.AMT, doc, dt.date(2026, 1, 1) <= doc.c.DAY)
    got = {c.shown: (c.rows, c.money, c.reading.action if c.reading else None) for c in counts}
    assert got == {
        "1": (2, Decimal("15.50"), "sale"),
        "2": (1, Decimal("7.00"), "left out: a purchase"),
        "9": (1, Decimal("3.00"), None),
        "8": (1, Decimal("0.00"), None),
    }
    (warning,) = census_warnings(counts, dt.date(2026, 1, 1))
    assert warning.warning and "DOC.KIND" in warning.detail and "9 (1 rows, 3.00)" in warning.detail
    assert "8 (1 rows, 0.00)" in warning.detail and "kinds" in warning.detail  # nets to nothing: still unknown
    silent = CodeColumn("DOC.FLAG", "accounts", "flags", "", values({}))
    assert census_warnings([CodeCount(silent, (3,), 4, None)])[0].detail.startswith("DOC.FLAG")
