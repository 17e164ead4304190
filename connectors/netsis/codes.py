"""Netsis's code values, the defaults of the settings that map them, and the source behind each reading.

Sources (connectors/netsis/vendor/README.md names them in full): the Netsis column descriptions
republished by mobilteg.com.tr ("vendor docs"), schema scaffolds of live Netsis databases, production
queries of Netsis integrators, and the older ERP reference ("reference", single source). Every reading
that no primary source confirms is a setting (NetsisSettings) whose default is below, and reads as
UNCONFIRMED in the code census.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Final, Literal

from connectors.census import UNCONFIRMED
from mapping.schema import AccountKind, CollectionMethod, DiscountKind, LedgerKind, MovementKind, OrderStatus

VENDOR_FTIRSIP: Final = "vendor docs: STHAR_FTIRSIP (mobilteg TBLSTHAR)"
VENDOR_CAHAR: Final = "vendor docs: BORC/ALACAK (mobilteg TBLCAHAR)"
LOCAL_ZERO: Final = "production queries: DOVIZTIP = 0 is TL (Fidanx_Netsis invoices.service.ts)"

# FTIRSIP / STHAR_FTIRSIP (vendor docs): 1 sales invoice, 2 purchase invoice, 3 sales dispatch, 4 purchase
# dispatch, 6 customer order, 7 vendor order, 8/9 warehouse transfer in/out, A kept (saklanmış) dispatch.
SALES_INVOICE: Final = "1"
PURCHASE_INVOICE: Final = "2"  # a sales return is a purchase-side invoice whose lines are returns
SALES_DISPATCH: Final = "3"
CUSTOMER_ORDER: Final = "6"
FTIRSIP_NAMES: Final[Mapping[str, str]] = {
    "1": "sales invoice",
    "2": "purchase invoice",
    "3": "sales dispatch",
    "4": "purchase dispatch",
    "6": "customer order",
    "7": "vendor order",
    "8": "warehouse transfer in",
    "9": "warehouse transfer out",
    "A": "kept dispatch",
}

# STHAR_HTUR (reference, 1 src; production queries read J as invoice lines and L as returns): J invoice line,
# L return. STHAR_GCKOD (vendor docs): G in, C out. A sales return is L lines on an FTIRSIP 2 document; L
# lines on an FTIRSIP 1 document are a purchase return, never a sales invoice.
HTUR_INVOICE: Final = "J"
RETURN_LINE: Final = "L"
IN: Final = "G"
OUT: Final = "C"
BGTIP_INVOICE: Final = "F"
HTUR_SOURCE: Final = "reference (1 src); production query: L = return (YigitErogluTr/Netsis 02_alis_ve_tedarikci_iade)"
HTUR_INVOICE_SOURCE: Final = "production queries: J = invoice lines (YigitErogluTr/Netsis 02_hareketi_olan_cariler)"

# TBLCAHAR.HAREKET_TURU (reference, 1 src; no vendor list exists): A opening, B invoice, C return invoice, D cash,
# E customer note, F our note, G customer cheque, H our cheque, I protested note, J bounced cheque, K dekont,
# L other. Which side a row is on (BORC debit / ALACAK credit) is vendor-documented; the letters are not.
CAHAR_INVOICE: Final = "B"
CAHAR_RETURN: Final = "C"
DEFAULT_COLLECTION_KINDS: Final[Mapping[str, CollectionMethod]] = {
    "D": "cash",
    "E": "promissory_note",
    "G": "cheque",
    "K": "bank_transfer",
    "M": "card",
}
DEFAULT_CREDITS_LEFT_OUT: Final[Mapping[str, str]] = {
    "A": "opening balance carried over from the previous year: account_ledger carries it",
    "B": "invoice posting (a supplier's purchase invoice; the feed carries sales only)",
    "C": "return invoice posting: the invoices stream carries the sales return",
    "L": "miscellaneous credit (a credit note, a rebate): account_ledger carries it",
}
# Debit rows I and J (a protested note, a bounced cheque: "karşılıksız çek") undo a collection the feed has sent.
# They go out as negative collections of the method they reverse, as the Mikro adapter sends returned cheques and
# notes, so the payout loses what bounced (setting debit_reversals; UNCONFIRMED, one source like every letter).
DEFAULT_DEBIT_REVERSALS: Final[Mapping[str, CollectionMethod]] = {"I": "promissory_note", "J": "cheque"}
# The other debit rows are charges to the account, never collections.
DEFAULT_DEBITS_LEFT_OUT: Final[Mapping[str, str]] = {
    "A": "opening balance carried over from the previous year: account_ledger carries it",
    "B": "invoice posting: the invoices stream carries the invoice",
    "C": "return invoice posting (a purchase return)",
    "D": "cash paid out",
    "E": "customer note given back or endorsed",
    "F": "our promissory note given",
    "G": "customer cheque given back or endorsed",
    "H": "our cheque given",
    "K": "dekont (debit note): account_ledger carries it",
    "L": "other debit",
}
CreditSide = Literal["ALACAK", "BORC"]

# The account ledger (account_ledger stream) reads every TBLCAHAR row. Two production queries name the letters
# the way the reference does (A Devir, B Fatura, C İade Fatura, D Kasa, E Müşteri Senedi, F Borç Senedi, G Müşteri
# Çeki, H Borç Çeki, I Protestolu Senet, J Karşılıksız Çek, K Dekont, L Muhtelif: veyucu/atakodb2b
# CariEkstreService.cs; mirkankacan/Otomar ClientRepository.cs reads A Devir, B invoice, C return, D and K
# collections, E notes, G and H cheques). Which ledger kind a letter is on each side is this adapter's reading
# (settings ledger_debits, ledger_credits); credits of collection_kinds letters are collections and debits of
# debit_reversals letters bounced cheques and notes, as the collections stream reads them.
CAHAR_OPENING: Final = "A"
CAHAR_DEKONT: Final = "K"
CAHAR_OTHER: Final = "L"
LEDGER_LETTERS_SOURCE: Final = (
    "production queries: A Devir, B Fatura, C İade Fatura (veyucu/atakodb2b CariEkstreService, mirkankacan/Otomar)"
)
# Opening balances, invoices and returns: the letters both production queries name. A dekont (K) on the debit side
# is a debit note (borç dekontu: interest on late payment); money paid out or a customer's cheque or note given
# back (D, E, F, G, H debits) is a payment to the account.
DEFAULT_LEDGER_DEBITS: Final[Mapping[str, LedgerKind]] = {
    "A": "opening",
    "B": "invoice",
    "D": "payment",
    "E": "payment",
    "F": "payment",
    "G": "payment",
    "H": "payment",
    "K": "debit_note",
    "C": "other",  # a purchase return: the feed's invoices stream carries sales only
}
# Credits: an opening balance in the dealer's favour, a sales return's posting, and a credit note (rebate). K credits
# are bank transfers in collection_kinds (a production query reads D and K credits as collections), so a rebate is
# read from the miscellaneous letter L (Muhtelif), where this adapter's test writer puts it: UNCONFIRMED.
DEFAULT_LEDGER_CREDITS: Final[Mapping[str, LedgerKind]] = {
    "A": "opening",
    "B": "other",  # a purchase invoice on a supplier's account: the feed's invoices stream carries sales only
    "C": "return",
    "L": "credit_note",
}
LEDGER_SOURCES: Final[Mapping[tuple[str, str], str]] = {
    ("A", "BORC"): LEDGER_LETTERS_SOURCE,
    ("A", "ALACAK"): LEDGER_LETTERS_SOURCE,
    ("B", "BORC"): LEDGER_LETTERS_SOURCE,
    ("C", "ALACAK"): LEDGER_LETTERS_SOURCE,
}

# Stock movements (stock_movements stream): every TBLSTHAR row is one quantity into (STHAR_GCKOD G) or out of (C) one
# warehouse (DEPO_KODU) (vendor docs: mobilteg TBLSTHAR). What the movement is comes from its kind STHAR_HTUR, read
# with the document type STHAR_FTIRSIP. The letters' names: the reference's list (1 src) and a production stock-card
# query that prints them (code index file id 7206369947: A Devir, J Fatura, H İrsaliye, B Depo Transferi, N
# Faturalaşmış İrsaliye, L İade, C Üretim, D Muhtelif, E Maliyet, F Konsinye, G Müstahsil, I Kapalı Fatura, K Müşteri
# Faturası, M Zayi İade). A production stock-movement filter (code index file id 10569549912) reads the combinations:
# DAT (warehouse transfer) = STHAR_FTIRSIP 8 or 9, STHAR_HTUR B, STHAR_BGTIP I; purchase invoice = 2, J, F; purchase
# dispatch = 4, H, I; sales (sevk) invoice = 1, J, F; production = C with STHAR_BGTIP U or V.
# Keys of the setting movement_kinds: "<STHAR_HTUR>:<STHAR_FTIRSIP>" (that pair) or "<STHAR_HTUR>" (any document).
HTUR_DISPATCH: Final = "H"
HTUR_TRANSFER: Final = "B"
PURCHASE_DISPATCH: Final = "4"
TRANSFER_SLIP: Final = "8"  # D.A.T. giriş (vendor docs); a NetOpenX DAT posting names its lines 8 too (1 src)
BGTIP_DISPATCH: Final = "I"
_HTUR_NAMES: Final = "production query: STHAR_HTUR names (code index 7206369947)"
_MOVES: Final = "production query: stock movement filters (code index 10569549912)"
DEFAULT_MOVEMENT_KINDS: Final[Mapping[str, MovementKind]] = {
    "J:1": "sale",  # a sales invoice's line, out
    "J:2": "purchase",  # a purchase invoice's line, in
    "L:2": "sale_return",  # a sales return: L lines on a purchase-side document, in
    "L:1": "purchase_return",  # a purchase return: L lines on a sales-side document, out
    "H:3": "sale",  # a sales dispatch's line (irsaliye), out
    "H:4": "purchase",  # a purchase dispatch's line, in
    "N:3": "sale",  # an invoiced sales dispatch (faturalaşmış irsaliye)
    "N:4": "purchase",  # an invoiced purchase dispatch
    "B": "transfer",  # depo transferi (DAT): one row out of a warehouse, one into the other
    "A": "count",  # devir: the quantity carried into the year
    "C": "production",  # üretim
    "D": "other",  # muhtelif (miscellaneous)
    "E": "other",  # maliyet (cost)
    "F": "other",  # konsinye (consignment)
    "G": "purchase",  # müstahsil: a receipt from a producer (a farmer)
}
MOVEMENT_SOURCES: Final[Mapping[str, str]] = {
    "J:1": f"{HTUR_INVOICE_SOURCE}; {_MOVES}",
    "J:2": _MOVES,
    "L:2": HTUR_SOURCE,
    "H:3": f"{_HTUR_NAMES}; {VENDOR_FTIRSIP}",
    "H:4": _MOVES,
    "B": f"{_MOVES}; {_HTUR_NAMES}",
}
MOVEMENT_DIRECTIONS: Final[Mapping[str, str]] = {IN: "in", OUT: "out"}  # STHAR_GCKOD (vendor docs)
GCKOD_SOURCE: Final = "vendor docs: STHAR_GCKOD G in, C out (mobilteg TBLSTHAR)"
BGTIP_SOURCE: Final = f"reference (1 src): STHAR_BGTIP F invoice, I dispatch; {_MOVES}"

# TBLCASABIT.CARI_TIP: A alıcı (buyer), S satıcı (seller) as production queries filter them; H (both) is
# UNCONFIRMED.
DEFAULT_ACCOUNT_KINDS: Final[Mapping[str, AccountKind]] = {"A": "customer", "S": "supplier", "H": "both"}
ACCOUNT_KIND_SOURCES: Final[Mapping[str, str]] = {
    "A": "production queries: CARI_TIP = 'A' customers (YigitErogluTr/Netsis 03_musteri_borc_alacak_bakiye)",
    "S": "production queries: CARI_TIP = 'S' suppliers (YigitErogluTr/Netsis 04_satici_borc_alacak_bakiye)",
}

# TBLSIPAMAS.ONAYTIPI -> order status while the order is neither cancelled nor closed (UNCONFIRMED values):
# T teklif (a quotation kept as an order), B beklemede (awaiting approval), A approved for shipment.
DEFAULT_ORDER_STATUSES: Final[Mapping[str, OrderStatus]] = {"T": "proposal", "B": "open", "A": "shippable"}
# TBLSIPATRA.STHAR_HTUR of a closed order line (integrators exclude 'K' lines: 1 src).
CLOSED_ORDER_LINE: Final = "K"

# TBLFATUIRS.TIPI (no source gives the values' meaning): an invoice's kind is then taken from its lines (sale or
# service), or it is a price difference. 2 is what a production query filters sales invoices by
# (YigitErogluTr/Netsis 05_satis_satis_iade_basit); 1 (açık) and 4 (price difference) are UNCONFIRMED.
InvoiceTipi = Literal["invoice", "price_difference"]
DEFAULT_INVOICE_TIPIS: Final[Mapping[int, InvoiceTipi]] = {1: "invoice", 2: "invoice", 4: "price_difference"}
TIPI_SOURCES: Final[Mapping[int, str]] = {2: "production query: TIPI = 2 sales invoices (YigitErogluTr/Netsis)"}
OPEN_INVOICE_TIPI: Final = 1
PRICE_DIFFERENCE_TIPI: Final = 4

# Currency numbers (DOVIZ.SIRA, DOVIZTIP, STHAR_DOVTIP, DOVIZ_TURU, DOVIZ_TIPI); 0 is always the local currency.
# 1 USD and 2 EUR are how production queries read them; the numbering is per install: setting currency_codes.
LOCAL_CURRENCY_CODE: Final = 0
DEFAULT_CURRENCY_CODES: Final[Mapping[int, str]] = {1: "USD", 2: "EUR"}
CURRENCY_SOURCE: Final = "production queries: 1 USD, 2 EUR (YigitErogluTr/Netsis, Fidanx_Netsis); per install"

# TBLKOSULMAS.ISKONTO_TIPI (UNCONFIRMED columns, see tables.py).
DEFAULT_DISCOUNT_KINDS: Final[Mapping[str, DiscountKind]] = {"Y": "percent", "T": "amount", "F": "fixed_price"}

# TBLSTOKFIAT (price lists; column names from production queries, vendor/columns.csv). A_S: an importer writes 'A'
# for purchase prices and 'S' for sales prices, and a NetOpenX invoice builder prices its lines from A_S = 'S'.
SALES_PRICE: Final = "S"
PURCHASE_PRICE: Final = "A"
PRICE_SIDE_SOURCE: Final = "production queries: A_S 'S' sales, 'A' purchase (code index 21699039847, 13106850106)"
# OLCUBR 1..3 names the card's OLCU_BR1..3 (a price-list report reads it so, code index 6694673810).
PRICE_UNITS: Final[Mapping[int, str]] = {1: "OLCU_BR1", 2: "OLCU_BR2", 3: "OLCU_BR3"}
PRICE_UNIT_SOURCE: Final = "production query: OLCUBR 1..3 = OLCU_BR1..3 (code index 6694673810)"

YES: Final = "E"  # evet: KILIT, KAPALI and a cancel flag
NO: Final = "H"  # hayır
# The values a Netsis E/H flag is read with: blank and NULL read as "not set" (UNCONFIRMED: no source says what
# a flag never set holds); any other value is a dead letter, never taken for "no".
NOT_SET: Final = ("", None)
ALL_WAREHOUSES: Final = 0  # TBLSTOKPH.DEPO_KODU of the all-warehouse total
SERVICE_GROUP: Final = "HIZMET"  # TBLSTSABIT.GRUP_KODU of service cards (an install convention: setting)

_YEAR_SUFFIX = re.compile(r"[^A-Za-z0-9]*(19|20)\d\d$")


def default_source(setting_given: bool, default_source: str = UNCONFIRMED) -> str:
    """The source of a reading: the integrator's own settings when the setting was given, else the default's."""
    return "your settings" if setting_given else default_source


def company_of(database: str) -> str:
    """The company a database belongs to: its name without the fiscal year ("GIDA2026" -> "GIDA")."""
    return _YEAR_SUFFIX.sub("", database) or database


def naive(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """An instant as the wall time Netsis stores (no zone)."""
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return local.replace(tzinfo=None)
