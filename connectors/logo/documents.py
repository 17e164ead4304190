"""Period-level document streams: orders (ORFICHE/ORFLINE), invoices (INVOICE/STLINE), collections (CLFLINE).

A document item is (header_row, [line_rows]): a page of headers, then all their lines in one
IN (...) query. Lines carry no CAPIBLOCK stamp; a changed line shows through its header.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.logo import codes
from connectors.logo.money import Converters, DocMoney
from connectors.logo.streams import LogoEnv, LogoStream, currency_of, period_column, stamp_columns
from connectors.logo.tables import LogoTables
from connectors.sql import for_refs
from mapping.dates import business_date, required_date
from mapping.errors import RecordError
from mapping.money import FIXED, fixed, rate
from mapping.schema import Collection, Invoice, InvoiceLine, Order, OrderLine, Totals
from mapping.text import code, flag, required_code
from mapping.units import unit_code as to_unit_code

__all__ = ["Collections", "Invoices", "Orders", "movements"]

Item = tuple[Row[Any], list[Row[Any]]]
L = TypeVar("L", InvoiceLine, OrderLine)
_MISSING = object()
_QUANTITY = FIXED[3]
_RATE = FIXED[2]


def _group_lines(rows: Sequence[Row[Any]], lines: Any, ref_index: int = 0) -> list[Item]:
    by_header: dict[int, list[Row[Any]]] = {}
    for line in lines:
        by_header.setdefault(line[ref_index], []).append(line)
    return [(r, by_header.get(r.LOGICALREF, [])) for r in rows]


class _Document(LogoStream):
    per_period = True
    replication_key = "modified"

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        self.currencies = env.currencies
        self.local_currency = env.local_currency
        self.line_kinds = env.line_kinds
        self.unit_codes: dict[str | None, str | None] = {}
        self.converters = Converters(env.currencies, env.local_currency)

    def money(self, r: Row[Any]) -> DocMoney:
        return self.converters.get(r.TRCURR, r.TRRATE)

    def issued_at(self, r: Row[Any]) -> Any:
        d = r.DATE_
        if d is None:
            return None
        h, m, s = codes.unpack_time(r.TIME_)
        try:
            return dt.datetime(d.year, d.month, d.day, h, m, s, tzinfo=self.tz)
        except ValueError:
            raise RecordError(f"TIME_ {r.TIME_!r} is not a valid packed time", "issued_at") from None

    def totals(self, r: Row[Any], money: DocMoney) -> tuple[Totals, Totals]:
        """(document, local) totals. NETTOTAL is Logo's grand total (VAT included); TOTALDISCOUNTED the net."""
        la = money.local_amount
        net_local = r.TOTALDISCOUNTED
        if net_local is None:  # older versions: derive it
            if r.GROSSTOTAL is None or r.TOTALDISCOUNTS is None:
                raise RecordError("missing (no TOTALDISCOUNTED; GROSSTOTAL or TOTALDISCOUNTS is NULL)", "totals.net")
            net_local = r.GROSSTOTAL - r.TOTALDISCOUNTS
        local = Totals(
            gross=la(r.GROSSTOTAL, "totals_local.gross"),
            discount=la(r.TOTALDISCOUNTS, "totals_local.discount"),
            net=la(net_local, "totals_local.net"),
            vat=la(r.TOTALVAT, "totals_local.vat"),
            total=la(r.NETTOTAL, "totals_local.total"),
        )
        if money.local:
            return local, local
        da = money.amount
        doc = Totals(
            gross=da(r.GROSSTOTAL, "totals.gross"),
            discount=da(r.TOTALDISCOUNTS, "totals.discount"),
            net=da(net_local, "totals.net"),
            vat=da(r.TOTALVAT, "totals.vat"),
            total=fixed(r.TRNET, money.places, "totals.total"),
        )
        return doc, local

    def line(self, ln: Row[Any], money: DocMoney, cls: type[L], **extra: Any) -> L:
        """One line; the row unpacks in line_select's column order (the hot loop: no name lookups)."""
        (
            _,
            line_no,
            linetype,
            item_code,
            service_code,
            qty,
            unit,
            price,
            prprice,
            prcurr,
            total,
            distdisc,
            linenet,
            vat_rate,
            vatamnt,
            warehouse,
            rep,
            *_,
        ) = ln
        kind = self.line_kinds.get(linetype)
        if kind is None:
            raise RecordError(f"unknown LINETYPE {linetype!r} (map it with the line_kinds setting)", "lines.kind")
        da = money.amount
        unit = code(unit, "lines.unit")
        unit_code = self.unit_codes.get(unit, _MISSING)
        if unit_code is _MISSING:
            unit_code = self.unit_codes[unit] = to_unit_code(unit)
        return cls(
            line_no=line_no,
            kind=kind,
            product_code=code(service_code if kind == "service" else item_code, "lines.product_code"),
            quantity=_QUANTITY(qty, "lines.quantity"),
            unit=unit,
            unit_code=unit_code,  # type: ignore[arg-type]
            unit_price=money.unit_price(price, prprice, prcurr),
            gross=da(total, "lines.gross"),
            discount=da(distdisc, "lines.discount"),
            net=da(linenet, "lines.net"),
            vat_rate=None if vat_rate is None else _RATE(vat_rate, "lines.vat_rate"),
            vat=da(vatamnt, "lines.vat"),
            net_local=money.local_amount(linenet, "lines.net_local"),
            warehouse_code=None if warehouse is None else self.warehouse_codes(warehouse),
            sales_rep_code=code(rep, "lines.sales_rep_code"),
            **extra,
        )

    def warehouse_codes(self, number: int) -> str:
        return str(number)

    def header_joins(self, t: LogoTables, header: sa.Table) -> Any:
        return header.outerjoin(t.CLCARD, t.CLCARD.c.LOGICALREF == header.c.CLIENTREF).outerjoin(
            t.SLSMAN, t.SLSMAN.c.LOGICALREF == header.c.SALESMANREF
        )

    def header_columns(self, t: LogoTables, h: sa.Table) -> list[Any]:
        c = h.c
        return [
            c.LOGICALREF,
            period_column(t),
            c.FICHENO,
            c.DATE_,
            c.TIME_,
            t.CLCARD.c.CODE.label("CLCODE"),
            t.SLSMAN.c.CODE.label("REPCODE"),
            c.SOURCEINDEX,
            c.CANCELLED,
            c.GROSSTOTAL,
            c.TOTALDISCOUNTS,
            c.TOTALDISCOUNTED,
            c.TOTALVAT,
            c.NETTOTAL,
            c.TRCURR,
            c.TRRATE,
            c.TRNET,
            *stamp_columns(h),
        ]

    def line_select(self, t: LogoTables, line: sa.Table, ref: sa.Column[Any], lineno: sa.Column[Any]) -> sa.Select[Any]:
        c = line.c
        return sa.select(
            ref,
            lineno.label("LINENO"),
            c.LINETYPE,
            t.ITEMS.c.CODE.label("ITEMCODE"),
            t.SRVCARD.c.CODE.label("SRVCODE"),
            c.AMOUNT,
            t.UNITSETL.c.CODE.label("UNIT"),
            c.PRICE,
            c.PRPRICE,
            c.PRCURR,
            c.TOTAL,
            c.DISTDISC,
            c.LINENET,
            c.VAT,
            c.VATAMNT,
            c.SOURCEINDEX,
            t.SLSMAN.c.CODE.label("REPCODE"),
        ).select_from(
            # STOCKREF points at ITEMS, or at SRVCARD on a service line (LINETYPE 4).
            line.outerjoin(t.ITEMS, sa.and_(t.ITEMS.c.LOGICALREF == c.STOCKREF, c.LINETYPE != 4))
            .outerjoin(t.SRVCARD, sa.and_(t.SRVCARD.c.LOGICALREF == c.STOCKREF, c.LINETYPE == 4))
            .outerjoin(t.UNITSETL, t.UNITSETL.c.LOGICALREF == c.UOMREF)
            .outerjoin(t.SLSMAN, t.SLSMAN.c.LOGICALREF == c.SALESMANREF)
        )


class Invoices(_Document):
    """Sales-side INVOICE rows (TRCODE 2, 3, 7, 8, 9, 14) and their STLINE lines; CANCELLED=1 -> cancelled."""

    name = "invoices"
    primary_key = ("number",)

    def table(self, t: LogoTables) -> sa.Table:
        return t.INVOICE

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        return t.INVOICE.c.TRCODE.in_(sorted(self.env.invoice_kinds))

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        i, p = t.INVOICE.c, t.PAYTRANS.c
        due = (
            sa.select(sa.func.min(p.DATE_))
            .where(p.MODULENR == codes.PAYTRANS_INVOICE_MODULE, p.FICHEREF == i.LOGICALREF)
            .scalar_subquery()
        )
        return sa.select(
            *self.header_columns(t, t.INVOICE),
            i.TRCODE,
            i.DOCODE,
            i.DOCTRACKINGNR,
            i.GUID,
            due.label("DUEDATE"),
        ).select_from(self.header_joins(t, t.INVOICE))

    def lines(self, t: LogoTables) -> sa.Select[Any]:
        s = t.STLINE.c
        return self.line_select(t, t.STLINE, s.INVOICEREF, s.INVOICELNNO).order_by(s.INVOICEREF, s.LOGICALREF)

    def related(self, t: LogoTables) -> list[sa.Select[Any]]:
        return [self.lines(t)]

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[Item]:
        refs = [r.LOGICALREF for r in rows]
        return _group_lines(rows, for_refs(conn, self.lines(t), t.STLINE.c.INVOICEREF, refs))

    def map(self, item: Item) -> Invoice:
        r, lines = item
        kind = self.env.invoice_kinds.get(r.TRCODE)
        if kind is None:
            raise RecordError(f"INVOICE.TRCODE {r.TRCODE!r} is not a sales invoice", "kind")
        money = self.money(r)
        totals, totals_local = self.totals(r, money)
        return Invoice(
            number=required_code(r.FICHENO, "number"),
            document_no=code(r.DOCODE, "document_no"),
            kind=kind,
            account_code=required_code(r.CLCODE, "account_code"),
            date=required_date(r.DATE_, "date"),
            issued_at=self.issued_at(r),
            due_date=business_date(r.DUEDATE, "due_date"),
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=totals_local,
            cancelled=flag(r.CANCELLED, "cancelled"),
            original_invoice=code(r.DOCTRACKINGNR, "original_invoice") if kind == "return" else None,
            e_invoice_uuid=code(r.GUID, "e_invoice_uuid"),
            sales_rep_code=code(r.REPCODE, "sales_rep_code"),
            warehouse_code=None if r.SOURCEINDEX is None else str(r.SOURCEINDEX),
            lines=[self.line(ln, money, InvoiceLine) for ln in lines],
        )


class Orders(_Document):
    """Received orders (ORFICHE.TRCODE 1) and their ORFLINE lines."""

    name = "orders"
    primary_key = ("number",)

    def table(self, t: LogoTables) -> sa.Table:
        return t.ORFICHE

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        return t.ORFICHE.c.TRCODE.in_(self.env.sales_order_trcodes)

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        o = t.ORFICHE.c
        return sa.select(*self.header_columns(t, t.ORFICHE), o.STATUS).select_from(self.header_joins(t, t.ORFICHE))

    def lines(self, t: LogoTables) -> sa.Select[Any]:
        o = t.ORFLINE.c
        stmt = self.line_select(t, t.ORFLINE, o.ORDFICHEREF, o.LINENO_).add_columns(o.SHIPPEDAMOUNT, o.CLOSED)
        return stmt.order_by(o.ORDFICHEREF, o.LOGICALREF)

    def related(self, t: LogoTables) -> list[sa.Select[Any]]:
        return [self.lines(t)]

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[Item]:
        refs = [r.LOGICALREF for r in rows]
        return _group_lines(rows, for_refs(conn, self.lines(t), t.ORFLINE.c.ORDFICHEREF, refs))

    def map(self, item: Item) -> Order:
        r, lines = item
        money = self.money(r)
        totals, totals_local = self.totals(r, money)
        order_lines = [
            self.line(
                ln,
                money,
                OrderLine,
                shipped_quantity=_QUANTITY(ln.SHIPPEDAMOUNT, "lines.shipped_quantity"),
                closed=flag(ln.CLOSED, "lines.closed"),
            )
            for ln in lines
        ]
        if flag(r.CANCELLED, "cancelled"):
            status = "cancelled"
        elif order_lines and all(line.closed for line in order_lines):
            status = "closed"  # Logo keeps STATUS as it was; closing is per line
        else:
            status = self.env.order_statuses.get(r.STATUS)  # type: ignore[assignment]
            if status is None:
                raise RecordError(f"unknown ORFICHE.STATUS {r.STATUS!r} (map it with order_statuses)", "status")
        return Order(
            number=required_code(r.FICHENO, "number"),
            account_code=required_code(r.CLCODE, "account_code"),
            date=required_date(r.DATE_, "date"),
            issued_at=self.issued_at(r),
            status=status,  # type: ignore[arg-type]
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=totals_local,
            warehouse_code=None if r.SOURCEINDEX is None else str(r.SOURCEINDEX),
            sales_rep_code=code(r.REPCODE, "sales_rep_code"),
            lines=order_lines,
        )


def movements(t: LogoTables) -> sa.Select[Any]:
    """CLFLINE rows with their account's code, as the collections and the account ledger read them (the ledger
    unpacks the first fourteen columns by position)."""
    c = t.CLFLINE.c
    return sa.select(
        c.LOGICALREF,
        period_column(t),
        c.MODULENR,
        c.TRCODE,
        c.SIGN,
        c.SOURCEFREF,
        c.TRANNO,
        c.LINEEXP,
        c.DATE_,
        t.CLCARD.c.CODE.label("CLCODE"),
        c.AMOUNT,
        c.TRCURR,
        c.TRRATE,
        c.TRNET,
        c.CANCELLED,
        *stamp_columns(t.CLFLINE),
    ).select_from(t.CLFLINE.outerjoin(t.CLCARD, t.CLCARD.c.LOGICALREF == c.CLIENTREF))


class Collections(LogoStream):
    """CLFLINE credit rows (SIGN=1) whose (MODULENR, TRCODE) is a collection per `collection_codes`.

    Invoice postings (MODULENR 4, TRCODE 31..44, sales returns with SIGN=1 too) never match.
    Due date and settled invoices come from the collection's PAYTRANS rows (CROSSREF closing link).
    """

    name = "collections"
    primary_key = ("number",)
    replication_key = "modified"
    per_period = True

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        self.methods = dict(env.collection_codes)
        self.currencies = env.currencies
        self.local_currency = env.local_currency

    def table(self, t: LogoTables) -> sa.Table:
        return t.CLFLINE

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        c = t.CLFLINE.c
        pairs = [sa.and_(m == c.MODULENR, tr == c.TRCODE) for m, tr in sorted(self.methods)]
        return sa.and_(c.SIGN == 1, sa.or_(*pairs) if pairs else sa.false())

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        return movements(t)

    def payments(self, t: LogoTables) -> sa.Select[Any]:
        """The collection's PAYTRANS items, with the invoices their CROSSREF closes (FICHEREF IN ... added)."""
        mine = t.PAYTRANS.alias("CP")
        theirs = t.PAYTRANS.alias("IP")
        cp, ip, inv = mine.c, theirs.c, t.INVOICE.c
        return (
            sa.select(cp.MODULENR, cp.FICHEREF, cp.DATE_, cp.PAYMENTTYPE, inv.FICHENO)
            .select_from(
                mine.outerjoin(theirs, sa.and_(ip.LOGICALREF == cp.CROSSREF, ip.MODULENR == 4)).outerjoin(
                    t.INVOICE, inv.LOGICALREF == ip.FICHEREF
                )
            )
            .where(cp.SIGN == 1, cp.MODULENR != codes.CLFLINE_INVOICE_MODULE)
            .order_by(cp.MODULENR, cp.FICHEREF, inv.FICHENO)
        )

    def related(self, t: LogoTables) -> list[sa.Select[Any]]:
        return [self.payments(t)]

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[Item]:
        stmt = self.payments(t)
        ficheref = stmt.selected_columns.FICHEREF
        found: dict[tuple[int, int], list[Row[Any]]] = {}
        for p in for_refs(conn, stmt, ficheref, [r.SOURCEFREF for r in rows]):
            found.setdefault((p.MODULENR, p.FICHEREF), []).append(p)
        return [(r, found.get((r.MODULENR, r.SOURCEFREF), [])) for r in rows]

    def map(self, item: Item) -> Collection:
        r, pays = item
        method = self.methods.get((r.MODULENR, r.TRCODE))
        if method is None:
            raise RecordError(f"(MODULENR, TRCODE) ({r.MODULENR}, {r.TRCODE}) is not a collection", "method")
        currency = currency_of(self.currencies, r.TRCURR, "currency")
        local = r.TRCURR == codes.LOCAL_CURRENCY_CODE or currency == self.local_currency
        amount_local = fixed(r.AMOUNT, 2, "amount_local")
        # Cheques and notes mature later: their PAYTRANS date is the due date (PAYMENTTYPE 2/3).
        due = next(
            (p.DATE_.date() for p in pays if p.PAYMENTTYPE in codes.PAYTRANS_DEFERRED and p.DATE_ is not None), None
        )
        return Collection(
            number=required_code(r.TRANNO, "number"),
            account_code=required_code(r.CLCODE, "account_code"),
            date=required_date(r.DATE_, "date"),
            amount=amount_local if local else fixed(r.TRNET, 2, "amount"),
            currency=currency,
            rate=rate(1 if local else r.TRRATE, "rate"),  # type: ignore[arg-type]
            amount_local=amount_local,
            method=method,
            due_date=due,
            cancelled=flag(r.CANCELLED, "cancelled"),
            settles=sorted({n for p in pays if (n := code(p.FICHENO, "settles")) is not None}),
        )
