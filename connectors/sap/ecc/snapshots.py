"""Snapshot streams (no change date in ECC): stock levels (MARD) and credit limits (KNKK).

The engine treats keys a snapshot no longer returns as deleted; `as_of` is the read time.
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
from connectors.sap.ecc.streams import EccStream, Item
from mapping.money import amount, minor_units, quantity
from mapping.schema import RiskLimit, StockLevel
from mapping.text import clean, required_code

__all__ = ["RiskLimits", "StockLevels"]

LOCATIONS = Read("T001L", ("WERKS", "LGORT"), ("LGOBE",))
REQUIREMENTS = Read("VBBE", ("MATNR", "WERKS", "BERID", "VBELN", "POSNR", "ETENR"), ("LGORT", "OMENG"))


class _Snapshot(EccStream):
    replication_key = None

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        return super().read(None, partition)

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return ()  # the next snapshot reads every row again


class StockLevels(_Snapshot):
    """MARD per plant and storage location: on hand = unrestricted + quality inspection + blocked stock;
    reserved = open sales requirements (VBBE) of the material there; available = unrestricted - reserved."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")
    table = "MARD"
    key_fields = ("MATNR", "WERKS", "LGORT")

    def head_read(self) -> Read:
        return Read("MARD", ("MATNR", "WERKS", "LGORT"), ("LABST", "INSME", "SPEME"))

    def condition(self) -> str | None:
        plants = self.env.options.plants
        return w.in_("WERKS", plants) if plants else None

    def declared(self) -> list[Read]:
        return [*super().declared(), LOCATIONS, REQUIREMENTS]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        reader = self.reader
        plants = self.condition()
        names = {(r["WERKS"], r["LGORT"]): r["LGOBE"] for r in reader.rows(LOCATIONS, plants)}
        # Requirement quantities stay text until map(): one malformed value spoils one stock level, not the read.
        reserved: dict[tuple[str, str, str], list[str]] = {}
        for r in reader.rows(REQUIREMENTS, plants):
            reserved.setdefault((r["MATNR"], r["WERKS"], r["LGORT"]), []).append(r["OMENG"])
        for items in super().read(None, partition):
            for item in items:
                r = item["MARD"]
                item["LGOBE"] = names.get((r["WERKS"], r["LGORT"]))
                item["VBBE"] = reserved.get((r["MATNR"], r["WERKS"], r["LGORT"]), [])
            yield items

    def map(self, item: Item) -> StockLevel:
        r = item["MARD"]
        unrestricted = v.number(r["LABST"], "on_hand")
        on_hand = unrestricted + v.number(r["INSME"], "on_hand") + v.number(r["SPEME"], "on_hand")
        reserved = sum((v.number(q, "reserved") for q in item["VBBE"]), Decimal(0))
        storage = required_code(r["LGORT"], "warehouse_code")
        by_plant = self.env.options.warehouse_code == "plant_and_storage_location"
        return StockLevel(
            product_code=required_code(codes.alpha_out(r["MATNR"]), "product_code"),
            warehouse_code=f"{r['WERKS']}/{storage}" if by_plant else storage,
            warehouse_name=clean(item["LGOBE"], field="warehouse_name"),
            on_hand=quantity(on_hand, "on_hand"),  # type: ignore[arg-type]
            reserved=quantity(reserved, "reserved"),
            available=quantity(unrestricted - reserved, "available"),
            as_of=self.as_of,
        )


class RiskLimits(_Snapshot):
    """KNKK credit limits per credit control area, with SAP's credit exposure parts: receivables (SKFOR),
    special liabilities such as uncashed cheques and notes (SSOBL) and the open sales value (SAUFT)."""

    name = "risk_limits"
    primary_key = ("account_code",)
    table = "KNKK"
    key_fields = ("KUNNR", "KKBER")
    amounts = True

    def head_read(self) -> Read:
        return Read("KNKK", ("KUNNR", "KKBER"), ("KLIMK", "SKFOR", "SSOBL", "SAUFT", "CRBLB"))

    def condition(self) -> str | None:
        area = self.env.options.credit_control_area
        return w.eq("KKBER", area) if area else None

    def map(self, item: Item) -> RiskLimit:
        r = item["KNKK"]
        currency = self.env.settings.local_currency  # amounts are in the credit control area's currency
        places = minor_units(currency)

        def money(field: str, name: str) -> Decimal:
            return amount(self.env.currencies.external(r[field], currency, name), name, currency)  # type: ignore[return-value]

        receivables, special, orders = (
            money("SKFOR", "open_balance"),
            money("SSOBL", "uncashed_cheques"),
            money("SAUFT", "open_orders"),
        )
        return RiskLimit(
            account_code=required_code(codes.alpha_out(r["KUNNR"]), "account_code"),
            limit=money("KLIMK", "limit"),
            currency=currency,
            open_balance=receivables,
            open_orders=orders,
            uncashed_cheques=special,
            exposure=(receivables + special + orders).quantize(Decimal(1).scaleb(-places)),
            blocked=v.flag(r["CRBLB"], "blocked"),
            as_of=self.as_of,
        )
