"""Master data of the scenario's distributor: dealers, suppliers, products, warehouses, sales reps, stock.

Besides the schema records, each dealer and product gets a small profile (weights, prices in
integer units, activity window) that the document generators draw from; profiles are
internal and never reach an ERP.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from mapping.schema import Account, Product, StockLevel, UnitConversion
from mapping.taxid import generate_tckn, generate_vkn
from scenario import names
from scenario.facts import SalesRep, Stamped, Warehouse
from scenario.money import dec2, dec3

try:  # the shared unit table, once it exists; the literal UN/ECE Rec. 20 codes until then
    from mapping.units import unit_code as _unit_code  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the build order of the suite
    _UNECE = {"ADET": "C62", "METRE": "MTR", "KG": "KGM", "KOLİ": "CT"}

    def _unit_code(unit: str) -> str | None:
        return _UNECE.get(unit)


def unit_code(unit: str) -> str | None:
    return _unit_code(unit)


@dataclass(slots=True)
class DealerProfile:
    index: int
    code: str
    currency: str
    weight: float  # relative purchase volume
    payment_days: int
    e_invoice: bool
    sales_rep: str
    warehouse: str
    discount_bp: int  # the account's standing line discount, in hundredths of a percent
    active_from: dt.date
    active_until: dt.date | None  # inactive dealers stopped buying then


@dataclass(slots=True)
class ProductProfile:
    index: int
    code: str
    usd_price: int  # list price per base unit, USD in 1/10000
    vat: int
    unit: str
    unit_code: str | None
    case: int  # base units per KOLİ, 0 when not sold by the case
    quantities: tuple[int, ...]  # typical line quantities, base units in 1/1000
    weight: float
    active_until: dt.date | None


def clamp(value: float, low: int, high: int) -> int:
    return int(min(max(value, low), high))


def ean13(twelve: str) -> str:
    odd = sum(int(c) for c in twelve[0::2])
    even = sum(int(c) for c in twelve[1::2])
    return twelve + str((10 - (odd + 3 * even) % 10) % 10)


def _stamp(rng: random.Random, when: dt.datetime, as_of: dt.datetime, edited: float) -> dt.datetime | None:
    """A later edit for a share of master records: they are maintained, not written once."""
    if rng.random() >= edited:
        return None
    return min(when + dt.timedelta(days=rng.randint(1, 600), seconds=rng.randint(0, 86399)), as_of)


def _fold(text: str) -> str:
    return "".join(ch for ch in text.translate(names.ASCII_FOLD).lower() if ch.isalnum())


def warehouses(count: int) -> list[Warehouse]:
    return [Warehouse(number=i, code=f"{i + 1:02d}", name=names.WAREHOUSES[i][0]) for i in range(count)]


def sales_reps(rng: random.Random, count: int) -> list[SalesRep]:
    people: set[str] = set()
    while len(people) < count:
        people.add(f"{rng.choice(names.FIRST_NAMES)} {rng.choice(names.SURNAMES)}")
    return [SalesRep(code=f"SR{i + 1:02d}", name=name) for i, name in enumerate(sorted(people))]


def _title(rng: random.Random, individual: bool) -> tuple[str, str]:
    """(title, e-mail domain stem)."""
    surname = rng.choice(names.SURNAMES)
    trade = rng.choice(names.TRADES)
    if individual:
        first = rng.choice(names.FIRST_NAMES)
        if rng.random() < 0.5:
            return f"{first} {surname}", f"{first}.{surname}"
        return f"{first} {surname} - {surname} {trade}", f"{surname}{trade.split()[0]}"
    stem = surname if rng.random() < 0.7 else rng.choice(names.STEMS)
    title = f"{stem} {trade} {rng.choice(names.LEGAL_FORMS)}".strip()
    return names.upper_tr(title) if rng.random() < 0.15 else title, f"{stem}{trade.split()[0]}"


def accounts(
    rng: random.Random,
    dealers: int,
    suppliers: int,
    reps: list[SalesRep],
    depots: list[Warehouse],
    as_of: dt.datetime,
    history_start: dt.date,
) -> tuple[list[Stamped[Account]], list[DealerProfile]]:
    regions = sorted({c.region for c in names.CITIES})
    reps_of = {
        r: [rep.code for i, rep in enumerate(reps) if i % len(regions) == k] or [reps[0].code]
        for k, r in enumerate(regions)
    }
    depot_of = {names.WAREHOUSES[w.number][1]: w.code for w in depots}
    city_weights = [c.weight for c in names.CITIES]
    group_codes, group_weights = zip(*names.GROUPS, strict=True)
    term_names, term_days, term_weights = zip(*names.PAYMENT_TERMS, strict=True)
    used_ids: set[str] = set()
    out: list[Stamped[Account]] = []
    profiles: list[DealerProfile] = []
    mains: list[Account] = []
    for i in range(dealers + suppliers):
        supplier = i >= dealers
        individual = not supplier and rng.random() < 0.12
        city = rng.choices(names.CITIES, city_weights)[0]
        district = rng.choice(city.districts)
        title, mail_stem = _title(rng, individual)
        if supplier:
            title = f"{rng.choice(names.SURNAMES)} {rng.choice(('Kablo', 'Elektrik', 'Boya', 'Metal'))} Sanayi A.Ş."
        tax_id = ""
        while not tax_id or tax_id in used_ids:
            tax_id = generate_tckn(rng) if individual else generate_vkn(rng)
        used_ids.add(tax_id)
        tenure = dt.timedelta(days=rng.randint(365, 8 * 365), seconds=rng.randint(8 * 3600, 18 * 3600))
        created = (as_of - tenure).replace(microsecond=0)
        group = rng.choices(group_codes, group_weights)[0] if not supplier else None
        parent = None
        if group == "BAYI-C" and mains and rng.random() < 0.3:  # a sub-dealer of a main (A) dealer
            parent = rng.choice(mains)
            created = max(created, parent.created_at + dt.timedelta(days=30)) if parent.created_at else created
        currency = "TRY" if rng.random() < 0.95 else rng.choice(("USD", "USD", "EUR"))
        term = rng.choices(range(len(term_names)), term_weights)[0] if not supplier else 1
        blocked = rng.random() < 0.03
        active = supplier or rng.random() >= 0.04
        discount = rng.randint(4, 20) * 50 if not supplier and rng.random() < 0.35 else 0
        code = f"320.01.{i - dealers + 1:04d}" if supplier else f"120.01.{i + 1:04d}"
        kind = "supplier" if supplier else ("both" if rng.random() < 0.03 else "customer")
        account = Account(
            code=code,
            title=title,
            tax_id=tax_id,
            tax_id_kind="TCKN" if individual else "VKN",
            tax_id_valid=True,
            tax_office=f"{district} VD",
            kind=kind,  # type: ignore[arg-type]
            is_individual=individual,
            currency=currency,
            group_code=group,
            region_code=city.region,
            sales_rep_code=None if supplier else rng.choice(reps_of[city.region]),
            parent_code=parent.code if parent else None,
            phone=f"+90 5{rng.randint(30, 59)} {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            email=f"{'info@' if not individual else ''}{_fold(mail_stem)}{'@gmail.com' if individual else '.com.tr'}",
            address=f"{rng.choice(names.NEIGHBOURHOODS)} Mah. {rng.choice(names.STREETS)} No:{rng.randint(1, 180)} "
            f"{district}/{city.name}",
            city=city.name,
            country="TR",
            created_at=created,
            active=active,
            blocked=blocked,
            discount_rate=dec2(discount) if discount else None,
            payment_terms=term_names[term],
            e_invoice=rng.random() < (0.25 if individual else 0.88),
        )
        out.append(Stamped(account, created, _stamp(rng, created, as_of, 0.3)))
        if group == "BAYI-A":
            mains.append(account)
        if supplier:
            continue
        until = None if active else (as_of - dt.timedelta(days=rng.randint(90, 360))).date()
        weight = min(rng.paretovariate(1.4), 30.0) * {"BAYI-A": 4.0, "BAYI-B": 1.6, "BAYI-C": 0.7}[group or "BAYI-C"]
        profiles.append(
            DealerProfile(
                index=len(profiles),
                code=code,
                currency=currency,
                weight=weight,
                payment_days=term_days[term],
                e_invoice=bool(account.e_invoice),
                sales_rep=account.sales_rep_code or reps[0].code,
                warehouse=depot_of.get(city.region, depots[0].code),
                discount_bp=discount,
                active_from=max(created.date(), history_start),
                active_until=until,
            )
        )
    return out, profiles


def products(rng: random.Random, count: int, as_of: dt.datetime) -> tuple[list[Stamped[Product]], list[ProductProfile]]:
    template_weights = [t.weight for t in names.PRODUCT_TEMPLATES]
    out: list[Stamped[Product]] = []
    profiles: list[ProductProfile] = []
    for i in range(count):
        t = rng.choices(names.PRODUCT_TEMPLATES, template_weights)[0]
        name = t.name.format(**{slot: rng.choice(values) for slot, values in names.SLOTS.items()})
        code = f"{t.prefix}-{i + 1:06d}"
        base_code = unit_code(t.unit)
        barcodes = [ean13(f"8695521{i + 1:05d}")]
        if rng.random() < 0.05:  # a second supplier's barcode for the same item
            barcodes.append(ean13(f"8695523{i + 1:05d}"))
        units = [UnitConversion(unit=t.unit, factor=dec3(1000), unit_code=base_code, barcode=barcodes[0])]
        if t.case:
            units.append(
                UnitConversion(
                    unit="KOLİ",
                    factor=dec3(t.case * 1000),
                    unit_code=unit_code("KOLİ"),
                    barcode=ean13(f"8695522{i + 1:05d}"),
                )
            )
        active = rng.random() >= 0.03
        product = Product(
            code=code,
            name=name,
            barcodes=barcodes,
            base_unit=t.unit,
            base_unit_code=base_code,
            units=units,
            category_code=t.category,
            group_code=t.group,
            brand=rng.choice(names.BRANDS),
            vat_rate=dec2(t.vat * 100),
            active=active,
        )
        created = as_of - dt.timedelta(days=rng.randint(400, 8 * 365), seconds=rng.randint(0, 86399))
        out.append(Stamped(product, created.replace(microsecond=0), _stamp(rng, created, as_of, 0.2)))
        low, high = t.usd_price
        profiles.append(
            ProductProfile(
                index=i,
                code=code,
                usd_price=round(rng.uniform(low, high) * 100) * 100,
                vat=t.vat,
                unit=t.unit,
                unit_code=base_code,
                case=t.case,
                quantities=names.QUANTITIES[t.quantities],
                weight=min(rng.paretovariate(1.2), 40.0),
                active_until=None if active else (as_of - dt.timedelta(days=rng.randint(60, 300))).date(),
            )
        )
    return out, profiles


def stock_levels(
    rng: random.Random,
    catalogue: list[ProductProfile],
    depots: list[Warehouse],
    as_of: dt.datetime,
) -> list[StockLevel]:
    levels: list[StockLevel] = []
    for p in catalogue:
        typical = max(p.quantities)
        for w in depots:
            if w.number and rng.random() < 0.3:  # regional depots do not carry every item
                continue
            on_hand = 0 if rng.random() < 0.05 else rng.randint(0, 40) * typical // 4
            reserved = rng.randint(0, on_hand // 3) // 1000 * 1000 if on_hand else 0
            levels.append(
                StockLevel(
                    product_code=p.code,
                    warehouse_code=w.code,
                    warehouse_name=w.name,
                    on_hand=dec3(on_hand),
                    reserved=dec3(reserved),
                    available=dec3(on_hand - reserved),
                    as_of=as_of,
                )
            )
    return levels
