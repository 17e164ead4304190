"""The Mikro code census: every code value in the company's tables, counted, and what the adapter does with it.

Each code column is read the way this install's settings read it: a value the settings map is
sent (with the source that confirms the reading, or "your settings"), one left out on purpose says
why, anything else is unknown. Money is in local currency: an amount in a foreign currency is
multiplied by its row's rate (rows one by one, so a few cents off the documents' own conversion).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import ConnectorError
from connectors.census import UNCONFIRMED, CodeColumn, CodeCount, Reading, count_codes, excluded, mapped
from connectors.mikro import codes
from connectors.mikro.collections import on_account
from connectors.mikro.readings import YOURS
from connectors.mikro.streams import MikroEnv
from mapping.errors import RecordError

__all__ = ["census", "code_columns"]

Explain = Callable[[tuple[Any, ...]], Reading | None]


def _local(amount: Any, currency: Any, rate: Any) -> Any:
    """`amount` in local currency, row by row (a local row's rate may be 0 or 1: Mikro writes either)."""
    return sa.case((currency == codes.LOCAL_CURRENCY_CODE, amount), else_=amount * rate)


def _source(code: Any, setting: Mapping[Any, Any], default: Mapping[Any, Any], source: str) -> str:
    return source if default.get(code) == setting.get(code) else YOURS


def _movement(env: MikroEnv) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        evrak, cinsi, tip, iade = value
        found = env.movements.reading(evrak, cinsi, tip, iade)
        if found is None:
            return None
        text = found.describe(tip, iade)
        return mapped(text, found.source) if found.kind in ("invoice", "collection") else excluded(text, found.source)

    return explain


def _ledger(env: MikroEnv) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        evrak, cinsi, tip, iade = value
        try:
            found = env.ledger.of(evrak, cinsi, tip, iade)
        except RecordError:  # a side that is neither debit nor credit: the rows are dead letters
            return None
        if found.source is None:
            # No reading: the rows are sent all the same, as kind other with their codes in erp_kind (an unknown
            # here would say they are not in the feed); movement_codes' census line warns about the same rows.
            return mapped("ledger entry, kind other: no reading (map it in ledger_kinds)", UNCONFIRMED)
        named = f" ({evrak} {found.label})" if found.label else ""
        return mapped(f"ledger entry, kind {found.kind}{named}", found.source)

    return explain


def _stock(env: MikroEnv) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        tip, cins, evraktip = value
        direction = codes.STH_TIPS.get(tip)
        if direction is None:
            return None  # not counted in stock: the stream reads sth_tip 0, 1 and 2 only
        document = codes.STH_EVRAKTIP.get(evraktip, f"document type {evraktip}")
        source = codes.DOCS_STH if evraktip in codes.STH_EVRAKTIP else UNCONFIRMED
        if cins in env.no_stock_cins:
            where = "a price-difference invoice line" if evraktip in (codes.IN_INVOICE, codes.OUT_INVOICE) else document
            src = codes.DOCS_STH if cins in codes.NO_STOCK_CINS else YOURS
            return excluded(f"from stock levels: sth_cins {cins} moves no goods ({where})", src)
        if evraktip in (codes.IN_INVOICE, codes.OUT_INVOICE):
            return mapped(f"invoice line (of its invoice, if the feed reads it); stock {direction}", source)
        return mapped(f"stock {direction} ({document})", source)

    return explain


def _movement_kind(env: MikroEnv) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        evraktip, cins, tip, iade = value
        document = codes.STH_EVRAKTIP.get(evraktip, f"document type {evraktip}")
        if cins in env.no_stock_cins:
            src = codes.DOCS_STH if cins in codes.NO_STOCK_CINS else YOURS
            return excluded(f"sth_cins {cins} moves no goods ({document})", src)
        if tip == codes.TRANSFER:
            direction = "two movements, out of sth_cikis_depo_no and into sth_giris_depo_no"
        elif tip in (codes.IN, codes.OUT):
            direction = codes.STH_TIPS[tip]
        else:
            return None  # no direction: the rows are dead letters
        found = env.stock_kinds.of(evraktip, cins, tip, iade)
        if found is None:
            # Sent all the same, as kind other with their codes in erp_kind (as the ledger's unread codes).
            return mapped(f"stock movement, kind other: no reading ({document}; map it in stock_movement_kinds)")
        label = found.label or document
        return mapped(f"stock movement, kind {found.kind} ({label}), {direction}", found.source)

    return explain


def _order(env: MikroEnv) -> Explain:
    tip_source = UNCONFIRMED if env.sales_order_tip == codes.SALES_ORDER_TIP else YOURS

    def explain(value: tuple[Any, ...]) -> Reading | None:
        tip, cins = value
        if tip != env.sales_order_tip:
            return excluded(
                f"purchase order: sales orders are sip_tip {env.sales_order_tip} (sales_order_tip)", tip_source
            )
        kind = env.order_kinds.get(cins)
        if kind is None:
            return None
        name = codes.SIP_CINS.get(cins, f"sip_cins {cins}")
        source = _source(cins, env.order_kinds, codes.DEFAULT_ORDER_KINDS, tip_source)
        if kind == "exclude":
            return excluded(f"{name}: order_kinds leaves it out", source)
        return mapped(f"sales order ({name})" + (", status proposal" if kind == "proposal" else ""), source)

    return explain


def _flag(true_means: str, false_means: str, setting: bool, default: bool, source: str) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        if value[0] is None:
            return None
        means = true_means if bool(value[0]) == setting else false_means
        return mapped(means, source if setting == default else YOURS)

    return explain


def _price_list(env: MikroEnv) -> Explain:
    # Which lists are general is the site's: list 1 is the one public queries read as the general list.
    source = UNCONFIRMED if env.general_price_lists == frozenset({1}) else YOURS

    def explain(value: tuple[Any, ...]) -> Reading | None:
        number = value[0]
        if number is None:
            return None  # a price on no list: a dead letter of discounts
        if number in env.general_price_lists:
            return mapped(f"general price list {number}: price_lists", source)
        return mapped(f"a customer's own list {number}: discounts (fixed_price) for the accounts holding it", source)

    return explain


def _currency(env: MikroEnv) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        code = value[0] or 0
        iso = env.currencies.get(code)
        if iso is None:
            return None
        if code == codes.LOCAL_CURRENCY_CODE:
            return mapped(f"currency {iso} (the company's main currency)", f"{codes.TRACE} (TL rows: 0, rate 1)")
        default = codes.DEFAULT_CURRENCY_CODES.get(code) == iso
        return mapped(f"currency {iso}", UNCONFIRMED if default else YOURS)

    return explain


def _vat(env: MikroEnv) -> Explain:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        try:
            rate = env.vat.rates().get(value[0])
        except (SQLAlchemyError, ConnectorError):  # check says why the rates cannot be read
            return None
        if rate is None:
            return None
        return mapped(f"VAT {rate}%", YOURS if env.vat.from_settings else f"{env.vat.function} on this database")

    return explain


def code_columns(env: MikroEnv) -> dict[str, CodeColumn]:
    kinds = env.account_kinds

    def account_kind(value: tuple[Any, ...]) -> Reading | None:
        kind = kinds.get(value[0])
        if kind is None:
            return None
        name = codes.BAGLANTI_TIPI.get(value[0], "")
        # The page names each link type; that a "Diğer Cari" or a prospect is a customer is dealersync's call.
        documented = codes.DOCS_CARI if value[0] in codes.NAMED_KINDS else UNCONFIRMED
        source = _source(value[0], kinds, codes.DEFAULT_ACCOUNT_KINDS, documented)
        return mapped(f"account kind {kind} ({name})", source)

    local_money = "local currency (× the row's rate)"
    return {
        "cha": CodeColumn(
            "cha_evrak_tip x cha_cinsi x cha_tip x cha_normal_Iade",
            "invoices, collections",
            "movement_codes",
            f"cha_meblag of rows on an account, {local_money}",
            _movement(env),
        ),
        "cha_ledger": CodeColumn(
            "cha_evrak_tip x cha_cinsi x cha_tip x cha_normal_Iade",
            "account_ledger",
            "ledger_kinds",
            f"cha_meblag of rows posted to an account, {local_money}",
            _ledger(env),
        ),
        "cha_d_cins": CodeColumn(
            "cha_d_cins",
            "invoices, collections, account_ledger",
            "currency_codes",
            "cha_meblag, in that currency",
            _currency(env),
        ),
        "sth": CodeColumn(
            "sth_tip x sth_cins x sth_evraktip",
            "stock_levels, invoices",
            "no_stock_cins",
            f"sth_tutar, {local_money}",
            _stock(env),
        ),
        "sth_movement": CodeColumn(
            "sth_evraktip x sth_cins x sth_tip x sth_normal_iade",
            "stock_movements",
            "stock_movement_kinds, no_stock_cins",
            f"sth_tutar, {local_money}",
            _movement_kind(env),
        ),
        "sth_vergi_pntr": CodeColumn(
            "sth_vergi_pntr", "invoices", "vat_rates / vat_function", f"sth_tutar, {local_money}", _vat(env)
        ),
        "sip": CodeColumn(
            "sip_tip x sip_cins",
            "orders",
            "sales_order_tip, order_kinds",
            f"sip_tutar, {local_money}",
            _order(env),
        ),
        "sip_doviz_cinsi": CodeColumn(
            "sip_doviz_cinsi", "orders", "currency_codes", "sip_tutar, in that currency", _currency(env)
        ),
        "sto_pasif_fl": CodeColumn(
            "sto_pasif_fl",
            "products",
            "product_passive_value",
            "",
            _flag("product passive", "product active", env.passive_value, bool(codes.PASSIVE_DEFAULT), codes.DOCS_STO),
        ),
        "sto_toptan_vergi": CodeColumn("sto_toptan_vergi", "products", "vat_rates / vat_function", "", _vat(env)),
        "bar_master": CodeColumn(
            "bar_master",
            "products",
            "master_barcode_value",
            "",
            _flag(
                "the unit's main barcode",
                "another barcode of the unit",
                env.master_barcode_value,
                bool(codes.MASTER_BARCODE_DEFAULT),
                codes.DOCS_BAR,
            ),
        ),
        "cari_baglanti_tipi": CodeColumn("cari_baglanti_tipi", "accounts", "account_kinds", "", account_kind),
        "sfiyat_listesirano": CodeColumn(
            "sfiyat_listesirano", "price_lists, discounts", "general_price_lists", "", _price_list(env)
        ),
        "sfiyat_doviz": CodeColumn("sfiyat_doviz", "price_lists, discounts", "currency_codes", "", _currency(env)),
        "sfl_kdvdahil": CodeColumn(
            "sfl_kdvdahil",
            "price_lists",
            "price_list_vat_value",
            "",
            _flag(
                "the list's prices include VAT",
                "the list's prices exclude VAT",
                env.price_list_vat_value,
                bool(codes.PRICE_LIST_VAT_DEFAULT),
                codes.QUERIES_SFL,
            ),
        ),
    }


def census(env: MikroEnv, since: dt.date | None, disabled: frozenset[str] = frozenset()) -> list[CodeCount]:
    """The census of the documents dated `since` or later, and of every live card, for the enabled streams."""
    columns = code_columns(env)
    day = None if since is None else dt.datetime(since.year, since.month, since.day)
    t = env.tables
    h, s, o = t.CARI_HESAP_HAREKETLERI, t.STOK_HAREKETLERI, t.SIPARISLER
    k, b, c = t.STOKLAR, t.BARKOD_TANIMLARI, t.CARI_HESAPLAR

    def dated(hidden: Any, date: Any) -> Any:
        return sa.and_(hidden == sa.false(), sa.true() if day is None else date >= day)

    cha_where = sa.and_(dated(h.c.cha_hidden, h.c.cha_tarihi), on_account(h.c))
    cha_money = _local(h.c.cha_meblag, h.c.cha_d_cins, h.c.cha_d_kur)
    posted = sa.and_(dated(h.c.cha_hidden, h.c.cha_tarihi), h.c.cha_cari_cins == codes.CARI)  # the ledger's rows
    sth_where = dated(s.c.sth_hidden, s.c.sth_tarih)
    sth_money = _local(s.c.sth_tutar, s.c.sth_har_doviz_cinsi, s.c.sth_har_doviz_kuru)
    sip_where = dated(o.c.sip_hidden, o.c.sip_tarih)
    sip_money = _local(o.c.sip_tutar, o.c.sip_doviz_cinsi, o.c.sip_doviz_kuru)
    live_item = sa.and_(k.c.sto_iptal == sa.false(), k.c.sto_hidden == sa.false())
    live_account = sa.and_(c.c.cari_iptal == sa.false(), c.c.cari_hidden == sa.false())
    live_bar = sa.and_(b.c.bar_iptal == sa.false(), b.c.bar_hidden == sa.false())
    f, lst = t.STOK_SATIS_FIYAT_LISTELERI, t.STOK_SATIS_FIYAT_LISTE_TANIMLARI
    live_price = sa.and_(f.c.sfiyat_iptal == sa.false(), f.c.sfiyat_hidden == sa.false())
    live_list = sa.and_(lst.c.sfl_iptal == sa.false(), lst.c.sfl_hidden == sa.false())
    cha_codes = [h.c.cha_evrak_tip, h.c.cha_cinsi, h.c.cha_tip, h.c.cha_normal_Iade]
    counts: list[tuple[str, list[Any], Any, sa.Table, Any]] = [
        ("cha", cha_codes, cha_money, h, cha_where),
        ("cha_ledger", cha_codes, cha_money, h, posted),
        ("cha_d_cins", [h.c.cha_d_cins], h.c.cha_meblag, h, cha_where),
        ("sth", [s.c.sth_tip, s.c.sth_cins, s.c.sth_evraktip], sth_money, s, sth_where),
        ("sth_movement", [s.c.sth_evraktip, s.c.sth_cins, s.c.sth_tip, s.c.sth_normal_iade], sth_money, s, sth_where),
        ("sth_vergi_pntr", [s.c.sth_vergi_pntr], sth_money, s, sth_where),
        ("sip", [o.c.sip_tip, o.c.sip_cins], sip_money, o, sip_where),
        ("sip_doviz_cinsi", [o.c.sip_doviz_cinsi], o.c.sip_tutar, o, sip_where),
        ("sto_pasif_fl", [sa.cast(k.c.sto_pasif_fl, sa.Integer)], None, k, live_item),
        ("sto_toptan_vergi", [k.c.sto_toptan_vergi], None, k, live_item),
        ("bar_master", [sa.cast(b.c.bar_master, sa.Integer)], None, b, live_bar),
        ("cari_baglanti_tipi", [c.c.cari_baglanti_tipi], None, c, live_account),
        ("sfiyat_listesirano", [f.c.sfiyat_listesirano], None, f, live_price),
        ("sfiyat_doviz", [f.c.sfiyat_doviz], None, f, live_price),
        ("sfl_kdvdahil", [sa.cast(lst.c.sfl_kdvdahil, sa.Integer)], None, lst, live_list),
    ]
    found: list[CodeCount] = []
    with env.engine.connect() as conn:
        for name, code_exprs, money, table, where in counts:
            column = columns[name]
            if set(column.stream.split(", ")) <= disabled:
                continue
            found += count_codes(conn, column, code_exprs, money, table, where)
    return found
