"""ERP-neutral business facts: what happened at the distributor, before any ERP stores it.

A scenario is master data (lists) plus documents (generators, so a million invoice
lines never sit in memory). Facts are expressed in the normalised schema's own record
types, so an adapter's round-trip test compares what it synced with the facts directly.
Each ERP's writer (connectors/<erp>/writer.py) lays the same facts into its tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from mapping.schema import (
    Account,
    Collection,
    Discount,
    Invoice,
    Order,
    PriceListEntry,
    Product,
    Record,
    RiskLimit,
    StockLevel,
)

if TYPE_CHECKING:
    from scenario.images import ImageFact
    from scenario.stock import StockSlip

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Stamped(Generic[R]):
    """A fact with the bookkeeping an ERP keeps beside it: when it was created and last changed."""

    record: R
    created_at: dt.datetime  # aware, in the scenario's time zone
    modified_at: dt.datetime | None = None  # None: never edited after creation


@dataclass(frozen=True)
class Warehouse:
    number: int  # small integer, as ERPs number warehouses
    code: str
    name: str


@dataclass(frozen=True)
class Service:
    """A service card (freight, installation): what service lines' product_code refers to."""

    code: str
    name: str
    unit: str
    unit_code: str | None
    vat_rate: Decimal


@dataclass(frozen=True)
class SalesRep:
    code: str
    name: str


NoteKind = Literal["opening", "debit_note", "credit_note"]


class Note(Record, kw_only=True):
    """An account movement with no invoice or collection behind it: an opening balance carried into
    the books, or a debit or credit note (dekont). Always in local currency; `amount` is positive,
    a debit for openings and debit notes, a credit for credit notes."""

    number: str
    account_code: str
    date: dt.date
    kind: NoteKind
    amount: Decimal
    description: str


@dataclass(frozen=True)
class Change:
    """One edit made in the ERP after the first sync (the demo and the incremental tests)."""

    kind: str  # "new_invoice" | "cancel_invoice" | "new_collection" | "discount_value"
    at: dt.datetime
    invoice: Invoice | None = None
    collection: Collection | None = None
    number: str | None = None  # the invoice to cancel, or the discount code to change
    value: object | None = None  # the new discount value (Decimal)


@dataclass
class Scenario:
    """Facts of one distributor. Document factories are deterministic: each call yields the same facts."""

    seed: int
    timezone: str
    local_currency: str
    as_of: dt.datetime
    accounts: list[Stamped[Account]]
    products: list[Stamped[Product]]
    warehouses: list[Warehouse]
    sales_reps: list[SalesRep]
    stock_levels: list[StockLevel]
    discounts: list[Stamped[Discount]]
    risk_limits: list[RiskLimit]
    order_facts: Callable[[], Iterator[Stamped[Order]]] = field(repr=False)
    invoice_facts: Callable[[], Iterator[Stamped[Invoice]]] = field(repr=False)
    collection_facts: Callable[[], Iterator[Stamped[Collection]]] = field(repr=False)
    note_facts: Callable[[], Iterator[Stamped[Note]]] = field(repr=False, default=lambda: iter(()))
    slip_facts: Callable[[], Iterator[Stamped[StockSlip]]] = field(repr=False, default=lambda: iter(()))
    price_lists: list[PriceListEntry] = field(default_factory=list)
    images: list[ImageFact] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)

    def orders(self) -> Iterator[Stamped[Order]]:
        return self.order_facts()

    def invoices(self) -> Iterator[Stamped[Invoice]]:
        return self.invoice_facts()

    def collections(self) -> Iterator[Stamped[Collection]]:
        return self.collection_facts()

    def notes(self) -> Iterator[Stamped[Note]]:
        return self.note_facts()

    def stock_slips(self) -> Iterator[Stamped[StockSlip]]:
        """Purchases and warehouse transfers (a dealer's sales and returns move stock through its invoices)."""
        return self.slip_facts()
