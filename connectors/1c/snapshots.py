"""Snapshot streams (balances and register records carry no DataVersion): stock, risk limits, dealer prices.

OData has no GROUP BY: balances come per register dimension (characteristic, currency, settlement key)
and are summed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed, unit_price
from mapping.schema import Discount, RiskLimit, StockLevel

from .declare import Read, composite, flag, guid, number, text, when, whole
from .documents import composite_ref
from .flavours import Flavour
from .lines import to_local
from .lookups import Lookups, currency_read, rate_read
from .odata import EMPTY_REF, Row, guid_literal, is_ref, string_literal
from .streams import OneCEnv, OneCStream, code_of

__all__ = ["Discounts", "RiskLimits", "StockLevels", "deal_price_types", "price_users"]

_ZERO3 = Decimal("0.000")
_ZERO2 = Decimal("0.00")


def _type_is(value: Any, set_name: str) -> bool:
    """Whether a composite reference's _Type ("StandardODATA.Catalog_Склады") names `set_name`."""
    return isinstance(value, str) and value.rsplit(".", 1)[-1] == set_name


class _Snapshot(OneCStream):
    replication_key = None

    def key(self, item: Row) -> str:
        return str(item["_key"])

    def chunks(self, items: list[Row]) -> Iterator[list[Row]]:
        size = self.env.odata.page_size
        for start in range(0, len(items), size):
            yield items[start : start + size]

    def chart(self) -> Read:
        return self.env.catalog("chart_of_accounts", text("Code"))

    def ledger_accounts(self, codes: Sequence[str], balance: Read) -> str:
        """The $filter selecting the chart-of-accounts accounts with these codes (БП's Хозрасчетный)."""
        chart = self.lookups.catalog(self.chart())
        refs = [ref for ref, row in chart.items() if row.get("Code") in codes]
        if not refs:
            raise RecordError(
                f"none of the accounts {', '.join(codes)} is in {self.sets['chart_of_accounts']}", "account"
            )
        field = self.env.query(balance).name("Account_Key")
        return " or ".join(f"{field} eq {guid_literal(ref)}" for ref in refs)


class StockLevels(_Snapshot):
    """УТ 11: AccumulationRegister_ТоварыНаСкладах/Balance (ВНаличии; reserved = the `stock_reserved`
    resources, КОтгрузке by default), summed over characteristics, series and rooms. БП 3: the quantity
    balance of the stock accounts (41.01) in AccountingRegister_Хозрасчетный/Balance, by item and
    warehouse subconto; no reserves."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")

    def balance(self) -> Read:
        """The virtual table the stock comes from, and the fields read from it."""
        f = self.flavour
        if f.trade:
            reserved = [f"{name}Balance" for name in self.env.stock_reserved]
            fields = (*guid("Номенклатура_Key", "Склад_Key"), *number("ВНаличииBalance", *reserved))
            return Read(f"{f.sets['stock']}/Balance", fields, "stock")
        fields = (*guid("Account_Key"), *composite("ExtDimension1", "ExtDimension2"), *number("КоличествоBalance"))
        return Read(f"{f.sets['ledger']}/Balance", fields, "ledger")

    def lookup_reads(self) -> list[Read]:
        e = self.env
        reads = [
            e.catalog("items", text(self.code("items"))),
            e.catalog("warehouses", text(self.code("warehouses"), "Description")),
        ]
        return reads if self.flavour.trade else [*reads, self.chart()]

    def reads(self) -> list[Read]:
        return [self.balance(), *self.lookup_reads()]

    def probe(self) -> None:
        super().probe()
        if not self.flavour.trade:
            self.ledger_accounts(self.env.stock_accounts, self.balance())

    def load(self, lookups: Lookups) -> None:
        reads = self.lookup_reads()
        self.items = lookups.catalog(reads[0])
        self.warehouses = lookups.catalog(reads[1])

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        totals: dict[tuple[str, str], Row] = {}
        balance = self.balance()
        q = self.env.query(balance)
        if self.flavour.trade:
            reserved = [f"{name}Balance" for name in self.env.stock_reserved]
            for row in self.env.odata.whole(q):
                item, warehouse = row["Номенклатура_Key"], row["Склад_Key"]
                total = totals.setdefault((item, warehouse), _stock_item(item, warehouse, reserved=bool(reserved)))
                total["on_hand"] += fixed(row.get("ВНаличииBalance"), 3, "on_hand")
                for name in reserved:
                    total["reserved"] += fixed(row.get(name), 3, "reserved")
        else:
            where = self.ledger_accounts(self.env.stock_accounts, balance)
            for row in self.env.odata.whole(q, where=where):
                item, warehouse = row["ExtDimension1"], row["ExtDimension2"]
                if not _type_is(row.get("ExtDimension1_Type"), self.sets["items"]):
                    item = f"not-an-item:{item}"
                if not _type_is(row.get("ExtDimension2_Type"), self.sets["warehouses"]):
                    warehouse = EMPTY_REF  # stock kept without warehouse analytics
                total = totals.setdefault((item, warehouse), _stock_item(item, warehouse, reserved=False))
                total["on_hand"] += fixed(row.get("КоличествоBalance"), 3, "on_hand")
        yield from self.chunks(list(totals.values()))

    def map(self, item: Row) -> StockLevel:
        code = self.code("items")
        product = code_of(self.items, item["Номенклатура_Key"], "nomenclature item", "product_code", code)
        if product is None:
            raise RecordError("the balance row has no item (or its subconto is not Номенклатура)", "product_code")
        warehouse_code = self.code("warehouses")
        warehouse = code_of(self.warehouses, item["Склад_Key"], "warehouse", "warehouse_code", warehouse_code)
        if warehouse is None:
            raise RecordError("the balance row has no warehouse", "warehouse_code")
        on_hand, reserved = item["on_hand"], item["reserved"]
        return StockLevel(
            product_code=product,
            warehouse_code=warehouse,
            warehouse_name=self.warehouses[item["Склад_Key"]].get("Description") or None,
            on_hand=on_hand,
            reserved=reserved,
            available=None if reserved is None else on_hand - reserved,
            as_of=self.as_of,
        )


def _stock_item(item: str, warehouse: str, *, reserved: bool) -> Row:
    return {
        "_key": f"{item}:{warehouse}",
        "Номенклатура_Key": item,
        "Склад_Key": warehouse,
        "on_hand": _ZERO3,
        "reserved": _ZERO3 if reserved else None,
    }


class RiskLimits(_Snapshot):
    """УТ 11 / ERP 2 credit limits: ДопустимаяСуммаЗадолженности of the contracts in force that limit the
    debt (ОграничиватьСуммуЗадолженности), summed per legal entity; the receivable from
    AccumulationRegister_РасчетыСКлиентами/Balance (keyed by the settlement key, whose Контрагент is the legal
    entity) plus its open orders (posted, status open or shippable). БП 3 keeps no credit limit: it has no
    risk_limits stream."""

    name = "risk_limits"
    primary_key = ("account_code",)

    def limits(self) -> Read:
        fields = (*flag("DeletionMark", "ОграничиватьСуммуЗадолженности"), *text("Статус"))
        money = (
            *guid("Контрагент_Key", "Партнер_Key", "ВалютаВзаиморасчетов_Key"),
            *number("ДопустимаяСуммаЗадолженности"),
        )
        return self.env.catalog("contracts", fields, money)

    def balance(self) -> Read:
        fields = (*guid("АналитикаУчетаПоПартнерам_Key", "Валюта_Key"), *number("СуммаBalance"))
        return Read(f"{self.flavour.sets['receivables']}/Balance", fields, "receivables")

    def orders(self) -> Read:
        f = self.flavour
        fields = (
            *guid("Ref_Key", "Контрагент_Key", f.currency_field),
            *when("Date"),
            *number("СуммаДокумента"),
            *flag("Posted", "DeletionMark"),
            *text("Статус"),
        )
        return Read(f.sets["orders"], fields, "orders")

    def lookup_reads(self) -> list[Read]:
        e = self.env
        return [
            e.catalog("counterparties", text(self.code("counterparties")), guid("Партнер_Key")),
            e.catalog("settlement_keys", composite("Контрагент"), guid("Партнер_Key")),
            currency_read(e),
            rate_read(e),
        ]

    def reads(self) -> list[Read]:
        return [self.limits(), self.balance(), self.orders(), *self.lookup_reads()]

    def load(self, lookups: Lookups) -> None:
        reads = self.lookup_reads()
        self.counterparties = lookups.catalog(reads[0])
        self.keys = lookups.catalog(reads[1])
        lookups.currency_codes()
        lookups.load_rates()
        code = self.code("counterparties")
        self.entity_of: dict[str, str] = {}  # a partner's first legal entity: where a partner-wide figure goes
        for ref, row in sorted(self.counterparties.items(), key=lambda kv: str(kv[1].get(code))):
            if is_ref(row.get("Партнер_Key")):
                self.entity_of.setdefault(row["Партнер_Key"], ref)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        items: dict[str, Row] = {}
        for owner, amount, currency in self._limits():
            item = items.setdefault(owner, {"_key": owner, "_limits": [], "_balance": [], "_orders": []})
            item["_limits"].append((amount, currency))
        for owner, amount, currency in self._balances():
            if owner in items:
                items[owner]["_balance"].append((amount, currency))
        for owner, amount, currency, day in self._open_orders():
            if owner in items:
                items[owner]["_orders"].append((amount, currency, day))
        yield from self.chunks(list(items.values()))

    def _owner(self, entity: Any, partner: Any) -> str | None:
        return entity if is_ref(entity) else self.entity_of.get(partner or "")

    def _limits(self) -> Iterator[tuple[str, Any, Any]]:
        q = self.env.query(self.limits())
        n = q.name
        where = f"{n('DeletionMark')} eq false and {n('ОграничиватьСуммуЗадолженности')} eq true and "
        where += f"{n('Статус')} eq {string_literal('Действует')}"
        for page in self.env.odata.pages(q, where=where):
            for row in page:
                owner = self._owner(row.get("Контрагент_Key"), row.get("Партнер_Key"))
                if owner:
                    yield owner, row.get("ДопустимаяСуммаЗадолженности"), row.get("ВалютаВзаиморасчетов_Key")

    def _balances(self) -> Iterator[tuple[str, Any, Any]]:
        counterparties = self.env.query(self.lookup_reads()[0]).set
        for row in self.env.odata.whole(self.env.query(self.balance())):
            key = self.keys.get(row.get("АналитикаУчетаПоПартнерам_Key") or "", {})
            owner = self._owner(composite_ref(key, "Контрагент", counterparties), key.get("Партнер_Key"))
            if owner:
                yield owner, row.get("СуммаBalance"), row.get("Валюта_Key")

    def _open_orders(self) -> Iterator[tuple[str, Any, Any, Any]]:
        q = self.env.query(self.orders())
        n = q.name
        statuses = [s for s, meaning in self.env.order_statuses.items() if meaning in ("open", "shippable")]
        open_status = " or ".join(f"{n('Статус')} eq {string_literal(s)}" for s in statuses)
        where = f"{n('Posted')} eq true and {n('DeletionMark')} eq false and ({open_status})"
        currency = self.flavour.currency_field
        for page in self.env.odata.pages(q, where=where):
            for row in page:
                yield row["Контрагент_Key"], row.get("СуммаДокумента"), row.get(currency), row.get("Date")

    def _local(self, amount: Any, currency_ref: Any, day: dt.date, field: str) -> Decimal:
        value = fixed(amount, 2, field)
        if not is_ref(currency_ref):
            return value
        iso = self.lookups.currency_of(currency_ref, field)
        return to_local(value, self.lookups.rate_on(iso, day, field))

    def map(self, item: Row) -> RiskLimit:
        today = self.as_of.date()
        limit = sum((self._local(a, c, today, "limit") for a, c in item["_limits"]), _ZERO2)
        balance = sum((self._local(a, c, today, "open_balance") for a, c in item["_balance"]), _ZERO2)
        orders = _ZERO2
        for amount, currency_ref, day in item["_orders"]:
            on = business_date(day, "open_orders") or today
            orders += self._local(amount, currency_ref, on, "open_orders")
        code = code_of(self.counterparties, item["_key"], "counterparty", "account_code", self.code("counterparties"))
        if code is None:
            raise RecordError("the credit limit belongs to no legal entity", "account_code")
        return RiskLimit(
            account_code=code,
            limit=limit,
            currency=self.env.local_currency,
            open_balance=balance,
            open_orders=orders,
            exposure=balance + orders,
            as_of=self.as_of,
        )


def price_users(env: OneCEnv) -> Read:
    """What ties a price type to a customer: УТ's client agreements (ВидЦен), БП's contracts (ТипЦен)."""
    if env.flavour.trade:
        return env.catalog("agreements", flag("DeletionMark"), guid("Контрагент_Key", "ВидЦен_Key"))
    return env.catalog("contracts", flag("DeletionMark"), guid("Owner_Key", "ТипЦен_Key"), text("ВидДоговора"))


def deal_price_types(flavour: Flavour, users: Mapping[str, Row]) -> dict[str, str]:
    """Price type -> its one customer: a price type that exactly one customer's agreement (УТ) or sales contract
    (БП) uses is that customer's deal; one shared by several customers, or by none, is a price list."""
    if flavour.trade:
        pairs = [(row.get("ВидЦен_Key"), row.get("Контрагент_Key")) for row in users.values()]
    else:
        pairs = [
            (row.get("ТипЦен_Key"), row.get("Owner_Key"))
            for row in users.values()
            if row.get("ВидДоговора") == "СПокупателем"
        ]
    customers: dict[str, set[str]] = {}
    for price_type, customer in pairs:
        if is_ref(price_type) and is_ref(customer):
            customers.setdefault(price_type, set()).add(customer)
    return {t: next(iter(c)) for t, c in customers.items() if len(c) == 1}


class Discounts(_Snapshot):
    """Dealer prices: InformationRegister_ЦеныНоменклатуры records (subordinate to a recorder, so read from
    its _RecordType set; active ones) of a price type that exactly one customer's agreement (УТ 11) or sales
    contract (БП 3) uses: a price type shared by several customers is a price list, not a deal. The code is
    built from the record's dimensions (valid from / price type / item)."""

    name = "discounts"
    primary_key = ("code",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.type_field = "ВидЦены_Key" if self.flavour.trade else "ТипЦен_Key"

    def prices(self) -> Read:
        dims = guid(self.type_field, "Номенклатура_Key", *(("Характеристика_Key",) if self.flavour.trade else ()))
        fields = (*text("Recorder"), *whole("LineNumber"), *flag("Active"), *when("Period"), *dims)
        return self.env.catalog("prices", fields, number("Цена"), guid("Валюта_Key"))

    def lookup_reads(self) -> list[Read]:
        e = self.env
        users = price_users(e)
        return [
            e.catalog("counterparties", text(self.code("counterparties"))),
            e.catalog("items", text(self.code("items"))),
            e.catalog("price_types", text(self.code("price_types")), guid("ВалютаЦены_Key")),
            currency_read(e),
            users,
        ]

    def reads(self) -> list[Read]:
        return [self.prices(), *self.lookup_reads()]

    def load(self, lookups: Lookups) -> None:
        reads = self.lookup_reads()
        self.counterparties = lookups.catalog(reads[0])
        self.items = lookups.catalog(reads[1])
        self.price_types = lookups.catalog(reads[2])
        lookups.currency_codes()
        self.dealer_of = deal_price_types(self.flavour, lookups.catalog(reads[4]))

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        q = self.env.query(self.prices())
        dims = ("Period", self.type_field, "Номенклатура_Key", *(("Характеристика_Key",) if self.flavour.trade else ()))
        found: dict[str, Row] = {}
        active = f"{q.name('Active')} eq true"
        for row in self.env.odata.by_refs(
            q, self.dealer_of, field=self.type_field, where=active, order=("Recorder", "LineNumber")
        ):
            # Records of two recorders with the same dimensions: the later one (by recorder, line) stands.
            key = "price:" + ":".join(str(row.get(name) or "") for name in dims)
            found[key] = {**row, "_key": key}
        yield from self.chunks(list(found.values()))

    def map(self, item: Row) -> Discount:
        price_type = item.get(self.type_field)
        customer = self.dealer_of.get(price_type or "")
        account = code_of(self.counterparties, customer, "counterparty", "account_code", self.code("counterparties"))
        product = code_of(
            self.items, item.get("Номенклатура_Key"), "nomenclature item", "product_code", self.code("items")
        )
        if account is None or product is None:
            raise RecordError("a dealer price needs a customer and an item", "product_code")
        kind = self.price_types.get(price_type or "", {})
        currency_ref = item.get("Валюта_Key")
        if not is_ref(currency_ref):
            currency_ref = kind.get("ВалютаЦены_Key")
        valid_from = business_date(item.get("Period"), "valid_from")
        type_code = kind.get(self.code("price_types")) or price_type
        return Discount(
            code=f"{valid_from}/{type_code}/{product}"[:100],
            scope="account+product",
            account_code=account,
            product_code=product,
            kind="fixed_price",
            value=unit_price(item.get("Цена"), "value"),  # type: ignore[arg-type]
            currency=self.lookups.currency_of(currency_ref, "currency"),
            valid_from=valid_from,
        )
