"""What a CARI_HESAP_HAREKETLERI row is, from its codes: the movement_codes setting over sourced defaults.

A row is told apart by cha_evrak_tip (the document type), cha_cinsi (what moved: cash, cheque, a
transfer promise, a wholesale invoice...), cha_tip (0 debit, 1 credit) and cha_normal_Iade (1: a
return). A reading is keyed "evrak_tip[:cinsi[:tip[:iade]]]", '*' for any value, and the most
specific key that matches a row decides (more parts given first; then cinsi before tip before iade),
so a site maps one odd combination without repeating the rest. The same order decides in SQL (a
CASE), so the rows a stream reads are exactly the rows the census calls its own.

Readings: 'invoice:sale' / 'invoice:return' (the invoices stream), 'collection:<method>' (the
collections stream; a row that debits the account or is a return is money given back: a negative
collection), 'promise' (a customer's promise to pay, left out: the money arrives with the document
that closes it), 'ignore[:why]' (left out on purpose). A row of a document type that has readings but
not for its combination is read by the stream owning that type and becomes a dead letter naming the
setting; a document type without readings is not read, and the census shows its money as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, get_args

import sqlalchemy as sa

from connectors.mikro.codes import CINSI_LIST, CREDIT, DEBIT, DOCS_EVRAK, TRACE
from mapping.errors import RecordError
from mapping.schema import CollectionMethod
from mapping.text import flag

__all__ = [
    "DEFAULT_MOVEMENT_CODES",
    "CodePattern",
    "MovementCode",
    "MovementCodes",
    "parse_movement_codes",
    "reverses",
    "split_key",
]

Kind = Literal["invoice", "collection", "promise", "ignore"]
_METHODS = frozenset(get_args(CollectionMethod))
_CLOSING = "the document closing it (93, 52, 53) carries the money"

# key -> (reading, source, what Mikro calls the rows). The evrak types and cinsi values are Mikro's lists
# (vendor/code_lists.tsv); TRACE rows are what Mikro's own screens wrote.
DEFAULT_MOVEMENT_CODES: Final[Mapping[str, tuple[str, str, str]]] = {
    "63:*:*:0": ("invoice:sale", TRACE, "Satış Faturası"),
    "0:*:*:1": ("invoice:return", TRACE, "Alış Faturası, iade: goods in, the customer credited"),
    "0:*:*:0": ("ignore:purchase invoice (the feed carries sales)", TRACE, "Alış Faturası"),
    "63:*:*:1": ("ignore:return to a supplier (goods out)", TRACE, "Satış Faturası, iade"),
    "1:0": ("collection:cash", TRACE, "Tahsilat Makbuzu, Nakit"),
    "1:1": ("collection:cheque", TRACE, "Tahsilat Makbuzu, Müşteri Çeki"),
    "1:2": ("collection:promissory_note", TRACE, "Tahsilat Makbuzu, Müşteri Senedi"),
    "1:19": ("collection:card", TRACE, "Tahsilat Makbuzu, Müşteri Kredi Kartı"),
    "1:17": ("promise", CINSI_LIST, "Tahsilat Makbuzu, Müşteri Havale Sözü"),
    "1:18": ("promise", CINSI_LIST, "Tahsilat Makbuzu, Müşteri Ödeme Sözü"),
    "2": ("collection:cash", DOCS_EVRAK, "Kasa Tahsilat Fişi"),
    "3": ("collection:promissory_note", DOCS_EVRAK, "Senet Giriş Bordrosu"),
    "4": ("collection:cheque", DOCS_EVRAK, "Çek Giriş Bordrosu"),
    "34": ("collection:bank_transfer", DOCS_EVRAK, "Gelen Havale"),
    "54": ("collection:card", DOCS_EVRAK, "Cari Hesap Kredi Kartı Ödeme"),
    "52": ("collection:cash", DOCS_EVRAK, "Kasadan Müşteri Ödeme Sözü Kapatma"),
    "53": ("collection:bank_transfer", DOCS_EVRAK, "Bankadan Müşteri Ödeme Sözü Kapatma"),
    "93": ("collection:bank_transfer", DOCS_EVRAK, "Müşteri Havale Sözü Kapatma"),
    "45": ("collection:promissory_note", DOCS_EVRAK, "Protestolu Senet İade Çıkış Bordrosu"),
    "46": ("collection:cheque", DOCS_EVRAK, "Karşılıksız Çek İade Çıkış Bordrosu"),
    "47": ("collection:cheque", DOCS_EVRAK, "Çek İade Çıkış Bordrosu"),
    "48": ("collection:promissory_note", DOCS_EVRAK, "Senet İade Çıkış Bordrosu"),
    "103": ("collection:card", DOCS_EVRAK, "Müşteri Kredi Kartı İade Çıkış Bordrosu"),
    "132": ("ignore:returns a payment promise, which the feed leaves out", DOCS_EVRAK, "Müşteri Ödeme Sözü İade Çıkış"),
    "134": (
        "ignore:returns a transfer promise, which the feed leaves out",
        DOCS_EVRAK,
        "Müşteri Havale Sözü İade Çıkış",
    ),
    "29": (
        "ignore:an opening balance, not a document (the account_ledger stream carries it)",
        DOCS_EVRAK,
        "Açılış Fişi",
    ),
    "31": ("ignore:a debit note, not a document (the account_ledger stream carries it)", DOCS_EVRAK, "Borç Dekontu"),
    "32": ("ignore:a credit note, not a document (the account_ledger stream carries it)", DOCS_EVRAK, "Alacak Dekontu"),
    "100": (
        "ignore:a debit note, not a document (the account_ledger stream carries it)",
        DOCS_EVRAK,
        "Cari Borç Dekontu",
    ),
    "101": (
        "ignore:a credit note, not a document (the account_ledger stream carries it)",
        DOCS_EVRAK,
        "Cari Alacak Dekontu",
    ),
    "59": (
        "ignore:an exchange difference (the account_ledger stream carries it)",
        DOCS_EVRAK,
        "Kur Farkı Virman Dekontu",
    ),
    "64": ("ignore:payment to the account (the feed carries collections)", TRACE, "Tediye Makbuzu"),
    "65": ("ignore:payment to the account (the feed carries collections)", DOCS_EVRAK, "Kasa Tediye Fişi"),
}
YOURS = "your settings"


@dataclass(frozen=True)
class CodePattern:
    """The rows a key "evrak_tip[:cinsi[:tip[:iade]]]" matches ('*' or a part left out: any value)."""

    key: str
    evrak: int
    cinsi: int | None
    tip: int | None
    iade: int | None

    def matches(self, cinsi: Any, tip: Any, iade: Any) -> bool:
        return (
            (self.cinsi is None or self.cinsi == cinsi)
            and (self.tip is None or self.tip == tip)
            and (self.iade is None or self.iade == iade)
        )

    @property
    def rank(self) -> tuple[int, bool, bool, bool]:
        """The most specific key first: more parts given, then cinsi before tip before iade."""
        given = (self.cinsi is not None) + (self.tip is not None) + (self.iade is not None)
        return (-given, self.cinsi is None, self.tip is None, self.iade is None)


@dataclass(frozen=True)
class MovementCode(CodePattern):
    """One key of movement_codes: which rows it matches and what they are."""

    kind: Kind
    detail: str  # invoice kind, collection method, or why left out
    source: str
    label: str = ""  # what Mikro calls these rows

    def describe(self, tip: Any, iade: Any) -> str:
        """What the feed makes of a row this reading matches (a collection's sign depends on the row)."""
        named = f" ({self.evrak} {self.label})" if self.label else ""
        if self.kind == "invoice":
            return f"invoice, kind {self.detail}{named}"
        if self.kind == "collection":
            try:
                back = ", money back to the account: negative amount" if reverses(tip, iade) else ""
            except RecordError as exc:
                return f"collection, method {self.detail}{named}, but a dead letter: {exc}"
            return f"collection, method {self.detail}{named}{back}"
        if self.kind == "promise":
            return f"a customer's promise to pay{named}, not money: {_CLOSING}"
        return (self.detail or "left out by your settings") + named


def reverses(tip: Any, iade: Any) -> bool:
    """A collection row that debits the account or is marked a return gives money back. cha_tip is 0 (debit) or
    1 (credit) and cha_normal_Iade 0 or 1: anything else (NULL included) is an error, never a sign."""
    return debits(tip, "amount") or flag(iade, "cha_normal_Iade")


def debits(tip: Any, field: str) -> bool:
    """Whether a movement's cha_tip debits the account: 0 yes, 1 no, anything else an error."""
    return flag(tip, field, (DEBIT,), (CREDIT,))


def _part(text: str, key: str, setting: str) -> int | None:
    text = text.strip()
    if text == "*":
        return None
    if not text.isdigit():
        raise ValueError(f"{setting} key {key!r}: {text!r} is not a code number or '*'")
    return int(text)


def split_key(key: str, setting: str = "movement_codes") -> tuple[int, int | None, int | None, int | None]:
    """(evrak_tip, cinsi, tip, iade) of a key "evrak_tip[:cinsi[:tip[:iade]]]", None for '*'; ValueError naming
    the setting and the key when it is not of that form."""
    parts = key.split(":")
    if not 1 <= len(parts) <= 4:
        raise ValueError(f"{setting} key {key!r} must be evrak_tip[:cinsi[:tip[:iade]]]")
    evrak = _part(parts[0], key, setting)
    if evrak is None:
        raise ValueError(f"{setting} key {key!r}: the evrak_tip must be a number")
    cinsi, tip, iade = (_part(p, key, setting) for p in (*parts[1:], "*", "*", "*")[:3])
    return evrak, cinsi, tip, iade


def _reading(key: str, value: str, source: str, label: str) -> MovementCode:
    evrak, cinsi, tip, iade = split_key(key)
    kind, _, detail = value.partition(":")
    detail = detail.strip()
    if kind == "invoice" and detail not in ("sale", "return"):
        raise ValueError(f"movement_codes {key!r}: {value!r} must be invoice:sale or invoice:return")
    if kind == "collection" and detail not in _METHODS:
        raise ValueError(f"movement_codes {key!r}: {value!r} must name a method: {', '.join(sorted(_METHODS))}")
    if kind not in ("invoice", "collection", "promise", "ignore") or (kind == "promise" and detail):
        raise ValueError(f"movement_codes {key!r}: {value!r} must be invoice:..., collection:..., promise or ignore")
    return MovementCode(key, evrak, cinsi, tip, iade, kind, detail, source, label)  # type: ignore[arg-type]


def parse_movement_codes(setting: Mapping[str, str | None]) -> list[MovementCode]:
    """The effective readings: the defaults with the setting's keys over them (null drops a default)."""
    merged: dict[str, tuple[str, str, str]] = dict(DEFAULT_MOVEMENT_CODES)
    for key, value in setting.items():
        if value is None:
            merged.pop(key, None)
        else:
            default = DEFAULT_MOVEMENT_CODES.get(key)
            merged[key] = default if default and default[0] == value else (value, YOURS, "")
    readings = [_reading(key, *reading) for key, reading in merged.items()]
    seen: dict[tuple[Any, ...], str] = {}
    for r in readings:
        pattern = (r.evrak, r.cinsi, r.tip, r.iade)
        if pattern in seen:
            raise ValueError(f"movement_codes keys {seen[pattern]!r} and {r.key!r} name the same codes")
        seen[pattern] = r.key
    return sorted(readings, key=lambda r: (r.evrak, r.rank))


class MovementCodes:
    """The readings in force, and the SQL that selects a stream's rows by them."""

    def __init__(self, setting: Mapping[str, str | None]) -> None:
        self.readings = parse_movement_codes(setting)
        self.by_evrak: dict[int, list[MovementCode]] = {}
        for r in self.readings:
            self.by_evrak.setdefault(r.evrak, []).append(r)
        self.reading = lru_cache(maxsize=4096)(self._reading)

    def _reading(self, evrak: Any, cinsi: Any, tip: Any, iade: Any) -> MovementCode | None:
        return next((r for r in self.by_evrak.get(evrak, ()) if r.matches(cinsi, tip, iade)), None)

    def owner(self, evrak: int) -> Kind | None:
        """The stream that reads a document type's rows no reading matches (so they become dead letters)."""
        kinds = {r.kind for r in self.by_evrak.get(evrak, ())}
        if kinds & {"collection", "promise"}:
            return "collection"
        return "invoice" if "invoice" in kinds else None

    def selects(self, kind: Kind, c: Any) -> sa.ColumnElement[bool]:
        """Rows of CARI_HESAP_HAREKETLERI (columns `c`) the `kind` stream reads."""
        parts = []
        for evrak, readings in self.by_evrak.items():
            if not any(r.kind == kind for r in readings) and self.owner(evrak) != kind:
                continue
            whens = []
            for r in readings:
                pairs = ((c.cha_cinsi, r.cinsi), (c.cha_tip, r.tip), (c.cha_normal_Iade, r.iade))
                terms = [col == value for col, value in pairs if value is not None]
                whens.append((sa.and_(sa.true(), *terms), 1 if r.kind == kind else 0))
            unknown = 1 if self.owner(evrak) == kind else 0
            parts.append(sa.and_(c.cha_evrak_tip == evrak, sa.case(*whens, else_=unknown) == 1))
        return sa.or_(sa.false(), *parts)
