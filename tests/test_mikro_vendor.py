"""Conformance with Mikro's own column pages (connectors/mikro/vendor/): the adapter reads, and the test writer
writes, only names Mikro publishes, with the types Mikro gives them. A table without a page is allowed here
only with the reason; a column Mikro's page lacks may be read only as optional, its source named."""

from __future__ import annotations

import csv
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import SourceContext
from connectors.catalog import Kind, Need, compatible
from connectors.mikro import MikroAdapter, MikroSettings
from connectors.mikro.tables import mikro_tables
from connectors.sql_schema import kind_of, needs

VENDOR = Path(__file__).parent.parent / "connectors" / "mikro" / "vendor"
# Tables no Mikro page was found for (vendor/README.md): their columns come from Mikro's screens and
# public queries, so nothing here can check them.
WITHOUT_PAGE = {
    "ODEME_PLANLARI": "no 'Tablo Alan Adları' page found; odp_no / odp_kodu from public queries (README)",
    "STOK_CARI_ISKONTO_TANIMLARI": "no page found; the isk_* columns from public queries (README)",
    "STOK_SATIS_FIYAT_LISTE_TANIMLARI": "no page found; sfl_sirano / sfl_aciklama / sfl_kdvdahil from public queries, "
    "sfl_ilktarih / sfl_sontarih from public table definitions (README)",
    "DEALERSYNC_CARI_RISK": "the integrator's credit-limit view: its columns are the README's, not Mikro's",
}
_KINDS: dict[str, Kind] = {
    "uniqueidentifier": "guid",
    "bit": "boolean",
    "tinyint": "integer",
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "float": "number",
    "datetime": "datetime",
}


def vendor_columns() -> dict[str, dict[str, str]]:
    """table -> {column -> Mikro's type ('' where the source gives none)}."""
    out = {}
    for path in sorted(VENDOR.glob("*.tsv")):
        if path.stem == "code_lists":
            continue
        with path.open(encoding="utf-8", newline="") as f:
            out[path.stem] = {row["name"]: row["type"] for row in csv.DictReader(f, delimiter="\t")}
    return out


def vendor_kind(mikro_type: str) -> Kind | None:
    t = mikro_type.strip().lower()
    if t.startswith("nvarchar") or (t.startswith("dbo.") and t.endswith("_str")):
        return "text"
    return _KINDS.get(t.split()[0]) if t else None


def conformance(read: list[Need], vendor: dict[str, dict[str, str]]) -> list[str]:
    """Every name a stream reads that Mikro's pages do not back, unless it is optional with a source."""
    problems = []
    for need in read:
        if not need.name or need.container in WITHOUT_PAGE:
            continue
        if need.container not in vendor:
            problems.append(f"{need.container}: no vendor column list and no reason in WITHOUT_PAGE")
        elif need.name not in vendor[need.container] and need.optional is None:
            problems.append(f"{need.container}.{need.name}: required, but Mikro's page has no such column")
    return problems


def _needs(tmp_path: Path) -> list[Need]:
    context = SourceContext("vendor", ZoneInfo("Europe/Istanbul"))
    settings = MikroSettings(url=f"sqlite:///{tmp_path / 'none.db'}", vat_rates={1: 0})
    with MikroAdapter(context, settings) as source:
        return [need for stream in source.streams() for need in needs(stream.statements())]  # type: ignore[attr-defined]


def test_every_name_the_adapter_reads_is_on_mikros_pages(tmp_path: Path) -> None:
    read = _needs(tmp_path)
    assert {n.container for n in read} == set(vendor_columns()) | set(WITHOUT_PAGE)
    assert conformance(read, vendor_columns()) == []


def test_the_conformance_check_catches_a_name_mikro_does_not_publish(tmp_path: Path) -> None:
    invented = [Need("STOKLAR", "sto_bayi_fiyati", "number"), Need("KAMPANYALAR", "kmp_kod", "text")]
    problems = conformance([*_needs(tmp_path), *invented], vendor_columns())
    assert problems == [
        "STOKLAR.sto_bayi_fiyati: required, but Mikro's page has no such column",
        "KAMPANYALAR: no vendor column list and no reason in WITHOUT_PAGE",
    ]
    optional = Need("STOKLAR", "sto_bayi_fiyati", "number", optional="products.x")
    assert conformance([optional], vendor_columns()) == []


@pytest.mark.parametrize("table", sorted(set(vendor_columns())))
def test_the_writer_emits_only_mikros_names_with_mikros_types(table: str) -> None:
    ours = getattr(mikro_tables(sa.MetaData()), table)
    vendor = vendor_columns()[table]
    assert [c.name for c in ours.columns if c.name not in vendor] == []
    drift = []
    for column in ours.columns:
        expected = vendor_kind(vendor[column.name])
        if expected is not None and not compatible(expected, kind_of(column.type)):
            drift.append(f"{column.name}: Mikro {vendor[column.name]}, ours {column.type}")
    assert drift == []


def test_every_vendor_file_is_named_in_the_vendor_readme() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert all(path.name in readme for path in VENDOR.glob("*.tsv"))
    assert all(table in readme for table in WITHOUT_PAGE)


def test_every_optional_column_names_its_source() -> None:
    optional = [(t.name, c.name, c.info) for t in mikro_tables(sa.MetaData()).all() for c in t.columns if c.info]
    assert len(optional) >= 9
    assert [(table, name) for table, name, info in optional if not (info.get("optional") and info.get("source"))] == []
