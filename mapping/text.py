"""Text normalisers: cleaning, Netsis code-page repair, byte decoding, e-mail, phone, ERP flags."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache

from mapping.errors import RecordError

# C0 controls except tab and newline (kept so "a\nb" collapses to "a b", not "ab"), and DEL.
_DROP_CONTROLS = dict.fromkeys([*range(0x09), *range(0x0B, 0x20), 0x7F])


def clean(value: object, max_len: int | None = None) -> str | None:
    """Trimmed single-line NFC text without control characters, at most `max_len` long; empty -> None."""
    if value is None:
        return None
    if isinstance(value, str):
        s = value
    elif isinstance(value, bytes | bytearray):
        s = decode_bytes(bytes(value))
    else:
        s = str(value)
    # Fast path: most ERP codes and names are already clean ASCII.
    if s.isascii() and s.isprintable() and s[:1] != " " and s[-1:] != " " and "  " not in s:
        if not s:
            return None
    else:
        s = s.translate(_DROP_CONTROLS)
        if not unicodedata.is_normalized("NFC", s):
            s = unicodedata.normalize("NFC", s)
        s = " ".join(s.split())
        if not s:
            return None
    if max_len is not None and len(s) > max_len:
        s = s[:max_len].rstrip()
    return s


def required(value: object, field: str, max_len: int | None = None) -> str:
    s = clean(value, max_len)
    if s is None:
        raise RecordError("missing", field)
    return s


def _turkish_table() -> dict[int, str]:
    # Netsis: cp1254 bytes stored in a Latin-1/1252 collation. Map each character as the
    # client decoded it (cp1252, or latin-1 whose 0x80-0x9F are C1 controls) to what the
    # byte means in cp1254. Within 0xA0-0xFF only Ð Ý Þ ð ý þ differ; cp1254 leaves 0x8E
    # and 0x9E (Ž, ž) undefined, so those stay as they are.
    table: dict[int, str] = {}
    for byte in range(0x80, 0x100):
        raw = bytes([byte])
        try:
            turkish = raw.decode("cp1254")
        except UnicodeDecodeError:
            continue
        for wrong in (raw.decode("latin-1"), raw.decode("cp1252", errors="ignore")):
            if wrong and wrong != turkish:
                table[ord(wrong)] = turkish
    return table


_TURKISH = str.maketrans(_turkish_table())


def repair_turkish(value: str | None) -> str | None:
    """Undo cp1254-read-as-cp1252 damage: "ÝSTANBUL ÞÝÞLÝ" -> "İSTANBUL ŞİŞLİ"."""
    if not value or value.isascii():
        return value
    return value.translate(_TURKISH)


def decode_bytes(raw: bytes, encodings: Iterable[str] = ("utf-8", "cp1254")) -> str:
    """`raw` decoded with the first encoding that fits; the last one with U+FFFD replacements if none does.

    Never raises: one undecodable note must not dead-letter a whole document.
    """
    last = "utf-8"
    for enc in encodings:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            last = enc
    return raw.decode(last, errors="replace")


def email(value: object) -> str | None:
    """The first well-formed address in the field, its domain lowercased; None if there is none.

    Never raises: ERPs keep several addresses in one field ("a@x.com; b@y.com") and free
    text beside them, and a dealer must not drop out of the feed over its email column.
    """
    if value is None:
        return None
    for candidate in _EMAIL_SEPARATORS.split(str(value)):
        address = _well_formed(candidate.strip())
        if address:
            return address
    return None


_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")


def _well_formed(s: str) -> str | None:
    local, at, domain = s.rpartition("@")
    if (
        not at
        or not local
        or "@" in local
        or "." not in domain
        or domain[0] == "."
        or domain[-1] == "."
        or ".." in domain
        or not s.isprintable()  # NBSP and other pasted junk: not an address
    ):
        return None
    return f"{local}@{domain.lower()}"


# No str method keeps "only ASCII digits"; isdigit() would also keep "²" and other scripts' digits.
_NON_DIGITS = re.compile(r"[^0-9]")


def phone(value: object) -> str | None:
    """Digits with an optional leading "+"; None under 7 digits. Never raises: ERP phones are free text."""
    if value is None:
        return None
    s = str(value).strip()
    # "0212 555 11 22 / 0532 ..." holds several numbers; the first is the main one.
    for sep in "/;,":
        cut = s.find(sep)
        if cut > 0:
            s = s[:cut]
    digits = _NON_DIGITS.sub("", s)
    if len(digits) < 7:
        return None
    return "+" + digits if s.lstrip()[:1] == "+" else digits


_TRUE = frozenset({"1", "E", "EVET", "Y", "YES", "X", "T", "TRUE", "ДА", "J", "JA"})
_FALSE = frozenset({"0", "H", "HAYIR", "N", "NO", "", "F", "FALSE", "НЕТ", "NEIN"})
_KNOWN = _TRUE | _FALSE


def _flag_key(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip().upper()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, float | Decimal):  # Decimal(1) / 1.0 from NUMERIC or float flag columns
        try:
            i = int(value)
        except (ValueError, OverflowError):
            return None
        return str(i) if i == value else None
    return None


@lru_cache(maxsize=64)
def _keys(values: frozenset[object]) -> frozenset[str | None]:
    return frozenset(_flag_key(v) for v in values)


def flag(value: object, true_values: frozenset[object] | None = None, field: str = "flag") -> bool:
    """An ERP flag column as bool: 1/0, E/H (evet/hayır), Y/N, X/"" (SAP), true/false; None -> False.

    `true_values` overrides what means True (Logo's CLCARD.BLOCKED is documented as 0 = yes:
    pass frozenset({0})); any other known flag token then means False.
    """
    key = _flag_key(value)
    if true_values is None:
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    else:
        if key in _keys(true_values):
            return True
        if key in _KNOWN:
            return False
    raise RecordError(f"not a flag value: {str(value)[:20]!r}", field)
