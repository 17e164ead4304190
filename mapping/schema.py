"""The normalised dealer feed: one record type per stream, and the envelope they travel in.

This module is the contract the loyalty platform codes against. Change it only by
bumping SCHEMA_VERSION (minor for added optional fields, major for anything else).

Conventions: money, quantities and rates are Decimal (encoded as JSON strings);
currencies are ISO 4217 codes; business dates (document date, due date, validity)
are `YYYY-MM-DD`; instants are ISO 8601 with the offset of the source's time zone.
Amounts without a suffix are in the document currency; `*_local` in the company's
local currency. Returns carry positive amounts and `kind: "return"`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

SCHEMA_VERSION = "2.3.0"
# 2.3.0: the streams `stock_movements` (receipts, issues, transfers and returns per product and warehouse),
# `account_balances` (a dealer's balance with what is overdue, derived from the account ledger) and
# `product_images` (each product's images, the bytes beside the record).
# 2.2.0: the streams `account_ledger` (every debit and credit on a dealer's account, notes and openings included)
# and `price_lists` (the ERP's sales price lists, apart from the dealers' discounts).
# 2.1.0: the derived stream `dealer_kpis` (a dealer's month, computed by dealersync from the documents it read).
# 2.0.0: documents may carry null `rate`, `totals_local` and lines' `net_local` (the ERP gave no
# rate: local amounts unknown) and list `discrepancies` (invariants the ERP's figures break);
# accounts say `tax_id_valid`; stock levels may be special stock (`special_stock`, `special_stock_ref`);
# a collection's amount is negative where money goes back to the dealer or a collection is undone.

Code = Annotated[str, Meta(min_length=1, max_length=100)]
Currency = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217 code")]
Text = Annotated[str, Meta(max_length=2000)]

TaxIdKind = Literal["VKN", "TCKN", "INN", "OTHER"]
AccountKind = Literal["customer", "supplier", "both"]
OrderStatus = Literal["proposal", "open", "shippable", "closed", "cancelled"]
InvoiceKind = Literal["sale", "return", "price_difference", "service"]
LineKind = Literal["item", "service", "discount", "promotion", "expense", "other"]
CollectionMethod = Literal["cash", "card", "cheque", "promissory_note", "bank_transfer", "other"]
DiscountKind = Literal["percent", "amount", "fixed_price"]
Op = Literal["upsert", "delete"]


FlagRule = Literal[
    "negative_quantity",  # a line of a sale, an order or a return with a quantity below zero
    "negative_amount",  # an amount the feed carries as positive (documents, returns included) below zero
    "discount_over_100",  # a discount rate above 100 %
    "date_out_of_range",  # a date or instant outside the years 1900-2100
]


class Flag(msgspec.Struct, kw_only=True):
    """A value that is representable but implausible: sent as the ERP holds it, never mended."""

    rule: FlagRule
    field: Annotated[str, Meta(description="where the value is, e.g. 'lines[2].quantity' or 'totals.net'")]
    value: Annotated[str, Meta(description="the value as the feed carries it")]


class Record(msgspec.Struct, kw_only=True, omit_defaults=False):
    """Base of every stream's record.

    `volatile` names fields that change on every read without the fact changing (the
    time a snapshot was taken): they travel, but do not count as a change.
    """

    volatile: ClassVar[tuple[str, ...]] = ()

    flags: Annotated[
        list[Flag],
        Meta(description="implausible values the record carries as the ERP holds them (engine.implausible: flag)"),
    ] = []


class Account(Record, kw_only=True):
    code: Code
    title: Text
    tax_id: str | None = None
    tax_id_kind: TaxIdKind | None = None
    tax_id_valid: Annotated[
        bool | None,
        Meta(description="false: the ERP's tax id fails its checksum or format and is sent as the ERP holds it; "
             "null: no tax id"),
    ] = None
    tax_office: str | None = None
    kind: AccountKind = "customer"
    is_individual: bool = False
    currency: Currency | None = None
    group_code: str | None = None
    region_code: str | None = None
    sales_rep_code: str | None = None
    parent_code: Annotated[str | None, Meta(description="dealer hierarchy: the parent account's code")] = None
    phone: str | None = None
    email: str | None = None
    address: Text | None = None
    city: str | None = None
    country: str | None = None
    created_at: dt.datetime | None = None
    active: bool = True
    blocked: bool = False
    discount_rate: Decimal | None = None
    payment_terms: str | None = None
    e_invoice: bool | None = None


class UnitConversion(msgspec.Struct, kw_only=True):
    unit: Code
    factor: Decimal  # how many base units one of this unit holds
    unit_code: str | None = None  # UN/ECE Rec. 20 code where known
    barcode: str | None = None


class Product(Record, kw_only=True):
    code: Code
    name: Text
    barcodes: list[str] = []
    base_unit: str | None = None
    base_unit_code: str | None = None
    units: list[UnitConversion] = []
    category_code: str | None = None
    group_code: str | None = None
    brand: str | None = None
    vat_rate: Decimal | None = None
    active: bool = True


SpecialStock = Literal["consignment", "sales_order", "project", "other"]


class ProductImage(Record, kw_only=True):
    """One image of a product as the ERP keeps it (a blob column, or a file it references). The bytes travel beside
    the record, named by their SHA-256: the file sink writes them as `<stream>/files/<sha256>`, the HTTP sink
    uploads them (`PUT /files/{sha256}`) before the batch whose records name them. A record is sent again, and its
    bytes with it, only when something in it changes: a new image is a new `sha256`."""

    product_code: Code
    image_id: Annotated[str, Meta(min_length=1, max_length=200, description="the image's own id in the ERP")]
    position: Annotated[int | None, Meta(description="its order among the product's images (1: the main one)")] = None
    file_name: str | None = None
    content_type: Annotated[str, Meta(description="read from the bytes (ERPs rarely keep it); unknown: "
                                                  "application/octet-stream")]  # fmt: skip
    size: Annotated[int, Meta(ge=0, description="bytes")]
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    modified_at: dt.datetime | None = None


class StockLevel(Record, kw_only=True):
    volatile: ClassVar[tuple[str, ...]] = ("as_of",)

    product_code: Code
    warehouse_code: Code
    warehouse_name: str | None = None
    special_stock: Annotated[
        SpecialStock | None,
        Meta(description="null: the warehouse's own stock; else stock held for a customer, a sales order or a "
             "project, which is not free to sell and is never part of the own stock's on_hand"),
    ] = None
    special_stock_ref: Annotated[
        str | None, Meta(description="whom special stock is held for: customer code, sales order/item, project")
    ] = None
    on_hand: Decimal
    reserved: Decimal | None = None
    available: Decimal | None = None
    as_of: dt.datetime


class Discount(Record, kw_only=True):
    code: Code
    scope: Annotated[str, Meta(description="'+'-joined restricting dimensions, e.g. 'account+product_group'; or 'all'")]
    account_code: str | None = None
    account_group_code: str | None = None
    product_code: str | None = None
    product_group_code: str | None = None
    kind: DiscountKind
    value: Decimal
    currency: Currency | None = None
    min_quantity: Decimal | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    priority: int = 0
    active: bool = True


class PriceListEntry(Record, kw_only=True):
    """One product's price in one of the ERP's sales price lists (not restricted to a dealer: those are discounts
    of kind fixed_price), for a unit, in a currency, over a validity."""

    list_code: Annotated[Code, Meta(description="the price list as the ERP names or numbers it")]
    list_name: str | None = None
    product_code: Code
    unit: str | None = None
    unit_code: str | None = None
    price: Annotated[Decimal, Meta(description="per unit, 4 places")]
    currency: Currency
    vat_included: bool | None = None
    min_quantity: Decimal | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    active: bool = True


class RiskLimit(Record, kw_only=True):
    volatile: ClassVar[tuple[str, ...]] = ("as_of",)

    account_code: Code
    limit: Decimal
    currency: Currency
    open_balance: Decimal | None = None
    open_orders: Decimal | None = None
    uncashed_cheques: Decimal | None = None
    exposure: Decimal | None = None
    collateral: Decimal | None = None
    order_limit: Decimal | None = None
    dispatch_limit: Decimal | None = None
    cheque_note_limit: Decimal | None = None
    blocked: bool = False
    as_of: dt.datetime | None = None


class DocumentLine(msgspec.Struct, kw_only=True):
    line_no: int
    kind: LineKind = "item"
    product_code: str | None = None
    quantity: Decimal
    unit: str | None = None
    unit_code: str | None = None
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    net: Decimal
    vat_rate: Decimal | None = None
    vat: Decimal
    net_local: Annotated[Decimal | None, Meta(description="null only when the document's rate is unknown")]
    warehouse_code: str | None = None
    sales_rep_code: str | None = None


class OrderLine(DocumentLine, kw_only=True):
    shipped_quantity: Decimal | None = None
    closed: bool = False


class Totals(msgspec.Struct, kw_only=True):
    gross: Decimal
    discount: Decimal
    net: Decimal  # gross - discount, VAT excluded
    vat: Decimal
    total: Decimal  # net + vat: what the dealer pays


DiscrepancyRule = Literal[
    "totals_net",  # totals.net = gross - discount
    "totals_total",  # totals.total = net + vat
    "local_net",  # the same two in totals_local
    "local_total",
    "lines_gross",  # the lines' sum equals the header, in document currency
    "lines_discount",
    "lines_net",
    "lines_vat",
    "lines_net_local",  # the lines' net_local sum to totals_local.net
]


class Discrepancy(msgspec.Struct, kw_only=True):
    """An invariant the ERP's own figures break: sent as the ERP holds them, never mended."""

    rule: DiscrepancyRule
    expected: Annotated[Decimal, Meta(description="what the rule computes from the other figures")]
    found: Annotated[Decimal, Meta(description="the figure the document carries")]
    difference: Annotated[Decimal, Meta(description="found - expected")]


RATE_UNKNOWN = "null: the ERP holds no exchange rate for this document; local amounts are unknown"


class Document(Record, kw_only=True):
    """What orders and invoices share: money in the document currency and, at `rate`, in local currency."""

    number: Code
    account_code: Code
    date: dt.date
    issued_at: dt.datetime | None = None
    currency: Currency
    rate: Annotated[Decimal | None, Meta(description=RATE_UNKNOWN)]
    totals: Totals
    totals_local: Annotated[Totals | None, Meta(description=RATE_UNKNOWN)]
    discrepancies: list[Discrepancy] = []


class Order(Document, kw_only=True):
    status: OrderStatus
    warehouse_code: str | None = None
    sales_rep_code: str | None = None
    lines: list[OrderLine] = []


class InvoiceLine(DocumentLine, kw_only=True):
    pass


class Invoice(Document, kw_only=True):
    document_no: str | None = None
    kind: InvoiceKind
    due_date: dt.date | None = None
    cancelled: bool = False
    original_invoice: Annotated[str | None, Meta(description="for a return: the invoice number it returns")] = None
    e_invoice_uuid: str | None = None
    sales_rep_code: str | None = None
    warehouse_code: str | None = None
    lines: list[InvoiceLine] = []


MONEY_BACK = "negative: money given back or a collection undone (a returned or bounced cheque, a reversed receipt)"


class Collection(Record, kw_only=True):
    number: Code
    account_code: Code
    date: dt.date
    amount: Annotated[Decimal, Meta(description=MONEY_BACK)]
    currency: Currency
    rate: Decimal
    amount_local: Annotated[Decimal, Meta(description=MONEY_BACK)]
    method: CollectionMethod
    due_date: dt.date | None = None
    cancelled: bool = False
    settles: list[str] = []


LedgerKind = Literal[
    "opening",  # an opening balance carried into the books or the year
    "invoice",  # a sale, service or price-difference invoice (the invoices stream's document)
    "return",  # a return invoice
    "collection",  # money received (the collections stream's document)
    "payment",  # money paid to the dealer, or a collection undone
    "debit_note",  # a debit note (borç dekontu): interest on late payment, a charge
    "credit_note",  # a credit note (alacak dekontu): a rebate, a bonus, a write-off
    "exchange_difference",  # a currency revaluation posted to the account
    "cheque_return",  # a cheque or note that bounced, debited back
    "other",  # a movement whose ERP code the adapter has no reading for (erp_kind says which)
]


class LedgerEntry(Record, kw_only=True):
    """One debit or credit on a dealer's account, as the ERP's account ledger (cari hareket) holds it.

    Exactly one of debit and credit is non-zero (both are positive or zero). Sorting an account's
    entries by (date, sequence) gives the ERP's own order.
    """

    account_code: Code
    date: dt.date
    sequence: Annotated[
        int | None,
        Meta(description="the ERP's own order of movements within a date (a record number); null where it keeps none"),
    ] = None
    kind: LedgerKind
    erp_kind: Annotated[str, Meta(min_length=1, max_length=100, description="the ERP's own code of the movement")]
    document_no: Annotated[
        str | None,
        Meta(description="for invoices, returns and collections: the number that document has in its own stream"),
    ] = None
    description: Text | None = None
    currency: Currency
    rate: Annotated[Decimal | None, Meta(description="local per unit of the currency; null where the ERP gave none")]
    debit: Decimal
    credit: Decimal
    debit_local: Decimal
    credit_local: Decimal
    due_date: dt.date | None = None
    balance: Annotated[
        Decimal | None,
        Meta(description="running balance after the entry (local, debit positive), where the ERP keeps one"),
    ] = None
    cancelled: bool = False


MovementKind = Literal[
    "sale",  # goods out to a dealer (a sales invoice's or dispatch note's line)
    "sale_return",  # goods back from a dealer
    "purchase",  # goods in from a supplier
    "purchase_return",  # goods back to a supplier
    "transfer",  # between two of the distributor's warehouses: one record per side
    "consumption",  # used up or scrapped inside the company
    "production",  # made in the company
    "count",  # a stock count's surplus or deficit, or an opening quantity
    "other",  # a movement whose ERP code the adapter has no reading for (erp_kind says which)
]


class StockMovement(Record, kw_only=True):
    """One quantity of one product into or out of one warehouse, as the ERP's stock movements (stok hareketleri)
    hold it. A transfer is two records: out of one warehouse, into the other, each naming the other."""

    date: dt.date
    kind: MovementKind
    direction: Literal["in", "out"]
    erp_kind: Annotated[str, Meta(min_length=1, max_length=100, description="the ERP's own code of the movement")]
    document_no: Annotated[str | None, Meta(description="the slip, dispatch note or invoice the line belongs to")]
    line_no: Annotated[int | None, Meta(description="the line's order in its document, where the ERP keeps one")]
    invoice_number: Annotated[
        str | None, Meta(description="a dealer's sale or return: the `number` of its invoice in the invoices stream")
    ] = None
    account_code: Annotated[str | None, Meta(description="the dealer or supplier; null for internal movements")] = None
    product_code: Code
    warehouse_code: Code
    other_warehouse_code: Annotated[str | None, Meta(description="a transfer's other warehouse")] = None
    quantity: Annotated[Decimal, Meta(description="positive, in `unit`; `direction` says which way")]
    unit: str | None = None
    unit_code: str | None = None
    cancelled: bool = False


KpiMatching = Literal["erp_links", "oldest_first", "mixed", "none"]


class SalesShare(msgspec.Struct, kw_only=True):
    """Net sales (returns subtracted) of the lines of one product group or brand, in local currency."""

    code: Annotated[str | None, Meta(description="null: lines with no product, or whose product has none")]
    net_sales: Decimal


class DealerKpi(Record, kw_only=True):
    """One dealer's month, computed by dealersync from the invoices, collections, orders and products it read
    (the same for every ERP). Money is in the source's local currency (the documents' `*_local` figures),
    VAT excluded for sales and included for what is owed and paid. Cancelled documents count nowhere."""

    account_code: Code
    month: Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
    sales: Annotated[Decimal, Meta(description="net of the month's sale, service and price-difference invoices")]
    returns: Annotated[Decimal, Meta(description="net of the month's return invoices, positive")]
    net_sales: Annotated[Decimal, Meta(description="sales - returns")]
    by_group: list[SalesShare] = []
    by_brand: list[SalesShare] = []
    invoices: Annotated[int, Meta(description="sale, service and price-difference invoices dated in the month")]
    return_invoices: int
    orders: Annotated[int, Meta(description="orders dated in the month, cancelled ones not counted")]
    first_invoice_date: dt.date | None
    tenure_months: Annotated[int, Meta(description="months since the first invoice's, this one counted; 0 before")]
    collections: Annotated[Decimal, Meta(description="collections dated in the month (money given back negative)")]
    paid_on_time: Annotated[Decimal, Meta(description="of the month's collections: paid to invoices by their due date")]
    paid_late: Annotated[Decimal, Meta(description="of the month's collections: paid to invoices after their due date")]
    average_days_to_pay: Annotated[
        Decimal | None, Meta(description="invoice date to payment, weighted by the amount paid; null: nothing paid")
    ]
    balance: Annotated[Decimal, Meta(description="at month end: invoiced (VAT included) less returns and collections")]
    overdue: Annotated[Decimal, Meta(description="at month end: the unpaid part of invoices due by then")]
    matching: Annotated[
        KpiMatching,
        Meta(description="how the month's collections were matched to invoices: the ERP's own settlement links, "
             "oldest invoice first where it records none, both, or none to match"),
    ]
    without_local: Annotated[
        int, Meta(description="documents of the month left out of the money figures: their local amounts are unknown")
    ] = 0


class CurrencyPosition(msgspec.Struct, kw_only=True):
    """A dealer's entries in one currency, in that currency: its position as a foreign-currency statement shows it.
    Credits pay debits of the same currency only, so a dollar invoice paid in lira stays open here (not in the
    local figures)."""

    currency: Currency
    debit: Decimal
    credit: Decimal
    balance: Annotated[Decimal, Meta(description="debit - credit, in the currency")]
    balance_local: Annotated[Decimal, Meta(description="the same entries' local amounts, debit - credit")]
    overdue: Annotated[Decimal, Meta(description="in the currency: the unpaid part of its debits due before `as_of`")]
    entries: int


class AccountBalance(Record, kw_only=True):
    """A dealer's account as of the read: the figures of a balance reconciliation (cari mutabakat), computed by
    dealersync from the account ledger it read (the same for every ERP), in local currency over every entry, and
    per currency. Debit is positive. What is open and overdue is found by paying the debits in order of due date
    (the ledger keeps no settlement links); cancelled entries count nowhere."""

    volatile: ClassVar[tuple[str, ...]] = ("as_of",)

    account_code: Code
    debit: Annotated[Decimal, Meta(description="every debit on the account, local")]
    credit: Annotated[Decimal, Meta(description="every credit on the account, local")]
    balance: Annotated[Decimal, Meta(description="debit - credit, local: positive, the dealer owes; negative, owed")]
    overdue: Annotated[Decimal, Meta(description="local: the unpaid part of debits due before `as_of`")]
    open_invoices: Annotated[int, Meta(description="invoices with an unpaid part")]
    open_invoice_amount: Annotated[Decimal, Meta(description="local: the unpaid part of those invoices")]
    oldest_open_due: Annotated[dt.date | None, Meta(description="the earliest due date of a debit with an unpaid part")]
    not_yet_cleared: Annotated[
        Decimal, Meta(description="local: collections due after `as_of` (cheques and notes received, not yet paid)")
    ]
    last_entry: Annotated[dt.date, Meta(description="the date of the account's latest entry")]
    entries: Annotated[int, Meta(description="ledger entries counted")]
    by_currency: list[CurrencyPosition] = []
    as_of: Annotated[dt.date, Meta(description="the day the figures hold for (overdue is measured against it)")]


STREAMS: dict[str, type[Record]] = {
    "accounts": Account,
    "products": Product,
    "product_images": ProductImage,
    "stock_levels": StockLevel,
    "discounts": Discount,
    "price_lists": PriceListEntry,
    "risk_limits": RiskLimit,
    "orders": Order,
    "invoices": Invoice,
    "collections": Collection,
    "account_ledger": LedgerEntry,
    "stock_movements": StockMovement,
    "dealer_kpis": DealerKpi,
    "account_balances": AccountBalance,
}


class Envelope(msgspec.Struct, kw_only=True):
    """What every record travels in. `data` is null for op=delete."""

    stream: str
    source: str
    key: str
    op: Op
    schema_version: str = SCHEMA_VERSION
    data: msgspec.Raw | None = None


_encoder = msgspec.json.Encoder(decimal_format="string")


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


def json_schema(stream: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one stream's envelope."""
    record_type = STREAMS[stream]
    (data_schema,), components = msgspec.json.schema_components([record_type], ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://dealersync.dev/schema/{SCHEMA_VERSION}/{stream}.json",
        "title": f"dealersync {stream} envelope",
        "description": f"One line of the '{stream}' feed, schema version {SCHEMA_VERSION}.",
        "x-schema-version": SCHEMA_VERSION,
        "type": "object",
        "required": ["stream", "source", "key", "op", "schema_version"],
        "additionalProperties": False,
        "properties": {
            "stream": {"const": stream},
            "source": {"type": "string", "minLength": 1},
            "key": {"type": "string", "minLength": 1, "description": "stable key of the record in its source"},
            "op": {"enum": ["upsert", "delete"]},
            "schema_version": {"const": SCHEMA_VERSION},
            "data": {"anyOf": [data_schema, {"type": "null"}]},
        },
        "$defs": components,
    }
