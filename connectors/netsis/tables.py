"""The Netsis tables the adapter reads (and the test writer fills), as SQLAlchemy Core tables.

A faithful subset of a Netsis company database (one per company and fiscal year): Netsis's
table and column names and types (amounts FLOAT as the vendor's TDBFLOAT, dates DATETIME, flags
CHAR(1), kinds as small integers), only the columns the streams use plus the ones the writer
needs to make the rows look like Netsis's. Every name is checked against the vendor's column
lists in vendor/ (tests/test_netsis_vendor.py); a name they lack is read as optional, with its
source in the column's `info`. The tables carry no schema: each database is reached through
its own engine (see scopes.py), so the statements are the same for every year.

The exchange-rate table DOVIZ lives in Netsis's system database (NETSIS by default) and has
its own MetaData.

Columns this database names otherwise come from the `columns` setting (`names`); the cancel-flag
column exists only where an install adds one (`cancel_column`, a setting).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Float, Index, Integer, MetaData, SmallInteger, String, Table

from connectors.base import ConnectorError
from connectors.sql_schema import optional, renamed

# Netsis's FLOAT is SQL Server's 8-byte float; 53 bits make MySQL/MariaDB use DOUBLE, not a 4-byte FLOAT.
FLOAT = Float(precision=53)

__all__ = ["FLOAT", "NetsisTables", "RatesTables", "netsis_tables", "rates_tables", "validate_identifier"]

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,29}$")


def validate_identifier(name: object, setting: str) -> str:
    """A column name from a setting: it becomes part of SQL, so only plain identifiers get through."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ConnectorError(f"setting {setting!r} must be a plain column name (letters, digits, '_'), got {name!r}")
    return name.upper()


def _code(name: str, length: int = 35, **kw: Any) -> Column[str]:
    return Column(name, String(length), **kw)


REFERENCE = "reference 2.3 (shared/reference/erp-data-models.md), UNCONFIRMED"


def _stamps(stream: str | None = None, created: str = "") -> list[Column[object]]:
    """Netsis's record stamps: who and when (a DATETIME with its time of day), created and last edited.

    On card tables (`stream` given) they are optional: a scaffold of a live TBLSTSABIT has none, and a card
    stream without them reads every card on every sync (the engine's hashes send only the changed ones)."""
    info: dict[str, Any] = {}
    if stream is not None:
        # Guarded: a card stream filters by its stamps only where the database has them (NetsisEnv.has).
        info = optional(
            f"the {stream} cursor (every sync then reads every card; the unchanged are not sent)",
            source=REFERENCE,
            guarded=True,
        )
    created_info = info if not created else optional(f"{created}, {info['optional']}", source=REFERENCE, guarded=True)
    return [
        Column("KAYITYAPANKUL", String(12)),
        Column("KAYITTARIHI", DateTime, info=created_info),
        Column("DUZELTMEYAPANKUL", String(12)),
        Column("DUZELTMETARIHI", DateTime, info=info),  # NULL until the first edit
    ]


def _table(metadata: MetaData, name: str, names: Mapping[str, str | None], *columns: Column[Any]) -> Table:
    """A table whose columns carry the names this database gives them (the `columns` setting)."""
    return Table(name, metadata, *renamed(columns, name, names))


def _document_header(
    metadata: MetaData, name: str, names: Mapping[str, str | None], cancel: list[Column[object]]
) -> Table:
    """TBLFATUIRS and TBLSIPAMAS share their layout: totals in local currency, DOVIZTIP/DOVIZTUT for the
    document currency. SIRANO is Netsis's identity column; the identity is (SUBE_KODU, FTIRSIP, FATIRS_NO,
    CARI_KODU)."""
    table = _table(
        metadata,
        name,
        names,
        Column("SIRANO", Integer, primary_key=True, autoincrement=False),
        Column("SUBE_KODU", SmallInteger, nullable=False),
        Column("FTIRSIP", String(1), nullable=False),
        _code("FATIRS_NO", 15, nullable=False),
        _code("CARI_KODU", nullable=False),
        Column("TARIH", DateTime),
        Column("TIPI", SmallInteger),
        Column("BRUTTUTAR", FLOAT),
        Column("SAT_ISKT", FLOAT),  # line discounts, summed
        Column("MFAZ_ISKT", FLOAT),  # free-goods discount
        Column("GEN_ISK1T", FLOAT),  # document-level discounts 1..3, as amounts
        Column("GEN_ISK2T", FLOAT),
        Column("GEN_ISK3T", FLOAT),
        Column("KDV", FLOAT),
        Column("GENELTOPLAM", FLOAT),
        Column("DOVIZTIP", SmallInteger),  # currency number (DOVIZ.SIRA); 0 = local
        Column("DOVIZTUT", FLOAT),  # grand total in the document currency
        Column("DOVBAZTAR", DateTime),  # the day whose exchange rate applies
        Column("ODEMETARIHI", DateTime),
        _code("PLA_KODU", 8),
        Column("TOPDEPO", SmallInteger),
        _code("ACIKLAMA", 50),
        Column("ONAYTIPI", String(1)),
        *cancel,
        *_stamps(),
    )
    Index(f"I_{name}_DOC", table.c.FATIRS_NO, table.c.FTIRSIP, table.c.SUBE_KODU, table.c.CARI_KODU, unique=True)
    Index(f"I_{name}_KAYIT", table.c.KAYITTARIHI)
    Index(f"I_{name}_DUZELTME", table.c.DUZELTMETARIHI)
    return table


def _document_lines(
    metadata: MetaData, name: str, names: Mapping[str, str | None], line_stamps: bool, *extra: Column[object]
) -> Table:
    """TBLSTHAR and TBLSIPATRA: quantities and unit prices in the item's first unit (OLCUBR says which unit
    the line was entered in, STHAR_GCMIK2 its quantity there), line discounts as chained percentages."""
    # A line table without stamps (line_stamps: false) reads none: check then does not ask for the column.
    stamp = {"remap": "line_stamps: false (lines without DUZELTMETARIHI)"} if line_stamps else {"absent": True}
    table = _table(
        metadata,
        name,
        names,
        Column("INCKEYNO", Integer, primary_key=True, autoincrement=False),
        _code("FISNO", 15),
        Column("STHAR_FTIRSIP", String(1)),
        Column("SUBE_KODU", SmallInteger),
        _code("STHAR_ACIKLAMA"),  # on invoice lines: the customer code
        _code("STHAR_CARIKOD"),
        Column("SIRA", SmallInteger),
        _code("STOK_KODU"),
        Column("STHAR_TARIH", DateTime),
        Column("STHAR_GCKOD", String(1)),  # G in, C out
        Column("STHAR_HTUR", String(1)),
        Column("OLCUBR", SmallInteger),  # 1, 2 or 3: OLCU_BR1..3 of the item
        Column("STHAR_GCMIK", FLOAT),  # quantity in the first unit
        Column("STHAR_GCMIK2", FLOAT),  # quantity in the line's unit
        Column("CEVRIM", FLOAT),
        Column("STHAR_BF", FLOAT),  # gross unit price per first unit, local currency (sites fill BF, NF or both)
        Column("STHAR_NF", FLOAT),  # net unit price (after line discounts), local currency
        Column("STHAR_DOVTIP", SmallInteger),
        Column("STHAR_DOVFIAT", FLOAT),  # gross unit price per first unit in the document currency
        Column("STHAR_SATISK", FLOAT),  # line discount percentages, chained
        Column("STHAR_SATISK2", FLOAT),
        Column("STRA_SATISK3", FLOAT),
        Column("STRA_SATISK4", FLOAT),
        Column("STRA_SATISK5", FLOAT),
        Column("STRA_SATISK6", FLOAT),
        Column("STHAR_KDV", FLOAT),  # VAT rate
        Column("DEPO_KODU", SmallInteger),
        _code("PLASIYER_KODU", 8),
        *extra,
        Column("DUZELTMETARIHI", DateTime, info=stamp),
    )
    Index(f"I_{name}_DOC", table.c.FISNO, table.c.STHAR_FTIRSIP, table.c.SUBE_KODU)
    Index(f"I_{name}_DUZELTME", table.c.DUZELTMETARIHI)
    return table


@dataclass(frozen=True)
class NetsisTables:
    """One company database's tables. The same objects serve every database: the engine picks it."""

    cancel_column: str | None
    CASABIT: Table
    STSABIT: Table
    STOKDP: Table
    STOKPH: Table
    KOSULMAS: Table
    STOKFIAT: Table
    EFATCARI: Table
    SIPAMAS: Table
    SIPATRA: Table
    FATUIRS: Table
    STHAR: Table
    CAHAR: Table

    def all(self) -> list[Table]:
        return [t for t in vars(self).values() if isinstance(t, Table)]

    def cancelled(self, table: Table) -> Column[str] | None:
        return None if self.cancel_column is None else table.c[self.cancel_column]


def netsis_tables(
    metadata: MetaData,
    cancel_column: str | None = None,
    names: Mapping[str, str | None] | None = None,
    *,
    line_stamps: bool = True,
    without: frozenset[str] = frozenset(),
) -> NetsisTables:
    """The tables as the settings describe this install: `names` is the `columns` setting; `without` names
    columns ("TBLSTSABIT.KAYITTARIHI") an install's tables lack, for the test writer's site layouts."""
    names = names or {}

    def cancel() -> list[Column[object]]:
        return [] if cancel_column is None else [Column(cancel_column, String(1))]

    def table(name: str, *columns: Column[Any]) -> Table:
        kept = [c for c in columns if f"{name}.{c.name}" not in without]
        return _table(metadata, name, names, *kept)

    if cancel_column is not None:
        cancel_column = validate_identifier(cancel_column, "cancelled_column")
    casabit = table(
        "TBLCASABIT",
        Column("SUBE_KODU", SmallInteger),
        Column("ISLETME_KODU", SmallInteger),
        _code("CARI_KOD", primary_key=True),
        _code("CARI_ISIM", 100),
        Column("CARI_TIP", String(1)),
        _code("GRUP_KODU"),
        *(_code(f"RAPOR_KODU{i}") for i in range(1, 6)),
        _code("CARI_ADRES", 100),
        _code("CARI_IL"),
        _code("CARI_ILCE"),
        _code("ULKE_KODU", 4),
        _code("VERGI_DAIRESI"),
        _code("VERGI_NUMARASI", 15),
        _code("CARI_TEL", 30),
        _code("EMAIL", 100),
        _code("PLASIYER_KODU", 8),
        Column("ISKONTO_ORANI", FLOAT),
        Column("VADE_GUNU", SmallInteger),
        Column("DOVIZ_TIPI", SmallInteger),
        # The dealer hierarchy: the parent account (UNCONFIRMED).
        _code("BAGLICARIKOD", info=optional("accounts.parent_code", source=REFERENCE)),
        Column("RISK_SINIRI", FLOAT),
        Column("TEMINATI", FLOAT),
        Column("CARISK", FLOAT),
        Column("CCRISK", FLOAT),
        Column("SARISK", FLOAT),
        Column("SCRISK", FLOAT),
        Column("CM_BORCT", FLOAT),  # cumulative debit, local currency (the year's opening balance included)
        Column("CM_ALACT", FLOAT),  # cumulative credit
        *_stamps("accounts", created="accounts.created_at"),
    )
    stsabit = table(
        "TBLSTSABIT",
        Column("SUBE_KODU", SmallInteger),
        Column("ISLETME_KODU", SmallInteger),
        _code("STOK_KODU", primary_key=True),
        _code("STOK_ADI", 100),
        _code("GRUP_KODU"),
        *(_code(f"KOD_{i}") for i in range(1, 6)),
        _code("OLCU_BR1", 10),
        _code("OLCU_BR2", 10),
        Column("PAY_1", FLOAT),
        Column("PAYDA_1", FLOAT),
        _code("OLCU_BR3", 10),
        Column("PAY2", FLOAT),  # the third unit's factor: no underscore, unlike PAY_1 (vendor/)
        Column("PAYDA2", FLOAT),
        Column("KDV_ORANI", FLOAT),
        _code("BARKOD1"),
        _code("BARKOD2"),
        _code("BARKOD3"),
        Column("KILIT", String(1)),  # E = locked: the card is not in use
        *_stamps("products"),
    )
    stokdp = table(
        "TBLSTOKDP",
        Column("DEPO_KODU", SmallInteger, primary_key=True, autoincrement=False),
        _code("DEPO_ISMI", 50),
        Column("SUBE_KODU", SmallInteger),
    )
    stokph = table(
        "TBLSTOKPH",
        _code("STOK_KODU", primary_key=True),
        Column("SUBE_KODU", SmallInteger, primary_key=True, autoincrement=False),
        Column("DEPO_KODU", SmallInteger, primary_key=True, autoincrement=False),  # 0 = all warehouses
        Column("TOP_GIRIS_MIK", FLOAT),
        Column("TOP_CIKIS_MIK", FLOAT),
    )
    # Sales conditions (iskonto/fiyat koşulları). Netsis's condition tables are UNCONFIRMED beyond their
    # names; these restriction and value columns are the reading this adapter makes (README).
    kosulmas = table(
        "TBLKOSULMAS",
        _code("KOSULKODU", 17, primary_key=True),
        _code("ACIKLAMA", 50),
        _code("CARI_KOD"),
        _code("CARI_GRUP_KODU"),
        _code("STOK_KODU"),
        _code("STOK_GRUP_KODU"),
        Column("ISKONTO_TIPI", String(1)),  # Y percent, T amount, F fixed price
        Column("DEGER", FLOAT),
        Column("DOVIZ_TIPI", SmallInteger),
        Column("MIN_MIKTAR", FLOAT),
        Column("BASTAR", DateTime),
        Column("BITTAR", DateTime),
        Column("ONCELIK", SmallInteger),
        Column("KAPALI", String(1)),  # E = closed
        *_stamps("discounts"),
    )
    # Sales and purchase price lists (fiyat listeleri): one row per list, price group, item, unit and start day.
    # Every name is one production queries read (vendor/columns.csv, source queries-stokfiat); no public list
    # gives the table whole, its key or its types (these are the adapter's reading: codes as text, FLOAT prices).
    stokfiat = table(
        "TBLSTOKFIAT",
        Column("SUBE_KODU", SmallInteger),
        Column("ISLETME_KODU", SmallInteger),
        _code("FIYATLISTEKODU", 17),
        _code("FIYATLISTEACIK", 50),
        _code("FIYATGRUBU", 17),  # a price group; an account code makes the row that dealer's price
        _code("STOKKODU"),
        Column("A_S", String(1)),  # A purchase (alış), S sales (satış) price
        Column("FIYAT1", FLOAT),
        Column("FIYATDOVIZTIPI", SmallInteger),  # currency number (DOVIZ.SIRA); 0 = local
        Column("OLCUBR", SmallInteger),  # 1, 2 or 3: the card's OLCU_BR1..3
        Column("BASTAR", DateTime),
        Column("BITTAR", DateTime),
        Column("KAYITTAR", DateTime),  # set by an integrator's price update: not read (one source)
    )
    Index("I_TBLSTOKFIAT_STOK", stokfiat.c.STOKKODU)
    # GİB's e-invoice user list as Netsis keeps it (downloaded into every company database).
    efatcari = table("TBLEFATCARI", _code("IDENTIFIER", 11, primary_key=True), _code("ALIAS", 100))
    return NetsisTables(
        cancel_column=cancel_column,
        CASABIT=casabit,
        STSABIT=stsabit,
        STOKDP=stokdp,
        STOKPH=stokph,
        KOSULMAS=kosulmas,
        STOKFIAT=stokfiat,
        EFATCARI=efatcari,
        SIPAMAS=_document_header(metadata, "TBLSIPAMAS", names, cancel()),
        SIPATRA=_document_lines(
            metadata,
            "TBLSIPATRA",
            names,
            line_stamps,
            Column("FIRMA_DOVTUT", FLOAT),  # delivered quantity
        ),
        FATUIRS=_document_header(metadata, "TBLFATUIRS", names, [*cancel(), _code("GIB_FATIRS_NO", 16)]),
        STHAR=_document_lines(metadata, "TBLSTHAR", names, line_stamps, Column("STHAR_BGTIP", String(1))),
        CAHAR=_cahar(metadata, names, cancel()),
    )


def _cahar(metadata: MetaData, names: Mapping[str, str | None], cancel: list[Column[object]]) -> Table:
    table = _table(
        metadata,
        "TBLCAHAR",
        names,
        Column("INC_KEY_NUMBER", Integer, primary_key=True, autoincrement=False),
        Column("SUBE_KODU", SmallInteger),
        _code("CARI_KOD"),
        Column("TARIH", DateTime),
        Column("VADE_TARIHI", DateTime),
        _code("BELGE_NO", 15),
        Column("HAREKET_TURU", String(1)),
        Column("BORC", FLOAT),  # a debit row's amount, local currency (vendor docs)
        Column("ALACAK", FLOAT),  # a credit row's amount
        Column("DOVIZ_TURU", SmallInteger),
        Column("DOVIZ_TUTAR", FLOAT),
        _code("ACIKLAMA", 50),
        *cancel,
        *_stamps(),  # KAYITTARIHI is UNCONFIRMED on TBLCAHAR: the vendor's list is cut off before it
    )
    Index("I_TBLCAHAR_CARI", table.c.CARI_KOD)
    Index("I_TBLCAHAR_KAYIT", table.c.KAYITTARIHI)
    Index("I_TBLCAHAR_DUZELTME", table.c.DUZELTMETARIHI)
    return table


@dataclass(frozen=True)
class RatesTables:
    DOVIZ: Table


def rates_tables(metadata: MetaData, names: Mapping[str, str | None] | None = None) -> RatesTables:
    """[NETSIS].dbo.DOVIZ: one row per currency number (SIRA) and day, buying/selling and effective rates."""
    return RatesTables(
        DOVIZ=_table(
            metadata,
            "DOVIZ",
            names or {},
            Column("SIRA", SmallInteger, primary_key=True, autoincrement=False),
            Column("TARIH", DateTime, primary_key=True),
            Column("DOV_ALIS", FLOAT),
            Column("DOV_SATIS", FLOAT),
            Column("EFF_ALIS", FLOAT),
            Column("EFF_SATIS", FLOAT),
        )
    )
