"""Mikro rows broken on purpose, through a real sync to a file feed. Mikro writes no NULLs (0, '' and 1899-12-30
are its blanks), so a NULL is damage: never a row dropped by a filter, never 0, the main currency or "not
cancelled", but a dead letter naming the field; so are codes with control characters, unit pointers outside 1-3
and due dates that are no date. Implausible values go out flagged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.mikro import codes
from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer_docs import TRANSFER_PROMISE
from scenario.generate import build
from tests.conftest import database_url
from tests.mikro_dbs import SITE, adapter, edit, insert, write
from tests.strict_sync import Outcome, sync

SCENARIO = build(invoice_lines=300)
T = mikro_tables(sa.MetaData())
# A receipt, not a transfer promise (cha_cinsi 17): a promise is the collection of the document that closes it, so
# the rows picked here (the first by Guid) must leave promises out.
NOT_PROMISE = T.CARI_HESAP_HAREKETLERI.c.cha_cinsi != TRANSFER_PROMISE


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "mikro") as url:
        write(url, SCENARIO)
        yield url


def first(url: str, table: sa.Table, where: Any) -> Any:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(where).order_by(*table.primary_key.columns).limit(1)).one()
    engine.dispose()
    return row


def run(url: str, folder: Path, *streams: str, reconcile: bool = False) -> Outcome:
    with adapter(url, SCENARIO) as source:
        return sync(source, folder, *streams, reconcile=reconcile)


def invoice_key(row: Any) -> str:
    return f"{row.cha_evrak_tip}:{row.cha_evrakno_seri.strip()}:{row.cha_evrakno_sira}"


def invoices_with_lines(url: str, count: int) -> list[Any]:
    """The header rows of the first `count` sales invoices that have stock lines."""
    h, s = T.CARI_HESAP_HAREKETLERI.c, T.STOK_HAREKETLERI.c
    has_lines = sa.exists().where(s.sth_fat_uid == h.cha_Guid)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stmt = sa.select(T.CARI_HESAP_HAREKETLERI).where(h.cha_evrak_tip == 63, h.cha_satir_no == 0, has_lines)
        rows = conn.execute(stmt.order_by(h.cha_evrakno_seri, h.cha_evrakno_sira).limit(count)).all()
    engine.dispose()
    assert len(rows) == count
    return list(rows)


def a_line_of(url: str, invoice: Any) -> Any:
    return first(url, T.STOK_HAREKETLERI, T.STOK_HAREKETLERI.c.sth_fat_uid == invoice.cha_Guid)


def by_guid(prefix: str, row: Any) -> Any:
    return lambda c: c[f"{prefix}_Guid"] == getattr(row, f"{prefix}_Guid")


def test_rows_a_filter_would_drop_on_null_are_read_and_dead_lettered(url: str, tmp_path: Path) -> None:
    account = first(url, T.CARI_HESAPLAR, sa.true())
    edit(url, "CARI_HESAPLAR", {"cari_kod": None}, by_guid("cari", account))
    h = T.CARI_HESAP_HAREKETLERI.c
    receipt = first(url, T.CARI_HESAP_HAREKETLERI, sa.and_(h.cha_evrak_tip == 1, h.cha_cari_cins == 0, NOT_PROMISE))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_cari_cins": None}, by_guid("cha", receipt))
    f = T.STOK_SATIS_FIYAT_LISTELERI.c
    price = first(url, T.STOK_SATIS_FIYAT_LISTELERI, f.sfiyat_listesirano.not_in(SITE.general_price_lists))
    edit(url, "STOK_SATIS_FIYAT_LISTELERI", {"sfiyat_listesirano": None}, by_guid("sfiyat", price))
    out = run(url, tmp_path, "accounts", "collections", "discounts")
    assert out.dead["accounts", str(account.cari_Guid).lower()] == "code: missing"
    receipt_key = f"{invoice_key(receipt)}:{receipt.cha_satir_no}"
    assert out.dead["collections", receipt_key].startswith("account_code: missing (NULL cha_cari_cins")
    price_key = f"sfiyat:{str(price.sfiyat_Guid).lower()}:"
    assert (
        out.dead["discounts", price_key] == "account_code: missing (NULL sfiyat_listesirano: the price is on no list)"
    )
    assert len(out.dead) == 3 and all(r.status == "ok" for r in out.results)


def test_a_row_whose_hidden_flag_is_null_is_not_deleted_by_reconcile(url: str, tmp_path: Path) -> None:
    account = first(url, T.CARI_HESAPLAR, sa.true())
    key = str(account.cari_Guid).lower()
    assert run(url, tmp_path, "accounts").feed["accounts", key] is not None
    edit(url, "CARI_HESAPLAR", {"cari_hidden": None}, by_guid("cari", account))
    out = run(url, tmp_path, "accounts", reconcile=True)
    assert out.feed["accounts", key] is not None  # never sent as a delete
    assert out.results[0].deleted == 0
    assert out.dead["accounts", key] == "cari_hidden: missing (no flag value)"


def test_a_null_a_risk_figure_would_pass_over_makes_the_limit_a_dead_letter(url: str, tmp_path: Path) -> None:
    """The balance, open orders and portfolio filters read NULL flags too: a NULL there is the account's dead
    letter, not a row its exposure quietly leaves out."""
    h, k = T.CARI_HESAP_HAREKETLERI.c, T.ODEME_EMIRLERI.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        limited = sa.select(T.RISK.c.cari_kod)
        moving = conn.execute(
            sa.select(h.cha_Guid, h.cha_kod).where(h.cha_kod.in_(limited), h.cha_cari_cins == 0).order_by(h.cha_Guid)
        ).first()
        paper = conn.execute(
            sa.select(k.sck_Guid, k.sck_sahip_cari_kodu)
            .where(k.sck_sahip_cari_kodu.in_(limited), k.sck_sahip_cari_kodu != moving.cha_kod, k.sck_sonpoz == 0)
            .order_by(k.sck_Guid)
        ).first()
    engine.dispose()
    assert moving is not None and paper is not None
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_iptal": None}, lambda c: c.cha_Guid == moving.cha_Guid)
    edit(url, "ODEME_EMIRLERI", {"sck_sonpoz": None}, lambda c: c.sck_Guid == paper.sck_Guid)
    out = run(url, tmp_path, "risk_limits")
    assert out.dead["risk_limits", moving.cha_kod] == (
        "open_balance: a row of the account has a NULL cancelled or hidden flag (iptal, hidden)"
    )
    assert out.dead["risk_limits", paper.sck_sahip_cari_kodu] == (
        "uncashed_cheques: a cheque or note of the account has a NULL position (sck_sonpoz)"
    )
    assert len(out.dead) == 2 and all(r.status == "ok" for r in out.results)


def test_a_cancelled_namesake_of_a_limited_account_changes_nothing(url: str, tmp_path: Path) -> None:
    """One row per limit: the outer join takes the live account only, so a cancelled card with the same code
    (an old card kept) neither doubles the limit's row nor makes it a dead letter."""
    limit = first(url, T.RISK, sa.true())
    account = first(url, T.CARI_HESAPLAR, T.CARI_HESAPLAR.c.cari_kod == limit.cari_kod)
    before = run(url, tmp_path / "before", "risk_limits").feed["risk_limits", limit.cari_kod]
    guid = uuid.uuid4()
    namesake = {**account._mapping, "cari_iptal": True}
    namesake["cari_Guid"] = guid if isinstance(account.cari_Guid, uuid.UUID) else str(guid)
    insert(url, "CARI_HESAPLAR", namesake)
    out = run(url, tmp_path / "after", "risk_limits")
    assert out.dead == {} and all(r.status == "ok" for r in out.results)
    after = out.feed["risk_limits", limit.cari_kod]
    assert before is not None and after is not None
    assert {k: v for k, v in after.items() if k != "as_of"} == {k: v for k, v in before.items() if k != "as_of"}


def test_a_stock_movement_of_no_known_kind_still_counts(url: str, tmp_path: Path) -> None:
    before = run(url, tmp_path / "before", "stock_levels").feed
    assert edit(url, "STOK_HAREKETLERI", {"sth_cins": None}, lambda c: c.sth_cins != 9) > 0
    after = run(url, tmp_path / "after", "stock_levels").feed

    def levels(feed: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
        return {key: (data["on_hand"], data["reserved"]) for key, data in feed.items()}

    assert levels(after) == levels(before)


def test_a_null_a_stock_sum_would_pass_over_makes_the_level_a_dead_letter(url: str, tmp_path: Path) -> None:
    s, o = T.STOK_HAREKETLERI.c, T.SIPARISLER.c
    moved = first(url, T.STOK_HAREKETLERI, sa.and_(s.sth_tip == 0, s.sth_giris_depo_no > 0))
    edit(url, "STOK_HAREKETLERI", {"sth_iptal": None}, by_guid("sth", moved))
    line = first(
        url,
        T.SIPARISLER,
        sa.and_(
            o.sip_tip == 0,
            o.sip_cins == codes.NORMAL_ORDER,
            o.sip_iptal == sa.false(),
            o.sip_miktar > o.sip_teslim_miktar,
            o.sip_stok_kod != moved.sth_stok_kod,
            # a level the movements make (an entry, or a transfer in): a reservation alone makes none
            sa.exists().where(
                s.sth_stok_kod == o.sip_stok_kod, s.sth_giris_depo_no == o.sip_depono, s.sth_tip.in_((0, 2))
            ),
        ),
    )
    edit(url, "SIPARISLER", {"sip_kapat_fl": None}, by_guid("sip", line))
    out = run(url, tmp_path, "stock_levels")
    assert out.dead["stock_levels", f"{moved.sth_stok_kod}:{moved.sth_giris_depo_no}"] == (
        "on_hand: 1 movement(s) of the item here have a NULL sth_iptal, sth_hidden, sth_tip or sth_miktar"
    )
    assert out.dead["stock_levels", f"{line.sip_stok_kod}:{line.sip_depono}"] == (
        "reserved: 1 open sales order line(s) of the item here have a NULL sip_iptal, sip_hidden, sip_kapat_fl or "
        "quantity"
    )
    assert len(out.dead) == 2 and all(r.status == "ok" for r in out.results)


def test_values_that_cannot_be_represented_are_dead_letters(url: str, tmp_path: Path) -> None:
    one, two, three, four = invoices_with_lines(url, 4)
    edit(url, "STOK_HAREKETLERI", {"sth_tutar": None}, lambda c: c.sth_fat_uid == one.cha_Guid)
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_d_cins": None}, by_guid("cha", two))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_iptal": None}, by_guid("cha", three))
    edit(url, "STOK_HAREKETLERI", {"sth_birim_pntr": 7}, lambda c: c.sth_fat_uid == four.cha_Guid)
    account = first(url, T.CARI_HESAPLAR, sa.true())
    edit(url, "CARI_HESAPLAR", {"cari_kod": "C\x1b" + "X" * 5}, by_guid("cari", account))
    out = run(url, tmp_path, "invoices", "accounts")
    assert out.dead["invoices", invoice_key(one)] == "lines.gross: missing (NULL where an amount is required)"
    assert out.dead["invoices", invoice_key(two)] == "currency: missing (NULL; Mikro writes 0 for the main currency)"
    assert out.dead["invoices", invoice_key(three)] == "cancelled: missing (no flag value)"
    assert out.dead["invoices", invoice_key(four)] == "lines.unit: unit pointer 7 is not 1, 2 or 3"
    assert out.dead["accounts", str(account.cari_Guid).lower()] == "code: control character U+001B at position 2"


def test_a_due_date_that_is_no_date_is_a_dead_letter(url: str, tmp_path: Path) -> None:
    h = T.CARI_HESAP_HAREKETLERI.c
    cheque = first(url, T.CARI_HESAP_HAREKETLERI, sa.and_(h.cha_evrak_tip == 1, h.cha_cinsi == 1))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_vade": 20261345}, by_guid("cha", cheque))
    out = run(url, tmp_path, "collections")
    key = f"{invoice_key(cheque)}:{cheque.cha_satir_no}"
    assert out.dead["collections", key] == "due_date: cha_vade 20261345 is not a yyyymmdd date"


def test_implausible_values_go_out_flagged(url: str, tmp_path: Path) -> None:
    (invoice,) = invoices_with_lines(url, 1)
    line = a_line_of(url, invoice)
    edit(url, "STOK_HAREKETLERI", {"sth_miktar": -line.sth_miktar}, by_guid("sth", line))
    out = run(url, tmp_path, "invoices")
    data = out.feed["invoices", invoice_key(invoice)]
    assert data is not None and not out.dead
    assert [f["rule"] for f in data["flags"]] == ["negative_quantity"]
    assert data["flags"][0]["value"].startswith("-")


def test_a_collection_whose_side_is_unknown_is_not_given_a_sign(url: str, tmp_path: Path) -> None:
    h = T.CARI_HESAP_HAREKETLERI.c
    receipt = first(url, T.CARI_HESAP_HAREKETLERI, sa.and_(h.cha_evrak_tip == 1, h.cha_tip == 1, NOT_PROMISE))
    edit(url, "CARI_HESAP_HAREKETLERI", {"cha_tip": 5}, by_guid("cha", receipt))
    out = run(url, tmp_path, "collections")
    key = f"{invoice_key(receipt)}:{receipt.cha_satir_no}"
    assert out.dead["collections", key] == "amount: 5 is not a known flag value (0 = yes, 1 = no)"
