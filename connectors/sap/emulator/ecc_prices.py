"""The scenario's price lists laid into ECC's condition tables, as an SD user keeps them with VK11.

Each entry is a PR00 condition record of its own (A-table row, KONP item; a minimum quantity is a KONM scale line):
  * the list is a price list type (PLTYP, CHAR 2 with its texts in T189T): SATIS 01, IHRACAT 02;
  * per-piece prices are in A006 (VKORG, VTWEG, PLTYP, WAERK, MATNR); a per-case price beside them needs the sales
    unit in the key (one table key holds one record per validity), so it is in the installation's own A904 (A006's
    key plus VRKME), as SAP's field catalogue offers VRKME (KOTN202: ".../Material/SalesUnit");
  * the rate is per KPEIN KMEIN in KONWA, in the currency's internal form (a price the currency cannot hold in two
    decimals is given per 100 units).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from mapping.schema import PriceListEntry

__all__ = ["PRICE_LIST_TABLES", "PRICE_LIST_TYPES", "PriceLayer"]

PRICE_LIST_TYPES = {"SATIS": "01", "IHRACAT": "02"}
PRICE_LIST_TABLES = {"A006": ["PR00"], "A904": ["PR00"]}
OPEN_END = dt.date(9999, 12, 31)

PriceKey = tuple[str, str, str | None, dt.date | None]


class PriceLayer:
    """Adds price list entries through the scenario layer's `add` (table, **fields) with numbers from `take`."""

    def __init__(
        self,
        add: Callable[..., None],
        take: Callable[[], str],
        unit: Callable[[str | None, str], str],
        rate: Callable[[Decimal, str], tuple[Decimal, int]],
        area: tuple[str, str],
    ) -> None:
        self.add, self.take, self.unit, self.rate, self.area = add, take, unit, rate, area
        self.records: dict[PriceKey, str] = {}  # (list_code, product_code, unit, valid_from) -> KNUMH

    def lay(self, entry: PriceListEntry) -> None:
        knumh = self.take()
        unit = self.unit(entry.unit_code, entry.unit or "")
        per_unit: dict[str, Any] = {"VRKME": unit} if entry.min_quantity is not None else {}
        self.add(
            "A904" if per_unit else "A006",
            KAPPL="V",
            KSCHL="PR00",
            VKORG=self.area[0],
            VTWEG=self.area[1],
            PLTYP=PRICE_LIST_TYPES[entry.list_code],
            WAERK=entry.currency,
            MATNR=entry.product_code,
            **per_unit,
            DATBI=entry.valid_to or OPEN_END,
            DATAB=entry.valid_from,
            KNUMH=knumh,
        )
        kbetr, kpein = self.rate(entry.price, entry.currency)
        scale = entry.min_quantity is not None
        self.add(
            "KONP",
            KNUMH=knumh,
            KOPOS="01",
            KAPPL="V",
            KSCHL="PR00",
            STFKZ="A" if scale else "",
            KZBZG="C" if scale else "",
            KONMS=unit if scale else "",
            KBETR=kbetr,
            KONWA=entry.currency,
            KPEIN=kpein,
            KMEIN=unit,
            KRECH="C",
            LOEVM_KO="" if entry.active else "X",
        )
        if scale:
            self.add("KONM", KNUMH=knumh, KOPOS="01", KLFN1=1, KSTBM=entry.min_quantity, KBETR=kbetr)
        self.records[entry.list_code, entry.product_code, entry.unit, entry.valid_from] = knumh
