"""Logo's code values and their meaning in the normalised feed.

Sources: Logo's data dictionary (LDDS: the column list in vendor/ and the code lists generated from
it), section 1 of the ERP reference, integrators' published code tables. Every code mapping is a
setting (LogoSettings) defaulting to the tables here; `census.py` shows each value found in a
customer's data with the reading and its source. Readings no primary source confirms are marked
UNCONFIRMED; verify them on a customer database with `dealersync discover --codes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final, Literal, TypeVar

from mapping.schema import AccountKind, CollectionMethod, InvoiceKind, LedgerKind, LineKind, MovementKind, OrderStatus

V = TypeVar("V")

LDDS = "LDDS (Logo data dictionary)"
LDDS_CODES = "LDDS code lists (LDDS.xls) and integrators' tables"

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
# INVOICE.TRCODE values left out on purpose: (why), all from LDDS_CODES.
INVOICE_EXCLUDED: Final[Mapping[int, str]] = {
    1: "purchase invoice",
    4: "service received (purchase)",
    5: "purchase proforma",
    6: "purchase return",
    10: "sales proforma: not an invoice",
    13: "purchase price-difference invoice",
    26: "producer receipt (müstahsil makbuzu): a purchase",
}
# What the writer stores for each kind (the wholesale variant for sale/return).
INVOICE_TRCODES: Final[Mapping[InvoiceKind, int]] = {"sale": 8, "return": 3, "service": 9, "price_difference": 14}

# CLFLINE.TRCODE of an invoice posting (MODULENR 4) is 30 + the invoice TRCODE (31..44);
# the collections stream must never see these, even the SIGN=1 sales returns.
CLFLINE_INVOICE_MODULE: Final = 4
CLFLINE_INVOICE_TRCODE_OFFSET: Final = 30

# (MODULENR, TRCODE) of a SIGN=1 CLFLINE row that is a collection, all per LDDS_CODES (5/70 card slip,
# 6/61 and 6/62 cheque and note entry, 7/20 incoming wire: every source found agrees; the "22 = wire,
# 20 = card" the reference once saw has no source).
DEFAULT_COLLECTION_CODES: Final[Mapping[str, CollectionMethod]] = {
    "5:1": "cash",  # AR/AP slip: cash collection
    "5:70": "card",  # AR/AP slip: credit-card slip
    "6:61": "cheque",  # cheque/note roll: cheque entry
    "6:62": "promissory_note",  # cheque/note roll: promissory-note entry
    "7:20": "bank_transfer",  # bank: incoming wire
    "10:1": "cash",  # cash box: collection
}

# CLFLINE rows that are not collections, with why (LDDS_CODES): (MODULENR, TRCODE) -> reason.
CLFLINE_OTHER: Final[Mapping[tuple[int, int], str]] = {
    (5, 2): "cash payment to the account",
    (5, 3): "debit note (borç dekontu): not money received",
    (5, 4): "credit note (alacak dekontu): not money received",
    (5, 5): "transfer between accounts (virman)",
    (5, 6): "exchange-rate difference",
    (5, 12): "special slip",
    (5, 14): "opening balance",
    (5, 41): "interest-difference invoice given",
    (5, 42): "interest-difference invoice received",
    (5, 71): "card refund: money paid back, not a collection",
    (5, 72): "company credit card slip (a payment)",
    (5, 73): "company credit card refund",
    (6, 63): "cheque given to the account (a payment)",
    (6, 64): "note given to the account (a payment)",
    (7, 21): "outgoing wire (a payment)",
    (10, 2): "cash-box payment",
}

# The account ledger's reading of CLFLINE (MODULENR, TRCODE) pairs that are neither an invoice posting of
# `invoice_kinds` nor a collection code. LDDS relates module 5 TRCODEs 1-6, 12 and 14 to the account slip
# (CLFICHE) and module 61 TRCODE 3 to a cheque transaction, but names none of them; the names come from two
# integrators' published CASE lists that agree (UNCONFIRMED): 3 borç dekontu, 4 alacak dekontu, 6 kur farkı
# işlemi, 14 açılış fişi, 41 verilen vade farkı faturası, 61/3 müşteriye iade edilen çek.
LEDGER = "integrators' CLFLINE code lists (two agree; not LDDS: UNCONFIRMED)"
DEFAULT_LEDGER_KINDS: Final[Mapping[str, LedgerKind]] = {
    "5:2": "payment",  # cash payment
    "5:3": "debit_note",
    "5:4": "credit_note",
    "5:5": "other",  # transfer between accounts (virman)
    "5:6": "exchange_difference",
    "5:12": "other",  # special slip
    "5:14": "opening",
    "5:71": "payment",  # card refund
    "4:41": "debit_note",  # interest-difference invoice given (vade farkı): charged to the dealer
    "6:63": "payment",  # cheque given to the account
    "6:64": "payment",  # note given to the account
    "7:21": "payment",  # outgoing wire
    "10:2": "payment",  # cash-box payment
    "61:3": "cheque_return",  # a customer's cheque given back (bounced or swapped)
}
# Account slips the writer stores for the scenario's notes: (TRCODE, SIGN) in module 5.
CLFLINE_SLIP_MODULE: Final = 5

# Stock movements: STLINE rows (one per line of a material slip, STFICHE, or of an invoice).
# LDDS (vendor/README.md quotes it): STFICHE.IOCODE is 1 input for TRCODE 1-5, 13-19, 26, 30-34, 50; 2 warehouse
# ("Ambar") for TRCODE 25 alone; 3 output for TRCODE 6-12, 20-24, 35-39, 51. STFICHE.SOURCEINDEX is the output
# (source) warehouse, DESTINDEX the input (target) one. STLINE.TRCODE names 15-19 user-defined input slips, 20-24
# user-defined output slips, 30-34 user-defined purchase receipts, 35-39 user-defined sales dispatches;
# STLINE.IOCODE 1 input, 2 input from warehouse, 3 output from warehouse, 4 output. The reference (section 1)
# gives STLINE's and STFICHE's 7/8 sales and 2/3 sales returns. The other names come from two integrators'
# published STFICHE code lists that agree (UNCONFIRMED).
STOCK = "integrators' STFICHE code lists (two agree; not LDDS: UNCONFIRMED)"
STOCK_LDDS = "LDDS (STFICHE.IOCODE and STLINE.TRCODE descriptions)"
STOCK_REFERENCE = "ERP reference, section 1 (STLINE/STFICHE 7/8 sales, 2/3 returns)"
DEFAULT_MOVEMENT_KINDS: Final[Mapping[int, MovementKind]] = {
    1: "purchase",  # mal alım (satınalma) irsaliyesi
    2: "sale_return",  # perakende satış iade irsaliyesi
    3: "sale_return",  # toptan satış iade irsaliyesi
    4: "other",  # konsinye çıkış iade irsaliyesi: consigned goods back (not a sale's return)
    5: "other",  # konsinye giriş irsaliyesi: goods taken on consignment
    6: "purchase_return",  # satınalma iade irsaliyesi
    7: "sale",  # perakende satış irsaliyesi
    8: "sale",  # toptan satış irsaliyesi
    9: "other",  # konsinye çıkış irsaliyesi: goods sent on consignment
    10: "other",  # konsinye giriş iade irsaliyesi
    11: "consumption",  # fire fişi (scrap)
    12: "consumption",  # sarf fişi
    13: "production",  # üretimden giriş fişi
    14: "count",  # devir fişi: an opening quantity
    **{code: "other" for code in range(15, 25)},  # user-defined input (15-19) and output (20-24) slips (LDDS)
    25: "transfer",  # ambar fişi: out of SOURCEINDEX, into DESTINDEX
    26: "purchase",  # müstahsil irsaliyesi: bought from a producer
    **{code: "purchase" for code in range(30, 35)},  # user-defined purchase receipts (LDDS)
    **{code: "sale" for code in range(35, 40)},  # user-defined sales dispatches (LDDS)
    50: "count",  # sayım fazlası fişi
    51: "count",  # sayım eksiği fişi
}
# Where each default reading comes from (the census names it).
MOVEMENT_SOURCES: Final[Mapping[int, str]] = {
    **{code: STOCK for code in DEFAULT_MOVEMENT_KINDS},
    **{code: STOCK_REFERENCE for code in (2, 3, 7, 8)},
    **{code: STOCK_LDDS for code in (*range(15, 26), *range(30, 40))},
}
# STLINE.IOCODE -> direction (LDDS): 1 input, 2 input from warehouse, 3 output from warehouse, 4 output.
MOVEMENT_DIRECTIONS: Final[Mapping[int, Literal["in", "out"]]] = {1: "in", 2: "in", 3: "out", 4: "out"}
# INVOICE.TRCODE whose lines move no goods: services received and given, proformas, price differences (LDDS_CODES
# names the invoices; that their STLINE rows move nothing is dealersync's reading, UNCONFIRMED).
GOODS_FREE_INVOICES: Final = (4, 5, 9, 10, 13, 14)
# What the writer stores for the scenario's stock slips: (STFICHE.GRPCODE, TRCODE, IOCODE of the slip,
# IOCODE of its lines). GRPCODE (LDDS): 1 purchasing, 2 sales, 3 material management.
SLIP_CODES: Final[Mapping[str, tuple[int, int, int, int]]] = {"purchase": (1, 1, 1, 1), "transfer": (3, 25, 2, 2)}

# ORFICHE.TRCODE 1 = received (sales) order; 2 = given (purchase) order, never read (LDDS).
SALES_ORDER_TRCODES: Final = (1,)
PURCHASE_ORDER_TRCODE: Final = 2
# ORFICHE.STATUS: 1 Öneri, 2 Sevkedilemez, 4 Sevkedilebilir (LDDS_CODES, confirmed on one live install;
# another guide says 3 = shippable, 4 = shipped: verify with the census).
ORDER_STATUSES: Final[Mapping[int, OrderStatus]] = {1: "proposal", 2: "open", 4: "shippable"}

# TRCURR / CURRENCY / CCURRENCY. 0 = the firm's local currency (LogoSettings.local_currency).
# LDDS_CODES: 1 USD, 17 GBP, 20 EUR, 53 and 160 Turkish lira; add the firm's others with `currency_codes`.
DEFAULT_CURRENCY_CODES: Final[Mapping[int, str]] = {1: "USD", 17: "GBP", 20: "EUR", 53: "TRY", 160: "TRY"}
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

# CLCARD.CARDTYPE: 1 Alıcı, 2 Satıcı, 3 Alıcı+Satıcı (LDDS_CODES). 4 ("group company") appears in one
# unsourced comment only: unknown until a customer's census shows it.
ACCOUNT_KINDS: Final[Mapping[int, AccountKind]] = {1: "customer", 2: "supplier", 3: "both"}
ACCOUNT_CARDTYPES: Final[Mapping[AccountKind, int]] = {v: k for k, v in ACCOUNT_KINDS.items()}
PLACEHOLDER_CODE: Final = "ÿ"  # sort-sentinel rows integrators exclude (meaning UNCONFIRMED)

# ITEMS.CARDTYPE (reference section 1): 1 trade goods, 2 mixed case, 3 deposit item, 4 fixed asset,
# 10 raw material, 11 semi-finished, 12 finished, 13 consumable; 20/21/22 are material classes, not goods.
ITEM_CARDTYPES: Final[Mapping[int, str]] = {
    1: "trade goods",
    2: "mixed case",
    3: "deposit item",
    4: "fixed asset",
    10: "raw material",
    11: "semi-finished goods",
    12: "finished goods",
    13: "consumable",
}
ITEM_CLASS_CARDTYPES: Final = (20, 21, 22)
ITEM_CARDTYPE_GOODS: Final = 1

# ACTIVE on CLCARD / ITEMS: 0 = in use, 1 = passive.
ACTIVE_IN_USE: Final = 0

# CLCARD.BLOCKED: LDDS says "Engellenmiş; 0 Evet; 1 Hayır" (0 = blocked). No live install was checked:
# the census shows how the cards split, and check warns when most active dealers would read as blocked.
BLOCKED_MEANS: Final = 0
# LG_FFF_PRCLIST.PTYPE 2 = sales price (1 = purchase price).
PRCLIST_SALES: Final = 2
# LG_FFF_PP_GNTOTCL.TOTTYP 1 = the local-currency balance; GNTOTST.INVENNO -1 = all warehouses.
GNTOTCL_LOCAL: Final = 1
ALL_WAREHOUSES: Final = -1

# PAYTRANS.MODULENR of an invoice's due-date item.
PAYTRANS_INVOICE_MODULE: Final = 4
# PAYTRANS.PAYMENTTYPE 2 cheque, 3 note (1 cash, 4 card): their item's DATE_ is when they mature.
PAYTRANS_DEFERRED: Final = (2, 3)


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
    return parse_pairs(codes, "collection_codes")


def parse_pairs(codes: Mapping[str, V], setting: str) -> dict[tuple[int, int], V]:
    """A setting keyed 'MODULENR:TRCODE' as {(MODULENR, TRCODE): value}; raises ValueError on a malformed key."""
    parsed: dict[tuple[int, int], V] = {}
    for pair, value in codes.items():
        module, sep, trcode = pair.partition(":")
        if not sep or not module.strip().isdigit() or not trcode.strip().isdigit():
            raise ValueError(f"{setting} key {pair!r} must be 'MODULENR:TRCODE', e.g. '5:1'")
        parsed[(int(module), int(trcode))] = value
    return parsed
