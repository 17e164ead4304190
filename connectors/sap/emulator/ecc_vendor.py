"""SAP's published metadata for ECC, kept in connectors/sap/vendor/ecc (see the README there).

`ddic()` gives the DDIC facts of the public field lists: per table, per field, its DDIC data type,
length, decimals and key flag, for the rows whose type a public page shows. `unverified()` gives the
fields (or whole tables, field "*") the adapter or the emulator uses although no public page
confirmed them, each with the reason. The emulator's tables and the adapter's reads are checked
against both by tests/test_sap_ecc_vendor.py. `currency_decimals()` gives the TCURX rows public
sources show (the emulator's TCURX).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

__all__ = ["VENDOR", "VendorField", "currency_decimals", "ddic", "unverified", "wsdl"]

VENDOR: Final = Path(__file__).resolve().parents[1] / "vendor" / "ecc"


@dataclass(frozen=True)
class VendorField:
    name: str
    datatype: str  # CHAR, NUMC, DATS, TIMS, CURR, QUAN, DEC, CUKY, UNIT, CLNT, LANG
    length: int
    decimals: int
    key: bool
    source: str


def _rows(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


@cache
def ddic() -> dict[str, dict[str, VendorField]]:
    """Table -> field -> the DDIC facts a public page confirms (rows with a data type; DDIC types only)."""
    out: dict[str, dict[str, VendorField]] = {}
    for path in sorted((VENDOR / "ddic").glob("*.tsv")):
        fields = out.setdefault(path.stem, {})
        for row in _rows(path):
            datatype = (row["DATATYPE"] or "").strip()
            if len(datatype) < 3 or not row["LENG"]:  # not found, or an ABAP type letter only (A305)
                continue
            fields[row["FIELDNAME"]] = VendorField(
                row["FIELDNAME"],
                datatype,
                int(row["LENG"]),
                int(row["DECIMALS"] or 0),
                row["KEYFLAG"] == "X",
                row["SOURCE"],
            )
    return out


@cache
def unverified() -> dict[tuple[str, str], str]:
    """(table, field) -> why it is used without a public DDIC row; field "*" covers a whole table."""
    return {(r["TABLE"], r["FIELDNAME"]): r["REASON"] for r in _rows(VENDOR / "unverified.tsv")}


@cache
def currency_decimals() -> dict[str, int]:
    """TCURX: currency key -> its decimals, for the currencies whose decimals are not two."""
    return {r["CURRKEY"]: int(r["CURRDEC"]) for r in _rows(VENDOR / "tcurx.tsv")}


def wsdl() -> bytes:
    """The SOAMANAGER-generated binding WSDL of an RFC function module (not RFC_READ_TABLE's: none is public)."""
    return (VENDOR / "soamanager_ZWS_BAPI_SALESORDER_CREATE_binding.wsdl").read_bytes()
