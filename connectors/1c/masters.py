"""Catalog streams, read in full each run (snapshots; DataVersion skips the unchanged): accounts and products."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from connectors.base import Partition
from mapping.dates import timestamp
from mapping.errors import RecordError
from mapping.money import percent, quantity
from mapping.schema import Account, AccountKind, Product, UnitConversion
from mapping.taxid import tax_id
from mapping.text import clean, email, phone, required
from mapping.units import unit_code

from .lookups import Lookups
from .odata import Row, is_ref, string_literal
from .streams import OneCEnv, OneCStream, code_of

__all__ = ["Accounts", "Products", "service_filter"]

_KINDS: dict[tuple[bool, bool], AccountKind] = {
    (True, False): "customer",
    (False, True): "supplier",
    (True, True): "both",
}
_CONTRACT_KINDS = {"СПокупателем": "customer", "СПоставщиком": "supplier"}
SERVICE_TYPES = ("Услуга", "Работа")


def service_filter(env: OneCEnv) -> str:
    """The $filter of goods in Catalog_Номенклатура: no folders, no services (services are not products)."""
    if env.flavour.trade:
        return "IsFolder eq false and " + " and ".join(f"ТипНоменклатуры ne {string_literal(t)}" for t in SERVICE_TYPES)
    return "IsFolder eq false and Услуга eq false"


@dataclass(frozen=True)
class Related:
    """Rows read with each catalog item: a tabular section, or register records about the item."""

    set_name: str
    owner: str  # the field holding the item's Ref_Key
    fields: tuple[str, ...]
    order: tuple[str, ...]  # identifies a row


class _Catalog(OneCStream):
    role: str
    where: str | None = "IsFolder eq false"
    replication_key = None  # read in full each run: catalogs are small, and their deletes come for free

    def select(self) -> tuple[str, ...]:
        raise NotImplementedError

    def related(self) -> Related | None:
        return None

    def attach(self, rows: list[Row], related: dict[str, list[Row]]) -> list[Row]:
        return rows

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        # The whole catalog is read, so its related rows are too: a few pages instead of a request per 25 items.
        related: dict[str, list[Row]] = {}
        spec = self.related()
        if spec is not None:
            for page in self.env.odata.pages(spec.set_name, select=spec.fields, order=spec.order):
                _group(related, page, spec.owner)
        for page in self.env.odata.pages(self.sets[self.role], select=self.select(), where=self.where):
            yield self.attach(page, related)

    def probes(self) -> list[tuple[str, tuple[str, ...] | None]]:
        spec = self.related()
        related = [] if spec is None else [(spec.set_name, spec.fields)]
        return [(self.sets[self.role], self.select()), *related]

    def live_keys(self) -> Iterator[Sequence[str]]:
        for page in self.env.odata.pages(self.sets[self.role], select=("Ref_Key",), where=self.where):
            yield [row["Ref_Key"] for row in page]

    def count(self) -> int | None:
        return self.env.odata.count(self.sets[self.role], self.where)

    def fetch(self, keys: Sequence[str]) -> list[Row]:
        self.prepare()
        rows = self.env.odata.by_refs(self.sets[self.role], keys, select=self.select(), where=self.where)
        related: dict[str, list[Row]] = {}
        spec = self.related()
        if spec is not None:
            refs = [row["Ref_Key"] for row in rows]
            found = self.env.odata.by_refs(spec.set_name, refs, select=spec.fields, field=spec.owner, order=spec.order)
            _group(related, found, spec.owner)
        return self.attach(rows, related)


def _fingerprint(rows: list[Row]) -> str:
    return hashlib.blake2b(msgspec.json.encode(rows), digest_size=8).hexdigest()


def _group(into: dict[str, list[Row]], rows: Iterable[Row], owner: str) -> None:
    for row in rows:
        into.setdefault(row[owner], []).append(row)


class Accounts(_Catalog):
    """Catalog_Контрагенты (legal entities) with their contact information; UT 11 adds the business partner
    (client/supplier, manager, region, head partner) and the client agreement, BP 3 the contracts."""

    name = "accounts"
    primary_key = ("code",)
    role = "counterparties"

    def needs(self) -> list[str]:
        s = self.sets
        needed = [s["counterparties"], f"{s['counterparties']}_КонтактнаяИнформация", s["countries"], s["currencies"]]
        if self.flavour.trade:
            return [*needed, s["partners"], s["users"], s["regions"], s["payment_schedules"], s["agreements"]]
        return [*needed, s["contracts"]]

    def select(self) -> tuple[str, ...]:
        f = self.flavour
        extra = ("Партнер_Key",) if f.trade else ("ОсновнойДоговорКонтрагента_Key",)
        return (
            "Ref_Key",
            "DataVersion",
            "DeletionMark",
            "Code",
            "Description",
            "НаименованиеПолное",
            "ИНН",
            "КПП",
            "Parent_Key",
            "СтранаРегистрации_Key",
            f.legal_form_field,
            *extra,
        )

    def load(self, lookups: Lookups) -> None:
        self.counterparties = lookups.catalog(
            "counterparties", ("Code", "IsFolder", "DeletionMark", *(("Партнер_Key",) if self.flavour.trade else ()))
        )
        self.countries = lookups.catalog("countries", ("КодАльфа2",))
        lookups.currency_codes()
        if self.flavour.trade:
            self.partners = lookups.catalog(
                "partners",
                (
                    "DataVersion",
                    "Code",
                    "Parent_Key",
                    "Клиент",
                    "Поставщик",
                    "ОсновнойМенеджер_Key",
                    "БизнесРегион_Key",
                    "ДатаРегистрации",
                ),
            )
            self.users = lookups.catalog("users", ("Description",))
            self.regions = lookups.catalog("regions", ("Code",))
            self.schedules = lookups.catalog("payment_schedules", ("Description",))
            agreements = lookups.catalog(
                "agreements",
                (
                    "DataVersion",
                    "DeletionMark",
                    "Code",
                    "Партнер_Key",
                    "Контрагент_Key",
                    "Валюта_Key",
                    "ГрафикОплаты_Key",
                    "Статус",
                ),
            )
            self.agreements_of: dict[str, list[Row]] = {}
            for agreement in sorted(agreements.values(), key=lambda a: (a.get("Статус") != "Действует", a["Code"])):
                if not agreement.get("DeletionMark"):
                    owner = agreement.get("Контрагент_Key") or agreement.get("Партнер_Key")
                    self.agreements_of.setdefault(owner, []).append(agreement)
            # A head partner's account: its legal entity with the lowest code.
            self.entity_of_partner: dict[str, str] = {}
            for row in sorted(self.counterparties.values(), key=lambda r: str(r.get("Code"))):
                partner = row.get("Партнер_Key")
                if is_ref(partner) and not row.get("IsFolder") and not row.get("DeletionMark"):
                    self.entity_of_partner.setdefault(partner, row["Code"])
        else:
            contracts = lookups.catalog(
                "contracts", ("DataVersion", "DeletionMark", "Owner_Key", "ВидДоговора", "ВалютаВзаиморасчетов_Key")
            )
            self.contracts = contracts
            self.contracts_of = {}
            for contract in contracts.values():
                if not contract.get("DeletionMark"):
                    self.contracts_of.setdefault(contract["Owner_Key"], []).append(contract)

    def related(self) -> Related:
        section = f"{self.sets['counterparties']}_КонтактнаяИнформация"
        fields = ("Ref_Key", "LineNumber", "Тип", "Представление", "Город")
        return Related(section, "Ref_Key", fields, ("Ref_Key", "LineNumber"))

    def attach(self, rows: list[Row], related: dict[str, list[Row]]) -> list[Row]:
        for row in rows:
            lines = sorted(related.get(row["Ref_Key"], []), key=lambda line: line.get("LineNumber") or 0)
            row["_contacts"] = lines
            # The section was read before the object: if the object was written in between, this version
            # differs from the next run's, which then maps it again instead of skipping a stale record.
            row["_resolved"] = _fingerprint(lines)
        return rows

    def map(self, item: Row) -> Account | None:
        if item.get("DeletionMark"):
            return None
        f = self.flavour
        individual = item.get(f.legal_form_field) in f.individual_forms
        tax, tax_kind = tax_id(item.get("ИНН"), "tax_id", country="RU", individual=individual)
        contact = _contacts(item["_contacts"])
        facts = self._partner_facts(item) if f.trade else self._contract_facts(item)
        if facts is None:
            return None
        return Account(
            code=required(item.get("Code"), "code", 100),
            title=required(item.get("НаименованиеПолное") or item.get("Description"), "title", 2000),
            tax_id=tax,
            tax_id_kind=tax_kind,  # type: ignore[arg-type]
            is_individual=individual,
            group_code=code_of(self.counterparties, item.get("Parent_Key"), "counterparty group", "group_code"),
            phone=phone(contact.get("Телефон", {}).get("Представление")),
            email=email(contact.get("АдресЭлектроннойПочты", {}).get("Представление")),
            address=clean(contact.get("Адрес", {}).get("Представление"), 2000),
            city=clean(contact.get("Адрес", {}).get("Город")),
            country=code_of(self.countries, item.get("СтранаРегистрации_Key"), "country", "country", "КодАльфа2"),
            **facts,
        )

    def _partner_facts(self, item: Row) -> dict[str, Any] | None:
        partner = self.partners.get(item.get("Партнер_Key") or "")
        if partner is None:
            raise RecordError("the legal entity has no business partner (Партнер) in Catalog_Партнеры", "kind")
        kind = _KINDS.get((bool(partner.get("Клиент")), bool(partner.get("Поставщик"))))
        if kind is None:
            return None  # neither client nor supplier (a bank, a carrier): not an account of the feed
        agreements = self.agreements_of.get(item["Ref_Key"]) or self.agreements_of.get(partner["Ref_Key"]) or []
        agreement = agreements[0] if agreements else {}
        head = partner.get("Parent_Key")
        parent = None
        if is_ref(head):
            parent = self.entity_of_partner.get(head)
            if parent is None:
                raise RecordError("the head partner has no legal entity in Catalog_Контрагенты", "parent_code")
        return {
            "kind": kind,
            "currency": self._currency(agreement.get("Валюта_Key")),
            "region_code": code_of(self.regions, partner.get("БизнесРегион_Key"), "business region", "region_code"),
            "sales_rep_code": code_of(
                self.users, partner.get("ОсновнойМенеджер_Key"), "user", "sales_rep_code", "Description"
            ),
            "parent_code": parent,
            "created_at": timestamp(partner.get("ДатаРегистрации"), "created_at", self.tz),
            "payment_terms": code_of(
                self.schedules, agreement.get("ГрафикОплаты_Key"), "payment schedule", "payment_terms", "Description"
            ),
        }

    def _contract_facts(self, item: Row) -> dict[str, Any] | None:
        contracts = self.contracts_of.get(item["Ref_Key"], [])
        kinds = {_CONTRACT_KINDS.get(c.get("ВидДоговора") or "") for c in contracts} - {None}
        kind = _KINDS.get(("customer" in kinds, "supplier" in kinds))
        if kind is None:
            return None  # no sales or purchase contract: not an account of the feed
        main = self.contracts.get(item.get("ОсновнойДоговорКонтрагента_Key") or "") or contracts[0]
        return {"kind": kind, "currency": self._currency(main.get("ВалютаВзаиморасчетов_Key"))}

    def _currency(self, ref: Any) -> str | None:
        return self.lookups.currency_of(ref, "currency") if is_ref(ref) else None


def _contacts(lines: list[Row]) -> dict[str, Row]:
    """The first contact-information line of each type (Телефон, АдресЭлектроннойПочты, Адрес)."""
    first: dict[str, Row] = {}
    for line in lines:
        first.setdefault(str(line.get("Тип")), line)
    return first


class Products(_Catalog):
    """Goods of Catalog_Номенклатура (no folders, no services); UT 11 adds packagings (Catalog_УпаковкиЕдиницыИзмерения
    owned by the item) and barcodes (InformationRegister_ШтрихкодыНоменклатуры)."""

    name = "products"
    primary_key = ("code",)
    role = "items"

    def __init__(self, env: OneCEnv) -> None:
        super().__init__(env)
        self.where = service_filter(env)

    def needs(self) -> list[str]:
        s = self.sets
        needed = [s["items"], s["item_kinds"], s["vat_rates"], s["units"]]
        return [*needed, s["brands"], s["barcodes"]] if self.flavour.trade else needed

    def select(self) -> tuple[str, ...]:
        extra = ("Марка_Key",) if self.flavour.trade else ()
        return (
            "Ref_Key",
            "DataVersion",
            "DeletionMark",
            "Code",
            "Description",
            "Parent_Key",
            "ЕдиницаИзмерения_Key",
            "ВидНоменклатуры_Key",
            "СтавкаНДС_Key",
            *extra,
        )

    def load(self, lookups: Lookups) -> None:
        self.items = lookups.catalog("items", ("Code", "IsFolder"), where="IsFolder eq true")
        self.kinds = lookups.catalog("item_kinds", ("Code",))
        self.vat_rates = lookups.catalog("vat_rates", ("Ставка",))
        trade = self.flavour.trade
        self.units = lookups.catalog(
            "units", ("Description", *(("DataVersion", "Owner_Key", "Числитель", "Знаменатель") if trade else ()))
        )
        self.packagings: dict[str, list[Row]] = {}
        if trade:
            self.brands = lookups.catalog("brands", ("Description",))
            for unit in sorted(self.units.values(), key=lambda u: (str(u.get("Description")), u["Ref_Key"])):
                if is_ref(unit.get("Owner_Key")):
                    self.packagings.setdefault(unit["Owner_Key"], []).append(unit)

    def related(self) -> Related | None:
        if not self.flavour.trade:
            return None  # БП 3 keeps no barcode register
        fields = ("Штрихкод", "Номенклатура_Key", "Упаковка_Key")
        return Related(self.sets["barcodes"], "Номенклатура_Key", fields, ("Штрихкод",))

    def attach(self, rows: list[Row], related: dict[str, list[Row]]) -> list[Row]:
        if not self.flavour.trade:
            return rows
        for row in rows:
            mine = sorted(related.get(row["Ref_Key"], []), key=lambda b: str(b.get("Штрихкод")))
            row["_barcodes"] = mine
            row["_resolved"] = _fingerprint(mine)
        return rows

    def map(self, item: Row) -> Product | None:
        if item.get("DeletionMark"):
            return None
        base = code_of(self.units, item.get("ЕдиницаИзмерения_Key"), "unit", "base_unit", "Description")
        barcodes = item.get("_barcodes", [])
        own = [clean(b.get("Штрихкод")) for b in barcodes if not is_ref(b.get("Упаковка_Key"))]
        product_barcodes = [b for b in own if b]
        units: list[UnitConversion] = []
        if base is not None:
            first = product_barcodes[0] if product_barcodes else None
            units.append(UnitConversion(unit=base, factor=Decimal("1.000"), unit_code=unit_code(base), barcode=first))
        for packaging in self.packagings.get(item["Ref_Key"], []):
            name = required(packaging.get("Description"), "units.unit", 100)
            numerator, denominator = packaging.get("Числитель") or 0, packaging.get("Знаменатель") or 1
            factor = quantity(Decimal(repr(float(numerator))) / Decimal(repr(float(denominator))), "units.factor")
            if not factor:
                raise RecordError("a packaging holds no base units (Числитель is 0)", "units.factor")
            barcode = next(
                (clean(b.get("Штрихкод")) for b in barcodes if b.get("Упаковка_Key") == packaging["Ref_Key"]), None
            )
            units.append(UnitConversion(unit=name, factor=factor, unit_code=unit_code(name), barcode=barcode))
        vat = self.vat_rates.get(item.get("СтавкаНДС_Key") or "")
        return Product(
            code=required(item.get("Code"), "code", 100),
            name=required(item.get("Description"), "name", 2000),
            barcodes=product_barcodes,
            base_unit=base,
            base_unit_code=unit_code(base),
            units=units,
            category_code=code_of(self.kinds, item.get("ВидНоменклатуры_Key"), "item kind", "category_code"),
            group_code=code_of(self.items, item.get("Parent_Key"), "item group", "group_code"),
            brand=code_of(self.brands, item.get("Марка_Key"), "brand", "brand", "Description")
            if self.flavour.trade
            else None,
            vat_rate=percent(vat.get("Ставка"), "vat_rate") if vat else None,
        )
