"""The emulator's picture of a configuration: the sets UT 11 (also ERP 2) and BP 3 publish with their
fields, 1C's codes for the scenario's currencies and units, and references to scenario objects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from mapping.schema import Account, Product
from scenario.facts import Scenario

from .infobase import EMPTY_DATE, EMPTY_REF, Infobase, guid

__all__ = [
    "CATALOG_TYPE",
    "CURRENCIES",
    "OKEI",
    "ORDER_STATUSES",
    "RUSSIAN_UNITS",
    "UNDEFINED_TYPE",
    "Configuration",
    "References",
    "as_day",
    "as_number",
    "define_sets",
]

Configuration = Literal["ut11", "erp2", "bp3"]

RUSSIAN_UNITS = {"ADET": "шт", "METRE": "м", "KG": "кг", "KOLİ": "кор"}
OKEI = {"шт": "796", "м": "006", "кг": "166", "кор": "8751"}
CURRENCIES = {"RUB": ("643", "руб."), "USD": ("840", "USD"), "EUR": ("978", "EUR")}
ORDER_STATUSES = {"proposal": "НеСогласован", "open": "КОбеспечению", "shippable": "КОтгрузке", "closed": "Закрыт"}
CATALOG_TYPE = "StandardODATA.Catalog_{}"
UNDEFINED_TYPE = "StandardODATA.Undefined"


def as_number(value: Decimal | None) -> float:
    """A JSON number, as 1C sends Edm.Double."""
    return float(value) if value is not None else 0.0


def as_day(value: dt.date | None) -> str:
    return f"{value.isoformat()}T00:00:00" if value is not None else EMPTY_DATE


class References:
    """GUIDs of scenario objects, local wall times, and what the publishers share."""

    def __init__(self, infobase: Infobase, scenario: Scenario, configuration: Configuration) -> None:
        self.base = infobase
        self.scenario = scenario
        self.bp = configuration == "bp3"
        self.tz = ZoneInfo(scenario.timezone)
        self.local = scenario.local_currency
        self.currency_field = "ВалютаДокумента_Key" if self.bp else "Валюта_Key"
        self.manager_field = "Ответственный_Key" if self.bp else "Менеджер_Key"
        self.accounts: dict[str, Account] = {s.record.code: s.record for s in scenario.accounts}
        self.products: dict[str, Product] = {s.record.code: s.record for s in scenario.products}
        self.published = False
        define_sets(infobase, self.bp)

    def currency_ref(self, iso: str | None) -> str:
        if iso is None:
            return EMPTY_REF
        return guid("currency", "RUB" if iso == self.local else iso)

    def account_ref(self, code: str) -> str:
        return guid("counterparty", code)

    def product_ref(self, code: str) -> str:
        return guid("item", code)

    def warehouse_ref(self, code: str | None) -> str:
        return guid("warehouse", code) if code else EMPTY_REF

    def user_ref(self, code: str | None) -> str:
        return guid("user", code) if code else EMPTY_REF

    def vat_ref(self, rate: Decimal | None) -> str:
        return guid("vat", int(rate)) if rate is not None else EMPTY_REF

    def contract_ref(self, code: str, kind: str = "customer") -> str:
        return guid("contract", code, kind)

    def stamp(self, value: dt.datetime | None) -> str:
        if value is None:
            return EMPTY_DATE
        return value.astimezone(self.tz).replace(tzinfo=None).isoformat(timespec="seconds")


_OBJECT = ("Ref_Key", "DataVersion", "DeletionMark")
_CATALOG = (*_OBJECT, "Code", "Description")
_DOCUMENT = (*_OBJECT, "Number", "Date", "Posted", "Контрагент_Key", "СуммаДокумента", "Склад_Key")


def define_sets(base: Infobase, bp: bool) -> None:
    d = base.define
    d("Catalog_Валюты", (*_CATALOG, "НаименованиеПолное"))
    d("InformationRegister_КурсыВалют", ("Period", "Валюта_Key", "Курс", "Кратность"))
    d("Catalog_СтавкиНДС", (*_CATALOG, "Ставка"))
    d("Catalog_Склады", (*_CATALOG, "IsFolder", "Parent_Key"))
    d("Catalog_Пользователи", (*_OBJECT, "Description"))
    d("Catalog_СтраныМира", (*_CATALOG, "КодАльфа2"))
    d("Catalog_ВидыНоменклатуры", _CATALOG)
    counterparty = (*_CATALOG, "IsFolder", "Parent_Key", "НаименованиеПолное", "ИНН", "КПП", "СтранаРегистрации_Key")
    item = (
        *_CATALOG,
        "IsFolder",
        "Parent_Key",
        "НаименованиеПолное",
        "Артикул",
        "ЕдиницаИзмерения_Key",
        "ВидНоменклатуры_Key",
        "СтавкаНДС_Key",
    )
    contacts = "Catalog_Контрагенты_КонтактнаяИнформация"
    d(contacts, ("Ref_Key", "LineNumber", "Тип", "Вид_Key", "Представление", "Страна", "Город"))
    payment_sets = ["Document_ПриходныйКассовыйОрдер", "Document_ОперацияПоПлатежнойКарте"]
    if bp:
        d(
            "Catalog_Контрагенты",
            (*counterparty, "ЮридическоеФизическоеЛицо", "ОсновнойДоговорКонтрагента_Key"),
            [contacts],
        )
        d(
            "Catalog_ДоговорыКонтрагентов",
            (
                *_CATALOG,
                "Owner_Key",
                "ВидДоговора",
                "ВалютаВзаиморасчетов_Key",
                "ТипЦен_Key",
                "ДопустимаяСуммаЗадолженности",
                "КонтролироватьСуммуЗадолженности",
            ),
        )
        d("Catalog_Номенклатура", (*item, "Услуга"))
        d("Catalog_КлассификаторЕдиницИзмерения", _CATALOG)
        d("Catalog_ТипыЦенНоменклатуры", (*_CATALOG, "ВалютаЦены_Key"))
        d("InformationRegister_ЦеныНоменклатуры", ("Period", "ТипЦен_Key", "Номенклатура_Key", "Цена", "Валюта_Key"))
        d("ChartOfAccounts_Хозрасчетный", _CATALOG)
        d(
            "AccountingRegister_Хозрасчетный/Balance",
            (
                "Account_Key",
                "ExtDimension1",
                "ExtDimension1_Type",
                "ExtDimension2",
                "ExtDimension2_Type",
                "Валюта_Key",
                "КоличествоBalance",
                "СуммаBalance",
            ),
        )
        header = (*_DOCUMENT, "ДоговорКонтрагента_Key", "ВалютаДокумента_Key", "Ответственный_Key", "СуммаВключаетНДС")
        line = ("Ref_Key", "LineNumber", "Номенклатура_Key", "Количество", "Цена", "Сумма", "СтавкаНДС_Key", "СуммаНДС")
        for name, extra, sections in (
            ("Document_СчетНаОплатуПокупателю", (), ("Товары", "Услуги")),
            ("Document_РеализацияТоваровУслуг", (), ("Товары", "Услуги")),
            ("Document_ВозвратТоваровОтПокупателя", ("ДокументРеализации_Key",), ("Товары",)),
            ("Document_КорректировкаРеализации", ("ДокументОснование_Key",), ("Товары",)),
        ):
            d(name, (*header, *extra), [f"{name}_{s}" for s in sections])
            for s in sections:
                d(f"{name}_{s}", line)
        payment_sets.append("Document_ПоступлениеНаРасчетныйСчет")
        payment_header = (*_DOCUMENT[:-1], "ВалютаДокумента_Key")
        breakdown = (
            "Ref_Key",
            "LineNumber",
            "ДоговорКонтрагента_Key",
            "СуммаПлатежа",
            "ДокументРасчетовСКонтрагентом",
            "ДокументРасчетовСКонтрагентом_Type",
        )
    else:
        d("Catalog_Контрагенты", (*counterparty, "ЮрФизЛицо", "Партнер_Key"), [contacts])
        d(
            "Catalog_Партнеры",
            (
                *_CATALOG,
                "Parent_Key",
                "Клиент",
                "Поставщик",
                "ОсновнойМенеджер_Key",
                "БизнесРегион_Key",
                "ДатаРегистрации",
            ),
        )
        d("Catalog_БизнесРегионы", _CATALOG)
        d("Catalog_ГрафикиОплаты", _CATALOG)
        d(
            "Catalog_СоглашенияСКлиентами",
            (
                *_CATALOG,
                "Партнер_Key",
                "Контрагент_Key",
                "Валюта_Key",
                "ГрафикОплаты_Key",
                "ВидЦен_Key",
                "ДопустимаяСуммаЗадолженности",
                "КонтролироватьСуммуЗадолженности",
                "Статус",
            ),
        )
        d("Catalog_ВидыЦен", (*_CATALOG, "ВалютаЦены_Key"))
        d("Catalog_Номенклатура", (*item, "ТипНоменклатуры", "Марка_Key"))
        d("Catalog_Марки", _CATALOG)
        d(
            "Catalog_УпаковкиЕдиницыИзмерения",
            (*_CATALOG, "Owner_Key", "Числитель", "Знаменатель", "ЕдиницаИзмерения_Key"),
        )
        d(
            "InformationRegister_ШтрихкодыНоменклатуры",
            ("Штрихкод", "Номенклатура_Key", "Характеристика_Key", "Упаковка_Key"),
        )
        d(
            "InformationRegister_ЦеныНоменклатуры",
            ("Period", "ВидЦены_Key", "Номенклатура_Key", "Характеристика_Key", "Упаковка_Key", "Цена"),
        )
        d(
            "InformationRegister_СкидкиНаценкиНоменклатуры",
            (
                "Period",
                "ПолучательСкидки",
                "ПолучательСкидки_Type",
                "Номенклатура_Key",
                "КоличествоОт",
                "ПроцентСкидкиНаценки",
                "СуммаСкидки",
                "Валюта_Key",
                "ДатаОкончания",
                "Приоритет",
            ),
        )
        d(
            "AccumulationRegister_ТоварыНаСкладах/Balance",
            (
                "Номенклатура_Key",
                "Характеристика_Key",
                "Склад_Key",
                "ВНаличииBalance",
                "ВРезервеСоСкладаBalance",
                "ВРезервеПодЗаказBalance",
                "КОтгрузкеBalance",
            ),
        )
        d("AccumulationRegister_РасчетыСКлиентами/Balance", ("Контрагент_Key", "Валюта_Key", "СуммаBalance"))
        header = (*_DOCUMENT, "Партнер_Key", "Валюта_Key", "Менеджер_Key", "ЦенаВключаетНДС")
        line = (
            "Ref_Key",
            "LineNumber",
            "Номенклатура_Key",
            "Характеристика_Key",
            "Упаковка_Key",
            "КоличествоУпаковок",
            "Количество",
            "Цена",
            "ПроцентРучнойСкидки",
            "СуммаРучнойСкидки",
            "СуммаАвтоматическойСкидки",
            "Сумма",
            "СтавкаНДС_Key",
            "СуммаНДС",
            "СуммаСНДС",
            "Склад_Key",
        )
        for name, extra, line_extra in (
            ("Document_ЗаказКлиента", ("Статус", "Соглашение_Key"), ("Отменено",)),
            ("Document_РеализацияТоваровУслуг", ("ДатаПлатежа", "ЗаказКлиента_Key"), ()),
            ("Document_ВозвратТоваровОтКлиента", ("ДокументРеализации_Key",), ()),
            ("Document_КорректировкаРеализации", ("ДокументОснование_Key",), ()),
        ):
            d(name, (*header, *extra), [f"{name}_Товары"])
            d(f"{name}_Товары", (*line, *line_extra))
        payment_sets.append("Document_ПоступлениеБезналичныхДенежныхСредств")
        payment_header = (*_DOCUMENT[:-1], "Валюта_Key")
        breakdown = ("Ref_Key", "LineNumber", "Сумма", "ДокументРасчетов", "ДокументРасчетов_Type")
    for name in payment_sets:
        d(name, payment_header, [f"{name}_РасшифровкаПлатежа"])
        d(f"{name}_РасшифровкаПлатежа", breakdown)
