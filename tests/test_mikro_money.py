"""Local amounts and the ERP's own figures: converted at document level and spread over the lines, so the demo
data flags no document; figures the ERP holds that break an invariant go out as held, flagged; a foreign
document without a rate goes out with its local amounts unknown; a mistyped tax id is flagged, not dropped."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.mikro.tables import mikro_tables
from engine.state import StateStore
from engine.sync import Engine
from mapping.errors import RecordError
from mapping.money import to_local_totals
from mapping.taxid import generate_vkn
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.mikro_dbs import adapter, edit, read, records, write

SCENARIO = build(invoice_lines=2000)


def _sync(url: str, folder: Path) -> dict[str, Any]:
    state = StateStore(f"sqlite:///{folder / 'state.db'}")
    state.create()
    with adapter(url, SCENARIO) as source:
        engine = Engine(state, FileSink(FileSinkSettings(kind="file", path=folder / "feed", fsync=False)))
        return {r.stream: r for r in engine.sync(source)}


def _feed(folder: Path, stream: str) -> list[dict[str, Any]]:
    return [
        msgspec.json.decode(line)["data"]
        for batch in sorted((folder / "feed" / stream).glob("*.ndjson"))
        for line in batch.read_bytes().splitlines()
    ]


def _first_invoice(url: str, currency: int) -> Any:
    h = mikro_tables(sa.MetaData()).CARI_HESAP_HAREKETLERI.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(h.cha_evrakno_seri, h.cha_evrakno_sira, h.cha_meblag)
            .where(h.cha_evrak_tip == 63, h.cha_satir_no == 0, h.cha_d_cins == currency, h.cha_kasa_hizmet == 0)
            .order_by(h.cha_evrakno_sira)
            .limit(1)
        ).one()
    engine.dispose()
    return row


def test_the_demo_data_flags_no_document(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    results = _sync(url, tmp_path)
    assert all(r.status == "ok" and r.dead_lettered == 0 for r in results.values()), results
    assert results["invoices"].flagged == results["orders"].flagged == 0
    assert results["invoices"].pushed == len(list(SCENARIO.invoices()))


def test_foreign_documents_convert_at_document_level_and_their_lines_add_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    with adapter(url, SCENARIO) as source:
        documents = [*records(source.stream("invoices")), *records(source.stream("orders"))]
    foreign = [d for d in documents if d.currency != "TRY"]
    assert len(foreign) > 20
    for doc in foreign:
        assert doc.totals_local == to_local_totals(doc.totals, doc.rate, "TRY"), doc.number
        assert sum(line.net_local for line in doc.lines) == doc.totals_local.net, doc.number


def test_figures_that_break_an_invariant_go_out_as_the_erp_holds_them_flagged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    seri, sira, meblag = _first_invoice(url, currency=0)
    wrong = meblag + 10.0
    edit(
        url,
        "CARI_HESAP_HAREKETLERI",
        {"cha_meblag": wrong},
        lambda c: sa.and_(c.cha_evrak_tip == 63, c.cha_evrakno_seri == seri, c.cha_evrakno_sira == sira),
    )
    results = _sync(url, tmp_path)
    assert results["invoices"].flagged == 1 and results["invoices"].dead_lettered == 0
    (flagged,) = [i for i in _feed(tmp_path, "invoices") if i["discrepancies"]]
    assert flagged["number"] == f"{seri}{sira:06d}"
    assert flagged["totals"]["total"] == f"{Decimal(repr(wrong)):.2f}"  # the ERP's figure, not mended
    assert [(d["rule"], d["difference"]) for d in flagged["discrepancies"]] == [
        ("totals_total", "10.00"),
        ("local_total", "10.00"),
    ]


def test_a_foreign_document_without_a_rate_has_unknown_local_amounts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    seri, sira, _ = _first_invoice(url, currency=1)
    document = f"63:{seri}:{sira}"
    edit(
        url,
        "CARI_HESAP_HAREKETLERI",
        {"cha_d_kur": 0.0},
        lambda c: sa.and_(c.cha_evrak_tip == 63, c.cha_evrakno_seri == seri, c.cha_evrakno_sira == sira),
    )
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_d_kur": 0.0}, lambda c: sa.and_(c.cha_evrak_tip == 1, c.cha_d_cins == 1))
    with adapter(url, SCENARIO) as source:
        invoice = {k: r for k, r, _ in read(source.stream("invoices"))}[document]
        receipts = source.stream("collections")
        foreign = [i for chunk in receipts.read(None) for i in chunk if i.cha_evrak_tip == 1 and i.cha_d_cins == 1]
    assert (invoice.rate, invoice.totals_local) == (None, None) and invoice.currency == "USD"
    assert invoice.lines and all(line.net_local is None for line in invoice.lines)
    assert foreign
    with pytest.raises(RecordError, match="without an exchange rate"):
        receipts.map(foreign[0])  # a collection must state its local amount: a dead letter, with the reason


def test_a_mistyped_tax_id_is_flagged_not_dropped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    valid = generate_vkn(random.Random(7))
    mistyped = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    edit(url, "CARI_HESAPLAR", {"cari_vdaire_no": mistyped}, lambda c: c.cari_kod == "120.01.0001")
    edit(url, "CARI_HESAPLAR", {"cari_vdaire_no": valid}, lambda c: c.cari_kod == "120.01.0002")
    edit(url, "CARI_HESAPLAR", {"cari_vdaire_no": "", "cari_VergiKimlikNo": ""}, lambda c: c.cari_kod == "120.01.0003")
    results = _sync(url, tmp_path)
    assert results["accounts"].dead_lettered == 0 and results["accounts"].status == "ok"
    got = {a["code"]: a for a in _feed(tmp_path, "accounts")}
    assert (got["120.01.0001"]["tax_id"], got["120.01.0001"]["tax_id_kind"]) == (mistyped, "VKN")
    assert got["120.01.0001"]["tax_id_valid"] is False
    assert (got["120.01.0002"]["tax_id"], got["120.01.0002"]["tax_id_valid"]) == (valid, True)
    assert (got["120.01.0003"]["tax_id"], got["120.01.0003"]["tax_id_valid"]) == (None, None)
