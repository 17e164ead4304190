"""Discounts: pricing condition records of the configured condition tables (A-tables) with KONP and KONM.

A condition table's key fields say what a record restricts: KUNNR (account), KDGRP or KONDA
(account group), MATNR (product), KONDM (product group). KONP holds the value and how it is
calculated (KRECH): A percentage, stored in per mille and negative for a discount (-75.00 is
7.5 % off); B fixed amount, negative for a discount; C price per KPEIN units (a customer's fixed
price). A record with a quantity scale (KONM) becomes one discount per scale line, its minimum
quantity the line's KSTBM. Amounts and prices are in KONWA's decimals (TCURX); a percentage is no
currency amount. Condition records carry no change date: a snapshot.
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
from mapping.money import amount, percent, quantity, unit_price
from mapping.schema import Discount, DiscountKind
from mapping.text import required_code

__all__ = ["DIMENSIONS", "KONM", "KONP", "Discounts"]

# Condition table field -> the discount's dimension, in the schema's scope order.
DIMENSIONS: dict[str, str] = {
    "KUNNR": "account",
    "KDGRP": "account_group",
    "KONDA": "account_group",
    "MATNR": "product",
    "KONDM": "product_group",
}
_SCOPE_ORDER = ("account", "account_group", "product", "product_group")
_KINDS: dict[str, DiscountKind] = {"A": "percent", "B": "amount", "C": "fixed_price"}
_PER_MILLE = Decimal(10)
KONP = Read("KONP", ("KNUMH", "KOPOS"), ("KSCHL", "KBETR", "KONWA", "KPEIN", "KRECH", "LOEVM_KO"))
KONM = Read("KONM", ("KNUMH", "KOPOS", "KLFN1"), ("KSTBM", "KBETR"))


class Discounts(EccStream):
    name = "discounts"
    primary_key = ("code",)
    replication_key = None
    key_fields = ("KNUMH",)
    amounts = True

    @staticmethod
    def records(table: str) -> Read:
        """A condition table: its record number, type and validity, the dimensions it has, the sales area."""
        return Read(
            table,
            ("KNUMH",),
            ("KSCHL", "DATAB", "DATBI"),
            where=("KAPPL", "VKORG", "VTWEG"),
            conditional=(*DIMENSIONS, "SPART"),
        )

    def declared(self) -> list[Read]:
        return [
            *(self.records(table) for table in self.env.options.condition_tables),
            KONP,
            KONM,
            *self.currency_reads(),
        ]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        for table, types in self.env.options.condition_tables.items():
            read = self.records(table)
            present = set(self.reader.present(read))
            dims = [f for f in DIMENSIONS if f in present]
            area = self.env.area(division="SPART" in present)
            condition = w.and_(w.eq("KAPPL", "V"), w.in_("KSCHL", types), area)
            for heads in self.reader.pages(read, condition):
                yield self._items(table, dims, heads)

    def _items(self, table: str, dims: list[str], heads: list[Row]) -> list[Item]:
        self.read_currencies()
        knumh = [h["KNUMH"] for h in heads]
        items_by_record: dict[str, list[Row]] = {}
        for row in self.reader.rows_in(KONP, "KNUMH", knumh):
            items_by_record.setdefault(row["KNUMH"], []).append(row)
        scales: dict[tuple[str, str], list[Row]] = {}
        for row in self.reader.rows_in(KONM, "KNUMH", knumh):
            scales.setdefault((row["KNUMH"], row["KOPOS"]), []).append(row)
        out: list[Item] = []
        for head in heads:
            for position in items_by_record.get(head["KNUMH"], []):
                base = {"table": table, "dims": dims, "A": head, "KONP": position, "KONM": None}
                lines = scales.get((head["KNUMH"], position["KOPOS"]), [])
                if lines:
                    out.extend({**base, "KONM": line} for line in lines)
                else:
                    out.append(base)
        return out

    def key(self, item: Item) -> str:
        try:
            line = item["KONM"]
            record = f"{item['A']['KNUMH']}:{item['KONP']['KOPOS']}"
            return f"{record}:{line['KLFN1']}" if line else record
        except (KeyError, TypeError):
            return repr(item)[:200]

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # the next snapshot reads every record again

    def map(self, item: Item) -> Discount:
        head, position, line = item["A"], item["KONP"], item["KONM"]
        kind = _KINDS.get(position["KRECH"])
        if kind is None:
            raise RecordError(f"calculation type KRECH {position['KRECH']!r} is not a discount", "kind")
        kbetr = line["KBETR"] if line else position["KBETR"]
        percentage = kind == "percent"  # a rate in per mille, no currency amount
        external = self.env.currencies.external
        raw = v.number(kbetr, "value") if percentage else external(kbetr, position["KONWA"], "value")
        currency = None if position["KONWA"] in ("", "%") else codes.sap_currency(position["KONWA"], "currency")
        if kind == "fixed_price":
            per = v.number(position["KPEIN"], "value") or Decimal(1)
            value = unit_price(raw / per, "value")
        else:
            off = -raw / _PER_MILLE if percentage else -raw
            if off < 0:
                raise RecordError("the condition is a surcharge, not a discount", "value")
            value = percent(off, "value") if percentage else amount(off, "value", currency)
        dims = {DIMENSIONS[f]: codes.alpha_out(head[f]) for f in item["dims"] if head.get(f)}
        valid_to = v.date(head["DATBI"], "valid_to")
        number = codes.alpha_out(head["KNUMH"])
        return Discount(
            code=required_code(f"{number}/{v.integer(line['KLFN1'], 'code')}" if line else number, "code"),
            scope="+".join(d for d in _SCOPE_ORDER if d in dims) or "all",
            account_code=dims.get("account"),
            account_group_code=dims.get("account_group"),
            product_code=dims.get("product"),
            product_group_code=dims.get("product_group"),
            kind=kind,
            value=value,  # type: ignore[arg-type]
            currency=currency,
            min_quantity=quantity(v.number(line["KSTBM"], "min_quantity"), "min_quantity") if line else None,
            valid_from=v.date(head["DATAB"], "valid_from"),
            valid_to=None if valid_to == v.OPEN_END else valid_to,
            active=not v.flag(position["LOEVM_KO"], "active"),
        )
