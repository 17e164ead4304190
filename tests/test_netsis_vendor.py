"""The adapter reads only names the vendor's metadata has (connectors/netsis/vendor/), and its writer emits only them.

A table with a complete vendor list: every column read is in it, or is read as optional with its source
named. A table with a partial list (a cut-off description, an insert's column list): every column read
is in it, or in ALLOWED with the reason. A table without any public list: in NO_LIST with the reason.
A column a setting names (the cancel flag) is in ALLOWED whatever its table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import SourceContext
from connectors.catalog import Need
from connectors.netsis import NetsisAdapter, NetsisSettings
from connectors.netsis.census import census_statements, specs
from connectors.netsis.documents import Invoices
from connectors.netsis.writer import NetsisWriter
from connectors.sql_schema import needs

VENDOR = Path(__file__).parent.parent / "connectors" / "netsis" / "vendor" / "columns.csv"
COMPLETE = frozenset({"TBLSTHAR", "TBLSTSABIT", "TBLFATUIRS"})
PARTIAL = frozenset({"TBLCAHAR", "TBLSIPATRA", "DOVIZ", "TBLSTOKFIAT"})
_CUT_OFF = "the vendor's TBLCAHAR description is cut off after C_YEDEK2"
ALLOWED: dict[tuple[str, str], str] = {
    ("TBLCAHAR", "KAYITTARIHI"): f"{_CUT_OFF}; the reference lists the stamps (UNCONFIRMED on TBLCAHAR)",
    ("TBLCAHAR", "KAYITYAPANKUL"): f"{_CUT_OFF}; written by the test writer with the other stamps",
    ("TBLCAHAR", "DUZELTMEYAPANKUL"): f"{_CUT_OFF}; written by the test writer with the other stamps",
    # A column a setting names is the integrator's statement about their site, never the adapter's default.
    **{
        (table, "IPTAL"): "a site's own cancel flag, read only where the cancelled_column setting names it"
        for table in ("TBLFATUIRS", "TBLSIPAMAS", "TBLCAHAR")
    },
    ("TBLSIPATRA", "INCKEYNO"): "the line tables' identity: TBLSTHAR's scaffold has it, an insert leaves it out",
    ("TBLSIPATRA", "FIRMA_DOVTUT"): "TBLSTHAR's scaffold has it; order-line code sets it (code index 41634278363)",
    ("TBLSIPATRA", "DUZELTMETARIHI"): "TBLSTHAR's scaffold has it; read only with line_stamps",
    ("DOVIZ", "DOV_ALIS"): "reference ([NETSIS].dbo.DOVIZ SIRA, TARIH, DOV_ALIS); rate_column",
    ("DOVIZ", "DOV_SATIS"): "production query (YigitErogluTr/Netsis, through a rate view); rate_column",
    ("DOVIZ", "EFF_ALIS"): "reference; rate_column",
    ("DOVIZ", "EFF_SATIS"): "reference; rate_column",
}
NO_LIST = {
    "TBLCASABIT": "no public column list; names from the reference and production queries (Fidanx_Netsis, "
    "YigitErogluTr/Netsis read CARI_KOD, CARI_ISIM, CARI_TIP, CARI_IL, CARI_TEL, EMAIL, VADE_GUNU, DOVIZ_TIPI, ...)",
    "TBLSIPAMAS": "no public column list; the reference and an insert into a copy of it (code index 53177764136) "
    "give it TBLFATUIRS's header block",
    "TBLSTOKPH": "no public column list; production queries read STOK_KODU, TOP_GIRIS_MIK, TOP_CIKIS_MIK",
    "TBLSTOKDP": "no public column list; production queries read DEPO_KODU, DEPO_ISMI",
    "TBLKOSULMAS": "no public column list; the condition tables are UNCONFIRMED beyond their names (README)",
    "TBLEFATCARI": "no public column list; the reference names the table (GİB's e-invoice user list)",
}


def _vendor() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with VENDOR.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["table"], set()).add(row["column"])
    return out


def _adapter(**settings: object) -> NetsisAdapter:
    context = SourceContext("netsis-vendor", ZoneInfo("Europe/Istanbul"))
    return NetsisAdapter(context, NetsisSettings(url="sqlite:///nowhere/GIDA2026.db", **settings))  # type: ignore[arg-type]


def _read(source: NetsisAdapter) -> list[Need]:
    """Every name the streams and the census read (no database needed: the statements are built, not run)."""
    env = source.env()
    statements = [s for stream in source.streams() for s in stream.statements()]  # type: ignore[attr-defined]
    census = census_statements(specs(env, Invoices(env).has_return_lines()))
    return needs([*statements, *(s for group in census.values() for s in group)])


def _sources(source: NetsisAdapter) -> dict[tuple[str, str], str | None]:
    env = source.env()
    return {(t.name, c.name): c.info.get("source") for t in (*env.tables.all(), env.rates.DOVIZ) for c in t.columns}


def problems(read: Iterable[Need], sources: dict[tuple[str, str], str | None]) -> list[str]:
    vendor = _vendor()
    out = []
    for need in read:
        table, name = need.container, need.name
        if not name:
            if table not in vendor and table not in NO_LIST:
                out.append(f"table {table}: no vendor list and not in NO_LIST")
            continue
        if name in vendor.get(table, ()) or (table, name) in ALLOWED:
            continue
        if table in COMPLETE:
            if need.optional is None or not sources.get((table, name)):
                out.append(f"{table}.{name}: not in the vendor's list, read as required or without a source")
        elif table in PARTIAL:
            out.append(f"{table}.{name}: not in the vendor's partial list nor in ALLOWED")
        elif table not in NO_LIST:
            out.append(f"{table}.{name}: a table without any vendor list, not in NO_LIST")
    return sorted(set(out))


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"cancelled_column": "IPTAL", "line_stamps": False},
        {"product_group_column": "KOD_3", "brand_column": "KOD_5", "region_column": "RAPOR_KODU4"},
    ],
)
def test_the_adapter_reads_only_the_vendors_names(settings: dict[str, object]) -> None:
    with _adapter(**settings) as source:
        assert problems(_read(source), _sources(source)) == []


def test_a_name_the_vendor_lacks_fails_the_conformance() -> None:
    """The check above can fail: PAY_2 (what the adapter read before the vendor's PAY2 was found), a required
    stamp on TBLSTSABIT, an unknown table."""
    read = [
        Need("TBLSTSABIT", "PAY_2", "number"),
        Need("TBLSTSABIT", "KAYITTARIHI", "datetime"),
        Need("TBLCAHAR", "NOSUCH", "text"),
        Need("TBLNOSUCH", ""),
    ]
    assert problems(read, {}) == [
        "TBLCAHAR.NOSUCH: not in the vendor's partial list nor in ALLOWED",
        "TBLSTSABIT.KAYITTARIHI: not in the vendor's list, read as required or without a source",
        "TBLSTSABIT.PAY_2: not in the vendor's list, read as required or without a source",
        "table TBLNOSUCH: no vendor list and not in NO_LIST",
    ]


def test_the_writer_emits_only_the_vendors_names() -> None:
    """The tables the writer creates (the vendor's layout, its default) have no column a complete list lacks."""
    writer = NetsisWriter(sa.create_engine("sqlite://"))
    vendor = _vendor()
    extra = {
        f"{t.name}.{c.name}"
        for t in writer.t.all()
        if t.name in COMPLETE
        for c in t.columns
        if c.name not in vendor[t.name]
    }
    assert extra == set()
