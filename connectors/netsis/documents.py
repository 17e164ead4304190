"""Document streams: customer orders (TBLSIPAMAS/TBLSIPATRA) and sales invoices and returns (TBLFATUIRS/TBLSTHAR).

A document is identified by (SUBE_KODU, FTIRSIP, FATIRS_NO, CARI_KODU), Netsis's own key: the
branch is part of it, and purchase-side numbers (a sales return is one) are only unique per
account. Its lines join on the document number, kind and branch, and on the customer code (kept
in STHAR_ACIKLAMA on invoice lines, STHAR_CARIKOD on order lines). A page of headers fetches all
its lines in one IN (...) query per 1000 numbers.

Money: header totals are stored in local currency (BRUTTUTAR, SAT_ISKT and the other discounts,
KDV, GENELTOPLAM) plus the grand total in the document currency (DOVIZTUT), and the feed's local
totals are those figures as the ERP holds them. Lines keep quantity and unit prices per the item's
first unit: gross STHAR_BF and net STHAR_NF in local currency (sites fill one or both), the gross
STHAR_DOVFIAT in the document currency, and chained discount percentages. A line's gross is
quantity x its gross price and its net quantity x its net price where the ERP holds them; the one
it lacks comes from the other through the percentages (rounded half-up per step, as Netsis does).
A foreign line's local net is quantity x STHAR_NF. When no line of the document holds STHAR_NF, the
header's local net is spread over the lines (mapping.money.apportion); when only some do, the others
are converted on their own at the rate. The engine flags a document whose lines do not add up to its
header. The document's rate comes from DOVIZ (rates.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import ClauseElement

from connectors.netsis import codes
from connectors.netsis.rates import ONE, RateBook
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.netsis.streams import SHAPE, Item, ScopedStream, raw_code, stamp_since
from connectors.sql import for_refs
from mapping.dates import business_date, required_date
from mapping.errors import RecordError
from mapping.money import QUANTS, apportion, fixed, minor_units
from mapping.schema import Invoice, InvoiceLine, Order, OrderLine, Totals
from mapping.text import clean, code, required_code
from mapping.units import unit_code

__all__ = ["Invoices", "Orders"]

L = TypeVar("L", InvoiceLine, OrderLine)
_HUNDRED = Decimal(100)
_MISSING = object()
_MEMO_MAX = 200_000
_ZERO = Decimal(0)
_ONE = Decimal(1)
_LINE_FIELDS = 24  # line_select's columns up to PLASIYER_KODU


class DocMoney:
    """One document's currency, rate and rounding."""

    __slots__ = ("currency", "local", "local_places", "places", "q", "q_local", "rate")

    def __init__(self, book: RateBook, code: Any, day: dt.date, local_currency: str) -> None:
        self.currency = book.currency(code, "currency")
        self.local = code == codes.LOCAL_CURRENCY_CODE or self.currency == local_currency
        self.rate = ONE if self.local else book.rate(code, day)
        self.places = minor_units(self.currency)
        self.local_places = minor_units(local_currency)
        self.q = QUANTS[self.places]
        self.q_local = QUANTS[self.local_places]

    def amount(self, value: Decimal) -> Decimal:
        return value.quantize(self.q, ROUND_HALF_UP)

    def amount_local(self, value: Decimal) -> Decimal:
        return value.quantize(self.q_local, ROUND_HALF_UP)

    def to_document(self, value: Decimal) -> Decimal:
        """A local amount in the document currency. round(local / rate) gives back the document amount
        exactly whenever the rate is above 1 (every foreign currency against the lira): the local amount
        was rounded once, and dividing by the rate shrinks that error below half a minor unit."""
        return value if self.local else (value / self.rate).quantize(self.q, ROUND_HALF_UP)

    def totals(self, r: Row[Any]) -> tuple[Totals, Totals]:
        """(document currency, local) totals; the local ones are the ERP's own figures, unmended."""
        lp = self.local_places
        gross = fixed(r.BRUTTUTAR, lp, "totals_local.gross")
        discount = sum(
            (
                fixed(v, lp, "totals_local.discount")
                for v in (r.SAT_ISKT, r.MFAZ_ISKT, r.GEN_ISK1T, r.GEN_ISK2T, r.GEN_ISK3T)
            ),
            Decimal(0).quantize(self.q_local),
        )
        vat = fixed(r.KDV, lp, "totals_local.vat")
        total = fixed(r.GENELTOPLAM, lp, "totals_local.total")
        # Netsis keeps no net column: the net is what the gross leaves after the discounts.
        local = Totals(gross=gross, discount=discount, net=gross - discount, vat=vat, total=total)
        if self.local:
            return local, local
        doc_gross, doc_discount = self.to_document(gross), self.to_document(discount)
        document = Totals(
            gross=doc_gross,
            discount=doc_discount,
            net=doc_gross - doc_discount,
            vat=self.to_document(vat),
            # An empty DOVIZTUT (a document saved without its currency total) falls back to the conversion.
            total=fixed(r.DOVIZTUT, self.places, "totals.total") if r.DOVIZTUT else self.to_document(total),
        )
        return document, local


class _Document(ScopedStream):
    """What orders and invoices share: header/line tables, identity, change detection, lines and money."""

    def __init__(self, env: NetsisEnv) -> None:
        super().__init__(env)
        self.unit_codes: dict[Any, str | None] = {}
        self.exact: dict[float, Decimal] = {}
        self.texts: dict[Any, str | None] = {}
        self.book = env.rate_book()

    def start(self) -> None:
        self.book = self.env.rate_book()

    def statements(self) -> list[ClauseElement]:
        return [*super().statements(), self.line_select(), self.book.select(1, SHAPE.year)]

    def lines_table(self) -> sa.Table:
        raise NotImplementedError

    def line_customer(self) -> sa.Column[str]:
        """The line column holding the document's customer code."""
        raise NotImplementedError

    def kinds(self) -> tuple[str, ...]:
        """The FTIRSIP values the stream's documents have (their lines carry the same in STHAR_FTIRSIP)."""
        raise NotImplementedError

    def line_columns(self) -> list[sa.ColumnElement[Any]]:
        return []

    # -- identity, paging, change detection ------------------------------------------------
    def ref(self) -> sa.Column[int]:
        return self.table().c.SIRANO

    def key_parts(self, row: Any) -> str:
        # The number before the customer code: codes may hold ':', document numbers do not.
        return f"{row.SUBE_KODU}:{raw_code(row.FTIRSIP)}:{raw_code(row.FATIRS_NO)}:{raw_code(row.CARI_KODU)}"

    def fetch_column(self) -> tuple[sa.Column[Any], Any]:
        return self.table().c.FATIRS_NO, lambda rest: rest.split(":", 3)[2]

    def _same_document(self, line: sa.Table) -> list[sa.ColumnElement[bool]]:
        h, ln = self.table().c, line.c
        return [
            ln.FISNO == h.FATIRS_NO,
            ln.STHAR_FTIRSIP == h.FTIRSIP,
            ln.SUBE_KODU == h.SUBE_KODU,
            self.line_customer() == h.CARI_KODU,
        ]

    def changed_since(self, moment: dt.datetime) -> sa.ColumnElement[bool]:
        header = stamp_since(self.table(), moment)
        if not self.settings.line_stamps:
            return header
        line = self.lines_table()
        edited = sa.exists().where(*self._same_document(line), moment <= line.c.DUZELTMETARIHI)
        # The numbers of the lines edited since, one pass over the stamp (indexed), before the correlated EXISTS:
        # alone, the EXISTS is one look-up per header of the whole table.
        recent = self.table().c.FATIRS_NO.in_(sa.select(line.c.FISNO).where(moment <= line.c.DUZELTMETARIHI))
        return sa.or_(header, sa.and_(recent, edited))  # an edited line re-reads its whole document

    def header_columns(self) -> list[sa.ColumnElement[Any]]:
        h = self.table().c
        flag = self.env.tables.cancelled(self.table())
        return [
            h.SIRANO,
            h.SUBE_KODU,
            h.FTIRSIP,
            h.FATIRS_NO,
            h.CARI_KODU,
            h.TARIH,
            h.TIPI,
            h.BRUTTUTAR,
            h.SAT_ISKT,
            h.MFAZ_ISKT,
            h.GEN_ISK1T,
            h.GEN_ISK2T,
            h.GEN_ISK3T,
            h.KDV,
            h.GENELTOPLAM,
            h.DOVIZTIP,
            h.DOVIZTUT,
            h.DOVBAZTAR,
            h.PLA_KODU,
            h.TOPDEPO,
            h.ACIKLAMA,
            h.ONAYTIPI,
            (sa.null() if flag is None else flag).label("CANCELLED"),
            h.KAYITTARIHI,
            h.DUZELTMETARIHI,
        ]

    # -- lines -------------------------------------------------------------------------------
    def line_select(self) -> sa.Select[Any]:
        line, item = self.lines_table(), self.env.tables.STSABIT
        ln, s = line.c, item.c
        unit = sa.case((ln.OLCUBR == 2, s.OLCU_BR2), (ln.OLCUBR == 3, s.OLCU_BR3), else_=s.OLCU_BR1)
        stamps = [ln.DUZELTMETARIHI] if self.settings.line_stamps else []
        return (
            sa.select(
                ln.FISNO,
                ln.STHAR_FTIRSIP,
                ln.SUBE_KODU,
                self.line_customer().label("CUSTOMER"),
                ln.INCKEYNO,
                ln.SIRA,
                ln.STOK_KODU,
                s.GRUP_KODU,
                ln.OLCUBR,
                unit.label("UNIT"),
                ln.STHAR_GCMIK,
                ln.STHAR_GCMIK2,
                ln.STHAR_BF,
                ln.STHAR_NF,
                ln.STHAR_DOVFIAT,
                ln.STHAR_SATISK,
                ln.STHAR_SATISK2,
                ln.STRA_SATISK3,
                ln.STRA_SATISK4,
                ln.STRA_SATISK5,
                ln.STRA_SATISK6,
                ln.STHAR_KDV,
                ln.DEPO_KODU,
                ln.PLASIYER_KODU,
                *stamps,
                *self.line_columns(),
            )
            .select_from(line.outerjoin(item, s.STOK_KODU == ln.STOK_KODU))
            .where(ln.STHAR_FTIRSIP.in_(self.kinds()))
            .order_by(ln.INCKEYNO)
        )

    def attach(self, conn: sa.Connection, db: Database, rows: Sequence[Row[Any]]) -> list[Item]:
        ln = self.lines_table().c
        grouped: dict[tuple[Any, ...], list[Row[Any]]] = {}
        for line in for_refs(conn, self.line_select(), ln.FISNO, [r.FATIRS_NO for r in rows]):
            identity = (line.SUBE_KODU, raw_code(line.STHAR_FTIRSIP), raw_code(line.FISNO), raw_code(line.CUSTOMER))
            grouped.setdefault(identity, []).append(line)
        self.book.prepare((r.DOVIZTIP, self._rate_day(r)) for r in rows)
        return [
            Item(
                db.name,
                r,
                grouped.get((r.SUBE_KODU, raw_code(r.FTIRSIP), raw_code(r.FATIRS_NO), raw_code(r.CARI_KODU)), []),
            )
            for r in rows
        ]

    @staticmethod
    def _rate_day(r: Row[Any]) -> dt.date | None:
        day = r.DOVBAZTAR or r.TARIH
        return None if day is None else day.date()

    def money(self, r: Row[Any]) -> DocMoney:
        day = self._rate_day(r)
        if day is None:
            raise RecordError("missing", "date")
        return DocMoney(self.book, r.DOVIZTIP, day, self.settings.local_currency)

    def _decimal(self, value: Any, field: str) -> Decimal:
        """A FLOAT column's value as the Decimal it was written as (its shortest repr), unrounded; a DECIMAL
        column's (newer releases use decimal(28, 8)) as it is. NULL, NaN and infinity are RecordErrors: a
        quantity or price the line does not hold is never 0, and NaN would pass through rounding."""
        if type(value) is Decimal:
            hit = value
        else:
            hit = self.exact.get(value)
            if hit is None:
                if value is None:
                    raise RecordError("missing (NULL where a number is required)", field)
                if len(self.exact) >= _MEMO_MAX:
                    self.exact.clear()
                hit = Decimal(repr(float(value)))
                if hit.is_finite():
                    self.exact[value] = hit
        if not hit.is_finite():
            raise RecordError(f"not a finite number: {hit}", field)
        return hit

    def _code(self, value: Any, field: str) -> str | None:
        """Repaired text of a code, read as an identifier (mapping.text.code); memoised, since lines repeat a few
        hundred values (a failure is not remembered: it raises)."""
        hit = self.texts.get(value, _MISSING)
        if hit is _MISSING:
            if len(self.texts) >= _MEMO_MAX:
                self.texts.clear()
            hit = self.texts[value] = code(self.text(value), field)
        return hit  # type: ignore[return-value]

    def line(self, ln: Row[Any], money: DocMoney, number: int, cls: type[L], **extra: Any) -> L:
        """One line: gross and net from the prices the ERP holds (see the module docstring), then VAT.

        The row unpacks in line_select's column order (the hot loop: no name lookups). A foreign line without
        STHAR_NF gets net_local None here: spread() gives it one."""
        (_, _, _, _, _, sira, item, group, olcubr, unit, qty, qty2, bf, nf, dovfiat, *discounts, kdv, depot, rep) = ln[
            :_LINE_FIELDS
        ]
        # Prices and discounts a site leaves empty (NULL or 0) are not held: the truth tests below skip them.
        d = self._decimal
        first_qty = d(qty, "lines.quantity")
        net_local: Decimal | None = None
        if money.local:
            price = d(bf, "lines.unit_price") if bf else None
            net = money.amount(first_qty * d(nf, "lines.net")) if nf else None
        else:
            # A foreign line that kept no foreign price: its local price at the rate.
            if dovfiat:
                price = d(dovfiat, "lines.unit_price")
            else:
                price = d(bf, "lines.unit_price") / money.rate if bf else None
            net = None if price is not None or not nf else money.amount(first_qty * d(nf, "lines.net") / money.rate)
            if nf:
                net_local = money.amount_local(first_qty * d(nf, "lines.net_local"))
        if price is not None:
            gross = money.amount(first_qty * price)
            if net is None:
                net = gross
                for pct in discounts:
                    if pct:
                        net -= money.amount(net * d(pct, "lines.discount") / _HUNDRED)
        elif net is not None:
            # Only the net price is held: the gross (price) is what the percentages took it (the net price) from.
            whole = _ONE
            for pct in discounts:
                if pct:
                    whole *= _ONE - d(pct, "lines.discount") / _HUNDRED
            if not whole:
                whole = _ONE  # a 100 % discount left no trace of the gross
            gross = money.amount(net / whole)
            price = (d(nf, "lines.net") if money.local else d(nf, "lines.net") / money.rate) / whole
        else:
            gross = net = money.amount(_ZERO)  # no price at all: the header's figures show what is missing
            price = _ZERO
        if money.local:
            net_local = net
        vat_rate = None if kdv is None else fixed(kdv, 2, "lines.vat_rate")
        vat = money.amount(net * vat_rate / _HUNDRED) if vat_rate else money.amount(_ZERO)
        if olcubr and olcubr > 1 and qty2:
            quantity = d(qty2, "lines.quantity")
            per_unit = price * first_qty / quantity  # the line's unit price, not the first unit's
        else:
            quantity, per_unit = first_qty, price
        unit = self._code(unit, "lines.unit")
        ece = self.unit_codes.get(unit, _MISSING)
        if ece is _MISSING:
            ece = self.unit_codes[unit] = unit_code(unit)
        return cls(
            line_no=sira if sira is not None else number,
            kind="service" if self._code(group, "lines.kind") == self.settings.service_group else "item",
            product_code=self._code(item, "lines.product_code"),
            quantity=quantity.quantize(QUANTS[3], ROUND_HALF_UP),
            unit=unit,
            unit_code=ece,  # type: ignore[arg-type]
            unit_price=per_unit.quantize(QUANTS[4], ROUND_HALF_UP),
            gross=gross,
            discount=gross - net,
            net=net,
            vat_rate=vat_rate,
            vat=vat,
            net_local=net_local,
            warehouse_code=None if depot is None else str(depot),
            sales_rep_code=self._code(rep, "lines.sales_rep_code"),
            **extra,
        )

    @staticmethod
    def spread(lines: Sequence[L], local: Totals, money: DocMoney) -> None:
        """Local nets of a foreign document's lines without STHAR_NF. When no line holds one, the header's local
        net (the ERP's figure) is spread over the lines by their nets. When some do, the others are converted on
        their own (net x rate): what the header holds beyond its lines stays a difference the engine flags, never
        a share some lines absorb."""
        missing = [line for line in lines if line.net_local is None]
        if len(missing) == len(lines):
            shares = apportion(local.net, [line.net for line in lines], money.local_places)
            for line, share in zip(lines, shares, strict=True):
                line.net_local = share
            return
        for line in missing:
            line.net_local = money.amount_local(line.net * money.rate)

    def document(self, item: Item, cls: type[L], **line_extra: Any) -> tuple[dict[str, Any], list[L]]:
        """The header's fields and the lines, with every line's local net (the ERP's, or as spread() gives it)."""
        r = item.row
        money = self.money(r)
        lines = [
            self.line(ln, money, n, cls, **{k: f(ln) for k, f in line_extra.items()})
            for n, ln in enumerate(item.lines, start=1)
        ]
        totals, totals_local = money.totals(r)
        if not money.local:
            self.spread(lines, totals_local, money)
        return self.header_fields(r, money, totals, totals_local), lines

    def header_fields(self, r: Row[Any], money: DocMoney, totals: Totals, totals_local: Totals) -> dict[str, Any]:
        text = self.text
        return {
            "number": required_code(text(r.FATIRS_NO), "number"),
            "account_code": required_code(text(r.CARI_KODU), "account_code"),
            "date": required_date(r.TARIH, "date"),
            "currency": money.currency,
            "rate": money.rate,
            "totals": totals,
            "totals_local": totals_local,
            "warehouse_code": None if r.TOPDEPO is None else str(r.TOPDEPO),
            "sales_rep_code": code(text(r.PLA_KODU), "sales_rep_code"),
        }


class Invoices(_Document):
    """Sales invoices (FTIRSIP 1 without return lines) and sales returns (FTIRSIP 2 with STHAR_HTUR 'L'
    lines). Purchase invoices, purchase returns (FTIRSIP 1 with 'L' lines) and dispatches never match."""

    name = "invoices"
    primary_key = ("number",)

    def table(self) -> sa.Table:
        return self.env.tables.FATUIRS

    def lines_table(self) -> sa.Table:
        return self.env.tables.STHAR

    def line_customer(self) -> sa.Column[str]:
        return self.env.tables.STHAR.c.STHAR_ACIKLAMA

    def kinds(self) -> tuple[str, ...]:
        return (codes.SALES_INVOICE, codes.PURCHASE_INVOICE)

    def has_return_lines(self) -> sa.ColumnElement[bool]:
        """The document has lines of STHAR_HTUR `return_line_code`."""
        line = self.lines_table()
        return sa.exists().where(*self._same_document(line), self.settings.return_line_code == line.c.STHAR_HTUR)

    def where(self) -> sa.ColumnElement[bool]:
        h = self.table().c
        has_return_lines = self.has_return_lines()
        return sa.or_(
            sa.and_(h.FTIRSIP == codes.SALES_INVOICE, ~has_return_lines),
            sa.and_(h.FTIRSIP == codes.PURCHASE_INVOICE, has_return_lines),
        )

    def select_rows(self) -> sa.Select[Any]:
        h = self.table().c
        return sa.select(*self.header_columns(), h.ODEMETARIHI, h.GIB_FATIRS_NO)

    def map(self, item: Item) -> Invoice:
        r = item.row
        header, lines = self.document(item, InvoiceLine)
        if raw_code(r.FTIRSIP) == codes.PURCHASE_INVOICE:
            kind = "return"
        else:
            tipi = self.settings.invoice_tipis.get(r.TIPI)
            if tipi is None:
                raise RecordError(f"TIPI {r.TIPI!r} is not in the invoice_tipis setting (map it)", "kind")
            if tipi == "price_difference":
                kind = "price_difference"
            elif lines and all(line.kind == "service" for line in lines):
                kind = "service"
            else:
                kind = "sale"
        return Invoice(
            **header,
            document_no=code(r.GIB_FATIRS_NO, "document_no"),
            kind=kind,  # type: ignore[arg-type]
            due_date=business_date(r.ODEMETARIHI, "due_date"),
            cancelled=self.env.cancelled(r.CANCELLED),
            # By convention the return's description holds the invoice it returns (README): free text, cleaned.
            original_invoice=clean(self.text(r.ACIKLAMA), field="original_invoice") if kind == "return" else None,
            lines=lines,
        )


class Orders(_Document):
    """Customer orders (FTIRSIP 6). Status: the cancel flag -> cancelled; every line closed (STHAR_HTUR =
    closed_line_code) -> closed; else the approval code ONAYTIPI per `order_statuses`."""

    name = "orders"
    primary_key = ("number",)

    def table(self) -> sa.Table:
        return self.env.tables.SIPAMAS

    def lines_table(self) -> sa.Table:
        return self.env.tables.SIPATRA

    def line_customer(self) -> sa.Column[str]:
        return self.env.tables.SIPATRA.c.STHAR_CARIKOD

    def kinds(self) -> tuple[str, ...]:
        return (codes.CUSTOMER_ORDER,)

    def where(self) -> sa.ColumnElement[bool]:
        return self.table().c.FTIRSIP == codes.CUSTOMER_ORDER

    def select_rows(self) -> sa.Select[Any]:
        return sa.select(*self.header_columns())

    def line_columns(self) -> list[sa.ColumnElement[Any]]:
        ln = self.lines_table().c
        return [ln.FIRMA_DOVTUT, ln.STHAR_HTUR]

    def _shipped(self, ln: Row[Any]) -> Decimal:
        """Delivered quantity (FIRMA_DOVTUT, first unit: 1 src) in the line's unit."""
        field = "lines.shipped_quantity"
        done = self._decimal(ln.FIRMA_DOVTUT, field)
        if (ln.OLCUBR or 1) > 1 and ln.STHAR_GCMIK2 and ln.STHAR_GCMIK:
            done = done * self._decimal(ln.STHAR_GCMIK2, field) / self._decimal(ln.STHAR_GCMIK, field)
        return done.quantize(QUANTS[3], ROUND_HALF_UP)

    def _closed(self, ln: Row[Any]) -> bool:
        return (ln.STHAR_HTUR or "").strip() == self.settings.closed_line_code

    def map(self, item: Item) -> Order:
        r = item.row
        header, lines = self.document(item, OrderLine, shipped_quantity=self._shipped, closed=self._closed)
        if self.env.cancelled(r.CANCELLED):
            status = "cancelled"
        elif lines and all(line.closed for line in lines):
            status = "closed"
        else:
            status = self.settings.order_statuses.get((r.ONAYTIPI or "").strip())  # type: ignore[assignment]
            if status is None:
                raise RecordError(f"unknown ONAYTIPI {r.ONAYTIPI!r} (add it to the order_statuses setting)", "status")
        return Order(**header, status=status, lines=lines)  # type: ignore[arg-type]
