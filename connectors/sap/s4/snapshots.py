"""Streams read whole on every sync: stock (no change stamp in SAP), condition records, credit limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.s4.odata import any_of, day_of, results
from connectors.sap.s4.streams import S4Stream, eq, money, number
from mapping.errors import RecordError
from mapping.money import percent, quantity, unit_price
from mapping.schema import Discount, DiscountKind, RiskLimit, StockLevel
from mapping.text import clean, required

__all__ = ["DEFAULT_DISCOUNT_CONDITION_TYPES", "Discounts", "RiskLimits", "StockLevels"]

_OPEN_END = dt.date(9999, 12, 31)
# SAP's standard SD discount condition types (material, customer/material, customer, price group,
# material pricing group and their combinations, product hierarchy, item and header discounts).
DEFAULT_DISCOUNT_CONDITION_TYPES = (
    "K004", "K005", "K007", "K020", "K029", "K030", "K031", "K032", "K148",
    "RA00", "RA01", "RB00", "RC00", "HA00", "HB00",
)  # fmt: skip


class StockLevels(S4Stream):
    """A_MatlStkInAcctMod summed per material and storage location over stock types and batches."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")
    entity = "stock"
    keys = ("Material", "Plant", "StorageLocation", "Batch", "InventorySpecialStockType", "InventoryStockType")

    def where(self) -> str:
        plant = eq("Plant", self.env.s4.plant)
        return " and ".join(p for p in (plant, "StorageLocation ne ''") if p)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        as_of = dt.datetime.now(self.tz).replace(microsecond=0).isoformat()
        pending: dict[str, Any] | None = None
        for rows in self.env.reader.pages(self.path, self.keys, filter=self.where()):
            done: list[dict[str, Any]] = []
            for row in rows:
                if pending is not None and self.key(row) == self.key(pending):
                    pending["quantities"].append(row.get("MatlWrhsStkQtyInMatlBaseUnit"))
                    continue
                if pending is not None:
                    done.append(pending)
                pending = {
                    "Material": row.get("Material"),
                    "Plant": row.get("Plant"),
                    "StorageLocation": row.get("StorageLocation"),
                    "quantities": [row.get("MatlWrhsStkQtyInMatlBaseUnit")],
                    "as_of": as_of,
                }
            if done:
                yield done  # the last group may go on in the next page: held back until then
        if pending is not None:
            yield [pending]

    def key(self, item: Any) -> str:
        return f"{item.get('Plant') or ''}/{item.get('StorageLocation') or ''}/{item.get('Material') or ''}"

    def count(self) -> int | None:
        return None  # rows are per stock type and batch, not per stock level

    def map(self, item: Any) -> StockLevel:
        location = required(item.get("StorageLocation"), "warehouse_code")
        on_hand = sum((number(q, 3, "on_hand") for q in item["quantities"]), Decimal("0.000"))
        return StockLevel(
            product_code=required(self.code(item.get("Material")), "product_code"),
            warehouse_code=location if self.env.s4.plant else f"{item.get('Plant')}/{location}",
            on_hand=quantity(on_hand, "on_hand"),  # type: ignore[arg-type]
            as_of=dt.datetime.fromisoformat(item["as_of"]),
        )


class Discounts(S4Stream):
    """Sales pricing condition records of discount types, and customer-specific prices (fixed_price)."""

    name = "discounts"
    primary_key = ("code",)
    entity = "condition_records"
    keys = ("ConditionRecord", "ConditionSequentialNumber")
    expand = "to_SlsPrcgCndnRecdValidity,to_SlsPrcgCndnRecordScale"

    def where(self) -> str:
        return any_of("ConditionType", (*self.env.s4.price_condition_types, *DEFAULT_DISCOUNT_CONDITION_TYPES))

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        prices = self.env.s4.price_condition_types
        # A price for everyone is the list price, not a dealer's deal: only customer-specific prices count.
        return [r for r in rows if r.get("ConditionType") not in prices or self._for_customers(r)]

    @staticmethod
    def _for_customers(row: dict[str, Any]) -> bool:
        return any(v.get("Customer") or v.get("CustomerGroup") for v in results(row.get("to_SlsPrcgCndnRecdValidity")))

    def key(self, item: Any) -> str:
        record, sequence = item.get("ConditionRecord") or "", item.get("ConditionSequentialNumber") or "01"
        return record if sequence == "01" else f"{record}/{sequence}"

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        return []  # a snapshot: the next read brings the record back

    def map(self, item: Any) -> Discount:
        validities = results(item.get("to_SlsPrcgCndnRecdValidity"))
        if not validities:
            raise RecordError("condition record without validity", "valid_from")
        validity = max(validities, key=lambda v: str(v.get("ConditionValidityStartDate") or ""))
        dims = {
            "account": clean(self.code(validity.get("Customer"))),
            "account_group": clean(validity.get("CustomerGroup")),
            "product": clean(self.code(validity.get("Material"))),
            "product_group": clean(validity.get("MaterialGroup")),
        }
        kind, value, currency = self._value(item)
        scales = [number(s.get("ConditionScaleQuantity"), 3, "min_quantity") for s in results(
            item.get("to_SlsPrcgCndnRecordScale"))]  # fmt: skip
        valid_to = day_of(validity.get("ConditionValidityEndDate"), "valid_to")
        return Discount(
            code=required(self.key(item), "code"),
            scope="+".join(name for name, v in dims.items() if v) or "all",
            account_code=dims["account"],
            account_group_code=dims["account_group"],
            product_code=dims["product"],
            product_group_code=dims["product_group"],
            kind=kind,
            value=value,
            currency=currency,
            min_quantity=min(scales) if scales else None,
            valid_from=day_of(validity.get("ConditionValidityStartDate"), "valid_from"),
            valid_to=None if valid_to == _OPEN_END else valid_to,
            active=not item.get("ConditionIsDeleted"),
        )

    def _value(self, item: dict[str, Any]) -> tuple[DiscountKind, Decimal, str | None]:
        unit = str(item.get("ConditionRateValueUnit") or "")
        rate = number(item.get("ConditionRateValue"), 6, "value")
        per = to_per(item.get("ConditionQuantity"))
        if item.get("ConditionType") in self.env.s4.price_condition_types:
            currency = codes.sap_currency(unit, "currency")
            return "fixed_price", unit_price(rate / per, "value"), currency  # type: ignore[return-value]
        if unit == "%":
            return "percent", percent(abs(rate), "value"), None  # type: ignore[return-value]
        currency = codes.sap_currency(unit, "currency")
        if currency is None:
            raise RecordError("condition rate without unit", "currency")
        return "amount", money(abs(rate) / per, currency, "value"), currency


def to_per(value: Any) -> Decimal:
    """The pricing unit (ConditionQuantity): rates are per this many units; 0 or absent means 1."""
    per = number(value, 3, "value") if value not in (None, "") else Decimal(1)
    return per or Decimal(1)


class RiskLimits(S4Stream):
    """Credit limits of one credit segment (SAP Credit Management, FIN-FSCM-CR)."""

    name = "risk_limits"
    primary_key = ("account_code",)
    entity = "credit_accounts"
    keys = ("BusinessPartner", "CreditSegment")

    def where(self) -> str | None:
        return eq("CreditSegment", self.env.s4.credit_segment)

    def key(self, item: Any) -> str:
        return str(item.get("BusinessPartner") or "")

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        return []  # a snapshot: the next read brings the limit back

    def map(self, item: Any) -> RiskLimit:
        currency = codes.sap_currency(item.get("CreditSegmentCurrency"), "currency")
        if currency is None:
            raise RecordError("missing", "currency")
        return RiskLimit(
            account_code=required(self.code(item.get("BusinessPartner")), "account_code"),
            limit=money(item.get("CreditLimitAmount"), currency, "limit"),
            currency=currency,
            blocked=bool(item.get("CreditAccountIsBlocked")),
            as_of=dt.datetime.now(self.tz).replace(microsecond=0),
        )
