"""Catalog streams, read in full each run (snapshots; DataVersion skips the unchanged): accounts and products."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from connectors.base import Partition
from mapping.dates import timestamp
from mapping.errors import RecordError
from mapping.money import quantity
from mapping.schema import Account, AccountKind, Product, UnitConversion
from mapping.taxid import tax_identity
from mapping.text import clean, code, email, phone, required, required_code
from mapping.units import unit_code

from .declare import Field, Read, composite, flag, guid, number, text, when, whole
from .lookups import Lookups, currency_read
from .odata import Row, as_int, is_ref, string_literal
from .streams import OneCEnv, OneCStream, code_of, yes
from .vat import catalog_rate, rate_of

__all__ = ["SERVICE_TYPES", "Accounts", "Products"]

_KINDS: dict[tuple[bool, bool], AccountKind] = {
    (True, False): "customer",
    (False, True): "supplier",
    (True, True): "both",
}
_CONTRACT_KINDS = {"СПокупателем": "customer", "СПоставщиком": "supplier"}
SERVICE_TYPES = ("Услуга", "Работа")


def _fingerprint(rows: list[Row]) -> str:
    return hashlib.blake2b(msgspec.json.encode(rows), digest_size=8).hexdigest()


def _group(into: dict[str, list[Row]], rows: Iterable[Row], owner: str) -> None:
    for row in rows:
        into.setdefault(row[owner], []).append(row)


class _Catalog(OneCStream):
    replication_key = None  # read in full each run: catalogs are small, and their deletes come for free
    owner = "Ref_Key"  # the related rows' field holding the item's Ref_Key

    def main(self) -> Read:
        raise NotImplementedError

    def where(self) -> str | None:
        return None

    def related(self) -> tuple[Read, tuple[str, ...]] | None:
        """Rows read with each item (a tabular section, register records about it) and their identity."""
        return None

    def attach(self, rows: list[Row], related: dict[str, list[Row]]) -> list[Row]:
        return rows

    def lookup_reads(self) -> list[Read]:
        raise NotImplementedError

    def reads(self) -> list[Read]:
        spec = self.related()
        return [self.main(), *([spec[0]] if spec else []), *self.lookup_reads()]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        # The whole catalog is read, so its related rows are too: a few pages instead of a request per 25 items.
        related: dict[str, list[Row]] = {}
        spec = self.related()
        if spec is not None:
            for page in self.env.odata.pages(self.env.query(spec[0]), order=spec[1]):
                _group(related, page, self.owner)
        for page in self.env.odata.pages(self.env.query(self.main()), where=self.where()):
            yield self.attach(page, related)

    def count(self) -> int | None:
        return self.env.odata.count(self.env.query(self.main()).set, self.where())

    def fetch(self, keys: Sequence[str]) -> list[Row]:
        self.prepare()
        rows = self.env.odata.by_refs(self.env.query(self.main()), keys, where=self.where())
        related: dict[str, list[Row]] = {}
        spec = self.related()
        if spec is not None:
            refs = [row["Ref_Key"] for row in rows]
            found = self.env.odata.by_refs(self.env.query(spec[0]), refs, field=self.owner, order=spec[1])
            _group(related, found, self.owner)
        return self.attach(rows, related)


class Accounts(_Catalog):
    """Catalog_Контрагенты (legal entities) with their contact information; УТ 11 adds the business partner
    (client/supplier, manager, region, head partner) and the client agreement, БП 3 the contracts."""

    name = "accounts"
    primary_key = ("code",)

    def main(self) -> Read:
        f = self.flavour
        extra = guid("Партнер_Key") if f.trade else (*guid("Parent_Key"), *flag("IsFolder"))
        return self.env.catalog(
            "counterparties",
            text("DataVersion", self.code("counterparties"), "Description", "НаименованиеПолное", "ИНН"),
            flag("DeletionMark"),
            guid("СтранаРегистрации_Key"),
            text(f.legal_form_field),
            extra,
        )

    def where(self) -> str | None:
        if self.flavour.trade:
            return None  # УТ's counterparties have no folders
        return f"{self.env.query(self.main()).name('IsFolder')} eq false"

    def related(self) -> tuple[Read, tuple[str, ...]]:
        fields = (*guid("Ref_Key"), *whole("LineNumber"), *text("Тип", "Представление"))
        # BSP keeps Город for compatibility only (the address is in ЗначенияПолей): a newer base may lack it.
        city = Field("Город", "text", optional="accounts.city")
        role = "counterparties"
        read = Read(f"{self.flavour.sets[role]}_КонтактнаяИнформация", (*fields, city), role)
        return read, ("Ref_Key", "LineNumber")

    def lookup_reads(self) -> list[Read]:
        e, f = self.env, self.flavour
        reads = [self._entities(), e.catalog("countries", text("КодАльфа2")), currency_read(e)]
        if not f.trade:
            contract = (*text("DataVersion", "Code", "ВидДоговора"), *flag("DeletionMark"))
            return [*reads, e.catalog("contracts", contract, guid("Owner_Key", "ВалютаВзаиморасчетов_Key"))]
        partner = (*text("DataVersion"), *guid("Parent_Key", "ОсновнойМенеджер_Key", "БизнесРегион_Key"))
        agreement = (*text("DataVersion", "Статус"), *flag("DeletionMark"))
        return [
            *reads,
            e.catalog("partners", partner, flag("Клиент", "Поставщик"), when("ДатаРегистрации")),
            e.catalog("users", text("Description")),
            e.catalog("regions", text(self.code("regions"))),
            e.catalog("payment_schedules", text("Description")),
            e.catalog("agreements", agreement, guid("Партнер_Key", "Контрагент_Key", "Валюта_Key", "ГрафикОплаты_Key")),
        ]

    def _entities(self) -> Read:
        if self.flavour.trade:
            return self.env.catalog("counterparties", text(self.code("counterparties")), guid("Партнер_Key"))
        return self.env.catalog("counterparties", text("Code"), flag("IsFolder"))

    def load(self, lookups: Lookups) -> None:
        f = self.flavour
        reads = self.lookup_reads()
        self.counterparties = lookups.catalog(reads[0])
        self.countries = lookups.catalog(reads[1])
        lookups.currency_codes()
        if not f.trade:
            self.contracts = lookups.catalog(reads[3])
            self.contracts_of: dict[str, list[Row]] = {}
            for contract in sorted(self.contracts.values(), key=lambda c: str(c.get("Code"))):
                if not contract.get("DeletionMark"):
                    self.contracts_of.setdefault(contract["Owner_Key"], []).append(contract)
            return
        self.partners, self.users, self.regions, self.schedules = (lookups.catalog(r) for r in reads[3:7])
        agreements = lookups.catalog(reads[7])
        self.agreements_of: dict[str, list[Row]] = {}
        for agreement in sorted(agreements.values(), key=lambda a: (a.get("Статус") != "Действует", a["Ref_Key"])):
            if not agreement.get("DeletionMark"):
                owner = agreement.get("Контрагент_Key") if is_ref(agreement.get("Контрагент_Key")) else None
                self.agreements_of.setdefault(owner or agreement.get("Партнер_Key"), []).append(agreement)
        # A head partner's account: its legal entity with the lowest code.
        code = self.code("counterparties")
        self.entity_of_partner: dict[str, str] = {}
        for row in sorted(self.counterparties.values(), key=lambda r: str(r.get(code))):
            if is_ref(row.get("Партнер_Key")):
                self.entity_of_partner.setdefault(row["Партнер_Key"], str(row.get(code)))

    def attach(self, rows: list[Row], related: dict[str, list[Row]]) -> list[Row]:
        for row in rows:
            lines = sorted(related.get(row["Ref_Key"], []), key=lambda line: as_int(line.get("LineNumber") or 0))
            row["_contacts"] = lines
            # The section was read before the object: if the object was written in between, this version
            # differs from the next run's, which then maps it again instead of skipping a stale record.
            row["_resolved"] = _fingerprint(lines)
        return rows

    def map(self, item: Row) -> Account | None:
        if yes(item, "DeletionMark", "DeletionMark"):
            return None
        f = self.flavour
        individual = item.get(f.legal_form_field) in f.individual_forms
        tax = tax_identity(item.get("ИНН"), "RU", individual)
        contact = _contacts(item["_contacts"])
        facts = self._partner_facts(item) if f.trade else self._contract_facts(item)
        if facts is None:
            return None
        group = None if f.trade else code_of(self.counterparties, item.get("Parent_Key"), "group", "group_code")
        return Account(
            code=required_code(item.get(self.code("counterparties")), "code"),
            title=required(item.get("НаименованиеПолное") or item.get("Description"), "title", 2000),
            tax_id=tax.value,
            tax_id_kind=tax.kind,
            tax_id_valid=tax.valid,
            is_individual=individual,
            group_code=group,
            phone=phone(contact.get("Телефон", {}).get("Представление")),
            email=email(contact.get("АдресЭлектроннойПочты", {}).get("Представление")),
            address=clean(contact.get("Адрес", {}).get("Представление"), 2000, "address"),
            city=clean(contact.get("Адрес", {}).get("Город"), field="city"),
            country=code_of(self.countries, item.get("СтранаРегистрации_Key"), "country", "country", "КодАльфа2"),
            **facts,
        )

    def _partner_facts(self, item: Row) -> dict[str, Any] | None:
        partner = self.partners.get(item.get("Партнер_Key") or "")
        if partner is None:
            raise RecordError("the legal entity has no business partner (Партнер) in Catalog_Партнеры", "kind")
        kind = _KINDS.get((yes(partner, "Клиент", "kind"), yes(partner, "Поставщик", "kind")))
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
            "region_code": code_of(
                self.regions, partner.get("БизнесРегион_Key"), "business region", "region_code", self.code("regions")
            ),
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
        # БП 3.0.83 keeps no main contract (ОсновнойДоговорКонтрагента is УдалитьОсновнойДоговорКонтрагента):
        # the currency is the first sales contract's, by code.
        main = next((c for c in contracts if c.get("ВидДоговора") == "СПокупателем"), contracts[0])
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
    """Goods of Catalog_Номенклатура (no folders, no services); УТ 11 adds packagings (Catalog_УпаковкиЕдиницыИзмерения
    owned by the item) and barcodes (InformationRegister_ШтрихкодыНоменклатуры)."""

    name = "products"
    primary_key = ("code",)
    owner = "Номенклатура_Key"

    def __init__(self, env: OneCEnv) -> None:
        super().__init__(env)
        self.kind_field = "ТипНоменклатуры" if self.flavour.trade else "Услуга"

    def main(self) -> Read:
        f = self.flavour
        own = (*guid("СтавкаНДС_Key", "Марка_Key"), *text("ТипНоменклатуры")) if f.trade else text("ВидСтавкиНДС")
        return self.env.catalog(
            "items",
            text("DataVersion", self.code("items"), "Description"),
            flag("DeletionMark", "IsFolder"),
            guid("Parent_Key", "ЕдиницаИзмерения_Key", "ВидНоменклатуры_Key"),
            own,
            () if f.trade else flag("Услуга"),
        )

    def where(self) -> str | None:
        """Goods: no folders, no services (services are not products)."""
        q = self.env.query(self.main())
        if self.flavour.trade:
            kinds = " and ".join(f"{q.name(self.kind_field)} ne {string_literal(t)}" for t in SERVICE_TYPES)
            return f"{q.name('IsFolder')} eq false and {kinds}"
        return f"{q.name('IsFolder')} eq false and {q.name('Услуга')} eq false"

    def lookup_reads(self) -> list[Read]:
        e, f = self.env, self.flavour
        reads = [
            e.catalog("items", text("Code"), flag("IsFolder")),
            e.catalog("item_kinds", text(self.code("item_kinds"))),
        ]
        if not f.trade:
            return [*reads, e.catalog("units", text("Description"))]
        packaging = (*text("DataVersion", "Description"), *composite("Owner"), *number("Числитель", "Знаменатель"))
        return [
            *reads,
            e.catalog("units", packaging),
            e.catalog("vat_rates", text("ПеречислениеСтавкаНДС"), number("Ставка")),
            e.catalog("brands", text("Description")),
        ]

    def load(self, lookups: Lookups) -> None:
        reads = self.lookup_reads()
        q = self.env.query(reads[0])
        self.items = lookups.catalog(reads[0], where=f"{q.name('IsFolder')} eq true")
        self.kinds = lookups.catalog(reads[1])
        self.units = lookups.catalog(reads[2])
        self.packagings: dict[str, list[Row]] = {}
        if self.flavour.trade:
            self.vat_rates = lookups.catalog(reads[3])
            self.brands = lookups.catalog(reads[4])
            item_type = f"StandardODATA.{self.env.query(self.main()).set}"
            for unit in sorted(self.units.values(), key=lambda u: (str(u.get("Description")), u["Ref_Key"])):
                if unit.get("Owner_Type") == item_type and is_ref(unit.get("Owner")):
                    self.packagings.setdefault(unit["Owner"], []).append(unit)

    def related(self) -> tuple[Read, tuple[str, ...]] | None:
        if not self.flavour.trade:
            return None  # БП 3 keeps no barcode register
        role = "barcodes"
        return Read(self.flavour.sets[role], (*text("Штрихкод"), *guid("Номенклатура_Key", "Упаковка_Key")), role), (
            "Штрихкод",
        )

    def attach(self, rows: list[Row], related: dict[str, list[Row]]) -> list[Row]:
        if not self.flavour.trade:
            return rows
        for row in rows:
            mine = sorted(related.get(row["Ref_Key"], []), key=lambda b: str(b.get("Штрихкод")))
            row["_barcodes"] = mine
            row["_resolved"] = _fingerprint(mine)
        return rows

    def map(self, item: Row) -> Product | None:
        if yes(item, "DeletionMark", "DeletionMark"):
            return None
        base = code_of(self.units, item.get("ЕдиницаИзмерения_Key"), "unit", "base_unit", "Description")
        barcodes = item.get("_barcodes", [])
        own = [code(b.get("Штрихкод"), "barcodes") for b in barcodes if not is_ref(b.get("Упаковка_Key"))]
        product_barcodes = [b for b in own if b]
        units: list[UnitConversion] = []
        if base is not None:
            first = product_barcodes[0] if product_barcodes else None
            units.append(UnitConversion(unit=base, factor=Decimal("1.000"), unit_code=unit_code(base), barcode=first))
        for packaging in self.packagings.get(item["Ref_Key"], []):
            name = required_code(packaging.get("Description"), "units.unit")
            numerator, denominator = packaging.get("Числитель"), packaging.get("Знаменатель")
            if not numerator or not denominator:  # None or 0: the packaging says no count of base units
                raise RecordError(f"Числитель/Знаменатель {numerator!r}/{denominator!r}", "units.factor")
            factor = quantity(Decimal(str(numerator)) / Decimal(str(denominator)), "units.factor")
            if not factor:
                raise RecordError("a packaging holds less than 0.001 base units", "units.factor")
            mine = (b for b in barcodes if b.get("Упаковка_Key") == packaging["Ref_Key"])
            barcode = next((code(b.get("Штрихкод"), "units.barcode") for b in mine), None)
            units.append(UnitConversion(unit=name, factor=factor, unit_code=unit_code(name), barcode=barcode))
        trade = self.flavour.trade
        return Product(
            code=required_code(item.get(self.code("items")), "code"),
            name=required(item.get("Description"), "name", 2000),
            barcodes=product_barcodes,
            base_unit=base,
            base_unit_code=unit_code(base),
            units=units,
            category_code=code_of(
                self.kinds, item.get("ВидНоменклатуры_Key"), "item kind", "category_code", self.code("item_kinds")
            ),
            group_code=code_of(self.items, item.get("Parent_Key"), "item group", "group_code"),
            brand=code_of(self.brands, item.get("Марка_Key"), "brand", "brand", "Description") if trade else None,
            vat_rate=self._vat(item),
        )

    def _vat(self, item: Row) -> Decimal | None:
        if self.flavour.trade:
            ref = item.get("СтавкаНДС_Key")
            if not is_ref(ref):
                return None
            if ref not in self.vat_rates:
                raise RecordError(f"refers to a VAT rate that is not in the published catalog ({ref})", "vat_rate")
            return catalog_rate(self.vat_rates[ref], self.env.vat_rates, "vat_rate")
        return rate_of(item.get("ВидСтавкиНДС") or "", self.env.vat_kinds, "vat_kinds", "vat_rate")
