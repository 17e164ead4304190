"""Snapshot streams (balances and register records carry no DataVersion): stock, risk limits, discounts.

OData has no GROUP BY: balances come per register dimension (characteristic, currency, contract) and
are summed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed, percent, quantity, unit_price
from mapping.schema import Discount, RiskLimit, StockLevel

from .lookups import Lookups, to_local
from .odata import EMPTY_REF, Row, guid_literal, is_ref, string_literal
from .streams import OneCStream, code_of

__all__ = ["Discounts", "RiskLimits", "StockLevels"]

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

    def ledger_accounts(self, codes: Sequence[str]) -> str:
        """The $filter selecting the chart-of-accounts accounts with these codes (БП's Хозрасчетный)."""
        chart = self.lookups.catalog("chart_of_accounts", ("Code",))
        refs = [ref for ref, row in chart.items() if row.get("Code") in codes]
        if not refs:
            raise RecordError(
                f"none of the accounts {', '.join(codes)} is in {self.sets['chart_of_accounts']}", "account"
            )
        return " or ".join(f"Account_Key eq {guid_literal(ref)}" for ref in refs)


class StockLevels(_Snapshot):
    """UT 11: AccumulationRegister_ТоварыНаСкладах/Balance (ВНаличии; reserved = ВРезервеСоСклада +
    ВРезервеПодЗаказ), summed over characteristics. BP 3: the quantity balance of the stock accounts
    (41.01) in AccountingRegister_Хозрасчетный/Balance, by item and warehouse subconto; no reserves."""

    name = "stock_levels"
    primary_key = ("product_code", "warehouse_code")

    def needs(self) -> list[str]:
        s = self.sets
        balances = [s["stock"]] if self.flavour.trade else [s["ledger"], s["chart_of_accounts"]]
        return [*balances, s["items"], s["warehouses"]]

    def load(self, lookups: Lookups) -> None:
        self.items = lookups.catalog("items", ("Code",))
        self.warehouses = lookups.catalog("warehouses", ("Code", "Description"))

    def balance(self) -> tuple[str, tuple[str, ...]]:
        """The virtual table the stock comes from, and the fields read from it."""
        if self.flavour.trade:
            fields = (
                "Номенклатура_Key",
                "Склад_Key",
                "ВНаличииBalance",
                "ВРезервеСоСкладаBalance",
                "ВРезервеПодЗаказBalance",
            )
            return f"{self.sets['stock']}/Balance", fields
        fields = (
            "Account_Key",
            "ExtDimension1",
            "ExtDimension1_Type",
            "ExtDimension2",
            "ExtDimension2_Type",
            "КоличествоBalance",
        )
        return f"{self.sets['ledger']}/Balance", fields

    def probes(self) -> list[tuple[str, tuple[str, ...] | None]]:
        if not self.flavour.trade:
            self.ledger_accounts(self.env.stock_accounts)
        return [self.balance()]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        totals: dict[tuple[str, str], Row] = {}
        set_name, fields = self.balance()
        if self.flavour.trade:
            for row in self.env.odata.whole(set_name, select=fields):
                item, warehouse = row["Номенклатура_Key"], row["Склад_Key"]
                total = totals.setdefault((item, warehouse), _stock_item(item, warehouse, reserved=True))
                total["on_hand"] += fixed(row.get("ВНаличииBalance"), 3, "on_hand")
                total["reserved"] += fixed(row.get("ВРезервеСоСкладаBalance"), 3, "reserved") + fixed(
                    row.get("ВРезервеПодЗаказBalance"), 3, "reserved"
                )
        else:
            where = self.ledger_accounts(self.env.stock_accounts)
            for row in self.env.odata.whole(set_name, select=fields, where=where):
                item, warehouse = row["ExtDimension1"], row["ExtDimension2"]
                if not _type_is(row.get("ExtDimension1_Type"), self.sets["items"]):
                    item = f"not-an-item:{item}"
                if not _type_is(row.get("ExtDimension2_Type"), self.sets["warehouses"]):
                    warehouse = EMPTY_REF  # stock kept without warehouse analytics
                total = totals.setdefault((item, warehouse), _stock_item(item, warehouse, reserved=False))
                total["on_hand"] += fixed(row.get("КоличествоBalance"), 3, "on_hand")
        yield from self.chunks(list(totals.values()))

    def map(self, item: Row) -> StockLevel:
        product = code_of(self.items, item["Номенклатура_Key"], "nomenclature item", "product_code")
        if product is None:
            raise RecordError("the balance row has no item (or its subconto is not Номенклатура)", "product_code")
        warehouse = code_of(self.warehouses, item["Склад_Key"], "warehouse", "warehouse_code")
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
    """Credit limits (ДопустимаяСуммаЗадолженности of agreements / contracts with КонтролироватьСуммуЗадолженности)
    per legal entity, with its receivable: UT 11 AccumulationRegister_РасчетыСКлиентами/Balance plus its open
    orders (posted, status КОбеспечению / КОтгрузке); BP 3 the receivable accounts (62.01) of Хозрасчетный."""

    name = "risk_limits"
    primary_key = ("account_code",)

    def needs(self) -> list[str]:
        s = self.sets
        if self.flavour.trade:
            balances = [s["agreements"], s["receivables"], s["orders"]]
        else:
            balances = [s["contracts"], s["ledger"], s["chart_of_accounts"]]
        return [*balances, s["counterparties"], s["currencies"], s["rates"]]

    def load(self, lookups: Lookups) -> None:
        self.counterparties = lookups.catalog(
            "counterparties", ("Code", "IsFolder", *(("Партнер_Key",) if self.flavour.trade else ()))
        )
        lookups.currency_codes()

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
        if self.flavour.trade:
            for owner, amount, currency, day in self._open_orders():
                if owner in items:
                    items[owner]["_orders"].append((amount, currency, day))
        else:
            for item in items.values():
                item["_orders"] = None  # BP 3 orders (invoices for payment) have no status
        yield from self.chunks(list(items.values()))

    def _limit_query(self) -> tuple[str, tuple[str, ...], str]:
        """(set, fields, $filter) of the agreements / contracts whose credit limit is controlled."""
        controlled = "DeletionMark eq false and КонтролироватьСуммуЗадолженности eq true"
        if self.flavour.trade:
            fields = ("Ref_Key", "Партнер_Key", "Контрагент_Key", "Валюта_Key", "ДопустимаяСуммаЗадолженности")
            return self.sets["agreements"], fields, controlled
        fields = ("Ref_Key", "Owner_Key", "ВалютаВзаиморасчетов_Key", "ДопустимаяСуммаЗадолженности")
        return self.sets["contracts"], fields, f"{controlled} and ВидДоговора eq {string_literal('СПокупателем')}"

    def _balance_query(self) -> tuple[str, tuple[str, ...]]:
        if self.flavour.trade:
            return f"{self.sets['receivables']}/Balance", ("Контрагент_Key", "Валюта_Key", "СуммаBalance")
        return f"{self.sets['ledger']}/Balance", ("Account_Key", "ExtDimension1", "ExtDimension1_Type", "СуммаBalance")

    def _orders_query(self) -> tuple[str, tuple[str, ...], str]:
        f = self.flavour
        statuses = [status for status, meaning in f.order_statuses.items() if meaning in ("open", "shippable")]
        open_status = " or ".join(f"Статус eq {string_literal(s)}" for s in statuses)
        fields = ("Ref_Key", "Контрагент_Key", "Date", f.currency_field, "СуммаДокумента")
        return self.sets["orders"], fields, f"Posted eq true and DeletionMark eq false and ({open_status})"

    def probes(self) -> list[tuple[str, tuple[str, ...] | None]]:
        limits, balances = self._limit_query(), self._balance_query()
        if not self.flavour.trade:
            self.ledger_accounts(self.env.receivable_accounts)
            return [limits[:2], balances]
        return [limits[:2], balances, self._orders_query()[:2]]

    def _limits(self) -> Iterator[tuple[str, Any, Any]]:
        set_name, fields, where = self._limit_query()
        if self.flavour.trade:
            entity_of: dict[str, str] = {}
            for ref, row in sorted(self.counterparties.items(), key=lambda kv: str(kv[1].get("Code"))):
                if is_ref(row.get("Партнер_Key")) and not row.get("IsFolder"):
                    entity_of.setdefault(row["Партнер_Key"], ref)
            for row in self._rows(set_name, fields, where):
                owner = row.get("Контрагент_Key")
                if not is_ref(owner):  # an agreement with the partner as a whole: its first legal entity
                    owner = entity_of.get(row.get("Партнер_Key") or "")
                if owner:
                    yield owner, row.get("ДопустимаяСуммаЗадолженности"), row.get("Валюта_Key")
        else:
            for row in self._rows(set_name, fields, where):
                yield row["Owner_Key"], row.get("ДопустимаяСуммаЗадолженности"), row.get("ВалютаВзаиморасчетов_Key")

    def _rows(self, set_name: str, select: tuple[str, ...], where: str) -> Iterator[Row]:
        for page in self.env.odata.pages(set_name, select=select, where=where):
            yield from page

    def _balances(self) -> Iterator[tuple[str, Any, Any]]:
        set_name, fields = self._balance_query()
        if self.flavour.trade:
            for row in self.env.odata.whole(set_name, select=fields):
                yield row["Контрагент_Key"], row.get("СуммаBalance"), row.get("Валюта_Key")
        else:
            where = self.ledger_accounts(self.env.receivable_accounts)
            for row in self.env.odata.whole(set_name, select=fields, where=where):
                if _type_is(row.get("ExtDimension1_Type"), self.sets["counterparties"]):
                    yield row["ExtDimension1"], row.get("СуммаBalance"), None  # accounting sums are in roubles

    def _open_orders(self) -> Iterator[tuple[str, Any, Any, Any]]:
        set_name, fields, where = self._orders_query()
        currency = self.flavour.currency_field
        for row in self._rows(set_name, fields, where):
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
        orders = None
        if item["_orders"] is not None:
            orders = _ZERO2
            for amount, currency_ref, day in item["_orders"]:
                on = business_date(day, "open_orders") or today
                orders += self._local(amount, currency_ref, on, "open_orders")
        code = code_of(self.counterparties, item["_key"], "counterparty", "account_code")
        if code is None:
            raise RecordError("the credit limit belongs to no legal entity", "account_code")
        return RiskLimit(
            account_code=code,
            limit=limit,
            currency=self.env.local_currency,
            open_balance=balance,
            open_orders=orders,
            exposure=balance + (orders or _ZERO2),
            as_of=self.as_of,
        )


class Discounts(_Snapshot):
    """Dealer prices and discount rules, from information registers (a record's identity is its dimensions,
    so the feed's code is built from them): fixed prices are InformationRegister_ЦеныНоменклатуры records of a
    price type that exactly one customer's agreement (UT 11) or contract (BP 3) uses; percent and amount
    rules (UT 11) are InformationRegister_СкидкиНаценкиНоменклатуры records, whose optional attributes
    (КоличествоОт, СуммаСкидки, Валюта, ДатаОкончания, Приоритет) are read when the register has them."""

    name = "discounts"
    primary_key = ("code",)

    def needs(self) -> list[str]:
        s = self.sets
        rules = [s["agreements"], s["discounts"]] if self.flavour.trade else [s["contracts"]]
        return [s["prices"], s["price_types"], s["counterparties"], s["items"], s["currencies"], *rules]

    def load(self, lookups: Lookups) -> None:
        self.counterparties = lookups.catalog("counterparties", ("Code", "IsFolder"))
        self.items = lookups.catalog("items", ("Code", "IsFolder"))
        self.price_types = lookups.catalog("price_types", ("Code", "ВалютаЦены_Key"))
        lookups.currency_codes()
        if self.flavour.trade:
            users = lookups.catalog("agreements", ("DeletionMark", "Контрагент_Key", "ВидЦен_Key"))
            pairs = [(row.get("ВидЦен_Key"), row.get("Контрагент_Key")) for row in users.values()]
        else:
            users = lookups.catalog("contracts", ("DeletionMark", "Owner_Key", "ТипЦен_Key", "ВидДоговора"))
            pairs = [
                (row.get("ТипЦен_Key"), row.get("Owner_Key"))
                for row in users.values()
                if row.get("ВидДоговора") == "СПокупателем"
            ]
        customers: dict[str, set[str]] = {}
        for price_type, customer in pairs:
            if is_ref(price_type) and is_ref(customer):
                customers.setdefault(price_type, set()).add(customer)
        # A price type of one customer is that customer's deal; one shared by several is a price list.
        self.dealer_of = {t: next(iter(c)) for t, c in customers.items() if len(c) == 1}

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        items: list[Row] = []
        price_type = self._price_type_field()
        order = ("Period", price_type, "Номенклатура_Key", *(("Характеристика_Key",) if self.flavour.trade else ()))
        prices = self.env.odata.by_refs(self.sets["prices"], self.dealer_of, select=None, field=price_type, order=order)
        for row in prices:
            row["_key"] = "price:" + ":".join(str(row.get(name) or "") for name in order)
            items.append(row)
        if self.flavour.trade:
            for row in self.env.odata.whole(self.sets["discounts"], select=None):
                dims = (
                    row.get("Period"),
                    row.get("ПолучательСкидки"),
                    row.get("Номенклатура_Key"),
                    row.get("КоличествоОт"),
                )
                row["_key"] = "discount:" + ":".join(str(d or "") for d in dims)
                items.append(row)
        yield from self.chunks(items)

    def probes(self) -> list[tuple[str, tuple[str, ...] | None]]:
        rules = [(self.sets["discounts"], None)] if self.flavour.trade else []
        return [(self.sets["prices"], None), *rules]

    def _price_type_field(self) -> str:
        return "ВидЦены_Key" if self.flavour.trade else "ТипЦен_Key"

    def map(self, item: Row) -> Discount:
        if item["_key"].startswith("price:"):
            return self._fixed_price(item)
        return self._rule(item)

    def _fixed_price(self, item: Row) -> Discount:
        price_type = item.get(self._price_type_field())
        customer = self.dealer_of.get(price_type or "")
        account = code_of(self.counterparties, customer, "counterparty", "account_code")
        product = code_of(self.items, item.get("Номенклатура_Key"), "nomenclature item", "product_code")
        if account is None or product is None:
            raise RecordError("a dealer price needs a customer and an item", "product_code")
        currency_ref = item.get("Валюта_Key")
        if not is_ref(currency_ref):
            currency_ref = self.price_types.get(price_type or "", {}).get("ВалютаЦены_Key")
        valid_from = business_date(item.get("Period"), "valid_from")
        type_code = self.price_types.get(price_type or "", {}).get("Code") or price_type
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

    def _rule(self, item: Row) -> Discount:
        account = group = product = product_group = None
        recipient = item.get("ПолучательСкидки")
        if is_ref(recipient):
            if not _type_is(item.get("ПолучательСкидки_Type"), self.sets["counterparties"]):
                raise RecordError(
                    "the discount recipient is not a counterparty or a counterparty group", "account_code"
                )
            code = code_of(self.counterparties, recipient, "counterparty", "account_code")
            if self.counterparties[recipient].get("IsFolder"):
                group = code
            else:
                account = code
        item_ref = item.get("Номенклатура_Key")
        if is_ref(item_ref):
            code = code_of(self.items, item_ref, "nomenclature item", "product_code")
            if self.items[item_ref].get("IsFolder"):
                product_group = code
            else:
                product = code
        amount = fixed(item.get("СуммаСкидки"), 2, "value")
        kind = "amount" if amount else "percent"
        minimum = quantity(item.get("КоличествоОт"), "min_quantity") or None
        valid_from = business_date(item.get("Period"), "valid_from")
        dims = (("account", account), ("account_group", group), ("product", product), ("product_group", product_group))
        code = "/".join(
            [
                str(valid_from),
                account or group or "*",
                product or product_group or "*",
                *([str(minimum)] if minimum else []),
            ]
        )
        currency_ref = item.get("Валюта_Key")
        return Discount(
            code=code[:100],
            scope="+".join(name for name, value in dims if value) or "all",
            account_code=account,
            account_group_code=group,
            product_code=product,
            product_group_code=product_group,
            kind=kind,
            value=amount if kind == "amount" else percent(item.get("ПроцентСкидкиНаценки"), "value"),  # type: ignore[arg-type]
            currency=self.lookups.currency_of(currency_ref, "currency") if is_ref(currency_ref) else None,
            min_quantity=minimum,
            valid_from=valid_from,
            valid_to=business_date(item.get("ДатаОкончания"), "valid_to"),
            priority=int(item.get("Приоритет") or 0),
        )
