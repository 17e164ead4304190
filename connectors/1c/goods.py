"""Documents with goods lines: orders and invoices (sales, returns, corrections). Money comes from the lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mapping.dates import timestamp
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import Invoice, InvoiceKind, InvoiceLine, Order, OrderLine, OrderStatus
from mapping.text import code
from mapping.units import unit_code

from .declare import Field, Read, composite, flag, guid, number, text
from .documents import Documents, composite_ref
from .flavours import Section
from .lines import Money, line_money, totals
from .lookups import Lookups
from .masters import SERVICE_TYPES
from .odata import Row, as_int, is_ref
from .streams import code_of, yes
from .vat import catalog_rate, rate_of

__all__ = ["KINDS", "Invoices", "Orders"]

KINDS: dict[str, InvoiceKind] = {"sales": "sale", "returns": "return", "corrections": "price_difference"}


class _Goods(Documents):
    roles: tuple[str, ...]

    def document_sets(self) -> list[tuple[Read, Any]]:
        return [(self.goods_header(role), role) for role in self.roles]

    def goods_header(self, role: str) -> Read:
        f = self.flavour
        doc = f.documents[role]
        fields: list[tuple[Field, ...]] = [
            guid("Контрагент_Key", f.currency_field, "Склад_Key", f.manager_field),
            flag(f.vat_included_field),
        ]
        if doc.operation:
            fields.append(text(doc.operation))
        if doc.original:
            fields.append(composite(doc.original))
        if role == "orders" and f.order_status:
            fields.append(text("Статус"))
        return self.header(role, f.sets[role], *fields)

    def section_reads(self, header: Read) -> list[tuple[str, Read]]:
        return [(s.name, self.section(header, s.name, *self.line_fields(s))) for s in self._sections(header.role)]

    def _sections(self, role: str) -> tuple[Section, ...]:
        return self.flavour.documents[role].sections

    def line_fields(self, s: Section) -> list[tuple[Field, ...]]:
        vat = guid("СтавкаНДС_Key") if self.flavour.line_vat.endswith("_Key") else text("СтавкаНДС")
        out = [
            guid(s.item) if s.item.endswith("_Key") else composite(s.item),
            number("Количество", "Сумма", "СуммаНДС"),
        ]
        out += [vat, number(*s.discounts)]
        if s.price:
            out.append(number("Цена"))
        if s.packaging:
            out += [guid("Упаковка_Key"), number("КоличествоУпаковок")]
        if s.warehouse:
            out.append(guid("Склад_Key"))
        if s.cancelled:
            out.append(flag("Отменено"))
        if s.difference:
            out.append(number("КоличествоДоИзменения", "ЦенаДоИзменения", "СуммаДоИзменения", "СуммаНДСДоИзменения"))
        return out

    def lookup_reads(self) -> list[Read]:
        e, trade = self.env, self.flavour.trade
        kind = text("ТипНоменклатуры") if trade else flag("Услуга")
        goods = [
            e.catalog("items", text(self.code("items")), guid("ЕдиницаИзмерения_Key"), kind),
            e.catalog("units", text("Description")),
        ]
        vat = [e.catalog("vat_rates", text("ПеречислениеСтавкаНДС"), number("Ставка"))] if trade else []
        return [*super().lookup_reads(), *goods, *vat]

    def load(self, lookups: Lookups) -> None:
        super().load(lookups)
        reads = self.lookup_reads()
        self.items = lookups.catalog(reads[5])
        self.units = lookups.catalog(reads[6])
        self.vat_rates = lookups.catalog(reads[7]) if self.flavour.trade else {}

    def lines(self, doc: Row, head: dict[str, Any]) -> list[tuple[Row, dict[str, Any], Money]]:
        """(raw line, its normalised fields, its money) in section order. line_no is 1C's LineNumber; a later
        section's numbers follow the earlier sections' (БП sales keep services in Услуги, numbered from 1)."""
        places = minor_units(head["currency"])
        vat_included = yes(doc, self.flavour.vat_included_field, "totals")
        warehouse, rep = self.warehouse(doc), self.rep(doc)
        out: list[tuple[Row, dict[str, Any], Money]] = []
        offset = 0
        for s in self._sections(doc["_role"]):
            last = 0
            for row in doc["_lines"].get(s.name, []):
                number_ = as_int(row.get("LineNumber"))
                last = max(last, number_)
                money = line_money(row, s, places, vat_included)
                values = self._line(row, s, offset + number_, money)
                values["warehouse_code"] = values["warehouse_code"] or warehouse
                values["sales_rep_code"] = rep
                out.append((row, values, money))
            offset += last
        return out

    def _line(self, row: Row, s: Section, line_no: int, money: Money) -> dict[str, Any]:
        item_ref = row.get(s.item) if s.item.endswith("_Key") else composite_ref(row, s.item, self._items_set())
        item = self.items.get(item_ref or "")
        if item is None:
            raise RecordError(
                f"refers to an item that is not in the published catalog ({item_ref})", "lines.product_code"
            )
        unit_ref = item.get("ЕдиницаИзмерения_Key")
        if s.packaging and is_ref(row.get("Упаковка_Key")):
            unit_ref = row["Упаковка_Key"]
        unit = code_of(self.units, unit_ref, "unit", "lines.unit", "Description")
        line_warehouse = None
        if s.warehouse:
            line_warehouse = code_of(
                self.warehouses, row.get("Склад_Key"), "warehouse", "lines.warehouse_code", self.code("warehouses")
            )
        return {
            "line_no": line_no,
            "kind": "service" if self._service(item, s) else "item",
            "product_code": code(item.get(self.code("items")), "lines.product_code"),
            "quantity": money.quantity,
            "unit": unit,
            "unit_code": unit_code(unit),
            "unit_price": money.unit_price,
            "gross": money.gross,
            "discount": money.discount,
            "net": money.net,
            "vat_rate": self._vat_rate(row),
            "vat": money.vat,
            "warehouse_code": line_warehouse,
        }

    def _items_set(self) -> str:
        return self.env.query(self.lookup_reads()[5]).set

    def _service(self, item: Row, s: Section) -> bool:
        if self.flavour.trade:
            return item.get("ТипНоменклатуры") in SERVICE_TYPES
        return s.name == "Услуги" or yes(item, "Услуга", "lines.kind")

    def _vat_rate(self, row: Row) -> Decimal | None:
        if self.flavour.trade:
            ref = row.get("СтавкаНДС_Key")
            if not is_ref(ref):
                return None
            if ref not in self.vat_rates:
                raise RecordError(
                    f"refers to a VAT rate that is not in the published catalog ({ref})", "lines.vat_rate"
                )
            return catalog_rate(self.vat_rates[ref], self.env.vat_rates, "lines.vat_rate")
        return rate_of(str(row.get("СтавкаНДС") or ""), self.env.vat_rates, "vat_rates", "lines.vat_rate")

    def money(
        self, item: Row, head: dict[str, Any], make: type[InvoiceLine] | type[OrderLine], **extra: Any
    ) -> dict[str, Any]:
        """The document's lines and totals, with local amounts converted at document level."""
        found = self.lines(item, head)
        total = fixed(item.get("СуммаДокумента"), minor_units(head["currency"]), "totals.total")
        doc, local, nets = totals([m for _, _, m in found], total, head["rate"], self.env.local_currency)
        lines = [
            make(**values, net_local=net_local, **{k: f(row) for k, f in extra.items()})
            for (row, values, _), net_local in zip(found, nets, strict=True)
        ]
        return {"totals": doc, "totals_local": local, "lines": lines}


class Invoices(_Goods):
    """Sales (Document_РеализацияТоваровУслуг: `sale`, or `service` when every line is a service), returns
    (Document_ВозвратТоваровОтКлиента / ВозвратТоваровОтПокупателя, with the returned sale) and sales
    corrections (Document_КорректировкаРеализации: `price_difference`)."""

    name = "invoices"
    primary_key = ("number",)
    roles = ("sales", "returns", "corrections")

    def resolve_reads(self) -> list[Read]:
        return [Read(self.flavour.sets["sales"], (*guid("Ref_Key"), *text("Number")), "sales")]

    def resolve(self, rows: list[Row]) -> None:
        original = self.flavour.documents["returns"].original or ""
        sales = self.env.query(self.resolve_reads()[0])
        returns = [row for row in rows if row["_role"] == "returns"]
        refs = [composite_ref(row, original, sales.set) for row in returns]
        if not any(refs):
            return
        numbers = {found["Ref_Key"]: found.get("Number") for found in self.env.odata.by_refs(sales, refs)}
        for row, ref in zip(returns, refs, strict=True):
            if ref is not None:
                row["_original"] = numbers.get(ref)
                row["_resolved"] = row["_original"] or ""

    def map(self, item: Row) -> Invoice | None:
        role = item["_role"]
        if self.deleted(item) or not self.included(item, "invoices", self.flavour.documents[role].operation):
            return None
        head = self.head(item)
        money = self.money(item, head, InvoiceLine)
        kind = KINDS[role]
        if kind == "sale" and money["lines"] and all(line.kind == "service" for line in money["lines"]):
            kind = "service"
        if kind == "return" and "_original" in item and not item["_original"]:
            raise RecordError("the returned sale is not in the published sales set", "original_invoice")
        return Invoice(
            **head,
            **money,
            kind=kind,
            issued_at=timestamp(item.get("Date"), "issued_at", self.tz),
            cancelled=yes(item, "DeletionMark", "cancelled"),
            original_invoice=item.get("_original") if kind == "return" else None,
            sales_rep_code=self.rep(item),
            warehouse_code=self.warehouse(item),
        )


class Orders(_Goods):
    """УТ 11 Document_ЗаказКлиента (status from Статус through `order_statuses`; a line with Отменено is
    closed); БП 3 has no sales order and its Document_СчетНаОплатуПокупателю (never posted, no status) reads
    as `open`."""

    name = "orders"
    primary_key = ("number",)
    roles = ("orders",)

    def postable(self, header: Read) -> bool:
        return self.flavour.orders_posted

    def map(self, item: Row) -> Order | None:
        if self.deleted(item):
            return None
        head = self.head(item)
        cancelled = self._sections("orders")[0].cancelled
        money = self.money(item, head, OrderLine, closed=lambda row: cancelled and yes(row, "Отменено", "lines.closed"))
        status: OrderStatus = "open"
        if yes(item, "DeletionMark", "status"):
            status = "cancelled"
        elif self.flavour.order_status:
            found = self.env.order_statuses.get(str(item.get("Статус") or ""))
            if found is None:
                raise RecordError(
                    f"unknown order status {str(item.get('Статус'))[:40]!r}: map it with the setting order_statuses",
                    "status",
                )
            status = found
        return Order(
            **head,
            **money,
            issued_at=timestamp(item.get("Date"), "issued_at", self.tz),
            status=status,
            warehouse_code=self.warehouse(item),
            sales_rep_code=self.rep(item),
        )
