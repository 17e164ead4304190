"""Sales documents: orders (VBAK/VBAP + VBUK, VBKD, VBPA, VBFA, KONV) and invoices (VBRK/VBRP + VBPA, KONV).

Money per item: the unit price and the gross value are the price condition (KONV, PR00 by default:
KBETR per KPEIN units, KWERT); the net value is NETWR, so the discount is gross - net; the tax is
MWSBP and its rate the item's tax classification (TAXM1, setting `vat_rates`). Amounts are read in
their currency's decimals (TCURX, currencies.py): the document's (WAERK), the price's KONV-WAERS for its
rate KBETR. Header totals are
SAP's own (NETWR, MWSBK) beside the items' sums: where SAP's figures disagree the engine flags the
document. Local amounts: SD documents keep none, so the totals are converted at document level at
the document's rate (KURRF, mapping.money.to_local_totals) and the local net is spread over the
lines (apportion); a foreign document without a rate has no local amounts (null), not a guess.

Incremental reads take documents created (ERDAT) or changed (AEDAT) on or after the day of
`since`, plus the documents whose status moved without touching their header:
  * orders with a follow-on document (delivery, goods issue, invoice: VBFA) created since then;
  * invoices cancelled since then: a cancellation document (S1/S2, VBTYP N/S) names the invoice
    it cancels in SFAKN, and the invoice itself gets FKSTO = 'X' without a change date.
Cancellation and pro-forma documents themselves are never items: the feed shows the cancelled
invoice with `cancelled: true`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.currencies import Currencies
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.streams import EccStream, Item, Join, day, latest
from mapping.errors import RecordError
from mapping.money import amount, apportion, minor_units, quantity, to_local_totals, unit_price
from mapping.money import rate as to_rate
from mapping.schema import DocumentLine, Invoice, InvoiceLine, Order, OrderLine, Totals
from mapping.text import code, required_code

__all__ = ["Invoices", "Orders"]

ONE = Decimal("1.000000")
_ITEM_KEY = ("VBELN", "POSNR")
_HEADER_ITEM = "000000"
_ZERO = Decimal("0.00")
_AREA = ("VKORG", "VTWEG", "SPART")

PARTNERS = Read("VBPA", ("VBELN", "POSNR", "PARVW"), ("PERNR",))
PRICES = Read(
    "KONV", ("KNUMV", "KPOSN", "STUNR", "ZAEHK"), ("KBETR", "WAERS", "KPEIN", "KWERT", "KINAK"), where=("KSCHL",)
)
ORDER_ITEMS = Read(
    "VBAP", _ITEM_KEY, ("MATNR", "PSTYV", "ABGRU", "KWMENG", "VRKME", "NETWR", "MWSBP", "TAXM1", "WERKS", "LGORT")
)
ORDER_STATUS = Read("VBUK", ("VBELN",), ("GBSTK", "ABSTK"))
ORDER_RATE = Read("VBKD", _ITEM_KEY, ("KURRF",))
DELIVERIES = Read("VBFA", ("VBELV", "POSNV", "VBELN", "POSNN", "VBTYP_N"), ("RFMNG", "ERDAT", "ERZET"))
FLOW = Read("VBFA", DELIVERIES.key, ("ERDAT", "ERZET"), where=("VBTYP_V",))
INVOICE_ITEMS = Read(
    "VBRP", _ITEM_KEY, ("FKIMG", "VRKME", "NETWR", "MWSBP", "MATNR", "PSTYV", "WERKS", "LGORT", "TAXM1", "AUBEL")
)
CANCELLATIONS = Read("VBRK", ("VBELN",), ("SFAKN", "ERDAT", "ERZET"), where=("VBTYP", *_AREA))
RETURN_REQUESTS = Read("VBAK", ("VBELN",), ("VGBEL", "VGTYP"))
PAYMENT_TERMS = Read("T052", ("ZTERM", "ZTAGG"), ("ZTAG1",))


def _required_date(value: str, field: str) -> dt.date:
    found = v.date(value, field)
    if found is None:
        raise RecordError("missing", field)
    return found


class _Money:
    """A document's currency and exchange rate, its amounts, and their local counterparts."""

    def __init__(self, currencies: Currencies, key: str, currency: str, local_currency: str, kurrf: str | None) -> None:
        self.currencies = currencies
        self.key = key  # the SAP currency key (WAERK), as TCURX holds it
        self.currency = currency
        self.local_currency = local_currency
        self.local = currency == local_currency
        # A foreign document without a rate has unknown local amounts: null, never a guessed rate. Local amounts are
        # converted at the exact rate (an indirect quotation's inverse unrounded); the feed's rate has six places.
        self.exact: Decimal | None = ONE if self.local else (v.rate(kurrf, "rate") if v.number(kurrf, "rate") else None)
        self.rate = None if self.exact is None else to_rate(self.exact, "rate")

    def doc(self, value: str | None, field: str) -> Decimal:
        """A CURR field of the document (its output text) in the document currency."""
        return amount(self.currencies.external(value, self.key, field), field, self.currency)  # type: ignore[return-value]

    def price(self, value: str | None, currency: str | None, field: str) -> Decimal:
        """A condition rate in its condition currency (KONV-WAERS; the document's when blank)."""
        return self.currencies.external(value, currency or self.key, field)

    def totals(self, totals: Totals, lines: Sequence[DocumentLine]) -> Totals | None:
        """The local totals, each line's net_local set to its share of the local net."""
        if self.exact is None:
            return None
        local = totals if self.local else to_local_totals(totals, self.exact, self.local_currency)
        shares = apportion(local.net, [line.net for line in lines], minor_units(self.local_currency))
        for line, share in zip(lines, shares, strict=True):
            line.net_local = share
        return local


class _Document(EccStream):
    amounts = True
    replication_key = "modified"
    key_fields = ("VBELN",)
    items_table: str
    quantity_field: str

    def changed(self, since: str) -> str | None:
        return w.or_(w.ge("ERDAT", since), w.ge("AEDAT", since))

    def partners(self) -> Join:
        rep = self.env.settings.sales_rep_partner_function
        return Join(PARTNERS, "VBELN", "VBELN", w.eq("PARVW", rep))

    def prices(self) -> Join:
        return Join(PRICES, "KNUMV", "KNUMV", w.eq("KSCHL", self.env.options.price_condition_type))

    def extra_heads(self, since: str, seen: set[str]) -> tuple[list[Row], dict[str, dt.datetime]]:
        """Documents changed through other tables since day `since`, and when, not among `seen`."""
        return [], {}

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        if since is None:
            yield from super().read(None, partition)
            return
        seen: set[str] = set()
        for items in super().read(since, partition):
            seen.update(item[self.table]["VBELN"] for item in items)
            yield items
        heads, when = self.extra_heads(day(since, self.tz), seen)
        step = self.reader.page_size
        for start in range(0, len(heads), step):
            items = self.attach(heads[start : start + step])
            for item in items:
                item["changed_at"] = when.get(item[self.table]["VBELN"])
            yield items

    def cursor(self, item: Item) -> dt.datetime | None:
        head = item[self.table]
        return latest(
            self.moment(head.get("ERDAT"), head.get("ERZET")), self.moment(head.get("AEDAT")), item.get("changed_at")
        )

    def lines(self, item: Item, money: _Money, header_rep: str | None, cls: type, **per_line: Any) -> list[Any]:
        """The document's items as lines (net_local set later); `per_line` maps extra line fields to functions
        of the item row."""
        s = self.env.settings
        # An item may carry the price condition more than once; an inactive one (KINAK) was overridden.
        prices = {p["KPOSN"]: p for p in item["KONV"] if not p["KINAK"]}
        reps = {p["POSNR"]: p["PERNR"] for p in item["VBPA"] if p["POSNR"] != _HEADER_ITEM}
        by_plant = self.env.options.warehouse_code == "plant_and_storage_location"
        out = []
        for row in sorted(item[self.items_table], key=lambda r: r["POSNR"]):
            posnr = row["POSNR"]
            qty = quantity(v.number(row[self.quantity_field], "lines.quantity"), "lines.quantity")
            net = money.doc(row["NETWR"], "lines.net")
            price = prices.get(posnr)
            if price is not None:
                per = v.number(price["KPEIN"], "lines.unit_price") or Decimal(1)
                kbetr = money.price(price["KBETR"], price["WAERS"], "lines.unit_price")
                each = unit_price(kbetr / per, "lines.unit_price")
                gross = money.doc(price["KWERT"], "lines.gross")
            else:  # no price condition (free goods, manual items): the net value is all there is
                each = unit_price(net / qty if qty else Decimal(0), "lines.unit_price")
                gross = net
            unit = code(row["VRKME"], "lines.unit")
            storage = code(row["LGORT"], "lines.warehouse_code")
            out.append(
                cls(
                    line_no=v.integer(posnr, "lines.line_no"),
                    kind="service" if row["PSTYV"] in s.service_item_categories else "item",
                    product_code=codes.alpha_out(row["MATNR"]) or None,
                    quantity=qty,
                    unit=unit,
                    unit_code=codes.sap_unit_code(unit),
                    unit_price=each,
                    gross=gross,
                    discount=gross - net,
                    net=net,
                    vat_rate=self.vat_rate(row["TAXM1"], "lines.vat_rate"),
                    vat=money.doc(row["MWSBP"], "lines.vat"),
                    net_local=None,
                    warehouse_code=f"{row['WERKS']}/{storage}" if by_plant and storage else storage,
                    sales_rep_code=v.personnel(reps.get(posnr)) or header_rep,
                    **{name: make(row) for name, make in per_line.items()},
                )
            )
        return out

    def money(self, waerk: str, kurrf: str | None) -> _Money:
        currency = self.currency(waerk, "currency")
        return _Money(self.env.currencies, waerk, currency, self.env.settings.local_currency, kurrf)

    def header_rep(self, item: Item) -> str | None:
        return next((v.personnel(p["PERNR"]) for p in item["VBPA"] if p["POSNR"] == _HEADER_ITEM), None)


def _totals(lines: Sequence[DocumentLine], net: Decimal, vat: Decimal) -> Totals:
    """SAP's header net and tax beside the items' gross: gross - discount = net by construction, and the
    items' sums are checked against these by the engine."""
    gross = sum((line.gross for line in lines), _ZERO)
    return Totals(gross=gross, discount=gross - net, net=net, vat=vat, total=net + vat)


class Orders(_Document):
    """Sales orders (VBAK-VBTYP C, but the order types `ecc.excluded_order_types` leaves out). Status from VBUK
    (GBSTK, ABSTK) and the delivery block (LIFSK)."""

    name = "orders"
    primary_key = ("number",)
    table = "VBAK"
    items_table = "VBAP"
    quantity_field = "KWMENG"

    def head_read(self) -> Read:
        excluded = ("AUART",) if self.env.options.excluded_order_types else ()
        return Read(
            "VBAK",
            ("VBELN",),
            ("ERDAT", "ERZET", "AEDAT", "AUDAT", "VBTYP", "NETWR", "WAERK", "KUNNR", "KNUMV", "LIFSK"),
            where=(*_AREA, *excluded),
        )

    def condition(self) -> str | None:
        excluded = sorted(self.env.options.excluded_order_types)
        return w.and_(
            w.eq("VBTYP", codes.VBTYP_ORDER), w.not_in("AUART", excluded) if excluded else None, self.env.area()
        )

    def joins(self) -> Sequence[Join]:
        return (
            Join(ORDER_ITEMS, "VBELN", "VBELN"),
            Join(ORDER_STATUS, "VBELN", "VBELN"),
            Join(ORDER_RATE, "VBELN", "VBELN", w.eq("POSNR", _HEADER_ITEM)),
            self.partners(),
            Join(DELIVERIES, "VBELV", "VBELN", w.eq("VBTYP_N", codes.VBTYP_DELIVERY)),
            self.prices(),
        )

    def declared(self) -> list[Read]:
        return [*super().declared(), FLOW]

    def extra_heads(self, since: str, seen: set[str]) -> tuple[list[Row], dict[str, dt.datetime]]:
        flow = self.reader.rows(FLOW, w.and_(w.eq("VBTYP_V", codes.VBTYP_ORDER), w.ge("ERDAT", since)))
        when: dict[str, dt.datetime] = {}
        for row in flow:
            moment = self.moment(row["ERDAT"], row["ERZET"])
            if row["VBELV"] not in seen and moment is not None:
                when[row["VBELV"]] = max(moment, when.get(row["VBELV"], moment))
        heads = self.reader.rows_in(self.head_read(), "VBELN", sorted(when), self.condition())
        return heads, when

    def cursor(self, item: Item) -> dt.datetime | None:
        flows = (self.moment(f.get("ERDAT"), f.get("ERZET")) for f in item.get("VBFA", ()))
        return latest(super().cursor(item), *flows)

    def map(self, item: Item) -> Order:
        r = item["VBAK"]
        status = item["VBUK"][0] if item["VBUK"] else {}
        terms = item["VBKD"][0] if item["VBKD"] else {}
        money = self.money(r["WAERK"], terms.get("KURRF"))
        shipped: dict[str, Decimal] = {}
        for flow in item["VBFA"]:
            shipped[flow["POSNV"]] = shipped.get(flow["POSNV"], Decimal(0)) + v.number(flow["RFMNG"], "shipped")
        rep = self.header_rep(item)

        def delivered(row: Row) -> Decimal:
            return quantity(shipped.get(row["POSNR"], Decimal(0)), "lines.shipped_quantity")  # type: ignore[return-value]

        def closed(row: Row) -> bool:
            ordered = v.number(row["KWMENG"], "lines.quantity")
            return bool(row["ABGRU"]) or shipped.get(row["POSNR"], Decimal(0)) >= ordered

        lines = self.lines(item, money, rep, OrderLine, shipped_quantity=delivered, closed=closed)
        # VBAK keeps no tax total: the items' tax is the order's.
        vat = sum((line.vat for line in lines), _ZERO)
        totals = _totals(lines, money.doc(r["NETWR"], "totals.net"), vat)
        return Order(
            number=required_code(codes.alpha_out(r["VBELN"]), "number"),
            account_code=required_code(codes.alpha_out(r["KUNNR"]), "account_code"),
            date=_required_date(r["AUDAT"], "date"),
            issued_at=v.stamp(r["ERDAT"], r["ERZET"], self.tz, "issued_at"),
            status=codes.order_status(status.get("GBSTK", ""), status.get("ABSTK", ""), r["LIFSK"]),
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=money.totals(totals, lines),
            sales_rep_code=rep,
            lines=lines,
        )


class Invoices(_Document):
    """Billing documents but cancellations, pro formas and the billing types `billing_types` excludes. Kind from
    the billing type (FKART, setting `billing_types`) or the document category (VBTYP); all-service items make a
    service invoice.
    Returns (credit memos) name the invoice they return through their credit memo request's
    reference (VBAK-VGBEL, VGTYP M). Due date: billing date + the payment terms' days (T052)."""

    name = "invoices"
    primary_key = ("number",)
    table = "VBRK"
    items_table = "VBRP"
    quantity_field = "FKIMG"

    def head_read(self) -> Read:
        return Read(
            "VBRK",
            ("VBELN",),
            (
                "FKART",
                "VBTYP",
                "WAERK",
                "KNUMV",
                "FKDAT",
                "ZTERM",
                "KURRF",
                "NETWR",
                "MWSBK",
                "KUNAG",
                "XBLNR",
                "FKSTO",
                "ERDAT",
                "ERZET",
                "AEDAT",
            ),
            optional={"XBLNR": "invoices.document_no"},
            where=_AREA,
        )

    def condition(self) -> str | None:
        excluded = sorted(k for k, reading in self.env.settings.billing_types.items() if reading == codes.EXCLUDED)
        return w.and_(
            w.not_in("VBTYP", sorted(codes.SKIPPED_CATEGORIES)),
            w.not_in("FKART", excluded) if excluded else None,
            self.env.area(),
        )

    def joins(self) -> Sequence[Join]:
        return (Join(INVOICE_ITEMS, "VBELN", "VBELN"), self.partners(), self.prices())

    def declared(self) -> list[Read]:
        return [*super().declared(), CANCELLATIONS, RETURN_REQUESTS, PAYMENT_TERMS]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.terms = self._terms()
        return super().read(since, partition)

    def _terms(self) -> dict[str, str]:
        """Payment terms -> T052-ZTAG1 (days to the net due date) of their first day limit, as text: a bad value
        spoils the invoices with those terms, not the read."""
        terms: dict[str, str] = {}
        for row in sorted(self.reader.rows(PAYMENT_TERMS), key=lambda r: r["ZTAGG"]):
            terms.setdefault(row["ZTERM"], row["ZTAG1"])
        return terms

    def attach(self, heads: list[Row]) -> list[Item]:
        items = super().attach(heads)
        returns = [
            line["AUBEL"]
            for item in items
            if item["VBRK"]["VBTYP"] == codes.VBTYP_CREDIT_MEMO
            for line in item["VBRP"]
            if line["AUBEL"]
        ]
        requests = {r["VBELN"]: r for r in self.reader.rows_in(RETURN_REQUESTS, "VBELN", returns)}
        for item in items:
            item["VBAK"] = [requests[x["AUBEL"]] for x in item["VBRP"] if x["AUBEL"] in requests][:1]
        return items

    def extra_heads(self, since: str, seen: set[str]) -> tuple[list[Row], dict[str, dt.datetime]]:
        cancellations = self.reader.rows(
            CANCELLATIONS,
            w.and_(w.in_("VBTYP", sorted(codes.CANCELLATION_CATEGORIES)), w.ge("ERDAT", since), self.env.area()),
        )
        when: dict[str, dt.datetime] = {}
        for row in cancellations:
            moment = self.moment(row["ERDAT"], row["ERZET"])
            if row["SFAKN"] and row["SFAKN"] not in seen and moment is not None:
                when[row["SFAKN"]] = max(moment, when.get(row["SFAKN"], moment))
        heads = self.reader.rows_in(self.head_read(), "VBELN", sorted(when), self.condition())
        return heads, when

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        self.terms = self._terms()
        return list(super().fetch(keys))

    def map(self, item: Item) -> Invoice:
        r = item["VBRK"]
        s = self.env.settings
        money = self.money(r["WAERK"], r["KURRF"])
        kind = codes.invoice_kind(
            r["FKART"], r["VBTYP"], [x["PSTYV"] for x in item["VBRP"]], s.billing_types, s.service_item_categories
        )
        rep = self.header_rep(item)
        lines = self.lines(item, money, rep, InvoiceLine)
        net = money.doc(r["NETWR"], "totals.net")
        totals = _totals(lines, net, money.doc(r["MWSBK"], "totals.vat"))
        date = _required_date(r["FKDAT"], "date")
        request = item["VBAK"][0] if item["VBAK"] else {}
        original = request.get("VGBEL") if request.get("VGTYP") == codes.VBTYP_INVOICE else None
        return Invoice(
            number=required_code(codes.alpha_out(r["VBELN"]), "number"),
            document_no=code(r.get("XBLNR"), "document_no"),
            kind=kind,
            account_code=required_code(codes.alpha_out(r["KUNAG"]), "account_code"),
            date=date,
            issued_at=v.stamp(r["ERDAT"], r["ERZET"], self.tz, "issued_at"),
            due_date=self._due(date, r["ZTERM"], r["VBTYP"]),
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=money.totals(totals, lines),
            cancelled=v.flag(r["FKSTO"], "cancelled"),
            original_invoice=(codes.alpha_out(original) or None) if kind == "return" else None,
            sales_rep_code=rep,
            lines=lines,
        )

    def _due(self, date: dt.date, terms: str, category: str) -> dt.date | None:
        """Billing date + the terms' days; a credit memo is due at once (FI's rule without an invoice reference)."""
        if category == codes.VBTYP_CREDIT_MEMO:
            return date
        if not terms:
            return None
        days = self.terms.get(terms)
        if days is None:
            raise RecordError(f"payment terms {terms!r} are not in T052", "due_date")
        return date + dt.timedelta(days=int(v.number(days, "due_date")))
