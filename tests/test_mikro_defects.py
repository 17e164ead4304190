"""The defects found on Mikro's own documentation and public report queries, each with what the feed must say.

- collections come from every document that carries a customer's money, not only receipts (cha_evrak_tip 1);
- a returned or reversed receipt is money given back, never money received;
- a customer's transfer promise (cha_cinsi 17) is not a collection: its closing document is;
- sth_vergi's reading (the docs: the rate; sites: the amount) is a setting, and check says which one the data holds;
- sto_pasif_fl's default follows Mikro's docs (0 = passive), and check says when the data disagrees;
- sip_tip's sales value is a setting the census shows the evidence for, and check warns when the data disagrees.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.base import CheckResult
from connectors.mikro import MikroSettings
from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer import MikroSite
from scenario import expect
from scenario.generate import build
from tests.mikro_dbs import SITE, adapter, edit, insert, read, records, write

SCENARIO = build(invoice_lines=2000)
FACTS = {c.record.number: c.record for c in SCENARIO.collections()}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('mikro') / 'site.db'}"
    write(url, SCENARIO)
    return url


def _rows(url: str, where: Any) -> list[Any]:
    h = mikro_tables(sa.MetaData()).CARI_HESAP_HAREKETLERI
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(h).where(where(h.c)).order_by(h.c.cha_evrakno_sira)).all()
    engine.dispose()
    return list(rows)


def _warnings(results: list[CheckResult], name: str) -> list[str]:
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    return [r.detail for r in results if r.warning and r.name == name]


def test_collections_come_from_every_document_that_carries_money(url: str) -> None:
    """Cash slips (2), note and cheque entry slips (3, 4), incoming wires (34), card payments (54) and promise
    closings (93) are collections, beside receipts (1); each arrives once, with the scenario's amount."""
    with adapter(url, SCENARIO) as source:
        found = read(source.stream("collections"))
    by_type: dict[str, int] = {}
    for key, _, _ in found:
        by_type[key.split(":")[0]] = by_type.get(key.split(":")[0], 0) + 1
    assert set(by_type) == {"1", "2", "3", "4", "34", "54", "93"}, by_type
    got = {record.number: record for _, record, _ in found}
    assert len(got) == len(found) == len(FACTS)
    assert expect.collections_by_dealer(got.values()) == expect.collections_by_dealer(FACTS.values())


def test_a_returned_receipt_is_money_given_back(tmp_path: Path) -> None:
    """cha_normal_Iade 1 on a receipt, or a cheque returned to the customer (47, a debit), is a negative
    collection: the dealer's payments go down, never up."""
    url = f"sqlite:///{tmp_path / 'returned.db'}"
    write(url, SCENARIO)
    cash = _rows(url, lambda c: sa.and_(c.cha_evrak_tip == 1, c.cha_cinsi == 0, c.cha_iptal == sa.false()))[0]
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_normal_Iade": 1}, lambda c: c.cha_Guid == cash.cha_Guid)
    cheque = _rows(url, lambda c: sa.and_(c.cha_evrak_tip == 1, c.cha_cinsi == 1, c.cha_iptal == sa.false()))[0]
    returned = {**cheque._asdict(), "cha_Guid": "5d1c6a52-0000-4000-8000-000000000047", "cha_evrak_tip": 47}
    insert(url, "CARI_HESAP_HAREKETLERI", {**returned, "cha_tip": 0, "cha_evrakno_seri": "CI"})
    with adapter(url, SCENARIO) as source:
        got = {key: record for key, record, _ in read(source.stream("collections"))}
    receipt = got[f"1:{cash.cha_evrakno_seri}:{cash.cha_evrakno_sira}:0"]
    assert receipt.amount == -Decimal(str(cash.cha_meblag)).quantize(Decimal("0.01")) < 0
    assert receipt.amount_local < 0 and receipt.method == "cash"
    back = got[f"47:CI:{cheque.cha_evrakno_sira}:0"]
    assert (
        back.method == "cheque"
        and back.amount == -got[f"1:{cheque.cha_evrakno_seri}:{cheque.cha_evrakno_sira}:0"].amount
    )


def test_a_transfer_promise_is_not_a_collection_its_closing_is(url: str) -> None:
    """Receipt rows with cha_cinsi 17 (Müşteri Havale Sözü) are promises: not in the feed. The 93 document
    closing each one carries the money, with the customer from cha_ciro_cari_kodu."""
    promises = _rows(url, lambda c: sa.and_(c.cha_evrak_tip == 1, c.cha_cinsi == 17))
    closings = _rows(url, lambda c: c.cha_evrak_tip == 93)
    assert promises and len(closings) == len(promises)
    with adapter(url, SCENARIO) as source:
        got = {key: record for key, record, _ in read(source.stream("collections"))}
    assert not {
        k
        for k in got
        if k.startswith("1:") and k in {f"1:{p.cha_evrakno_seri}:{p.cha_evrakno_sira}:0" for p in promises}
    }
    for row in closings:
        record = got[f"93:{row.cha_evrakno_seri}:{row.cha_evrakno_sira}:0"]
        fact = FACTS[record.number]
        assert (record.account_code, record.amount, record.method) == (fact.account_code, fact.amount, "bank_transfer")


def test_a_promise_nobody_closed_sends_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'open-promise.db'}"
    write(url, SCENARIO)
    closing = _rows(url, lambda c: c.cha_evrak_tip == 93)[0]
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_hidden": True}, lambda c: c.cha_Guid == closing.cha_Guid)
    with adapter(url, SCENARIO) as source:
        numbers = [record.number for _, record, _ in read(source.stream("collections")) if record is not None]
    assert closing.cha_evrakno_sira not in {int(n[-6:]) for n in numbers if n.startswith(closing.cha_evrakno_seri)}
    assert len(numbers) == len(FACTS) - 1


@pytest.mark.parametrize(("site_vat", "setting"), [("rate", "amount"), ("amount", "rate")])
def test_sth_vergi_reading_is_a_setting_and_check_says_which_the_data_holds(
    tmp_path: Path, site_vat: str, setting: str
) -> None:
    url = f"sqlite:///{tmp_path / 'vat.db'}"
    site = MikroSite(line_vat=site_vat)
    write(url, SCENARIO, site)
    with adapter(url, SCENARIO, site=site, line_vat=setting) as source:
        warned = _warnings(source.check(), "reading sth_vergi")
    assert len(warned) == 1 and f"set line_vat: {site_vat}" in warned[0], warned
    with adapter(url, SCENARIO, site=site) as source:
        assert _warnings(source.check(), "reading sth_vergi") == []
        invoices = {i.number: i for i in records(source.stream("invoices"))}
    for fact in (s.record for s in SCENARIO.invoices()):
        got = invoices[fact.number]
        assert [(ln.vat_rate, ln.vat) for ln in got.lines] == [(ln.vat_rate, ln.vat) for ln in fact.lines], fact.number


def test_passive_flag_follows_mikros_docs_and_check_reads_the_data(tmp_path: Path) -> None:
    assert MikroSettings(url="sqlite://").product_passive_value == 0  # "0:Pasif 1:Aktif" (STOKLAR page)
    docs = MikroSite(passive_value=0)
    url = f"sqlite:///{tmp_path / 'docs.db'}"
    write(url, SCENARIO, docs)
    first = SCENARIO.products[0].record.code
    edit(url, "STOKLAR", {"sto_pasif_fl": False}, lambda c: c.sto_kod == first)
    with adapter(url, SCENARIO, site=None) as source:  # the adapter's defaults
        assert _warnings(source.check(), "reading sto_pasif_fl") == []
        active = {p.code: p.active for p in records(source.stream("products"))}
    assert active.pop(first) is False and all(active.values())
    # A site that stores 1 for passive (as the sites the research saw do), read with the defaults.
    url = f"sqlite:///{tmp_path / 'site.db'}"
    write(url, SCENARIO, SITE)
    with adapter(url, SCENARIO, site=None) as source:
        warned = _warnings(source.check(), "reading sto_pasif_fl")
        census = [c for c in source.census(None) if c.column.name == "sto_pasif_fl"]
    assert len(warned) == 1 and "set product_passive_value: 1" in warned[0]
    assert [(c.value, c.rows, c.reading and c.reading.action) for c in census] == [((0,), 30, "product passive")]


def test_sales_order_tip_is_shown_by_the_census_and_checked_against_the_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    site = MikroSite(sales_order_tip=1)
    write(url, SCENARIO, site)
    o = mikro_tables(sa.MetaData()).SIPARISLER.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        money = sa.case((o.sip_doviz_cinsi == 0, o.sip_tutar), else_=o.sip_tutar * o.sip_doviz_kuru)
        stored = {
            (tip, cins): (n, round(Decimal(str(total)), 2))
            for tip, cins, n, total in conn.execute(
                sa.select(o.sip_tip, o.sip_cins, sa.func.count(), sa.func.sum(money))
                .where(o.sip_hidden == sa.false())
                .group_by(o.sip_tip, o.sip_cins)
            )
        }
    engine.dispose()
    with adapter(url, SCENARIO, site=None) as source:  # sales_order_tip 0, the majority reading
        warned = _warnings(source.check(), "reading sip_tip")
        census = {c.value: c for c in source.census(None) if c.column.name == "sip_tip x sip_cins"}
    assert len(warned) == 1 and "set sales_order_tip: 1" in warned[0]
    assert {v: (c.rows, c.money) for v, c in census.items()} == stored
    assert census[1, 0].reading is not None and census[1, 0].reading.action.startswith("left out: purchase order")
    with adapter(url, SCENARIO, site=site) as source:
        assert _warnings(source.check(), "reading sip_tip") == []
        orders = {o.number for o in records(source.stream("orders"))}
    assert orders == {s.record.number for s in SCENARIO.orders()}
