"""price_lists: the general sales price lists, STOK_SATIS_FIYAT_LISTELERI rows of the lists `general_price_lists`
names, with their list's header (STOK_SATIS_FIYAT_LISTE_TANIMLARI) and their product's units (STOKLAR).

Mikro numbers its lists (sfiyat_listesirano = sfl_sirano): the number is the feed's list_code, the header's
sfl_aciklama its name. A price row has no dates; a list's validity is its header's sfl_ilktarih / sfl_sontarih, so a
list renewed each quarter is one list number per quarter. Every other list is a customer's own prices, which the
discounts stream reads (kind fixed_price): the one setting splits the table between the two streams.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.mikro.masters import pointed_unit
from connectors.mikro.streams import MikroStream, bit, local_since, stamp
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed
from mapping.schema import PriceListEntry
from mapping.text import clean, code, flag, required_code
from mapping.units import unit_code

__all__ = ["PriceLists"]


class PriceLists(MikroStream):
    """One record per price row of a general list: Mikro's unique key (product, list, warehouse, unit, payment plan)
    is the feed's (list, product, unit) once warehouse and payment plan are 0, the only prices the feed can carry."""

    name = "price_lists"
    primary_key = ("list_code", "product_code", "unit", "valid_from")
    replication_key = "modified"
    prefix = "sfiyat"

    def table(self) -> sa.Table:
        return self.env.tables.STOK_SATIS_FIYAT_LISTELERI

    def where(self) -> sa.ColumnElement[bool]:
        general = sorted(self.env.general_price_lists)
        return self.col("listesirano").in_(general) if general else sa.false()

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        # The header (name, dates, VAT flag) and the card (unit names) are part of the record: their stamps count.
        t = self.env.tables
        local = local_since(since, self.tz)
        return sa.or_(
            super().changed(since),
            t.STOK_SATIS_FIYAT_LISTE_TANIMLARI.c.sfl_lastup_date >= local,
            t.STOKLAR.c.sto_lastup_date >= local,
        )

    def select_rows(self) -> sa.Select[Any]:
        t = self.env.tables
        f, lst, k = t.STOK_SATIS_FIYAT_LISTELERI.c, t.STOK_SATIS_FIYAT_LISTE_TANIMLARI.c, t.STOKLAR.c
        return sa.select(
            f.sfiyat_Guid.label("GUID"),
            f.sfiyat_lastup_date.label("LASTUP"),
            f.sfiyat_iptal,
            f.sfiyat_hidden,
            f.sfiyat_stokkod,
            f.sfiyat_listesirano,
            f.sfiyat_deposirano,
            f.sfiyat_odemeplan,
            f.sfiyat_birim_pntr,
            f.sfiyat_fiyati,
            f.sfiyat_doviz,
            lst.sfl_sirano,
            lst.sfl_iptal,
            lst.sfl_hidden,
            lst.sfl_aciklama,
            lst.sfl_kdvdahil,
            lst.sfl_ilktarih,
            lst.sfl_sontarih,
            lst.sfl_lastup_date.label("LIST_LASTUP"),
            k.sto_kod,
            k.sto_birim1_ad,
            k.sto_birim2_ad,
            k.sto_birim3_ad,
            k.sto_lastup_date.label("CARD_LASTUP"),
        ).select_from(
            t.STOK_SATIS_FIYAT_LISTELERI.outerjoin(
                t.STOK_SATIS_FIYAT_LISTE_TANIMLARI, lst.sfl_sirano == f.sfiyat_listesirano
            ).outerjoin(t.STOKLAR, k.sto_kod == f.sfiyat_stokkod)
        )

    def cursor(self, item: Row[Any]) -> dt.datetime | None:
        stamps = (stamp(v, self.tz) for v in (item.LASTUP, item.LIST_LASTUP, item.CARD_LASTUP))
        return max((s for s in stamps if s), default=None)

    def map(self, item: Row[Any]) -> PriceListEntry | None:
        r = item
        if bit(r.sfiyat_iptal, "sfiyat_iptal") or bit(r.sfiyat_hidden, "sfiyat_hidden"):
            return None
        if r.sfl_sirano is None:
            raise RecordError(
                f"price list {r.sfiyat_listesirano!r} has no STOK_SATIS_FIYAT_LISTE_TANIMLARI row", "list_name"
            )
        if bit(r.sfl_iptal, "sfl_iptal") or bit(r.sfl_hidden, "sfl_hidden"):
            return None  # the list itself is cancelled: its prices are gone with it
        product = required_code(r.sfiyat_stokkod, "product_code")
        # A price for one warehouse or one payment plan has no field in the feed: never sent as the list's price.
        if r.sfiyat_deposirano is None or r.sfiyat_odemeplan is None:
            raise RecordError("missing (NULL sfiyat_deposirano or sfiyat_odemeplan; Mikro writes 0)", "price")
        if r.sfiyat_deposirano != 0:
            raise RecordError(f"a price for warehouse {r.sfiyat_deposirano!r} (the feed has no warehouse)", "price")
        if r.sfiyat_odemeplan != 0:
            raise RecordError(f"a price for payment plan {r.sfiyat_odemeplan!r} (the feed has none)", "price")
        if r.sto_kod is None:
            raise RecordError("no stock card (STOKLAR) for the price's product: its unit is unknown", "unit")
        units = ((r.sto_birim1_ad, None), (r.sto_birim2_ad, None), (r.sto_birim3_ad, None))
        name, _ = pointed_unit(r.sfiyat_birim_pntr, units, "unit")
        unit = code(name, "unit", 100)
        if unit is None:
            raise RecordError(f"unit pointer {r.sfiyat_birim_pntr!r} names no unit on the stock card", "unit")
        first = last = None
        if self.env.price_list_dates:
            first, last = _day(r.sfl_ilktarih, "valid_from"), _day(r.sfl_sontarih, "valid_to")
            if first is not None and last is not None and last < first:
                raise RecordError(f"the list ends ({last}) before it starts ({first})", "valid_to")
        vat = self.env.price_list_vat_value
        return PriceListEntry(
            list_code=str(r.sfiyat_listesirano),
            list_name=clean(r.sfl_aciklama, field="list_name"),
            product_code=product,
            unit=unit,
            unit_code=unit_code(unit),
            price=fixed(r.sfiyat_fiyati, 4, "price"),
            currency=self.env.currency(r.sfiyat_doviz, "currency"),
            vat_included=flag(r.sfl_kdvdahil, "vat_included", (vat,), (not vat,)),
            valid_from=first,
            valid_to=last,
        )


def _day(value: Any, field: str) -> dt.date | None:
    """A header date: 1899-12-30 (Mikro's blank) is no bound; NULL, which Mikro never writes, is an error."""
    if value is None:
        raise RecordError("missing (NULL; Mikro writes 1899-12-30 for no date)", field)
    return business_date(value, field)
