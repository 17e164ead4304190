"""Stock movements from the material documents (API_MATERIAL_DOCUMENT_SRV): headers with their items expanded,
one record per item (key MaterialDocumentYear/MaterialDocument/MaterialDocumentItem).

SAP keeps both sides of a transfer as items of their own (the issuing item H and the receiving item S, which SAP
creates), each naming the other storage location (IssuingOrReceivingStorageLoc), so each item is one record. The
kind comes from the movement type through `movement_types` (an unknown type is kind `other`, its code in
erp_kind); the direction from the item's DebitCreditCode (S into the storage location, H out of it). A reversal
(a document whose items name the ReversedMaterialDocument) is left out (Excluded): the reversed items, flagged
GoodsMovementIsCancelled, are sent cancelled. Material documents are never changed but by such a flag: reads
follow the header's entry date (CreationDate, by day; the cursor is CreationDate + CreationTime), and a reversal
met there fetches the document it reverses.

document_no is the header's reference (ReferenceDocument: the delivery note or invoice number), else the material
document's number; invoice_number, for sales and returns, the reference (`s4.movement_reference_is_invoice`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from connectors.base import Excluded, Partition
from connectors.sap import codes
from connectors.sap.s4.shape import Read, Shape, f
from connectors.sap.s4.streams import S4Stream, day, number
from connectors.sap.s4.values import day_literal, expanded, wall_time
from mapping.errors import RecordError
from mapping.schema import StockMovement
from mapping.text import code, flag, required_code

__all__ = ["MATERIAL_DOCUMENT_KEY", "StockMovements"]

MATERIAL_DOCUMENT_KEY = ("MaterialDocumentYear", "MaterialDocument")
_HEADER = (
    f("PostingDate", "datetime"), f("CreationDate", "datetime"), f("CreationTime", "time"), f("ReferenceDocument"),
)  # fmt: skip
_ITEM = (
    f("MaterialDocumentYear"), f("MaterialDocument"), f("MaterialDocumentItem"), f("Material"), f("Plant"),
    f("StorageLocation"), f("GoodsMovementType"), f("DebitCreditCode"), f("QuantityInEntryUnit", "number"),
    f("EntryUnit"), f("Customer"), f("Supplier"), f("IssuingOrReceivingPlant"), f("IssuingOrReceivingStorageLoc"),
    f("GoodsMovementIsCancelled", "boolean"), f("ReversedMaterialDocumentYear"), f("ReversedMaterialDocument"),
)  # fmt: skip
_SIDES = {codes.RECEIPT: "in", "H": "out"}
_DEALER_KINDS = ("sale", "sale_return")


def header_shape() -> Shape:
    return Shape((*(f(k) for k in MATERIAL_DOCUMENT_KEY), *_HEADER), (("to_MaterialDocumentItem", Shape(_ITEM)),))


class StockMovements(S4Stream):
    name = "stock_movements"
    primary_key = ("warehouse_code", "direction", "document_no", "line_no")
    replication_key = "CreationDate"

    def declare(self) -> Read:
        return self.env.read("material_documents", MATERIAL_DOCUMENT_KEY, header_shape())

    def changed_since(self, since: dt.datetime) -> str:
        return f"CreationDate ge {day_literal(since.astimezone(self.tz).date())}"

    def cursor(self, item: Any) -> dt.datetime | None:
        try:
            return wall_time(item.get("CreationDate"), item.get("CreationTime"), self.tz, "CreationDate")
        except RecordError:
            return None

    def count(self) -> int | None:
        return None  # rows are documents, records their items

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        seen: set[str] = set()
        for items in super().read(since, partition):
            fresh = [i for i in items if self.key(i) not in seen]
            seen.update(self.key(i) for i in fresh)
            if fresh:
                yield fresh

    def items(self, rows: list[dict[str, Any]], since: dt.datetime | None) -> Sequence[Any]:
        out = _flat(rows)
        if since is not None:
            # A reversal entered since points at a document entered earlier, whose items are now cancelled.
            have = {str(r.get("MaterialDocument") or "") for r in rows}
            wanted = {str(i.get("ReversedMaterialDocument") or "") for i in out} - have - {""}
            for found in self.env.reader.by_keys(self.main, "MaterialDocument", wanted):
                out.extend(_flat(found))
        return out

    def key(self, item: Any) -> str:
        return "/".join(str(item.get(k) or "") for k in (*MATERIAL_DOCUMENT_KEY, "MaterialDocumentItem"))

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = set(keys)
        documents = {key.split("/")[1] for key in keys if key.count("/") == 2}
        found: list[Any] = []
        for rows in self.env.reader.by_keys(self.main, "MaterialDocument", documents):
            found.extend(i for i in _flat(rows) if self.key(i) in wanted)
        return found

    def location(self, plant: Any, location: Any, field: str) -> str | None:
        found = code(location, field)
        if found is None or self.env.s4.plant:
            return found
        return f"{plant or ''}/{found}"

    def map(self, item: Any) -> StockMovement | Excluded:
        s = self.env.settings
        if item.get("_error"):
            raise RecordError("the document's items came back not expanded", "to_MaterialDocumentItem")
        if item.get("ReversedMaterialDocument"):
            return Excluded("reversal document: the reversed movement is sent cancelled")
        if s.s4.plant and item.get("Plant") != s.s4.plant:
            return Excluded("another plant's movement")
        movement_type = str(item.get("GoodsMovementType") or "")
        side = str(item.get("DebitCreditCode") or "")
        direction = _SIDES.get(side)
        if direction is None:
            raise RecordError(f"debit/credit code {side!r} is neither S nor H", "direction")
        kind = codes.movement_kind(movement_type, s.movement_types)
        reference = code(item.get("ReferenceDocument"), "document_no")
        unit = code(item.get("EntryUnit"), "unit")
        try:
            line_no = int(str(item.get("MaterialDocumentItem")))
        except ValueError:
            raise RecordError("item number is not a number", "line_no") from None
        partner = item.get("Customer") or item.get("Supplier")
        other = None
        if item.get("IssuingOrReceivingStorageLoc"):
            other = self.location(item.get("IssuingOrReceivingPlant"), item.get("IssuingOrReceivingStorageLoc"),
                                  "other_warehouse_code")  # fmt: skip
        return StockMovement(
            date=day(item.get("PostingDate"), "date"),
            kind=kind,
            direction=direction,  # type: ignore[arg-type]
            erp_kind=f"{movement_type}:{side}",
            document_no=reference or required_code(item.get("MaterialDocument"), "document_no"),
            line_no=line_no,
            invoice_number=reference if kind in _DEALER_KINDS and s.s4.movement_reference_is_invoice else None,
            account_code=code(self.code(partner), "account_code") if partner else None,
            product_code=required_code(self.code(item.get("Material")), "product_code"),
            warehouse_code=required_code(
                self.location(item.get("Plant"), item.get("StorageLocation"), "warehouse_code"), "warehouse_code"
            ),
            other_warehouse_code=other,
            quantity=number(item.get("QuantityInEntryUnit"), 3, "quantity"),
            unit=unit,
            unit_code=codes.sap_unit_code(unit),
            cancelled=flag(item.get("GoodsMovementIsCancelled"), "cancelled", (True,), (False,)),
        )


def _flat(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item of each document, with the header's fields it needs."""
    out: list[dict[str, Any]] = []
    for row in rows:
        header = {name: row.get(name) for name in ("PostingDate", "CreationDate", "CreationTime", "ReferenceDocument")}
        try:
            items = expanded(row, "to_MaterialDocumentItem")
        except RecordError:
            items = [{k: row.get(k) for k in MATERIAL_DOCUMENT_KEY} | {"MaterialDocumentItem": "", "_error": True}]
        out.extend({**item, **header} for item in items)
    return out
