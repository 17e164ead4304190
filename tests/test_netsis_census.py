"""The code census: every code value the Netsis streams interpret, with rows, money and what dealersync does with it.

The demo data holds no value dealersync does not know. A real site coded customer cheques as TBLCAHAR
HAREKET_TURU 'H' (dropped without a word before) and card payments as 'D' (sent as cash): the census shows
both, with their rows and money, check warns naming the setting, and mapping them there brings the rows in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.census import census_warnings
from connectors.netsis import NetsisSettings
from connectors.netsis.ledger import ledger_kind
from connectors.netsis.tables import netsis_tables
from mapping.errors import RecordError
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import Server, adapter, records, server, write

SCENARIO = build(invoice_lines=2000)
CAHAR = netsis_tables(sa.MetaData()).CAHAR
FATUIRS = netsis_tables(sa.MetaData()).FATUIRS
# The site's codes: customer cheques H, card payments D, cash N; notes E and transfers K as the defaults.
SITE_KINDS = {"H": "cheque", "D": "card", "N": "cash", "E": "promissory_note", "K": "bank_transfer"}
COLUMNS = {
    "TBLFATUIRS.FTIRSIP x its lines' STHAR_HTUR",
    "TBLSTHAR.STHAR_FTIRSIP x STHAR_HTUR x STHAR_GCKOD",
    "TBLFATUIRS.TIPI",
    "TBLFATUIRS.DOVIZTIP",
    "TBLSTHAR.STHAR_DOVTIP",
    "TBLSIPAMAS.FTIRSIP",
    "TBLSIPAMAS.ONAYTIPI",
    "TBLSIPAMAS.DOVIZTIP",
    "TBLSIPATRA.STHAR_HTUR",
    "TBLCAHAR.HAREKET_TURU x side",
    "TBLCAHAR.DOVIZ_TURU",
    "TBLCAHAR.HAREKET_TURU x side, every movement",
    "TBLCAHAR.DOVIZ_TURU, every movement",
    "TBLSTHAR.STHAR_HTUR x STHAR_FTIRSIP x STHAR_GCKOD, every movement",
    "TBLCASABIT.CARI_TIP",
    "TBLCASABIT.DOVIZ_TIPI",
    "TBLKOSULMAS.ISKONTO_TIPI",
    "TBLSTOKFIAT.A_S",
    "TBLSTOKFIAT.FIYATGRUBU",
    "TBLSTOKFIAT.OLCUBR",
    "TBLSTOKFIAT.FIYATDOVIZTIPI",
}


def _edit(url: str, *statements: Any) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    engine.dispose()


@pytest.fixture(params=DATABASE_KINDS)
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    where = server(request.param, tmp_path)
    try:
        write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
        yield where
    finally:
        where.close()


def test_the_demo_census_knows_every_value(demo: Server) -> None:
    with adapter(demo.url("GIDA2026"), SCENARIO, rates_database=demo.database("NETSIS")) as source:
        counts = source.census(None)
    assert {c.column.name for c in counts} == COLUMNS
    assert [c.shown for c in counts if c.reading is None] == []
    assert census_warnings(counts) == []
    assert all(c.reading is not None and c.reading.source for c in counts)
    # The census adds up to the data: the collections it maps are the scenario's, to the cent.
    live = [s.record for s in SCENARIO.collections() if not s.record.cancelled]
    collected = [c for c in counts if c.column.name == "TBLCAHAR.HAREKET_TURU x side" and c.reading.sent]  # type: ignore[union-attr]
    assert sum(c.rows for c in collected) == len(live)
    assert sum((c.money or Decimal(0) for c in collected), Decimal(0)) == sum(c.amount_local for c in live)
    # The ledger's census counts every movement: one per live invoice, return, collection and note, each kind read.
    movements = [c for c in counts if c.column.name == "TBLCAHAR.HAREKET_TURU x side, every movement"]
    facts = expect.ledger_entries(
        [s.record for s in SCENARIO.invoices() if not s.record.cancelled], live, [s.record for s in SCENARIO.notes()]
    )
    assert sum(c.rows for c in movements) == len(facts)
    kinds = Counter(f.kind for f in facts)
    settings = NetsisSettings(url=demo.url("GIDA2026"))
    found: Counter[str] = Counter()
    for c in movements:
        assert c.reading is not None and c.reading.action.startswith("ledger kind "), c.shown
        found[ledger_kind(settings, c.value[0].strip(), c.value[1] == "ALACAK")[0]] += c.rows
    assert found == kinds


def _site(tmp_path: Path) -> str:
    """The scenario as the site keeps it: cheques H, cards D, cash N."""
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"))
    c = CAHAR.c
    credit = c.ALACAK > 0
    _edit(
        where.url("GIDA2026"),
        CAHAR.update().where(credit, c.HAREKET_TURU == "D").values(HAREKET_TURU="N"),
        CAHAR.update().where(credit, c.HAREKET_TURU == "G").values(HAREKET_TURU="H"),
        CAHAR.update().where(credit, c.HAREKET_TURU == "M").values(HAREKET_TURU="D"),
    )
    return where.url("GIDA2026")


def test_a_sites_own_collection_codes(tmp_path: Path) -> None:
    url = _site(tmp_path)
    live = [s.record for s in SCENARIO.collections() if not s.record.cancelled]
    cheques = [c for c in live if c.method == "cheque"]
    with adapter(url, SCENARIO) as source:
        counts = {(c.column.name, c.shown): c for c in source.census(None)}
        before = records(source.stream("collections"))
    cheque_codes = counts[("TBLCAHAR.HAREKET_TURU x side", "H x ALACAK")]
    assert cheque_codes.reading is None
    assert (cheque_codes.rows, cheque_codes.money) == (len(cheques), sum(c.amount_local for c in cheques))
    warnings = census_warnings(counts.values())
    # The ledger reads the same rows: the site's letters are unknown to it as well (kind other) until mapped.
    assert [w.name for w in warnings] == ["codes collections", "codes account_ledger"]
    assert all(w.ok and w.warning for w in warnings)
    assert "H x ALACAK" in warnings[1].detail and "N x ALACAK" in warnings[1].detail
    detail = warnings[0].detail
    assert f"H x ALACAK ({len(cheques)} rows, {sum(c.amount_local for c in cheques):,.2f})" in detail
    assert "N x ALACAK" in detail and "collection_kinds" in detail
    # Before the site's codes are mapped, its card payments read as cash, and its cheques and cash are missing.
    card = counts[("TBLCAHAR.HAREKET_TURU x side", "D x ALACAK")].reading
    assert card is not None and card.action == "collection, method cash"
    assert Counter(c.method for c in before) == {
        method: n for method, n in Counter(c.method for c in live).items() if method not in ("cheque", "cash", "card")
    } | {"cash": Counter(c.method for c in live)["card"]}

    with adapter(url, SCENARIO, collection_kinds=SITE_KINDS) as source:
        mapped = source.census(None)
        after = records(source.stream("collections"))
    assert census_warnings(mapped) == []
    readings = {c.shown: c.reading for c in mapped if c.column.name == "TBLCAHAR.HAREKET_TURU x side"}
    assert readings["H x ALACAK"].action == "collection, method cheque"  # type: ignore[union-attr]
    assert readings["D x ALACAK"].source == "your settings"  # type: ignore[union-attr]
    assert sorted((c.number, c.method) for c in after) == sorted((c.number, c.method) for c in live)
    assert expect.collections_by_dealer(after) == expect.collections_by_dealer(live)


def test_an_unknown_invoice_tipi(tmp_path: Path) -> None:
    """An invoice TIPI the settings do not map: a dead letter with its reason, shown by the census with its money,
    warned about naming invoice_tipis; mapped there, the invoice arrives."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"))
    h = FATUIRS.c
    first = sa.select(sa.func.min(h.SIRANO)).where(h.FTIRSIP == "1").scalar_subquery()
    _edit(url, FATUIRS.update().where(first == h.SIRANO).values(TIPI=7))
    with adapter(url, SCENARIO) as source:
        counts = source.census(None)
        stream = source.stream("invoices")
        errors = []
        for chunk in stream.read(None):
            for item in chunk:
                try:
                    stream.map(item)
                except RecordError as exc:
                    errors.append((item.row.FATIRS_NO, exc.reason))
    seven = next(c for c in counts if c.column.name == "TBLFATUIRS.TIPI" and c.value == (7,))
    assert seven.reading is None and seven.rows == 1 and seven.money
    assert any("invoice_tipis" in w.detail and "7 (1 rows" in w.detail for w in census_warnings(counts))
    assert [reason for _, reason in errors] == ["TIPI 7 is not in the invoice_tipis setting (map it)"]
    with adapter(url, SCENARIO, invoice_tipis={1: "invoice", 4: "price_difference", 7: "invoice"}) as source:
        invoices = {i.number: i for i in records(source.stream("invoices"))}
    assert invoices[errors[0][0]].kind == "sale"


def test_discover_codes_prints_the_census(tmp_path: Path) -> None:
    url = _site(tmp_path)
    database = Path(sa.make_url(url).database or "")
    (tmp_path / "dealersync.yaml").write_text(
        'state: {url: "sqlite:///state.db"}\n'
        "sink: {kind: file, path: ./feed, fsync: false}\n"
        "sources:\n"
        "  - name: gida\n"
        "    kind: netsis\n"
        "    timezone: Europe/Istanbul\n"
        f"    url: {json.dumps(f'sqlite:///{database}')}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "DEALERSYNC_DEBUG"} | {"COLUMNS": "250"}
    command = [str(Path(sys.executable).parent / "dealersync"), "discover", "--codes"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "H x ALACAK" in line)
    cheques = sum(
        s.record.amount_local for s in SCENARIO.collections() if s.record.method == "cheque" and not s.record.cancelled
    )
    assert "TBLCAHAR.HAREKET_TURU" in line and f"{cheques:,.2f}" in line and "unknown: not in the feed" in line
    # H and N credits, unknown to the collections stream and to the ledger (whose census counts them too).
    assert "4 code value(s) unknown to dealersync: their rows are not in the feed" in result.stdout
