"""Price lists: price condition records of the configured price list tables (`ecc.price_list_tables`) with KONP/KONM.

SAP keeps a general sales price as a condition record of a price type (PR00) in a condition table keyed without the
customer: A006 "Price List Type/Currency/Material" (VKORG, VTWEG, PLTYP, WAERK, MATNR), or a table by sales area and
material (A304, no PLTYP). A customer's own price (A305: KUNNR, MATNR) is a discount of kind fixed_price, read by the
discounts stream from `ecc.condition_tables`: the two settings name disjoint tables. KONP holds the rate per KPEIN
KMEIN in KONWA (calculation type C, quantity); a quantity scale (KONM) gives the minimum quantity. Condition records
carry no change date (KONH has the creation date only): a snapshot, as discounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.streams import EccStream, Item
from mapping.errors import RecordError
from mapping.money import quantity, unit_price
from mapping.schema import PriceListEntry
from mapping.text import code, required_code

__all__ = ["PRICE_KONP", "PriceLists"]

PRICE_KONP = Read("KONP", ("KNUMH", "KOPOS"), ("KSCHL", "KBETR", "KONWA", "KPEIN", "KMEIN", "KRECH", "LOEVM_KO"))
PRICE_KONM = Read("KONM", ("KNUMH", "KOPOS", "KLFN1"), ("KSTBM",))
_QUANTITY = "C"  # KRECH: a rate per quantity, what a price is


class PriceLists(EccStream):
    name = "price_lists"
    primary_key = ("list_code", "product_code", "unit", "valid_from")
    replication_key = None
    key_fields = ("KNUMH",)
    amounts = True

    @staticmethod
    def records(table: str) -> Read:
        """A price list table: record number, type, validity, material, and the price list type where it has one."""
        return Read(
            table, ("KNUMH",), ("KSCHL", "DATAB", "DATBI", "MATNR"), where=("KAPPL", "VKORG", "VTWEG"),
            conditional=("PLTYP",),
        )  # fmt: skip

    def declared(self) -> list[Read]:
        tables = self.env.options.price_list_tables
        return [*(self.records(t) for t in tables), PRICE_KONP, PRICE_KONM, *self.currency_reads()]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        for table, types in self.env.options.price_list_tables.items():
            # A006 has no division (SAP keys price lists by sales organisation and channel only).
            condition = w.and_(w.eq("KAPPL", "V"), w.in_("KSCHL", types), self.env.area(division=False))
            for heads in self.reader.pages(self.records(table), condition):
                yield self._items(table, heads)

    def _items(self, table: str, heads: list[Row]) -> list[Item]:
        self.read_currencies()
        knumh = [h["KNUMH"] for h in heads]
        positions: dict[str, list[Row]] = {}
        for row in self.reader.rows_in(PRICE_KONP, "KNUMH", knumh):
            positions.setdefault(row["KNUMH"], []).append(row)
        scales: dict[tuple[str, str], list[Row]] = {}
        for row in self.reader.rows_in(PRICE_KONM, "KNUMH", knumh):
            scales.setdefault((row["KNUMH"], row["KOPOS"]), []).append(row)
        return [
            {"table": table, "A": head, "KONP": p, "KONM": scales.get((head["KNUMH"], p["KOPOS"]), [])}
            for head in heads
            for p in positions.get(head["KNUMH"], [])
        ]

    def key(self, item: Item) -> str:
        try:
            return f"{item['A']['KNUMH']}:{item['KONP']['KOPOS']}"
        except (KeyError, TypeError):
            return repr(item)[:200]

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # a snapshot: the next read brings the record back

    def map(self, item: Item) -> PriceListEntry:
        head, position = item["A"], item["KONP"]
        options = self.env.options
        if position["KRECH"] != _QUANTITY:
            raise RecordError(f"calculation type KRECH {position['KRECH']!r} is not a price per quantity", "price")
        currency = self.currency(position["KONWA"], "currency")
        unit = code(position["KMEIN"], "unit")
        if unit is None:
            raise RecordError("price condition record without unit (KMEIN)", "unit")
        per = v.number(position["KPEIN"], "price") or Decimal(1)
        rate = self.env.currencies.external(position["KBETR"], position["KONWA"], "price")
        scales = [v.number(line["KSTBM"], "min_quantity") for line in item["KONM"]]
        list_code = self._list_code(head)
        valid_to = v.date(head["DATBI"], "valid_to")
        return PriceListEntry(
            list_code=list_code,
            list_name=options.price_list_names.get(list_code),
            product_code=required_code(codes.alpha_out(head["MATNR"]), "product_code"),
            unit=unit,
            unit_code=codes.sap_unit_code(unit),
            price=unit_price(rate / per, "price"),  # type: ignore[arg-type]
            currency=currency,
            vat_included=position["KSCHL"] in options.gross_price_condition_types,
            min_quantity=quantity(min(scales), "min_quantity") if scales else None,
            valid_from=v.date(head["DATAB"], "valid_from"),
            valid_to=None if valid_to == v.OPEN_END else valid_to,
            active=not v.flag(position["LOEVM_KO"], "active"),
        )

    def _list_code(self, head: Row) -> str:
        """The price list type where the table is keyed by one, else the sales area whose base price it is."""
        listed = code(head.get("PLTYP"), "list_code")
        if listed is not None:
            return listed
        s = self.env.settings
        if not s.sales_organization or not s.distribution_channel:
            raise RecordError("a price record without price list type needs the sales area's settings", "list_code")
        return f"{s.sales_organization}/{s.distribution_channel}"
