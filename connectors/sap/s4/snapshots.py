"""Streams read whole on every sync: stock (no change stamp in SAP), condition records, credit limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.streams import S4Stream, eq, money, number
from connectors.sap.s4.values import any_of, day_of, expanded
from mapping.errors import RecordError
from mapping.money import percent, quantity, unit_price
from mapping.schema import Discount, DiscountKind, RiskLimit, StockLevel
from mapping.text import code, flag, required_code

__all__ = ["CONDITION_RECORD", "CREDIT_ACCOUNT", "STOCK", "STOCK_KEY", "Discounts", "RiskLimits", "StockLevels"]

_OPEN_END = dt.date(9999, 12, 31)
STOCK_KEY = (
    "Material", "Plant", "StorageLocation", "Batch", "Supplier", "Customer", "WBSElementInternalID", "SDDocument",
    "SDDocumentItem", "InventorySpecialStockType", "InventoryStockType",
)  # fmt: skip
STOCK = Shape(
    (
        *(f(k) for k in STOCK_KEY),
        f("WBSElementExternalID", optional="stock_levels.special_stock_ref of project stock (the internal WBS id "
          "is sent instead)"),
        f("MatlWrhsStkQtyInMatlBaseUnit", "number"),
    )
)  # fmt: skip
CONDITION_RECORD = Shape(
    (
        f("ConditionRecord"), f("ConditionSequentialNumber"), f("ConditionType"), f("ConditionRateValue", "number"),
        f("ConditionRateValueUnit"), f("ConditionQuantity", "number"), f("ConditionIsDeleted", "boolean"),
    ),
    (
        (
            "to_SlsPrcgCndnRecdValidity",
            Shape((f("ConditionValidityStartDate", "datetime"), f("ConditionValidityEndDate", "datetime"),
                   f("Customer"), f("CustomerGroup"), f("Material"), f("MaterialGroup"))),
        ),
        ("to_SlsPrcgCndnRecordScale", Shape((f("ConditionScaleQuantity", "number"),))),
    ),
)  # fmt: skip
CREDIT_ACCOUNT = Shape(
    (f("CreditLimitAmount", "number"), f("CreditSegmentCurrency"), f("CreditAccountIsBlocked", "boolean"))
)
_EMPTY = frozenset({"", "0"})


def _blank(value: Any) -> bool:
    """SAP's initial values of a key part: "", "0", all zeros ("000000000000000000000000" of an older WBS id)."""
    text = str(value or "").strip()
    return text in _EMPTY or set(text) == {"0"}


class StockLevels(S4Stream):
    """A_MatlStkInAcctMod: the own stock summed per material and storage location over the stock types that
    count (`s4.stock_types`) and batches; special stock (consignment, sales order, project...) apart, one level per
    special stock type and whom it is held for, never in the own stock's on_hand."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code", "special_stock", "special_stock_ref")

    def declare(self) -> Read:
        filters = Shape((f("Plant"), f("StorageLocation"), f("InventorySpecialStockType")))
        return self.env.read("stock", STOCK_KEY, STOCK, filters)

    def where(self) -> str:
        plant = eq("Plant", self.env.s4.plant)
        # Own stock is kept per storage location; special stock may have none (stock at a customer's site).
        located = "(StorageLocation ne '' or InventorySpecialStockType ne '')"
        return " and ".join(p for p in (plant, located) if p)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        as_of = dt.datetime.now(self.tz).replace(microsecond=0).isoformat()
        place: tuple[Any, ...] | None = None
        group: list[dict[str, Any]] = []
        for rows in self.env.reader.pages(self.main, self.where()):
            done: list[dict[str, Any]] = []
            for row in rows:
                here = (row.get("Material"), row.get("Plant"), row.get("StorageLocation"))
                if here != place and group:
                    done.extend(self._levels(group, as_of))
                    group = []
                place = here
                group.append(row)
            if done:
                yield done  # the last place may go on in the next page: held back until then
        if group:
            yield self._levels(group, as_of)

    def _levels(self, rows: list[dict[str, Any]], as_of: str) -> list[dict[str, Any]]:
        """One item per stock held at one material and place: the own stock, and each special stock apart.
        Rows come in key order, so all rows of a material and storage location arrive together."""
        excluded = {t for t, reading in self.env.s4.special_stock_types.items() if reading == "excluded"}
        levels: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            special = str(row.get("InventorySpecialStockType") or "").strip()
            if special in excluded:
                continue
            held_for = self._held_for(row) if special else ""
            level = levels.get((special, held_for))
            if level is None:
                first = rows[0]
                level = levels[(special, held_for)] = {
                    "Material": first.get("Material"), "Plant": first.get("Plant"),
                    "StorageLocation": first.get("StorageLocation"), "InventorySpecialStockType": special,
                    "held_for": held_for, "rows": [], "as_of": as_of,
                }  # fmt: skip
            level["rows"].append(
                {"InventoryStockType": row.get("InventoryStockType"),
                 "MatlWrhsStkQtyInMatlBaseUnit": row.get("MatlWrhsStkQtyInMatlBaseUnit")}
            )  # fmt: skip
        return list(levels.values())

    def _held_for(self, row: dict[str, Any]) -> str:
        """Whom special stock is held for: sales order/item, WBS element, customer or supplier, as SAP keys it."""
        if not _blank(row.get("SDDocument")):
            return f"{codes.alpha_out(row.get('SDDocument'))}/{codes.alpha_out(row.get('SDDocumentItem'))}"
        if not _blank(row.get("WBSElementInternalID")):
            return str(row.get("WBSElementExternalID") or row.get("WBSElementInternalID")).strip()
        for name in ("Customer", "Supplier"):
            if not _blank(row.get(name)):
                return codes.alpha_out(row.get(name))
        return ""

    def key(self, item: Any) -> str:
        own = f"{item.get('Plant') or ''}/{item.get('StorageLocation') or ''}/{item.get('Material') or ''}"
        special = item.get("InventorySpecialStockType")
        return f"{own}/{special}/{item.get('held_for') or ''}" if special else own

    def count(self) -> int | None:
        return None  # rows are per stock type and batch, not per stock level

    def map(self, item: Any) -> StockLevel:
        s4 = self.env.s4
        special = item["InventorySpecialStockType"]
        reading = s4.special_stock_types.get(special) if special else None
        if special and reading is None:
            raise RecordError(
                f"special stock type {special!r} is not mapped: add it to the setting s4.special_stock_types",
                "special_stock",
            )
        on_hand = Decimal("0.000")
        for row in item["rows"]:
            stock_type = str(row.get("InventoryStockType") or "")
            counted = s4.stock_types.get(stock_type)
            if counted is None:
                raise RecordError(
                    f"stock type {stock_type!r} is not mapped: add it to the setting s4.stock_types", "on_hand"
                )
            if counted == "on_hand":
                on_hand += number(row.get("MatlWrhsStkQtyInMatlBaseUnit"), 3, "on_hand")
        location = code(item.get("StorageLocation"), "warehouse_code")
        plant = str(item.get("Plant") or "")
        warehouse = (location if s4.plant else f"{plant}/{location}") if location else plant
        return StockLevel(
            product_code=required_code(self.code(item.get("Material")), "product_code"),
            warehouse_code=required_code(warehouse, "warehouse_code"),
            special_stock=reading,  # type: ignore[arg-type]
            special_stock_ref=code(item.get("held_for"), "special_stock_ref"),
            on_hand=quantity(on_hand, "on_hand"),  # type: ignore[arg-type]
            as_of=dt.datetime.fromisoformat(item["as_of"]),
        )


class Discounts(S4Stream):
    """Sales pricing condition records of the discount types (`s4.discount_condition_types`), and customer-specific
    prices (fixed_price) of the price types."""

    name = "discounts"
    primary_key = ("code",)

    def declare(self) -> Read:
        return self.env.read("condition_records", ("ConditionRecord",), CONDITION_RECORD)

    def where(self) -> str:
        s4 = self.env.s4
        return any_of("ConditionType", (*s4.price_condition_types, *s4.discount_condition_types))

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        prices = self.env.s4.price_condition_types
        # A price for everyone is the list price, not a dealer's deal: only customer-specific prices count.
        return [r for r in rows if r.get("ConditionType") not in prices or self._for_customers(r)]

    @staticmethod
    def _for_customers(row: dict[str, Any]) -> bool:
        return any(v.get("Customer") or v.get("CustomerGroup") for v in expanded(row, "to_SlsPrcgCndnRecdValidity"))

    def key(self, item: Any) -> str:
        record, sequence = item.get("ConditionRecord") or "", item.get("ConditionSequentialNumber") or "01"
        return record if sequence == "01" else f"{record}/{sequence}"

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        return []  # a snapshot: the next read brings the record back

    def map(self, item: Any) -> Discount:
        validities = expanded(item, "to_SlsPrcgCndnRecdValidity")
        if not validities:
            raise RecordError("condition record without validity", "valid_from")
        validity = max(validities, key=lambda v: str(v.get("ConditionValidityStartDate") or ""))
        dims = {
            "account": code(self.code(validity.get("Customer")), "account_code"),
            "account_group": code(validity.get("CustomerGroup"), "account_group_code"),
            "product": code(self.code(validity.get("Material")), "product_code"),
            "product_group": code(validity.get("MaterialGroup"), "product_group_code"),
        }
        kind, value, currency = self._value(item)
        scales = [number(s.get("ConditionScaleQuantity"), 3, "min_quantity")
                  for s in expanded(item, "to_SlsPrcgCndnRecordScale")]  # fmt: skip
        valid_to = day_of(validity.get("ConditionValidityEndDate"), "valid_to")
        return Discount(
            code=required_code(self.key(item), "code"),
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

    def declare(self) -> Read:
        return self.env.read("credit_accounts", ("BusinessPartner", "CreditSegment"), CREDIT_ACCOUNT)

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
            account_code=required_code(self.code(item.get("BusinessPartner")), "account_code"),
            limit=money(item.get("CreditLimitAmount"), currency, "limit"),
            currency=currency,
            blocked=flag(item.get("CreditAccountIsBlocked"), "blocked", (True,), (False,)),
            as_of=dt.datetime.now(self.tz).replace(microsecond=0),
        )
