"""Dealer KPIs: what the engine keeps of the documents it sends (facts, see engine/facts.py), and a dealer's months
computed from them.

A fact is the part of a sent record that a KPI needs, decoded from the record as sent, so every adapter's
invoices, collections, orders and products give the same facts.

Matching collections to invoices: a collection (or a return) pays first the invoices the ERP links it to
(`settles`, a return's `original_invoice`), then the oldest open invoice by due date. A collection with a
negative amount (a bounced cheque, money given back) is owed again from its own date.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from engine.facts import StoredFact
from mapping.schema import DealerKpi, KpiMatching, SalesShare

if TYPE_CHECKING:
    from engine.state import StateStore


class _Totals(msgspec.Struct, kw_only=True):
    net: Decimal
    total: Decimal


class _Line(msgspec.Struct, kw_only=True, omit_defaults=True):
    product_code: str | None = None
    net_local: Decimal | None = None


class _InvoiceFields(msgspec.Struct, kw_only=True, omit_defaults=True):
    number: str
    account_code: str
    date: dt.date
    kind: str
    due_date: dt.date | None = None
    cancelled: bool = False
    original_invoice: str | None = None
    totals_local: _Totals | None = None


class _InvoiceIn(_InvoiceFields, kw_only=True):
    lines: list[_Line] = []


class InvoiceFact(_InvoiceFields, kw_only=True):
    # The lines' net_local summed per product ("": lines with no product): what the group and brand split needs,
    # and a pass over a few products instead of every line when a dealer's months are recomputed.
    by_product: dict[str, Decimal] = {}


class CollectionFact(msgspec.Struct, kw_only=True, omit_defaults=True):
    number: str
    account_code: str
    date: dt.date
    amount_local: Decimal
    due_date: dt.date | None = None  # a cheque's or note's maturity
    cancelled: bool = False
    settles: list[str] = []


class OrderFact(msgspec.Struct, kw_only=True, omit_defaults=True):
    number: str
    account_code: str
    date: dt.date
    status: str


class ProductFact(msgspec.Struct, kw_only=True, omit_defaults=True):
    code: str
    group_code: str | None = None
    brand: str | None = None


Fact = InvoiceFact | CollectionFact | OrderFact | ProductFact
FACT_TYPES: dict[str, type[Fact]] = {
    "products": ProductFact,
    "orders": OrderFact,
    "invoices": InvoiceFact,
    "collections": CollectionFact,
}
_DOCUMENTS = tuple(stream for stream in FACT_TYPES if stream != "products")  # a dealer's: products are everyone's
_DECODERS = {stream: msgspec.json.Decoder(kind) for stream, kind in FACT_TYPES.items()}
_FROM_RECORD = {**_DECODERS, "invoices": msgspec.json.Decoder(_InvoiceIn)}
_encode = msgspec.json.Encoder(decimal_format="string").encode


def fact_of(stream: str, data: bytes) -> StoredFact:
    """The fact of one sent record (its encoded JSON): decoding only the fields a KPI reads."""
    fact = _FROM_RECORD[stream].decode(data)
    if isinstance(fact, _InvoiceIn):
        fact = _invoice_fact(fact)
    return StoredFact("" if isinstance(fact, ProductFact) else fact.account_code, _encode(fact))


def _invoice_fact(record: _InvoiceIn) -> InvoiceFact:
    by_product: dict[str, Decimal] = {}
    for line in record.lines:
        if line.net_local is not None:
            code = line.product_code or ""
            by_product[code] = by_product.get(code, _ZERO) + line.net_local
    fields = {f: getattr(record, f) for f in _InvoiceFields.__struct_fields__}
    return InvoiceFact(**fields, by_product=by_product)


def decode_fact(stream: str, payload: bytes) -> Fact:
    return _DECODERS[stream].decode(payload)


Labels = Mapping[str, tuple[str | None, str | None]]  # product code -> (group code, brand)


def product_labels(state: StateStore, source: str) -> dict[str, tuple[str | None, str | None]]:
    """The source's products' group and brand by product code (an invoice line names its product by code)."""
    out = {}
    for _, payload in state.product_facts(source):
        fact = _DECODERS["products"].decode(payload)
        if isinstance(fact, ProductFact):
            out[fact.code] = (fact.group_code, fact.brand)
    return out


_PLAUSIBLE = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))  # mapping.plausibility's range of dates


def dealers(state: StateStore, source: str, accounts: Sequence[str] | None) -> Iterator[Dealer]:
    """The dealers' facts from the state store (every dealer: None), each matched, in account order."""
    for account, rows in groupby(state.facts(source, _DOCUMENTS, accounts), key=lambda row: row[0]):
        yield dealer(account, [decode_fact(stream, payload) for _, stream, _, payload in rows])


# -- a dealer's facts, matched ---------------------------------------------------------------------------
SALES_KINDS = frozenset({"sale", "service", "price_difference"})
How = Literal["erp_links", "oldest_first"]


@dataclass
class Debit:
    """Something the dealer owes from `date`, due on `due`: an invoice, or a collection given back."""

    ref: str  # "invoice S-1" or "collection TH-2 (given back)"
    number: str
    date: dt.date
    due: dt.date
    amount: Decimal
    open: Decimal = Decimal(0)


@dataclass
class Credit:
    ref: str
    kind: Literal["collection", "return", "credit"]  # credit: an invoice of negative total (a price lowered)
    date: dt.date  # when it was received or booked: the balance and the month it counts in
    amount: Decimal
    links: tuple[str, ...]
    paid_on: dt.date | None = None  # a cheque or note: its maturity, when the money is really there

    @property
    def paid(self) -> dt.date:
        return self.paid_on or self.date


@dataclass(frozen=True)
class Allocation:
    credit: Credit
    debit: Debit
    amount: Decimal
    how: How

    @property
    def on_time(self) -> bool:
        return self.credit.paid <= self.debit.due

    @property
    def days(self) -> int:
        """Invoice date to payment (a cheque's or note's maturity); a payment before the invoice counts 0 days."""
        return max(0, (self.credit.paid - self.debit.date).days)


@dataclass
class Dealer:
    """One dealer's live facts and how its credits paid its debits."""

    account: str
    invoices: list[InvoiceFact] = field(default_factory=list)
    collections: list[CollectionFact] = field(default_factory=list)
    orders: list[OrderFact] = field(default_factory=list)
    debits: list[Debit] = field(default_factory=list)
    credits: list[Credit] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)


def dealer(account: str, facts: Iterable[Fact]) -> Dealer:
    """Sort a dealer's facts (cancelled documents count nowhere) and match its credits to its debits."""
    d = Dealer(account)
    for fact in facts:
        if not isinstance(fact, ProductFact) and not _PLAUSIBLE[0] <= fact.date <= _PLAUSIBLE[1]:
            continue  # flagged date_out_of_range in the feed; here it would make months by the thousand
        if isinstance(fact, InvoiceFact) and not fact.cancelled:
            d.invoices.append(fact)
        elif isinstance(fact, CollectionFact) and not fact.cancelled:
            d.collections.append(fact)
        elif isinstance(fact, OrderFact) and fact.status != "cancelled":
            d.orders.append(fact)
    for inv in d.invoices:
        if inv.totals_local is None:
            continue
        total = inv.totals_local.total
        if inv.kind == "return":
            links = (inv.original_invoice,) if inv.original_invoice else ()
            d.credits.append(Credit(f"return {inv.number}", "return", inv.date, total, links))
        elif total > 0:
            due = inv.due_date if inv.due_date is not None and inv.due_date <= _PLAUSIBLE[1] else inv.date
            d.debits.append(Debit(f"invoice {inv.number}", inv.number, inv.date, due, total))
        elif total < 0:  # a price lowered after the sale: it lowers what is owed, like a return
            links = (inv.original_invoice,) if inv.original_invoice else ()
            d.credits.append(Credit(f"invoice {inv.number}", "credit", inv.date, -total, links))
    for col in d.collections:
        if col.amount_local > 0:
            d.credits.append(Credit(f"collection {col.number}", "collection", col.date, col.amount_local,
                                    tuple(col.settles), col.due_date))
        elif col.amount_local < 0:
            d.debits.append(Debit(f"collection {col.number} (given back)", col.number, col.date, col.date,
                                  -col.amount_local))
    d.debits.sort(key=lambda x: (x.due, x.date, x.number))
    d.credits.sort(key=lambda x: (x.date, x.kind, x.ref))
    _match(d)
    return d


def _match(d: Dealer) -> None:
    """Credits in date order: each pays the debits the ERP links it to, then the open debit due first among those
    dated by then; what is left is an advance, which pays the next debits as they come, oldest advance first. So
    a later invoice never takes a payment from an earlier one, and a month's figures do not change afterwards
    unless a document of or before it does."""
    by_number: dict[str, Debit] = {}
    for debit in d.debits:
        debit.open = debit.amount
        if debit.ref.startswith("invoice "):
            by_number.setdefault(debit.number, debit)
    arrivals = sorted(d.debits, key=lambda x: (x.date, x.due, x.number))
    owed: list[tuple[dt.date, dt.date, str, int, Debit]] = []  # a heap of the debits dated so far, due first
    advances: deque[list[Any]] = deque()  # [credit, what is left of it]
    arrived = 0

    def arrive(debit: Debit) -> None:
        while advances and debit.open > 0:
            credit, left = advances[0]
            take = min(left, debit.open)
            debit.open -= take
            d.allocations.append(Allocation(credit, debit, take, "oldest_first"))
            if left - take > 0:
                advances[0][1] = left - take
            else:
                advances.popleft()
        if debit.open > 0:
            heapq.heappush(owed, (debit.due, debit.date, debit.number, id(debit), debit))

    for credit in d.credits:
        while arrived < len(arrivals) and arrivals[arrived].date <= credit.date:
            arrive(arrivals[arrived])
            arrived += 1
        left = credit.amount
        for number in credit.links:  # the ERP's word, whatever the dates
            debit = by_number.get(number)
            if debit is None or debit.open <= 0 or left <= 0:
                continue
            take = min(left, debit.open)
            debit.open -= take
            left -= take
            d.allocations.append(Allocation(credit, debit, take, "erp_links"))
        while left > 0 and owed:
            debit = owed[0][-1]
            if debit.open <= 0:
                heapq.heappop(owed)
                continue
            take = min(left, debit.open)
            debit.open -= take
            left -= take
            d.allocations.append(Allocation(credit, debit, take, "oldest_first"))
        if left > 0:
            advances.append([credit, left])
    for debit in arrivals[arrived:]:
        arrive(debit)


# -- months ----------------------------------------------------------------------------------------------
@functools.cache
def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    out = []
    while True:
        label = f"{year:04d}-{month:02d}"
        out.append(label)
        if label >= last:
            return out
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _tenure(first_invoice: dt.date | None, month: str) -> int:
    if first_invoice is None:
        return 0
    months = (int(month[:4]) - first_invoice.year) * 12 + int(month[5:]) - first_invoice.month + 1
    return max(0, months)


_ZERO = Decimal(0)
_CENTS = Decimal("0.01")


def kpis(d: Dealer, labels: Labels, today: dt.date | None = None) -> list[DealerKpi]:
    """The dealer's months: from the month of its first document or collection to that of its last, or to the
    month of the latest due date once that month has begun (an invoice left unpaid is seen overdue)."""
    dated = [*(i.date for i in d.invoices), *(c.date for c in d.collections), *(o.date for o in d.orders)]
    if not dated:
        return []
    last = max(dated)
    due = max((x.due for x in d.debits), default=last)
    if due > last:
        last = min(due, today or dt.date.today())
    months = _months(month_of(min(dated)), month_of(max(last, max(dated))))
    first_month = months[0]
    sales: dict[str, Decimal] = defaultdict(Decimal)
    returns: dict[str, Decimal] = defaultdict(Decimal)
    by_product: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # invoices, returns, orders, without local
    first_invoice: dt.date | None = None
    for inv in d.invoices:
        month = month_of(inv.date)
        is_return = inv.kind == "return"
        if not is_return and inv.kind in SALES_KINDS and (first_invoice is None or inv.date < first_invoice):
            first_invoice = inv.date
        counts[month][1 if is_return else 0] += 1
        if inv.totals_local is None:
            counts[month][3] += 1
            continue
        (returns if is_return else sales)[month] += inv.totals_local.net
        products = by_product[month]
        for code, amount in inv.by_product.items():
            products[code] += -amount if is_return else amount
    for order in d.orders:
        counts[month_of(order.date)][2] += 1
    collected: dict[str, Decimal] = defaultdict(Decimal)
    for col in d.collections:
        collected[month_of(col.date)] += col.amount_local
    # Month-end balances by bucketing each movement at the first month end it counts at: a debit owes from its
    # date (balance) and is overdue from its due date; a payment to it lowers the overdue sum from the later of
    # its own month and the debit's due month.
    balance_moves: dict[str, Decimal] = defaultdict(Decimal)
    overdue_moves: dict[str, Decimal] = defaultdict(Decimal)
    for debit in d.debits:
        balance_moves[month_of(debit.date)] += debit.amount  # every date is in the months
        overdue_moves[max(month_of(debit.due), first_month)] += debit.amount
    for credit in d.credits:
        balance_moves[month_of(credit.date)] -= credit.amount
    paid: dict[str, list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO, _ZERO])  # on time, late, amount x days
    hows: dict[str, set[str]] = defaultdict(set)
    for a in d.allocations:
        # Paid when the money is there (a cheque's maturity): till then the invoice is still overdue.
        overdue_moves[max(month_of(a.credit.paid), month_of(a.debit.due))] -= a.amount
        if a.credit.kind != "collection":
            continue
        month = month_of(a.credit.date)
        figures = paid[month]
        figures[0 if a.on_time else 1] += a.amount
        figures[2] += a.amount * a.days
        hows[month].add(a.how)
    out = []
    balance = overdue = _ZERO
    for month in months:
        balance += balance_moves.get(month, _ZERO)
        overdue += overdue_moves.get(month, _ZERO)
        on_time, late, weighted = paid.get(month, (_ZERO, _ZERO, _ZERO))
        invoices_n, returns_n, orders_n, without_local = counts.get(month, (0, 0, 0, 0))
        s, r = sales.get(month, _ZERO), returns.get(month, _ZERO)
        by_group, by_brand = _shares(by_product.get(month), labels)
        out.append(
            DealerKpi(
                account_code=d.account,
                month=month,
                sales=s,
                returns=r,
                net_sales=s - r,
                by_group=by_group,
                by_brand=by_brand,
                invoices=invoices_n,
                return_invoices=returns_n,
                orders=orders_n,
                first_invoice_date=first_invoice if first_invoice is not None and month_of(first_invoice) <= month
                else None,
                tenure_months=_tenure(first_invoice, month),
                collections=collected.get(month, _ZERO),
                paid_on_time=on_time,
                paid_late=late,
                average_days_to_pay=(weighted / (on_time + late)).quantize(_CENTS) if on_time + late else None,
                balance=balance,
                overdue=overdue,
                matching=_matching(hows.get(month)),
                without_local=without_local,
            )
        )
    return out


_UNLABELLED = (None, None)


def _shares(by_product: Mapping[str, Decimal] | None, labels: Labels) -> tuple[list[SalesShare], list[SalesShare]]:
    """A month's net sales per product, summed per product group and per brand."""
    if not by_product:
        return [], []
    groups: dict[str | None, Decimal] = defaultdict(Decimal)
    brands: dict[str | None, Decimal] = defaultdict(Decimal)
    for code, amount in by_product.items():
        group, brand = labels.get(code, _UNLABELLED)
        groups[group] += amount
        brands[brand] += amount
    return _listed(groups), _listed(brands)


def _listed(amounts: Mapping[str | None, Decimal]) -> list[SalesShare]:
    return [SalesShare(code=code, net_sales=amounts[code]) for code in sorted(amounts, key=lambda c: (c is None, c))]


def _matching(hows: set[str] | None) -> KpiMatching:
    if not hows:
        return "none"
    if len(hows) == 2:
        return "mixed"
    return "erp_links" if "erp_links" in hows else "oldest_first"


# -- explain ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Explained:
    """The documents behind one dealer-month's figures."""

    record: DealerKpi
    invoices: Sequence[InvoiceFact]  # dated in the month, returns included
    orders: Sequence[OrderFact]
    collections: Sequence[CollectionFact]
    payments: Sequence[Allocation]  # the month's collections and returns, matched to what they paid
    overdue: Sequence[tuple[Debit, Decimal]]  # due by the month's end and not paid by then: (debit, unpaid)


def explain(d: Dealer, labels: Labels, month: str) -> Explained | None:
    record = next((k for k in kpis(d, labels) if k.month == month), None)
    if record is None:
        return None
    end = month
    unpaid: dict[int, Decimal] = {}
    for debit in d.debits:
        if month_of(debit.due) <= end:
            unpaid[id(debit)] = debit.amount
    for a in d.allocations:
        if id(a.debit) in unpaid and month_of(a.credit.paid) <= end:
            unpaid[id(a.debit)] -= a.amount
    return Explained(
        record=record,
        invoices=[i for i in d.invoices if month_of(i.date) == month],
        orders=[o for o in d.orders if month_of(o.date) == month],
        collections=[c for c in d.collections if month_of(c.date) == month],
        payments=[a for a in d.allocations if month_of(a.credit.date) == month],
        overdue=[(debit, unpaid[id(debit)]) for debit in d.debits if unpaid.get(id(debit), _ZERO) > 0],
    )
