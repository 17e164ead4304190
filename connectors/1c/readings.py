"""The default reading of every code 1C documents carry, and the source that confirms it.

Each is the default of a setting (vat_rates, vat_kinds, operations, order_statuses, currency_codes), so an
integrator who meets a value nobody listed maps it in the config; `dealersync discover --codes` shows
each value found with its reading and this source, or "your settings" when the config changed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from mapping.schema import OrderStatus

__all__ = [
    "BP",
    "ENUM_VAT",
    "OPERATIONS",
    "ORDER_STATUSES",
    "UT",
    "VAT_KINDS",
    "VAT_RATES",
    "Operation",
    "operation_defaults",
]

UT = "УТ 11.5.20.68 / ERP 2.5.17.95 metadata (vendor/)"
BP = "БП 3.0.83.25 metadata (vendor/)"
ENUM_VAT = "Enums.СтавкиНДС synonyms (БП 3.0.83.25, УТ 11.5.20.68)"

# The rate a line's enumeration value stands for, as a percent of the net amount; None: no VAT (БезНДС).
# A calculated rate (НДС20_120) takes 20/120 of an amount that includes VAT, which is 20 % of its net.
VAT_RATES: Mapping[str, Decimal | None] = {
    "НДС20": Decimal(20),
    "НДС20_120": Decimal(20),
    "НДС18": Decimal(18),
    "НДС18_118": Decimal(18),
    "НДС10": Decimal(10),
    "НДС10_110": Decimal(10),
    "НДС7": Decimal(7),
    "НДС7_107": Decimal(7),
    "НДС5": Decimal(5),
    "НДС5_105": Decimal(5),
    "НДС0": Decimal(0),
    "БезНДС": None,
}

# БП items name a kind of rate, not a rate: the rate in force for that kind (20 % general since 2019).
# UNCONFIRMED: the rate changes with the law (the general rate rises to 22 % in 2026); set vat_kinds.
VAT_KINDS: Mapping[str, Decimal | None] = {
    "Общая": Decimal(20),
    "ОбщаяРасчетная": Decimal(20),
    "Пониженная": Decimal(10),
    "ПониженнаяРасчетная": Decimal(10),
    "Нулевая": Decimal(0),
    "БезНДС": None,
}

ORDER_STATUSES: Mapping[str, OrderStatus] = {
    "НеСогласован": "proposal",
    "КОбеспечению": "open",
    "КОтгрузке": "shippable",
    "Закрыт": "closed",
}

Operation = Literal["include", "exclude"]

# layout -> stream -> operation kind -> (in the feed or not, why, source)
OPERATIONS: Mapping[str, Mapping[str, Mapping[str, tuple[Operation, str, str]]]] = {
    "trade": {
        "invoices": {
            "РеализацияКлиенту": ("include", "a sale to a client", UT),
            "РеализацияКлиентуРеглУчет": ("include", "a sale to a client (regulated accounting)", UT),
            "ВозвратТоваровОтКлиента": ("include", "a client's return", UT),
            "ВозвратТоваровОтКлиентаПрошлыхПериодов": ("include", "a client's return of an earlier period", UT),
            "КорректировкаПоСогласованиюСторон": ("include", "a correction agreed with the client", UT),
            "КорректировкаРеализацииУвеличениеЗадолженностиСводно": ("include", "a correction raising the debt", UT),
            "КорректировкаРеализацииУменьшениеЗадолженностиСводно": ("include", "a correction lowering the debt", UT),
            "РеализацияВРозницу": ("exclude", "a retail sale: no dealer", UT),
            "ВозвратОтРозничногоПокупателя": ("exclude", "a retail return: no dealer", UT),
            "РеализацияБезПереходаПраваСобственности": ("exclude", "a shipment before ownership passes", UT),
            "РеализацияТоваровВДругуюОрганизацию": ("exclude", "a sale within the group", UT),
            "ВозвратТоваровМеждуОрганизациями": ("exclude", "a return within the group", UT),
        },
        "collections": {
            "ПоступлениеОплатыОтКлиента": ("include", "a client's payment", UT),
            "ПоступлениеОплатыОтКлиентаПоПлатежнойКарте": ("include", "a client's card payment", UT),
            "ВозвратДенежныхСредствОтПоставщика": ("exclude", "a supplier's refund", UT),
            "ВозвратДенежныхСредствОтПодотчетника": ("exclude", "an employee's refund", UT),
            "ПоступлениеДенежныхСредствИзБанка": ("exclude", "cash drawn from the bank", UT),
            "ПоступлениеДенежныхСредствИзДругойКассы": ("exclude", "a transfer between cash desks", UT),
            "ПоступлениеДенежныхСредствИзКассыККМ": ("exclude", "takings from a till", UT),
            "ПоступлениеДенежныхСредствСДругогоСчета": ("exclude", "a transfer between accounts", UT),
            "ПоступлениеДенежныхСредствПоКредитам": ("exclude", "a loan received", UT),
            "ПоступлениеДенежныхСредствПоЗаймамВыданным": ("exclude", "a loan repaid to the company", UT),
            "ПоступлениеДенежныхСредствОтКонвертацииВалюты": ("exclude", "a currency exchange", UT),
            "ПоступлениеДенежныхСредствИзДругойОрганизации": ("exclude", "money from another group company", UT),
        },
    },
    "accounting": {
        "invoices": {
            "Товары": ("include", "goods sold or returned", BP),
            "Услуги": ("include", "services sold", BP),
            "Оборудование": ("include", "equipment sold or returned", BP),
            "ПродажаКомиссия": ("include", "goods sold on commission", BP),
            "ОтгруженныеТовары": ("include", "a return of goods shipped", BP),
            "СогласованноеИзменение": ("include", "a change agreed with the buyer", BP),
            "ИсправлениеОшибки": ("include", "a corrected error", BP),
            "ИсправлениеСобственнойОшибки": ("include", "a corrected error of the company", BP),
            "ОтгрузкаБезПереходаПраваСобственности": ("exclude", "a shipment before ownership passes", BP),
        },
        "collections": {
            "ОплатаПокупателя": ("include", "a buyer's payment", BP),
            "ВозвратОтПоставщика": ("exclude", "a supplier's refund", BP),
            "ВозвратОтПодотчетногоЛица": ("exclude", "an employee's refund", BP),
            "РозничнаяВыручка": ("exclude", "retail takings: no dealer", BP),
            "ПолучениеНаличныхВБанке": ("exclude", "cash drawn from the bank", BP),
            "РасчетыПоКредитамИЗаймам": ("exclude", "loans", BP),
            "ПолучениеЗайма": ("exclude", "a loan received", BP),
            "ПолучениеКредита": ("exclude", "a credit received", BP),
            "ВозвратЗаймаКонтрагентом": ("exclude", "a loan repaid to the company", BP),
            "ВозвратЗаймаРаботником": ("exclude", "an employee's loan repaid", BP),
            "ЛичныеСредстваПредпринимателя": ("exclude", "the owner's own money", BP),
            "ПереводСДругогоСчета": ("exclude", "a transfer between accounts", BP),
            "ВзносНаличными": ("exclude", "cash paid in", BP),
            "Инкассация": ("exclude", "cash collected from the company's tills", BP),
            "ПриобретениеИностраннойВалюты": ("exclude", "a currency purchase", BP),
            "ПоступленияОтПродажиИностраннойВалюты": ("exclude", "a currency sale", BP),
            "ПоступленияОтПродажПоПлатежнымКартамИБанковскимКредитам": ("exclude", "retail card acquiring", BP),
            "ПрочийПриход": ("exclude", "other income", BP),
            "ПрочееПоступление": ("exclude", "other income", BP),
        },
    },
}


def operation_defaults(layout: str) -> dict[str, dict[str, Operation]]:
    """The `operations` setting's default for a layout: stream -> operation kind -> include / exclude."""
    return {stream: {v: r[0] for v, r in values.items()} for stream, values in OPERATIONS[layout].items()}
