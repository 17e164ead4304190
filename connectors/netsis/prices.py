"""The price_lists stream: Netsis's sales price lists (TBLSTOKFIAT), a snapshot of the master database.

TBLSTOKFIAT holds one price per list, price group, item, unit (OLCUBR: the card's first, second or third unit)
and start day (BASTAR), for purchases (A_S 'A') and sales (A_S 'S'). The year copy carries the live rows into the
new year's database, so the master database holds the current lists. No public source names a change stamp the
table keeps for every edit (one integrator sets a KAYITTAR on its own updates), so the stream is a snapshot whose
rows are versioned by their content (connectors.versions): a sync maps only the prices that moved.

A row whose price group (FIYATGRUBU) is an account code is that dealer's own price, not a general list: it is left
out (`dealer_price_groups`), counted as such. Dealers' prices reach the feed through the discounts stream
(TBLKOSULMAS fixed prices), which reads no price list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.sql import ClauseElement

from connectors.base import Excluded
from connectors.netsis.snapshots import _Snapshot
from connectors.netsis.streams import raw_code
from connectors.sql import for_refs, keyset_chunks
from connectors.versions import row_version, storable
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import unit_price
from mapping.schema import PriceListEntry
from mapping.text import clean, code, required_code
from mapping.units import unit_code

__all__ = ["DEALER_PRICE", "PriceLists"]

DEALER_PRICE = "a dealer's own price (FIYATGRUBU is an account code)"


class PriceLists(_Snapshot):
    """TBLSTOKFIAT sales rows (A_S = sales_price_side): list `price_list_column`, name FIYATLISTEACIK, price FIYAT1
    in FIYATDOVIZTIPI's currency, unit OLCUBR of the card's units, validity BASTAR..BITTAR."""

    name = "price_lists"
    primary_key = ("list_code", "product_code", "unit", "valid_from")

    def entries(self) -> sa.Select[Any]:
        t, s = self.env.tables, self.settings
        f, card, acct = t.STOKFIAT.c, t.STSABIT.c, t.CASABIT.c
        dealer = acct.CARI_KOD if s.dealer_price_groups else sa.null()
        joined = t.STOKFIAT.outerjoin(t.STSABIT, card.STOK_KODU == f.STOKKODU)
        if s.dealer_price_groups:
            joined = joined.outerjoin(t.CASABIT, acct.CARI_KOD == f.FIYATGRUBU)
        return (
            sa.select(
                f.STOKKODU,
                f[s.price_list_column].label("LISTE"),
                f.FIYATLISTEACIK,
                f.FIYATGRUBU,
                f.A_S,
                f.FIYAT1,
                f.FIYATDOVIZTIPI,
                f.OLCUBR,
                f.BASTAR,
                f.BITTAR,
                card.STOK_KODU.label("CARD"),
                card.OLCU_BR1,
                card.OLCU_BR2,
                card.OLCU_BR3,
                dealer.label("DEALER"),
            )
            .select_from(joined)
            # A NULL side is read (and dead-lettered), never dropped: no Netsis filter drops a row for a NULL.
            .where(sa.or_(f.A_S.is_(None), s.sales_price_side == f.A_S))
            .order_by(f.STOKKODU, f[s.price_list_column], f.FIYATGRUBU, f.OLCUBR, f.BASTAR)
        )

    def statements(self) -> list[ClauseElement]:
        return [self.entries()]

    def rows(self) -> Iterator[Sequence[Any]]:
        item = self.env.tables.STOKFIAT.c.STOKKODU
        entries = self.entries()

        def page(last: Any) -> sa.Select[Any]:
            stmt = sa.select(item).distinct().where(item.is_not(None))
            return (stmt if last is None else stmt.where(item > last)).order_by(item)

        def then(conn: sa.Connection, found: Sequence[Row[Any]]) -> list[Row[Any]]:
            return for_refs(conn, entries, item, [c.STOKKODU for c in found])

        engine = self.env.master.engine
        yield from keyset_chunks(engine, page, "STOKKODU", self.env.chunk_size, then)
        with engine.connect() as conn:  # prices of no item code come last, to be dead letters
            orphans = conn.execute(entries.where(item.is_(None))).all()
        if orphans:
            yield orphans

    def key(self, item: Any) -> str:
        try:
            begin = item.BASTAR
            day = "" if begin is None else (begin.date() if isinstance(begin, dt.datetime) else begin).isoformat()
            parts = (raw_code(item.LISTE), raw_code(item.FIYATGRUBU), raw_code(item.STOKKODU), str(item.OLCUBR), day)
        except (AttributeError, TypeError, ValueError):  # a key never fails: the engine dead-letters the row
            return storable(repr(tuple(item))[:200])
        return storable(":".join((self.env.company, *parts)))

    def version(self, item: Row[Any]) -> str:
        return row_version(self.salt, tuple(item))

    def map(self, item: Row[Any]) -> PriceListEntry | Excluded:
        r, text = item, self.text
        if r.DEALER is not None:
            return Excluded(DEALER_PRICE)
        if r.A_S is None:
            raise RecordError("A_S is missing: sales or purchase price unknown", "list_code")
        if r.STOKKODU is not None and r.CARD is None:
            raise RecordError("STOKKODU names no item card (TBLSTSABIT)", "product_code")
        column = self.settings.price_units.get(r.OLCUBR) if r.OLCUBR is not None else None
        if column is None:
            raise RecordError(f"OLCUBR {r.OLCUBR!r} is not in the price_units setting (map it)", "unit")
        unit = code(text(getattr(r, column)), "unit", 100)
        if unit is None:
            raise RecordError(f"OLCUBR {r.OLCUBR} names the card's {column}, which is empty", "unit")
        if r.FIYATDOVIZTIPI is None:
            raise RecordError("missing", "currency")
        currency = self.env.currencies.get(r.FIYATDOVIZTIPI)
        if currency is None:
            raise RecordError(
                f"unknown Netsis currency number {r.FIYATDOVIZTIPI!r} (add it to the currency_codes setting)",
                "currency",
            )
        price = unit_price(r.FIYAT1, "price")
        if price is None:
            raise RecordError("missing", "price")
        if price < 0:
            raise RecordError(f"FIYAT1 is {r.FIYAT1!r}: a list price is never negative", "price")
        return PriceListEntry(
            list_code=required_code(text(r.LISTE), "list_code"),
            list_name=clean(text(r.FIYATLISTEACIK), field="list_name"),
            product_code=required_code(text(r.STOKKODU), "product_code"),
            unit=unit,
            unit_code=unit_code(unit),
            price=price,
            currency=currency,
            vat_included=self.settings.price_vat_included,
            min_quantity=None,  # no public source names a minimum quantity column of TBLSTOKFIAT
            valid_from=business_date(r.BASTAR, "valid_from"),
            valid_to=business_date(r.BITTAR, "valid_to"),
        )
