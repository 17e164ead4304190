"""Stock movements from the material documents: headers MKPF (BUDAT posting date, CPUDT/CPUTM entry, XBLNR
reference) and their items MSEG (BWART movement type, SHKZG debit/credit, WERKS/LGORT, UMWRK/UMLGO the transfer's
other side, MATNR, ERFMG/ERFME quantity in the unit of entry, KUNNR/LIFNR, SMBLN/SJAHR/SMBLP the reversed item).

One record per MSEG row (key MJAHR:MBLNR:ZEILE): SAP posts a transfer as two rows (the issuing one H, and the
receiving one S it creates, XAUTO 'X'), each naming the other storage location in UMLGO. The kind comes from BWART
through `movement_types` (an unknown type is kind `other`, its code in erp_kind), the direction from SHKZG (S into
the storage location, H out of it).

Cancellations: ECC marks nothing on a reversed item; its reversal document's rows name it (SMBLN, SJAHR, SMBLP). A
page's reversals are found with one IN selection on MSEG-SMBLN per page: a reversed row is sent cancelled, the
reversal's own rows are left out (Excluded). Material documents are never changed: reads follow MKPF-CPUDT (by day;
the cursor is CPUDT + CPUTM), and an incremental read that meets a reversal reads the document it reverses again.

document_no is the header's reference (XBLNR: the delivery note or invoice number), else the material document's
number; invoice_number, for sales and returns, the reference (`ecc.movement_reference_is_invoice`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from connectors.base import Excluded, Partition
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.streams import EccStream, Item, day
from mapping.errors import RecordError
from mapping.schema import StockMovement
from mapping.text import code, required_code

__all__ = ["HEADERS", "ITEMS", "StockMovements"]

_DOC = ("MBLNR", "MJAHR")
HEADERS = Read("MKPF", _DOC, ("BUDAT", "CPUDT", "CPUTM", "XBLNR"))
ITEMS = Read(
    "MSEG",
    (*_DOC, "ZEILE"),
    ("BWART", "SHKZG", "MATNR", "WERKS", "LGORT", "UMWRK", "UMLGO", "ERFMG", "ERFME", "KUNNR", "LIFNR", "SMBLN",
     "SJAHR", "SMBLP"),
)  # fmt: skip
REVERSALS = Read("MSEG", (*_DOC, "ZEILE"), ("SMBLN", "SJAHR", "SMBLP"))
_SIDES = {codes.RECEIPT: "in", "H": "out"}
_DEALER_KINDS = ("sale", "sale_return")


def _doc(row: Row) -> tuple[str, str]:
    return (row["MBLNR"], row["MJAHR"])


class StockMovements(EccStream):
    name = "stock_movements"
    primary_key = ("warehouse_code", "direction", "document_no", "line_no")
    replication_key = "CPUDT"
    table = "MSEG"
    key_fields = ("MJAHR", "MBLNR", "ZEILE")

    def head_read(self) -> Read:
        return HEADERS

    def declared(self) -> list[Read]:
        return [HEADERS, ITEMS, REVERSALS]

    def changed(self, since: str) -> str | None:
        return w.ge("CPUDT", since)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        condition = self.changed(day(since, self.tz)) if since is not None else None
        seen: set[str] = set()
        for heads in self.reader.pages(HEADERS, condition):
            items = self._items(heads)
            if since is not None:
                # A reversal entered since names a document entered earlier, which is now cancelled.
                have = {_doc(h) for h in heads}
                wanted = {(i["MSEG"]["SMBLN"], i["MSEG"]["SJAHR"]) for i in items if i["MSEG"]["SMBLN"]} - have
                if wanted:
                    more = self.reader.rows_in(HEADERS, "MBLNR", [m for m, _ in wanted])
                    items += self._items([h for h in more if _doc(h) in wanted])
            fresh = [i for i in items if self.key(i) not in seen]
            seen.update(self.key(i) for i in fresh)
            if fresh:
                yield fresh

    def _items(self, heads: Sequence[Row]) -> list[Item]:
        """Each MSEG row of the documents `heads`, with its header and whether a reversal names it."""
        by_doc = {_doc(h): h for h in heads}
        numbers = [m for m, _ in by_doc]
        rows = [r for r in self.reader.rows_in(ITEMS, "MBLNR", numbers) if _doc(r) in by_doc]
        reversed_ = {(r["SJAHR"], r["SMBLN"], r["SMBLP"]) for r in self.reader.rows_in(REVERSALS, "SMBLN", numbers)}
        rows.sort(key=lambda r: (r["MJAHR"], r["MBLNR"], r["ZEILE"]))
        return [
            {"MKPF": by_doc[_doc(r)], "MSEG": r, "cancelled": (r["MJAHR"], r["MBLNR"], r["ZEILE"]) in reversed_}
            for r in rows
        ]

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = set(keys)
        numbers = [key.split(":")[1] for key in keys if key.count(":") == 2]
        heads = self.reader.rows_in(HEADERS, "MBLNR", numbers)
        return [i for i in self._items(heads) if self.key(i) in wanted]

    def cursor(self, item: Any) -> dt.datetime | None:
        head = item["MKPF"]
        return self.moment(head.get("CPUDT"), head.get("CPUTM"))

    def count(self) -> int | None:
        return None

    def raw(self, item: Any) -> dict[str, Any]:
        return {**item["MKPF"], **item["MSEG"], "cancelled": item["cancelled"]}

    def _warehouse(self, plant: str, location: str, field: str) -> str | None:
        found = code(location, field)
        if found is None or self.env.options.warehouse_code != "plant_and_storage_location":
            return found
        return f"{plant}/{found}"

    def map(self, item: Any) -> StockMovement | Excluded:
        s = self.env.settings
        head, row = item["MKPF"], item["MSEG"]
        if row["SMBLN"]:
            return Excluded("reversal document: the reversed movement is sent cancelled")
        if self.env.options.plants and row["WERKS"] not in self.env.options.plants:
            return Excluded("another plant's movement")
        movement_type, side = row["BWART"], row["SHKZG"]
        direction = _SIDES.get(side)
        if direction is None:
            raise RecordError(f"debit/credit indicator {side!r} is neither S nor H", "direction")
        kind = codes.movement_kind(movement_type, s.movement_types)
        reference = code(head["XBLNR"], "document_no")
        unit = code(row["ERFME"], "unit")
        partner = codes.alpha_out(row["KUNNR"] or row["LIFNR"]) or None
        posted = v.date(head["BUDAT"], "date")
        if posted is None:
            raise RecordError("missing", "date")
        return StockMovement(
            date=posted,
            kind=kind,
            direction=direction,  # type: ignore[arg-type]
            erp_kind=f"{movement_type}:{side}",
            document_no=reference or required_code(codes.alpha_out(row["MBLNR"]), "document_no"),
            line_no=v.integer(row["ZEILE"], "line_no"),
            invoice_number=reference if kind in _DEALER_KINDS and self.env.options.movement_reference_is_invoice
            else None,
            account_code=code(partner, "account_code"),
            product_code=required_code(codes.alpha_out(row["MATNR"]), "product_code"),
            warehouse_code=required_code(self._warehouse(row["WERKS"], row["LGORT"], "warehouse_code"),
                                         "warehouse_code"),
            other_warehouse_code=self._warehouse(row["UMWRK"], row["UMLGO"], "other_warehouse_code")
            if row["UMLGO"] else None,
            quantity=v.number(row["ERFMG"], "quantity"),
            unit=unit,
            unit_code=codes.sap_unit_code(unit),
            cancelled=item["cancelled"],
        )  # fmt: skip
