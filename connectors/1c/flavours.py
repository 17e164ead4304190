"""What differs between the typical configurations: set names by role, and the field names that differ.

"Trade" layouts (УТ 11, 1C:ERP 2) split the customer into a business partner (Catalog_Партнеры) and its
legal entities (Catalog_Контрагенты), keep credit limits on agreements, stock and receivables in
accumulation registers, packagings and barcodes. The "accounting" layout (БП 3) has contracts instead
of agreements, balances in the accounting register Хозрасчетный, no orders (an invoice for payment,
never posted) and no packagings. Names marked UNCONFIRMED in README.md can be replaced with the `sets`
setting (by role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from mapping.schema import CollectionMethod, OrderStatus

__all__ = ["FLAVOURS", "Flavour"]

Layout = Literal["trade", "accounting"]


@dataclass(frozen=True)
class Flavour:
    name: str
    label: str
    layout: Layout
    sets: Mapping[str, str]  # role -> entity set name
    collections: Mapping[str, CollectionMethod]  # incoming payment document set -> method
    currency_field: str  # a document's currency reference
    manager_field: str  # a document's sales rep (a user)
    vat_included_field: str  # header flag: line Сумма includes VAT
    legal_form_field: str  # Catalog_Контрагенты: organisation or person
    individual_forms: frozenset[str]
    settlement_field: str  # РасшифровкаПлатежа: the settled document (composite, with _Type)
    due_date_field: str | None  # a sale's payment date; None when the configuration keeps none
    order_statuses: Mapping[str, OrderStatus] = field(default_factory=dict)  # empty: orders carry no status
    orders_posted: bool = True  # False: order documents are never posted (БП's invoice for payment)

    @property
    def trade(self) -> bool:
        return self.layout == "trade"


_COMMON = {
    "currencies": "Catalog_Валюты",
    "rates": "InformationRegister_КурсыВалют",
    "vat_rates": "Catalog_СтавкиНДС",
    "warehouses": "Catalog_Склады",
    "users": "Catalog_Пользователи",
    "countries": "Catalog_СтраныМира",
    "counterparties": "Catalog_Контрагенты",
    "items": "Catalog_Номенклатура",
    "item_kinds": "Catalog_ВидыНоменклатуры",
    "prices": "InformationRegister_ЦеныНоменклатуры",
    "sales": "Document_РеализацияТоваровУслуг",
    "corrections": "Document_КорректировкаРеализации",
}

_TRADE = Flavour(
    name="ut11",
    label="Управление торговлей 11",
    layout="trade",
    sets={
        **_COMMON,
        "partners": "Catalog_Партнеры",
        "regions": "Catalog_БизнесРегионы",
        "payment_schedules": "Catalog_ГрафикиОплаты",
        "agreements": "Catalog_СоглашенияСКлиентами",
        "brands": "Catalog_Марки",
        "units": "Catalog_УпаковкиЕдиницыИзмерения",
        "barcodes": "InformationRegister_ШтрихкодыНоменклатуры",
        "price_types": "Catalog_ВидыЦен",
        "discounts": "InformationRegister_СкидкиНаценкиНоменклатуры",
        "stock": "AccumulationRegister_ТоварыНаСкладах",
        "receivables": "AccumulationRegister_РасчетыСКлиентами",
        "orders": "Document_ЗаказКлиента",
        "returns": "Document_ВозвратТоваровОтКлиента",
    },
    collections={
        "Document_ПоступлениеБезналичныхДенежныхСредств": "bank_transfer",
        "Document_ПриходныйКассовыйОрдер": "cash",
        "Document_ОперацияПоПлатежнойКарте": "card",
    },
    currency_field="Валюта_Key",
    manager_field="Менеджер_Key",
    vat_included_field="ЦенаВключаетНДС",
    legal_form_field="ЮрФизЛицо",
    individual_forms=frozenset({"ФизЛицо", "ИндивидуальныйПредприниматель"}),
    settlement_field="ДокументРасчетов",
    due_date_field="ДатаПлатежа",
    order_statuses={
        "НеСогласован": "proposal",
        "КОбеспечению": "open",
        "КОтгрузке": "shippable",
        "Закрыт": "closed",
    },
)

FLAVOURS: Mapping[str, Flavour] = {
    "ut11": _TRADE,
    "erp2": replace(_TRADE, name="erp2", label="1C:ERP Управление предприятием 2"),  # ERP 2 builds on УТ 11
    "bp3": Flavour(
        name="bp3",
        label="Бухгалтерия предприятия 3",
        layout="accounting",
        sets={
            **_COMMON,
            "contracts": "Catalog_ДоговорыКонтрагентов",
            "units": "Catalog_КлассификаторЕдиницИзмерения",
            "price_types": "Catalog_ТипыЦенНоменклатуры",
            "ledger": "AccountingRegister_Хозрасчетный",
            "chart_of_accounts": "ChartOfAccounts_Хозрасчетный",
            "orders": "Document_СчетНаОплатуПокупателю",
            "returns": "Document_ВозвратТоваровОтПокупателя",
        },
        collections={
            "Document_ПоступлениеНаРасчетныйСчет": "bank_transfer",
            "Document_ПриходныйКассовыйОрдер": "cash",
            "Document_ОперацияПоПлатежнойКарте": "card",
        },
        currency_field="ВалютаДокумента_Key",
        manager_field="Ответственный_Key",
        vat_included_field="СуммаВключаетНДС",
        legal_form_field="ЮридическоеФизическоеЛицо",
        individual_forms=frozenset({"ФизическоеЛицо"}),
        settlement_field="ДокументРасчетовСКонтрагентом",
        due_date_field=None,
        orders_posted=False,
    ),
}
