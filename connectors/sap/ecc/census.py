"""The ECC code census: every code value the adapter interprets, counted in the system's tables.

RFC_READ_TABLE has no GROUP BY: the census reads the code fields and the money field of each table
(documents in a window of `since` when given) and counts client-side; money in its currency's
decimals (TCURX, currencies.py). Each value's reading comes
from the effective settings; a reading's source is "your settings" when the configuration sets the
mapping, else the source of the default (or UNCONFIRMED).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from connectors.census import UNCONFIRMED, CodeColumn, CodeCount, Reading, excluded, mapped
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.currencies import DECIMALS
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.receivables import ITEM_KEY
from connectors.sap.ecc.streams import EccEnv
from mapping.errors import RecordError

__all__ = [
    "BILLING",
    "CALCULATION",
    "MATERIALS",
    "SALES",
    "TAX_CLASSES",
    "Census",
    "census",
    "condition_types",
    "declared",
    "items",
]

_AREA = ("VKORG", "VTWEG", "SPART")
BILLING = Read("VBRK", ("VBELN",), ("FKART", "VBTYP", "NETWR", "WAERK", "KURRF"), where=("FKDAT", *_AREA))
SALES = Read("VBAK", ("VBELN",), ("AUART", "VBTYP", "NETWR", "WAERK"), where=("AUDAT", *_AREA))
CALCULATION = Read("KONP", ("KNUMH", "KOPOS"), ("KSCHL", "KRECH"), where=("KAPPL",))
MATERIALS = Read("MARA", ("MATNR",), ("MTART",))
TAX_CLASSES = Read("MLAN", ("MATNR", "ALAND"), ("TAXM1",))
MOVEMENT_HEADERS = Read("MKPF", ("MBLNR", "MJAHR"), where=("BUDAT",))
MOVEMENTS = Read("MSEG", ("MBLNR", "MJAHR", "ZEILE"), ("BWART", "SHKZG"))

_REFERENCE = "ERP reference 4.2 (VBTYP)"
_KRECH = "DDIC domain KRECH: A percentage, B fixed amount, C quantity (datapanda KONV)"
_SHKZG = "ERP reference 4.2 (SHKZG S debit, H credit)"
_KRECH_KINDS = {"A": "percent", "B": "amount", "C": "fixed_price"}
# Sales document categories that are not orders (VBAK-VBTYP), UNCONFIRMED beyond C and K.
_NOT_ORDERS = {
    "A": "inquiry",
    "B": "quotation",
    "E": "scheduling agreement",
    "G": "contract",
    "H": "returns order: the return reaches the feed as its credit memo (invoices, kind return)",
    "I": "free-of-charge order",
    "K": "credit memo request: its credit memo comes in invoices as a return",
    "L": "debit memo request: its debit memo comes in invoices",
}


def condition_types(table: str) -> Read:
    return Read(table, ("KNUMH",), ("KSCHL",), where=("KAPPL", "VKORG", "VTWEG"), conditional=("SPART",))


def price_list_types(table: str) -> Read:
    return Read(table, ("KNUMH",), ("KSCHL",), where=("KAPPL", "VKORG", "VTWEG"), conditional=("PLTYP",))


def items(table: str) -> Read:
    return Read(table, ITEM_KEY, ("BLART", "ZLSCH", "SHKZG", "DMBTR"), where=("BLDAT",))


def _source(model: BaseModel, field: str, default: str = UNCONFIRMED) -> str:
    return "your settings" if field in model.model_fields_set else default


class _Counter:
    """Rows and money per value tuple of one code column."""

    def __init__(self, column: CodeColumn) -> None:
        self.column = column
        self.found: dict[tuple[Any, ...], list[Any]] = {}

    def add(self, value: tuple[Any, ...], money: Decimal | None = None) -> None:
        entry = self.found.setdefault(value, [0, None])
        entry[0] += 1
        if money is not None:
            entry[1] = (entry[1] or Decimal(0)) + money

    def counts(self) -> list[CodeCount]:
        cent = Decimal("0.01")
        return [
            CodeCount(self.column, value, rows, None if money is None else money.quantize(cent))
            for value, (rows, money) in self.found.items()
        ]


def _money(parse: Callable[[], Decimal]) -> Decimal | None:
    """A row's money, or None when its figures cannot be read (the row still counts)."""
    try:
        return parse()
    except RecordError:
        return None


class Census:
    def __init__(self, env: EccEnv, since: dt.date | None) -> None:
        self.env = env
        self.settings = env.settings
        self.options = env.options
        self.reader = env.reader
        self.since = since
        self.external = env.currencies.external
        self.price_records: set[str] = set()  # KNUMH of the price list tables' records: not discounts

    def window(self, field: str) -> str | None:
        return w.ge(field, f"{self.since:%Y%m%d}") if self.since else None

    def rows(self, read: Read, *conditions: str | None) -> Iterable[Row]:
        for page in self.reader.pages(read, w.and_(*conditions)):
            yield from page

    def counts(self) -> list[CodeCount]:
        self.env.currencies.load(self.reader)
        out: list[CodeCount] = []
        # Price lists before the KONP calculation types: their PR00 records are no discounts' (KONP has no table).
        counters = (self.billing, self.sales, self.conditions, self.price_lists, self.calculation, self.payments,
                    self.products, self.movements)  # fmt: skip
        for count in counters:
            out.extend(count())
        return out

    # -- invoices ----------------------------------------------------------------------------------------
    def billing(self) -> list[CodeCount]:
        counter = _Counter(
            CodeColumn("VBRK FKART x VBTYP", "invoices", "billing_types", "NETWR at KURRF, local currency", self.kind)
        )
        local = self.settings.local_currency
        for r in self.rows(BILLING, self.window("FKDAT"), self.env.area()):

            def money(r: Row = r) -> Decimal:
                net = self.external(r["NETWR"], r["WAERK"], "NETWR")
                return net if codes.sap_currency(r["WAERK"], "WAERK") == local else net * v.rate(r["KURRF"], "KURRF")

            counter.add((r["FKART"], r["VBTYP"]), _money(money))
        return counter.counts()

    def kind(self, value: tuple[Any, ...]) -> Reading | None:
        fkart, vbtyp = value
        if vbtyp in codes.CANCELLATION_CATEGORIES:
            return excluded("cancellation document: the cancelled invoice goes out with cancelled=true", _REFERENCE)
        if vbtyp == codes.VBTYP_PRO_FORMA:
            return excluded("pro forma invoice: it carries no receivable")
        by_type = self.settings.billing_types.get(fkart)
        source = _source(self.settings, "billing_types")
        if by_type == codes.EXCLUDED:
            return excluded("not a dealer's invoice (billing_types excludes it)", source)
        if by_type is not None:
            services = " (service when all its items are service items)" if by_type == "sale" else ""
            return mapped(f"invoice kind {by_type}{services}", source)
        by_category = codes.CATEGORY_KINDS.get(vbtyp)
        if by_category is not None:
            known = vbtyp in (codes.VBTYP_INVOICE, codes.VBTYP_CREDIT_MEMO)
            return mapped(f"invoice kind {by_category} (by its category)", _REFERENCE if known else UNCONFIRMED)
        return None

    # -- orders ------------------------------------------------------------------------------------------
    def sales(self) -> list[CodeCount]:
        counter = _Counter(
            CodeColumn(
                "VBAK AUART x VBTYP", "orders", "ecc.excluded_order_types", "NETWR, document currencies", self.order
            )
        )
        for r in self.rows(SALES, self.window("AUDAT"), self.env.area()):
            counter.add((r["AUART"], r["VBTYP"]), _money(lambda r=r: self.external(r["NETWR"], r["WAERK"], "NETWR")))
        return counter.counts()

    def order(self, value: tuple[Any, ...]) -> Reading | None:
        auart, vbtyp = value
        if vbtyp == codes.VBTYP_ORDER:
            why = self.options.excluded_order_types.get(auart)
            if why is not None:
                return excluded(why, "your settings")
            return mapped("order", _REFERENCE)
        why = _NOT_ORDERS.get(vbtyp)
        return None if why is None else excluded(f"{why}; not an order", UNCONFIRMED)

    # -- discounts ---------------------------------------------------------------------------------------
    def conditions(self) -> list[CodeCount]:
        counter = _Counter(CodeColumn("condition table x KSCHL", "discounts", "ecc.condition_tables", "", self.record))
        for table in self.options.condition_tables:
            read = condition_types(table)
            division = "SPART" in self.reader.present(read)
            for r in self.rows(read, w.eq("KAPPL", "V"), self.env.area(division=division)):
                counter.add((table, r["KSCHL"]))
        return counter.counts()

    def record(self, value: tuple[Any, ...]) -> Reading | None:
        table, kschl = value
        if kschl in self.options.condition_tables.get(table, ()):
            return mapped("discount record", _source(self.options, "condition_tables"))
        why = self.options.ignored_condition_types.get(kschl)
        return None if why is None else excluded(why, "your settings")

    def calculation(self) -> list[CodeCount]:
        counter = _Counter(CodeColumn("KONP KSCHL x KRECH", "discounts", "ecc.condition_tables", "", self.discount))
        types = sorted({t for listed in self.options.condition_tables.values() for t in listed})
        for r in self.rows(CALCULATION, w.eq("KAPPL", "V"), w.in_("KSCHL", types)):
            if r["KNUMH"] not in self.price_records:
                counter.add((r["KSCHL"], r["KRECH"]))
        return counter.counts()

    def discount(self, value: tuple[Any, ...]) -> Reading | None:
        kind = _KRECH_KINDS.get(value[1])
        return None if kind is None else mapped(f"discount kind {kind}", _KRECH)

    # -- price lists -------------------------------------------------------------------------------------
    def price_lists(self) -> list[CodeCount]:
        column = CodeColumn("price list table x KSCHL x PLTYP", "price_lists",
                            "ecc.price_list_tables / ecc.gross_price_condition_types / ecc.price_list_names", "",
                            self.price_list)  # fmt: skip
        counter = _Counter(column)
        for table in self.options.price_list_tables:
            for r in self.rows(price_list_types(table), w.eq("KAPPL", "V"), self.env.area(division=False)):
                counter.add((table, r["KSCHL"], r.get("PLTYP") or ""))
                self.price_records.add(r["KNUMH"])
        return counter.counts()

    def price_list(self, value: tuple[Any, ...]) -> Reading | None:
        table, kschl, pltyp = value
        if kschl not in self.options.price_list_tables.get(table, ()):
            return None
        vat = "VAT included" if kschl in self.options.gross_price_condition_types else "VAT excluded"
        listed = f"price list {pltyp}" if pltyp else "the sales area's price list (no price list type)"
        name = self.options.price_list_names.get(pltyp)
        named = f" {name!r}" if name else " (unnamed: ecc.price_list_names)"
        return mapped(f"{listed}{named}, {vat}", _source(self.options, "gross_price_condition_types"))

    # -- collections -------------------------------------------------------------------------------------
    def payments(self) -> list[CodeCount]:
        counter = _Counter(
            CodeColumn(
                "BSID/BSAD BLART x ZLSCH x SHKZG",
                "collections",
                "collection_methods",
                "DMBTR, local currency",
                self.payment,
            )
        )
        ledger = _Counter(
            CodeColumn("BSID/BSAD BLART x SHKZG", "account_ledger", "ledger_kinds", "DMBTR, local currency", self.entry)
        )
        local = self.settings.local_currency
        for table in ("BSID", "BSAD"):
            for r in self.rows(items(table), self.window("BLDAT"), self.env.company()):
                money = _money(lambda r=r: self.external(r["DMBTR"], local, "DMBTR"))
                counter.add((r["BLART"], r["ZLSCH"], r["SHKZG"]), money)
                ledger.add((r["BLART"], r["SHKZG"]), money)
        return [*counter.counts(), *ledger.counts()]

    def payment(self, value: tuple[Any, ...]) -> Reading | None:
        blart, zlsch, shkzg = value
        method = codes.collection_method(blart, zlsch, self.settings.collection_methods)
        if method is not None:
            if shkzg == codes.CREDIT:
                return mapped(f"collection, method {method}", _source(self.settings, "collection_methods"))
            return excluded("debit item of a payment document: a refund or a reversal, not a collection", _SHKZG)
        why = self.options.other_document_types.get(blart)
        return None if why is None else excluded(why, _source(self.options, "other_document_types"))

    def entry(self, value: tuple[Any, ...]) -> Reading | None:
        """A customer item's ledger kind; None (unknown: sent as kind other, warned about) when ledger_kinds has none.
        Reversal and SD cancellation documents are left out by BKPF-STBLG and VBRK-SFAKN, whatever their type."""
        key = codes.ledger_key(value[0], value[1], self.settings.ledger_kinds)
        if key is None:
            return None
        default = codes.LEDGER_KIND_SOURCES.get(key, UNCONFIRMED)
        return mapped(f"ledger kind {self.settings.ledger_kinds[key]}", _source(self.settings, "ledger_kinds", default))

    # -- stock movements --------------------------------------------------------------------------------
    def movements(self) -> list[CodeCount]:
        """MSEG BWART x SHKZG; with --since, of the documents posted (MKPF-BUDAT) from then on."""
        counter = _Counter(CodeColumn("MSEG BWART x SHKZG", "stock_movements", "movement_types", "", self.movement))
        if self.since is None:
            rows: Iterable[Row] = self.rows(MOVEMENTS)
        else:
            heads = {(h["MBLNR"], h["MJAHR"]) for h in self.rows(MOVEMENT_HEADERS, self.window("BUDAT"))}
            found = self.reader.rows_in(MOVEMENTS, "MBLNR", [m for m, _ in heads])
            rows = (r for r in found if (r["MBLNR"], r["MJAHR"]) in heads)
        for r in rows:
            counter.add((r["BWART"], r["SHKZG"]))
        return counter.counts()

    def movement(self, value: tuple[Any, ...]) -> Reading | None:
        """A material document row's kind (the direction is its SHKZG); None (unknown: sent as kind other) when
        movement_types has none. Reversal rows (SMBLN set) are left out whatever their type."""
        kind = self.settings.movement_types.get(value[0])
        if kind is None:
            return None
        side = {codes.RECEIPT: "in", "H": "out"}.get(value[1], "a dead letter (debit/credit code neither S nor H)")
        default = codes.MOVEMENT_TYPE_SOURCES.get(value[0], UNCONFIRMED)
        return mapped(f"stock movement {kind}, {side}", _source(self.settings, "movement_types", default))

    # -- products ----------------------------------------------------------------------------------------
    def products(self) -> list[CodeCount]:
        types = _Counter(CodeColumn("MARA MTART", "products", "ecc.service_material_types", "", self.material))
        for r in self.rows(MATERIALS):
            types.add((r["MTART"],))
        classes = _Counter(CodeColumn("MLAN TAXM1", "products", "vat_rates", "", self.tax_class))
        for r in self.rows(TAX_CLASSES, w.eq("ALAND", self.options.tax_country)):
            classes.add((r["TAXM1"],))
        return [*types.counts(), *classes.counts()]

    def material(self, value: tuple[Any, ...]) -> Reading | None:
        source = _source(self.options, "service_material_types")
        if value[0] in self.options.service_material_types:
            return excluded("service material: not a product", source)
        return mapped("product", source)

    def tax_class(self, value: tuple[Any, ...]) -> Reading | None:
        if not value[0]:
            return mapped("no tax classification: VAT rate empty", UNCONFIRMED)
        rate = self.settings.vat_rates.get(value[0])
        return None if rate is None else mapped(f"VAT {rate} %", _source(self.settings, "vat_rates"))


def census(env: EccEnv, since: dt.date | None) -> list[CodeCount]:
    return Census(env, since).counts()


def declared(condition_tables: Iterable[str], price_list_tables: Iterable[str] = ()) -> list[Read]:
    """Every read the census makes."""
    return [
        BILLING,
        SALES,
        CALCULATION,
        MATERIALS,
        TAX_CLASSES,
        MOVEMENT_HEADERS,
        MOVEMENTS,
        *(condition_types(t) for t in condition_tables),
        *(price_list_types(t) for t in price_list_tables),
        items("BSID"),
        items("BSAD"),
        DECIMALS,
    ]
