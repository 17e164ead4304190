"""Unit-of-measure names (Turkish, English, Russian, SAP) to UN/ECE Recommendation 20 codes."""

from __future__ import annotations

from functools import lru_cache

# Counted items map to C62 ("one"), not H87 ("piece"): UBL-TR, the Turkish e-invoice format
# the Turkish ERPs already emit, lists "Adet" as C62, and one code for every counted unit
# keeps downstream matching simple. H87 given literally is still passed through.
_CODES: dict[str, tuple[str, ...]] = {
    "C62": ("ADET", "AD", "ADT", "PCS", "PC", "PIECE", "PIECES", "EA", "EACH", "ST", "ШТ", "ШТУКА"),
    "H87": (),
    "KGM": ("KG", "KILOGRAM", "KILO", "КГ"),
    "GRM": ("GR", "G", "GRAM", "GRAMM", "Г", "ГР"),
    "TNE": ("TON", "T", "TONNE", "Т", "ТН", "ТОННА"),
    "LTR": ("LT", "L", "LITRE", "LITER", "Л", "ЛИТР"),
    "MLT": ("ML", "MILILITRE", "MILLILITRE", "МЛ"),
    "MTR": ("M", "MT", "METRE", "METER", "М", "МЕТР"),
    "CMT": ("CM", "SANTIMETRE", "СМ"),
    "MTK": ("M2", "METREKARE", "SQM", "М2"),
    "MTQ": ("M3", "METREKUP", "CBM", "М3"),
    "CT": ("KOLI", "CARTON", "CTN", "КОР", "КОРОБКА"),
    "PK": ("PAKET", "PK", "PACK", "PKT", "УП", "УПАК", "УПАКОВКА"),
    "BX": ("KUTU", "BOX", "BX"),
    "DZN": ("DUZINE", "DZ", "DOZEN"),
    "PR": ("CIFT", "PAIR", "ПАР", "ПАРА"),
    "SET": ("SET", "KOMPLE", "КОМПЛ", "КОМПЛЕКТ"),
    "PF": ("PALET", "PALLET", "ПАЛЛЕТА", "ПАЛЕТА"),
    "RO": ("RULO", "ROLL", "РУЛОН"),
    "HUR": ("SAAT", "HOUR", "ЧАС", "Ч"),
    "DAY": ("GUN", "DAY", "ДЕНЬ", "ДН"),
}
_BY_NAME: dict[str, str] = {name: code for code, names in _CODES.items() for name in (code, *names)}

# Applied after str.upper(): folds Turkish letters to ASCII so "KOLİ", "koli" and "KOLI" meet
# ("ı".upper() is already "I"; "İ".lower() leaves a combining dot U+0307, dropped here),
# superscripts to digits, and drops the dots and spaces of "шт." or "M 2".
_FOLD = str.maketrans("İÇŞĞÜÖ²³", "ICSGUO23", "\u0307. ")


@lru_cache(maxsize=2048)
def unit_code(name: str | None) -> str | None:
    """The Rec. 20 code for a unit name, or None when unknown (the raw unit is still carried)."""
    if not name:
        return None
    return _BY_NAME.get(name.upper().translate(_FOLD))
