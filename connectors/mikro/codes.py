"""Mikro's code values and their meaning in the normalised feed, and its "no NULLs" conventions.

Sources: Mikro's own column pages and a SQL trace of Mikro's screens (vendor/README.md). Readings no
primary source confirms are settings (settings.py), listed as UNCONFIRMED in the README.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from mapping.dates import NULL_DATES
from mapping.errors import RecordError
from mapping.schema import AccountKind

# Where a reading comes from (see vendor/README.md for each source).
DOCS_EVRAK: Final = "Mikro docs: SIPARISLER.sip_onodeme_evrak_tip list"
DOCS_STH: Final = "Mikro docs: STOK_HAREKETLERI"
DOCS_STO: Final = "Mikro docs: STOKLAR"
DOCS_CARI: Final = "Mikro docs: CARI_HESAPLAR"
DOCS_BAR: Final = "Mikro docs: BARKOD_TANIMLARI"
# sfl_kdvdahil 1: the list's prices include VAT. Public queries divide such a price by (1 + VAT) and take a 0 list's
# price as it is (nitrid/NitroWEB); no Mikro page for STOK_SATIS_FIYAT_LISTE_TANIMLARI was found: UNCONFIRMED.
PRICE_LIST_VAT_DEFAULT: Final = 1
QUERIES_SFL: Final = "public queries on STOK_SATIS_FIYAT_LISTE_TANIMLARI (UNCONFIRMED: no Mikro page)"
TRACE: Final = "Mikro V15 SQL trace"
CINSI_LIST: Final = "cha_cinsi list (developer notes, Fora enum)"

# CARI_HESAP_HAREKETLERI.cha_evrak_tip: 63 sales invoice, 0 purchase invoice (a sales return with
# cha_normal_Iade 1: goods in, the customer credited), 1 receipt. Which codes the feed reads is the
# movement_codes setting (readings.py).
SALES_INVOICE: Final = 63
PURCHASE_INVOICE: Final = 0
RECEIPT: Final = 1
# cha_tip: 0 debit, 1 credit. cha_cari_cins / cha_kasa_hizmet: 0 account, 2 bank, 3 service, 4 cash.
DEBIT: Final = 0
CREDIT: Final = 1
CARI: Final = 0
BANK: Final = 2
SERVICE: Final = 3
CASH: Final = 4
# cha_cinsi of invoices: 6 wholesale; receipts: 0 cash, 1 cheque, 2 note, 17 transfer promise, 19 card.
WHOLESALE_INVOICE: Final = 6
PRICE_DIFFERENCE_CINS: Final = 9  # STOK_HAREKETLERI.sth_cins 9 Değer Farkı
NO_STOCK_CINS: Final = (PRICE_DIFFERENCE_CINS,)
COUNT_CINS: Final = 10  # sth_cins 10 Sayım
# STOK_HAREKETLERI: sth_tip 0 in, 1 out, 2 transfer; sth_evraktip as Mikro's docs list them.
IN, OUT, TRANSFER = 0, 1, 2
IN_INVOICE, OUT_INVOICE, WAREHOUSE_ENTRY, WAREHOUSE_EXIT = 3, 4, 12, 0
STH_TIPS: Final[Mapping[int, str]] = {IN: "in", OUT: "out", TRANSFER: "transfer"}
STH_EVRAKTIP: Final[Mapping[int, str]] = {
    0: "Depo Çıkış Fişi",
    1: "Çıkış İrsaliyesi",
    2: "Depo Transfer Fişi",
    3: "Giriş Faturası",
    4: "Çıkış Faturası",
    5: "Stoklara İthalat Masraf Yansıtma Dekontu",
    6: "Stok Virman Fişi",
    7: "Üretim Fişi",
    8: "İlave Enflasyon Maliyet Fişi",
    9: "Stoklara İlave Maliyet Yedirme Fişi",
    10: "Antrepolardan Mal Millileştirme Fişi",
    11: "Antrepolar Arası Transfer Fişi",
    12: "Depo Giriş Fişi",
    13: "Giriş İrsaliyesi",
    14: "Fason Giriş Çıkış Fişi",
    15: "Depolar Arası Satış Fişi",
    16: "Stok Gider Pusulası Fişi",
    17: "Depolar Arası Nakliye Fişi",
    18: "Demirbaşa Virman Dekontu",
}
# SIPARISLER.sip_tip: which value is a sales order is the sales_order_tip setting (the majority of public
# queries: 0; Mikro's docs label 0 Talep, 1 Temin). sip_cins 0 normal, 2 proforma.
SALES_ORDER_TIP: Final = 0
NORMAL_ORDER: Final = 0
PROFORMA_ORDER: Final = 2
DEFAULT_ORDER_KINDS: Final[Mapping[int, str]] = {NORMAL_ORDER: "order", PROFORMA_ORDER: "proposal"}
SIP_CINS: Final[Mapping[int, str]] = {
    0: "Normal Sipariş",
    1: "Konsinye Sipariş",
    2: "Proforma Sipariş",
    3: "Dış Ticaret Siparişi",
    4: "Fason Siparişi",
    5: "Dahili Sarf Siparişi",
    6: "Depolar Arası Sipariş",
    7: "Satın Alma Talebi",
    8: "Üretim Talebi",
    9: "İş Emirleri",
    10: "Fason Talebi",
}
# ODEME_EMIRLERI.sck_tip 0 customer cheque, 1 customer note; sck_sonpoz 0 = in our portfolio.
CHEQUE_NOTE_TYPES: Final = (0, 1)
IN_PORTFOLIO: Final = 0

# cari_baglanti_tipi (Mikro docs): 0 Müşteri, 1 Satıcı, 2 Diğer Cari, 3 Dağıtıcı, 4 Bayi, 5 Hedef Müşteri,
# 6 Hedef Bayi, 7 Alt Bayi, 8 Bağlı Ortaklık. Mikro has no "customer and supplier" code.
BAGLANTI_TIPI: Final[Mapping[int, str]] = {
    0: "Müşteri",
    1: "Satıcı",
    2: "Diğer Cari",
    3: "Dağıtıcı",
    4: "Bayi",
    5: "Hedef Müşteri",
    6: "Hedef Bayi",
    7: "Alt Bayi",
    8: "Bağlı Ortaklık",
}
NAMED_KINDS: Final = frozenset({0, 1, 3, 4, 7})  # Müşteri, Satıcı, Dağıtıcı, Bayi, Alt Bayi: the kind is the name
DEFAULT_ACCOUNT_KINDS: Final[Mapping[int, AccountKind]] = {
    0: "customer",
    1: "supplier",
    2: "customer",
    3: "customer",
    4: "customer",
    5: "customer",
    6: "customer",
    7: "customer",
    8: "customer",
}
# cha_d_cins / sip_doviz_cinsi / cari_doviz_cinsi: 0 is the company's main currency; 1 and 2 as the
# reference saw them (UNCONFIRMED: DOVIZ_KURLARI is per company).
DEFAULT_CURRENCY_CODES: Final[Mapping[int, str]] = {1: "USD", 2: "EUR"}
LOCAL_CURRENCY_CODE: Final = 0
# The rates behind dbo.fn_VergiYuzde in the one V15 database the reference saw.
OBSERVED_VAT_RATES: Final[Mapping[int, Decimal]] = {
    0: Decimal(0),
    1: Decimal(0),
    2: Decimal(1),
    3: Decimal(10),
    4: Decimal(20),
    5: Decimal(26),
}
# Bits as Mikro's docs print them: sto_pasif_fl "0:Pasif 1:Aktif", bar_master "0:Evet 1:Hayır". Sites
# (BKRC) read sto_pasif_fl 1 as passive: the settings follow the docs and check says what the data shows.
PASSIVE_DEFAULT: Final = 0
MASTER_BARCODE_DEFAULT: Final = 0
# cari_sirket_turu 1 = natural person; cari_faal_terk 0 = trading, 1 = ceased.
NATURAL_PERSON: Final = 1
CEASED: Final = 1

# Mikro writes no NULLs: 1899-12-30 is its empty date (text is '' and numbers 0).
NO_DATE: Final = dt.datetime(1899, 12, 30)


def vade_date(value: int | None) -> dt.date | None:
    """A receipt's cha_vade (int yyyymmdd) as a date; 0 and the empty dates (18991230) mean none, and a number
    that is no date is an error, never taken for "no due date"."""
    if value == 0:
        return None
    try:
        day = dt.date(value // 10000, value // 100 % 100, value % 100)  # type: ignore[operator]
    except (ValueError, TypeError):
        raise RecordError(f"cha_vade {value!r} is not a yyyymmdd date", "due_date") from None
    return None if day in NULL_DATES else day


def document_number(number_format: str, seri: str | None, sira: int | None) -> str:
    """The feed's document number from Mikro's series and sequence (see `number_format`); '' is "no series",
    but a NULL sequence (Mikro writes none) is an error, never number 0."""
    if sira is None:
        raise RecordError("missing (NULL evrakno_sira)", "number")
    return number_format.format(seri=(seri or "").strip(), sira=sira)
