"""Master data: accounts (customer master KNA1 + KNB1 + KNVV + KNVP + ADR6) and products (MARA and its views)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.streams import EccStream, Item, Join, latest
from mapping.errors import RecordError
from mapping.money import quantity
from mapping.schema import Account, Product, UnitConversion
from mapping.taxid import tax_identity
from mapping.text import clean, code, email, phone, required, required_code

__all__ = ["Accounts", "Products"]

_DELETED = "X"


class Accounts(EccStream):
    """Customers (KNA1) of the configured sales area. KNA1 has no change date: a snapshot."""

    name = "accounts"
    primary_key = ("code",)
    replication_key = None
    table = "KNA1"
    key_fields = ("KUNNR",)

    def head_read(self) -> Read:
        o = self.env.options
        return Read(
            "KNA1",
            ("KUNNR",),
            (
                "NAME1",
                "NAME2",
                "NAME3",
                "NAME4",
                "LAND1",
                "ORT01",
                "STRAS",
                "TELF1",
                "ADRNR",
                "ERDAT",
                "LIFNR",
                "LOEVM",
                "SPERR",
                "AUFSD",
                "STKZN",
                o.tax_office_field,
                o.tax_number_field,
            ),
            optional={
                "NAME3": "accounts.title (its third name line)",
                "NAME4": "accounts.title (its fourth name line)",
                "LIFNR": "accounts.kind (customers that are vendors too stay 'customer')",
                "STKZN": "accounts.is_individual",
            },
            remap={o.tax_office_field: "ecc.tax_office_field", o.tax_number_field: "ecc.tax_number_field"},
        )

    def joins(self) -> Sequence[Join]:
        s = self.env.settings
        functions = w.in_("PARVW", sorted({s.sales_rep_partner_function, s.parent_partner_function}))
        return (
            Join(Read("KNB1", ("KUNNR", "BUKRS"), ("ZTERM", "LOEVM", "SPERR")), "KUNNR", "KUNNR", self.env.company()),
            Join(
                Read(
                    "KNVV", ("KUNNR", "VKORG", "VTWEG", "SPART"), ("KDGRP", "BZIRK", "WAERS", "ZTERM", "LOEVM", "AUFSD")
                ),
                "KUNNR",
                "KUNNR",
                self.env.area(),
            ),
            Join(
                Read("KNVP", ("KUNNR", "VKORG", "VTWEG", "SPART", "PARVW", "PARZA"), ("PERNR", "KUNN2")),
                "KUNNR",
                "KUNNR",
                w.and_(functions, self.env.area()),
            ),
            Join(
                Read("ADR6", ("ADDRNUMBER", "PERSNUMBER", "DATE_FROM", "CONSNUMBER"), ("FLGDEFAULT", "SMTP_ADDR")),
                "ADDRNUMBER",
                "ADRNR",
                w.eq("PERSNUMBER", ""),
            ),
        )

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        in_area = self.env.settings.sales_organization is not None
        for items in super().read(None, partition):
            # A customer without sales data in the configured area is not one of this source's dealers.
            yield [item for item in items if item["KNVV"] or not in_area]

    def map(self, item: Item) -> Account:
        r = item["KNA1"]
        o = self.env.options
        sales = item["KNVV"][0] if item["KNVV"] else {}
        company = item["KNB1"][0] if item["KNB1"] else {}
        s = self.env.settings
        partners = sorted(item["KNVP"], key=lambda p: p.get("PARZA", ""))
        rep = next((p["PERNR"] for p in partners if p.get("PARVW") == s.sales_rep_partner_function), None)
        parent = next((p["KUNN2"] for p in partners if p.get("PARVW") == s.parent_partner_function), None)
        mails = sorted(item["ADR6"], key=lambda a: (a.get("FLGDEFAULT") != "X", a.get("CONSNUMBER", "")))
        country = code(r["LAND1"], "country")
        individual = v.flag(r.get("STKZN"), "is_individual")
        tax = tax_identity(r.get(o.tax_number_field), country or "TR", individual)
        return Account(
            code=required_code(codes.alpha_out(r["KUNNR"]), "code"),
            title=required(" ".join(r[f] for f in ("NAME1", "NAME2", "NAME3", "NAME4") if r.get(f)), "title", 2000),
            tax_id=tax.value,
            tax_id_kind=tax.kind,
            tax_id_valid=tax.valid,
            tax_office=clean(r.get(o.tax_office_field), field="tax_office"),
            kind="both" if r.get("LIFNR") else "customer",
            is_individual=individual,
            currency=codes.sap_currency(sales.get("WAERS"), "currency"),
            group_code=code(sales.get("KDGRP"), "group_code"),
            region_code=code(sales.get("BZIRK"), "region_code"),
            sales_rep_code=code(v.personnel(rep), "sales_rep_code"),
            parent_code=code(codes.alpha_out(parent), "parent_code"),
            phone=phone(r["TELF1"]),
            email=email(mails[0]["SMTP_ADDR"]) if mails else None,
            address=clean(r["STRAS"], field="address"),
            city=clean(r["ORT01"], field="city"),
            country=country,
            created_at=v.stamp(r["ERDAT"], None, self.tz, "created_at"),
            active=_DELETED not in (r["LOEVM"], sales.get("LOEVM"), company.get("LOEVM")),
            blocked=_DELETED in (r["SPERR"], company.get("SPERR")) or bool(r["AUFSD"] or sales.get("AUFSD")),
            payment_terms=code(sales.get("ZTERM"), "payment_terms") or code(company.get("ZTERM"), "payment_terms"),
        )


class Products(EccStream):
    """Materials (MARA, service materials excluded), with texts, units, EANs, sales and tax data.

    Incremental by MARA-ERSDA / LAEDA (created / last changed, days).
    """

    name = "products"
    primary_key = ("code",)
    replication_key = "modified"
    table = "MARA"
    key_fields = ("MATNR",)

    def head_read(self) -> Read:
        brand = self.env.options.brand_field
        return Read(
            "MARA",
            ("MATNR",),
            ("ERSDA", "LAEDA", "LVORM", "MTART", "MATKL", "MEINS", "EAN11", *((brand,) if brand else ())),
            remap={brand: "ecc.brand_field"} if brand else {},
        )

    def condition(self) -> str | None:
        services = self.env.options.service_material_types
        return w.not_in("MTART", services) if services else None

    def changed(self, since: str) -> str | None:
        return w.or_(w.ge("ERSDA", since), w.ge("LAEDA", since))

    def joins(self) -> Sequence[Join]:
        o = self.env.options
        return (
            Join(Read("MAKT", ("MATNR", "SPRAS"), ("MAKTX",)), "MATNR", "MATNR"),
            Join(Read("MARM", ("MATNR", "MEINH"), ("UMREZ", "UMREN", "EAN11")), "MATNR", "MATNR"),
            Join(
                Read(
                    "MEAN",
                    ("MATNR", "MEINH", "LFNUM"),
                    ("EAN11", "HPEAN"),
                    optional={"HPEAN": "products.barcodes (the main EAN first; without it, in MEAN order)"},
                ),
                "MATNR",
                "MATNR",
            ),
            Join(
                Read("MVKE", ("MATNR", "VKORG", "VTWEG"), ("KONDM", "LVORM")),
                "MATNR",
                "MATNR",
                self.env.area(division=False),
            ),
            Join(Read("MLAN", ("MATNR", "ALAND"), ("TAXM1",)), "MATNR", "MATNR", w.eq("ALAND", o.tax_country)),
        )

    def cursor(self, item: Item) -> dt.datetime | None:
        r = item["MARA"]
        return latest(self.moment(r.get("ERSDA")), self.moment(r.get("LAEDA")))

    def map(self, item: Item) -> Product:
        r = item["MARA"]
        base = required_code(r["MEINS"], "base_unit")
        texts = {t["SPRAS"]: t["MAKTX"] for t in item["MAKT"]}
        name = texts.get(self.env.options.language) or next((texts[k] for k in sorted(texts) if texts[k]), None)
        sales = item["MVKE"][0] if item["MVKE"] else {}
        eans = sorted(
            (e for e in item["MEAN"] if e["MEINH"] == base and e["EAN11"]),
            key=lambda e: (e.get("HPEAN") != "X", e.get("LFNUM", "")),
        )
        barcodes = [e["EAN11"] for e in eans] or ([r["EAN11"]] if r["EAN11"] else [])
        brand = self.env.options.brand_field
        return Product(
            code=required_code(codes.alpha_out(r["MATNR"]), "code"),
            name=required(name, "name", 2000),
            barcodes=barcodes,
            base_unit=base,
            base_unit_code=codes.sap_unit_code(base),
            units=self._units(item["MARM"], base),
            category_code=code(r["MATKL"], "category_code"),
            group_code=code(sales.get("KONDM"), "group_code"),
            brand=code(r.get(brand), "brand") if brand else None,
            vat_rate=self.vat_rate(item["MLAN"][0]["TAXM1"] if item["MLAN"] else None, "vat_rate"),
            active=_DELETED not in (r["LVORM"], sales.get("LVORM")),
        )

    def _units(self, rows: list[Row], base: str) -> list[UnitConversion]:
        ordered = sorted(rows, key=lambda u: (u["MEINH"] != base, u["MEINH"]))
        units = []
        for u in ordered:
            denominator = v.number(u["UMREN"], "units.factor")
            if not denominator:
                raise RecordError("zero denominator (MARM-UMREN)", "units.factor")
            factor = quantity(v.number(u["UMREZ"], "units.factor") / denominator, "units.factor")
            units.append(
                UnitConversion(
                    unit=required_code(u["MEINH"], "units.unit"),
                    factor=factor,  # type: ignore[arg-type]
                    unit_code=codes.sap_unit_code(u["MEINH"]),
                    barcode=code(u["EAN11"], "units.barcode"),
                )
            )
        return units
