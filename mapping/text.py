"""Text normalisers: free text, identifiers, Netsis code-page repair, byte decoding, e-mail, phone, ERP flags.

Free text (names, titles, addresses) is cleaned: control characters dropped, whitespace collapsed, NFC, cut to
the schema's length. Identifiers (codes, document numbers, keys, units, barcodes) are never altered beyond the
surrounding spaces a CHAR column pads with and the NFC spelling: a control character, too many characters or
text that is not UTF-8 makes the record a dead letter instead. Neither reason ever quotes the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from mapping.errors import RecordError

# C0 controls except tab and newline (kept so "a\nb" collapses to "a b", not "ab"), and DEL.
_DROP_CONTROLS = dict.fromkeys([*range(0x09), *range(0x0B, 0x20), 0x7F])


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return decode_bytes(bytes(value))
    return str(value)


def undecodable(s: str) -> int | None:
    """Where `s` holds its first surrogate (0-based), or None: a byte that was not UTF-8, which the SQL reader
    keeps as a surrogate so that only its row fails."""
    if s.isascii():
        return None
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def utf8(s: str, field: str | None) -> None:
    """RecordError when `s` holds bytes that were not UTF-8. The reason never quotes the text: it may be a name."""
    at = undecodable(s)
    if at is not None:
        raise RecordError(
            f"text is not valid UTF-8 (an undecodable byte at position {at + 1}; fix the text in the ERP)", field
        )


def clean(value: object, max_len: int | None = None, field: str | None = None) -> str | None:
    """Free text: trimmed, single-line NFC without control characters, cut to `max_len`; empty -> None.

    Not for identifiers (see `code`). RecordError (naming `field`) for text that is not valid UTF-8.
    """
    if value is None:
        return None
    s = _as_text(value)
    # Fast path: most ERP codes and names are already clean ASCII.
    if s.isascii() and s.isprintable() and s[:1] != " " and s[-1:] != " " and "  " not in s:
        if not s:
            return None
    else:
        if not s.isascii():
            utf8(s, field)
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
    """Free text that must be there (a title, a name): `clean`, and RecordError "missing" when empty."""
    s = clean(value, max_len, field)
    if s is None:
        raise RecordError("missing", field)
    return s


def code(value: object, field: str, max_len: int | None = None) -> str | None:
    """An identifier (code, document number, key, unit, barcode) exactly as the ERP holds it; blank -> None.

    Only the spaces around it go (CHAR columns pad with them) and it is spelt in NFC (the same text); a
    control character, more than `max_len` characters or text that is not UTF-8 is a RecordError naming
    `field`: cutting or stripping an identifier could make it another record's.
    """
    if value is None:
        return None
    s = _as_text(value)
    if s.isascii():
        if not s.isprintable():
            s = s.strip(" ")
            if not s.isprintable():
                bad = next(i for i, ch in enumerate(s) if not ch.isprintable())
                raise RecordError(f"control character U+{ord(s[bad]):04X} at position {bad + 1}", field)
        elif s[:1] == " " or s[-1:] == " ":
            s = s.strip(" ")
    else:
        utf8(s, field)
        s = s.strip(" ")
        for i, ch in enumerate(s):
            if unicodedata.category(ch) == "Cc":
                raise RecordError(f"control character U+{ord(ch):04X} at position {i + 1}", field)
        if not unicodedata.is_normalized("NFC", s):
            s = unicodedata.normalize("NFC", s)
    if not s:
        return None
    if max_len is not None and len(s) > max_len:
        raise RecordError(f"{len(s)} characters, more than the {max_len} the feed allows", field)
    return s


def required_code(value: object, field: str, max_len: int | None = 100) -> str:
    """An identifier that must be there (`code`); RecordError "missing" when blank."""
    s = code(value, field, max_len)
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


def flag(value: object, field: str, true: tuple[object, ...] = (1,), false: tuple[object, ...] = (0,)) -> bool:
    """An ERP flag column read strictly: True for a value in `true`, False for one in `false` (each column's
    documented values, given by the adapter); anything else, NULL included unless listed, is a RecordError
    naming `field` and the value (flags are never personal data). Equal numbers match whatever their type
    (1, 1.0, Decimal(1), True); text matches after trimming the spaces a CHAR column pads with."""
    key = value.strip(" ") if isinstance(value, str) else value
    if key in true:
        return True
    if key in false:
        return False
    if value is None:
        raise RecordError("missing (no flag value)", field)
    shown = repr(value)[:20]
    known = ", ".join(f"{v!r} = yes" for v in true) + ", " + ", ".join(f"{v!r} = no" for v in false)
    raise RecordError(f"{shown} is not a known flag value ({known})", field)
