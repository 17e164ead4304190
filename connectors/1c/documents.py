"""Document streams: orders, invoices (sales, returns, sales corrections) and collections (incoming payments).

1C has no modification time, so a read is bounded by the document date instead: `Date ge` the engine's
cursor minus the `lookback_days` setting (an old document can be re-posted until the period is closed),
plus every document marked for deletion or unposted, whatever its date; DataVersion tells the engine
which of them really changed. A page of headers comes first, then the tabular sections of the whole
page, by or-ed Ref_Key lists. A document marked for deletion is cancelled; an unposted one (a draft,
or a posting undone) is not in the feed: a delete. Documents removed physically disappear at the
engine's key-set reconciliation (live_keys).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.base import Partition
from mapping.dates import business_date, timestamp
from mapping.errors import RecordError
from mapping.money import QUANTS, fixed, minor_units, percent
from mapping.schema import Collection, Invoice, InvoiceKind, InvoiceLine, Order, OrderLine, Totals
from mapping.text import required
from mapping.units import unit_code

from .lookups import Lookups, to_local
from .masters import SERVICE_TYPES
from .odata import Row, datetime_literal, is_ref
from .streams import OneCStream, code_of

__all__ = ["Collections", "Invoices", "Orders"]

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class _LineContext:
    """What every line of one document shares."""

    rate: Decimal
    places: int
    vat_included: bool
    warehouse: str | None
    rep: str | None


class _Documents(OneCStream):
    replication_key = "date"
    sections: tuple[str, ...] = ("Товары",)

    def document_sets(self) -> list[tuple[str, Any]]:
        """(entity set, what the stream makes of it: an invoice kind, a collection method)."""
        raise NotImplementedError

    def header_fields(self, set_name: str) -> tuple[str, ...]:
        f = self.flavour
        return (
            "Ref_Key",
            "DataVersion",
            "DeletionMark",
            "Number",
            "Date",
            "Posted",
            "Контрагент_Key",
            f.currency_field,
            "СуммаДокумента",
        )

    def line_fields(self, section: str) -> tuple[str, ...]:
        raise NotImplementedError

    def postable(self, set_name: str) -> bool:
        return True

    def resolve(self, rows: list[Row]) -> None:
        """Fill in what a page's documents refer to by number (the sale a return returns, ...)."""

    def sections_of(self, set_name: str) -> tuple[str, ...]:
        return self.sections

    def probes(self) -> list[tuple[str, tuple[str, ...] | None]]:
        queries: list[tuple[str, tuple[str, ...] | None]] = []
        for name, _ in self.document_sets():
            queries.append((name, self.header_fields(name)))
            queries += [(f"{name}_{section}", self.line_fields(section)) for section in self.sections_of(name)]
        return queries

    def needs(self) -> list[str]:
        s = self.sets
        documents = [name for name, _ in self.document_sets()]
        sections = [f"{name}_{section}" for name in documents for section in self.sections_of(name)]
        return [*documents, *sections, s["counterparties"], s["users"], s["warehouses"], s["currencies"], s["rates"]]

    # -- reading ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        super().prepare()
        self.read_started = dt.datetime.now(self.tz).replace(microsecond=0)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        start = None
        if since is not None:
            start = since.astimezone(self.tz).replace(tzinfo=None) - self.env.lookback
        for set_name, tag in self.document_sets():
            where = self._window(set_name, start)
            for page in self.env.odata.pages(set_name, select=self.header_fields(set_name), where=where):
                yield self.attach(set_name, tag, page)

    def _window(self, set_name: str, start: dt.datetime | None) -> str | None:
        """Documents dated from `start`, and from any date those marked for deletion or unposted: they are
        few, and a cancellation of an old document must not wait for a full refresh."""
        if start is None:
            return None
        undone = "DeletionMark eq true or Posted eq false" if self.postable(set_name) else "DeletionMark eq true"
        return f"Date ge {datetime_literal(start)} or {undone}"

    def attach(self, set_name: str, tag: Any, rows: list[Row]) -> list[Row]:
        refs = [row["Ref_Key"] for row in rows]
        lines: dict[str, dict[str, list[Row]]] = {ref: {} for ref in refs}
        for section in self.sections_of(set_name):
            found = self.env.odata.by_refs(
                f"{set_name}_{section}", refs, select=self.line_fields(section), order=("Ref_Key", "LineNumber")
            )
            for line in sorted(found, key=lambda x: x.get("LineNumber") or 0):
                lines.setdefault(line["Ref_Key"], {}).setdefault(section, []).append(line)
        for row in rows:
            row["_set"], row["_tag"], row["_lines"] = set_name, tag, lines[row["Ref_Key"]]
        self.resolve(rows)
        return rows

    def _live(self, set_name: str) -> str | None:
        return "Posted eq true or DeletionMark eq true" if self.postable(set_name) else None

    def live_keys(self) -> Iterator[Sequence[str]]:
        for set_name, _ in self.document_sets():
            for page in self.env.odata.pages(set_name, select=("Ref_Key",), where=self._live(set_name)):
                yield [row["Ref_Key"] for row in page]

    def count(self) -> int | None:
        return sum(self.env.odata.count(set_name, self._live(set_name)) for set_name, _ in self.document_sets())

    def fetch(self, keys: Sequence[str]) -> list[Row]:
        self.prepare()
        found: list[Row] = []
        for set_name, tag in self.document_sets():
            rows = self.env.odata.by_refs(set_name, keys, select=self.header_fields(set_name))
            if rows:
                found.extend(self.attach(set_name, tag, rows))
        return found

    def cursor(self, item: Row) -> dt.datetime | None:
        """The document date, but never later than the read: a document dated ahead must not carry the
        cursor (and with it the next read's window) past documents entered today."""
        try:
            moment = timestamp(item.get("Date"), "Date", self.tz)
        except RecordError:
            return None
        if moment is None:
            return None
        return min(moment, self.read_started)

    # -- mapping helpers -------------------------------------------------------------------------
    def load(self, lookups: Lookups) -> None:
        lookups.currency_codes()
        lookups.load_rates()
        self.counterparties = lookups.catalog("counterparties", ("Code",))
        self.users = lookups.catalog("users", ("Description",))
        self.warehouses = lookups.catalog("warehouses", ("Code",))

    def deleted(self, item: Row) -> bool:
        """An unposted document that is not marked for deletion: a draft, or a posting undone."""
        return self.postable(item["_set"]) and not item.get("Posted") and not item.get("DeletionMark")

    def head(self, item: Row) -> dict[str, Any]:
        """Number, account, dates, currency and rate of a document header."""
        f = self.flavour
        day = business_date(item.get("Date"), "date")
        if day is None:
            raise RecordError("the document has no date", "date")
        iso = self.lookups.currency_of(item.get(f.currency_field), "currency")
        account = code_of(self.counterparties, item.get("Контрагент_Key"), "counterparty", "account_code")
        return {
            "number": required(item.get("Number"), "number", 100),
            "account_code": required(account, "account_code", 100),
            "date": day,
            "currency": iso,
            "rate": self.lookups.rate_on(iso, day),
        }


class _Goods(_Documents):
    """Documents with goods lines (orders and invoices): money from the lines."""

    def line_fields(self, section: str) -> tuple[str, ...]:
        base = ("Ref_Key", "LineNumber", "Номенклатура_Key", "Количество", "Цена", "Сумма", "СтавкаНДС_Key", "СуммаНДС")
        if not self.flavour.trade:
            return base
        return (
            *base,
            "Упаковка_Key",
            "КоличествоУпаковок",
            "СуммаРучнойСкидки",
            "СуммаАвтоматическойСкидки",
            "Склад_Key",
        )

    def header_fields(self, set_name: str) -> tuple[str, ...]:
        f = self.flavour
        return (*super().header_fields(set_name), "Склад_Key", f.manager_field, f.vat_included_field)

    def sections_of(self, set_name: str) -> tuple[str, ...]:
        # БП keeps services of a sale (or an invoice for payment) in a section of their own.
        if not self.flavour.trade and set_name in (self.sets["sales"], self.sets["orders"]):
            return ("Товары", "Услуги")
        return ("Товары",)

    def needs(self) -> list[str]:
        return [*super().needs(), self.sets["items"], self.sets["units"], self.sets["vat_rates"]]

    def load(self, lookups: Lookups) -> None:
        super().load(lookups)
        trade = self.flavour.trade
        kind_field = "ТипНоменклатуры" if trade else "Услуга"
        self.items = lookups.catalog("items", ("Code", "ЕдиницаИзмерения_Key", kind_field))
        self.units = lookups.catalog("units", ("Description",))
        self.vat_rates = lookups.catalog("vat_rates", ("Ставка",))

    def is_service(self, item: Row, section: str) -> bool:
        if self.flavour.trade:
            return item.get("ТипНоменклатуры") in SERVICE_TYPES
        return section == "Услуги" or bool(item.get("Услуга"))

    def lines(self, doc: Row, head: dict[str, Any]) -> Iterator[tuple[Row, dict[str, Any]]]:
        """(raw line, the line's normalised fields) in section order, numbered across sections."""
        f = self.flavour
        context = _LineContext(
            rate=head["rate"],
            places=minor_units(head["currency"]),
            vat_included=bool(doc.get(f.vat_included_field)),
            warehouse=code_of(self.warehouses, doc.get("Склад_Key"), "warehouse", "warehouse_code"),
            rep=code_of(self.users, doc.get(f.manager_field), "user", "sales_rep_code", "Description"),
        )
        number = 0
        for section in self.sections_of(doc["_set"]):
            for row in doc["_lines"].get(section, []):
                number += 1
                yield row, self._line(row, section, number, context)

    def _line(self, row: Row, section: str, number: int, c: _LineContext) -> dict[str, Any]:
        item_ref = row.get("Номенклатура_Key")
        item = self.items.get(item_ref or "")
        if item is None:
            raise RecordError(
                f"refers to an item that is not in the published catalog ({item_ref})", "lines.product_code"
            )
        unit_ref = item.get("ЕдиницаИзмерения_Key")
        vat = fixed(row.get("СуммаНДС"), c.places, "lines.vat")
        net = fixed(row.get("Сумма"), c.places, "lines.net") - (vat if c.vat_included else 0)
        price = fixed(row.get("Цена"), 4, "lines.unit_price")
        line_warehouse = None
        if self.flavour.trade:
            packaging = row.get("Упаковка_Key")
            packed = is_ref(packaging)
            qty = fixed(row.get("КоличествоУпаковок" if packed else "Количество"), 3, "lines.quantity")
            unit_ref = packaging if packed else unit_ref
            manual = fixed(row.get("СуммаРучнойСкидки"), c.places, "lines.discount")
            discount = manual + fixed(row.get("СуммаАвтоматическойСкидки"), c.places, "lines.discount")
            gross = net + discount
            line_warehouse = code_of(self.warehouses, row.get("Склад_Key"), "warehouse", "lines.warehouse_code")
        else:  # БП keeps no discount column: the gap between quantity x price and the amount is the discount
            qty = fixed(row.get("Количество"), 3, "lines.quantity")
            gross = (qty * price).quantize(QUANTS[c.places], ROUND_HALF_UP)
            discount = gross - net
        unit = code_of(self.units, unit_ref, "unit", "lines.unit", "Description")
        vat_rate = self.vat_rates.get(row.get("СтавкаНДС_Key") or "")
        return {
            "line_no": number,
            "kind": "service" if self.is_service(item, section) else "item",
            "product_code": item.get("Code") or None,
            "quantity": qty,
            "unit": unit,
            "unit_code": unit_code(unit),
            "unit_price": price,
            "gross": gross,
            "discount": discount,
            "net": net,
            "vat_rate": percent(vat_rate.get("Ставка"), "lines.vat_rate") if vat_rate else None,
            "vat": vat,
            "net_local": to_local(net, c.rate),
            "warehouse_code": line_warehouse or c.warehouse,
            "sales_rep_code": c.rep,
        }

    def totals(self, lines: Sequence[InvoiceLine | OrderLine], rate: Decimal) -> tuple[Totals, Totals]:
        gross = sum((x.gross for x in lines), _ZERO)
        discount = sum((x.discount for x in lines), _ZERO)
        net = sum((x.net for x in lines), _ZERO)
        vat = sum((x.vat for x in lines), _ZERO)
        doc = Totals(gross=gross, discount=discount, net=net, vat=vat, total=net + vat)
        local = Totals(
            gross=to_local(gross, rate),
            discount=to_local(discount, rate),
            net=to_local(net, rate),
            vat=to_local(vat, rate),
            total=to_local(net + vat, rate),
        )
        return doc, local


class Invoices(_Goods):
    """Sales (Document_РеализацияТоваровУслуг: `sale`, or `service` when every line is a service), returns
    (Document_ВозвратТоваровОтКлиента / ВозвратТоваровОтПокупателя, with the returned sale) and sales
    corrections (Document_КорректировкаРеализации: `price_difference`)."""

    name = "invoices"
    primary_key = ("number",)

    def document_sets(self) -> list[tuple[str, Any]]:
        return [
            (self.sets["sales"], "sale"),
            (self.sets["returns"], "return"),
            (self.sets["corrections"], "price_difference"),
        ]

    def header_fields(self, set_name: str) -> tuple[str, ...]:
        fields = super().header_fields(set_name)
        due = self.flavour.due_date_field
        if set_name == self.sets["sales"] and due:
            return (*fields, due)
        if set_name == self.sets["returns"]:
            return (*fields, "ДокументРеализации_Key")
        return fields

    def resolve(self, rows: list[Row]) -> None:
        originals = [row.get("ДокументРеализации_Key") for row in rows if is_ref(row.get("ДокументРеализации_Key"))]
        if not originals:
            return
        numbers = {
            found["Ref_Key"]: found.get("Number")
            for found in self.env.odata.by_refs(self.sets["sales"], originals, select=("Ref_Key", "Number"))
        }
        for row in rows:
            original = row.get("ДокументРеализации_Key")
            if is_ref(original):
                row["_original"] = numbers.get(original)
                row["_resolved"] = row["_original"] or ""

    def map(self, item: Row) -> Invoice | None:
        if self.deleted(item):
            return None
        head = self.head(item)
        lines = [InvoiceLine(**values) for _, values in self.lines(item, head)]
        kind: InvoiceKind = item["_tag"]
        if kind == "sale" and lines and all(line.kind == "service" for line in lines):
            kind = "service"
        if kind == "return" and is_ref(item.get("ДокументРеализации_Key")) and not item.get("_original"):
            raise RecordError("the returned sale is not in the published sales set", "original_invoice")
        totals, totals_local = self.totals(lines, head["rate"])
        f = self.flavour
        due = f.due_date_field if item["_set"] == self.sets["sales"] else None
        return Invoice(
            **head,
            kind=kind,
            issued_at=timestamp(item.get("Date"), "issued_at", self.tz),
            due_date=business_date(item.get(due), "due_date") if due else None,
            totals=totals,
            totals_local=totals_local,
            cancelled=bool(item.get("DeletionMark")),
            original_invoice=item.get("_original") if kind == "return" else None,
            sales_rep_code=code_of(self.users, item.get(f.manager_field), "user", "sales_rep_code", "Description"),
            warehouse_code=code_of(self.warehouses, item.get("Склад_Key"), "warehouse", "warehouse_code"),
            lines=lines,
        )


class Orders(_Goods):
    """UT 11 Document_ЗаказКлиента (status from Статус; a line with Отменено is closed); BP 3 has no sales
    order and its Document_СчетНаОплатуПокупателю (never posted, no status) reads as `open`."""

    name = "orders"
    primary_key = ("number",)

    def document_sets(self) -> list[tuple[str, Any]]:
        return [(self.sets["orders"], None)]

    def header_fields(self, set_name: str) -> tuple[str, ...]:
        return (*super().header_fields(set_name), *(("Статус",) if self.flavour.order_statuses else ()))

    def line_fields(self, section: str) -> tuple[str, ...]:
        return (*super().line_fields(section), *(("Отменено",) if self.flavour.trade else ()))

    def postable(self, set_name: str) -> bool:
        return self.flavour.orders_posted

    def map(self, item: Row) -> Order | None:
        if self.deleted(item):
            return None
        head = self.head(item)
        lines = [OrderLine(**values, closed=bool(row.get("Отменено"))) for row, values in self.lines(item, head)]
        statuses = self.flavour.order_statuses
        if item.get("DeletionMark"):
            status = "cancelled"
        elif statuses:
            status = statuses.get(str(item.get("Статус")))  # type: ignore[assignment]
            if status is None:
                raise RecordError(f"unknown order status {str(item.get('Статус'))[:40]!r}", "status")
        else:
            status = "open"
        totals, totals_local = self.totals(lines, head["rate"])
        f = self.flavour
        return Order(
            **head,
            issued_at=timestamp(item.get("Date"), "issued_at", self.tz),
            status=status,  # type: ignore[arg-type]
            totals=totals,
            totals_local=totals_local,
            warehouse_code=code_of(self.warehouses, item.get("Склад_Key"), "warehouse", "warehouse_code"),
            sales_rep_code=code_of(self.users, item.get(f.manager_field), "user", "sales_rep_code", "Description"),
            lines=lines,
        )


class Collections(_Documents):
    """Incoming payments: one document set per method (`collection_documents` setting; defaults: bank
    receipt, cash receipt order, card operation). The settled invoices come from the payment breakdown
    (РасшифровкаПлатежа), whose settled document is a composite reference (a GUID and its _Type)."""

    name = "collections"
    primary_key = ("number",)
    sections = ("РасшифровкаПлатежа",)

    def document_sets(self) -> list[tuple[str, Any]]:
        return list(self.env.collections.items())

    def needs(self) -> list[str]:
        return [*super().needs(), self.sets["sales"], self.sets["returns"], self.sets["corrections"]]

    def line_fields(self, section: str) -> tuple[str, ...]:
        field = self.flavour.settlement_field
        return ("Ref_Key", "LineNumber", field, f"{field}_Type")

    def resolve(self, rows: list[Row]) -> None:
        field = self.flavour.settlement_field
        invoice_sets = {self.sets["sales"], self.sets["returns"], self.sets["corrections"]}
        wanted: dict[str, set[str]] = {}
        for row in rows:
            for line in row["_lines"].get("РасшифровкаПлатежа", []):
                target = str(line.get(f"{field}_Type") or "").rsplit(".", 1)[-1]
                if target in invoice_sets and is_ref(line.get(field)):
                    wanted.setdefault(target, set()).add(line[field])
        numbers: dict[str, str] = {}
        for set_name, refs in wanted.items():
            for found in self.env.odata.by_refs(set_name, refs, select=("Ref_Key", "Number")):
                numbers[found["Ref_Key"]] = str(found.get("Number") or "")
        for row in rows:
            settled = {numbers.get(line.get(field) or "") for line in row["_lines"].get("РасшифровкаПлатежа", [])}
            row["_settles"] = sorted(n for n in settled if n)
            row["_resolved"] = ",".join(row["_settles"])

    def map(self, item: Row) -> Collection | None:
        if self.deleted(item):
            return None
        head = self.head(item)
        amount = fixed(item.get("СуммаДокумента"), minor_units(head["currency"]), "amount")
        return Collection(
            **head,
            amount=amount,
            amount_local=to_local(amount, head["rate"]),
            method=item["_tag"],
            cancelled=bool(item.get("DeletionMark")),
            settles=item["_settles"],
        )
