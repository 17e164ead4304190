"""Stock movements: every row of TBLSTHAR, Netsis's stock movements (stok hareketleri), as a StockMovement.

TBLSTHAR holds every quantity that enters or leaves a warehouse: the lines of invoices and dispatch notes, warehouse
transfers (DAT), openings, production (vendor docs: "stok hareket kayıtları, fatura, irsaliye, müstahsil
işlemlerinden kayıt yapılır"). One row is one product into (STHAR_GCKOD 'G') or out of ('C') one warehouse
(DEPO_KODU), its quantity STHAR_GCMIK in the card's first unit (STHAR_GCMIK2 in the line's unit OLCUBR), its date
STHAR_TARIH, its document FISNO and line SIRA, on invoice lines the account code in STHAR_ACIKLAMA (vendor docs).

What a movement is comes from STHAR_HTUR read with the document type STHAR_FTIRSIP (setting `movement_kinds`; a
code no entry reads is kind `other`, sent, its code in `erp_kind`). A warehouse transfer is a row per side: the row
out of one warehouse and the row into the other carry the same FISNO, SIRA and STOK_KODU; each record names the
other side's DEPO_KODU, found per page with one query over the page's transfer documents.

TBLSTHAR has DUZELTMETARIHI but no KAYITTARIHI (scaffold of a live database, vendor/): as the invoices do, a row's
change signal is its document header's stamps (TBLFATUIRS, joined as the invoices stream joins its lines) and, with
`line_stamps`, its own DUZELTMETARIHI. A row without a header (an opening, a production row) has only its own.
The header's cancel flag (where the site keeps one) flags its movements; without one, a cancelled document is
deleted with its lines, and a reconcile sends the deletes. Service cards' rows and the lines of price-difference
invoices move no goods: they are read and left out by name (Excluded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import ClauseElement

from connectors.base import Excluded
from connectors.netsis import codes
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.netsis.settings import NetsisSettings
from connectors.netsis.streams import Item, ScopedStream, raw_code, stamp_since
from connectors.sql import for_refs
from mapping.dates import required_date
from mapping.errors import RecordError
from mapping.money import QUANTS
from mapping.schema import MovementKind, StockMovement
from mapping.text import code
from mapping.units import unit_code

__all__ = ["PRICE_DIFFERENCE", "SERVICE_LINE", "StockMovements", "movement_code", "movement_kind", "transfer_letters"]

SERVICE_LINE = "service line: a service card moves no stock"
PRICE_DIFFERENCE = "price-difference invoice line: moves no goods"
_MISSING = object()
_MEMO_MAX = 100_000
_FIELDS = 21  # select_rows' columns up to CANCELLED


def movement_code(htur: str, ftirsip: str) -> str:
    """The movement's code as erp_kind and the census show it: STHAR_HTUR, with STHAR_FTIRSIP after a colon."""
    return f"{htur}:{ftirsip}" if ftirsip else htur


def movement_kind(settings: NetsisSettings, htur: str, ftirsip: str) -> MovementKind | None:
    """The kind `movement_kinds` gives an STHAR_HTUR on an STHAR_FTIRSIP (the pair first, then the letter alone);
    None when no entry reads it."""
    kinds = settings.movement_kinds
    hit = kinds.get(f"{htur}:{ftirsip}") if ftirsip else None
    return hit if hit is not None else kinds.get(htur)


def transfer_letters(settings: NetsisSettings) -> list[str]:
    """The STHAR_HTUR letters some movement_kinds entry reads as a transfer (their rows have another side)."""
    return sorted({key.split(":")[0] for key, kind in settings.movement_kinds.items() if kind == "transfer"})


def _decimal(value: Any, field: str) -> Decimal:
    """A FLOAT column's value as the Decimal it was written as; a DECIMAL column's as it is; NULL and NaN are errors."""
    if value is None:
        raise RecordError("missing (NULL where a number is required)", field)
    hit = value if type(value) is Decimal else Decimal(repr(float(value)))
    if not hit.is_finite():
        raise RecordError(f"not a finite number: {hit}", field)
    return hit


class StockMovements(ScopedStream):
    name = "stock_movements"
    primary_key = ("document_no", "line_no", "warehouse_code", "direction")

    def __init__(self, env: NetsisEnv) -> None:
        super().__init__(env)
        self.texts: dict[Any, str | None] = {}
        self.units: dict[Any, str | None] = {}
        self.transfers = transfer_letters(env.settings)

    # -- tables, identity, change signal ---------------------------------------------------
    def table(self) -> sa.Table:
        return self.env.tables.STHAR

    def ref(self) -> sa.Column[int]:
        return self.table().c.INCKEYNO

    def key_parts(self, row: Any) -> str:
        return str(row.INCKEYNO)

    def fetch_column(self) -> tuple[sa.Column[Any], Any]:
        return self.ref(), int

    def _header_join(self, header: sa.FromClause) -> sa.ColumnElement[bool]:
        """A line's document header, joined as the invoices stream joins them (number, type, branch, account)."""
        ln, h = self.table().c, header.c
        return sa.and_(
            h.FATIRS_NO == ln.FISNO,
            h.FTIRSIP == ln.STHAR_FTIRSIP,
            h.SUBE_KODU == ln.SUBE_KODU,
            h.CARI_KODU == ln.STHAR_ACIKLAMA,
        )

    def select_rows(self) -> sa.Select[Any]:
        t = self.env.tables
        line, header, item = t.STHAR, t.FATUIRS, t.STSABIT
        ln, h, s = line.c, header.c, item.c
        unit = sa.case((ln.OLCUBR == 2, s.OLCU_BR2), (ln.OLCUBR == 3, s.OLCU_BR3), else_=s.OLCU_BR1)
        flag = t.cancelled(header)
        stamps = [ln.DUZELTMETARIHI.label("LINE_DUZELTMETARIHI")] if self.settings.line_stamps else []
        return sa.select(
            ln.INCKEYNO,
            ln.SUBE_KODU,
            ln.FISNO,
            ln.STHAR_FTIRSIP,
            ln.STHAR_HTUR,
            ln.STHAR_GCKOD,
            ln.STHAR_BGTIP,
            ln.STHAR_TARIH,
            ln.SIRA,
            ln.STOK_KODU,
            s.GRUP_KODU,
            ln.OLCUBR,
            unit.label("UNIT"),
            ln.STHAR_GCMIK,
            ln.STHAR_GCMIK2,
            ln.DEPO_KODU,
            ln.STHAR_ACIKLAMA,
            h.SIRANO,
            h.FTIRSIP,
            h.TIPI,
            (sa.null() if flag is None else flag).label("CANCELLED"),
            h.KAYITTARIHI,
            h.DUZELTMETARIHI,
            *stamps,
        ).select_from(line.outerjoin(header, self._header_join(header)).outerjoin(item, s.STOK_KODU == ln.STOK_KODU))

    def changed_since(self, moment: dt.datetime) -> sa.ColumnElement[bool]:
        """The rows stamped since, and the rows of the documents whose header was. The candidates come first, by
        identity, each from its own index (the line stamp; the numbers of the headers stamped since, then their lines
        by FISNO): tested row by row, the stamps of a joined header would scan the whole table."""
        t = self.env.tables
        header, ln = t.FATUIRS, t.STHAR.c
        recent = header.alias("RECENT")
        numbers = sa.select(recent.c.FATIRS_NO).where(stamp_since(recent, moment))
        other = t.STHAR.alias("CANDIDATE")
        of_documents = sa.select(other.c.INCKEYNO).where(other.c.FISNO.in_(numbers))
        edited = stamp_since(header, moment)
        if not self.settings.line_stamps:
            return sa.and_(ln.INCKEYNO.in_(of_documents), edited)
        of_lines = sa.select(other.c.INCKEYNO).where(moment <= other.c.DUZELTMETARIHI)
        candidates = sa.union(of_lines, of_documents)
        return sa.and_(ln.INCKEYNO.in_(candidates), sa.or_(moment <= ln.DUZELTMETARIHI, edited))

    def _sides(self) -> sa.Select[Any]:
        """The rows of transfer documents, to find each transfer row's other side."""
        o = self.table().c
        return sa.select(o.INCKEYNO, o.SUBE_KODU, o.FISNO, o.SIRA, o.STOK_KODU, o.STHAR_GCKOD, o.DEPO_KODU).where(
            o.STHAR_HTUR.in_(self.transfers or ["-"])
        )

    def statements(self) -> list[ClauseElement]:
        return [*super().statements(), self._sides().where(self.table().c.FISNO.in_(["-"]))]

    def attach(self, conn: sa.Connection, db: Database, rows: Sequence[Row[Any]]) -> list[Item]:
        """Each row; a transfer row with the rows of its document that move the same line the other way."""
        wanted = [r.FISNO for r in rows if raw_code(r.STHAR_HTUR) in self.transfers]
        if not wanted:
            return [Item(db.name, r, []) for r in rows]
        o = self.table().c
        sides: dict[tuple[Any, ...], list[Row[Any]]] = {}
        for side in for_refs(conn, self._sides(), o.FISNO, set(wanted)):
            key = (side.SUBE_KODU, raw_code(side.FISNO), side.SIRA, raw_code(side.STOK_KODU))
            sides.setdefault(key, []).append(side)
        items = []
        for r in rows:
            others: list[Row[Any]] = []
            if raw_code(r.STHAR_HTUR) in self.transfers:
                key = (r.SUBE_KODU, raw_code(r.FISNO), r.SIRA, raw_code(r.STOK_KODU))
                others = [s for s in sides.get(key, []) if s.INCKEYNO != r.INCKEYNO]
            items.append(Item(db.name, r, others))
        return items

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            r = item.row
            line = r.LINE_DUZELTMETARIHI if self.settings.line_stamps else None
            return self.aware(r.KAYITTARIHI, r.DUZELTMETARIHI, line)
        except (AttributeError, TypeError):
            return None

    # -- mapping -----------------------------------------------------------------------------
    def _code(self, value: Any, field: str) -> str | None:
        hit = self.texts.get(value, _MISSING)
        if hit is _MISSING:
            if len(self.texts) >= _MEMO_MAX:
                self.texts.clear()
            hit = self.texts[value] = code(self.text(value), field)
        return hit  # type: ignore[return-value]

    def _unit(self, value: Any) -> tuple[str | None, str | None]:
        unit = self._code(value, "unit")
        ece = self.units.get(unit, _MISSING)
        if ece is _MISSING:
            ece = self.units[unit] = unit_code(unit)
        return unit, ece  # type: ignore[return-value]

    def _other_side(self, item: Item, direction: str) -> str:
        """The warehouse a transfer row's other side moves the same line through."""
        opposite = codes.OUT if direction == "in" else codes.IN
        found = {side.DEPO_KODU for side in item.lines if raw_code(side.STHAR_GCKOD) == opposite}
        if len(found) != 1 or None in found:
            what = "no row" if not found else f"rows of {len(found)} warehouses"
            raise RecordError(
                f"a transfer's other side: {what} of the same FISNO, SIRA and STOK_KODU moving the other way "
                f"(STHAR_GCKOD {opposite})",
                "other_warehouse_code",
            )
        return str(found.pop())

    def map(self, item: Item) -> StockMovement | Excluded:
        # The row unpacks in select_rows' column order (the hot loop: no name lookups).
        (_, _, fisno, ftirsip, htur, gckod, bgtip, day, sira, product, group, olcubr, unit, qty, qty2, depot, account,
         sirano, kind_of_header, tipi, flag) = item.row[:_FIELDS]  # fmt: skip
        settings = self.settings
        if self._code(group, "kind") == settings.service_group:
            return Excluded(SERVICE_LINE)
        if (
            sirano is not None
            and raw_code(kind_of_header) == codes.SALES_INVOICE
            and settings.invoice_tipis.get(tipi) == "price_difference"
        ):
            return Excluded(PRICE_DIFFERENCE)
        htur, ftirsip = raw_code(htur), raw_code(ftirsip)
        if not htur:
            raise RecordError("STHAR_HTUR is missing: the movement's kind is unknown", "erp_kind")
        direction = codes.MOVEMENT_DIRECTIONS.get(raw_code(gckod))
        if direction is None:
            raise RecordError(f"STHAR_GCKOD is {gckod!r}: a movement is G (in) or C (out)", "direction")
        kind = movement_kind(settings, htur, ftirsip) or "other"
        first = _decimal(qty, "quantity")
        quantity = _decimal(qty2, "quantity") if (olcubr or 1) > 1 and qty2 else first
        if quantity < 0:
            raise RecordError(f"STHAR_GCMIK is {quantity}: STHAR_GCKOD gives the direction", "quantity")
        if depot is None:
            raise RecordError("missing", "warehouse_code")
        product_code = self._code(product, "product_code")
        if product_code is None:
            raise RecordError("missing", "product_code")
        number = self._code(fisno, "document_no")
        unit, ece = self._unit(unit)
        invoiced = kind in ("sale", "sale_return") and raw_code(bgtip) == settings.invoice_line_bgtip
        return StockMovement(
            date=required_date(day, "date"),
            kind=kind,
            direction=direction,  # type: ignore[arg-type]
            erp_kind=movement_code(htur, ftirsip),
            document_no=number,
            line_no=sira,
            invoice_number=number if invoiced else None,
            account_code=self._code(account, "account_code"),
            product_code=product_code,
            warehouse_code=str(depot),
            other_warehouse_code=self._other_side(item, direction) if kind == "transfer" else None,
            quantity=quantity.quantize(QUANTS[3], ROUND_HALF_UP),
            unit=unit,
            unit_code=ece,
            cancelled=False if flag is None else self.env.cancelled(flag),
        )
