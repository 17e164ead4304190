"""The 1C code census: every code value the infobase's documents carry, counted, and what the adapter does with it.

Counted client-side (OData has no GROUP BY) over the posted documents dated `since` or later, with the
same reads the streams declare ($select of the code fields only): which set a document is in, its
operation kind (ВидОперации in БП, ХозяйственнаяОперация in УТ / ERP), its currency, an order's status,
and the VAT rate of every goods and services line. Each value is read through this install's settings,
so a value the settings map is "sent", one left out on purpose says why, and anything else is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from connectors.census import UNCONFIRMED, CodeColumn, CodeCount, Reading, excluded, mapped
from mapping.errors import RecordError
from mapping.money import currency as iso_of
from mapping.money import fixed, percent

from .declare import Read
from .documents import Documents
from .goods import KINDS as _KINDS
from .goods import Invoices
from .ledger import Ledger
from .lookups import currency_read
from .masters import Products
from .odata import Row, datetime_literal
from .readings import (
    ENUM_VAT,
    LEDGER_KINDS,
    LEDGER_SOURCE,
    LEDGER_UNCONFIRMED,
    MOVEMENT_KINDS,
    MOVEMENT_SOURCE,
    MOVEMENT_UNCONFIRMED,
    OPERATIONS,
    ORDER_STATUSES,
    VAT_KINDS,
    VAT_RATES,
)
from .stock import StockMovements
from .streams import OneCEnv

__all__ = ["census"]

YOURS = "your settings"
ISO = "ISO 4217 numeric code"
EMPTY = '1C sends an empty enumeration as "" (vendor/bp3_capture_*)'
MONEY = "СуммаДокумента, document currency"
CATALOG_RATE = "Ставка "  # УТ: a Catalog_СтавкиНДС row without ПеречислениеСтавкаНДС (another country's rate)


def _first(table: Callable[[Any], Reading | None]) -> Callable[[tuple[Any, ...]], Reading | None]:
    """`explain` of a single-valued column."""
    return lambda value: table(value[0])


def _columns(env: OneCEnv, kinds: Mapping[str, str], methods: Mapping[str, str]) -> dict[str, CodeColumn]:
    f, layout = env.flavour, env.flavour.layout
    vendor = f"{f.label} metadata (vendor/{f.vendor})"

    def document_set(value: Any) -> Reading | None:
        if value in kinds:
            source = vendor if value in f.sets.values() else YOURS
            service = " (service when every line is a service)" if kinds[value] == "sale" else ""
            return mapped(f"invoices, kind {kinds[value]}{service}", source)
        if value in methods:
            return mapped(
                f"collections, method {methods[value]}", vendor if f.collections.get(value) == methods[value] else YOURS
            )
        return None

    def operation(stream: str) -> Callable[[Any], Reading | None]:
        def explain(value: Any) -> Reading | None:
            code = value[1]
            chosen = env.operations.get(stream, {}).get(code)
            default = OPERATIONS[layout][stream].get(code)
            if chosen is None:
                return None
            what, source = (default[1], vendor) if default and default[0] == chosen else (code, YOURS)
            if chosen == "include":
                return mapped(f"{what}: in the feed", source)
            return excluded(what, source)

        return explain

    def vat(value: Any) -> Reading | None:
        if value == "":
            return mapped("no rate on the line: vat_rate empty", EMPTY)
        if value.startswith(CATALOG_RATE):
            return mapped(f"vat_rate {value.removeprefix(CATALOG_RATE)}: a rate without enumeration", vendor)
        if value not in env.vat_rates:
            return None
        rate = env.vat_rates[value]
        source = ENUM_VAT if value in VAT_RATES and VAT_RATES[value] == rate else YOURS
        return mapped("no VAT: vat_rate empty" if rate is None else f"vat_rate {rate}", source)

    def kind(value: Any) -> Reading | None:
        """БП items' kind of rate: the rate in force for it is this install's reading, confirmed nowhere."""
        if value == "":
            return mapped("no rate on the item: vat_rate empty", EMPTY)
        if value not in env.vat_kinds:
            return None
        rate = env.vat_kinds[value]
        source = UNCONFIRMED if value in VAT_KINDS and VAT_KINDS[value] == rate else YOURS
        return mapped("no VAT: vat_rate empty" if rate is None else f"vat_rate {rate}", source)

    def currency(value: Any) -> Reading | None:
        if value in env.currency_codes:
            return mapped(f"currency {env.currency_codes[value]}", YOURS)
        try:
            iso = iso_of(value, "currency")
        except RecordError:
            return None
        return mapped(f"currency {iso}", ISO) if iso else None

    def status(value: Any) -> Reading | None:
        found = env.order_statuses.get(value)
        if found is None:
            return None
        return mapped(f"order status {found}", vendor if ORDER_STATUSES.get(value) == found else YOURS)

    def ledger_kind(value: Any) -> Reading | None:
        """A movement's operation (or recorder document): unlisted ones go out as kind other, shown unknown."""
        found = env.ledger_kinds.get(value)
        if found is None:
            return None
        confirmed = LEDGER_KINDS[layout].get(value)
        if confirmed is not None and confirmed[0] == found:
            return mapped(f"account_ledger kind {found}: {confirmed[1]}", LEDGER_SOURCE[layout])
        source = UNCONFIRMED if LEDGER_UNCONFIRMED[layout].get(value) == found else YOURS
        return mapped(f"account_ledger kind {found}", source)

    def movement_kind(value: Any) -> Reading | None:
        """A stock record's recorder document: unlisted ones go out as kind other, shown unknown."""
        found = env.movement_kinds.get(value)
        if found is None:
            return None
        confirmed = MOVEMENT_KINDS.get(value)
        if confirmed is not None and confirmed[0] == found:
            return mapped(f"stock_movements kind {found}: {confirmed[1]}", MOVEMENT_SOURCE)
        source = UNCONFIRMED if MOVEMENT_UNCONFIRMED.get(value) == found else YOURS
        return mapped(f"stock_movements kind {found}", source)

    op = f.operation_field
    return {
        "stock": CodeColumn(
            "ТоварыНаСкладах: the recorder's document (direction from RecordType)",
            "stock_movements",
            "movement_kinds",
            "",
            _first(movement_kind),
        ),
        "ledger": CodeColumn(
            "РасчетыСКлиентами.ХозяйственнаяОперация (empty: the recorder's document)"
            if f.trade
            else "the recorder's document (Хозрасчетный on the receivable accounts)",
            "account_ledger",
            "ledger_kinds",
            "Сумма, debits - credits" + (", settlement currency" if f.trade else ", local currency"),
            _first(ledger_kind),
        ),
        "invoices set": CodeColumn("document set", "invoices", "sets", MONEY, _first(document_set)),
        "collections set": CodeColumn(
            "document set", "collections", "collection_documents", MONEY, _first(document_set)
        ),
        "invoices op": CodeColumn(f"set x {op}", "invoices", "operations.invoices", MONEY, operation("invoices")),
        "collections op": CodeColumn(
            f"set x {op}", "collections", "operations.collections", MONEY, operation("collections")
        ),
        "vat": CodeColumn(
            "lines' СтавкаНДС_Key: ПеречислениеСтавкаНДС" if f.trade else "lines' СтавкаНДС",
            "invoices",
            "vat_rates",
            "line Сумма, document currency",
            _first(vat),
        ),
        "invoices currency": CodeColumn("Catalog_Валюты.Code", "invoices", "currency_codes", MONEY, _first(currency)),
        "collections currency": CodeColumn(
            "Catalog_Валюты.Code", "collections", "currency_codes", MONEY, _first(currency)
        ),
        "orders currency": CodeColumn("Catalog_Валюты.Code", "orders", "currency_codes", MONEY, _first(currency)),
        "status": CodeColumn("Статус", "orders", "order_statuses", MONEY, _first(status)),
        "item vat": CodeColumn(
            "items' СтавкаНДС_Key: ПеречислениеСтавкаНДС" if f.trade else "items' ВидСтавкиНДС",
            "products",
            "vat_rates" if f.trade else "vat_kinds",
            "",
            _first(vat if f.trade else kind),
        ),
    }


class _Counter:
    def __init__(self) -> None:
        self.found: dict[tuple[str, tuple[Any, ...]], list[Any]] = {}

    def add(self, column: str, value: tuple[Any, ...], money: Decimal) -> None:
        entry = self.found.setdefault((column, value), [0, Decimal("0.00")])
        entry[0] += 1
        entry[1] += money


def _documents(stream: Documents, since: dt.date | None, extra: tuple[str, ...]) -> Iterator[tuple[Read, Row]]:
    """Every posted document of the stream's sets dated `since` or later: its code fields only."""
    env = stream.env
    for header, _ in stream.document_sets():
        q = env.query(header)
        n = q.name
        where = [f"{n('Posted')} eq true"] if stream.postable(header) else []
        if since is not None:
            where.append(f"{n('Date')} ge {datetime_literal(since)}")
        fields = ("Ref_Key", "СуммаДокумента", env.flavour.currency_field, *extra)
        for page in env.odata.pages(q, where=" and ".join(where) or None, select=fields):
            for row in page:
                yield header, row


def census(
    env: OneCEnv,
    products: Products,
    invoices: Invoices,
    collections: Documents,
    orders: Documents,
    ledger: Ledger,
    since: dt.date | None,
    stock: StockMovements | None = None,
) -> list[CodeCount]:
    kinds = {env.query(h).set: _KINDS[role] for h, role in invoices.document_sets()}
    methods = {env.query(h).set: method for h, method in collections.document_sets()}
    columns = _columns(env, kinds, methods)
    invoices.prepare()  # the currencies and (УТ) the VAT rate catalog
    codes = {
        ref: str(row.get("Code") or "").strip() for ref, row in invoices.lookups.catalog(currency_read(env)).items()
    }
    currency = env.flavour.currency_field
    counter = _Counter()
    window: dict[Read, set[str]] = {}
    operation = env.flavour.documents["sales"].operation or ""
    for header, row in _documents(invoices, since, (operation,)):
        money = fixed(row.get("СуммаДокумента"), 2, "СуммаДокумента")
        name = env.query(header).set
        counter.add("invoices set", (name,), money)
        counter.add("invoices op", (name, str(row.get(operation) or "")), money)
        counter.add("invoices currency", (codes.get(row.get(currency), ""),), money)
        window.setdefault(header, set()).add(row["Ref_Key"])
    for header, refs in window.items():
        _vat_lines(invoices, header, refs, counter)
    operation = env.flavour.operation_field
    for header, row in _documents(collections, since, (operation,)):
        money = fixed(row.get("СуммаДокумента"), 2, "СуммаДокумента")
        name = env.query(header).set
        counter.add("collections set", (name,), money)
        counter.add("collections op", (name, str(row.get(operation) or "")), money)
        counter.add("collections currency", (codes.get(row.get(currency), ""),), money)
    status = ("Статус",) if env.flavour.order_status else ()
    for _, row in _documents(orders, since, status):
        money = fixed(row.get("СуммаДокумента"), 2, "СуммаДокумента")
        counter.add("orders currency", (codes.get(row.get(currency), ""),), money)
        if status:
            counter.add("status", (str(row.get("Статус") or ""),), money)
    _items(products, counter)
    _movements(ledger, since, counter)
    if stock is not None:
        rows = stock.dated_from(since) if since is not None else (r for page in stock.read(None) for r in page)
        for row in rows:
            counter.add("stock", (stock.erp_kind(row),), Decimal("0.00"))
    return [
        CodeCount(columns[c], value, n, money if columns[c].money else None)
        for (c, value), (n, money) in counter.found.items()
    ]


def _items(products: Products, counter: _Counter) -> None:
    """The VAT code of every good (УТ: its Catalog_СтавкиНДС's enumeration; БП: its kind of rate)."""
    env = products.env
    products.prepare()
    field = "СтавкаНДС_Key" if env.flavour.trade else "ВидСтавкиНДС"
    q = env.query(products.main())
    for page in env.odata.pages(q, where=products.where(), select=("Ref_Key", field)):
        for row in page:
            code = str(row.get(field) or "")
            if env.flavour.trade:
                code = _catalog_code(products.vat_rates, code)
            counter.add("item vat", (code,), Decimal("0.00"))


def _catalog_code(rates: Mapping[str, Row], ref: str) -> str:
    """УТ: a Catalog_СтавкиНДС reference as its enumeration value, or its Ставка when it has none."""
    rate = rates.get(ref)
    if rate is None:
        return ""  # no rate
    return str(rate.get("ПеречислениеСтавкаНДС") or f"{CATALOG_RATE}{percent(rate.get('Ставка'), 'Ставка')}")


def _vat_lines(invoices: Invoices, header: Read, refs: set[str], counter: _Counter) -> None:
    """The VAT rate code of every line of the documents in `refs` (УТ: its Catalog_СтавкиНДС's enumeration)."""
    env = invoices.env
    field = env.flavour.line_vat
    for _, read in invoices.section_reads(header):
        q = env.query(read)
        for page in env.odata.pages(
            q, select=("Ref_Key", "LineNumber", field, "Сумма"), order=("Ref_Key", "LineNumber")
        ):
            for line in page:
                if line["Ref_Key"] not in refs:
                    continue
                code = str(line.get(field) or "")
                if env.flavour.trade and code in invoices.vat_rates:
                    rate = invoices.vat_rates[code]
                    code = str(
                        rate.get("ПеречислениеСтавкаНДС") or f"{CATALOG_RATE}{percent(rate.get('Ставка'), 'Ставка')}"
                    )
                elif env.flavour.trade:
                    code = ""  # no rate on the line
                counter.add("vat", (code,), fixed(line.get("Сумма"), 2, "Сумма"))


def _movements(ledger: Ledger, since: dt.date | None, counter: _Counter) -> None:
    """The operation of every settlement movement dated `since` or later, with its signed Сумма."""
    rows = ledger.dated_from(since) if since is not None else (r for page in ledger.read(None) for r in page)
    for row in rows:
        try:
            money = ledger.signed(row)
        except RecordError:
            money = Decimal("0.00")  # a record the stream dead-letters: counted, its money unknown
        counter.add("ledger", (ledger.erp_kind(row),), money)
