"""What differs between the typical configurations, as their metadata has it (vendor/ holds the field lists).

"Trade" layouts (УТ 11, 1C:ERP 2) split the customer into a business partner (Catalog_Партнеры) and its
legal entities (Catalog_Контрагенты, which have no code and no groups), keep credit limits on contracts
(ОграничиватьСуммуЗадолженности), stock and receivables in accumulation registers, packagings and
barcodes, and VAT rates in Catalog_СтавкиНДС. The "accounting" layout (БП 3) has codes and groups on
counterparties, contracts without credit limits, balances in the accounting register Хозрасчетный, no
sales order (an invoice for payment, never posted), no packagings, and VAT rates as the СтавкиНДС
enumeration on every line. Every set name can be replaced with the `sets` setting (by role), every
field with `fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from mapping.schema import CollectionMethod

__all__ = ["FLAVOURS", "Doc", "Flavour", "Section"]

Layout = Literal["trade", "accounting"]


@dataclass(frozen=True)
class Section:
    """A tabular section of goods or services, and which of the money fields the configuration gives it."""

    name: str
    item: str = "Номенклатура_Key"  # БП corrections keep the item as a composite ("Номенклатура" + _Type)
    price: bool = True  # Цена; УТ's correction differences have none
    discounts: tuple[str, ...] = ()  # discount amounts; none: the line's gross is its net
    packaging: bool = False  # УТ: Упаковка_Key and КоличествоУпаковок
    warehouse: bool = False  # a warehouse per line (Склад_Key)
    cancelled: bool = False  # order lines: Отменено
    difference: bool = False  # БП corrections: the values after the change minus those …ДоИзменения


@dataclass(frozen=True)
class Doc:
    """A document set's shape in one configuration."""

    sections: tuple[Section, ...]
    operation: str | None = None  # the operation kind attribute (ВидОперации / ХозяйственнаяОперация)
    original: str | None = None  # a return's composite link to the sale it returns


@dataclass(frozen=True)
class Flavour:
    name: str
    label: str
    layout: Layout
    vendor: str  # the vendor metadata file in vendor/ the defaults were settled against
    sets: Mapping[str, str]  # role -> entity set name
    codes: Mapping[str, str]  # role -> the catalog field the feed's code comes from
    documents: Mapping[str, Doc]  # role -> shape: orders, sales, returns, corrections
    collections: Mapping[str, CollectionMethod]  # incoming payment document set -> method
    currency_field: str  # a document's currency reference
    manager_field: str  # a document's sales rep (a user)
    vat_included_field: str  # header flag: line amounts include VAT
    operation_field: str  # payment documents' operation kind
    payer_field: str  # payment documents' counterparty ("…_Key", or a composite without the suffix)
    settlement_field: str  # РасшифровкаПлатежа: the settled document (composite, with _Type)
    legal_form_field: str  # Catalog_Контрагенты: organisation or person
    individual_forms: frozenset[str]
    line_vat: str  # the VAT rate on lines: the СтавкиНДС enumeration, or a Catalog_СтавкиНДС reference
    orders_posted: bool = True  # False: order documents are never posted (БП's invoice for payment)
    order_status: bool = True  # orders carry Статус (УТ), else they read open

    @property
    def trade(self) -> bool:
        return self.layout == "trade"


_COMMON = {
    "currencies": "Catalog_Валюты",
    "rates": "InformationRegister_КурсыВалют",
    "warehouses": "Catalog_Склады",
    "users": "Catalog_Пользователи",
    "countries": "Catalog_СтраныМира",
    "counterparties": "Catalog_Контрагенты",
    "contracts": "Catalog_ДоговорыКонтрагентов",
    "items": "Catalog_Номенклатура",
    "item_kinds": "Catalog_ВидыНоменклатуры",
    "prices": "InformationRegister_ЦеныНоменклатуры_RecordType",  # subordinate to a recorder: records only here
    "sales": "Document_РеализацияТоваровУслуг",
    "corrections": "Document_КорректировкаРеализации",
}

_UT_LINE = Section(
    "Товары", discounts=("СуммаРучнойСкидки", "СуммаАвтоматическойСкидки"), packaging=True, warehouse=True
)
_UT_PLAIN = Section("Товары", packaging=True)  # УТ returns: no discounts, no line warehouse

_TRADE = Flavour(
    name="ut11",
    label="Управление торговлей 11",
    layout="trade",
    vendor="ut11_11.5.20.68.json",
    sets={
        **_COMMON,
        "vat_rates": "Catalog_СтавкиНДС",
        "partners": "Catalog_Партнеры",
        "regions": "Catalog_БизнесРегионы",
        "payment_schedules": "Catalog_ГрафикиОплаты",
        "agreements": "Catalog_СоглашенияСКлиентами",
        "brands": "Catalog_Марки",
        "units": "Catalog_УпаковкиЕдиницыИзмерения",
        "barcodes": "InformationRegister_ШтрихкодыНоменклатуры",
        "price_types": "Catalog_ВидыЦен",
        "stock": "AccumulationRegister_ТоварыНаСкладах",
        "stock_records": "AccumulationRegister_ТоварыНаСкладах_RecordType",  # its records: the stock movements
        "purchases": "Document_ПриобретениеТоваровУслуг",
        "transfers": "Document_ПеремещениеТоваров",
        "receivables": "AccumulationRegister_РасчетыСКлиентами",
        "settlements": "AccumulationRegister_РасчетыСКлиентами_RecordType",  # its movements: the account ledger
        "debt_adjustments": "Document_КорректировкаЗадолженности",  # debit and credit notes
        "opening_balances": "Document_ВводОстатковВзаиморасчетов",
        "settlement_keys": "Catalog_КлючиАналитикиУчетаПоПартнерам",
        "orders": "Document_ЗаказКлиента",
        "returns": "Document_ВозвратТоваровОтКлиента",
    },
    codes={
        "counterparties": "Ref_Key",  # УТ 11's legal entities have no code
        "items": "Code",
        "warehouses": "Description",
        "item_kinds": "Description",
        "regions": "Description",
        "price_types": "Description",
    },
    documents={
        "orders": Doc((replace(_UT_LINE, cancelled=True),)),
        "sales": Doc((_UT_LINE,), operation="ХозяйственнаяОперация"),
        "returns": Doc((_UT_PLAIN,), operation="ХозяйственнаяОперация", original="ДокументРеализации"),
        # The correction's own differences are in Расхождения (Товары holds the lines as corrected).
        "corrections": Doc(
            (Section("Расхождения", price=False, packaging=True, warehouse=True),), operation="ХозяйственнаяОперация"
        ),
    },
    collections={
        "Document_ПоступлениеБезналичныхДенежныхСредств": "bank_transfer",
        "Document_ПриходныйКассовыйОрдер": "cash",
        "Document_ОперацияПоПлатежнойКарте": "card",
    },
    currency_field="Валюта_Key",
    manager_field="Менеджер_Key",
    vat_included_field="ЦенаВключаетНДС",
    operation_field="ХозяйственнаяОперация",
    payer_field="Контрагент_Key",
    settlement_field="ОснованиеПлатежа",
    legal_form_field="ЮрФизЛицо",
    individual_forms=frozenset({"ФизЛицо", "ИндивидуальныйПредприниматель"}),
    line_vat="СтавкаНДС_Key",
)

_BP_GOODS = Section("Товары")

FLAVOURS: Mapping[str, Flavour] = {
    "ut11": _TRADE,
    # ERP 2 builds on УТ 11: the same objects and fields for everything read here (vendor/erp2_*.json).
    "erp2": replace(_TRADE, name="erp2", label="1C:ERP Управление предприятием 2", vendor="erp2_2.5.17.95.json"),
    "bp3": Flavour(
        name="bp3",
        label="Бухгалтерия предприятия 3",
        layout="accounting",
        vendor="bp3_3.0.83.25.json",
        sets={
            **_COMMON,
            "units": "Catalog_КлассификаторЕдиницИзмерения",
            "price_types": "Catalog_ТипыЦенНоменклатуры",
            "ledger": "AccountingRegister_Хозрасчетный",
            "debt_adjustments": "Document_КорректировкаДолга",  # debit and credit notes
            "opening_balances": "Document_ВводНачальныхОстатков",
            "manual_entries": "Document_ОперацияБух",  # an entry made by hand (a note)
            "chart_of_accounts": "ChartOfAccounts_Хозрасчетный",
            "orders": "Document_СчетНаОплатуПокупателю",
            "returns": "Document_ВозвратТоваровОтПокупателя",
        },
        codes={
            "counterparties": "Code",
            "items": "Code",
            "warehouses": "Code",
            "item_kinds": "Description",  # БП's item kinds have no code
            "price_types": "Code",
        },
        documents={
            "orders": Doc((Section("Товары", discounts=("СуммаСкидки",)),)),
            "sales": Doc((_BP_GOODS, Section("Услуги")), operation="ВидОперации"),
            "returns": Doc((_BP_GOODS,), operation="ВидОперации", original="Сделка"),
            "corrections": Doc((Section("Товары", item="Номенклатура", difference=True),), operation="ВидОперации"),
        },
        collections={
            "Document_ПоступлениеНаРасчетныйСчет": "bank_transfer",
            "Document_ПриходныйКассовыйОрдер": "cash",
        },
        currency_field="ВалютаДокумента_Key",
        manager_field="Ответственный_Key",
        vat_included_field="СуммаВключаетНДС",
        operation_field="ВидОперации",
        payer_field="Контрагент",  # composite in БП: a counterparty or a person
        settlement_field="Сделка",
        legal_form_field="ЮридическоеФизическоеЛицо",
        individual_forms=frozenset({"ФизическоеЛицо"}),
        line_vat="СтавкаНДС",
        orders_posted=False,
        order_status=False,
    ),
}
