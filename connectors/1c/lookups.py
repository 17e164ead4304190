"""Reference look-ups a stream needs to turn GUIDs into codes: catalogs read once per run, and exchange rates.

A record is built from its object and from what its references point at (a product's code, a
warehouse's code, a rate). `digest` fingerprints every look-up loaded, so a stream's version of an
item (its DataVersion plus the digest) changes when a referenced code changes, not only the object.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import currency, fixed, rate

from .declare import Read, guid, number, text, when, whole
from .odata import Row, as_int

if TYPE_CHECKING:
    from .streams import OneCEnv

__all__ = ["Lookups", "currency_read", "rate_read"]

ONE = Decimal("1.000000")


def currency_read(env: OneCEnv) -> Read:
    return env.catalog("currencies", text("Code"))


def rate_read(env: OneCEnv) -> Read:
    return env.catalog("rates", when("Period"), guid("Валюта_Key"), number("Курс"), whole("Кратность"))


class Lookups:
    """Catalogs by Ref_Key, loaded on first use; `digest()` over everything loaded so far."""

    def __init__(self, env: OneCEnv) -> None:
        self.env = env
        self._catalogs: dict[str, dict[str, Row]] = {}
        self._rates: dict[str, tuple[list[dt.date], list[Decimal]]] | None = None
        self._currencies: dict[str, str] | None = None

    def catalog(self, read: Read, where: str | None = None) -> dict[str, Row]:
        """Ref_Key -> row of the read's set (every row, folders and marked ones too: documents may point at them)."""
        key = f"{read.container}|{','.join(f.name for f in read.fields)}|{where or ''}"
        loaded = self._catalogs.get(key)
        if loaded is None:
            loaded = {}
            for page in self.env.odata.pages(self.env.query(read), where=where):
                for row in page:
                    loaded[row["Ref_Key"]] = row
            self._catalogs[key] = loaded
        return loaded

    def currency_codes(self) -> dict[str, str]:
        """Catalog_Валюты Ref_Key -> ISO code, from the numeric code 1C keeps (643 -> RUB) or currency_codes."""
        if self._currencies is None:
            self._currencies = {}
            own = self.env.currency_codes
            for ref, row in self.catalog(currency_read(self.env)).items():
                code = str(row.get("Code") or "").strip()
                try:
                    iso = own.get(code) or currency(code, "currency")
                except RecordError:
                    iso = None
                if iso is not None:
                    self._currencies[ref] = iso
        return self._currencies

    def currency_of(self, ref: Any, field: str) -> str:
        iso = self.currency_codes().get(ref)
        if iso is None:
            raise RecordError(
                "the currency is empty or its Catalog_Валюты code is neither an ISO 4217 number nor in currency_codes",
                field,
            )
        return iso

    def rate_on(self, iso: str, day: dt.date, field: str = "rate") -> Decimal:
        """The rate in force on `day` (the latest InformationRegister_КурсыВалют record on or before it)."""
        if iso == self.env.local_currency:
            return ONE
        table = self._rate_table().get(iso)
        if table is not None:
            position = bisect.bisect_right(table[0], day)
            if position:
                return table[1][position - 1]
        raise RecordError(f"no {iso} rate on or before {day.isoformat()} in InformationRegister_КурсыВалют", field)

    def load_rates(self) -> None:
        self._rate_table()

    def _rate_table(self) -> dict[str, tuple[list[dt.date], list[Decimal]]]:
        if self._rates is None:
            by_currency: dict[str, list[tuple[dt.date, Decimal]]] = {}
            codes = self.currency_codes()
            q = self.env.query(rate_read(self.env))
            for page in self.env.odata.pages(q, order=("Period", "Валюта_Key")):
                for row in page:
                    iso, day = codes.get(row["Валюта_Key"]), business_date(row["Period"], "Period")
                    if iso is None or day is None or not row.get("Курс"):
                        continue
                    multiplicity = as_int(row.get("Кратность") or 1) or 1  # Edm.Int64: sent as a string
                    value = rate(fixed(row["Курс"], 6, "Курс") / Decimal(multiplicity), "Курс")
                    by_currency.setdefault(iso, []).append((day, value))  # type: ignore[arg-type]
            self._rates = {}
            for iso, entries in by_currency.items():
                entries.sort(key=lambda entry: entry[0])
                self._rates[iso] = ([d for d, _ in entries], [v for _, v in entries])
        return self._rates

    def digest(self) -> str:
        """A short fingerprint of every look-up loaded: catalogs and rates."""
        h = hashlib.blake2b(digest_size=8)
        for key in sorted(self._catalogs):
            h.update(key.encode())
            h.update(json.dumps(self._catalogs[key], sort_keys=True, ensure_ascii=False).encode())
        if self._rates is not None:
            for iso in sorted(self._rates):
                days, values = self._rates[iso]
                h.update(iso.encode())
                h.update(" ".join(f"{d}={v}" for d, v in zip(days, values, strict=True)).encode())
        return h.hexdigest()
