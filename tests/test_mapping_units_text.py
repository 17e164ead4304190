from __future__ import annotations

from decimal import Decimal

import pytest

from mapping.errors import RecordError
from mapping.text import clean, decode_bytes, email, phone, repair_turkish, required
from mapping.units import unit_code

UNITS = {
    "C62": ["ADET", "Adet", "adet", "AD", "ADT", "PCS", "piece", "EA", "шт", "шт.", "ШТ"],
    "KGM": ["KG", "kg", "KILOGRAM", "кг"],
    "GRM": ["GR", "G", "gram", "г"],
    "TNE": ["TON", "T", "т"],
    "LTR": ["LT", "L", "LITRE", "LİTRE", "litre", "li\u0307tre", "л"],
    "MLT": ["ML", "ml"],
    "MTR": ["M", "MT", "METRE", "м"],
    "CMT": ["CM"],
    "MTK": ["M2", "M²", "m²", "METREKARE", "м2"],
    "MTQ": ["M3", "м3", "m³"],
    "CT": ["KOLİ", "KOLI", "koli", "Koli", "CARTON", "CTN", "кор"],
    "PK": ["PAKET", "PK", "PACK", "уп", "упак", "упак."],
    "BX": ["KUTU", "BOX", "BX"],
    "DZN": ["DÜZİNE", "düzine", "DUZINE", "DZ"],
    "PR": ["ÇİFT", "çift", "CIFT", "PAIR", "пар"],
    "SET": ["SET", "set"],
    "PF": ["PALET", "PALLET"],
    "RO": ["RULO", "ROLL"],
    "HUR": ["SAAT", "HOUR", "ч"],
    "DAY": ["GÜN", "gün", "GUN", "DAY"],
}


@pytest.mark.parametrize(("name", "code"), [(n, c) for c, names in UNITS.items() for n in names])
def test_unit_code(name: str, code: str) -> None:
    assert unit_code(name) == code
    assert unit_code(f" {name} ") == code


@pytest.mark.parametrize("name", [None, "", "FOO", "KOLIX", "бочка"])
def test_unknown_unit_is_none(name: str | None) -> None:
    assert unit_code(name) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABC-123", "ABC-123"),
        ("  ABC  ", "ABC"),
        ("a\x00b", "ab"),
        ("line1\r\nline2\t\tend", "line1 line2 end"),
        ("a   b", "a b"),
        ("Cafe\u0301", "Café"),  # NFD -> NFC
        ("\u00a0İSTANBUL\u00a0", "İSTANBUL"),
        (12, "12"),
        (Decimal("1.50"), "1.50"),
        ("ŞİŞLİ".encode("cp1254"), "ŞİŞLİ"),
        (None, None),
        ("", None),
        ("  \t\n ", None),
        ("\x00\x01", None),
    ],
)
def test_clean(raw: object, expected: str | None) -> None:
    assert clean(raw) == expected


def test_clean_fast_path_returns_the_same_object() -> None:
    s = "ACME Ltd. Sti."
    assert clean(s) is s


def test_clean_truncates_without_trailing_space() -> None:
    assert clean("abcdef", 4) == "abcd"
    assert clean("ab cdef", 3) == "ab"
    assert clean("ab", 4) == "ab"


def test_required() -> None:
    assert required(" x ", "code") == "x"
    with pytest.raises(RecordError, match="missing") as err:
        required("   ", "code")
    assert err.value.field == "code"


def test_repair_turkish() -> None:
    assert repair_turkish("ÝSTANBUL ÞÝÞLÝ ÐÜL") == "İSTANBUL ŞİŞLİ ĞÜL"
    assert repair_turkish("ýþð ÖÜÇöüç") == "ışğ ÖÜÇöüç"
    assert repair_turkish("ASCII only") == "ASCII only"
    assert repair_turkish(None) is None
    assert repair_turkish("") == ""


def test_repair_turkish_matches_a_cp1254_round_trip() -> None:
    # What the table must equal: bytes written as cp1254, read back as cp1252.
    text = "Ağrı Dağı'nda Şükrü İŞÇİ Ğ ğ İ ı Ş ş € … ‰"
    assert repair_turkish(text.encode("cp1254").decode("cp1252")) == text
    # Latin-1 readers show C1 controls for 0x80-0x9F; those are repaired too.
    assert repair_turkish("İŞ € …".encode("cp1254").decode("latin-1")) == "İŞ € …"


def test_decode_bytes() -> None:
    assert decode_bytes("şık".encode()) == "şık"
    assert decode_bytes("şık".encode("cp1254")) == "şık"
    assert decode_bytes("щи".encode("cp1251"), ("utf-8", "cp1251")) == "щи"
    assert decode_bytes(b"\x81ok", ("utf-8", "cp1254")) == "\ufffdok"


def test_email() -> None:
    assert email(" Ali.Veli@Örnek.COM.tr ") == "Ali.Veli@örnek.com.tr"
    assert email(None) is None
    assert email("  ") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ali@veli", None),
        ("a@b@c.com", None),
        ("@example.com", None),
        ("ali@.com", None),
        ("ali@example.", None),
        ("a@b..com", None),
        ("muhasebe@Bayi.com.tr; satis@bayi.com.tr", "muhasebe@bayi.com.tr"),
        ("tel yok, ali@X.COM", "ali@x.com"),
        ("bozuk@ , ikinci@firma.com", "ikinci@firma.com"),
    ],
)
def test_email_takes_the_first_well_formed_address(raw: str, expected: str | None) -> None:
    assert email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+90 (212) 555 11 22", "+902125551122"),
        ("0212-555-11-22", "02125551122"),
        ("0532 111 22 33 / 0212 555 11 22", "05321112233"),
        ("tel: 555 1122 dahili 12", "555112212"),
        (5321112233, "5321112233"),
        ("123456", None),
        ("yok", None),
        ("", None),
        (None, None),
        ("²²²²²²²²", None),
    ],
)
def test_phone(raw: object, expected: str | None) -> None:
    assert phone(raw) == expected
