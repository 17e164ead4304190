"""The emulator's picture of a configuration: the sets УТ 11 (also ERP 2) and БП 3 publish, with the fields a
site fills (each must be in the configuration's vendor metadata: Infobase.define refuses any other),
1C's codes for the scenario's currencies and units, and references to scenario objects."""

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
    "DOCUMENT_TYPE",
    "OKEI",
    "ORDER_STATUSES",
    "RUSSIAN_UNITS",
    "UNDEFINED_TYPE",
    "VAT_CODES",
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
VAT_CODES = {0: "НДС0", 10: "НДС10", 18: "НДС18", 20: "НДС20"}  # the scenario's rates as СтавкиНДС values
VAT_KINDS = {0: "Нулевая", 10: "Пониженная", 20: "Общая"}  # БП items: ВидыСтавокНДС
CATALOG_TYPE = "StandardODATA.Catalog_{}"
DOCUMENT_TYPE = "StandardODATA.Document_{}"
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
        self.operation_field = "ВидОперации" if self.bp else "ХозяйственнаяОперация"
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
_CATALOG = (*_OBJECT, "Description")
_DOCUMENT = (*_OBJECT, "Number", "Date", "Posted", "Контрагент_Key", "СуммаДокумента")
_CONTACTS = ("Ref_Key", "LineNumber", "Тип", "Вид_Key", "Представление", "Страна", "Город")
_ITEM = (*_CATALOG, "Code", "IsFolder", "Parent_Key", "НаименованиеПолное", "Артикул", "ЕдиницаИзмерения_Key")


def define_sets(base: Infobase, bp: bool) -> None:
    d = base.define
    d("Catalog_Валюты", (*_CATALOG, "Code", "НаименованиеПолное"))
    d("InformationRegister_КурсыВалют", ("Period", "Валюта_Key", "Курс", "Кратность"))
    d("Catalog_Пользователи", _CATALOG)
    d("Catalog_СтраныМира", (*_CATALOG, "Code", "КодАльфа2"))
    d("Catalog_ВидыНоменклатуры", _CATALOG)
    d("Catalog_Контрагенты_КонтактнаяИнформация", _CONTACTS)
    if bp:
        _accounting(base)
    else:
        _trade(base)


def _accounting(base: Infobase) -> None:
    d = base.define
    d("Catalog_Склады", (*_CATALOG, "Code", "IsFolder", "Parent_Key"))
    counterparty = ("Code", "IsFolder", "Parent_Key", "НаименованиеПолное", "ИНН", "КПП", "СтранаРегистрации_Key")
    d(
        "Catalog_Контрагенты",
        (*_CATALOG, *counterparty, "ЮридическоеФизическоеЛицо"),
        ["Catalog_Контрагенты_КонтактнаяИнформация"],
    )
    contract = ("Code", "Owner_Key", "ВидДоговора", "ВалютаВзаиморасчетов_Key", "ТипЦен_Key")
    d("Catalog_ДоговорыКонтрагентов", (*_CATALOG, *contract))
    d("Catalog_Номенклатура", (*_ITEM, "ВидНоменклатуры_Key", "Услуга", "ВидСтавкиНДС"))
    d("Catalog_КлассификаторЕдиницИзмерения", (*_CATALOG, "Code"))
    d("Catalog_ТипыЦенНоменклатуры", (*_CATALOG, "Code", "ВалютаЦены_Key", "ЦенаВключаетНДС"))
    record = ("Recorder", "Recorder_Type", "Period", "LineNumber", "Active")
    d(
        "InformationRegister_ЦеныНоменклатуры_RecordType",
        (*record, "ТипЦен_Key", "Номенклатура_Key", "Цена", "Валюта_Key"),
    )
    d("ChartOfAccounts_Хозрасчетный", (*_CATALOG, "Code"))
    subconto = ("ExtDimension1", "ExtDimension1_Type", "ExtDimension2", "ExtDimension2_Type")
    d("AccountingRegister_Хозрасчетный/Balance", ("Account_Key", *subconto, "КоличествоBalance", "СуммаBalance"))
    sides = [
        f
        for side in ("Dr", "Cr")
        for f in (
            f"Account{side}_Key",
            f"Валюта{side}_Key",
            f"ВалютнаяСумма{side}",
            *(f"ExtDimension{side}{n}{t}" for n in (1, 2, 3) for t in ("", "_Type")),
        )
    ]
    record = ("Recorder", "Recorder_Type", "Period", "LineNumber", "Active", "Сумма", "Содержание")
    d("AccountingRegister_Хозрасчетный/RecordsWithExtDimensions", (*record, *sides))
    note = (*_DOCUMENT[:6], "Комментарий")
    d("Document_ВводНачальныхОстатков", (*note, "РазделУчета"))
    d("Document_ОперацияБух", (*note, "СуммаОперации", "Содержание"))
    d("Document_КорректировкаДолга", (*note, "ВидОперации", "КонтрагентДебитор_Key"))
    header = (*_DOCUMENT, "ДоговорКонтрагента_Key", "ВалютаДокумента_Key", "Склад_Key", "Ответственный_Key")
    header = (*header, "СуммаВключаетНДС")
    line = ("Ref_Key", "LineNumber", "Номенклатура_Key", "Количество", "Цена", "Сумма", "СтавкаНДС", "СуммаНДС")
    rate = ("КурсВзаиморасчетов", "КратностьВзаиморасчетов")
    before = ("КоличествоДоИзменения", "ЦенаДоИзменения", "СуммаДоИзменения", "СтавкаНДСДоИзменения")
    change = (*line[:2], "Номенклатура", "Номенклатура_Type", *line[3:], *before, "СуммаНДСДоИзменения")
    for name, extra, sections in (
        ("Document_СчетНаОплатуПокупателю", (), {"Товары": (*line, "Содержание", "ПроцентСкидки", "СуммаСкидки")}),
        ("Document_РеализацияТоваровУслуг", ("ВидОперации", *rate), {"Товары": line, "Услуги": (*line, "Содержание")}),
        ("Document_ВозвратТоваровОтПокупателя", ("ВидОперации", "Сделка", "Сделка_Type"), {"Товары": line}),
        (
            "Document_КорректировкаРеализации",
            ("ВидОперации", "ДокументРеализации", "ДокументРеализации_Type"),
            {"Товары": change},
        ),
    ):
        d(name, (*header, *extra), [f"{name}_{s}" for s in sections])
        for section, fields in sections.items():
            d(f"{name}_{section}", fields)
    payment = (*_DOCUMENT[:-2], "Контрагент", "Контрагент_Type", "СуммаДокумента", "ДоговорКонтрагента_Key")
    breakdown = ("Ref_Key", "LineNumber", "ДоговорКонтрагента_Key", "СуммаПлатежа", "Сделка", "Сделка_Type")
    for name in ("Document_ПоступлениеНаРасчетныйСчет", "Document_ПриходныйКассовыйОрдер"):
        d(name, (*payment, "ВалютаДокумента_Key", "ВидОперации"), [f"{name}_РасшифровкаПлатежа"])
        d(f"{name}_РасшифровкаПлатежа", breakdown)


def _trade(base: Infobase) -> None:
    d = base.define
    d("Catalog_Склады", (*_CATALOG, "IsFolder", "Parent_Key"))
    d("Catalog_СтавкиНДС", (*_CATALOG, "ПеречислениеСтавкаНДС", "Ставка"))
    counterparty = ("НаименованиеПолное", "ИНН", "КПП", "СтранаРегистрации_Key", "ЮрФизЛицо", "Партнер_Key")
    d("Catalog_Контрагенты", (*_CATALOG, *counterparty), ["Catalog_Контрагенты_КонтактнаяИнформация"])
    partner = ("Code", "Parent_Key", "Клиент", "Поставщик", "ОсновнойМенеджер_Key", "БизнесРегион_Key")
    d("Catalog_Партнеры", (*_CATALOG, *partner, "ДатаРегистрации"))
    d("Catalog_БизнесРегионы", _CATALOG)
    d("Catalog_ГрафикиОплаты", _CATALOG)
    agreement = ("Партнер_Key", "Контрагент_Key", "Валюта_Key", "ГрафикОплаты_Key", "ВидЦен_Key", "Статус")
    d("Catalog_СоглашенияСКлиентами", (*_CATALOG, *agreement))
    contract = ("Партнер_Key", "Контрагент_Key", "ВалютаВзаиморасчетов_Key", "Статус", "ОграничиватьСуммуЗадолженности")
    d("Catalog_ДоговорыКонтрагентов", (*_CATALOG, *contract, "ДопустимаяСуммаЗадолженности"))
    d("Catalog_КлючиАналитикиУчетаПоПартнерам", (*_CATALOG, "Партнер_Key", "Контрагент", "Контрагент_Type"))
    d("Catalog_ВидыЦен", (*_CATALOG, "ВалютаЦены_Key", "ЦенаВключаетНДС", "ИспользоватьПриПродаже"))
    d("Catalog_Номенклатура", (*_ITEM, "ВидНоменклатуры_Key", "СтавкаНДС_Key", "ТипНоменклатуры", "Марка_Key"))
    d("Catalog_Марки", _CATALOG)
    packaging = ("Code", "Owner", "Owner_Type", "Числитель", "Знаменатель", "ЕдиницаИзмерения_Key")
    d("Catalog_УпаковкиЕдиницыИзмерения", (*_CATALOG, *packaging))
    d(
        "InformationRegister_ШтрихкодыНоменклатуры",
        ("Штрихкод", "Номенклатура_Key", "Характеристика_Key", "Упаковка_Key"),
    )
    record = ("Recorder", "Recorder_Type", "Period", "LineNumber", "Active")
    price = ("ВидЦены_Key", "Номенклатура_Key", "Характеристика_Key", "Упаковка_Key", "Цена", "Валюта_Key")
    d("InformationRegister_ЦеныНоменклатуры_RecordType", (*record, *price))
    stock = ("Номенклатура_Key", "Характеристика_Key", "Склад_Key", "ВНаличииBalance", "КОтгрузкеBalance")
    d("AccumulationRegister_ТоварыНаСкладах/Balance", stock)
    dimensions = ("Номенклатура_Key", "Характеристика_Key", "Назначение_Key", "Склад_Key", "Помещение_Key", "Серия_Key")
    stock_record = ("RecordType", *dimensions, "ВНаличии", "КОтгрузке", "КонтролироватьОстатки", "Сторно")
    d("AccumulationRegister_ТоварыНаСкладах_RecordType", (*record, *stock_record))
    slip_goods = ("Ref_Key", "LineNumber", *dimensions[:2], "Упаковка_Key", "КоличествоУпаковок", "Количество")
    slip = (*_OBJECT, "Number", "Date", "Posted", "ХозяйственнаяОперация", "Комментарий")
    purchases = "Document_ПриобретениеТоваровУслуг"
    d(purchases, (*slip, "Контрагент_Key", "Партнер_Key", "Склад_Key"), [f"{purchases}_Товары"])
    d(f"{purchases}_Товары", (*slip_goods, "Склад_Key"))
    transfers = "Document_ПеремещениеТоваров"
    d(transfers, (*slip, "СкладОтправитель_Key", "СкладПолучатель_Key"), [f"{transfers}_Товары"])
    d(f"{transfers}_Товары", slip_goods)
    receivable = ("АналитикаУчетаПоПартнерам_Key", "Валюта_Key", "СуммаBalance")
    d("AccumulationRegister_РасчетыСКлиентами/Balance", receivable)
    movement = ("Recorder", "Recorder_Type", "Period", "LineNumber", "Active", "RecordType", *receivable[:2])
    attributes = ("ХозяйственнаяОперация", "ДатаРегистратора", "ДатаПлатежа", "СуммаРегл", "ВалютаДокумента_Key")
    d(
        "AccumulationRegister_РасчетыСКлиентами_RecordType",
        (*movement, "ОбъектРасчетов_Key", "Сумма", *attributes, "Сторно"),
    )
    note = (*_DOCUMENT[:6], "ХозяйственнаяОперация", "Комментарий")
    debt = ("Ref_Key", "LineNumber", "Партнер_Key", "ВалютаВзаиморасчетов_Key", "Сумма", "ДатаПлатежа")
    payee = ("Контрагент", "Контрагент_Type")
    for name, extra, section, line in (
        ("Document_ВводОстатковВзаиморасчетов", (), "РасчетыСПартнерами", (*debt, *payee, "СуммаРегл")),
        ("Document_КорректировкаЗадолженности", (*payee, "ЭтоНачисление"), "Задолженность", debt),
    ):
        d(name, (*note, *extra), [f"{name}_{section}"])
        d(f"{name}_{section}", line)
    header = (*_DOCUMENT, "Партнер_Key", "Валюта_Key", "Склад_Key", "Менеджер_Key", "ЦенаВключаетНДС")
    header = (*header, "ХозяйственнаяОперация")
    goods = ("Ref_Key", "LineNumber", "Номенклатура_Key", "Характеристика_Key", "Упаковка_Key", "КоличествоУпаковок")
    money = ("Количество", "Цена", "Сумма", "СтавкаНДС_Key", "СуммаНДС", "СуммаСНДС")
    discounts = ("ПроцентРучнойСкидки", "СуммаРучнойСкидки", "СуммаАвтоматическойСкидки", "Склад_Key")
    link = ("ДокументРеализации", "ДокументРеализации_Type")
    for name, extra, section, line in (
        ("Document_ЗаказКлиента", ("Статус", "Соглашение_Key"), "Товары", (*goods, *money, *discounts, "Отменено")),
        (
            "Document_РеализацияТоваровУслуг",
            ("ЗаказКлиента", "ЗаказКлиента_Type"),
            "Товары",
            (*goods, *money, *discounts),
        ),
        ("Document_ВозвратТоваровОтКлиента", link, "Товары", (*goods, *money, *link)),
        (
            "Document_КорректировкаРеализации",
            ("ДокументОснование", "ДокументОснование_Type"),
            "Расхождения",
            (*goods, *money[:1], *money[2:], "Склад_Key"),
        ),
    ):
        d(name, (*header, *extra), [f"{name}_{section}"])
        d(f"{name}_{section}", line)
    payment = (*_DOCUMENT, "Партнер_Key", "Валюта_Key", "ХозяйственнаяОперация")
    breakdown = ("Ref_Key", "LineNumber", "Партнер_Key", "ОснованиеПлатежа", "ОснованиеПлатежа_Type", "Сумма")
    for name in (
        "Document_ПоступлениеБезналичныхДенежныхСредств",
        "Document_ПриходныйКассовыйОрдер",
        "Document_ОперацияПоПлатежнойКарте",
    ):
        d(name, payment, [f"{name}_РасшифровкаПлатежа"])
        d(f"{name}_РасшифровкаПлатежа", breakdown)
