"""The Mikro tables the adapter reads (and the test writer fills), as SQLAlchemy Core tables.

A faithful subset of Mikro v16/v17: its table and column names and types (nvarchar text, FLOAT
money, tinyint codes, bit flags, uniqueidentifier keys), only the columns the streams use plus the
ones the writer needs to make rows look like Mikro's. Every table opens with Mikro's standard
block (`*_Guid`, `*_iptal`, `*_hidden`, `*_create_date`, `*_lastup_date`, ...). One database holds
one company, so table names carry no firm or year.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, MetaData, SmallInteger, Table, Unicode, Uuid
from sqlalchemy.dialects import mssql

from connectors.base import ConnectorError
from connectors.sql_schema import optional, renamed

__all__ = ["MikroTables", "mikro_tables", "validate_table_name"]

# Mikro's FLOAT is SQL Server's 8-byte float; 53 bits makes MySQL/MariaDB use DOUBLE too.
FLOAT = Float(precision=53)
TINYINT = SmallInteger().with_variant(mssql.TINYINT(), "mssql")
BIT = Boolean(create_constraint=False)
GUID = Uuid(as_uuid=False)


def text(name: str, length: int, info: dict[str, Any] | None = None) -> Column[str]:
    return Column(name, Unicode(length), info=info or {})


def _maybe(feeds: str, page: str) -> dict[str, Any]:
    """A column some releases may lack: the stream reads it as NULL there and `feeds` stays empty."""
    return optional(feeds, source=f"Mikro docs: {page}")


def standard(prefix: str) -> list[Column[object]]:
    """The block every Mikro table starts with; `{prefix}_lastup_date` is the change stamp."""
    return [
        Column(f"{prefix}_Guid", GUID, primary_key=True),
        Column(f"{prefix}_DBCno", SmallInteger),
        Column(f"{prefix}_SpecRECno", Integer),
        Column(f"{prefix}_iptal", BIT),
        Column(f"{prefix}_fileid", SmallInteger),
        Column(f"{prefix}_hidden", BIT),
        Column(f"{prefix}_kilitli", BIT),
        Column(f"{prefix}_degisti", BIT),
        Column(f"{prefix}_checksum", Integer),
        Column(f"{prefix}_create_user", SmallInteger),
        Column(f"{prefix}_create_date", DateTime),
        Column(f"{prefix}_lastup_user", SmallInteger),
        Column(f"{prefix}_lastup_date", DateTime),
        text(f"{prefix}_special1", 127),
        text(f"{prefix}_special2", 127),
        text(f"{prefix}_special3", 127),
    ]


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def validate_table_name(name: object, setting: str) -> str:
    """A table or view name from the settings: it becomes SQL, so only a plain identifier passes."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ConnectorError(f"setting {setting!r} must be a plain table or view name, got {str(name)[:40]!r}")
    return name


@dataclass(frozen=True)
class MikroTables:
    CARI_HESAPLAR: Table
    CARI_HESAP_ADRESLERI: Table
    ODEME_PLANLARI: Table
    STOKLAR: Table
    BARKOD_TANIMLARI: Table
    DEPOLAR: Table
    STOK_CARI_ISKONTO_TANIMLARI: Table
    STOK_SATIS_FIYAT_LISTE_TANIMLARI: Table
    STOK_SATIS_FIYAT_LISTELERI: Table
    CARI_HESAP_HAREKETLERI: Table
    STOK_HAREKETLERI: Table
    SIPARISLER: Table
    ODEME_EMIRLERI: Table
    RISK: Table  # the integrator's credit-limit view (see README): Mikro has no limit column

    def all(self) -> list[Table]:
        return [t for t in vars(self).values() if isinstance(t, Table)]


# The lookups the streams make, indexed as Mikro indexes them (its NDX_* indexes cover these
# columns); created by the test writer, never by the adapter.
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "CARI_HESAPLAR": (("cari_kod",),),
    "CARI_HESAP_ADRESLERI": (("adr_cari_kod", "adr_adres_no"),),
    "STOKLAR": (("sto_kod",),),
    "BARKOD_TANIMLARI": (("bar_stokkodu",),),
    "CARI_HESAP_HAREKETLERI": (
        ("cha_evrak_tip", "cha_evrakno_seri", "cha_evrakno_sira", "cha_satir_no"),
        ("cha_evrakno_sira",),
        ("cha_kod",),
    ),
    "STOK_HAREKETLERI": (
        ("sth_fat_uid",),
        ("sth_stok_kod", "sth_giris_depo_no"),
        ("sth_stok_kod", "sth_cikis_depo_no"),
    ),
    "SIPARISLER": (
        ("sip_tip", "sip_cins", "sip_evrakno_seri", "sip_evrakno_sira", "sip_satirno"),
        ("sip_musteri_kod",),
    ),
    "ODEME_EMIRLERI": (("sck_sahip_cari_kodu",),),
    "STOK_SATIS_FIYAT_LISTELERI": (("sfiyat_listesirano",),),
}


def _indexed(tables: MikroTables) -> MikroTables:
    for attr, column_sets in INDEXES.items():
        table = getattr(tables, attr)
        for columns in column_sets:
            name = f"NDX_{table.name}_{'_'.join(columns)}"[:60]
            if not any(index.name == name for index in table.indexes):
                Index(name, *(table.c[c] for c in columns))
    return tables


def mikro_tables(
    metadata: MetaData, risk_view: str = "DEALERSYNC_CARI_RISK", columns: Mapping[str, str | None] | None = None
) -> MikroTables:
    """The tables, with the names the `columns` setting gives ({"TABLE.column": "its name here" | None})."""
    names = columns or {}

    def table(name: str, prefix: str, *columns: Column[Any]) -> Table:
        existing = metadata.tables.get(name)
        if existing is not None:
            return existing
        built = Table(name, metadata, *renamed([*standard(prefix), *columns], name, names))
        built.info["logical"] = name
        return built

    return _indexed(
        MikroTables(
            CARI_HESAPLAR=table(
                "CARI_HESAPLAR",
                "cari",
                text("cari_kod", 25),
                text("cari_unvan1", 127),
                text("cari_unvan2", 127),
                Column("cari_hareket_tipi", TINYINT),
                Column("cari_baglanti_tipi", TINYINT),
                Column("cari_doviz_cinsi", TINYINT),
                text("cari_vdaire_adi", 50),
                text("cari_vdaire_no", 15),
                text("cari_VergiKimlikNo", 10),
                Column("cari_satis_fk", Integer),
                Column("cari_odemeplan_no", Integer),
                Column("cari_fatura_adres_no", Integer),
                text("cari_Ana_cari_kodu", 25, _maybe("accounts.parent_code", "CARI_HESAPLAR")),
                text("cari_satis_isk_kod", 4),
                text("cari_bolge_kodu", 25),
                text("cari_grup_kodu", 25),
                text("cari_temsilci_kodu", 25),
                Column("cari_cari_kilitli_flg", BIT),
                Column("cari_efatura_fl", BIT, info=_maybe("accounts.e_invoice", "CARI_HESAPLAR")),
                text("cari_EMail", 127, _maybe("accounts.email", "CARI_HESAPLAR")),
                text("cari_CepTel", 20, _maybe("accounts.phone", "CARI_HESAPLAR")),
                Column("cari_KrediRiskTakibiVar_flg", BIT),
                Column("cari_sirket_turu", TINYINT, info=_maybe("accounts.is_individual", "CARI_HESAPLAR")),
                Column("cari_faal_terk", TINYINT, info=_maybe("accounts.active (all read active)", "CARI_HESAPLAR")),
            ),
            CARI_HESAP_ADRESLERI=table(
                "CARI_HESAP_ADRESLERI",
                "adr",
                text("adr_cari_kod", 25),
                Column("adr_adres_no", Integer),
                text("adr_cadde", 50),
                text("adr_mahalle", 50),
                text("adr_sokak", 50),
                text("adr_ilce", 50),
                text("adr_il", 50),
                text("adr_ulke", 50),
            ),
            ODEME_PLANLARI=table(
                "ODEME_PLANLARI",
                "odp",
                Column("odp_no", Integer),
                text("odp_kodu", 25),
                text("odp_adi", 50),
            ),
            STOKLAR=table(
                "STOKLAR",
                "sto",
                text("sto_kod", 25),
                text("sto_isim", 127),
                Column("sto_cins", TINYINT),
                text("sto_birim1_ad", 10),
                Column("sto_birim1_katsayi", FLOAT),
                text("sto_birim2_ad", 10),
                Column("sto_birim2_katsayi", FLOAT),
                text("sto_birim3_ad", 10),
                Column("sto_birim3_katsayi", FLOAT),
                Column("sto_perakende_vergi", TINYINT),
                Column("sto_toptan_vergi", TINYINT),
                text("sto_kategori_kodu", 25, _maybe("products.category_code", "STOKLAR")),
                text("sto_anagrup_kod", 25),
                text("sto_marka_kodu", 25, _maybe("products.brand", "STOKLAR")),
                Column("sto_pasif_fl", BIT),
            ),
            BARKOD_TANIMLARI=table(
                "BARKOD_TANIMLARI",
                "bar",
                text("bar_kodu", 50),
                text("bar_stokkodu", 25),
                Column("bar_birimpntr", TINYINT),
                Column("bar_master", BIT),
            ),
            DEPOLAR=table("DEPOLAR", "dep", Column("dep_no", Integer), text("dep_adi", 50)),
            STOK_CARI_ISKONTO_TANIMLARI=table(
                "STOK_CARI_ISKONTO_TANIMLARI",
                "isk",
                text("isk_stok_kod", 25),
                text("isk_cari_kod", 25),
                text("isk_isim", 50),
                Column("isk_uygulama_odeme_plani", Integer),
                Column("isk_isk1_uygulama", TINYINT),
                Column("isk_isk1_yuzde", FLOAT),
                Column("isk_isk2_uygulama", TINYINT),
                Column("isk_isk2_yuzde", FLOAT),
            ),
            STOK_SATIS_FIYAT_LISTE_TANIMLARI=table(
                "STOK_SATIS_FIYAT_LISTE_TANIMLARI",
                "sfl",
                Column("sfl_sirano", Integer),
                text("sfl_aciklama", 50),
                Column("sfl_kdvdahil", BIT),
                # The list's first and last day (public table definitions; no Mikro page): price_lists' validity.
                Column("sfl_ilktarih", DateTime),
                Column("sfl_sontarih", DateTime),
            ),
            STOK_SATIS_FIYAT_LISTELERI=table(
                "STOK_SATIS_FIYAT_LISTELERI",
                "sfiyat",
                text("sfiyat_stokkod", 25),
                Column("sfiyat_listesirano", Integer),
                Column("sfiyat_deposirano", Integer),
                Column("sfiyat_birim_pntr", TINYINT),
                Column("sfiyat_odemeplan", Integer),
                Column("sfiyat_fiyati", FLOAT),
                Column("sfiyat_doviz", TINYINT),
                text("sfiyat_iskontokod", 4),
            ),
            CARI_HESAP_HAREKETLERI=table(
                "CARI_HESAP_HAREKETLERI",
                "cha",
                Column("cha_evrak_tip", TINYINT),
                text("cha_evrakno_seri", 20),
                Column("cha_evrakno_sira", Integer),
                Column("cha_satir_no", Integer),
                Column("cha_tarihi", DateTime),
                Column("cha_tip", TINYINT),
                Column("cha_cinsi", TINYINT),
                Column("cha_normal_Iade", TINYINT),
                Column("cha_tpoz", TINYINT),
                text("cha_belge_no", 50),
                Column("cha_belge_tarih", DateTime),
                text("cha_aciklama", 40),
                text("cha_satici_kodu", 25),
                Column("cha_cari_cins", TINYINT),
                text("cha_kod", 25),
                text("cha_ciro_cari_kodu", 25),
                Column("cha_d_cins", TINYINT),
                Column("cha_d_kur", FLOAT),
                Column("cha_grupno", TINYINT),
                Column("cha_kasa_hizmet", TINYINT),
                text("cha_kasa_hizkod", 25),
                Column("cha_miktari", FLOAT),
                Column("cha_meblag", FLOAT),
                Column("cha_aratoplam", FLOAT),
                Column("cha_vade", Integer),
                *(Column(f"cha_ft_iskonto{n}", FLOAT) for n in range(1, 7)),
                Column("cha_vergipntr", TINYINT),
                *(Column(f"cha_vergi{n}", FLOAT) for n in range(1, 11)),
                text("cha_trefno", 25),
                Column("cha_sntck_poz", TINYINT),
                text("cha_uuid", 40, optional("invoices.e_invoice_uuid", source="Mikro V15 SQL trace")),
                # The record number (an identity, the table's primary key in V15): the order Mikro's own statement
                # lists an account's movements in. The v16/v17 pages open with *_SpecRECno and no *_RECno.
                Column(
                    "cha_RECno",
                    Integer,
                    info=optional(
                        "account_ledger.sequence",
                        source="Mikro V15 SQL trace (Where cha_RECno = ...) and developer notes "
                        "(NDX_CARI_HESAP_HAREKETLERI_00 PRIMARY KEY cha_RECno)",
                    ),
                ),
            ),
            STOK_HAREKETLERI=table(
                "STOK_HAREKETLERI",
                "sth",
                Column("sth_tarih", DateTime),
                Column("sth_tip", TINYINT),
                Column("sth_cins", TINYINT),
                Column("sth_normal_iade", TINYINT),
                Column("sth_evraktip", TINYINT),
                text("sth_evrakno_seri", 20),
                Column("sth_evrakno_sira", Integer),
                Column("sth_satirno", Integer),
                text("sth_belge_no", 50),
                text("sth_stok_kod", 25),
                Column("sth_cari_cinsi", TINYINT),
                text("sth_cari_kodu", 25),
                text("sth_plasiyer_kodu", 25),
                Column("sth_har_doviz_cinsi", TINYINT),
                Column("sth_har_doviz_kuru", FLOAT),
                Column("sth_miktar", FLOAT),
                Column("sth_miktar2", FLOAT),
                Column("sth_birim_pntr", TINYINT),
                Column("sth_birimfiyat", FLOAT),
                Column("sth_tutar", FLOAT),
                *(Column(f"sth_iskonto{n}", FLOAT) for n in range(1, 7)),
                Column("sth_vergi_pntr", TINYINT),
                Column("sth_vergi", FLOAT),
                Column("sth_fat_uid", GUID),
                Column("sth_giris_depo_no", Integer),
                Column("sth_cikis_depo_no", Integer),
            ),
            SIPARISLER=table(
                "SIPARISLER",
                "sip",
                Column("sip_tarih", DateTime),
                Column("sip_teslim_tarih", DateTime),
                Column("sip_tip", TINYINT),
                Column("sip_cins", TINYINT),
                text("sip_evrakno_seri", 20),
                Column("sip_evrakno_sira", Integer),
                Column("sip_satirno", Integer),
                text("sip_belgeno", 50),
                text("sip_satici_kod", 25),
                text("sip_musteri_kod", 25),
                text("sip_stok_kod", 25),
                Column("sip_b_fiyat", FLOAT),
                Column("sip_miktar", FLOAT),
                Column("sip_birim_pntr", TINYINT),
                Column("sip_teslim_miktar", FLOAT),
                Column("sip_tutar", FLOAT),
                *(Column(f"sip_iskonto_{n}", FLOAT) for n in range(1, 7)),
                Column("sip_vergi_pntr", TINYINT),
                Column("sip_vergi", FLOAT),
                Column("sip_depono", TINYINT),
                Column("sip_kapat_fl", BIT),
                Column("sip_doviz_cinsi", TINYINT),
                Column("sip_doviz_kuru", FLOAT),
                Column("sip_harekettipi", TINYINT),
            ),
            ODEME_EMIRLERI=table(
                "ODEME_EMIRLERI",
                "sck",
                Column("sck_tip", TINYINT),
                text("sck_refno", 25),
                Column("sck_vade", DateTime),
                Column("sck_tutar", FLOAT),
                Column("sck_doviz", TINYINT),
                Column("sck_doviz_kur", FLOAT),
                Column("sck_sahip_cari_cins", TINYINT),
                text("sck_sahip_cari_kodu", 25),
                Column("sck_nerede_cari_cins", TINYINT),
                text("sck_nerede_cari_kodu", 25),
                Column("sck_sonpoz", TINYINT),
                text("sck_ilk_evrak_seri", 20),
                Column("sck_ilk_evrak_sira_no", Integer),
                Column("sck_ilk_evrak_satir_no", Integer),
            ),
            RISK=_risk_view(metadata, risk_view),
        )
    )


def _risk_view(metadata: MetaData, name: str) -> Table:
    """The integrator's credit-limit view (README: "Risk limits"); its columns are the README's, not Mikro's."""
    view = Table(
        validate_table_name(name, "risk_limit_view"),
        metadata,
        Column("cari_kod", Unicode(25), primary_key=True),
        Column("risk_limiti", FLOAT),
        Column("teminat", FLOAT),
        Column("lastup_date", DateTime),
        extend_existing=True,
    )
    view.info["logical"] = name
    return view
