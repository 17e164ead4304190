"""What the adversarial fuzz found (issue 10), one minimal row each: all fixed, and kept here so they stay fixed.

Each case is the smallest edit the fuzz shrank a failure to, run through the same trial as the fuzz (a real
sync of every stream, then the books). A defect the fuzz finds next is added here as a strict xfail, with the
values that hit it held back from the fuzz (`held_back` in tests/adversarial/erps.py) so that the fuzz goes on
finding others; the fix removes the mark and the entry, and the fuzz covers those values again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.erps import ERPS
from tests.adversarial.fuzz import Outcome, Template, template, trial
from tests.adversarial.values import Edit, NotUtf8, connect


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Template]:
    return {name: template(erp, tmp_path_factory.mktemp(name)) for name, erp in ERPS.items()}


def first(base: Template, sql: str) -> tuple[Any, ...]:
    """The key of the first row `sql` selects in the clean database (rows the normal changes use excluded)."""
    with connect(base.folder / base.erp.database) as conn:
        return tuple(next(r for r in conn.execute(sql) if tuple(r) in base.shapes[_table(sql)].rows))


def _table(sql: str) -> str:
    return sql.split(" FROM ")[1].split()[0].strip('"')


def run(base: Template, folder: Path, *edits: Edit) -> Outcome:
    outcome = trial(base, list(edits), folder)
    assert outcome.edits == len(edits)
    return outcome


def test_logo_a_stock_row_of_no_item_is_accounted_for(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["logo"]
    row = first(base, "SELECT LOGICALREF FROM LG_001_01_GNTOTST WHERE INVENNO >= 0 ORDER BY LOGICALREF")
    outcome = run(base, tmp_path, Edit("LG_001_01_GNTOTST", row, {"STOCKREF": None}))
    assert outcome.problems == []
    assert outcome.dead_lettered == 1


def test_logo_a_limit_of_no_account_is_accounted_for(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["logo"]
    row = first(base, "SELECT LOGICALREF FROM LG_001_01_CLRNUMS ORDER BY LOGICALREF")
    outcome = run(base, tmp_path, Edit("LG_001_01_CLRNUMS", row, {"CLCARDREF": 9_999_999}))
    assert outcome.problems == []
    assert outcome.dead_lettered == 1


def test_logo_a_collection_of_no_source_document_stops_nothing(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["logo"]
    row = first(base, "SELECT LOGICALREF FROM LG_001_01_CLFLINE WHERE SIGN = 1 AND MODULENR = 7 ORDER BY LOGICALREF")
    outcome = run(base, tmp_path, Edit("LG_001_01_CLFLINE", row, {"SOURCEFREF": None}))
    assert outcome.failed == []
    assert outcome.problems == []


def test_mikro_a_product_without_a_code_stops_nothing(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["mikro"]
    row = first(base, "SELECT sto_Guid FROM STOKLAR ORDER BY sto_kod")
    outcome = run(base, tmp_path, Edit("STOKLAR", row, {"sto_kod": None}))
    assert outcome.failed == []
    assert outcome.problems == []


def test_mikro_a_limit_of_an_account_with_a_null_bit_is_accounted_for(
    clean: dict[str, Template], tmp_path: Path
) -> None:
    base = clean["mikro"]
    row = first(
        base, "SELECT cari_Guid FROM CARI_HESAPLAR WHERE cari_kod IN (SELECT cari_kod FROM DEALERSYNC_CARI_RISK)"
    )
    outcome = run(base, tmp_path, Edit("CARI_HESAPLAR", row, {"cari_hidden": None}))
    assert outcome.problems == []


def test_mikro_a_limit_of_no_account_is_accounted_for(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["mikro"]
    row = first(base, "SELECT cari_kod FROM DEALERSYNC_CARI_RISK ORDER BY cari_kod")
    outcome = run(base, tmp_path, Edit("DEALERSYNC_CARI_RISK", row, {"cari_kod": "120.99.9999"}))
    assert "120.99.9999" in outcome.accounted["risk_limits"]


def test_netsis_a_bad_rate_stops_nothing(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["netsis"]
    row = first(base, 'SELECT SIRA, TARIH FROM "DOVIZ" ORDER BY TARIH')
    outcome = run(base, tmp_path, Edit("DOVIZ", row, {"DOV_ALIS": -1.0}))
    assert outcome.failed == []
    assert outcome.problems == []


def test_netsis_a_card_code_that_is_not_utf8_stops_nothing(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["netsis"]
    row = first(base, "SELECT STOK_KODU FROM TBLSTSABIT ORDER BY STOK_KODU")
    outcome = run(base, tmp_path, Edit("TBLSTSABIT", row, {"STOK_KODU": NotUtf8(b"ABC\xff")}))
    assert outcome.failed == []
    prices = sum(e.product_code == row[0] for e in base.scenario.price_lists)  # their cards gone, dead letters
    assert outcome.problems == [] and outcome.dead_lettered == 2 + prices  # the card, its stock level, its prices


def test_netsis_a_stock_row_of_no_item_is_accounted_for(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["netsis"]
    row = first(base, "SELECT STOK_KODU, SUBE_KODU, DEPO_KODU FROM TBLSTOKPH WHERE DEPO_KODU <> 0 ORDER BY STOK_KODU")
    outcome = run(base, tmp_path, Edit("TBLSTOKPH", row, {"STOK_KODU": "NO-SUCH-ITEM"}))
    assert f"netsis:{row[1]}:{row[2]}:NO-SUCH-ITEM" in outcome.accounted["stock_levels"]


def test_two_rows_claiming_one_key_are_not_resolved_in_silence(clean: dict[str, Template], tmp_path: Path) -> None:
    base = clean["logo"]
    row = first(base, "SELECT LOGICALREF FROM LG_001_01_GNTOTST WHERE INVENNO >= 0 ORDER BY LOGICALREF")
    copy = Edit("LG_001_01_GNTOTST", row, {"ONHAND": 12345.0}, copy=True, fresh={"LOGICALREF": 900_000})
    outcome = run(base, tmp_path, copy)
    assert (outcome.collisions, outcome.problems, outcome.dead_lettered) == ([], [], 1)


def test_mikro_an_item_code_that_is_not_utf8_stops_no_stock_level(clean: dict[str, Template], tmp_path: Path) -> None:
    """Found by the long form: the stock levels' movement look-up bound the page's item codes as text."""
    base = clean["mikro"]
    row = first(base, "SELECT sto_Guid FROM STOKLAR ORDER BY sto_kod")
    outcome = run(base, tmp_path, Edit("STOKLAR", row, {"sto_kod": NotUtf8(b"STK\xff")}))
    assert (outcome.failed, outcome.problems) == ([], [])
