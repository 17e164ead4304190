"""Goods movements as ECC keeps them: material document headers (MKPF) and items (MSEG).

Posted as in S/4 (s4_stock_rows.py): a sale's goods issue 601 (H) and a return's receipt 653 (S) with the customer,
a purchase's goods receipt 101 (S) with the vendor, a transfer's 311 document of two rows per line (the issuing row
H naming the receiving storage location in UMLGO, and the receiving row S, XAUTO 'X', naming the issuing one); the
header's reference XBLNR is the invoice's or the slip's number. A cancelled invoice's movement is reversed by a
602/654 document whose rows name the reversed row (SMBLN, SJAHR, SMBLP); ECC marks nothing on the reversed rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mapping.schema import Invoice
from scenario.stock import StockSlip

__all__ = ["EccStock"]

_MOVING = frozenset({"item", "promotion"})


@dataclass(frozen=True)
class _Row:
    bwart: str
    shkzg: str
    matnr: str
    lgort: str
    umlgo: str
    quantity: Decimal
    unit: str
    kunnr: str = ""
    lifnr: str = ""
    xauto: str = ""


class EccStock:
    """Lays material documents through `add(table, **values)`, numbered from 4900000001 in the order made."""

    def __init__(self, add: Callable[..., None], plant: str, unit: Callable[[str | None, str], str]) -> None:
        self.add = add
        self.plant = plant
        self.unit = unit
        self.next_number = 4_900_000_001
        self.by_invoice: dict[str, tuple[str, int, list[_Row], str]] = {}  # number -> (MBLNR, MJAHR, rows, XBLNR)

    def invoice(self, inv: Invoice, created: dt.datetime) -> None:
        if inv.kind not in ("sale", "return"):
            return
        back = inv.kind == "return"
        rows = [
            _Row("653" if back else "601", "S" if back else "H", line.product_code, line.warehouse_code, "",
                 line.quantity, self.unit(line.unit_code, line.unit or ""), kunnr=inv.account_code)
            for line in inv.lines
            if line.kind in _MOVING and line.product_code is not None and line.warehouse_code is not None
        ]  # fmt: skip
        if rows:
            number, year = self._post(inv.date, created, inv.number, rows)
            self.by_invoice[inv.number] = (number, year, rows, inv.number)

    def slip(self, slip: StockSlip, created: dt.datetime) -> None:
        rows: list[_Row] = []
        for line in slip.lines:
            unit = self.unit(line.unit_code, line.unit)
            if slip.kind == "purchase":
                rows.append(_Row("101", "S", line.product_code, slip.warehouse_code, "", line.quantity, unit,
                                 lifnr=slip.account_code or ""))  # fmt: skip
            else:
                target = slip.to_warehouse_code or ""
                rows.append(_Row("311", "H", line.product_code, slip.warehouse_code, target, line.quantity, unit))
                rows.append(_Row("311", "S", line.product_code, target, slip.warehouse_code, line.quantity, unit,
                                 xauto="X"))  # fmt: skip
        self._post(slip.date, created, slip.number, rows)

    def reverse(self, invoice_number: str, at: dt.datetime) -> None:
        """The reversal (movement type + 1, the other side) of an invoice's goods movement, posted on its day."""
        found = self.by_invoice.pop(invoice_number, None)
        if found is None:
            return
        number, year, rows, reference = found
        flipped = [
            _Row(str(int(r.bwart) + 1), "H" if r.shkzg == "S" else "S", r.matnr, r.lgort, r.umlgo, r.quantity,
                 r.unit, r.kunnr, r.lifnr)
            for r in rows
        ]  # fmt: skip
        self._post(at.date(), at, reference, flipped, reverses=(number, year))

    def _post(
        self, posted: dt.date, created: dt.datetime, reference: str, rows: list[_Row],
        reverses: tuple[str, int] | None = None,
    ) -> tuple[str, int]:  # fmt: skip
        number = f"{self.next_number:010d}"
        self.next_number += 1
        year = posted.year
        self.add("MKPF", MBLNR=number, MJAHR=year, BLDAT=posted, BUDAT=posted, CPUDT=created.date(),
                 CPUTM=created.time(), XBLNR=reference)  # fmt: skip
        for i, r in enumerate(rows, start=1):
            extra: dict[str, Any] = {}
            if reverses is not None:
                extra = {"SMBLN": reverses[0], "SJAHR": reverses[1], "SMBLP": i}
            self.add(
                "MSEG", MBLNR=number, MJAHR=year, ZEILE=i, BWART=r.bwart, XAUTO=r.xauto, MATNR=r.matnr,
                WERKS=self.plant, LGORT=r.lgort, KUNNR=r.kunnr, LIFNR=r.lifnr, SHKZG=r.shkzg, MENGE=r.quantity,
                MEINS=r.unit, ERFMG=r.quantity, ERFME=r.unit, UMWRK=self.plant if r.umlgo else "", UMLGO=r.umlgo,
                **extra,
            )  # fmt: skip
        return number, year
