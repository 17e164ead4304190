"""Master streams: accounts (CARI_HESAPLAR + address + payment plan) and products (STOKLAR + barcodes)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.mikro import codes
from connectors.mikro.streams import MikroStream, bit, stamp
from connectors.sql import for_refs
from mapping.errors import RecordError
from mapping.money import fixed
from mapping.schema import Account, Product, UnitConversion
from mapping.taxid import tax_identity
from mapping.text import clean, code, email, flag, phone, required, required_code
from mapping.units import unit_code

__all__ = ["Accounts", "Products", "country_code", "pointed_unit", "unit_factor"]

_TURKEY = frozenset({"TR", "TUR", "TÜRKİYE", "TURKIYE", "TÜRKIYE", "TURKEY"})


def country_code(value: Any) -> str | None:
    """adr_ulke holds the country's name as typed ("TÜRKİYE"); Turkey becomes "TR", others stay as written."""
    name = clean(value, field="country")
    if name is None:
        return None
    return "TR" if name.upper() in _TURKEY else name


class Accounts(MikroStream):
    """CARI_HESAPLAR with the invoice address (CARI_HESAP_ADRESLERI) and payment plan (ODEME_PLANLARI)."""

    name = "accounts"
    primary_key = ("code",)
    replication_key = "modified"
    prefix = "cari"

    def table(self) -> sa.Table:
        return self.env.tables.CARI_HESAPLAR

    def select_rows(self) -> sa.Select[Any]:
        t = self.env.tables
        c, a, p = t.CARI_HESAPLAR.c, t.CARI_HESAP_ADRESLERI.c, t.ODEME_PLANLARI.c
        return sa.select(
            c.cari_Guid.label("GUID"),
            c.cari_lastup_date.label("LASTUP"),
            c.cari_create_date,
            c.cari_iptal,
            c.cari_hidden,
            c.cari_kod,
            c.cari_unvan1,
            c.cari_unvan2,
            c.cari_baglanti_tipi,
            c.cari_doviz_cinsi,
            c.cari_vdaire_adi,
            c.cari_vdaire_no,
            c.cari_VergiKimlikNo,
            c.cari_Ana_cari_kodu,
            c.cari_bolge_kodu,
            c.cari_grup_kodu,
            c.cari_temsilci_kodu,
            c.cari_cari_kilitli_flg,
            c.cari_efatura_fl,
            c.cari_EMail,
            c.cari_CepTel,
            c.cari_sirket_turu,
            c.cari_faal_terk,
            a.adr_cadde,
            a.adr_mahalle,
            a.adr_sokak,
            a.adr_ilce,
            a.adr_il,
            a.adr_ulke,
            p.odp_kodu,
        ).select_from(
            t.CARI_HESAPLAR.outerjoin(
                t.CARI_HESAP_ADRESLERI,
                sa.and_(
                    a.adr_cari_kod == c.cari_kod, a.adr_adres_no == c.cari_fatura_adres_no, a.adr_iptal == sa.false()
                ),
            ).outerjoin(t.ODEME_PLANLARI, sa.and_(p.odp_no == c.cari_odemeplan_no, p.odp_no != 0))
        )

    def map(self, item: Row[Any]) -> Account | None:
        r = item
        if bit(r.cari_iptal, "cari_iptal") or bit(r.cari_hidden, "cari_hidden"):
            return None
        kind = self.env.account_kinds.get(r.cari_baglanti_tipi)
        if kind is None:
            raise RecordError(
                f"cari_baglanti_tipi {r.cari_baglanti_tipi!r} is not in the account_kinds setting", "kind"
            )
        country = country_code(r.adr_ulke)
        # cari_sirket_turu is the company type (Şirket Türü): 1 is a natural person, every other value a company.
        individual = r.cari_sirket_turu == codes.NATURAL_PERSON
        # A mistyped tax number does not stop the dealer's record: it goes out flagged tax_id_valid false.
        number = clean(r.cari_vdaire_no, field="tax_id") or clean(r.cari_VergiKimlikNo, field="tax_id")
        tax = tax_identity(number, country or "TR", individual)
        place = "/".join(p for p in (clean(r.adr_ilce, field="address"), clean(r.adr_il, field="city")) if p)
        street = [clean(r.adr_mahalle, field="address"), clean(r.adr_cadde, field="address")]
        street += [clean(r.adr_sokak, field="address"), place]
        title = (clean(r.cari_unvan1, field="title"), clean(r.cari_unvan2, field="title"))
        return Account(
            code=required_code(r.cari_kod, "code"),
            title=required(" ".join(p for p in title if p), "title", 2000),
            tax_id=tax.value,
            tax_id_kind=tax.kind,
            tax_id_valid=tax.valid,
            tax_office=clean(r.cari_vdaire_adi, field="tax_office"),
            kind=kind,
            is_individual=individual,
            # Optional in the feed: NULL (which Mikro never writes) stays unknown, never the main currency.
            currency=None if r.cari_doviz_cinsi is None else self.env.currency(r.cari_doviz_cinsi, "currency"),
            group_code=code(r.cari_grup_kodu, "group_code"),
            region_code=code(r.cari_bolge_kodu, "region_code"),
            sales_rep_code=code(r.cari_temsilci_kodu, "sales_rep_code"),
            parent_code=code(r.cari_Ana_cari_kodu, "parent_code"),
            phone=phone(r.cari_CepTel),
            email=email(r.cari_EMail),
            address=" ".join(p for p in street if p) or None,
            city=clean(r.adr_il, field="city"),
            country=country,
            created_at=stamp(r.cari_create_date, self.tz),
            # cari_faal_terk: 0 trading, 1 ceased; read as NULL where a release lacks it (all then active).
            active=flag(r.cari_faal_terk, "active", (0, None), (codes.CEASED,)),
            blocked=bit(r.cari_cari_kilitli_flg, "blocked"),
            payment_terms=code(r.odp_kodu, "payment_terms"),
            e_invoice=None if r.cari_efatura_fl is None else bit(r.cari_efatura_fl, "e_invoice"),
        )


class Products(MikroStream):
    """STOKLAR with up to three units (sto_birim1..3) and their barcodes (BARKOD_TANIMLARI, per page)."""

    name = "products"
    primary_key = ("code",)
    replication_key = "modified"
    prefix = "sto"

    def table(self) -> sa.Table:
        return self.env.tables.STOKLAR

    def select_rows(self) -> sa.Select[Any]:
        s = self.table().c
        return sa.select(
            s.sto_Guid.label("GUID"),
            s.sto_lastup_date.label("LASTUP"),
            s.sto_iptal,
            s.sto_hidden,
            s.sto_kod,
            s.sto_isim,
            s.sto_birim1_ad,
            s.sto_birim2_ad,
            s.sto_birim2_katsayi,
            s.sto_birim3_ad,
            s.sto_birim3_katsayi,
            s.sto_toptan_vergi,
            s.sto_kategori_kodu,
            s.sto_anagrup_kod,
            s.sto_marka_kodu,
            s.sto_pasif_fl,
        )

    def barcode_select(self) -> sa.Select[Any]:
        b = self.env.tables.BARKOD_TANIMLARI.c
        # The unit's main barcode first: bar_master holds master_barcode_value on it.
        master = sa.case((b.bar_master == self.env.master_barcode_value, 0), else_=1)
        return (
            sa.select(b.bar_stokkodu, b.bar_birimpntr, b.bar_kodu)
            .where(b.bar_iptal == sa.false(), b.bar_hidden == sa.false())
            .order_by(b.bar_stokkodu, b.bar_birimpntr, master, b.bar_kodu)
        )

    def attached(self) -> list[sa.Select[Any]]:
        return [self.barcode_select()]

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[Any, list[Any]]]:
        b = self.env.tables.BARKOD_TANIMLARI.c
        found: dict[str, list[Any]] = {}
        for bar in for_refs(conn, self.barcode_select(), b.bar_stokkodu, [r.sto_kod for r in rows]):
            found.setdefault(bar.bar_stokkodu, []).append(bar)
        return [(r, found.get(r.sto_kod, [])) for r in rows]

    def map(self, item: tuple[Row[Any], list[Row[Any]]]) -> Product | None:
        r, bars = item
        if bit(r.sto_iptal, "sto_iptal") or bit(r.sto_hidden, "sto_hidden"):
            return None
        by_unit: dict[int, list[str]] = {}
        for bar in bars:
            barcode = code(bar.bar_kodu, "barcodes")
            if barcode is not None:
                by_unit.setdefault(bar.bar_birimpntr, []).append(barcode)
        units: list[UnitConversion] = []
        for pointer, (name, factor) in enumerate(
            ((r.sto_birim1_ad, 1.0), (r.sto_birim2_ad, r.sto_birim2_katsayi), (r.sto_birim3_ad, r.sto_birim3_katsayi)),
            start=1,
        ):
            unit = code(name, "units.unit", 100)
            if unit is None:
                continue
            barcodes = by_unit.get(pointer, [])
            units.append(
                UnitConversion(
                    unit=unit,
                    factor=unit_factor(factor, "units.factor"),
                    unit_code=unit_code(unit),
                    barcode=barcodes[0] if barcodes else None,
                )
            )
        base = code(r.sto_birim1_ad, "base_unit", 100)
        passive = self.env.passive_value
        return Product(
            code=required_code(r.sto_kod, "code"),
            name=required(r.sto_isim, "name", 2000),
            barcodes=by_unit.get(1, []),
            base_unit=base,
            base_unit_code=unit_code(base) if base else None,
            units=units,
            category_code=code(r.sto_kategori_kodu, "category_code"),
            group_code=code(r.sto_anagrup_kod, "group_code"),
            brand=code(r.sto_marka_kodu, "brand"),
            vat_rate=self.env.vat.rate(r.sto_toptan_vergi, "vat_rate"),
            active=flag(r.sto_pasif_fl, "active", (not passive,), (passive,)),
        )


def unit_factor(value: Any, field: str) -> Decimal:
    """Base units in one of a unit: Mikro keeps the katsayı signed (its sign says which way to convert),
    the magnitude is the count; 0 (Mikro's "empty") means 1. NULL, which Mikro never writes, is an error."""
    if value is None:
        raise RecordError("missing (NULL unit factor)", field)
    return fixed(abs(value) or 1.0, 3, field)


def pointed_unit(pointer: Any, units: tuple[tuple[Any, Any], ...], field: str) -> tuple[Any, Any]:
    """The (name, katsayı) of the unit a line's *_birim_pntr points at: 1, 2 or 3, and 0 (Mikro's "nothing") is
    the base unit. Anything else is an error: no pointer is ever bent onto another unit."""
    if pointer == 0:
        return units[0]
    if pointer not in (1, 2, 3):
        raise RecordError(f"unit pointer {pointer!r} is not 1, 2 or 3", field)
    return units[int(pointer) - 1]
