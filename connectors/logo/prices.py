"""Sales price lists: LG_FFF_PRCLIST sales prices (PTYPE 2) restricted to no dealer.

Logo keeps a sales price as a price card per item (PRCLIST: CARDREF the item, PRICE in CURRENCY for the unit
UOMREF, INCVAT, BEGDATE-ENDDATE, MINAMOUNT), restricted, where it is a dealer's price, to an account
(CLIENTCODE) or an account group (CLSPECODE): those are the discounts stream's fixed prices. The cards with
neither are the price lists; Logo has no list header, so the card's CODE names the list and DEFINITION_ its
name (a convention: UNCONFIRMED, see README).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.logo import codes
from connectors.logo.masters import active, for_no_dealer
from connectors.logo.streams import LogoStream, currency_of, stamp_columns
from connectors.logo.tables import LogoTables
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import quantity, unit_price
from mapping.schema import PriceListEntry
from mapping.text import clean, code, flag, required_code
from mapping.units import unit_code

__all__ = ["PriceLists"]


class PriceLists(LogoStream):
    name = "price_lists"
    primary_key = ("list_code", "product_code", "unit", "valid_from")
    replication_key = "modified"

    def table(self, t: LogoTables) -> sa.Table:
        return t.PRCLIST

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        return sa.and_(t.PRCLIST.c.PTYPE == codes.PRCLIST_SALES, for_no_dealer(t))

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        p = t.PRCLIST.c
        return sa.select(
            p.LOGICALREF,
            p.CODE,
            p.DEFINITION_,
            t.ITEMS.c.CODE.label("ITEMCODE"),
            t.UNITSETL.c.CODE.label("UNIT"),
            p.UOMREF,
            p.PRICE,
            p.CURRENCY,
            p.INCVAT,
            p.MINAMOUNT,
            p.BEGDATE,
            p.ENDDATE,
            p.ACTIVE,
            *stamp_columns(t.PRCLIST),
        ).select_from(
            t.PRCLIST.outerjoin(t.ITEMS, t.ITEMS.c.LOGICALREF == p.CARDREF).outerjoin(
                t.UNITSETL, t.UNITSETL.c.LOGICALREF == p.UOMREF
            )
        )

    def map(self, item: Row[Any]) -> PriceListEntry:
        r = item
        if r.ITEMCODE is None:
            raise RecordError(f"CARDREF names no item card (UOMREF {r.UOMREF!r})", "product_code")
        unit = code(r.UNIT, "unit")
        if unit is None and r.UOMREF:  # a unit the card names but the unit set lacks: never left out in silence
            raise RecordError(f"UOMREF {r.UOMREF!r} names no unit", "unit")
        price = unit_price(r.PRICE, "price")
        if price is None:
            raise RecordError("missing (NULL PRICE)", "price")
        return PriceListEntry(
            list_code=required_code(r.CODE, "list_code"),
            list_name=clean(r.DEFINITION_, 2000, "list_name"),
            product_code=required_code(r.ITEMCODE, "product_code"),
            unit=unit,
            unit_code=unit_code(unit) if unit else None,
            price=price,
            currency=currency_of(self.env.currencies, r.CURRENCY, "currency"),
            vat_included=flag(r.INCVAT, "vat_included"),
            min_quantity=quantity(r.MINAMOUNT, "min_quantity") or None,
            valid_from=business_date(r.BEGDATE, "valid_from"),
            valid_to=business_date(r.ENDDATE, "valid_to"),
            active=active(r.ACTIVE, "active", absent=True),  # no ACTIVE column on a release: in use
        )
