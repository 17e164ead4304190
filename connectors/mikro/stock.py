"""Stock movements (stock_movements): every row of STOK_HAREKETLERI, one movement each, a transfer two.

Mikro keeps every goods movement as a STOK_HAREKETLERI row: an invoice's lines (linked to their header row in
CARI_HESAP_HAREKETLERI by `sth_fat_uid`), dispatch notes, warehouse entry and exit slips, transfers, production and
count slips. `sth_tip` is the direction (0 in, 1 out, 2 a warehouse transfer: out of `sth_cikis_depo_no` and into
`sth_giris_depo_no`, two movements keyed `<guid>|out` and `<guid>|in`); the kind is the stock_movement_kinds reading
of `sth_evraktip x sth_cins x sth_tip x sth_normal_iade` (stock_kinds.py), `other` where none matches. A line of a
document the invoices stream reads carries that invoice's number and account; a movement of the `sth_cins` in
no_stock_cins (9 Değer Farkı: a price correction) moves no goods and is left out under a named rule, as stock levels
leave it out. `sth_iptal` is a cancelled movement, `sth_hidden` a deleted one.

Incremental on `sth_lastup_date`, and on the header's `cha_lastup_date` (the invoice's number and account come from
there). One SELECT per page (the header and the stock card joined), no look-up per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Excluded, Partition
from connectors.mikro import codes
from connectors.mikro.masters import pointed_unit, unit_factor
from connectors.mikro.streams import SINCE, MikroStream, bit, guid_key, local_since, stamp
from connectors.sql import in_chunks
from mapping.dates import required_date
from mapping.errors import RecordError
from mapping.money import fixed, to_decimal
from mapping.schema import StockMovement
from mapping.text import code, required_code
from mapping.units import unit_code

__all__ = ["NO_GOODS", "StockMovements"]

Side = Literal["in", "out"] | None  # a transfer row's side; None for a row that moves one way
Item = tuple[Row[Any], Side]
# The Excluded rule of a movement whose sth_cins moves no goods.
NO_GOODS: Final = "sth_cins in no_stock_cins: re-prices goods, moves none (as stock levels leave it out)"
_WAREHOUSE = {"in": "sth_giris_depo_no", "out": "sth_cikis_depo_no"}


class _Row(NamedTuple):
    """A row as select_rows() reads it, in its order."""

    GUID: Any
    LASTUP: Any
    sth_iptal: Any
    sth_hidden: Any
    sth_tarih: Any
    sth_tip: Any
    sth_cins: Any
    sth_normal_iade: Any
    sth_evraktip: Any
    sth_evrakno_seri: Any
    sth_evrakno_sira: Any
    sth_satirno: Any
    sth_stok_kod: Any
    sth_cari_cinsi: Any
    sth_cari_kodu: Any
    sth_miktar: Any
    sth_birim_pntr: Any
    sth_giris_depo_no: Any
    sth_cikis_depo_no: Any
    HEAD: Any
    HEAD_LASTUP: Any
    cha_hidden: Any
    cha_evrak_tip: Any
    cha_evrakno_seri: Any
    cha_evrakno_sira: Any
    cha_cinsi: Any
    cha_tip: Any
    cha_normal_Iade: Any
    cha_cari_cins: Any
    cha_kod: Any
    cha_ciro_cari_kodu: Any
    sto_birim1_ad: Any
    sto_birim2_ad: Any
    sto_birim2_katsayi: Any
    sto_birim3_ad: Any
    sto_birim3_katsayi: Any


class StockMovements(MikroStream):
    """One movement per STOK_HAREKETLERI row (a transfer: one per side), kind from stock_movement_kinds."""

    name = "stock_movements"
    primary_key = ("erp_kind", "document_no", "line_no", "direction")
    prefix = "sth"
    replication_key = "modified"
    partitionable = True

    def table(self) -> sa.Table:
        return self.env.tables.STOK_HAREKETLERI

    def partition_clause(self, partition: Partition) -> sa.ColumnElement[bool]:
        # Every row lands in one partition, a NULL or negative sequence too.
        sira = sa.func.abs(sa.func.coalesce(self.col("evrakno_sira"), 0))
        return sira % partition.count == partition.index

    def select_rows(self) -> sa.Select[Any]:
        t = self.env.tables
        s, h, k = t.STOK_HAREKETLERI.c, t.CARI_HESAP_HAREKETLERI.c, t.STOKLAR.c
        named = {
            "GUID": s.sth_Guid.label("GUID"),
            "LASTUP": s.sth_lastup_date.label("LASTUP"),
            # The invoice the line belongs to (sth_fat_uid = its header's cha_Guid), when there is one.
            "HEAD": h.cha_Guid.label("HEAD"),
            "HEAD_LASTUP": h.cha_lastup_date.label("HEAD_LASTUP"),
        }
        tables = {"sth": s, "cha": h, "sto": k}
        # In _Row's order: map() reads a row as a _Row (attribute access on a database row costs ten times more).
        columns = [named.get(name) if name in named else tables[name.split("_")[0]][name] for name in _Row._fields]
        return sa.select(*columns).select_from(
            t.STOK_HAREKETLERI.outerjoin(t.CARI_HESAP_HAREKETLERI, h.cha_Guid == s.sth_fat_uid).outerjoin(
                t.STOKLAR, k.sto_kod == s.sth_stok_kod
            )
        )

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        at = local_since(since, self.tz)
        s = self.table().c
        h = self.env.tables.CARI_HESAP_HAREKETLERI.c
        header_changed = s.sth_fat_uid.in_(sa.select(h.cha_Guid).where(h.cha_lastup_date >= at))
        return sa.or_(s.sth_lastup_date >= at, header_changed)

    def count_select(self) -> sa.Select[Any]:
        """Live movements: a transfer row counts twice (it is two)."""
        tip = self.col("tip")
        counted = sa.func.count() + sa.func.coalesce(sa.func.sum(sa.case((tip == codes.TRANSFER, 1), else_=0)), 0)
        return self._filtered(sa.select(counted).select_from(self.table()), None, live=True)

    def statements(self) -> list[sa.Select[Any]]:
        return [self._filtered(self.select_rows(), SINCE).order_by(self.col("Guid")), self.count_select()]

    def count(self) -> int | None:
        with self.env.engine.connect() as conn:
            return int(conn.execute(self.count_select()).scalar_one())

    # -- items: a transfer row is two ------------------------------------------------------
    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[Item]:
        items: list[Item] = []
        for r in rows:
            if r.sth_tip == codes.TRANSFER:
                items += [(r, "out"), (r, "in")]
            else:
                items.append((r, None))
        return items

    def key(self, item: Item) -> str:
        row, side = item
        return guid_key(row.GUID) if side is None else f"{guid_key(row.GUID)}|{side}"

    def cursor(self, item: Item) -> dt.datetime | None:
        row = item[0]
        stamps = (stamp(row.LASTUP, self.tz), stamp(row.HEAD_LASTUP, self.tz) if row.HEAD is not None else None)
        return max((s for s in stamps if s is not None), default=None)

    def raw(self, item: Item) -> dict[str, Any]:
        row, side = item
        return {"row": dict(row._mapping), "side": side}

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = set(keys)
        guid = self.col("Guid")
        guids = sorted({key.partition("|")[0] for key in keys})
        items: list[Item] = []
        with self.env.engine.connect() as conn:
            for chunk in in_chunks(guids):
                rows = conn.execute(self._filtered(self.select_rows(), None).where(guid.in_(chunk)).order_by(guid))
                items += [item for item in self.attach(conn, rows.all()) if self.key(item) in wanted]
        return items

    # -- mapping ---------------------------------------------------------------------------
    def map(self, item: Item) -> StockMovement | Excluded | None:
        row, side = _Row._make(item[0]), item[1]
        if bit(row.sth_hidden, "sth_hidden"):
            return None
        if row.sth_cins in self.env.no_stock_cins:
            return Excluded(NO_GOODS)
        evraktip, cins, tip, iade = row.sth_evraktip, row.sth_cins, row.sth_tip, row.sth_normal_iade
        direction = side or _direction(tip)
        reading = self.env.stock_kinds.of(evraktip, cins, tip, iade)
        warehouse = _warehouse(row, direction, "warehouse_code")
        other = None
        if side is not None:  # a transfer names the warehouse on its other side
            other = _warehouse(row, "in" if side == "out" else "out", "other_warehouse_code")
        unit, unit_iso, factor = _unit(
            row.sth_birim_pntr,
            row.sto_birim1_ad,
            row.sto_birim2_ad,
            row.sto_birim2_katsayi,
            row.sto_birim3_ad,
            row.sto_birim3_katsayi,
        )
        # sth_miktar is in the base unit; the feed states it in the line's unit, as the invoices stream does.
        quantity = to_decimal(fixed(row.sth_miktar, 6, "quantity") / factor, 3, "quantity")
        invoice_number, account = self._document(row)
        return StockMovement(
            date=required_date(row.sth_tarih, "date"),
            kind=reading.kind if reading is not None else "other",
            direction=direction,
            erp_kind=f"{evraktip}:{cins}:{tip}:{iade}",
            document_no=required_code(
                codes.document_number(self.env.number_format, row.sth_evrakno_seri, row.sth_evrakno_sira),
                "document_no",
            ),
            line_no=_line_no(row.sth_satirno),
            invoice_number=invoice_number,
            account_code=account,
            product_code=required_code(row.sth_stok_kod, "product_code"),
            warehouse_code=warehouse,
            other_warehouse_code=other,
            quantity=quantity,  # type: ignore[arg-type]
            unit=unit,
            unit_code=unit_iso,
            cancelled=bit(row.sth_iptal, "cancelled"),
        )

    def _document(self, row: _Row) -> tuple[str | None, str | None]:
        """(invoice_number, account_code): a line of an invoice the invoices stream reads takes that invoice's number
        and account (for a sale closed to the cash box or bank, the customer in cha_ciro_cari_kodu); any other row
        its own account (sth_cari_kodu where sth_cari_cinsi says it is an account), or none."""
        if row.HEAD is not None and not row.cha_hidden:
            found = self.env.movements.reading(row.cha_evrak_tip, row.cha_cinsi, row.cha_tip, row.cha_normal_Iade)
            if found is not None and found.kind == "invoice":
                if row.cha_cari_cins is None:
                    raise RecordError(
                        "missing (NULL cha_cari_cins on the invoice: posted to an account, a bank or a cash box?)",
                        "account_code",
                    )
                posted = row.cha_kod if row.cha_cari_cins == codes.CARI else row.cha_ciro_cari_kodu
                number = codes.document_number(self.env.number_format, row.cha_evrakno_seri, row.cha_evrakno_sira)
                return required_code(number, "invoice_number"), required_code(posted, "account_code")
        if row.sth_cari_cinsi == codes.CARI:
            return None, code(row.sth_cari_kodu, "account_code")
        return None, None


@lru_cache(maxsize=4096)
def _unit(pointer: Any, name1: Any, name2: Any, factor2: Any, name3: Any, factor3: Any) -> tuple[Any, Any, Decimal]:
    """(unit, its UN/ECE code, base units in one) of the unit a movement's sth_birim_pntr points at, as invoice lines
    read it (a failure raises, and is not cached)."""
    units = ((name1, 1.0), (name2, factor2), (name3, factor3))
    name, factor_value = pointed_unit(pointer, units, "unit")
    factor = unit_factor(factor_value, "quantity")
    unit = code(name, "unit")
    return unit, unit_code(unit) if unit else None, factor


def _direction(tip: Any) -> Literal["in", "out"]:
    if tip == codes.IN:
        return "in"
    if tip == codes.OUT:
        return "out"
    raise RecordError(f"sth_tip {tip!r} is none of 0 (in), 1 (out), 2 (transfer)", "direction")


def _warehouse(row: _Row, side: str, field: str) -> str:
    """The warehouse (DEPOLAR number) on a side of the movement; 0 is Mikro's "none", which a side cannot be."""
    column = _WAREHOUSE[side]
    number = row.sth_giris_depo_no if side == "in" else row.sth_cikis_depo_no
    if type(number) is not int or number <= 0:
        raise RecordError(f"no warehouse on the {side} side ({column} {number!r})", field)
    return str(number)


def _line_no(satir: Any) -> int:
    """The 1-based line number of Mikro's 0-based sth_satirno; NULL (Mikro writes none) is an error."""
    if type(satir) is not int:
        raise RecordError(f"sth_satirno {satir!r} is no line number", "line_no")
    return satir + 1
