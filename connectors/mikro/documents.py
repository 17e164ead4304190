"""Invoices and collections: rows of CARI_HESAP_HAREKETLERI, invoice lines in STOK_HAREKETLERI.

An invoice is its cha_satir_no = 0 row plus its other rows of the same document (service invoices
keep one row per service) and the STOK_HAREKETLERI lines linked by sth_fat_uid. A changed row or
line re-reads the whole document. Document keys are Mikro's document identity
(cha_evrak_tip:seri:sira), which survives a document being deleted and entered again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.mikro import codes
from connectors.mikro.masters import unit_factor
from connectors.mikro.money import DocMoney
from connectors.mikro.streams import MikroStream, local_since, stamp
from connectors.sql import for_refs, in_chunks, keyset_chunks
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed, rate, to_decimal, unit_price
from mapping.schema import Collection, Invoice, InvoiceLine, Totals
from mapping.text import clean, required
from mapping.units import unit_code

__all__ = ["Collections", "Invoices", "identity"]

Item = tuple[Row[Any], list[Row[Any]], list[Row[Any]]]
_VAT = tuple(f"cha_vergi{n}" for n in range(1, 11))
_DISCOUNTS = tuple(f"cha_ft_iskonto{n}" for n in range(1, 7))


def identity(row: Any) -> tuple[int, str, int]:
    return (row.cha_evrak_tip, (row.cha_evrakno_seri or "").strip(), row.cha_evrakno_sira)


def _parse(key: str) -> tuple[int, str, int, int] | None:
    """(evrak_tip, seri, sira, satir_no) of "tip:seri:sira[:satir]" keys; None if malformed."""
    parts = key.split(":")
    if len(parts) not in (3, 4) or not all(p.lstrip("-").isdigit() for p in (parts[0], parts[2], *parts[3:])):
        return None
    return int(parts[0]), parts[1], int(parts[2]), int(parts[3]) if len(parts) == 4 else 0


class _Movements(MikroStream):
    """Rows of CARI_HESAP_HAREKETLERI, partitioned by document number."""

    prefix = "cha"
    replication_key = "modified"
    partitionable = True  # cha_evrakno_sira % count: every row of a document lands in the same partition

    def table(self) -> sa.Table:
        return self.env.tables.CARI_HESAP_HAREKETLERI

    def partition_clause(self, partition: Partition) -> sa.ColumnElement[bool]:
        return self.col("evrakno_sira") % partition.count == partition.index

    def columns(self) -> list[Any]:
        c = self.table().c
        return [
            c.cha_Guid.label("GUID"),
            c.cha_lastup_date.label("LASTUP"),
            c.cha_iptal,
            c.cha_hidden,
            c.cha_evrak_tip,
            c.cha_evrakno_seri,
            c.cha_evrakno_sira,
            c.cha_satir_no,
            c.cha_tarihi,
            c.cha_tip,
            c.cha_cinsi,
            c.cha_belge_no,
            c.cha_satici_kodu,
            c.cha_cari_cins,
            c.cha_kod,
            c.cha_ciro_cari_kodu,
            c.cha_d_cins,
            c.cha_d_kur,
            c.cha_kasa_hizmet,
            c.cha_kasa_hizkod,
            c.cha_miktari,
            c.cha_meblag,
            c.cha_aratoplam,
            sum((c[n] for n in _DISCOUNTS[1:]), c[_DISCOUNTS[0]]).label("DISCOUNT"),
            sum((c[n] for n in _VAT[1:]), c[_VAT[0]]).label("VAT"),
            c.cha_vergipntr,
            c.cha_vade,
            c.cha_uuid,
        ]

    def select_rows(self) -> sa.Select[Any]:
        return sa.select(*self.columns())

    def account_code(self, r: Any) -> str:
        # An invoice closed to cash or bank (cha_tpoz 1) posts to the cash box or bank in cha_kod;
        # the customer is only in cha_ciro_cari_kodu.
        code = r.cha_kod if r.cha_cari_cins == codes.CARI else r.cha_ciro_cari_kodu
        return required(code, "account_code", 100)

    def number(self, r: Any) -> str:
        return required(
            codes.document_number(self.env.number_format, r.cha_evrakno_seri, r.cha_evrakno_sira), "number", 100
        )

    def row_key(self, row: Any) -> str:
        raise NotImplementedError

    def live_keys(self) -> Iterator[Sequence[str]]:
        guid = self.col("Guid")
        base = self._filtered(sa.select(*self.columns()[:8]), None, live=True)

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(guid > last)).order_by(guid)

        for rows in keyset_chunks(self.env.engine, page, "GUID", max(self.env.chunk_size, 5000)):
            yield [self.row_key(row) for row in rows]

    def fetch_rows(self, conn: sa.Connection, wanted: set[tuple[int, str, int, int]]) -> list[Row[Any]]:
        """Rows of the stream (its filter applied) whose (tip, seri, sira, satir) is wanted."""
        rows: list[Row[Any]] = []
        sira = self.col("evrakno_sira")
        for chunk in in_chunks(sorted({w[2] for w in wanted})):
            stmt = self._filtered(self.select_rows(), None).where(sira.in_(chunk)).order_by(self.col("Guid"))
            rows.extend(r for r in conn.execute(stmt) if (*identity(r), r.cha_satir_no) in wanted)
        return rows


class Invoices(_Movements):
    """Sales invoices (cha_evrak_tip 63, cha_normal_Iade 0) and sales returns (cha_evrak_tip 0,
    cha_normal_Iade 1, a credit: cha_tip 1), with their lines; cha_iptal -> cancelled."""

    name = "invoices"
    primary_key = ("number",)

    def _documents(self, t: sa.Table) -> sa.ColumnElement[bool]:
        c = t.c
        return sa.or_(
            sa.and_(c.cha_evrak_tip == codes.SALES_INVOICE, c.cha_normal_Iade == 0),
            sa.and_(c.cha_evrak_tip == codes.PURCHASE_INVOICE, c.cha_normal_Iade == 1),
        )

    def where(self) -> sa.ColumnElement[bool]:
        return sa.and_(self.col("satir_no") == 0, self._documents(self.table()))

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        at = local_since(since, self.tz)
        h = self.table().c
        other = self.table().alias("SIBLING")
        o = other.c
        s = self.env.tables.STOK_HAREKETLERI.c
        row_changed = sa.exists().where(
            o.cha_evrak_tip == h.cha_evrak_tip,
            o.cha_evrakno_seri == h.cha_evrakno_seri,
            o.cha_evrakno_sira == h.cha_evrakno_sira,
            o.cha_satir_no > 0,
            o.cha_lastup_date >= at,
        )
        line_changed = sa.exists().where(s.sth_fat_uid == h.cha_Guid, s.sth_lastup_date >= at)
        return sa.or_(h.cha_lastup_date >= at, row_changed, line_changed)

    def line_select(self) -> sa.Select[Any]:
        t = self.env.tables
        s, k = t.STOK_HAREKETLERI.c, t.STOKLAR.c
        return (
            sa.select(
                s.sth_fat_uid,
                s.sth_satirno,
                s.sth_stok_kod,
                s.sth_cins,
                s.sth_miktar,
                s.sth_birim_pntr,
                s.sth_birimfiyat,
                s.sth_tutar,
                sum((s[f"sth_iskonto{n}"] for n in range(2, 7)), s.sth_iskonto1).label("DISCOUNT"),
                s.sth_vergi_pntr,
                s.sth_vergi,
                s.sth_tip,
                s.sth_giris_depo_no,
                s.sth_cikis_depo_no,
                s.sth_plasiyer_kodu,
                s.sth_har_doviz_kuru,
                s.sth_lastup_date,
                s.sth_hidden,
                k.sto_birim1_ad,
                k.sto_birim2_ad,
                k.sto_birim2_katsayi,
                k.sto_birim3_ad,
                k.sto_birim3_katsayi,
            )
            .select_from(t.STOK_HAREKETLERI.outerjoin(t.STOKLAR, k.sto_kod == s.sth_stok_kod))
            .order_by(s.sth_fat_uid, s.sth_satirno)
        )

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[Item]:
        c, s = self.table().c, self.env.tables.STOK_HAREKETLERI.c
        siblings: dict[tuple[int, str, int], list[Row[Any]]] = {}
        stmt = (
            sa.select(*self.columns())
            .where(c.cha_satir_no > 0, self._documents(self.table()))
            .order_by(c.cha_evrakno_sira, c.cha_satir_no)
        )
        wanted = {identity(r) for r in rows}
        for row in for_refs(conn, stmt, c.cha_evrakno_sira, [r.cha_evrakno_sira for r in rows]):
            if identity(row) in wanted:
                siblings.setdefault(identity(row), []).append(row)
        lines: dict[str, list[Row[Any]]] = {}
        for line in for_refs(conn, self.line_select(), s.sth_fat_uid, [r.GUID for r in rows]):
            lines.setdefault(str(line.sth_fat_uid).lower(), []).append(line)
        return [(r, siblings.get(identity(r), []), lines.get(str(r.GUID).lower(), [])) for r in rows]

    def row_key(self, row: Any) -> str:
        tip, seri, sira = identity(row)
        return f"{tip}:{seri}:{sira}"

    def key(self, item: Item) -> str:
        return self.row_key(item[0])

    def cursor(self, item: Item) -> dt.datetime | None:
        head, others, lines = item
        stamps = [stamp(r.LASTUP, self.tz) for r in (head, *others)]
        stamps += [stamp(line.sth_lastup_date, self.tz) for line in lines]
        return max((s for s in stamps if s is not None), default=None)

    def raw(self, item: Item) -> dict[str, Any]:
        head, others, lines = item
        return {
            "header": dict(head._mapping),
            "rows": [dict(r._mapping) for r in others],
            "lines": [dict(line._mapping) for line in lines],
        }

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = {parsed for key in keys if (parsed := _parse(key)) is not None}
        with self.env.engine.connect() as conn:
            return self.attach(conn, self.fetch_rows(conn, wanted))

    def map(self, item: Item) -> Invoice | None:
        head, others, stock_lines = item
        if head.cha_hidden:
            return None
        rows = [head, *(r for r in others if not r.cha_hidden)]
        money = DocMoney(self.env, head.cha_d_cins, head.cha_d_kur)
        lines = [self.stock_line(ln, money) for ln in stock_lines if not ln.sth_hidden]
        lines += [self.service_line(r, money) for r in rows if r.cha_kasa_hizmet == codes.SERVICE]
        lines.sort(key=lambda ln: ln.line_no)
        if head.cha_evrak_tip == codes.PURCHASE_INVOICE:
            kind = "return"
        elif lines and all(ln.kind == "service" for ln in lines):
            kind = "service"
        elif stock_lines and all(ln.sth_cins == codes.PRICE_DIFFERENCE_CINS for ln in stock_lines):
            kind = "price_difference"
        else:
            kind = "sale"
        da = money.doc
        gross = sum((da(r.cha_aratoplam, "totals.gross") for r in rows), Decimal("0.00"))
        discount = sum((da(r.DISCOUNT, "totals.discount") for r in rows), Decimal("0.00"))
        vat = sum((da(r.VAT, "totals.vat") for r in rows), Decimal("0.00"))
        total = sum((da(r.cha_meblag, "totals.total") for r in rows), Decimal("0.00"))
        totals = Totals(gross=gross, discount=discount, net=gross - discount, vat=vat, total=total)
        return Invoice(
            number=self.number(head),
            document_no=clean(head.cha_belge_no),
            kind=kind,  # type: ignore[arg-type]
            account_code=self.account_code(head),
            date=business_date(head.cha_tarihi, "date"),  # type: ignore[arg-type]
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=local_totals(totals, money) if not money.local else totals,
            cancelled=bool(head.cha_iptal),
            e_invoice_uuid=(clean(head.cha_uuid) or "").lower() or None,
            sales_rep_code=clean(head.cha_satici_kodu),
            lines=lines,
        )

    def stock_line(self, ln: Row[Any], money: DocMoney) -> InvoiceLine:
        pointer = ln.sth_birim_pntr or 1
        unit_name, factor_value = (
            (ln.sto_birim1_ad, 1.0),
            (ln.sto_birim2_ad, ln.sto_birim2_katsayi),
            (ln.sto_birim3_ad, ln.sto_birim3_katsayi),
        )[min(max(pointer, 1), 3) - 1]
        factor = unit_factor(factor_value, "lines.quantity")
        unit = clean(unit_name)
        gross = money.doc(ln.sth_tutar, "lines.gross")
        discount = money.doc(ln.DISCOUNT, "lines.discount")
        line_rate = None if money.local else rate(ln.sth_har_doviz_kuru or money.rate, "lines.rate")
        # sth_miktar and sth_birimfiyat are per base unit; the feed states them in the line's unit.
        warehouse = ln.sth_giris_depo_no if ln.sth_tip == codes.IN else ln.sth_cikis_depo_no
        return InvoiceLine(
            line_no=(ln.sth_satirno or 0) + 1,
            kind="item",
            product_code=required(ln.sth_stok_kod, "lines.product_code", 100),
            quantity=to_decimal(fixed(ln.sth_miktar, 6, "lines.quantity") / factor, 3, "lines.quantity"),  # type: ignore[arg-type]
            unit=unit,
            unit_code=unit_code(unit) if unit else None,
            unit_price=unit_price(Decimal(repr(float(ln.sth_birimfiyat or 0))) * factor, "lines.unit_price"),  # type: ignore[arg-type]
            gross=gross,
            discount=discount,
            net=gross - discount,
            vat_rate=self.env.vat.rate(ln.sth_vergi_pntr, "lines.vat_rate"),
            vat=money.doc(ln.sth_vergi, "lines.vat"),
            net_local=money.to_local(gross - discount, "lines.net_local", line_rate),
            warehouse_code=str(warehouse) if warehouse else None,
            sales_rep_code=clean(ln.sth_plasiyer_kodu),
        )

    def service_line(self, r: Row[Any], money: DocMoney) -> InvoiceLine:
        gross = money.doc(r.cha_aratoplam, "lines.gross")
        discount = money.doc(r.DISCOUNT, "lines.discount")
        qty = fixed(r.cha_miktari, 3, "lines.quantity")
        return InvoiceLine(
            line_no=(r.cha_satir_no or 0) + 1,
            kind="service",
            product_code=required(r.cha_kasa_hizkod, "lines.product_code", 100),
            quantity=qty,
            # A service row keeps no unit price: gross / quantity.
            unit_price=unit_price(gross / qty if qty else gross, "lines.unit_price"),  # type: ignore[arg-type]
            gross=gross,
            discount=discount,
            net=gross - discount,
            vat_rate=self.env.vat.rate(r.cha_vergipntr, "lines.vat_rate"),
            vat=money.doc(r.VAT, "lines.vat"),
            net_local=money.to_local(gross - discount, "lines.net_local"),
            sales_rep_code=clean(r.cha_satici_kodu),
        )


def local_totals(t: Totals, money: DocMoney) -> Totals:
    return Totals(
        gross=money.to_local(t.gross, "totals_local.gross"),
        discount=money.to_local(t.discount, "totals_local.discount"),
        net=money.to_local(t.net, "totals_local.net"),
        vat=money.to_local(t.vat, "totals_local.vat"),
        total=money.to_local(t.total, "totals_local.total"),
    )


class Collections(_Movements):
    """Receipt rows (cha_evrak_tip 1), one per payment method; the method from cha_cinsi."""

    name = "collections"
    primary_key = ("number",)

    def where(self) -> sa.ColumnElement[bool]:
        return self.col("evrak_tip") == codes.RECEIPT

    def row_key(self, row: Any) -> str:
        tip, seri, sira = identity(row)
        return f"{tip}:{seri}:{sira}:{row.cha_satir_no}"

    def key(self, item: Row[Any]) -> str:
        return self.row_key(item)

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = {parsed for key in keys if (parsed := _parse(key)) is not None}
        with self.env.engine.connect() as conn:
            return self.fetch_rows(conn, wanted)

    def map(self, item: Row[Any]) -> Collection | None:
        r = item
        if r.cha_hidden:
            return None
        method = self.env.collection_methods.get(r.cha_cinsi)
        if method is None:
            raise RecordError(f"cha_cinsi {r.cha_cinsi!r} is not in the collection_methods setting", "method")
        money = DocMoney(self.env, r.cha_d_cins, r.cha_d_kur)
        value = money.doc(r.cha_meblag, "amount")
        number = self.number(r)
        return Collection(
            number=number if not r.cha_satir_no else f"{number}/{r.cha_satir_no + 1}",
            account_code=self.account_code(r),
            date=business_date(r.cha_tarihi, "date"),  # type: ignore[arg-type]
            amount=value,
            currency=money.currency,
            rate=money.rate,
            amount_local=money.to_local(value, "amount_local"),
            method=method,
            # cha_vade is the receipt's yyyymmdd due date; it only means something for cheques and notes.
            due_date=codes.vade_date(r.cha_vade) if method in ("cheque", "promissory_note") else None,
            cancelled=bool(r.cha_iptal),
        )
