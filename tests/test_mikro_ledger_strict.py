"""account_ledger rows broken on purpose, through a real sync to a file feed: each becomes a dead letter naming the
field while every other entry flows; a document type no reading knows goes out as kind `other`, its codes in
erp_kind; ledger_kinds maps a code; a database without cha_RECno leaves `sequence` empty and check says so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from connectors.mikro.tables import mikro_tables
from mapping.schema import LedgerEntry
from scenario.generate import build
from tests.conftest import database_url
from tests.mikro_dbs import adapter, edit, insert, read, write
from tests.strict_sync import sync

SCENARIO = build(invoice_lines=300)
H = mikro_tables(sa.MetaData()).CARI_HESAP_HAREKETLERI
ADVANCE = {  # 98 Tahsil Edilen Avans Makbuzu: a document type neither ledger_kinds nor movement_codes reads
    "cha_Guid": "5d1c6a52-0000-4000-8000-000000000098",
    "cha_evrak_tip": 98,
    "cha_evrakno_seri": "AV",
    "cha_evrakno_sira": 7,
    "cha_tarihi": dt.datetime(2026, 11, 2),
    "cha_lastup_date": dt.datetime(2026, 11, 2, 10),
    "cha_tip": 1,
    "cha_cari_cins": 0,
    "cha_d_kur": 1.0,
    "cha_meblag": 12500.0,
    "cha_aratoplam": 12500.0,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "mikro") as url:
        write(url, SCENARIO)
        yield url


def first(url: str, where: Any) -> Any:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(H).where(where).order_by(H.c.cha_Guid).limit(1)).one()
    engine.dispose()
    return row


def key(row: Any) -> str:
    return f"{row.cha_evrak_tip}:{row.cha_evrakno_seri.strip()}:{row.cha_evrakno_sira}:{row.cha_satir_no}"


def by_guid(row: Any) -> Any:
    return lambda c: c.cha_Guid == row.cha_Guid


def test_bad_rows_are_dead_letters_and_the_rest_flows(url: str, tmp_path: Path) -> None:
    with adapter(url, SCENARIO) as source:
        before = sum(1 for _, record, _ in read(source.stream("account_ledger")) if isinstance(record, LedgerEntry))
    c = H.c
    note = first(url, c.cha_evrak_tip == 31)
    receipt = first(url, sa.and_(c.cha_evrak_tip == 1, c.cha_cari_cins == 0))
    slip = first(url, sa.and_(c.cha_evrak_tip == 2, c.cha_cari_cins == 0))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_d_cins": None}, by_guid(note))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_tip": 5}, by_guid(receipt))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_cari_cins": None}, by_guid(slip))
    insert(url, "CARI_HESAP_HAREKETLERI", {**ADVANCE, "cha_kod": note.cha_kod})
    with adapter(url, SCENARIO) as source:
        out = sync(source, tmp_path / "sync", "account_ledger")
    assert out.dead == {
        ("account_ledger", key(note)): "currency: missing (NULL; Mikro writes 0 for the main currency)",
        ("account_ledger", key(receipt)): "debit: 5 is not a known flag value (0 = yes, 1 = no)",
        ("account_ledger", key(slip)): "account_code: missing (NULL cha_cari_cins: posted to an account, a bank or a "
        "cash box?)",
    }
    assert all(r.status == "ok" for r in out.results)
    sent = {k: data for (_, k), data in out.feed.items() if data is not None}
    assert len(sent) == before - 3 + 1  # every other entry, and the advance
    advance = sent["98:AV:7:0"]
    assert (advance["kind"], advance["erp_kind"], advance["account_code"]) == ("other", "98:0:1:0", note.cha_kod)
    assert Decimal(advance["credit"]) == Decimal(12500) and Decimal(advance["debit"]) == 0
    assert advance["sequence"] is None  # the row's cha_RECno is 0, Mikro's "nothing"


def test_ledger_kinds_maps_a_code_and_refuses_a_kind_the_feed_has_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    with adapter(url, SCENARIO, ledger_kinds={"31": "other", "98": "collection"}) as source:
        insert(url, "CARI_HESAP_HAREKETLERI", {**ADVANCE, "cha_kod": "120.01.0003"})
        got = {k: r for k, r, _ in read(source.stream("account_ledger"))}
    notes = [r for k, r in got.items() if k.startswith("31:")]
    assert notes and {r.kind for r in notes} == {"other"}
    assert got["98:AV:7:0"].kind == "collection"
    with pytest.raises(ValidationError, match="ledger_kinds '31': 'rebate' must be one of"):
        adapter(url, SCENARIO, ledger_kinds={"31": "rebate"})
    with pytest.raises(ValidationError, match="ledger_kinds key '3x'"):
        adapter(url, SCENARIO, ledger_kinds={"3x": "other"})


def test_without_cha_recno_the_sequence_stays_empty_and_check_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE CARI_HESAP_HAREKETLERI DROP COLUMN cha_RECno")
    engine.dispose()
    with adapter(url, SCENARIO) as source:
        results = source.check()
        entries = [r for _, r, _ in read(source.stream("account_ledger")) if isinstance(r, LedgerEntry)]
    lines = [r for r in results if r.name == "stream account_ledger: schema"]
    assert all(r.ok for r in lines) and any(
        r.warning and "has no column cha_RECno: account_ledger.sequence will stay empty" in r.detail for r in lines
    )
    assert entries and all(e.sequence is None for e in entries)
