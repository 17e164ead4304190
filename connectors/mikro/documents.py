"""Invoices: rows of CARI_HESAP_HAREKETLERI the movement_codes read as invoices, lines in STOK_HAREKETLERI.

An invoice is its cha_satir_no = 0 row plus its other rows of the same document (service invoices
keep one row per service) and the STOK_HAREKETLERI lines linked by sth_fat_uid. A changed row or
line re-reads the whole document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.mikro import codes
from connectors.mikro.masters import pointed_unit, unit_factor
from connectors.mikro.money import DocMoney, exact
from connectors.mikro.movements import DISCOUNTS, VAT, Movements, further_row_changed, identity, parse_key
from connectors.mikro.streams import bit, local_since, stamp
from connectors.sql import for_refs
from mapping.dates import required_date
from mapping.errors import RecordError
from mapping.money import QUANTS, fixed, percent, to_decimal, unit_price
from mapping.schema import Invoice, InvoiceLine, Totals
from mapping.text import code, required_code
from mapping.units import unit_code

__all__ = ["Invoices"]

Item = tuple[Row[Any], list[Row[Any]], list[Row[Any]]]
_ZERO = Decimal("0.00")


class Invoices(Movements):
    """The invoice documents of movement_codes (Mikro: sales invoices 63, and returns as purchase invoices 0 with
    cha_normal_Iade 1, a credit), with their lines; cha_iptal -> cancelled."""

    name = "invoices"
    primary_key = ("number",)

    def columns(self) -> list[Any]:
        c = self.table().c
        return [
            *super().columns(),
            c.cha_belge_no,
            c.cha_satici_kodu,
            c.cha_kasa_hizmet,
            c.cha_kasa_hizkod,
            c.cha_miktari,
            c.cha_aratoplam,
            sum((c[n] for n in DISCOUNTS[1:]), c[DISCOUNTS[0]]).label("DISCOUNT"),
            sum((c[n] for n in VAT[1:]), c[VAT[0]]).label("VAT"),
            c.cha_vergipntr,
            c.cha_uuid,
        ]

    def where(self) -> sa.ColumnElement[bool]:
        return sa.and_(self.col("satir_no") == 0, self.env.movements.selects("invoice", self.table().c))

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        at = local_since(since, self.tz)
        h = self.table().c
        s = self.env.tables.STOK_HAREKETLERI.c
        line_changed = h.cha_Guid.in_(
            sa.select(s.sth_fat_uid).where(s.sth_lastup_date >= at, s.sth_fat_uid.is_not(None))
        )
        return sa.or_(h.cha_lastup_date >= at, further_row_changed(self.table(), at), line_changed)

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

    def attached(self) -> list[sa.Select[Any]]:
        return [self.sibling_select(), self.line_select()]

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[Item]:
        s = self.env.tables.STOK_HAREKETLERI.c
        siblings = self.siblings(conn, rows)
        lines: dict[str, list[Row[Any]]] = {}
        for line in for_refs(conn, self.line_select(), s.sth_fat_uid, [r.GUID for r in rows]):
            lines.setdefault(str(line.sth_fat_uid).lower(), []).append(line)
        return [(r, siblings.get(identity(r), []), lines.get(str(r.GUID).lower(), [])) for r in rows]

    def key(self, item: Item) -> str:
        tip, seri, sira = identity(item[0])
        return f"{tip}:{seri}:{sira}"

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
        wanted = {parsed for key in keys if (parsed := parse_key(key)) is not None}
        with self.env.engine.connect() as conn:
            return self.attach(conn, self.fetch_rows(conn, wanted))

    def map(self, item: Item) -> Invoice | None:
        head, others, stock_lines = item
        if bit(head.cha_hidden, "cha_hidden"):
            return None
        reading = self.reading(head)
        rows = [head, *(r for r in others if not bit(r.cha_hidden, "cha_hidden"))]
        money = DocMoney(self.env, head.cha_d_cins, head.cha_d_kur)
        lines = [self.stock_line(ln, money) for ln in stock_lines if not bit(ln.sth_hidden, "lines.sth_hidden")]
        lines += [self.service_line(r, money) for r in rows if r.cha_kasa_hizmet == codes.SERVICE]
        lines.sort(key=lambda ln: ln.line_no)
        if reading.detail == "return":
            kind = "return"
        elif lines and all(ln.kind == "service" for ln in lines):
            kind = "service"
        elif stock_lines and all(ln.sth_cins == codes.PRICE_DIFFERENCE_CINS for ln in stock_lines):
            kind = "price_difference"
        else:
            kind = "sale"
        da = money.doc
        gross = sum((da(r.cha_aratoplam, "totals.gross") for r in rows), _ZERO)
        discount = sum((da(r.DISCOUNT, "totals.discount") for r in rows), _ZERO)
        vat = sum((da(r.VAT, "totals.vat") for r in rows), _ZERO)
        total = sum((da(r.cha_meblag, "totals.total") for r in rows), _ZERO)
        totals = Totals(gross=gross, discount=discount, net=gross - discount, vat=vat, total=total)
        totals_local = money.totals_local(totals)
        money.spread(lines, totals_local)
        uuid = code(head.cha_uuid, "e_invoice_uuid")
        return Invoice(
            number=self.number(head),
            document_no=code(head.cha_belge_no, "document_no"),
            kind=kind,  # type: ignore[arg-type]
            account_code=self.account_code(head),
            date=required_date(head.cha_tarihi, "date"),
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=totals_local,
            cancelled=bit(head.cha_iptal, "cancelled"),
            e_invoice_uuid=uuid.lower() if uuid else None,  # a UUID's hex digits are the same in either case
            sales_rep_code=code(head.cha_satici_kodu, "sales_rep_code"),
            lines=lines,
        )

    def line_vat(self, ln: Row[Any], net: Decimal, money: DocMoney) -> tuple[Decimal | None, Decimal]:
        """(rate, amount) of a stock line: sth_vergi is the amount (what sites read) or the rate (Mikro's
        docs), per the line_vat setting; as a rate, the amount is the net at that rate, rounded half-up."""
        if self.env.line_vat == "rate":
            vat_rate = percent(ln.sth_vergi, "lines.vat_rate")
            if vat_rate is None:
                raise RecordError("missing (NULL sth_vergi)", "lines.vat_rate")
            return vat_rate, (net * vat_rate / 100).quantize(QUANTS[money.places], ROUND_HALF_UP)
        return self.env.vat.rate(ln.sth_vergi_pntr, "lines.vat_rate"), money.doc(ln.sth_vergi, "lines.vat")

    def stock_line(self, ln: Row[Any], money: DocMoney) -> InvoiceLine:
        units = (
            (ln.sto_birim1_ad, 1.0),
            (ln.sto_birim2_ad, ln.sto_birim2_katsayi),
            (ln.sto_birim3_ad, ln.sto_birim3_katsayi),
        )
        unit_name, factor_value = pointed_unit(ln.sth_birim_pntr, units, "lines.unit")
        factor = unit_factor(factor_value, "lines.quantity")
        unit = code(unit_name, "lines.unit")
        gross = money.doc(ln.sth_tutar, "lines.gross")
        discount = money.doc(ln.DISCOUNT, "lines.discount")
        vat_rate, vat = self.line_vat(ln, gross - discount, money)
        # sth_miktar and sth_birimfiyat are per base unit; the feed states them in the line's unit.
        warehouse = ln.sth_giris_depo_no if ln.sth_tip == codes.IN else ln.sth_cikis_depo_no
        return InvoiceLine(
            line_no=line_no(ln.sth_satirno),
            kind="item",
            product_code=required_code(ln.sth_stok_kod, "lines.product_code"),
            quantity=to_decimal(fixed(ln.sth_miktar, 6, "lines.quantity") / factor, 3, "lines.quantity"),  # type: ignore[arg-type]
            unit=unit,
            unit_code=unit_code(unit) if unit else None,
            unit_price=unit_price(exact(ln.sth_birimfiyat, "lines.unit_price") * factor, "lines.unit_price"),  # type: ignore[arg-type]
            gross=gross,
            discount=discount,
            net=gross - discount,
            vat_rate=vat_rate,
            vat=vat,
            net_local=None,  # money.spread gives the document's local net out over the lines
            warehouse_code=str(warehouse) if warehouse else None,
            sales_rep_code=code(ln.sth_plasiyer_kodu, "lines.sales_rep_code"),
        )

    def service_line(self, r: Row[Any], money: DocMoney) -> InvoiceLine:
        gross = money.doc(r.cha_aratoplam, "lines.gross")
        discount = money.doc(r.DISCOUNT, "lines.discount")
        qty = fixed(r.cha_miktari, 3, "lines.quantity")
        return InvoiceLine(
            line_no=line_no(r.cha_satir_no),
            kind="service",
            product_code=required_code(r.cha_kasa_hizkod, "lines.product_code"),
            quantity=qty,
            # A service row keeps no unit price: gross / quantity.
            unit_price=unit_price(gross / qty if qty else gross, "lines.unit_price"),  # type: ignore[arg-type]
            gross=gross,
            discount=discount,
            net=gross - discount,
            vat_rate=self.env.vat.rate(r.cha_vergipntr, "lines.vat_rate"),
            vat=money.doc(r.VAT, "lines.vat"),
            net_local=None,
            sales_rep_code=code(r.cha_satici_kodu, "lines.sales_rep_code"),
        )


def line_no(satir: Any) -> int:
    """The feed's 1-based line number of Mikro's 0-based *_satirno; NULL (Mikro writes none) is an error."""
    if satir is None:
        raise RecordError("missing (NULL satirno)", "lines.line_no")
    return int(satir) + 1
