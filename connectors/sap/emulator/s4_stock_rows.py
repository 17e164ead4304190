"""Goods movements as S/4's material documents (API_MATERIAL_DOCUMENT_SRV): one header per document
(A_MaterialDocumentHeader: PostingDate, CreationDate/CreationTime, ReferenceDocument) with its items
(A_MaterialDocumentItem: GoodsMovementType, DebitCreditCode, Plant/StorageLocation, the transfer's other storage
location, Material, QuantityInEntryUnit/EntryUnit, Customer or Supplier, and the reversal fields).

How the scenario's movements are posted (connectors/sap/README.md, "Stock movements", names the sources):
  * a dealer's sale: a goods issue for its delivery (601, H) out of the line's storage location; a return: a goods
    receipt of the returns delivery into unrestricted-use stock (653, S); the header's reference (XBLNR) is the
    invoice's number (the UNCONFIRMED reading `s4.movement_reference_is_invoice`);
  * a purchase: a goods receipt (101, S) into the central storage location, the supplier on each item, the slip's
    number (the supplier's delivery note) in the reference;
  * a transfer: one 311 document, two items per line: the issuing one (H) out of the source, naming the receiving
    storage location, and the receiving one (S, created automatically) into the target, naming the source;
  * a cancelled invoice's goods movement is reversed by a document of the reversal movement type (602, 654: the
    movement type + 1) whose items name the reversed document and item; the original's items are then flagged
    GoodsMovementIsCancelled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from connectors.sap import codes
from connectors.sap.emulator.s4_filter import Row
from connectors.sap.emulator.s4_system import PLANT, edm_date, sap_unit
from mapping.schema import Invoice
from scenario.stock import StockSlip

__all__ = ["MaterialDocument", "MaterialItem", "StockRows"]

_MOVING = frozenset({"item", "promotion"})


@dataclass(frozen=True)
class MaterialItem:
    item: int
    movement_type: str
    side: str  # DebitCreditCode: S receipt, H issue
    material: str
    location: str
    other_location: str
    quantity: Decimal
    unit: str
    customer: str = ""
    supplier: str = ""
    automatic: bool = False
    cancelled: bool = False
    reverses: tuple[str, str, int] | None = None  # (year, document, item) of the reversed item


@dataclass
class MaterialDocument:
    number: str
    posted: dt.date
    created: dt.datetime
    reference: str
    items: list[MaterialItem] = field(default_factory=list)

    @property
    def year(self) -> str:
        return str(self.posted.year)


class StockRows:
    """Material documents for a system in time zone `tz`, numbered from 4900000001 in the order they are made."""

    def __init__(self, tz: dt.tzinfo) -> None:
        self.tz = tz
        self.next_number = 4_900_000_001
        self.by_invoice: dict[str, MaterialDocument] = {}

    def _number(self) -> str:
        number = f"{self.next_number:010d}"
        self.next_number += 1
        return number

    def invoice(self, inv: Invoice, created: dt.datetime) -> MaterialDocument | None:
        """The goods movement of a sale's or return's moving lines; None for an invoice that moves nothing."""
        if inv.kind not in ("sale", "return"):
            return None
        back = inv.kind == "return"
        customer = codes.alpha_in(inv.account_code, codes.KUNNR_LENGTH)
        doc = MaterialDocument(self._number(), inv.date, created, inv.number)
        for line in inv.lines:
            if line.kind not in _MOVING or line.product_code is None or line.warehouse_code is None:
                continue
            doc.items.append(MaterialItem(
                item=len(doc.items) + 1, movement_type="653" if back else "601", side="S" if back else "H",
                material=codes.alpha_in(line.product_code, codes.MATNR_LENGTH), location=line.warehouse_code,
                other_location="", quantity=line.quantity, unit=sap_unit(line.unit), customer=customer,
            ))  # fmt: skip
        if not doc.items:
            return None
        self.by_invoice[inv.number] = doc
        return doc

    def slip(self, slip: StockSlip, created: dt.datetime) -> MaterialDocument:
        doc = MaterialDocument(self._number(), slip.date, created, slip.number)
        for line in slip.lines:
            material = codes.alpha_in(line.product_code, codes.MATNR_LENGTH)
            unit = sap_unit(line.unit)
            if slip.kind == "purchase":
                supplier = codes.alpha_in(slip.account_code or "", codes.KUNNR_LENGTH)
                doc.items.append(MaterialItem(len(doc.items) + 1, "101", "S", material, slip.warehouse_code, "",
                                              line.quantity, unit, supplier=supplier))  # fmt: skip
            else:
                target = slip.to_warehouse_code or ""
                doc.items.append(MaterialItem(len(doc.items) + 1, "311", "H", material, slip.warehouse_code, target,
                                              line.quantity, unit))  # fmt: skip
                doc.items.append(MaterialItem(len(doc.items) + 1, "311", "S", material, target, slip.warehouse_code,
                                              line.quantity, unit, automatic=True))  # fmt: skip
        return doc

    def reversal(self, original: MaterialDocument, at: dt.datetime) -> MaterialDocument:
        """The document reversing `original` (movement type + 1, the other side), posted on the day it is made;
        `original`'s items are flagged cancelled."""
        day = at.astimezone(self.tz).date()
        doc = MaterialDocument(self._number(), day, at, original.reference)
        for it in original.items:
            doc.items.append(replace(
                it, item=len(doc.items) + 1, movement_type=str(int(it.movement_type) + 1),
                side="H" if it.side == "S" else "S", reverses=(original.year, original.number, it.item),
            ))  # fmt: skip
        original.items = [replace(it, cancelled=True) for it in original.items]
        return doc

    # -- rows ----------------------------------------------------------------------------------------------------
    def header(self, doc: MaterialDocument) -> Row:
        created = doc.created.astimezone(self.tz)
        return {
            "MaterialDocumentYear": doc.year,
            "MaterialDocument": doc.number,
            "DocumentDate": edm_date(doc.posted),
            "PostingDate": edm_date(doc.posted),
            "CreationDate": edm_date(created.date()),
            "CreationTime": created.time().replace(microsecond=0, tzinfo=None),
            "ReferenceDocument": doc.reference,
            "to_MaterialDocumentItem": lambda: [self.item(doc, it) for it in doc.items],
        }

    def item(self, doc: MaterialDocument, it: MaterialItem) -> Row:
        year, reversed_doc, reversed_item = it.reverses or ("", "", 0)
        return {
            "MaterialDocumentYear": doc.year,
            "MaterialDocument": doc.number,
            "MaterialDocumentItem": str(it.item),
            "Material": it.material,
            "Plant": PLANT,
            "StorageLocation": it.location,
            "GoodsMovementType": it.movement_type,
            "InventoryStockType": "01",
            "Supplier": it.supplier,
            "Customer": it.customer,
            "EntryUnit": it.unit,
            "QuantityInEntryUnit": it.quantity,
            "MaterialBaseUnit": it.unit,
            "QuantityInBaseUnit": it.quantity,
            "IssuingOrReceivingPlant": PLANT if it.other_location else "",
            "IssuingOrReceivingStorageLoc": it.other_location,
            "IsAutomaticallyCreated": "X" if it.automatic else "",
            "GoodsMovementIsCancelled": it.cancelled,
            "ReversedMaterialDocumentYear": year,
            "ReversedMaterialDocument": reversed_doc,
            "ReversedMaterialDocumentItem": str(reversed_item) if reversed_item else "",
            "DebitCreditCode": it.side,
        }
