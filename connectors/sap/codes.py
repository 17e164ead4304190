"""SAP code values both flavours share (S/4 OData and ECC tables name the same facts).

Sources: section 4 of the ERP reference. Readings marked UNCONFIRMED are installation
customising in SAP; each is the default of a setting (see SapSettings / the README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final, Literal

from mapping.errors import RecordError
from mapping.money import currency as iso_currency
from mapping.schema import CollectionMethod, InvoiceKind, LedgerKind, MovementKind, OrderStatus
from mapping.units import unit_code

# --- ALPHA conversion -------------------------------------------------------------------
# KUNNR is 10 characters; MATNR 18 in ECC and 40 in S/4 (the ALPHA exit pads it to 18
# unless "extended material number" is switched on; padding to 18 is the common case).
KUNNR_LENGTH: Final = 10
MATNR_LENGTH: Final = 18
VBELN_LENGTH: Final = 10  # sales and billing document numbers
BELNR_LENGTH: Final = 10  # accounting document numbers


def alpha_in(value: str, length: int) -> str:
    """The internal (key) form: all-digit values are zero-padded to `length`, others kept as they are."""
    text = value.strip()
    if text.isdigit() and text.isascii():
        if len(text) > length:
            raise ValueError(f"{text!r} is longer than {length} characters")
        return text.zfill(length)
    return text


def alpha_out(value: str | None) -> str:
    """The display form: leading zeros stripped from all-digit values ("0000001234" -> "1234")."""
    if value is None:
        return ""
    text = value.strip()
    if text.isdigit() and text.isascii():
        return text.lstrip("0") or "0"
    return text


# --- Billing documents ----------------------------------------------------------------
# VBRK-VBTYP (OData: SDDocumentCategory) of billing documents.
VBTYP_INVOICE: Final = "M"
VBTYP_INVOICE_CANCELLATION: Final = "N"
VBTYP_CREDIT_MEMO: Final = "O"
VBTYP_DEBIT_MEMO: Final = "P"
VBTYP_CREDIT_MEMO_CANCELLATION: Final = "S"
VBTYP_PRO_FORMA: Final = "U"
# Sales-document categories (VBAK-VBTYP).
VBTYP_ORDER: Final = "C"
VBTYP_RETURNS: Final = "H"
VBTYP_DELIVERY: Final = "J"

# Cancellation documents (S1/S2) are bookkeeping of a cancel: the feed shows the original
# with cancelled=True (VBRK-FKSTO 'X' / BillingDocumentIsCancelled) and skips these.
CANCELLATION_CATEGORIES: Final = frozenset({VBTYP_INVOICE_CANCELLATION, VBTYP_CREDIT_MEMO_CANCELLATION})
# Pro forma invoices carry no receivable; never read.
SKIPPED_CATEGORIES: Final = frozenset({*CANCELLATION_CATEGORIES, VBTYP_PRO_FORMA})

# Billing type (VBRK-FKART / BillingDocumentType) -> invoice kind. SAP standard types;
# installations add Z-types, so this is the default of the `billing_types` setting.
# UNCONFIRMED: G2 (credit memo) as "return" — a G2 may also be a price reduction.
DEFAULT_BILLING_TYPES: Final[Mapping[str, InvoiceKind]] = {
    "F1": "sale",  # invoice (order-related)
    "F2": "sale",  # invoice (delivery-related)
    "RE": "return",  # credit memo for returns
    "G2": "return",  # credit memo
    "L2": "price_difference",  # debit memo: the agreed price was raised after delivery
}
# A billing type the `billing_types` setting maps to "excluded" is no dealer's invoice (internal billing, say).
EXCLUDED: Final = "excluded"
BillingReading = InvoiceKind | Literal["excluded"]
# Fallback by document category when a billing type is not in the table.
CATEGORY_KINDS: Final[Mapping[str, InvoiceKind]] = {
    VBTYP_INVOICE: "sale",
    VBTYP_CREDIT_MEMO: "return",
    VBTYP_DEBIT_MEMO: "price_difference",
}
# Item categories (VBRP-PSTYV / SalesDocumentItemCategory) of service items. An invoice
# whose items are all service items is a service invoice. UNCONFIRMED: TAD is SAP's
# standard service item category; installations use their own (setting `service_item_categories`).
DEFAULT_SERVICE_ITEM_CATEGORIES: Final = ("TAD",)


def invoice_kind(
    billing_type: str,
    category: str,
    item_categories: Sequence[str],
    billing_types: Mapping[str, BillingReading] = DEFAULT_BILLING_TYPES,
    service_item_categories: Sequence[str] = DEFAULT_SERVICE_ITEM_CATEGORIES,
) -> InvoiceKind:
    """The invoice kind of a billing document; RecordError when neither type nor category is known, or when the
    setting excludes the type (a reader that meets those leaves them out before mapping)."""
    reading = billing_types.get(billing_type)
    if reading == EXCLUDED:
        raise RecordError(f"billing type {billing_type!r} is excluded by the setting billing_types", "kind")
    kind = reading or CATEGORY_KINDS.get(category)
    if kind is None:
        raise RecordError(
            f"billing type {billing_type!r} (category {category!r}) is not a sales invoice kind: map it (or exclude "
            "it) in the setting billing_types",
            "kind",
        )
    if kind == "sale" and item_categories and all(c in service_item_categories for c in item_categories):
        return "service"
    return kind


# --- Sales orders ---------------------------------------------------------------------
# VBUK/VBAK statuses (OData: OverallSDProcessStatus, OverallSDDocumentRejectionSts):
# " " not relevant, A not yet processed, B partly processed, C completely processed.
STATUS_NOT_PROCESSED: Final = "A"
STATUS_PARTLY: Final = "B"
STATUS_COMPLETE: Final = "C"


def order_status(process_status: str, rejection_status: str, delivery_block: str) -> OrderStatus:
    """The normalised status of a sales order.

    Fully rejected (ABSTA/rejection 'C') is cancelled; completely processed is closed; partly
    processed (delivery under way) is shippable. An unprocessed order with a delivery block is
    a proposal awaiting release (UNCONFIRMED reading: installations use the block for approval).
    """
    if rejection_status == STATUS_COMPLETE:
        return "cancelled"
    if process_status == STATUS_COMPLETE:
        return "closed"
    if process_status == STATUS_PARTLY:
        return "shippable"
    if delivery_block.strip():
        return "proposal"
    return "open"


# --- Receivables and collections --------------------------------------------------------
# BSEG-SHKZG / DebitCreditCode: S = debit (+), H = credit (-).
DEBIT: Final = "S"
CREDIT: Final = "H"
SIGNS: Final[Mapping[str, int]] = {DEBIT: 1, CREDIT: -1}
CUSTOMER_PAYMENT_DOCUMENT_TYPE: Final = "DZ"  # BKPF-BLART of an incoming customer payment

# Payment document -> collection method, keyed "BLART:ZLSCH" (document type : payment method)
# or "BLART" alone; the more specific key wins. Payment methods are per-country customising
# in SAP (FBZP), so every entry but plain DZ is UNCONFIRMED: setting `collection_methods`.
DEFAULT_COLLECTION_METHODS: Final[Mapping[str, CollectionMethod]] = {
    "DZ": "bank_transfer",  # incoming payment (bank statement / F-28)
    "DZ:B": "cash",  # "Bar": cash
    "DZ:K": "card",  # "Kreditkarte": card
    "DZ:C": "cheque",  # cheque
    "DZ:W": "promissory_note",  # "Wechsel": bill of exchange / promissory note
    "DZ:U": "bank_transfer",  # "Überweisung": transfer
}


def collection_method(
    document_type: str, payment_method: str, methods: Mapping[str, CollectionMethod] = DEFAULT_COLLECTION_METHODS
) -> CollectionMethod | None:
    """The method of a payment document, or None when the document type is not a collection."""
    if payment_method.strip():
        hit = methods.get(f"{document_type}:{payment_method.strip()}")
        if hit is not None:
            return hit
    return methods.get(document_type)


def parse_method_key(key: str) -> tuple[str, str]:
    """("DZ", "C") of "DZ:C", ("DZ", "") of "DZ"; ValueError on a malformed key."""
    doc_type, _, method = key.partition(":")
    if not doc_type.strip() or len(doc_type.strip()) > 2 or len(method.strip()) > 1:
        raise ValueError(f"collection_methods key {key!r} must be 'BLART' or 'BLART:ZLSCH', e.g. 'DZ' or 'DZ:C'")
    return doc_type.strip(), method.strip()


# --- Account ledger -------------------------------------------------------------------------
# Customer item -> ledger kind, keyed "BLART:SHKZG" (document type : debit/credit) or "BLART" alone; the
# more specific key wins; a type in neither is kind "other" (its raw code still travels in erp_kind).
# The document types are SAP's standard ones (SAP Help, "Classifying Accounting Transactions": AB general,
# DG customer credit memo, DZ customer payment, DR customer invoice, DA customer document; RV "billing doc.
# transfer" in T003 lists). Which business fact each stands for is customising (T003, OBA7): every reading
# below but RV and DZ is UNCONFIRMED and the default of the setting `ledger_kinds`.
DEFAULT_LEDGER_KINDS: Final[Mapping[str, LedgerKind]] = {
    "RV:S": "invoice",  # a billing document's receivable (invoice, debit memo)
    "RV:H": "return",  # a credit memo's credit
    "DZ:H": "collection",  # incoming payment
    "DZ:S": "payment",  # money paid back to the customer (refund)
    "DR": "debit_note",  # customer invoice entered in FI (FB70): interest, charges
    "DG": "credit_note",  # customer credit memo entered in FI (FB75): rebates, bonuses
    "DA": "opening",  # customer document: the balances carried in at go-live (UNCONFIRMED: sites use UE or Z types)
    "AB": "other",  # general document (clearing, transfer postings); its reversals are read by BKPF-STBLG, not by type
}


# The default readings a public source confirms: the document type's meaning (SAP Help, "Classifying Accounting
# Transactions": DZ customer payment; T003 lists: RV "billing doc. transfer") and the side (SHKZG S debit, H credit).
_DOCUMENT_TYPES = "SAP Help: standard document types (DZ customer payment; RV billing doc. transfer, T003)"
LEDGER_KIND_SOURCES: Final[Mapping[str, str]] = dict.fromkeys(
    ("RV:S", "RV:H", "DZ:H"), f"{_DOCUMENT_TYPES}; ERP reference 4.2 (SHKZG S debit, H credit)"
)


def ledger_key(document_type: str, side: str, kinds: Mapping[str, LedgerKind]) -> str | None:
    """The key of `kinds` that reads a customer item of `document_type` on `side`: "BLART:SHKZG" before "BLART"."""
    for key in (f"{document_type}:{side}", document_type):
        if key in kinds:
            return key
    return None


def ledger_kind(document_type: str, side: str, kinds: Mapping[str, LedgerKind] = DEFAULT_LEDGER_KINDS) -> LedgerKind:
    """The ledger kind of a customer item of `document_type` on `side` (S/H); "other" when the setting has none."""
    key = ledger_key(document_type, side, kinds)
    return "other" if key is None else kinds[key]


def parse_ledger_key(key: str) -> tuple[str, str]:
    """("DZ", "H") of "DZ:H", ("DR", "") of "DR"; ValueError on a malformed key."""
    doc_type, _, side = key.partition(":")
    if not doc_type.strip() or len(doc_type.strip()) > 2 or side.strip() not in ("", DEBIT, CREDIT):
        raise ValueError(f"ledger_kinds key {key!r} must be 'BLART' or 'BLART:S' / 'BLART:H', e.g. 'DR' or 'DZ:H'")
    return doc_type.strip(), side.strip()


# --- Stock movements -------------------------------------------------------------------------
# Movement type (BWART / GoodsMovementType) -> stock movement kind; the direction is the item's debit/credit
# indicator (SHKZG / DebitCreditCode: S receipt into the storage location, H issue out of it), never the type.
# A type the setting does not name is kind "other" (its code still travels in erp_kind). A reversal's own type is
# the movement type + 1 (SAP Help 4.6C, "Description of Movement Types"): its rows name the reversed document and
# are left out, the reversed rows being sent cancelled; the + 1 types are listed for rows that reverse nothing.
DEFAULT_MOVEMENT_TYPES: Final[Mapping[str, MovementKind]] = {
    "101": "purchase",  # goods receipt for a purchase order
    "102": "purchase",  # its reversal
    "122": "purchase_return",  # return delivery to the vendor
    "123": "purchase_return",  # its reversal
    "161": "purchase_return",  # returns item of a purchase order
    "311": "transfer",  # storage location to storage location in one step
    "312": "transfer",
    "601": "sale",  # goods issue for a delivery
    "602": "sale",
    "651": "sale_return",  # returns from the customer into blocked stock returns
    "652": "sale_return",
    "653": "sale_return",  # returns from the customer into unrestricted-use stock
    "654": "sale_return",
}
MOVEMENT_TYPE_SOURCES: Final[Mapping[str, str]] = dict.fromkeys(
    ("101", "102"),
    "SAP Help 4.6C, Description of Movement Types (101 goods receipt for purchase order; reversal = type + 1)",
)
RECEIPT: Final = "S"  # SHKZG / DebitCreditCode of a receipt (a debit of the stock account); H an issue


def movement_kind(movement_type: str, kinds: Mapping[str, MovementKind] = DEFAULT_MOVEMENT_TYPES) -> MovementKind:
    """The stock movement kind of `movement_type`; "other" when the setting has none."""
    return kinds.get(movement_type, "other")


# --- Products ----------------------------------------------------------------------------
# Tax classification of a material (MLAN-TAXM1 / A_ProductSalesTax.TaxClassification) -> VAT
# percent. The rate itself lives in the MWST condition records per country; these are the
# Turkish rates in the usual 0..3 order. UNCONFIRMED: setting `vat_rates`.
DEFAULT_VAT_RATES: Final[Mapping[str, Decimal]] = {
    "0": Decimal("0.00"),
    "1": Decimal("20.00"),
    "2": Decimal("10.00"),
    "3": Decimal("1.00"),
}


# --- Currencies and units ---------------------------------------------------------------
# SAP currency keys (TCURC-WAERS) are ISO codes, apart from a few legacy keys.
SAP_CURRENCY_ALIASES: Final[Mapping[object, str]] = {"TRL": "TRY", "RUR": "RUB"}


def sap_currency(value: str | None, field: str) -> str | None:
    """The ISO 4217 code of an SAP currency key (WAERK, TransactionCurrency)."""
    return iso_currency(value, field, SAP_CURRENCY_ALIASES)


# SAP internal units of measure (T006-MSEHI, language-independent form) whose names differ
# from the common ones mapping.units knows; each maps to its UN/ECE Rec. 20 code.
SAP_UNIT_CODES: Final[Mapping[str, str]] = {
    "ST": "C62",  # Stück (piece; shown as PC in English)
    "PC": "C62",
    "EA": "C62",
    "KAR": "CT",  # Karton
    "PAK": "PK",  # Paket
    "PAL": "PF",  # Palette
    "ROL": "RO",  # Rolle
    "TAG": "DAY",
    "STD": "HUR",  # Stunde
    "H": "HUR",
    "KG": "KGM",
    "G": "GRM",
    "TO": "TNE",
    "L": "LTR",
    "ML": "MLT",
    "M": "MTR",
    "CM": "CMT",
    "M2": "MTK",
    "M3": "MTQ",
}


def sap_unit_code(unit: str | None) -> str | None:
    """The Rec. 20 code of an SAP unit (ST, KAR, KG...) or None when unknown."""
    if not unit:
        return None
    return SAP_UNIT_CODES.get(unit.strip().upper()) or unit_code(unit)
