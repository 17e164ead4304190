"""VAT rates from 1C's codes: the СтавкиНДС enumeration (БП lines, УТ's Catalog_СтавкиНДС) and БП items' kind
of rate (ВидСтавкиНДС), each read through a setting (vat_rates, vat_kinds)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mapping.errors import RecordError
from mapping.money import percent

__all__ = ["catalog_rate", "rate_of"]


def rate_of(value: str, table: Mapping[str, Decimal | None], setting: str, field: str) -> Decimal | None:
    """The percent `value` stands for; None for no VAT or no value (1C sends an empty enumeration as "")."""
    if value == "":
        return None
    if value not in table:
        raise RecordError(f"unknown VAT code {value[:40]!r}: map it with the setting {setting}", field)
    found = table[value]
    return None if found is None else percent(found, field)


def catalog_rate(row: dict[str, Any], table: Mapping[str, Decimal | None], field: str) -> Decimal | None:
    """УТ / ERP: a Catalog_СтавкиНДС row's rate. Its ПеречислениеСтавкаНДС is read through vat_rates; a row
    without one (a rate of another country, with its Страна) has only its number, Ставка."""
    code = str(row.get("ПеречислениеСтавкаНДС") or "")
    if code:
        return rate_of(code, table, "vat_rates", field)
    return percent(row.get("Ставка"), field)
