"""The price_lists stream: sales price condition records that no customer restricts.

SAP keeps a general sales price as a pricing condition record of a price condition type (PPR0 in S/4, PR00 in ECC)
in a condition table keyed without the customer: by price list type (PLTYP, `PriceListType`) and material, or by
sales organisation, distribution channel and material. A customer's own price is a record of the same types keyed
with the customer (or customer group): that one is a discount of kind fixed_price (snapshots.Discounts), never here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from connectors.sap import codes
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.snapshots import to_per
from connectors.sap.s4.streams import S4Stream, number
from connectors.sap.s4.values import any_of, date_literal, day_of, expanded, instant_of
from mapping.errors import RecordError
from mapping.money import unit_price
from mapping.schema import PriceListEntry
from mapping.text import code, required_code

__all__ = ["PRICE_RECORD", "PriceLists", "for_customers"]

_OPEN_END = dt.date(9999, 12, 31)
PRICE_RECORD = Shape(
    (
        f("ConditionRecord"), f("ConditionSequentialNumber"), f("ConditionType"), f("ConditionRateValue", "number"),
        f("ConditionRateValueUnit"), f("ConditionQuantity", "number"), f("ConditionQuantityUnit"),
        f("ConditionIsDeleted", "boolean"), f("LastChangeDateTime", "datetime"),
    ),
    (
        (
            "to_SlsPrcgCndnRecdValidity",
            Shape((f("ConditionValidityStartDate", "datetime"), f("ConditionValidityEndDate", "datetime"),
                   f("Customer"), f("CustomerGroup"), f("Material"), f("PriceListType"), f("SalesOrganization"),
                   f("DistributionChannel"))),
        ),
        ("to_SlsPrcgCndnRecordScale", Shape((f("ConditionScaleQuantity", "number"),))),
    ),
)  # fmt: skip


def for_customers(row: dict[str, Any]) -> bool:
    """A record restricted to a customer or customer group: a dealer's price, not a price list's."""
    return any(v.get("Customer") or v.get("CustomerGroup") for v in expanded(row, "to_SlsPrcgCndnRecdValidity"))


class PriceLists(S4Stream):
    """A_SlsPrcgConditionRecord of `s4.price_condition_types` without customer: one entry per condition record
    (one material, one validity, one unit: the unit the rate is per), followed by its LastChangeDateTime."""

    name = "price_lists"
    primary_key = ("list_code", "product_code", "unit", "valid_from")
    replication_key = "LastChangeDateTime"

    def declare(self) -> Read:
        return self.env.read("condition_records", ("ConditionRecord",), PRICE_RECORD)

    def where(self) -> str:
        return any_of("ConditionType", self.env.s4.price_condition_types)

    def changed_since(self, since: dt.datetime) -> str:
        return f"LastChangeDateTime ge {date_literal(since)}"

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        # A record whose validity did not come back expanded is kept: map() dead-letters it instead of dropping it.
        return [r for r in rows if not _expanded_ok(r) or not for_customers(r)]

    def key(self, item: Any) -> str:
        record, sequence = item.get("ConditionRecord") or "", item.get("ConditionSequentialNumber") or "01"
        return record if sequence == "01" else f"{record}/{sequence}"

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            moment = instant_of(item.get("LastChangeDateTime"), "LastChangeDateTime")
        except RecordError:
            return None
        return moment.astimezone(self.tz) if moment else None

    def map(self, item: Any) -> PriceListEntry:
        s4 = self.env.s4
        validities = expanded(item, "to_SlsPrcgCndnRecdValidity")
        if not validities:
            raise RecordError("condition record without validity", "valid_from")
        validity = max(validities, key=lambda v: str(v.get("ConditionValidityStartDate") or ""))
        currency = codes.sap_currency(item.get("ConditionRateValueUnit"), "currency")
        if currency is None:
            raise RecordError("price condition record without currency (ConditionRateValueUnit)", "currency")
        unit = code(item.get("ConditionQuantityUnit"), "unit")
        if unit is None:
            raise RecordError("price condition record without unit (ConditionQuantityUnit)", "unit")
        rate = number(item.get("ConditionRateValue"), 6, "price")
        scales = [number(s.get("ConditionScaleQuantity"), 3, "min_quantity")
                  for s in expanded(item, "to_SlsPrcgCndnRecordScale")]  # fmt: skip
        valid_to = day_of(validity.get("ConditionValidityEndDate"), "valid_to")
        list_code = self._list_code(validity)
        return PriceListEntry(
            list_code=list_code,
            list_name=s4.price_list_names.get(list_code),
            product_code=required_code(self.code(validity.get("Material")), "product_code"),
            unit=unit,
            unit_code=codes.sap_unit_code(unit),
            price=unit_price(rate / to_per(item.get("ConditionQuantity")), "price"),  # type: ignore[arg-type]
            currency=currency,
            vat_included=item.get("ConditionType") in s4.gross_price_condition_types,
            min_quantity=min(scales) if scales else None,
            valid_from=day_of(validity.get("ConditionValidityStartDate"), "valid_from"),
            valid_to=None if valid_to == _OPEN_END else valid_to,
            active=not item.get("ConditionIsDeleted"),
        )

    @staticmethod
    def _list_code(validity: dict[str, Any]) -> str:
        """The price list type where the table is keyed by one, else the sales area whose base price it is."""
        listed = code(validity.get("PriceListType"), "list_code")
        if listed is not None:
            return listed
        area = [code(validity.get(k), "list_code") for k in ("SalesOrganization", "DistributionChannel")]
        if None in area:
            raise RecordError("price condition record with neither price list type nor sales area", "list_code")
        return "/".join(a for a in area if a)


def _expanded_ok(row: dict[str, Any]) -> bool:
    try:
        expanded(row, "to_SlsPrcgCndnRecdValidity")
    except RecordError:
        return False
    return True
