"""Netsis's code values and their meaning in the normalised feed.

Sources: section 2 of the ERP reference. Readings marked UNCONFIRMED there are settings
(see NetsisSettings, whose defaults are the mappings below) or are called out here and in
README.md; verify them on a customer database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Final

from mapping.schema import AccountKind, CollectionMethod, OrderStatus

# FTIRSIP: 1 sales invoice, 2 purchase invoice, 3 sales dispatch, 4 purchase dispatch, 6 customer order.
SALES_INVOICE: Final = "1"
PURCHASE_INVOICE: Final = "2"  # a sales return is a purchase-side invoice whose lines are returns
SALES_DISPATCH: Final = "3"
CUSTOMER_ORDER: Final = "6"

# STHAR_HTUR (1 src): J invoice, L return. Sales return = L lines coming in (G) on an FTIRSIP 2 document;
# L lines going out (C) on an FTIRSIP 1 document are a purchase return, never a sales invoice.
HTUR_INVOICE: Final = "J"
HTUR_RETURN: Final = "L"
IN: Final = "G"
OUT: Final = "C"
BGTIP_INVOICE: Final = "F"

# TBLCAHAR.HAREKET_TURU (1 src): A opening, B invoice, C return invoice, D cash, E customer note,
# F our note, G customer cheque, H our cheque, I protested note, J bounced cheque, K dekont, L other.
CAHAR_INVOICE: Final = "B"
CAHAR_RETURN: Final = "C"
# Credit rows (ALACAK > 0) of these kinds are collections. D/E/G come from the reference's predicate;
# K (a dekont from the bank module) as a transfer and M as a card slip are UNCONFIRMED: setting collection_kinds.
DEFAULT_COLLECTION_KINDS: Final[Mapping[str, CollectionMethod]] = {
    "D": "cash",
    "E": "promissory_note",
    "G": "cheque",
    "K": "bank_transfer",
    "M": "card",
}

# TBLCASABIT.CARI_TIP: A alıcı (buyer), S satıcı (seller); H (both) is UNCONFIRMED: setting account_kinds.
DEFAULT_ACCOUNT_KINDS: Final[Mapping[str, AccountKind]] = {"A": "customer", "S": "supplier", "H": "both"}

# TBLSIPAMAS.ONAYTIPI -> order status while the order is neither cancelled nor closed (UNCONFIRMED values):
# T teklif (a quotation kept as an order), B beklemede (awaiting approval), A approved for shipment.
DEFAULT_ORDER_STATUSES: Final[Mapping[str, OrderStatus]] = {"T": "proposal", "B": "open", "A": "shippable"}
# TBLSIPATRA.STHAR_HTUR of a closed order line (integrators exclude 'K' lines: 1 src).
CLOSED_ORDER_LINE: Final = "K"

# TBLFATUIRS.TIPI of a price-difference invoice (UNCONFIRMED: setting price_difference_tipi); 1 = açık (on account).
OPEN_INVOICE_TIPI: Final = 1
PRICE_DIFFERENCE_TIPI: Final = 4

# Currency numbers (DOVIZ.SIRA, DOVIZTIP, DOVIZ_TURU, DOVIZ_TIPI); 0 is always the local currency.
# Only the usual first two; the numbering is per install: setting currency_codes.
LOCAL_CURRENCY_CODE: Final = 0
DEFAULT_CURRENCY_CODES: Final[Mapping[int, str]] = {1: "USD", 2: "EUR"}

# TBLKOSULMAS.ISKONTO_TIPI (UNCONFIRMED columns, see tables.py).
DISCOUNT_KINDS: Final[Mapping[str, str]] = {"Y": "percent", "T": "amount", "F": "fixed_price"}
DISCOUNT_TYPES: Final[Mapping[str, str]] = {v: k for k, v in DISCOUNT_KINDS.items()}

YES: Final = "E"  # evet: KILIT, KAPALI and the cancel flag
ALL_WAREHOUSES: Final = 0  # TBLSTOKPH.DEPO_KODU of the all-warehouse total
SERVICE_GROUP: Final = "HIZMET"  # TBLSTSABIT.GRUP_KODU of service cards (an install convention: setting)

_YEAR_SUFFIX = re.compile(r"[^A-Za-z0-9]*(19|20)\d\d$")


def company_of(database: str) -> str:
    """The company a database belongs to: its name without the fiscal year ("GIDA2026" -> "GIDA")."""
    return _YEAR_SUFFIX.sub("", database) or database


def naive(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """An instant as the wall time Netsis stores (no zone)."""
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return local.replace(tzinfo=None)
