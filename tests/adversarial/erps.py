"""The SQL ERPs the fuzz edits (Logo, Mikro, Netsis): how a scenario is laid into a SQLite copy, which tables are
edited, and, for each table a stream reads its records from, the feed keys its rows give and which rows belong to
the stream.

Membership follows each adapter's README: the filters it documents (Logo's `TRCODE IN (...)`, Netsis's
`RISK_SINIRI > 0`, ...) decide, and where a filter also reads NULLs (Logo's `CODE <> 'ÿ'`), a NULL row belongs.
Where the rule is a reading too intricate to restate (Mikro's movement codes), a row belongs when it did in the
clean database (it was read there), and the columns that decide it are never edited. A reference that leads
nowhere (a dangling account or item) never takes a row out of its stream: the brief's rule is that such a row is
delivered or dead-lettered.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from connectors.logo import codes as logo_codes
from connectors.logo.stock import GOODS, movement_kind
from connectors.logo.writer import LogoWriter
from connectors.mikro import codes as mikro_codes
from connectors.mikro.writer import MikroSite, MikroWriter
from connectors.netsis import codes as netsis_codes
from connectors.netsis.writer import NetsisWriter
from scenario.facts import Change, Scenario

__all__ = ["ERPS", "Ctx", "Erp", "Target"]

Row = sqlite3.Row


class Writer(Protocol):
    def create_tables(self) -> None: ...
    def write(self, scenario: Scenario) -> None: ...
    def apply(self, change: Change) -> None: ...


@dataclass
class Ctx:
    """What a key or membership rule may look at: the edited database, the adapter's settings, and which rows
    belonged to their stream in the clean database (per (stream, table): row keys; copies count as their source)."""

    conn: sqlite3.Connection
    settings: Any
    baseline: Mapping[tuple[str, str], frozenset[tuple[Any, ...]]] = field(default_factory=dict)
    copies: Mapping[str, Mapping[tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=dict)
    primary: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def row_key(self, table: str, row: Row) -> tuple[Any, ...]:
        if table not in self.primary:
            self.primary[table] = primary_key(self.conn, table)
        return tuple(row[k] for k in self.primary[table])

    def one(self, sql: str, *params: Any) -> Row | None:
        return self.conn.execute(sql, [_param(p) for p in params]).fetchone()

    def all(self, sql: str, *params: Any) -> list[Row]:
        return self.conn.execute(sql, [_param(p) for p in params]).fetchall()


# Text a row holds that is not UTF-8 reads back with surrogates; compared as TEXT (CAST(? AS TEXT)), its bytes
# are what the database holds.
TEXT = "CAST(? AS TEXT)"


def _param(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "surrogateescape")
    return value


@dataclass(frozen=True)
class Target:
    """A table a stream reads its records from: `keys` are the feed keys a row gives (a line gives its
    document's), `member` whether the row belongs to the stream (None: as in the clean database)."""

    stream: str
    table: str
    keys: Callable[[Ctx, Row], list[str]]
    member: Callable[[Ctx, Row], bool] | None = None


@dataclass(frozen=True)
class Erp:
    name: str
    database: str  # the SQLite file's name
    settings: Callable[[Path], dict[str, Any]]  # adapter settings reading the database in a folder
    writer: Callable[[sa.Engine], Writer]
    targets: tuple[Target, ...]
    edited: Mapping[str, frozenset[str]]  # the tables the fuzz edits -> columns it never changes
    accounts: tuple[str, str]  # (table, code column): rows a normal change refers to are not edited
    products: tuple[str, str]
    # Values the fuzz holds back because they hit a defect already reported, each with its strict xfail case in
    # tests/test_adversarial_defects.py (table -> column -> the values held back, or None for any value). A fix
    # removes its entry, and the fuzz covers those values again.
    held_back: Mapping[str, Mapping[str, Callable[[Any], bool] | None]] = field(default_factory=dict)

    def frozen(self) -> dict[str, frozenset[str]]:
        """Columns never edited, per edited table: those membership rests on, and those held back whole."""
        held = self.held_back
        return {t: cols | {c for c, v in held.get(t, {}).items() if v is None} for t, cols in self.edited.items()}

    def refused(self) -> dict[str, dict[str, Callable[[Any], bool]]]:
        return {t: {c: v for c, v in cols.items() if v is not None} for t, cols in self.held_back.items()}

    def member(self, ctx: Ctx, target: Target, row: Row) -> bool:
        if target.member is not None:
            return target.member(ctx, row)
        known = ctx.baseline.get((target.stream, target.table), frozenset())
        key = ctx.row_key(target.table, row)
        return key in known or ctx.copies.get(target.table, {}).get(key) in known

    def target(self, stream: str, table: str) -> Target:
        return next(t for t in self.targets if t.stream == stream and t.table == table)

    def parent_keys(self, ctx: Ctx, stream: str, table: str, row: Row | None) -> list[str]:
        """A line's keys: its document's, when the document belongs to the stream."""
        if row is None:
            return []
        parent = self.target(stream, table)
        return parent.keys(ctx, row) if self.member(ctx, parent, row) else []


def primary_key(conn: sqlite3.Connection, table: str) -> tuple[str, ...]:
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return tuple(r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"])


# -- Logo ----------------------------------------------------------------------------------------------------

_L = "LG_001_"
_LP = "LG_001_01_"


def _logo_collection(ctx: Ctx, r: Row) -> bool:
    pairs = {tuple(int(p) for p in code.split(":")) for code in ctx.settings.collection_codes}
    return r["SIGN"] == 1 and (r["MODULENR"], r["TRCODE"]) in pairs


def _logo_price(r: Row) -> bool:
    return r["PTYPE"] == logo_codes.PRCLIST_SALES


def _logo_general(r: Row) -> bool:
    """A price card restricted to no account and no account group: a price list's."""
    return not r["CLIENTCODE"] and not r["CLSPECODE"]


def _logo_line(table: str, ref: str) -> Callable[[Ctx, Row], list[str]]:
    def keys(ctx: Ctx, r: Row) -> list[str]:
        parent = ctx.one(f'SELECT * FROM "{table}" WHERE LOGICALREF = ?', r[ref])
        return LOGO.parent_keys(ctx, "orders" if "ORF" in table else "invoices", table, parent)

    return keys


def _logo_goods_line(ctx: Ctx, r: Row) -> bool:
    """An STLINE row the stock movements stream reads: a goods line, or one whose LINETYPE it cannot tell."""
    return r["LINETYPE"] is None or ctx.settings.line_kinds.get(r["LINETYPE"]) in (None, *GOODS)


def _logo_movements(ctx: Ctx, r: Row) -> list[str]:
    """A line's movement key; a transfer's row gives two (out and in), read as the stream reads its kind."""
    invoice = ctx.one(f'SELECT "TRCODE" FROM "{_LP}INVOICE" WHERE LOGICALREF = ?', r["INVOICEREF"])
    kind, _ = movement_kind(ctx.settings, r["TRCODE"], None if invoice is None else invoice["TRCODE"])
    key = f"001:01:{r['LOGICALREF']}"
    return [f"{key}|out", f"{key}|in"] if kind == "transfer" else [key]


def _ref(prefix: str) -> Callable[[Ctx, Row], list[str]]:
    return lambda ctx, r: [f"{prefix}{r['LOGICALREF']}"]


LOGO = Erp(
    name="logo",
    database="logo.db",
    settings=lambda folder: {
        "url": f"sqlite:///{folder / 'logo.db'}",
        "firm": 1,
        "periods": [1],
        "discount_view": "DEALERSYNC_DISCOUNTS",
    },
    writer=lambda engine: LogoWriter(engine, firm=1, period=1),
    targets=(
        Target("accounts", f"{_L}CLCARD", _ref("001:"), lambda ctx, r: r["CODE"] != logo_codes.PLACEHOLDER_CODE),
        Target(
            "products",
            f"{_L}ITEMS",
            _ref("001:"),
            lambda ctx, r: r["CARDTYPE"] not in logo_codes.ITEM_CLASS_CARDTYPES,
        ),
        Target(
            "stock_levels",
            f"{_LP}GNTOTST",
            lambda ctx, r: [f"001:01:{r['STOCKREF']}:{r['INVENNO']}"],
            lambda ctx, r: r["INVENNO"] is None or r["INVENNO"] >= 0,
        ),
        Target("discounts", f"{_L}PRCLIST", _ref("001:PRC:"), lambda ctx, r: _logo_price(r) and not _logo_general(r)),
        Target("price_lists", f"{_L}PRCLIST", _ref("001:"), lambda ctx, r: _logo_price(r) and _logo_general(r)),
        Target("discounts", "DEALERSYNC_DISCOUNTS", _ref("001:DEC:"), lambda ctx, r: True),
        Target("risk_limits", f"{_LP}CLRNUMS", _ref("001:01:"), lambda ctx, r: True),
        Target(
            "orders", f"{_LP}ORFICHE", _ref("001:01:"), lambda ctx, r: r["TRCODE"] in ctx.settings.sales_order_trcodes
        ),
        Target("orders", f"{_LP}ORFLINE", _logo_line(f"{_LP}ORFICHE", "ORDFICHEREF"), lambda ctx, r: True),
        Target("invoices", f"{_LP}INVOICE", _ref("001:01:"), lambda ctx, r: r["TRCODE"] in ctx.settings.invoice_kinds),
        Target("invoices", f"{_LP}STLINE", _logo_line(f"{_LP}INVOICE", "INVOICEREF"), lambda ctx, r: True),
        Target("collections", f"{_LP}CLFLINE", _ref("001:01:"), _logo_collection),
        Target("account_ledger", f"{_LP}CLFLINE", _ref("001:01:"), lambda ctx, r: True),
        Target("stock_movements", f"{_LP}STLINE", _logo_movements, _logo_goods_line),
    ),
    edited={
        name: frozenset()
        for name in (
            f"{_L}CLCARD",
            f"{_L}ITEMS",
            f"{_LP}GNTOTST",
            f"{_L}PRCLIST",
            "DEALERSYNC_DISCOUNTS",
            f"{_LP}CLRNUMS",
            f"{_LP}ORFICHE",
            f"{_LP}ORFLINE",
            f"{_LP}INVOICE",
            f"{_LP}STFICHE",
            f"{_LP}STLINE",
            f"{_LP}CLFLINE",
            f"{_LP}PAYTRANS",
            f"{_LP}GNTOTCL",
        )
    },
    accounts=(f"{_L}CLCARD", "CODE"),
    products=(f"{_L}ITEMS", "CODE"),
)


# -- Mikro ---------------------------------------------------------------------------------------------------


def _guid(value: Any) -> str:
    return str(uuid.UUID(hex=value)) if isinstance(value, str) and len(value) == 32 else str(value).lower()


def _seri(value: Any) -> str:
    return (value or "").strip()


def _mikro_prices(ctx: Ctx, r: Row) -> list[str]:
    key = f"sfiyat:{_guid(r['sfiyat_Guid'])}:"
    if r["sfiyat_listesirano"] is None:
        return [key]
    holders = ctx.all(
        "SELECT cari_kod FROM CARI_HESAPLAR WHERE cari_satis_fk = ? AND cari_iptal IS NOT 1 AND cari_hidden IS NOT 1",
        r["sfiyat_listesirano"],
    )
    return [key + h["cari_kod"] for h in holders]


def _mikro_line(ctx: Ctx, r: Row) -> list[str]:
    parent = ctx.one("SELECT * FROM CARI_HESAP_HAREKETLERI WHERE cha_Guid = ?", r["sth_fat_uid"])
    return MIKRO.parent_keys(ctx, "invoices", "CARI_HESAP_HAREKETLERI", parent)


def _mikro_movement(ctx: Ctx, r: Row) -> list[str]:
    """A stock movement's keys: its row's Guid, a transfer row's (sth_tip 2) one per side."""
    guid = _guid(r["sth_Guid"])
    return [f"{guid}|out", f"{guid}|in"] if r["sth_tip"] == 2 else [guid]


def _mikro_site() -> MikroSite:
    return MikroSite()


MIKRO = Erp(
    name="mikro",
    database="mikro.db",
    settings=lambda folder: {
        "url": f"sqlite:///{folder / 'mikro.db'}",
        "vat_rates": {str(k): str(v) for k, v in mikro_codes.OBSERVED_VAT_RATES.items()},
        **_mikro_site().settings(),
    },
    writer=lambda engine: MikroWriter(engine, site=_mikro_site()),
    targets=(
        Target("accounts", "CARI_HESAPLAR", lambda ctx, r: [_guid(r["cari_Guid"])], lambda ctx, r: True),
        Target("products", "STOKLAR", lambda ctx, r: [_guid(r["sto_Guid"])], lambda ctx, r: True),
        Target(
            "discounts",
            "STOK_CARI_ISKONTO_TANIMLARI",
            lambda ctx, r: [f"isk:{_guid(r['isk_Guid'])}"],
            lambda ctx, r: True,
        ),
        Target(
            "discounts",
            "STOK_SATIS_FIYAT_LISTELERI",
            _mikro_prices,
            lambda ctx, r: r["sfiyat_listesirano"] not in ctx.settings.general_price_lists,
        ),
        Target(
            "price_lists",
            "STOK_SATIS_FIYAT_LISTELERI",
            lambda ctx, r: [_guid(r["sfiyat_Guid"])],
            lambda ctx, r: r["sfiyat_listesirano"] in ctx.settings.general_price_lists,
        ),
        Target("risk_limits", "DEALERSYNC_CARI_RISK", lambda ctx, r: [str(r["cari_kod"])], lambda ctx, r: True),
        Target(
            "orders",
            "SIPARISLER",
            lambda ctx, r: [f"{r['sip_cins']}:{_seri(r['sip_evrakno_seri'])}:{r['sip_evrakno_sira']}"],
            lambda ctx, r: (
                r["sip_tip"] == ctx.settings.sales_order_tip
                and ctx.settings.order_kinds.get(r["sip_cins"]) in ("order", "proposal")
            ),
        ),
        Target(
            "invoices",
            "CARI_HESAP_HAREKETLERI",
            lambda ctx, r: [f"{r['cha_evrak_tip']}:{_seri(r['cha_evrakno_seri'])}:{r['cha_evrakno_sira']}"],
        ),
        Target("invoices", "STOK_HAREKETLERI", _mikro_line, lambda ctx, r: True),
        # Every movement row, whatever its codes: a code no reading names goes out as kind other.
        Target("stock_movements", "STOK_HAREKETLERI", _mikro_movement, lambda ctx, r: True),
        Target(
            "collections",
            "CARI_HESAP_HAREKETLERI",
            lambda ctx, r: [
                f"{r['cha_evrak_tip']}:{_seri(r['cha_evrakno_seri'])}:{r['cha_evrakno_sira']}:{r['cha_satir_no']}"
            ],
        ),
        # One entry per row on an account (an invoice's further rows are read with its header, whose key they
        # do not give): membership as in the clean database, decided by the same unedited columns.
        Target(
            "account_ledger",
            "CARI_HESAP_HAREKETLERI",
            lambda ctx, r: [
                f"{r['cha_evrak_tip']}:{_seri(r['cha_evrakno_seri'])}:{r['cha_evrakno_sira']}:{r['cha_satir_no']}"
            ],
        ),
    ),
    edited={
        "CARI_HESAPLAR": frozenset(),
        "STOKLAR": frozenset(),
        "STOK_CARI_ISKONTO_TANIMLARI": frozenset(),
        "STOK_SATIS_FIYAT_LISTELERI": frozenset(),
        "DEALERSYNC_CARI_RISK": frozenset(),
        "SIPARISLER": frozenset(),
        # Which stream a movement belongs to is its movement-code reading and its posting (on an account or not).
        "CARI_HESAP_HAREKETLERI": frozenset(
            {
                "cha_evrak_tip",
                "cha_cinsi",
                "cha_tip",
                "cha_normal_Iade",
                "cha_satir_no",
                "cha_cari_cins",
                "cha_ciro_cari_kodu",
            }
        ),
        "STOK_HAREKETLERI": frozenset(),
        "BARKOD_TANIMLARI": frozenset(),
        "ODEME_EMIRLERI": frozenset(),
        "CARI_HESAP_ADRESLERI": frozenset(),
    },
    accounts=("CARI_HESAPLAR", "cari_kod"),
    products=("STOKLAR", "sto_kod"),
)


# -- Netsis --------------------------------------------------------------------------------------------------


def _raw(value: Any) -> str:
    return "" if value is None else str(value).rstrip()


def _doc_key(r: Row) -> list[str]:
    return [f"netsis:{r['SUBE_KODU']}:{_raw(r['FTIRSIP'])}:{_raw(r['FATIRS_NO'])}:{_raw(r['CARI_KODU'])}"]


def _netsis_invoice(ctx: Ctx, r: Row) -> bool:
    returns = ctx.one(
        f"SELECT 1 FROM TBLSTHAR WHERE FISNO = {TEXT} AND STHAR_FTIRSIP = {TEXT} AND SUBE_KODU = ?"
        f" AND STHAR_ACIKLAMA = {TEXT} AND STHAR_HTUR = {TEXT}",
        r["FATIRS_NO"],
        r["FTIRSIP"],
        r["SUBE_KODU"],
        r["CARI_KODU"],
        ctx.settings.return_line_code,
    )
    if r["FTIRSIP"] == netsis_codes.SALES_INVOICE:
        return returns is None
    return r["FTIRSIP"] == netsis_codes.PURCHASE_INVOICE and returns is not None


def _netsis_line(header: str, customer: str, stream: str) -> Callable[[Ctx, Row], list[str]]:
    def keys(ctx: Ctx, r: Row) -> list[str]:
        parent = ctx.one(
            f'SELECT * FROM "{header}" WHERE FATIRS_NO = {TEXT} AND FTIRSIP = {TEXT} AND SUBE_KODU = ?'
            f" AND CARI_KODU = {TEXT}",
            r["FISNO"],
            r["STHAR_FTIRSIP"],
            r["SUBE_KODU"],
            r[customer],
        )
        return NETSIS.parent_keys(ctx, stream, header, parent)

    return keys


def _netsis_collection(ctx: Ctx, r: Row) -> bool:
    s, credit, debit, letter = ctx.settings, r["ALACAK"], r["BORC"], r["HAREKET_TURU"]
    if credit is not None and credit > 0:
        return letter in s.collection_kinds
    return debit is not None and debit > 0 and letter in s.debit_reversals


def _netsis_card(column: str) -> Callable[[Ctx, Row], list[str]]:
    return lambda ctx, r: [f"netsis:{_raw(r[column])}"]


def _netsis_price(ctx: Ctx, r: Row) -> list[str]:
    listed = _raw(r[ctx.settings.price_list_column])
    day = "" if r["BASTAR"] is None else str(r["BASTAR"])[:10]
    return [f"netsis:{listed}:{_raw(r['FIYATGRUBU'])}:{_raw(r['STOKKODU'])}:{r['OLCUBR']}:{day}"]


NETSIS = Erp(
    name="netsis",
    database="netsis.db",
    settings=lambda folder: {"url": f"sqlite:///{folder / 'netsis.db'}", "rates_database": "netsis"},
    writer=lambda engine: NetsisWriter(engine),
    targets=(
        Target("accounts", "TBLCASABIT", _netsis_card("CARI_KOD"), lambda ctx, r: True),
        Target(
            "risk_limits",
            "TBLCASABIT",
            _netsis_card("CARI_KOD"),
            lambda ctx, r: r["RISK_SINIRI"] is not None and r["RISK_SINIRI"] > 0,
        ),
        Target(
            "products",
            "TBLSTSABIT",
            _netsis_card("STOK_KODU"),
            lambda ctx, r: r["GRUP_KODU"] != ctx.settings.service_group,
        ),
        Target("discounts", "TBLKOSULMAS", _netsis_card("KOSULKODU"), lambda ctx, r: True),
        Target(
            "price_lists",
            "TBLSTOKFIAT",
            _netsis_price,
            lambda ctx, r: r["A_S"] is None or r["A_S"] == ctx.settings.sales_price_side,
        ),
        Target(
            "stock_levels",
            "TBLSTOKPH",
            lambda ctx, r: [f"netsis:{r['SUBE_KODU']}:{r['DEPO_KODU']}:{_raw(r['STOK_KODU'])}"],
            lambda ctx, r: r["DEPO_KODU"] != netsis_codes.ALL_WAREHOUSES,
        ),
        Target(
            "orders",
            "TBLSIPAMAS",
            lambda ctx, r: _doc_key(r),
            lambda ctx, r: r["FTIRSIP"] == netsis_codes.CUSTOMER_ORDER,
        ),
        Target("orders", "TBLSIPATRA", _netsis_line("TBLSIPAMAS", "STHAR_CARIKOD", "orders"), lambda ctx, r: True),
        Target("invoices", "TBLFATUIRS", lambda ctx, r: _doc_key(r), _netsis_invoice),
        Target("invoices", "TBLSTHAR", _netsis_line("TBLFATUIRS", "STHAR_ACIKLAMA", "invoices"), lambda ctx, r: True),
        Target("collections", "TBLCAHAR", lambda ctx, r: [f"netsis:{r['INC_KEY_NUMBER']}"], _netsis_collection),
        Target("account_ledger", "TBLCAHAR", lambda ctx, r: [f"netsis:{r['INC_KEY_NUMBER']}"], lambda ctx, r: True),
        Target("stock_movements", "TBLSTHAR", lambda ctx, r: [f"netsis:{r['INCKEYNO']}"], lambda ctx, r: True),
    ),
    edited={
        name: frozenset()
        for name in (
            "TBLCASABIT",
            "TBLSTSABIT",
            "TBLKOSULMAS",
            "TBLSTOKPH",
            "TBLSIPAMAS",
            "TBLSIPATRA",
            "TBLFATUIRS",
            "TBLSTHAR",
            "TBLCAHAR",
            "DOVIZ",
        )
    },
    accounts=("TBLCASABIT", "CARI_KOD"),
    products=("TBLSTSABIT", "STOK_KODU"),
)

ERPS: dict[str, Erp] = {erp.name: erp for erp in (LOGO, MIKRO, NETSIS)}
