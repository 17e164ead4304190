"""Card streams: accounts (TBLCASABIT), products (TBLSTSABIT) and discount conditions (TBLKOSULMAS)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.netsis import codes
from connectors.netsis.scopes import NetsisEnv
from connectors.netsis.streams import CardStream
from connectors.versions import row_version, salt, storable
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed, percent, quantity, unit_price
from mapping.schema import Account, Discount, Product, UnitConversion
from mapping.taxid import tax_identity
from mapping.text import clean, code, email, flag, phone, required, required_code
from mapping.units import unit_code

__all__ = ["Accounts", "Discounts", "Products"]


class Accounts(CardStream):
    """TBLCASABIT; e-invoice users are the accounts whose tax id is in TBLEFATCARI (GİB's user list)."""

    name = "accounts"
    primary_key = ("code",)

    def table(self) -> sa.Table:
        return self.env.tables.CASABIT

    def code_column(self) -> sa.Column[str]:
        return self.env.tables.CASABIT.c.CARI_KOD

    def select_rows(self) -> sa.Select[Any]:
        c, e = self.table().c, self.env.tables.EFATCARI.c
        e_invoice = sa.exists().where(e.IDENTIFIER == c.VERGI_NUMARASI)
        return sa.select(
            c.CARI_KOD,
            c.CARI_ISIM,
            c.CARI_TIP,
            c.VERGI_NUMARASI,
            c.VERGI_DAIRESI,
            c.DOVIZ_TIPI,
            c.GRUP_KODU,
            c[self.settings.region_column].label("REGION"),
            c.PLASIYER_KODU,
            c.BAGLICARIKOD,
            c.CARI_TEL,
            c.EMAIL,
            c.CARI_ADRES,
            c.CARI_IL,
            c.ULKE_KODU,
            c.ISKONTO_ORANI,
            c.VADE_GUNU,
            e_invoice.label("EFATURA"),
            c.KAYITTARIHI,
            c.DUZELTMETARIHI,
        )

    def map(self, item: Row[Any]) -> Account:
        r, text = item, self.text
        kind = self.settings.account_kinds.get(raw_kind := (r.CARI_TIP or "").strip())
        if kind is None:
            raise RecordError(f"unknown CARI_TIP {raw_kind!r} (add it to the account_kinds setting)", "kind")
        country = code(r.ULKE_KODU, "country")
        # A mistyped tax number still belongs to a dealer whose invoices arrive: it goes out marked invalid.
        tax = tax_identity(r.VERGI_NUMARASI, country or "TR")
        # Optional in the feed: a NULL currency number stays unknown, never the local currency.
        currency = None if r.DOVIZ_TIPI is None else self.env.currencies.get(r.DOVIZ_TIPI)
        if currency is None and r.DOVIZ_TIPI is not None:
            raise RecordError(f"unknown Netsis currency number {r.DOVIZ_TIPI!r} (see currency_codes)", "currency")
        return Account(
            code=required_code(text(r.CARI_KOD), "code"),
            title=required(text(r.CARI_ISIM), "title", 2000),
            tax_id=tax.value,
            tax_id_kind=tax.kind,
            tax_id_valid=tax.valid,
            tax_office=clean(text(r.VERGI_DAIRESI), field="tax_office"),
            kind=kind,
            is_individual=tax.kind == "TCKN",
            currency=currency,
            group_code=code(text(r.GRUP_KODU), "group_code"),
            region_code=code(text(r.REGION), "region_code"),
            sales_rep_code=code(text(r.PLASIYER_KODU), "sales_rep_code"),
            parent_code=code(text(r.BAGLICARIKOD), "parent_code"),
            phone=phone(r.CARI_TEL),
            email=email(r.EMAIL),
            address=clean(text(r.CARI_ADRES), field="address"),
            city=clean(text(r.CARI_IL), field="city"),
            country=country,
            created_at=self.aware(r.KAYITTARIHI),
            discount_rate=percent(r.ISKONTO_ORANI, "discount_rate") or None,
            # Netsis keeps the due-day count, not a named payment plan.
            payment_terms=None if r.VADE_GUNU is None else str(r.VADE_GUNU),
            e_invoice=bool(r.EFATURA),
        )


def _exact(value: Any, field: str) -> Decimal:
    """A FLOAT's value as written (its shortest repr), or a DECIMAL's as it is; NULL says no conversion."""
    if value is None:
        raise RecordError("missing (a unit without PAY/PAYDA)", field)
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def yes_no(value: Any, field: str) -> bool:
    """A Netsis E/H flag (KILIT, KAPALI): E yes, H no, blank or NULL not set (codes.NOT_SET); else an error."""
    return flag(value, field, (codes.YES,), (codes.NO, *codes.NOT_SET))


class Products(CardStream):
    """TBLSTSABIT without service cards (GRUP_KODU = service_group); units and barcodes are on the card.

    Where the cards carry no stamps (the public layout has none) every card is read on every sync: its version, a
    digest of the row (connectors.versions), spares mapping the cards that did not move."""

    name = "products"
    primary_key = ("code",)

    def __init__(self, env: NetsisEnv) -> None:
        super().__init__(env)
        self.salt = salt(self.name, env.company, env.settings.model_dump_json())

    def key(self, item: Any) -> str:
        return storable(super().key(item))

    def version(self, item: Row[Any]) -> str:
        return row_version(self.salt, tuple(item))

    def table(self) -> sa.Table:
        return self.env.tables.STSABIT

    def code_column(self) -> sa.Column[str]:
        return self.env.tables.STSABIT.c.STOK_KODU

    def where(self) -> sa.ColumnElement[bool]:
        group = self.table().c.GRUP_KODU
        return sa.or_(group.is_(None), group != self.settings.service_group)

    def select_rows(self) -> sa.Select[Any]:
        s, settings = self.table().c, self.settings
        return sa.select(
            s.STOK_KODU,
            s.STOK_ADI,
            s.GRUP_KODU,
            s[settings.product_group_column].label("GROUPCODE"),
            s[settings.brand_column].label("BRAND"),
            s.OLCU_BR1,
            s.OLCU_BR2,
            s.PAY_1,
            s.PAYDA_1,
            s.OLCU_BR3,
            s.PAY2,
            s.PAYDA2,
            s.BARKOD1,
            s.BARKOD2,
            s.BARKOD3,
            s.KDV_ORANI,
            s.KILIT,
            s.KAYITTARIHI,
            s.DUZELTMETARIHI,
        )

    def _factor(self, pay: Any, payda: Any, field: str) -> Decimal:
        top, bottom = _exact(pay, field), _exact(payda, field)
        if not top or not bottom:
            raise RecordError("unit conversion with a zero PAY/PAYDA", field)
        ratio = top / bottom if self.settings.unit_factor == "PAY/PAYDA" else bottom / top
        return quantity(ratio, field)  # type: ignore[return-value]

    def map(self, item: Row[Any]) -> Product:
        r, text = item, self.text
        base = code(text(r.OLCU_BR1), "base_unit", 100)
        first_barcode = code(r.BARKOD1, "barcodes")
        units = []
        if base is not None:
            units.append(
                UnitConversion(unit=base, factor=Decimal("1.000"), unit_code=unit_code(base), barcode=first_barcode)
            )
        for unit, pay, payda, barcode, field in (
            (r.OLCU_BR2, r.PAY_1, r.PAYDA_1, r.BARKOD2, "units[2].factor"),
            (r.OLCU_BR3, r.PAY2, r.PAYDA2, r.BARKOD3, "units[3].factor"),
        ):
            name = code(text(unit), "units.unit", 100)
            if name is not None and name != base:
                factor = self._factor(pay, payda, field)
                barcode = code(barcode, "units.barcode")
                units.append(UnitConversion(unit=name, factor=factor, unit_code=unit_code(name), barcode=barcode))
        return Product(
            code=required_code(text(r.STOK_KODU), "code"),
            name=required(text(r.STOK_ADI), "name", 2000),
            barcodes=[first_barcode] if first_barcode else [],
            base_unit=base,
            base_unit_code=unit_code(base) if base else None,
            units=units,
            category_code=code(text(r.GRUP_KODU), "category_code"),
            group_code=code(text(r.GROUPCODE), "group_code"),
            brand=code(text(r.BRAND), "brand"),
            vat_rate=percent(r.KDV_ORANI, "vat_rate"),
            active=not yes_no(r.KILIT, "active"),
        )


class Discounts(CardStream):
    """TBLKOSULMAS sales conditions: percent (Y), amount (T) or fixed price (F), with their restrictions."""

    name = "discounts"
    primary_key = ("code",)

    def table(self) -> sa.Table:
        return self.env.tables.KOSULMAS

    def code_column(self) -> sa.Column[str]:
        return self.env.tables.KOSULMAS.c.KOSULKODU

    def select_rows(self) -> sa.Select[Any]:
        k = self.table().c
        return sa.select(
            k.KOSULKODU,
            k.CARI_KOD,
            k.CARI_GRUP_KODU,
            k.STOK_KODU,
            k.STOK_GRUP_KODU,
            k.ISKONTO_TIPI,
            k.DEGER,
            k.DOVIZ_TIPI,
            k.MIN_MIKTAR,
            k.BASTAR,
            k.BITTAR,
            k.ONCELIK,
            k.KAPALI,
            k.KAYITTARIHI,
            k.DUZELTMETARIHI,
        )

    def map(self, item: Row[Any]) -> Discount:
        r, text = item, self.text
        kind = self.settings.discount_kinds.get((r.ISKONTO_TIPI or "").strip())
        if kind is None:
            raise RecordError(f"unknown ISKONTO_TIPI {r.ISKONTO_TIPI!r} (add it to the discount_kinds setting)", "kind")
        dims = {
            "account": code(text(r.CARI_KOD), "account_code"),
            "account_group": code(text(r.CARI_GRUP_KODU), "account_group_code"),
            "product": code(text(r.STOK_KODU), "product_code"),
            "product_group": code(text(r.STOK_GRUP_KODU), "product_group_code"),
        }
        currency = None
        if r.DOVIZ_TIPI is not None:
            currency = self.env.currencies.get(r.DOVIZ_TIPI)
            if currency is None:
                raise RecordError(f"unknown Netsis currency number {r.DOVIZ_TIPI!r} (see currency_codes)", "currency")
        value = unit_price(r.DEGER, "value") if kind == "fixed_price" else fixed(r.DEGER, 2, "value")
        return Discount(
            code=required_code(text(r.KOSULKODU), "code"),
            scope="+".join(name for name, v in dims.items() if v) or "all",
            account_code=dims["account"],
            account_group_code=dims["account_group"],
            product_code=dims["product"],
            product_group_code=dims["product_group"],
            kind=kind,  # type: ignore[arg-type]
            value=value,  # type: ignore[arg-type]
            currency=currency,
            min_quantity=quantity(r.MIN_MIKTAR, "min_quantity") or None,
            valid_from=business_date(r.BASTAR, "valid_from"),
            valid_to=business_date(r.BITTAR, "valid_to"),
            priority=r.ONCELIK or 0,
            active=not yes_no(r.KAPALI, "active"),
        )
