"""price_lists: the general sales price lists of 1C, apart from a dealer's own prices (the discounts stream).

A price list is a price type (УТ 11 / ERP 2 `Catalog_ВидыЦен`, БП 3 `Catalog_ТипыЦенНоменклатуры`: its name,
ВалютаЦены, ЦенаВключаетНДС) and its prices are the periodic information register ЦеныНоменклатуры, subordinate
to a recorder (the price-setting document), read as `<Register>_RecordType`. Its dimensions (the УТ 11.5.20.68
dump's `InformationRegisters/ЦеныНоменклатуры.xml`) are Номенклатура, Характеристика and ВидЦены; Цена, Упаковка
and Валюта are resources: one price per item, characteristic and price type at a time, for the packaging the
record names. БП 3's register has ТипЦен and Номенклатура as dimensions and no packaging: its prices are per the
item's unit. A record holds from its Period until the next record of the same dimensions (what 1C's SliceLast
reads), so `valid_to` is derived: the day before that next record's Period; the last one is open-ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Excluded, Partition
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import unit_price
from mapping.schema import PriceListEntry
from mapping.text import code
from mapping.units import unit_code

from .declare import Read, flag, guid, number, text, when, whole
from .lookups import Lookups, currency_read
from .odata import Row, is_ref
from .snapshots import _Snapshot, deal_price_types, price_users
from .streams import code_of, yes

__all__ = ["PriceLists"]

_ZERO = Decimal(0)


class PriceLists(_Snapshot):
    """Every active ЦеныНоменклатуры record of a price type that is no customer's deal (and, in УТ/ERP with
    `price_list_types: sales`, is flagged ИспользоватьПриПродаже): one entry per record, keyed by its dimensions
    and Period. No change stamp on register records: a snapshot, re-read whole on every run."""

    name = "price_lists"
    primary_key = ("list_code", "product_code", "unit", "valid_from")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        trade = self.flavour.trade
        self.type_field = "ВидЦены_Key" if trade else "ТипЦен_Key"
        self.dims = (self.type_field, "Номенклатура_Key", *(("Характеристика_Key",) if trade else ()))

    def records(self) -> Read:
        own = guid("Характеристика_Key", "Упаковка_Key") if self.flavour.trade else ()
        fields = (*text("Recorder"), *whole("LineNumber"), *flag("Active"), *when("Period"))
        return self.env.catalog(
            "prices", fields, guid(self.type_field, "Номенклатура_Key"), own, number("Цена"), guid("Валюта_Key")
        )

    def lookup_reads(self) -> list[Read]:
        e = self.env
        kind = (*text(self.code("price_types"), "Description"), *flag("DeletionMark"), *guid("ВалютаЦены_Key"))
        sales = flag("ИспользоватьПриПродаже") if self.flavour.trade and e.price_list_types == "sales" else ()
        return [
            e.catalog("items", text(self.code("items")), guid("ЕдиницаИзмерения_Key")),
            e.catalog("price_types", kind, flag("ЦенаВключаетНДС"), sales),
            e.catalog("units", text("Description")),
            currency_read(e),
            price_users(e),
        ]

    def reads(self) -> list[Read]:
        return [self.records(), *self.lookup_reads()]

    def load(self, lookups: Lookups) -> None:
        reads = self.lookup_reads()
        self.items = lookups.catalog(reads[0])
        self.price_types = lookups.catalog(reads[1])
        self.units = lookups.catalog(reads[2])
        lookups.currency_codes()
        deals = deal_price_types(self.flavour, lookups.catalog(reads[4]))
        sales_only = self.flavour.trade and self.env.price_list_types == "sales"
        # A dealer's price type is the discounts stream's; a purchase price type (УТ) is no sales list.
        self.lists = sorted(
            ref
            for ref, row in self.price_types.items()
            if ref not in deals and (not sales_only or yes(row, "ИспользоватьПриПродаже", "list_code"))
        )

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        q = self.env.query(self.records())
        active = f"{q.name('Active')} eq true"  # a switched-off record counts in no slice
        found: dict[str, Row] = {}
        rows = self.env.odata.by_refs(
            q, self.lists, field=self.type_field, where=active, order=("Recorder", "LineNumber")
        )
        for row in rows:
            # Two recorders writing the same dimensions and Period: the later one (by recorder, line) stands.
            key = "price:" + ":".join(str(row.get(name) or "") for name in ("Period", *self.dims))
            found[key] = {**row, "_key": key}
        series: dict[tuple[str, ...], list[Row]] = {}
        for row in found.values():
            series.setdefault(tuple(str(row.get(name) or "") for name in self.dims), []).append(row)
        for records in series.values():
            records.sort(key=lambda r: str(r.get("Period") or ""))
            for row, after in zip(records, [*records[1:], None], strict=True):
                # Valid until the day before the next record of the same dimensions (SliceLast).
                row["_next"] = after.get("Period") if after is not None else None
        yield from self.chunks(list(found.values()))

    def map(self, item: Row) -> PriceListEntry | Excluded:
        value = unit_price(item.get("Цена"), "price")
        if value is None:
            raise RecordError("the record holds no price (Цена)", "price")
        if value < _ZERO:
            raise RecordError(f"a negative price {value}", "price")
        if value == _ZERO and self.env.zero_price_unlists:
            return Excluded("a zero price: the item is no longer listed (zero_price_unlists)")
        price_type = self.price_types.get(item.get(self.type_field) or "")
        if price_type is None:
            raise RecordError(
                f"refers to a price type that is not in the published catalog ({item.get(self.type_field)})",
                "list_code",
            )
        list_code = code(price_type.get(self.code("price_types")), "list_code")
        if not list_code:
            raise RecordError("the price type has no code", "list_code")
        product = code_of(
            self.items, item.get("Номенклатура_Key"), "nomenclature item", "product_code", self.code("items")
        )
        if product is None:
            raise RecordError("a price needs an item", "product_code")
        unit = self._unit(item)
        currency_ref = item.get("Валюта_Key")
        if not is_ref(currency_ref):
            currency_ref = price_type.get("ВалютаЦены_Key")
        valid_from = business_date(item.get("Period"), "valid_from")
        valid_to = None
        until = business_date(item.get("_next"), "valid_to") if item.get("_next") is not None else None
        if until is not None:
            if until == valid_from:  # УТ's periods are to the second: replaced the same day, it never held a day
                return Excluded("a price replaced the same day (a later record of the same day stands)")
            valid_to = until - dt.timedelta(days=1)
        return PriceListEntry(
            list_code=list_code,
            list_name=code(price_type.get("Description"), "list_name"),
            product_code=product,
            unit=unit,
            unit_code=unit_code(unit),
            price=value,
            currency=self.lookups.currency_of(currency_ref, "currency"),
            vat_included=yes(price_type, "ЦенаВключаетНДС", "vat_included"),
            valid_from=valid_from,
            valid_to=valid_to,
            active=not yes(price_type, "DeletionMark", "active"),
        )

    def _unit(self, item: Row) -> str | None:
        """УТ: the record's packaging (Упаковка); an empty one is the item's own unit. БП: the item's unit."""
        packaging = item.get("Упаковка_Key")
        if self.flavour.trade and is_ref(packaging):
            return code_of(self.units, packaging, "packaging", "unit", "Description")
        ref = item.get("Номенклатура_Key") or ""
        base = self.items.get(ref, {}).get("ЕдиницаИзмерения_Key")
        return code_of(self.units, base, "unit", "unit", "Description")
