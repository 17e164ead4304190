"""Sales documents: orders (VBAK/VBAP + VBUK, VBKD, VBPA, VBFA, KONV) and invoices (VBRK/VBRP + VBPA, KONV).

Money per item: the unit price and the gross value are the price condition (KONV, PR00 by default:
KBETR per KPEIN units, KWERT); the net value is NETWR, so the discount is gross - net; the tax is
MWSBP and its rate the item's tax classification (TAXM1, setting `vat_rates`). Local amounts are
each document amount at the document's exchange rate (KURRF), rounded, as FI posts them.

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
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.streams import EccStream, Item, Join, day, latest
from mapping.errors import RecordError
from mapping.money import amount, quantity, unit_price
from mapping.schema import Invoice, InvoiceLine, Order, OrderLine, Totals
from mapping.text import clean, required

__all__ = ["Invoices", "Orders"]

ONE = Decimal("1.000000")
_ITEM_KEY = ("VBELN", "POSNR")
_HEADER_ITEM = "000000"


def _required_date(value: str, field: str) -> dt.date:
    found = v.date(value, field)
    if found is None:
        raise RecordError("missing", field)
    return found


class _Money:
    """A document's currency and exchange rate, and its amounts in both currencies."""

    def __init__(self, currency: str, local_currency: str, kurrf: str | None) -> None:
        self.currency = currency
        self.local_currency = local_currency
        self.local = currency == local_currency
        self.rate = ONE if self.local else v.rate(kurrf, "rate")

    def doc(self, value: Decimal, field: str) -> Decimal:
        return amount(value, field, self.currency)  # type: ignore[return-value]

    def to_local(self, value: Decimal, field: str) -> Decimal:
        if self.local:
            return value
        return amount(value * self.rate, field, self.local_currency)  # type: ignore[return-value]

    def totals(self, gross: Decimal, discount: Decimal, net: Decimal, vat: Decimal) -> tuple[Totals, Totals]:
        doc = Totals(gross=gross, discount=discount, net=net, vat=vat, total=net + vat)
        if self.local:
            return doc, doc
        local = Totals(
            gross=self.to_local(gross, "totals_local.gross"),
            discount=self.to_local(discount, "totals_local.discount"),
            net=self.to_local(net, "totals_local.net"),
            vat=self.to_local(vat, "totals_local.vat"),
            total=self.to_local(net + vat, "totals_local.total"),
        )
        return doc, local


class _Document(EccStream):
    replication_key = "modified"
    key_fields = ("VBELN",)
    items_table: str
    quantity_field: str

    def changed(self, since: str) -> str | None:
        return w.or_(w.ge("ERDAT", since), w.ge("AEDAT", since))

    def partners(self) -> Join:
        rep = self.env.settings.sales_rep_partner_function
        return Join("VBPA", ("VBELN", "POSNR", "PARVW"), ("PERNR",), "VBELN", "VBELN", w.eq("PARVW", rep))

    def prices(self) -> Join:
        kschl = self.env.options.price_condition_type
        return Join(
            "KONV",
            ("KNUMV", "KPOSN", "STUNR", "ZAEHK"),
            ("KBETR", "KPEIN", "KWERT", "KINAK"),
            "KNUMV",
            "KNUMV",
            w.eq("KSCHL", kschl),
        )

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
        """The document's items as lines; `per_line` maps extra line fields to functions of the item row."""
        s = self.env.settings
        # An item may carry the price condition more than once; an inactive one (KINAK) was overridden.
        prices = {p["KPOSN"]: p for p in item["KONV"] if not p["KINAK"]}
        reps = {p["POSNR"]: p["PERNR"] for p in item["VBPA"] if p["POSNR"] != _HEADER_ITEM}
        out = []
        for row in sorted(item[self.items_table], key=lambda r: r["POSNR"]):
            posnr = row["POSNR"]
            qty = quantity(v.number(row[self.quantity_field], "lines.quantity"), "lines.quantity")
            net = money.doc(v.number(row["NETWR"], "lines.net"), "lines.net")
            price = prices.get(posnr)
            if price is not None:
                per = v.number(price["KPEIN"], "lines.unit_price") or Decimal(1)
                each = unit_price(v.number(price["KBETR"], "lines.unit_price") / per, "lines.unit_price")
                gross = money.doc(v.number(price["KWERT"], "lines.gross"), "lines.gross")
            else:  # no price condition (free goods, manual items): the net value is all there is
                each = unit_price(net / qty if qty else Decimal(0), "lines.unit_price")
                gross = net
            unit = clean(row["VRKME"])
            storage = clean(row["LGORT"])
            by_plant = self.env.options.warehouse_code == "plant_and_storage_location"
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
                    vat=money.doc(v.number(row["MWSBP"], "lines.vat"), "lines.vat"),
                    net_local=money.to_local(net, "lines.net_local"),
                    warehouse_code=f"{row['WERKS']}/{storage}" if by_plant and storage else storage,
                    sales_rep_code=v.personnel(reps.get(posnr)) or header_rep,
                    **{name: make(row) for name, make in per_line.items()},
                )
            )
        return out

    def header_rep(self, item: Item) -> str | None:
        return next((v.personnel(p["PERNR"]) for p in item["VBPA"] if p["POSNR"] == _HEADER_ITEM), None)


class Orders(_Document):
    """Sales orders (VBAK-VBTYP C). Status from VBUK (GBSTK, ABSTK) and the delivery block (LIFSK)."""

    name = "orders"
    primary_key = ("number",)
    table = "VBAK"
    items_table = "VBAP"
    quantity_field = "KWMENG"

    def fields(self) -> Sequence[str]:
        return ("VBELN", "ERDAT", "ERZET", "AEDAT", "AUDAT", "VBTYP", "NETWR", "WAERK", "KUNNR", "KNUMV", "LIFSK")

    def condition(self) -> str | None:
        return w.and_(w.eq("VBTYP", codes.VBTYP_ORDER), self.env.area())

    def joins(self) -> Sequence[Join]:
        return (
            Join(
                "VBAP",
                _ITEM_KEY,
                ("MATNR", "PSTYV", "ABGRU", "KWMENG", "VRKME", "NETWR", "MWSBP", "TAXM1", "WERKS", "LGORT"),
                "VBELN",
                "VBELN",
            ),
            Join("VBUK", ("VBELN",), ("GBSTK", "ABSTK"), "VBELN", "VBELN"),
            Join("VBKD", _ITEM_KEY, ("KURRF",), "VBELN", "VBELN", w.eq("POSNR", _HEADER_ITEM)),
            self.partners(),
            Join(
                "VBFA",
                ("VBELV", "POSNV", "VBELN", "POSNN", "VBTYP_N"),
                ("RFMNG", "ERDAT", "ERZET"),
                "VBELV",
                "VBELN",
                w.eq("VBTYP_N", codes.VBTYP_DELIVERY),
            ),
            self.prices(),
        )

    def extra_heads(self, since: str, seen: set[str]) -> tuple[list[Row], dict[str, dt.datetime]]:
        flow = self.reader.rows(
            "VBFA",
            ("ERDAT", "ERZET"),
            ("VBELV", "POSNV", "VBELN", "POSNN", "VBTYP_N"),
            w.and_(w.eq("VBTYP_V", codes.VBTYP_ORDER), w.ge("ERDAT", since)),
        )
        when: dict[str, dt.datetime] = {}
        for row in flow:
            moment = self.moment(row["ERDAT"], row["ERZET"])
            if row["VBELV"] not in seen and moment is not None:
                when[row["VBELV"]] = max(moment, when.get(row["VBELV"], moment))
        heads = self.reader.rows_in("VBAK", self.fields(), self.key_fields, "VBELN", sorted(when), self.condition())
        return heads, when

    def reads(self) -> dict[str, set[str]]:
        out = super().reads()
        out["VBFA"].update(("VBTYP_V", "ERDAT", "ERZET"))
        return out

    def cursor(self, item: Item) -> dt.datetime | None:
        flows = (self.moment(f.get("ERDAT"), f.get("ERZET")) for f in item.get("VBFA", ()))
        return latest(super().cursor(item), *flows)

    def map(self, item: Item) -> Order:
        r = item["VBAK"]
        status = item["VBUK"][0] if item["VBUK"] else {}
        terms = item["VBKD"][0] if item["VBKD"] else {}
        money = _Money(self.currency(r["WAERK"], "currency"), self.env.settings.local_currency, terms.get("KURRF"))
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
        totals, totals_local = self._totals(money, lines, money.doc(v.number(r["NETWR"], "totals.net"), "totals.net"))
        return Order(
            number=required(codes.alpha_out(r["VBELN"]), "number", 100),
            account_code=required(codes.alpha_out(r["KUNNR"]), "account_code", 100),
            date=_required_date(r["AUDAT"], "date"),
            issued_at=v.stamp(r["ERDAT"], r["ERZET"], self.tz, "issued_at"),
            status=codes.order_status(status.get("GBSTK", ""), status.get("ABSTK", ""), r["LIFSK"]),
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=totals_local,
            sales_rep_code=rep,
            lines=lines,
        )

    @staticmethod
    def _totals(money: _Money, lines: list[Any], net: Decimal) -> tuple[Totals, Totals]:
        gross = sum((line.gross for line in lines), Decimal("0.00"))
        vat = sum((line.vat for line in lines), Decimal("0.00"))
        return money.totals(gross, gross - net, net, vat)


class Invoices(_Document):
    """Billing documents but cancellations and pro formas. Kind from the billing type (FKART, setting
    `billing_types`) or the document category (VBTYP); all-service items make a service invoice.
    Returns (credit memos) name the invoice they return through their credit memo request's
    reference (VBAK-VGBEL, VGTYP M). Due date: billing date + the payment terms' days (T052)."""

    name = "invoices"
    primary_key = ("number",)
    table = "VBRK"
    items_table = "VBRP"
    quantity_field = "FKIMG"

    def fields(self) -> Sequence[str]:
        return (
            "VBELN",
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
        )

    def condition(self) -> str | None:
        return w.and_(w.not_in("VBTYP", sorted(codes.SKIPPED_CATEGORIES)), self.env.area())

    def joins(self) -> Sequence[Join]:
        return (
            Join(
                "VBRP",
                _ITEM_KEY,
                ("FKIMG", "VRKME", "NETWR", "MWSBP", "MATNR", "PSTYV", "WERKS", "LGORT", "TAXM1", "AUBEL"),
                "VBELN",
                "VBELN",
            ),
            self.partners(),
            self.prices(),
        )

    def reads(self) -> dict[str, set[str]]:
        out = super().reads()
        out["VBRK"].add("SFAKN")
        out["VBAK"] = {"VBELN", "VGBEL", "VGTYP"}
        out["T052"] = {"ZTERM", "ZTAGG", "ZTAG1"}
        return out

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.terms = self._terms()
        return super().read(since, partition)

    def _terms(self) -> dict[str, str]:
        """Payment terms -> T052-ZTAG1 (days to the net due date) of their first day limit, as text: a value
        RFC_READ_TABLE could not write (DEC 3: 100 days and more overflow) spoils its invoices, not the read."""
        terms: dict[str, str] = {}
        for row in sorted(self.reader.rows("T052", ("ZTAG1",), ("ZTERM", "ZTAGG")), key=lambda r: r["ZTAGG"]):
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
        requests = {
            r["VBELN"]: r for r in self.reader.rows_in("VBAK", ("VGBEL", "VGTYP"), ("VBELN",), "VBELN", returns)
        }
        for item in items:
            item["VBAK"] = [requests[x["AUBEL"]] for x in item["VBRP"] if x["AUBEL"] in requests][:1]
        return items

    def extra_heads(self, since: str, seen: set[str]) -> tuple[list[Row], dict[str, dt.datetime]]:
        cancellations = self.reader.rows(
            "VBRK",
            ("SFAKN", "ERDAT", "ERZET"),
            self.key_fields,
            w.and_(w.in_("VBTYP", sorted(codes.CANCELLATION_CATEGORIES)), w.ge("ERDAT", since), self.env.area()),
        )
        when: dict[str, dt.datetime] = {}
        for row in cancellations:
            moment = self.moment(row["ERDAT"], row["ERZET"])
            if row["SFAKN"] and row["SFAKN"] not in seen and moment is not None:
                when[row["SFAKN"]] = max(moment, when.get(row["SFAKN"], moment))
        heads = self.reader.rows_in("VBRK", self.fields(), self.key_fields, "VBELN", sorted(when), self.condition())
        return heads, when

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        self.terms = self._terms()
        return list(super().fetch(keys))

    def map(self, item: Item) -> Invoice:
        r = item["VBRK"]
        s = self.env.settings
        money = _Money(self.currency(r["WAERK"], "currency"), s.local_currency, r["KURRF"])
        kind = codes.invoice_kind(
            r["FKART"], r["VBTYP"], [x["PSTYV"] for x in item["VBRP"]], s.billing_types, s.service_item_categories
        )
        rep = self.header_rep(item)
        lines = self.lines(item, money, rep, InvoiceLine)
        net = money.doc(v.number(r["NETWR"], "totals.net"), "totals.net")
        gross = sum((line.gross for line in lines), Decimal("0.00"))
        totals, totals_local = money.totals(
            gross, gross - net, net, money.doc(v.number(r["MWSBK"], "totals.vat"), "totals.vat")
        )
        date = _required_date(r["FKDAT"], "date")
        request = item["VBAK"][0] if item["VBAK"] else {}
        original = request.get("VGBEL") if request.get("VGTYP") == codes.VBTYP_INVOICE else None
        return Invoice(
            number=required(codes.alpha_out(r["VBELN"]), "number", 100),
            document_no=clean(r["XBLNR"]),
            kind=kind,
            account_code=required(codes.alpha_out(r["KUNAG"]), "account_code", 100),
            date=date,
            issued_at=v.stamp(r["ERDAT"], r["ERZET"], self.tz, "issued_at"),
            due_date=self._due(date, r["ZTERM"], r["VBTYP"]),
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=totals_local,
            cancelled=v.flag(r["FKSTO"]),
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
