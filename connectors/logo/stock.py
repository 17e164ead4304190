"""Stock movements (stok hareketleri): every STLINE row that moves goods, as one movement (a transfer as two).

Logo keeps every goods movement as an STLINE row: the lines of material slips (STFICHE: purchase receipts,
dispatch notes, warehouse transfers, scrap and consumption slips, counts) and the lines of invoices
(`INVOICEREF`; on a real install an invoice's lines usually point at its dispatch note as well). `TRCODE` is
the slip type, `IOCODE` the direction, `SOURCEINDEX` the warehouse (a transfer's source) and `DESTINDEX` a
transfer's target warehouse. A transfer (ambar fişi, TRCODE 25) is one row that yields two items, keyed
`<row key>|out` and `<row key>|in`.

Lines carry no CAPIBLOCK stamp: a line's cursor is its header's (the slip's, or the invoice's; the later of the
two when it has both), and an incremental read takes the lines of the headers stamped since the cursor's day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Excluded
from connectors.logo.streams import LogoEnv, LogoStream, changed_since, period_column, stamp_columns
from connectors.logo.tables import LogoTables
from mapping.dates import required_date
from mapping.errors import RecordError
from mapping.money import FIXED
from mapping.schema import MovementKind, StockMovement
from mapping.text import code, flag, required_code
from mapping.units import unit_code as to_unit_code

__all__ = ["StockMovements", "movement_kind"]

Side = Literal["out", "in"] | None
Item = tuple[Row[Any], Side]
GOODS = frozenset({"item", "promotion"})  # the line kinds that move goods (a service, discount or expense does not)
_QUANTITY = FIXED[3]
_MISSING = object()
_SIDES: tuple[Side, Side] = ("out", "in")
_STAMPS = 22  # select_rows' columns before the slip's and the invoice's stamp columns
_CODES = 100_000  # values kept per code cache


def movement_kind(env: LogoEnv, trcode: Any, invoice_trcode: Any) -> tuple[MovementKind | Excluded, str | None]:
    """What an STLINE row is, and the setting that says so. A line of a sales invoice or return of `invoice_kinds`
    is a sale or a sale's return; a line of an invoice that moves no goods (a service, a proforma, a price
    difference: `goods_free_invoices`, or a service or price-difference kind of `invoice_kinds`) is left out;
    any other line reads its TRCODE through `movement_kinds`; a TRCODE none of them names is 'other'."""
    if invoice_trcode is not None:
        invoice = env.invoice_kinds.get(invoice_trcode)
        if invoice == "sale":
            return "sale", "invoice_kinds"
        if invoice == "return":
            return "sale_return", "invoice_kinds"
        if invoice is not None:
            return Excluded(f"a line of a {invoice.replace('_', ' ')} invoice: it moves no goods"), "invoice_kinds"
        if invoice_trcode in env.goods_free_invoices:
            rule = f"a line of an invoice of TRCODE {invoice_trcode} (goods_free_invoices): it moves no goods"
            return Excluded(rule), "goods_free_invoices"
    kind = env.movement_kinds.get(trcode)
    return (kind, "movement_kinds") if kind is not None else ("other", None)


def _stamp(d: Any, h: Any, m: Any, s: Any, tz: Any) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, h or 0, m or 0, s or 0, tzinfo=tz)


class StockMovements(LogoStream):
    name = "stock_movements"
    primary_key = ("document_no", "line_no", "direction")  # the envelope key: 001:01:<STLINE ref>[|out or |in]
    replication_key = "modified"
    per_period = True

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        self._kinds: dict[tuple[Any, Any], tuple[MovementKind | Excluded, str | None]] = {}
        self.unit_codes: dict[str | None, str | None] = {}
        self.units: dict[Any, Any] = {}
        self.accounts: dict[Any, Any] = {}
        self.products: dict[Any, Any] = {}
        self._document: tuple[Any, Any] = (_MISSING, None)
        # The line types that move no goods are not movements at all; NULL and unknown ones are read (a dead letter).
        self.goods_free_lines = sorted(k for k, kind in env.line_kinds.items() if kind not in GOODS)

    def table(self, t: LogoTables) -> sa.Table:
        return t.STLINE

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        linetype = t.STLINE.c.LINETYPE
        return sa.or_(linetype.is_(None), linetype.notin_(self.goods_free_lines))

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        s, f, i = t.STLINE.c, t.STFICHE.c, t.INVOICE.c
        slip_stamps = [c.label("F" + c.name) for c in stamp_columns(t.STFICHE)]
        return sa.select(
            s.LOGICALREF,
            period_column(t),
            s.TRCODE,
            s.IOCODE,
            s.LINETYPE,
            s.DATE_,
            f.LOGICALREF.label("SLIPREF"),
            f.FICHENO.label("SLIPNO"),
            s.STFICHELNNO,
            f.CANCELLED.label("SLIPCANCELLED"),
            i.LOGICALREF.label("INVREF"),
            i.FICHENO.label("INVNO"),
            s.INVOICELNNO,
            i.TRCODE.label("INVTRCODE"),
            i.CANCELLED.label("INVCANCELLED"),
            t.CLCARD.c.CODE.label("CLCODE"),
            t.ITEMS.c.CODE.label("ITEMCODE"),
            s.SOURCEINDEX,
            s.DESTINDEX,
            s.AMOUNT,
            t.UNITSETL.c.CODE.label("UNIT"),
            s.CANCELLED,
            *slip_stamps,
            *stamp_columns(t.INVOICE),
        ).select_from(
            t.STLINE.outerjoin(t.STFICHE, f.LOGICALREF == s.STFICHEREF)
            .outerjoin(t.INVOICE, i.LOGICALREF == s.INVOICEREF)
            .outerjoin(t.CLCARD, t.CLCARD.c.LOGICALREF == s.CLIENTREF)
            .outerjoin(t.ITEMS, t.ITEMS.c.LOGICALREF == s.STOCKREF)
            .outerjoin(t.UNITSETL, t.UNITSETL.c.LOGICALREF == s.UOMREF)
        )

    def _filtered(self, t: LogoTables, stmt: sa.Select[Any], since: dt.datetime | None) -> sa.Select[Any]:
        """The lines of the slips and invoices stamped on or after `since`'s day (lines have no stamp)."""
        stmt = stmt.where(self.where(t))
        if since is None:
            return stmt
        s, f, i = t.STLINE.c, t.STFICHE.c, t.INVOICE.c
        slips = sa.select(f.LOGICALREF).where(changed_since(t.STFICHE, since, self.tz))
        invoices = sa.select(i.LOGICALREF).where(changed_since(t.INVOICE, since, self.tz))
        return stmt.where(sa.or_(s.STFICHEREF.in_(slips), s.INVOICEREF.in_(invoices)))

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[Item]:
        """A transfer's row is two items, out of one warehouse and into the other; any other row is one."""
        items: list[Item] = []
        for r in rows:
            kind = self.kind(r[2], r[13] if r[10] is not None else None)[0]  # TRCODE; INVOICE.TRCODE if any
            if kind == "transfer":
                items.extend((r, side) for side in _SIDES)
            else:
                items.append((r, None))
        return items

    def kind(self, trcode: Any, invoice_trcode: Any) -> tuple[MovementKind | Excluded, str | None]:
        found = self._kinds.get((trcode, invoice_trcode))
        if found is None:
            found = self._kinds[trcode, invoice_trcode] = movement_kind(self.env, trcode, invoice_trcode)
        return found

    # -- keys, cursors, raw rows -------------------------------------------------------------
    def key(self, item: Any) -> str:
        row, side = item
        base = super().key(row)
        return base if side is None else f"{base}|{side}"

    def cursor(self, item: Any) -> dt.datetime | None:
        """The later of the line's slip and invoice stamps (modified, else created)."""
        stamps = item[0][_STAMPS:]
        found: dt.datetime | None = None
        try:
            for at in (0, 8):  # the slip's eight stamp columns, then the invoice's (stamp_columns' order)
                d, h, m, s, cd, ch, cm, cs = stamps[at : at + 8]
                if d is None:
                    d, h, m, s = cd, ch, cm, cs
                if d is not None:
                    when = _stamp(d, h, m, s, self.tz)
                    if found is None or when > found:
                        found = when
        except (TypeError, ValueError):
            return None
        return found

    def raw(self, item: Any) -> dict[str, Any]:
        row, side = item
        return {**dict(row._mapping), "side": side}

    # -- the record ------------------------------------------------------------------------------
    def map(self, item: Item) -> StockMovement | Excluded:
        r, side = item
        # The row unpacks in select_rows' column order (a hot loop: no name lookups).
        (
            _,
            _,
            trcode,
            iocode,
            linetype,
            date,
            slipref,
            slipno,
            slip_line,
            slip_cancelled,
            invref,
            invno,
            invoice_line,
            invoice_trcode,
            invoice_cancelled,
            clcode,
            itemcode,
            source,
            target,
            amount,
            unit,
            line_cancelled,
        ) = r[:_STAMPS]
        if linetype not in self.env.line_kinds:
            raise RecordError(f"unknown LINETYPE {linetype!r} (map it with the line_kinds setting)", "kind")
        on_invoice = invref is not None
        kind, setting = self.kind(trcode, invoice_trcode if on_invoice else None)
        if isinstance(kind, Excluded):
            return kind
        if kind == "transfer":
            if side is None:  # a row read as a transfer before a settings change: never guessed
                raise RecordError(f"TRCODE {trcode!r} is a transfer but the row has no side", "direction")
            direction: Literal["in", "out"] = side
            here, there = (source, target) if side == "out" else (target, source)
            if there is None:
                raise RecordError("missing (NULL DESTINDEX or SOURCEINDEX of a transfer)", "other_warehouse_code")
            other: str | None = str(there)
        else:
            found = self.env.movement_directions.get(iocode)
            if found is None:
                why = f"unknown IOCODE {iocode!r} (map it with the movement_directions setting)"
                raise RecordError(why, "direction")
            direction, here, other = found, source, None
        if here is None:
            raise RecordError("missing (NULL SOURCEINDEX or DESTINDEX)", "warehouse_code")
        quantity = _QUANTITY(amount, "quantity")
        if quantity < 0:
            raise RecordError(f"negative {quantity} (Logo keeps AMOUNT positive; IOCODE gives the way)", "quantity")
        slip = slipref is not None
        cancelled = flag(line_cancelled, "cancelled")
        if slip:
            cancelled = flag(slip_cancelled, "cancelled") or cancelled
        if on_invoice:
            cancelled = flag(invoice_cancelled, "cancelled") or cancelled
        unit = self.codes(self.units, code, unit, "unit")
        unit_code = self.unit_codes.get(unit, _MISSING)
        if unit_code is _MISSING:
            unit_code = self.unit_codes[unit] = to_unit_code(unit)
        document_no = slipno if slip else invno
        if document_no != self._document[0]:  # a document's lines come one after another: checked once
            self._document = (document_no, code(document_no, "document_no"))
        if setting != "invoice_kinds":
            invoice_number = None
        elif invno == document_no:
            invoice_number = self._document[1]
        else:
            invoice_number = code(invno, "invoice_number")
        return StockMovement(
            date=required_date(date, "date"),
            kind=kind,
            direction=direction,
            erp_kind=f"{trcode}:{iocode}",
            document_no=self._document[1],
            line_no=slip_line if slip else invoice_line,
            invoice_number=invoice_number,
            account_code=self.codes(self.accounts, code, clcode, "account_code"),
            product_code=self.codes(self.products, required_code, itemcode, "product_code"),
            warehouse_code=str(here),
            other_warehouse_code=other,
            quantity=quantity,
            unit=unit,
            unit_code=unit_code,  # type: ignore[arg-type]
            cancelled=cancelled,
        )

    @staticmethod
    def codes(cache: dict[Any, Any], read: Any, value: Any, field: str) -> Any:
        """`read(value, field)` once per value (codes repeat over lines); a value it refuses raises each time."""
        found = cache.get(value, _MISSING)
        if found is _MISSING:
            found = read(value, field)
            if len(cache) >= _CODES:
                cache.clear()
            cache[value] = found
        return found
