"""check's proof of the ECC schema: SAP's data dictionary, read through RFC_READ_TABLE itself.

DD03L holds every active field of every table (AS4LOCAL 'A') with its DDIC type; one paged read
covers the tables the enabled streams use. Each of those tables is then listed by RFC_READ_TABLE
(NO_DATA, no FIELDS), which proves the technical user may read it (the authority check comes
first) and gives the fields exactly as the reads will meet them, with their ABAP type: a field
DD03L does not list under the table (fields of an included structure, UNCONFIRMED how DD03L shows
them) still counts, and a system whose DD03L the user may not read is checked on those listings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from connectors.base import CheckResult, ConnectorError
from connectors.catalog import Catalogue, Kind, Need, Words, verify
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import GUIDANCE, TableReader
from connectors.sap.ecc.rfc import EccCallError

__all__ = ["DD03L", "DDIC_KINDS", "catalogue", "check_schema"]

DD03L = Read(
    "DD03L",
    ("TABNAME", "FIELDNAME", "AS4LOCAL", "AS4VERS", "POSITION"),
    ("KEYFLAG", "DATATYPE", "LENG", "DECIMALS"),
)
WORDS = Words(name="field", names="fields", container="table", containers="tables")

# DDIC data types (DD03L-DATATYPE) and ABAP types (RFC_READ_TABLE's FIELDS-TYPE) by what they read as.
DDIC_KINDS: Mapping[str, Kind] = {
    **dict.fromkeys(("CURR", "QUAN", "DEC", "FLTP", "D16D", "D34D", "D16R", "D34R", "D16S", "D34S"), "number"),
    **dict.fromkeys(("NUMC", "INT1", "INT2", "INT4", "INT8", "PREC"), "integer"),
    "DATS": "date",
    "TIMS": "time",
    **dict.fromkeys(("RAW", "LRAW", "RSTR"), "binary"),
}
_ABAP: Mapping[str, Kind] = {
    **dict.fromkeys(("P", "F", "a", "e"), "number"),
    **dict.fromkeys(("N", "I", "b", "s", "8"), "integer"),
    "D": "date",
    "T": "time",
    **dict.fromkeys(("X", "y"), "binary"),
}
KIND_NAMES = {
    "text": "character data (CHAR, CUKY, UNIT ...)",
    "integer": "numeric text or an integer (NUMC, INT4)",
    "number": "a packed number (CURR, QUAN, DEC)",
    "date": "a date (DATS)",
    "time": "a time (TIMS)",
    "binary": "raw bytes (RAW)",
}


def _dd03l(reader: TableReader, tables: Sequence[str]) -> dict[str, dict[str, Kind]]:
    out: dict[str, dict[str, Kind]] = {}
    for row in reader.rows_in(DD03L, "TABNAME", tables, w.eq("AS4LOCAL", "A")):
        if row["FIELDNAME"].startswith("."):  # .INCLUDE / .APPEND rows name a structure, not a field
            continue
        out.setdefault(row["TABNAME"], {})[row["FIELDNAME"]] = DDIC_KINDS.get(row["DATATYPE"], "text")
    return out


def catalogue(reader: TableReader, tables: Iterable[str]) -> tuple[Catalogue, list[CheckResult]]:
    """What the system has of `tables`, and a warning when DD03L could not be read."""
    wanted = sorted(set(tables))
    notes: list[CheckResult] = []
    try:
        ddic = _dd03l(reader, wanted)
    except EccCallError as exc:
        ddic = {}
        notes.append(
            CheckResult(
                "data dictionary",
                True,
                f"DD03L is not readable ({exc}); fields and types come from RFC_READ_TABLE's field lists instead",
                warning=True,
            )
        )
    found = Catalogue(case_sensitive=False)
    for table in wanted:
        try:
            layout = reader.layout(table)
        except EccCallError as exc:
            if exc.exception in ("TABLE_NOT_AVAILABLE", "TABLE_WITHOUT_DATA"):
                continue  # absent: verify names it
            found.unreadable[table] = GUIDANCE.get(exc.exception or "", str(exc))
            continue
        types = ddic.get(table, {})
        found.containers[table] = {name: types.get(name) or _ABAP.get(col.type, "text") for name, col in layout.items()}
    return found, notes


def check_schema(
    reader: TableReader, needs: Mapping[str, list[Need]], condition_tables: Iterable[str]
) -> list[CheckResult]:
    """check's lines for the streams' needs: one per stream, every problem at once."""
    tables = {need.container for stream in needs.values() for need in stream}
    try:
        found, notes = catalogue(reader, tables)
    except ConnectorError as exc:
        return [CheckResult("data dictionary", False, f"cannot read the tables' fields: {exc}")]
    own = set(condition_tables)

    def hint(table: str) -> str:
        if table in own:
            return (
                "remove it from ecc.condition_tables / ecc.price_list_tables, or name your pricing procedure's "
                "tables there"
            )
        return "a standard ECC table: if this is S/4HANA, use flavour s4_odata"

    return notes + verify(needs, found, words=WORDS, container_hint=hint, kind_names=KIND_NAMES)
