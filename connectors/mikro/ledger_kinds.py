"""What kind of account-ledger entry a CARI_HESAP_HAREKETLERI row is: the ledger_kinds setting over sourced defaults.

Keys are those of movement_codes ("evrak_tip[:cinsi[:tip[:iade]]]", '*' for any value; the most
specific key that matches decides). Where no ledger_kinds key matches, the row's movement_codes
reading decides, so the ledger and the invoices and collections streams never disagree about a
document: an invoice is an `invoice` or a `return`, a collection a `collection` (a `payment` when it
gives money back), a customer's promise to pay a `collection` (Mikro credits the account when the
promise is taken; the closing document posts to the bank). Anything else is `other`, its raw code in
`erp_kind`, and the census shows it as unknown.

The defaults name Mikro's own document types (its cha_evrak_tip list, vendor/code_lists.tsv): 29
Açılış Fişi, 31 / 100 Borç Dekontu, 32 / 101 Alacak Dekontu, 59 Kur Farkı Virman Dekontu, the
returned protested note and bounced cheque (45, 46), and the payments to an account (35, 64, 65).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, get_args

from connectors.mikro.codes import DOCS_EVRAK, TRACE
from connectors.mikro.readings import YOURS, CodePattern, MovementCodes, reverses, split_key
from mapping.schema import LedgerKind

__all__ = ["DEFAULT_LEDGER_KINDS", "LedgerKinds", "LedgerReading", "parse_ledger_kinds"]

_KINDS = frozenset(get_args(LedgerKind))

# key -> (ledger kind, source, what Mikro calls the rows).
DEFAULT_LEDGER_KINDS: Final[Mapping[str, tuple[str, str, str]]] = {
    "29": ("opening", DOCS_EVRAK, "Açılış Fişi"),
    "31": ("debit_note", DOCS_EVRAK, "Borç Dekontu"),
    "32": ("credit_note", DOCS_EVRAK, "Alacak Dekontu"),
    "100": ("debit_note", DOCS_EVRAK, "Cari Borç Dekontu"),
    "101": ("credit_note", DOCS_EVRAK, "Cari Alacak Dekontu"),
    "59": ("exchange_difference", DOCS_EVRAK, "Kur Farkı Virman Dekontu"),
    "45": ("cheque_return", DOCS_EVRAK, "Protestolu Senet İade Çıkış Bordrosu"),
    "46": ("cheque_return", DOCS_EVRAK, "Karşılıksız Çek İade Çıkış Bordrosu"),
    "35": ("payment", DOCS_EVRAK, "Gonderilen Havale"),
    "64": ("payment", TRACE, "Tediye Makbuzu"),
    "65": ("payment", DOCS_EVRAK, "Kasa Tediye Fişi"),
    "132": ("payment", DOCS_EVRAK, "Müşteri Ödeme Sözü İade Çıkış Bordrosu: a promise given back"),
    "134": ("payment", DOCS_EVRAK, "Müşteri Havale Sözü İade Çıkış Bordrosu: a promise given back"),
    # Known rows the ledger has no kind for: a supplier's purchase invoice and a return to a supplier.
    "0:*:*:0": ("other", TRACE, "Alış Faturası (a purchase)"),
    "63:*:*:1": ("other", TRACE, "Satış Faturası, iade (a return to a supplier)"),
}


@dataclass(frozen=True)
class LedgerReading(CodePattern):
    """One key of ledger_kinds: which rows it matches and their ledger kind."""

    kind: LedgerKind
    source: str
    label: str = ""


def parse_ledger_kinds(setting: Mapping[str, str | None]) -> list[LedgerReading]:
    """The effective readings: the defaults with the setting's keys over them (null drops a default)."""
    merged: dict[str, tuple[str, str, str]] = dict(DEFAULT_LEDGER_KINDS)
    for key, value in setting.items():
        if value is None:
            merged.pop(key, None)
            continue
        default = DEFAULT_LEDGER_KINDS.get(key)
        merged[key] = default if default and default[0] == value else (value, YOURS, "")
    readings: list[LedgerReading] = []
    seen: dict[tuple[Any, ...], str] = {}
    for key, (kind, source, label) in merged.items():
        evrak, cinsi, tip, iade = split_key(key, "ledger_kinds")
        if kind not in _KINDS:
            raise ValueError(f"ledger_kinds {key!r}: {kind!r} must be one of {', '.join(sorted(_KINDS))}")
        if (evrak, cinsi, tip, iade) in seen:
            raise ValueError(f"ledger_kinds keys {seen[evrak, cinsi, tip, iade]!r} and {key!r} name the same codes")
        seen[evrak, cinsi, tip, iade] = key
        readings.append(LedgerReading(key, evrak, cinsi, tip, iade, kind, source, label))  # type: ignore[arg-type]
    return sorted(readings, key=lambda r: (r.evrak, r.rank))


@dataclass(frozen=True)
class Kind:
    """A row's ledger kind and where that reading comes from (None: no reading, the row goes out as `other`)."""

    kind: LedgerKind
    source: str | None
    label: str


class LedgerKinds:
    """The readings in force: ledger_kinds first, then the row's movement_codes reading."""

    def __init__(self, setting: Mapping[str, str | None], movements: MovementCodes) -> None:
        self.readings = parse_ledger_kinds(setting)
        self.movements = movements
        self.by_evrak: dict[int, list[LedgerReading]] = {}
        for r in self.readings:
            self.by_evrak.setdefault(r.evrak, []).append(r)
        self.of = lru_cache(maxsize=4096)(self._of)

    def _of(self, evrak: Any, cinsi: Any, tip: Any, iade: Any) -> Kind:
        """The kind of a row with these codes; a collection's sign (cha_tip, cha_normal_Iade) is read strictly, so
        a row whose side is unknown raises RecordError instead of being given one."""
        found = next((r for r in self.by_evrak.get(evrak, ()) if r.matches(cinsi, tip, iade)), None)
        if found is not None:
            return Kind(found.kind, found.source, found.label)
        movement = self.movements.reading(evrak, cinsi, tip, iade)
        if movement is None or movement.kind == "ignore":
            return Kind("other", None, "")
        if movement.kind == "invoice":
            return Kind("return" if movement.detail == "return" else "invoice", movement.source, movement.label)
        # A collection, or a promise (the receipt credits the account): money back when it debits or is a return.
        kind: LedgerKind = "payment" if reverses(tip, iade) else "collection"
        return Kind(kind, movement.source, movement.label)
