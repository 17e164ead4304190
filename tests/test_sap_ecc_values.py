"""SAP ECC's internal formats, the OPTIONS builder, and the emulator's Open SQL evaluation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.emulator.ecc_ddic import TABLES
from connectors.sap.emulator.ecc_tables import Database, ReadTableError, fmt
from connectors.sap.emulator.ecc_where import OptionError, parse
from mapping.errors import RecordError

TZ = ZoneInfo("Europe/Istanbul")


def test_packed_numbers_carry_their_sign_at_the_end() -> None:
    assert v.number("   1234.56 ", "x") == Decimal("1234.56")
    assert v.number("123.45-", "x") == Decimal("-123.45")
    assert v.number("", "x") == 0 and v.number(None, "x") == 0
    with pytest.raises(RecordError, match="too wide"):
        v.number("*23.45", "x")
    with pytest.raises(RecordError, match="not an SAP number"):
        v.number("12,5", "x")


def test_dates_times_and_the_empty_date() -> None:
    assert v.date("20261120", "d") == dt.date(2026, 11, 20)
    assert v.date("00000000", "d") is None and v.date("", "d") is None
    assert v.date("99991231", "d") == v.OPEN_END
    assert v.stamp("20261120", "170500", TZ, "t") == dt.datetime(2026, 11, 20, 17, 5, tzinfo=TZ)
    assert v.stamp("20261120", "", TZ, "t") == dt.datetime(2026, 11, 20, tzinfo=TZ)
    assert v.stamp("00000000", "170500", TZ, "t") is None
    with pytest.raises(RecordError):
        v.stamp("20261120", "1705", TZ, "t")
    with pytest.raises(RecordError):
        v.date("20261340", "d")


def test_exchange_rates_direct_and_indirect() -> None:
    assert v.rate("35.12346", "rate") == Decimal("35.12346")
    assert abs(v.rate("0.02800-", "rate") - 1 / Decimal("0.028")) < Decimal("1E-25")  # indirect: 1 / 0.028, exact
    with pytest.raises(RecordError):
        v.rate("0.00000", "rate")


def test_flags_and_item_numbers() -> None:
    assert v.flag("X", "f") and not v.flag("", "f") and not v.flag(" ", "f")
    for bad in (None, "Y", "1"):  # only X and blank are ABAP's: anything else is an error, never "not set"
        with pytest.raises(RecordError, match="f: "):
            v.flag(bad, "f")
    assert v.integer("000010", "line_no") == 10
    assert v.personnel("00000012") == "12" and v.personnel("00000000") is None and v.personnel("") is None
    with pytest.raises(RecordError, match="line_no"):
        v.integer("00001A", "line_no")


def test_options_lines_break_between_tokens_and_never_inside_a_literal() -> None:
    condition = w.and_(w.in_("KUNNR", [f"120.01.{i:04d}" for i in range(30)]), w.eq("NAME1", "ÇINAR  YAPI O'NEIL"))
    lines = w.lines(condition)
    assert all(len(line) <= 72 for line in lines) and len(lines) > 5
    assert " ".join(lines) == condition
    assert any("'ÇINAR  YAPI O''NEIL'" in line for line in lines)  # blanks inside the literal kept
    assert w.lines(None) == [] and w.lines("") == []
    with pytest.raises(ValueError):
        w.literal("x" * 71)
    with pytest.raises(ValueError):
        w.in_("VBELN", [])


def test_the_emulator_formats_fields_as_rfc_read_table_does() -> None:
    kna1 = TABLES["KNA1"]
    assert fmt(kna1.by_name["ERDAT"], None) == "00000000"
    assert fmt(kna1.by_name["ERDAT"], dt.date(1, 1, 1)) == "00010101"
    konp = TABLES["KONP"]
    assert fmt(konp.by_name["KBETR"], Decimal("-75.00")) == "     75.00-"
    assert fmt(konp.by_name["KOPOS"], 1) == "01"  # NUMC: zero-padded
    assert fmt(konp.by_name["KNUMH"], "0000000012") == "0000000012"  # CHAR 10 holding the record number
    zbd1t = TABLES["BSID"].by_name["ZBD1T"]
    assert fmt(zbd1t, 30) == "30 " and fmt(zbd1t, 120) == "*0 "  # "120 " is too wide: cut on the left, starred
    with pytest.raises(ValueError):
        fmt(kna1.by_name["LAND1"], "TURKEY")


def _database() -> Database:
    db = Database("100")
    rows = []
    for i in range(1, 41):
        rows.append(
            db.row(
                "VBRK",
                VBELN=f"SF2026{i:06d}",
                VBTYP="M" if i % 5 else "N",
                FKDAT=dt.date(2026, 1, 1) + dt.timedelta(days=i),
                NETWR=Decimal(i * 10) - 100,
                KUNAG=f"120.01.{i % 7:04d}",
            )
        )
    db.load("VBRK", rows)
    return db


@pytest.mark.parametrize(
    "condition",
    [
        "VBELN = 'SF2026000007'",
        "VBELN IN ( 'SF2026000003' , 'SF2026000040' , 'NOPE' )",
        "FKDAT >= '20260120' AND VBTYP <> 'N'",
        "( FKDAT > '20260201' OR KUNAG EQ '120.01.0003' ) AND NOT VBTYP = 'N'",
        "FKDAT BETWEEN '20260110' AND '20260115'",
        "KUNAG LIKE '120.01.000_' AND VBELN NOT IN ( 'SF2026000001' )",
        "NETWR < '0'",
        "FKDAT <= '20260105' OR FKDAT >= '20260209'",
    ],
)
def test_indexed_selections_equal_a_full_scan(condition: str) -> None:
    db = _database()
    store = db.stores["VBRK"]
    parsed = parse(w.lines(condition), store.table)
    assert parsed is not None
    scanned = [i for i, row in enumerate(store.rows) if parsed.matches(row)]
    assert store.matching(w.lines(condition)) == scanned and scanned


def test_invalid_options_are_refused_like_sap() -> None:
    db = _database()
    for bad in ("VBELN = ", "ZZZ = 'A'", "VBELN 'A'", "VBELN = 'A' AND", "( VBELN = 'A'", "NETWR = 'abc'"):
        with pytest.raises(ReadTableError, match="OPTION_NOT_VALID"):
            db.read_table("VBRK", ["VBELN"], [bad])
    with pytest.raises(OptionError, match="72"):
        parse(["VBELN = " + "'" + "A" * 70 + "'"], TABLES["VBRK"])
    data, _ = db.read_table("VBRK", ["VBELN", "NETWR"], ["NETWR < '0'"], rowskips=2, rowcount=3)
    assert [row[:12] for row in data] == ["SF2026000003", "SF2026000004", "SF2026000005"]
