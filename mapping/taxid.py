"""Tax id normalisation and checksums: Turkish VKN/TCKN, Russian INN.

Tax ids are personal data for individuals: no reason raised here ever contains the number.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from mapping.errors import RecordError
from mapping.schema import TaxIdKind
from mapping.text import utf8

_VKN_POW2 = tuple(2 ** (9 - i) for i in range(9))
_INN10_W = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _digits_ok(s: str, n: int) -> bool:
    # isdigit alone accepts "²" and Arabic-Indic digits; int() would then misread them.
    return len(s) == n and s.isascii() and s.isdigit()


def _vkn_check(first9: str) -> int:
    total = 0
    for i, ch in enumerate(first9):
        v = (ord(ch) - 48 + 9 - i) % 10
        if v:
            total += (v * _VKN_POW2[i]) % 9 or 9
    return (10 - total % 10) % 10


def _tckn_checks(first9: str) -> tuple[int, int]:
    d = [ord(c) - 48 for c in first9]
    d10 = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d10, (sum(d) + d10) % 10


def _weighted(s: str, weights: tuple[int, ...]) -> int:
    return sum(w * (ord(c) - 48) for w, c in zip(weights, s, strict=False)) % 11 % 10


def vkn_valid(s: str) -> bool:
    """Turkish Vergi Kimlik Numarası: 10 digits, GİB check digit."""
    return _digits_ok(s, 10) and _vkn_check(s[:9]) == ord(s[9]) - 48


def tckn_valid(s: str) -> bool:
    """Turkish T.C. Kimlik No: 11 digits, not starting with 0, two check digits."""
    if not _digits_ok(s, 11) or s[0] == "0":
        return False
    d10, d11 = _tckn_checks(s[:9])
    return ord(s[9]) - 48 == d10 and ord(s[10]) - 48 == d11


def inn_valid(s: str) -> bool:
    """Russian ИНН: 10 digits (organisation, one check digit) or 12 (person, two)."""
    if _digits_ok(s, 10):
        return _weighted(s, _INN10_W) == ord(s[9]) - 48
    if _digits_ok(s, 12):
        return _weighted(s, _INN12_W1) == ord(s[10]) - 48 and _weighted(s, _INN12_W2) == ord(s[11]) - 48
    return False


_SEPARATORS = str.maketrans("", "", " .-/\t\u00a0")
_COUNTRY = {
    **dict.fromkeys(("TR", "TUR", "792", "TURKEY", "TÜRKIYE", "TÜRKİYE", "TURKIYE"), "TR"),
    **dict.fromkeys(("RU", "RUS", "643", "RUSSIA", "РОССИЯ", "РФ"), "RU"),
}


def tax_id(
    value: object, field: str = "tax_id", country: str | None = "TR", individual: bool | None = None
) -> tuple[str, str] | tuple[None, None]:
    """(normalised id, kind) with kind VKN/TCKN/INN/OTHER; (None, None) for empty or placeholder ids.

    `country` is the account's country (ISO alpha-2/3; None: unknown, only a "TR"/"RU" prefix on the
    value decides). `individual` only matters for RU, where it fixes the INN length (12 for a person,
    10 for an organisation); Turkish sole proprietors legitimately use either a VKN or their TCKN.
    """
    if value is None:
        return None, None
    s = (value if isinstance(value, str) else str(value)).translate(_SEPARATORS).upper()
    if not s:
        return None, None
    cc = _COUNTRY.get(country.strip().upper(), "OTHER") if country else None
    prefix = s[:2]
    if (prefix == "TR" or prefix == "RU") and s[2:].isdigit():
        s, cc = s[2:], prefix
    if not (s.isascii() and s.isdigit()):
        return s, "OTHER"
    # Turkish ERPs key retail sales to all-same-digit ids (TCKN 11111111111 "nihai tüketici",
    # VKN 2222222222 for foreigners); they identify nobody.
    if s == s[0] * len(s):
        return None, None
    if cc == "TR":
        if len(s) == 10:
            if not vkn_valid(s):
                raise RecordError("VKN checksum fails", field)
            return s, "VKN"
        if len(s) == 11:
            if not tckn_valid(s):
                raise RecordError("TCKN checksum fails", field)
            return s, "TCKN"
        raise RecordError(f"Turkish tax id must have 10 or 11 digits, not {len(s)}", field)
    if cc == "RU":
        if len(s) not in (10, 12):
            raise RecordError(f"INN must have 10 or 12 digits, not {len(s)}", field)
        if individual is not None and len(s) != (12 if individual else 10):
            raise RecordError("INN length does not match the account being a person or an organisation", field)
        if not inn_valid(s):
            raise RecordError("INN checksum fails", field)
        return s, "INN"
    return s, "OTHER"


class TaxIdentity(NamedTuple):
    """A tax id as the feed carries it: `valid` False when it fails its format or checksum."""

    value: str | None
    kind: TaxIdKind | None
    valid: bool | None  # None: no tax id


_NO_TAX_ID = TaxIdentity(None, None, None)


def tax_identity(
    value: object, country: str | None = "TR", individual: bool | None = None, field: str = "tax_id"
) -> TaxIdentity:
    """Like tax_id(), but a bad id never fails the record: a dealer with a mistyped VKN is still a dealer
    whose invoices arrive. The id is sent as the ERP holds it (separators removed) with `valid` False and the
    kind its length suggests; callers keep it out of logs like any tax id. Text that is not UTF-8 cannot be
    sent as it is held: that alone is a RecordError (which never quotes it)."""
    if isinstance(value, str) and not value.isascii():
        utf8(value, field)
    try:
        normalised, kind = tax_id(value, field, country, individual)
    except RecordError:
        s = (value if isinstance(value, str) else str(value)).translate(_SEPARATORS).upper()
        digits = s[2:] if s[:2] in ("TR", "RU") and s[2:].isdigit() else s
        guess: TaxIdKind = "OTHER"
        if digits.isascii() and digits.isdigit():
            cc = _COUNTRY.get(country.strip().upper(), "OTHER") if country else s[:2]
            if cc == "TR" and len(digits) in (10, 11):
                guess = "VKN" if len(digits) == 10 else "TCKN"
            elif cc == "RU" and len(digits) in (10, 12):
                guess = "INN"
        return TaxIdentity(digits, guess, False)
    if normalised is None:
        return _NO_TAX_ID
    return TaxIdentity(normalised, kind, True)  # type: ignore[arg-type]


def _rand_digits(rng: random.Random, n: int, first_nonzero: bool = False) -> str:
    head = str(rng.randint(1, 9)) if first_nonzero else str(rng.randint(0, 9))
    return head + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def generate_vkn(rng: random.Random) -> str:
    """A random valid VKN (never an all-same-digit placeholder)."""
    while True:
        body = _rand_digits(rng, 9)
        s = body + str(_vkn_check(body))
        if s != s[0] * 10:
            return s


def generate_tckn(rng: random.Random) -> str:
    """A random valid TCKN (never an all-same-digit placeholder)."""
    while True:
        body = _rand_digits(rng, 9, first_nonzero=True)
        d10, d11 = _tckn_checks(body)
        s = f"{body}{d10}{d11}"
        if s != s[0] * 11:
            return s


def generate_inn(rng: random.Random, individual: bool = False) -> str:
    """A random valid INN: 12 digits for a person, 10 for an organisation; region code 01-99."""
    while True:
        body = f"{rng.randint(1, 99):02d}" + _rand_digits(rng, 8 if individual else 7)
        if individual:
            body += str(_weighted(body, _INN12_W1))
            s = body + str(_weighted(body, _INN12_W2))
        else:
            s = body + str(_weighted(body, _INN10_W))
        if s != s[0] * len(s):
            return s
