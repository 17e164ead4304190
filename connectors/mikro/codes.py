"""Mikro's code values and their meaning in the normalised feed, and its "no NULLs" conventions.

Sources: section 3 of the ERP reference and Mikro's published data dictionary. Readings marked
UNCONFIRMED there are settings (see MikroSettings); verify them on a customer database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from mapping.schema import AccountKind, CollectionMethod

# CARI_HESAP_HAREKETLERI.cha_evrak_tip
SALES_INVOICE: Final = 63  # with cha_normal_Iade = 0, cha_tip = 0 (debit)
PURCHASE_INVOICE: Final = 0  # with cha_normal_Iade = 1 and cha_tip = 1 (credit): a sales return
RECEIPT: Final = 1  # tahsilat makbuzu: one row per payment method
# cha_tip: 0 debit, 1 credit. cha_cari_cins / cha_kasa_hizmet: 0 account, 2 bank, 3 service, 4 cash.
DEBIT: Final = 0
CREDIT: Final = 1
CARI: Final = 0
BANK: Final = 2
SERVICE: Final = 3
CASH: Final = 4
# cha_cinsi of invoices: 6 wholesale, 7 retail; STOK_HAREKETLERI.sth_cins 9 = value difference.
WHOLESALE_INVOICE: Final = 6
PRICE_DIFFERENCE_CINS: Final = 9
# STOK_HAREKETLERI: sth_tip 0 in, 1 out, 2 transfer; sth_evraktip 3 in invoice, 4 out invoice,
# 12 warehouse entry slip, 0 warehouse exit slip.
IN, OUT, TRANSFER = 0, 1, 2
IN_INVOICE, OUT_INVOICE, WAREHOUSE_ENTRY, WAREHOUSE_EXIT = 3, 4, 12, 0
# SIPARISLER.sip_tip 0 = received (sales) order; sip_cins 0 normal, 2 proforma.
SALES_ORDER: Final = 0
NORMAL_ORDER: Final = 0
PROFORMA_ORDER: Final = 2
# ODEME_EMIRLERI.sck_tip 0 customer cheque, 1 customer note; sck_sonpoz 0 = in our portfolio.
CHEQUE_NOTE_TYPES: Final = (0, 1)
IN_PORTFOLIO: Final = 0

DEFAULT_COLLECTION_METHODS: Final[Mapping[int, CollectionMethod]] = {
    0: "cash",
    1: "cheque",
    2: "promissory_note",
    17: "bank_transfer",
    19: "card",
}
# cari_baglanti_tipi: 0 customer, 1 vendor, 2 other, 3 distributor, 4 dealer, 5 prospect, 6 prospect
# dealer, 7 sub-dealer, 8 affiliate. Mikro has no "customer and supplier" code.
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
# cha_d_cins / sip_doviz_cinsi / cari_doviz_cinsi: 0 is the company's main currency.
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
# sto_pasif_fl value meaning passive: the name says 1; Mikro's dictionary labels it 0 Pasif / 1 Aktif (UNCONFIRMED).
PASSIVE_DEFAULT: Final = 1
# cari_sirket_turu 1 = natural person; cari_faal_terk 0 = trading, 1 = ceased.
NATURAL_PERSON: Final = 1
CEASED: Final = 1

# Mikro writes no NULLs: 1899-12-30 is its empty date (text is '' and numbers 0).
NO_DATE: Final = dt.datetime(1899, 12, 30)


def vade_date(value: int | None) -> dt.date | None:
    """A receipt's cha_vade (int yyyymmdd) as a date; 0 or a malformed number means none."""
    if not value or value < 1901_01_01:
        return None
    try:
        return dt.date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        return None


def document_number(number_format: str, seri: str | None, sira: int | None) -> str:
    """The feed's document number from Mikro's series and sequence (see `number_format`)."""
    return number_format.format(seri=(seri or "").strip(), sira=sira or 0)
