"""Sales orders: SIPARISLER has one row per line and no header table, so an order is the group of rows
sharing (sip_cins, sip_evrakno_seri, sip_evrakno_sira); its key is that identity and its cursor the
newest sip_lastup_date among them. Pages walk the groups in key order (a composite keyset)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.mikro import codes
from connectors.mikro.documents import line_no
from connectors.mikro.masters import pointed_unit, unit_factor
from connectors.mikro.money import DocMoney, exact
from connectors.mikro.streams import SINCE, MikroEnv, MikroStream, bit, local_since, stamp
from connectors.sql import for_refs
from mapping.dates import required_date
from mapping.money import fixed, to_decimal, unit_price
from mapping.schema import Order, OrderLine, Totals
from mapping.text import code, flag, required_code
from mapping.units import unit_code

__all__ = ["Orders"]

Doc = tuple[int, str, int]  # (sip_cins, sip_evrakno_seri, sip_evrakno_sira) as stored
Item = tuple[Row[Any], list[Row[Any]]]
_ZERO = Decimal("0.00")


class Orders(MikroStream):
    """Sales orders (sip_tip = sales_order_tip) of the sip_cins the order_kinds setting reads: normal orders,
    and proforma orders as proposals, by default."""

    name = "orders"
    primary_key = ("number",)
    replication_key = "modified"
    partitionable = True  # sip_evrakno_sira % count keeps an order's rows together
    prefix = "sip"

    def __init__(self, env: MikroEnv) -> None:
        super().__init__(env)
        self.kinds = env.order_cins("order", "proposal")

    def table(self) -> sa.Table:
        return self.env.tables.SIPARISLER

    def where(self) -> sa.ColumnElement[bool]:
        return sa.and_(self.col("tip") == self.env.sales_order_tip, self.col("cins").in_(self.kinds))

    def _doc_columns(self) -> list[sa.Column[Any]]:
        return [self.col("cins"), self.col("evrakno_seri"), self.col("evrakno_sira")]

    def groups(self, since: dt.datetime | None, partition: Partition | None, *, live: bool) -> sa.Select[Any]:
        cins, seri, sira = self._doc_columns()
        stmt = sa.select(cins, seri, sira, sa.func.max(self.col("lastup_date")).label("LASTUP")).where(self.where())
        if partition is not None:
            stmt = stmt.where(sira % partition.count == partition.index)
        stmt = stmt.group_by(cins, seri, sira)
        if since is not None:
            stmt = stmt.having(sa.func.max(self.col("lastup_date")) >= local_since(since, self.tz))
        if live:
            # A NULL hidden is not hidden: such an order is a dead letter, not a delete, so it counts.
            visible = sa.func.sum(sa.case((self.col("hidden") == sa.true(), 0), else_=1))
            stmt = stmt.having(visible > 0)
        return stmt

    def _pages(self, stmt: sa.Select[Any]) -> Iterator[tuple[sa.Connection, list[Row[Any]]]]:
        cins, seri, sira = self._doc_columns()
        size = self.env.chunk_size
        last: Doc | None = None
        while True:
            page = stmt
            if last is not None:
                c, s, n = last
                page = page.where(
                    sa.or_(cins > c, sa.and_(cins == c, seri > s), sa.and_(cins == c, seri == s, sira > n))
                )
            with self.env.engine.connect() as conn:
                heads = conn.execute(page.order_by(cins, seri, sira).limit(size)).all()
                if not heads:
                    return
                yield conn, heads
            if len(heads) < size:
                return
            last = (heads[-1].sip_cins, heads[-1].sip_evrakno_seri, heads[-1].sip_evrakno_sira)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        for conn, heads in self._pages(self.groups(since, partition, live=False)):
            yield self.attach(conn, heads)

    def line_select(self) -> sa.Select[Any]:
        t = self.env.tables
        o, k = t.SIPARISLER.c, t.STOKLAR.c
        return (
            sa.select(
                o.sip_cins,
                o.sip_evrakno_seri,
                o.sip_evrakno_sira,
                o.sip_satirno,
                o.sip_iptal,
                o.sip_hidden,
                o.sip_tarih,
                o.sip_musteri_kod,
                o.sip_satici_kod,
                o.sip_stok_kod,
                o.sip_harekettipi,
                o.sip_b_fiyat,
                o.sip_miktar,
                o.sip_teslim_miktar,
                o.sip_birim_pntr,
                o.sip_tutar,
                sum((o[f"sip_iskonto_{n}"] for n in range(2, 7)), o.sip_iskonto_1).label("DISCOUNT"),
                o.sip_vergi_pntr,
                o.sip_vergi,
                o.sip_depono,
                o.sip_kapat_fl,
                o.sip_doviz_cinsi,
                o.sip_doviz_kuru,
                k.sto_birim1_ad,
                k.sto_birim2_ad,
                k.sto_birim2_katsayi,
                k.sto_birim3_ad,
                k.sto_birim3_katsayi,
            )
            .select_from(t.SIPARISLER.outerjoin(t.STOKLAR, k.sto_kod == o.sip_stok_kod))
            .where(self.where())
            .order_by(o.sip_evrakno_sira, o.sip_satirno)
        )

    def statements(self) -> list[sa.Select[Any]]:
        return [
            self.groups(SINCE, Partition(0, 2), live=False),
            self.groups(None, None, live=True),
            self.line_select(),
        ]

    def attach(self, conn: sa.Connection, heads: Sequence[Row[Any]]) -> list[Item]:
        wanted = {(h.sip_cins, h.sip_evrakno_seri, h.sip_evrakno_sira) for h in heads}
        rows: dict[Doc, list[Row[Any]]] = {}
        for row in for_refs(conn, self.line_select(), self.col("evrakno_sira"), [h.sip_evrakno_sira for h in heads]):
            doc = (row.sip_cins, row.sip_evrakno_seri, row.sip_evrakno_sira)
            if doc in wanted:
                rows.setdefault(doc, []).append(row)
        return [(h, rows.get((h.sip_cins, h.sip_evrakno_seri, h.sip_evrakno_sira), [])) for h in heads]

    def key(self, item: Any) -> str:
        head = self.row_of(item)
        return f"{head.sip_cins}:{(head.sip_evrakno_seri or '').strip()}:{head.sip_evrakno_sira}"

    def cursor(self, item: Any) -> dt.datetime | None:
        return stamp(self.row_of(item).LASTUP, self.tz)

    def raw(self, item: Item) -> dict[str, Any]:
        head, rows = item
        return {"order": dict(head._mapping), "rows": [dict(r._mapping) for r in rows]}

    def count(self) -> int | None:
        docs = self.groups(None, None, live=True).subquery()
        with self.env.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(docs)).scalar_one())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted: set[tuple[int, str, int]] = set()
        for key in keys:
            cins, _, rest = key.partition(":")
            seri, _, sira = rest.rpartition(":")
            if cins.isdigit() and sira.isdigit():
                wanted.add((int(cins), seri, int(sira)))
        if not wanted:
            return []
        cins_col, _, sira_col = self._doc_columns()
        stmt = self.groups(None, None, live=False).where(sira_col.in_(sorted({w[2] for w in wanted})))
        with self.env.engine.connect() as conn:
            heads = [
                h
                for h in conn.execute(stmt.order_by(cins_col, sira_col))
                if self.key(h) in {f"{c}:{s}:{n}" for c, s, n in wanted}
            ]
            return self.attach(conn, heads)

    def map(self, item: Item) -> Order | None:
        head, all_rows = item
        rows = [r for r in all_rows if not bit(r.sip_hidden, "sip_hidden")]
        if not rows:
            return None
        first = rows[0]
        money = DocMoney(self.env, first.sip_doviz_cinsi, first.sip_doviz_kuru)
        lines = [self.line(r, money) for r in rows]
        gross = sum((ln.gross for ln in lines), _ZERO)
        discount = sum((ln.discount for ln in lines), _ZERO)
        vat = sum((ln.vat for ln in lines), _ZERO)
        totals = Totals(gross=gross, discount=discount, net=gross - discount, vat=vat, total=gross - discount + vat)
        totals_local = money.totals_local(totals)
        money.spread(lines, totals_local)
        if all([bit(r.sip_iptal, "cancelled") for r in rows]):  # a list: every row's flag is read
            status = "cancelled"
        elif self.env.order_kinds.get(head.sip_cins) == "proposal":
            status = "proposal"
        elif all(ln.closed for ln in lines):
            status = "closed"
        elif any(ln.shipped_quantity for ln in lines):
            status = "shippable"  # partly delivered
        else:
            status = "open"
        return Order(
            number=required_code(
                codes.document_number(self.env.number_format, head.sip_evrakno_seri, head.sip_evrakno_sira), "number"
            ),
            account_code=required_code(first.sip_musteri_kod, "account_code"),
            date=required_date(first.sip_tarih, "date"),
            status=status,  # type: ignore[arg-type]
            currency=money.currency,
            rate=money.rate,
            totals=totals,
            totals_local=totals_local,
            sales_rep_code=code(first.sip_satici_kod, "sales_rep_code"),
            lines=lines,
        )

    def line(self, r: Row[Any], money: DocMoney) -> OrderLine:
        units = (
            (r.sto_birim1_ad, 1.0),
            (r.sto_birim2_ad, r.sto_birim2_katsayi),
            (r.sto_birim3_ad, r.sto_birim3_katsayi),
        )
        unit_name, factor_value = pointed_unit(r.sip_birim_pntr, units, "lines.unit")
        factor = unit_factor(factor_value, "lines.quantity")
        unit = code(unit_name, "lines.unit")
        gross = money.doc(r.sip_tutar, "lines.gross")
        discount = money.doc(r.DISCOUNT, "lines.discount")
        return OrderLine(
            line_no=line_no(r.sip_satirno),
            # sip_harekettipi: 0 a stock line, 1 a service line (UNCONFIRMED; other values are refused).
            kind="service" if flag(r.sip_harekettipi, "lines.kind") else "item",
            product_code=required_code(r.sip_stok_kod, "lines.product_code"),
            # sip_miktar, sip_teslim_miktar and sip_b_fiyat are per base unit; the feed uses the line's unit.
            quantity=to_decimal(fixed(r.sip_miktar, 6, "lines.quantity") / factor, 3, "lines.quantity"),  # type: ignore[arg-type]
            unit=unit,
            unit_code=unit_code(unit) if unit else None,
            unit_price=unit_price(exact(r.sip_b_fiyat, "lines.unit_price") * factor, "lines.unit_price"),  # type: ignore[arg-type]
            gross=gross,
            discount=discount,
            net=gross - discount,
            vat_rate=self.env.vat.rate(r.sip_vergi_pntr, "lines.vat_rate"),
            vat=money.doc(r.sip_vergi, "lines.vat"),
            net_local=None,  # money.spread gives the order's local net out over the lines
            warehouse_code=str(r.sip_depono) if r.sip_depono else None,
            sales_rep_code=code(r.sip_satici_kod, "lines.sales_rep_code"),
            shipped_quantity=to_decimal(
                fixed(r.sip_teslim_miktar, 6, "lines.shipped_quantity") / factor, 3, "lines.shipped_quantity"
            ),
            closed=bit(r.sip_kapat_fl, "lines.closed"),
        )
