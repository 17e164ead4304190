"""Logo's code values and their meaning in the normalised feed.

Sources: section 1 of the ERP reference. Readings marked UNCONFIRMED there are settings
(see LogoSettings) or are called out here; verify them on a customer database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

from mapping.schema import AccountKind, CollectionMethod, InvoiceKind, LineKind

# INVOICE.TRCODE on the sales side. 13 is the *purchase* price-difference invoice and
# 1/4/5/6/10/26 are purchase, proforma or producer documents: never read.
INVOICE_KINDS: Final[Mapping[int, InvoiceKind]] = {
    7: "sale",  # retail sales
    8: "sale",  # wholesale sales
    2: "return",  # retail sales return
    3: "return",  # wholesale sales return
    9: "service",  # service given
    14: "price_difference",  # price-difference invoice given
}
# What the writer stores for each kind (the wholesale variant for sale/return).
INVOICE_TRCODES: Final[Mapping[InvoiceKind, int]] = {"sale": 8, "return": 3, "service": 9, "price_difference": 14}

# CLFLINE.TRCODE of an invoice posting (MODULENR 4) is 30 + the invoice TRCODE (31..44);
# the collections stream must never see these, even the SIGN=1 sales returns.
CLFLINE_INVOICE_MODULE: Final = 4
CLFLINE_INVOICE_TRCODE_OFFSET: Final = 30

# (MODULENR, TRCODE) of a SIGN=1 CLFLINE row that is a collection. UNCONFIRMED for (7, 20):
# LDDS says 20 = incoming wire, one live project maps 20 = card and 22 = incoming wire.
DEFAULT_COLLECTION_CODES: Final[Mapping[str, CollectionMethod]] = {
    "5:1": "cash",  # AR/AP slip: cash collection
    "5:70": "card",  # AR/AP slip: credit-card slip
    "6:61": "cheque",  # cheque/note roll: cheque entry
    "6:62": "promissory_note",  # cheque/note roll: promissory-note entry
    "7:20": "bank_transfer",  # bank: incoming wire (UNCONFIRMED)
    "10:1": "cash",  # cash box: collection
}

# ORFICHE.TRCODE 1 = received (sales) order; 2 = given (purchase) order, never read.
SALES_ORDER_TRCODE: Final = 1
ORDER_STATUSES: Final[Mapping[int, str]] = {1: "proposal", 2: "open", 4: "shippable"}

# TRCURR / CURRENCY / CCURRENCY. 0 = the firm's local currency (LogoSettings.local_currency).
# Only codes seen in the sources; add the firm's others with the `currency_codes` setting.
DEFAULT_CURRENCY_CODES: Final[Mapping[int, str]] = {1: "USD", 20: "EUR", 160: "TRY"}
LOCAL_CURRENCY_CODE: Final = 0

# STLINE / ORFLINE LINETYPE.
LINE_KINDS: Final[Mapping[int, LineKind]] = {
    0: "item",  # stock
    1: "promotion",
    2: "discount",  # document-level discount line
    3: "expense",
    4: "service",
    5: "other",  # deposit
    6: "item",  # mixed case
    7: "item",  # mixed-case component
    8: "other",  # fixed asset
}
LINE_TYPES: Final[Mapping[LineKind, int]] = {
    "item": 0,
    "promotion": 1,
    "discount": 2,
    "expense": 3,
    "service": 4,
    "other": 5,
}

# CLCARD.CARDTYPE. 4 (UNCONFIRMED: possibly a group code) is not an account kind we know.
ACCOUNT_KINDS: Final[Mapping[int, AccountKind]] = {1: "customer", 2: "supplier", 3: "both"}
ACCOUNT_CARDTYPES: Final[Mapping[AccountKind, int]] = {v: k for k, v in ACCOUNT_KINDS.items()}
PLACEHOLDER_CODE: Final = "ÿ"  # sort-sentinel rows integrators exclude (meaning UNCONFIRMED)

# ITEMS.CARDTYPE 20/21/22 are material classes, not goods.
ITEM_CLASS_CARDTYPES: Final = (20, 21, 22)
ITEM_CARDTYPE_GOODS: Final = 1

# ACTIVE on CLCARD / ITEMS: 0 = in use, 1 = passive.
ACTIVE_IN_USE: Final = 0

# LG_FFF_DECARDS.CARDTYPE 2 = sales discount (1 purchase discount, 3/4 expenses).
DECARD_SALES_DISCOUNT: Final = 2
# LG_FFF_PRCLIST.PTYPE 2 = sales price (1 = purchase price).
PRCLIST_SALES: Final = 2
# LG_FFF_PP_GNTOTCL.TOTTYP 1 = the local-currency balance; GNTOTST.INVENNO -1 = all warehouses.
GNTOTCL_LOCAL: Final = 1
ALL_WAREHOUSES: Final = -1

# PAYTRANS.MODULENR of an invoice's due-date item.
PAYTRANS_INVOICE_MODULE: Final = 4


def unpack_time(value: int | None) -> tuple[int, int, int]:
    """(hour, minute, second) of a packed TIME_/FTIME int.

    Hour = value // 2**24 is confirmed by one source; minute and second in the next two
    bytes is UNCONFIRMED (the DB's dbo.LG_INTTOTIME is the authority).
    """
    if not value:
        return 0, 0, 0
    return (value >> 24) & 0xFF, (value >> 16) & 0xFF, (value >> 8) & 0xFF


def pack_time(hour: int, minute: int, second: int) -> int:
    return (hour << 24) | (minute << 16) | (second << 8)


def packed(moment: dt.datetime | dt.time) -> int:
    return pack_time(moment.hour, moment.minute, moment.second)


def parse_collection_codes(codes: Mapping[str, CollectionMethod]) -> dict[tuple[int, int], CollectionMethod]:
    """{"5:1": "cash"} as {(5, 1): "cash"}; raises ValueError on a malformed key."""
    parsed: dict[tuple[int, int], CollectionMethod] = {}
    for pair, method in codes.items():
        module, sep, trcode = pair.partition(":")
        if not sep or not module.strip().isdigit() or not trcode.strip().isdigit():
            raise ValueError(f"collection_codes key {pair!r} must be 'MODULENR:TRCODE', e.g. '5:1'")
        parsed[(int(module), int(trcode))] = method
    return parsed
