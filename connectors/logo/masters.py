"""Firm-level master streams: accounts (CLCARD) and products (ITEMS + units + barcodes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.logo import codes
from connectors.logo.streams import LogoEnv, LogoStream, currency_of, stamp_columns
from connectors.logo.tables import LogoTables
from connectors.sql import for_refs
from mapping.errors import RecordError
from mapping.money import percent, quantity, unit_price
from mapping.schema import Account, Discount, Product, UnitConversion
from mapping.taxid import tax_identity
from mapping.text import clean, code, email, flag, phone, required, required_code
from mapping.units import unit_code

__all__ = ["Accounts", "Discounts", "Products"]


class Accounts(LogoStream):
    """CLCARD rows (placeholder 'ÿ' rows excluded; a NULL code is read, to be a dead letter) with the sales rep,
    parent and payment plan codes."""

    name = "accounts"
    primary_key = ("code",)
    replication_key = "modified"

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        # CLCARD.BLOCKED is 0 or 1; which one means blocked is the blocked_means setting.
        self.blocked = blocked_values(env.blocked_value)

    def table(self, t: LogoTables) -> sa.Table:
        return t.CLCARD

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        # NULL != 'ÿ' is not true in SQL: without the IS NULL a card without a code would never be read.
        code_ = t.CLCARD.c.CODE
        return sa.or_(code_.is_(None), code_ != codes.PLACEHOLDER_CODE)

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        c, rel, rep = t.CLCARD.c, t.SLSCLREL.c, t.SLSMAN.c
        parent = t.CLCARD.alias("PARENT")
        # A client may have several reps in SLSCLREL: the lowest code, deterministically.
        rep_code = (
            sa.select(sa.func.min(rep.CODE))
            .where(rel.CLIENTREF == c.LOGICALREF, rep.LOGICALREF == rel.SALESMANREF)
            .scalar_subquery()
        )
        return sa.select(
            c.LOGICALREF,
            c.CODE,
            c.DEFINITION_,
            c.TAXNR,
            c.TCKNO,
            c.ISPERSCOMP,
            c.TAXOFFICE,
            c.CARDTYPE,
            c.CCURRENCY,
            c.SPECODE,
            c.SPECODE2,
            rep_code.label("REPCODE"),
            parent.c.CODE.label("PARENTCODE"),
            c.TELNRS1,
            c.EMAILADDR,
            c.ADDR1,
            c.ADDR2,
            c.CITY,
            c.COUNTRYCODE,
            c.ACTIVE,
            c.BLOCKED,
            c.DISCRATE,
            t.PAYPLANS.c.CODE.label("PAYCODE"),
            c.ACCEPTEINV,
            *stamp_columns(t.CLCARD),
        ).select_from(
            t.CLCARD.outerjoin(parent, parent.c.LOGICALREF == c.PARENTCLREF).outerjoin(
                t.PAYPLANS, t.PAYPLANS.c.LOGICALREF == c.PAYMENTREF
            )
        )

    def map(self, item: Row[Any]) -> Account:
        r = item
        kind = self.env.account_kinds.get(r.CARDTYPE)
        if kind is None:
            raise RecordError(f"unknown CLCARD.CARDTYPE {r.CARDTYPE!r} (map it with account_kinds)", "kind")
        # ISPERSCOMP and ACCEPTEINV are newer releases' columns, read as NULL where a release lacks them.
        individual = flag(r.ISPERSCOMP, "is_individual", (1,), (0, None))
        country = code(r.COUNTRYCODE, "country")
        # An individual's national id is TCKNO on releases that have it; older ones keep it in TAXNR.
        tax = tax_identity((r.TCKNO or r.TAXNR) if individual else r.TAXNR, country or "TR")
        address = " ".join(part for part in (clean(r.ADDR1, field="address"), clean(r.ADDR2, field="address")) if part)
        return Account(
            code=required_code(r.CODE, "code"),
            title=required(r.DEFINITION_, "title", 2000),
            tax_id=tax.value,
            tax_id_kind=tax.kind,
            tax_id_valid=tax.valid,
            tax_office=clean(r.TAXOFFICE, field="tax_office"),
            kind=kind,
            is_individual=individual,
            # An account's currency is optional in the feed: NULL stays unknown, never the local one.
            currency=None if r.CCURRENCY is None else currency_of(self.env.currencies, r.CCURRENCY, "currency"),
            group_code=code(r.SPECODE, "group_code"),
            region_code=code(r.SPECODE2, "region_code"),
            sales_rep_code=code(r.REPCODE, "sales_rep_code"),
            parent_code=code(r.PARENTCODE, "parent_code"),
            phone=phone(r.TELNRS1),
            email=email(r.EMAILADDR),
            address=address or None,
            city=clean(r.CITY, field="city"),
            country=country,
            created_at=self._created(r),
            active=active(r.ACTIVE, "active"),
            blocked=flag(r.BLOCKED, "blocked", *self.blocked),
            discount_rate=percent(r.DISCRATE, "discount_rate") or None,
            payment_terms=code(r.PAYCODE, "payment_terms"),
            e_invoice=None if r.ACCEPTEINV is None else flag(r.ACCEPTEINV, "e_invoice"),
        )

    def _created(self, r: Row[Any]) -> dt.datetime | None:
        d = r.CDATE
        if d is None:
            return None
        return dt.datetime(d.year, d.month, d.day, r.CH or 0, r.CM or 0, r.CS or 0, tzinfo=self.tz)


class Products(LogoStream):
    """ITEMS (material classes 20/21/22 excluded; a NULL CARDTYPE is read, to be a dead letter) with brand;
    units and barcodes fetched per page."""

    name = "products"
    primary_key = ("code",)
    replication_key = "modified"

    def table(self, t: LogoTables) -> sa.Table:
        return t.ITEMS

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        # NOT IN drops NULLs in SQL: a card without a type must be read, to be a dead letter, not vanish.
        cardtype = t.ITEMS.c.CARDTYPE
        return sa.or_(cardtype.is_(None), cardtype.not_in(codes.ITEM_CLASS_CARDTYPES))

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        i = t.ITEMS.c
        return sa.select(
            i.LOGICALREF,
            i.CARDTYPE,
            i.CODE,
            i.NAME,
            i.STGRPCODE,
            i.SPECODE,
            t.MARK.c.CODE.label("BRAND"),
            i.VAT,
            i.ACTIVE,
            *stamp_columns(t.ITEMS),
        ).select_from(t.ITEMS.outerjoin(t.MARK, t.MARK.c.LOGICALREF == i.MARKREF))

    def units(self, t: LogoTables) -> sa.Select[Any]:
        a, u, b = t.ITMUNITA.c, t.UNITSETL.c, t.UNITBARCODE.c
        return (
            sa.select(a.ITEMREF, u.CODE, u.MAINUNIT, a.CONVFACT1, a.CONVFACT2, b.BARCODE)
            .select_from(
                t.ITMUNITA.join(t.UNITSETL, u.LOGICALREF == a.UNITLINEREF).outerjoin(
                    t.UNITBARCODE, b.ITMUNITAREF == a.LOGICALREF
                )
            )
            .order_by(a.ITEMREF, a.LINENR, b.LINENR)
        )

    def related(self, t: LogoTables) -> list[sa.Select[Any]]:
        return [self.units(t)]

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[tuple[Any, list[Any]]]:
        units: dict[int, list[Any]] = {}
        for unit in for_refs(conn, self.units(t), t.ITMUNITA.c.ITEMREF, [r.LOGICALREF for r in rows]):
            units.setdefault(unit.ITEMREF, []).append(unit)
        return [(r, units.get(r.LOGICALREF, [])) for r in rows]

    def map(self, item: tuple[Row[Any], list[Row[Any]]]) -> Product:
        r, unit_rows = item
        if r.CARDTYPE is None:
            raise RecordError("missing (NULL: no card type tells goods from a material class)", "ITEMS.CARDTYPE")
        units: list[UnitConversion] = []
        barcodes: list[str] = []
        base_unit = None
        for u in unit_rows:
            unit = required_code(u.CODE, "units.unit")
            barcode = code(u.BARCODE, "units.barcode")
            main = flag(u.MAINUNIT, "units.main")
            if barcode is not None and main:
                barcodes.append(barcode)  # the product's barcodes are its base unit's; a case has its own
            if units and units[-1].unit == unit:  # a second barcode of the same unit
                continue
            if main:
                base_unit = unit
            # One of this unit holds CONVFACT2 / CONVFACT1 base units (direction UNCONFIRMED).
            factor = quantity(_convfact(u.CONVFACT2) / _convfact(u.CONVFACT1), "units.factor")
            units.append(UnitConversion(unit=unit, factor=factor, unit_code=unit_code(unit), barcode=barcode))
        return Product(
            code=required_code(r.CODE, "code"),
            name=required(r.NAME, "name", 2000),
            barcodes=barcodes,
            base_unit=base_unit,
            base_unit_code=unit_code(base_unit) if base_unit else None,
            units=units,
            category_code=code(r.STGRPCODE, "category_code"),
            group_code=code(r.SPECODE, "group_code"),
            brand=code(r.BRAND, "brand"),
            vat_rate=percent(r.VAT, "vat_rate"),
            active=active(r.ACTIVE, "active"),
        )


def for_no_dealer(t: LogoTables) -> sa.ColumnElement[bool]:
    """A sales price card restricted to no account and no account group: a price list's, not a dealer's (Logo
    writes '' where a ZString is empty; NULL is read the same)."""
    p = t.PRCLIST.c
    return sa.and_(
        sa.or_(p.CLIENTCODE.is_(None), p.CLIENTCODE == ""), sa.or_(p.CLSPECODE.is_(None), p.CLSPECODE == "")
    )


class _PriceRules(LogoStream):
    """Customer-specific sales prices: PRCLIST rows (PTYPE 2) restricted to an account or an account group ->
    fixed_price (the unrestricted ones are the price_lists stream's)."""

    name = "discounts"
    primary_key = ("code",)
    replication_key = "modified"
    source = "PRC"

    def table(self, t: LogoTables) -> sa.Table:
        return t.PRCLIST

    def where(self, t: LogoTables) -> sa.ColumnElement[bool]:
        return sa.and_(t.PRCLIST.c.PTYPE == codes.PRCLIST_SALES, sa.not_(for_no_dealer(t)))

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        p = t.PRCLIST.c
        return sa.select(
            p.LOGICALREF,
            p.CODE,
            p.CLIENTCODE,
            p.CLSPECODE,
            t.ITEMS.c.CODE.label("ITEMCODE"),
            sa.null().label("ITMSPECODE"),
            p.PRICE.label("VALUE"),
            p.CURRENCY,
            p.MINAMOUNT,
            p.BEGDATE,
            p.ENDDATE,
            p.PRIORITY,
            p.ACTIVE,
            *stamp_columns(t.PRCLIST),
        ).select_from(t.PRCLIST.outerjoin(t.ITEMS, t.ITEMS.c.LOGICALREF == p.CARDREF))

    def prefix(self, t: LogoTables) -> str:
        return f"{t.firm:03d}:{self.source}:"

    def key(self, item: Row[Any]) -> str:
        return f"{self.env.firm:03d}:{self.source}:{item.LOGICALREF}"

    def kind(self, item: Row[Any]) -> str:
        return "fixed_price"

    def map(self, item: Row[Any]) -> Discount:
        r = item
        kind = self.kind(r)
        dims = (
            ("account", r.CLIENTCODE),
            ("account_group", r.CLSPECODE),
            ("product", r.ITEMCODE),
            ("product_group", r.ITMSPECODE),
        )
        currency = None if r.CURRENCY is None else currency_of(self.env.currencies, r.CURRENCY, "currency")
        value = unit_price(r.VALUE, "value") if kind == "fixed_price" else percent(r.VALUE, "value")
        return Discount(
            code=required_code(r.CODE, "code"),
            scope="+".join(name for name, v in dims if v) or "all",
            account_code=code(r.CLIENTCODE, "account_code"),
            account_group_code=code(r.CLSPECODE, "account_group_code"),
            product_code=code(r.ITEMCODE, "product_code"),
            product_group_code=code(r.ITMSPECODE, "product_group_code"),
            kind=kind,  # type: ignore[arg-type]
            value=value,  # type: ignore[arg-type]
            currency=currency,
            min_quantity=quantity(r.MINAMOUNT, "min_quantity") or None,
            valid_from=r.BEGDATE.date() if r.BEGDATE else None,
            valid_to=r.ENDDATE.date() if r.ENDDATE else None,
            priority=r.PRIORITY or 0,
            active=active(r.ACTIVE, "active", absent=True),  # no ACTIVE column on a release: in use
        )


class _DiscountView(_PriceRules):
    """Percent and amount rules from the integrator's discount view (`discount_view`): Logo keeps them in
    campaigns and condition formulas (DECARDS carries a FORMULA, no rate or restriction columns, per LDDS),
    which no SELECT can normalise. The view states them in dealersync's columns; see the README."""

    source = "DEC"

    def table(self, t: LogoTables) -> sa.Table:
        return t.DISCOUNTS

    def where(self, t: LogoTables) -> None:
        return None  # the view holds sales rules only

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        d = t.DISCOUNTS.c
        return sa.select(
            d.LOGICALREF,
            d.CODE,
            d.CLIENTCODE,
            d.CLSPECODE,
            d.ITEMCODE,
            d.ITMSPECODE,
            sa.case((d.ISAMOUNT == 1, d.AMOUNT), else_=d.DISCRATE).label("VALUE"),
            d.ISAMOUNT,
            d.CURRENCY,
            d.MINAMOUNT,
            d.BEGDATE,
            d.ENDDATE,
            d.PRIORITY,
            d.ACTIVE,
            *stamp_columns(t.DISCOUNTS),
        )

    def kind(self, item: Row[Any]) -> str:
        return "amount" if flag(item.ISAMOUNT, "kind") else "percent"


class Discounts(LogoStream):
    """Fixed prices from PRCLIST and, where the integrator defines the discount view, its percent/amount
    rules, as one stream. Keys say the source: "001:PRC:<ref>" / "001:DEC:<ref>"."""

    name = "discounts"
    primary_key = ("code",)
    replication_key = "modified"

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        self.parts: dict[str, _PriceRules] = {"PRC": _PriceRules(env)}
        if env.discount_view:
            self.parts["DEC"] = _DiscountView(env)

    def statements(self) -> Iterator[sa.Select[Any]]:
        for part in self.parts.values():
            yield from part.statements()

    def _part(self, item: Row[Any]) -> _PriceRules:
        return self.parts["DEC" if "ISAMOUNT" in item._fields else "PRC"]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        for part in self.parts.values():
            yield from part.read(since, partition)

    def key(self, item: Row[Any]) -> str:
        return self._part(item).key(item)

    def map(self, item: Row[Any]) -> Discount:
        return self._part(item).map(item)

    def count(self) -> int | None:
        return sum(part.count() or 0 for part in self.parts.values())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return [item for part in self.parts.values() for item in part.fetch(keys)]


def active(value: Any, field: str, *, absent: bool = False) -> bool:
    """ACTIVE on CLCARD / ITEMS / PRCLIST: 0 in use, 1 passive (LDDS). `absent`: what NULL means where a release
    lacks the column (read as NULL); elsewhere NULL is an unknown state, an error."""
    return flag(value, field, (codes.ACTIVE_IN_USE, None) if absent else (codes.ACTIVE_IN_USE,), (1,))


def blocked_values(blocked_means: int) -> tuple[tuple[int], tuple[int]]:
    """(true, false) values of CLCARD.BLOCKED for `flag`: blocked_means and the other of 0 and 1."""
    return (blocked_means,), (1 - blocked_means,)


def _convfact(value: Any) -> Decimal:
    """A CONVFACT1/2 column; NULL or 0 cannot say how many base units a unit holds."""
    if not value:
        raise RecordError(f"conversion factor {value!r} (NULL or 0)", "units.factor")
    return Decimal(repr(float(value)))
