"""What the ECC streams read, declared once: the reads are built from it and check verifies it.

Every RFC_READ_TABLE call of a stream goes through a `Read` (a table, its key fields, the fields
wanted there and the fields its selections name); the stream lists all its Reads in `declared()`, and
check turns the same Reads into the names it proves against SAP's data dictionary. A field SAP may
not have on every system is `optional`: the reader leaves it out of FIELDS when the table lacks it,
and the row has no entry (check warns). A `conditional` field is read where the table has it and
its absence is the table's design (a condition table keyed by material has no customer field).

Kinds: how the adapter interprets a field, so check can refuse a DDIC type that would change its
value (a packed amount that is CHAR on this system). Fields read as plain text are not checked:
any DDIC type gives the same characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connectors.catalog import Kind, Need

__all__ = ["KINDS", "Read", "kind", "needs"]

# SAP names a value the same way in every table (the data element), so one table of kinds serves all.
KINDS: Mapping[str, Kind] = {
    **dict.fromkeys(
        (
            "DMBTR",
            "ERFMG",
            "FKIMG",
            "INSME",
            "KBETR",
            "KLIMK",
            "KPEIN",
            "KSTBM",
            "KURRF",
            "KURSF",
            "KWERT",
            "KWMENG",
            "LABST",
            "MWSBK",
            "MWSBP",
            "NETWR",
            "OMENG",
            "RFMNG",
            "SAUFT",
            "SKFOR",
            "SPEME",
            "SSOBL",
            "UMREN",
            "UMREZ",
            "WRBTR",
            "ZBD1T",
        ),
        "number",
    ),
    # NUMC values the adapter counts with (item and scale numbers, days), and a currency's decimals (INT1).
    **dict.fromkeys(("CURRDEC", "KLFN1", "POSNR", "ZTAG1"), "integer"),
    **dict.fromkeys(
        (
            "AEDAT",
            "AUDAT",
            "AUGDT",
            "BLDAT",
            "CPUDT",
            "DATAB",
            "DATBI",
            "DATE_FROM",
            "ERDAT",
            "ERSDA",
            "FKDAT",
            "LAEDA",
            "ZFBDT",
        ),
        "date",
    ),
    **dict.fromkeys(("CPUTM", "ERZET"), "time"),
}


def kind(name: str) -> Kind:
    return KINDS.get(name, "any")


@dataclass(frozen=True)
class Read:
    """One table as a stream reads it: the key fields (always read, to join and page by) and the others."""

    table: str
    key: tuple[str, ...]
    fields: tuple[str, ...] = ()
    # field -> the feed fields that stay empty on a system without it
    optional: Mapping[str, str] = field(default_factory=dict)
    # field -> the setting that names it (fields an installation chooses, e.g. the tax number's)
    remap: Mapping[str, str] = field(default_factory=dict)
    where: tuple[str, ...] = ()  # fields the selections name without reading them
    conditional: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """What the reader asks for (conditional fields where the table has them)."""
        return tuple(dict.fromkeys((*self.key, *self.fields, *self.conditional)))

    def needs(self) -> list[Need]:
        checked = dict.fromkeys((*self.key, *self.fields, *self.where))
        return [
            Need(self.table, name, kind(name), optional=self.optional.get(name), remap=self.remap.get(name))
            for name in checked
            if name not in self.conditional
        ]


def needs(reads: Iterable[Read]) -> list[Need]:
    return [need for read in reads for need in read.needs()]
