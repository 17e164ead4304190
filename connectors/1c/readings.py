"""The default reading of every code 1C documents carry, and the source that confirms it.

Each is the default of a setting (vat_rates, vat_kinds, operations, order_statuses, currency_codes), so an
integrator who meets a value nobody listed maps it in the config; `dealersync discover --codes` shows
each value found with its reading and this source, or "your settings" when the config changed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from mapping.schema import LedgerKind, MovementKind, OrderStatus

__all__ = [
    "ENUM_VAT",
    "LEDGER_KINDS",
    "MOVEMENT_KINDS",
    "MOVEMENT_SOURCE",
    "MOVEMENT_UNCONFIRMED",
    "OPERATIONS",
    "ORDER_STATUSES",
    "VAT_KINDS",
    "VAT_RATES",
    "Operation",
    "ledger_defaults",
    "movement_defaults",
    "operation_defaults",
]

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

# layout -> stream -> operation kind -> (in the feed or not, why). The values and their meaning are the
# configurations' enumerations (vendor/: ХозяйственныеОперации, ВидыОперацийРеализацияТоваров, ...).
OPERATIONS: Mapping[str, Mapping[str, Mapping[str, tuple[Operation, str]]]] = {
    "trade": {
        "invoices": {
            "РеализацияКлиенту": ("include", "a sale to a client"),
            "РеализацияКлиентуРеглУчет": ("include", "a sale to a client (regulated accounting)"),
            "ВозвратТоваровОтКлиента": ("include", "a client's return"),
            "ВозвратТоваровОтКлиентаПрошлыхПериодов": ("include", "a client's return of an earlier period"),
            "КорректировкаПоСогласованиюСторон": ("include", "a correction agreed with the client"),
            "КорректировкаРеализацииУвеличениеЗадолженностиСводно": ("include", "a correction raising the debt"),
            "КорректировкаРеализацииУменьшениеЗадолженностиСводно": ("include", "a correction lowering the debt"),
            "РеализацияВРозницу": ("exclude", "a retail sale: no dealer"),
            "ВозвратОтРозничногоПокупателя": ("exclude", "a retail return: no dealer"),
            "РеализацияБезПереходаПраваСобственности": ("exclude", "a shipment before ownership passes"),
            "РеализацияТоваровВДругуюОрганизацию": ("exclude", "a sale within the group"),
            "ВозвратТоваровМеждуОрганизациями": ("exclude", "a return within the group"),
        },
        "collections": {
            "ПоступлениеОплатыОтКлиента": ("include", "a client's payment"),
            "ПоступлениеОплатыОтКлиентаПоПлатежнойКарте": ("include", "a client's card payment"),
            "ВозвратДенежныхСредствОтПоставщика": ("exclude", "a supplier's refund"),
            "ВозвратДенежныхСредствОтПодотчетника": ("exclude", "an employee's refund"),
            "ПоступлениеДенежныхСредствИзБанка": ("exclude", "cash drawn from the bank"),
            "ПоступлениеДенежныхСредствИзДругойКассы": ("exclude", "a transfer between cash desks"),
            "ПоступлениеДенежныхСредствИзКассыККМ": ("exclude", "takings from a till"),
            "ПоступлениеДенежныхСредствСДругогоСчета": ("exclude", "a transfer between accounts"),
            "ПоступлениеДенежныхСредствПоКредитам": ("exclude", "a loan received"),
            "ПоступлениеДенежныхСредствПоЗаймамВыданным": ("exclude", "a loan repaid to the company"),
            "ПоступлениеДенежныхСредствОтКонвертацииВалюты": ("exclude", "a currency exchange"),
            "ПоступлениеДенежныхСредствИзДругойОрганизации": ("exclude", "money from another group company"),
        },
    },
    "accounting": {
        "invoices": {
            "Товары": ("include", "goods sold or returned"),
            "Услуги": ("include", "services sold"),
            "Оборудование": ("include", "equipment sold or returned"),
            "ПродажаКомиссия": ("include", "goods sold on commission"),
            "ОтгруженныеТовары": ("include", "a return of goods shipped"),
            "СогласованноеИзменение": ("include", "a change agreed with the buyer"),
            "ИсправлениеОшибки": ("include", "a corrected error"),
            "ИсправлениеСобственнойОшибки": ("include", "a corrected error of the company"),
            "ОтгрузкаБезПереходаПраваСобственности": ("exclude", "a shipment before ownership passes"),
        },
        "collections": {
            "ОплатаПокупателя": ("include", "a buyer's payment"),
            "ВозвратОтПоставщика": ("exclude", "a supplier's refund"),
            "ВозвратОтПодотчетногоЛица": ("exclude", "an employee's refund"),
            "РозничнаяВыручка": ("exclude", "retail takings: no dealer"),
            "ПолучениеНаличныхВБанке": ("exclude", "cash drawn from the bank"),
            "РасчетыПоКредитамИЗаймам": ("exclude", "loans"),
            "ПолучениеЗайма": ("exclude", "a loan received"),
            "ПолучениеКредита": ("exclude", "a credit received"),
            "ВозвратЗаймаКонтрагентом": ("exclude", "a loan repaid to the company"),
            "ВозвратЗаймаРаботником": ("exclude", "an employee's loan repaid"),
            "ЛичныеСредстваПредпринимателя": ("exclude", "the owner's own money"),
            "ПереводСДругогоСчета": ("exclude", "a transfer between accounts"),
            "ВзносНаличными": ("exclude", "cash paid in"),
            "Инкассация": ("exclude", "cash collected from the company's tills"),
            "ПриобретениеИностраннойВалюты": ("exclude", "a currency purchase"),
            "ПоступленияОтПродажиИностраннойВалюты": ("exclude", "a currency sale"),
            "ПоступленияОтПродажПоПлатежнымКартамИБанковскимКредитам": ("exclude", "retail card acquiring"),
            "ПрочийПриход": ("exclude", "other income"),
            "ПрочееПоступление": ("exclude", "other income"),
        },
    },
}


def operation_defaults(layout: str) -> dict[str, dict[str, Operation]]:
    """The `operations` setting's default for a layout: stream -> operation kind -> include / exclude."""
    return {stream: {v: r[0] for v, r in values.items()} for stream, values in OPERATIONS[layout].items()}


# account_ledger -> layout -> the raw code -> (the ledger's kind, what ties the code to that meaning). УТ 11 / ERP 2:
# the ХозяйственнаяОперация a РасчетыСКлиентами record carries (Enums.ХозяйственныеОперации, vendor/), or its
# recorder's document name when it has none. БП 3: the recorder's document name (accounting records carry no
# operation). A debit_note / credit_note reading met on the other side reads as the other note, and a collection
# that raises the debt as a payment (ledger._by_side). Values nobody listed are kind "other".
LEDGER_SOURCE = {
    "trade": "УТ 11.5.20.68 dump (vendor/README.md)",
    "accounting": "БП 3.0.83.25 dump (vendor/README.md)",
}
LEDGER_KINDS: Mapping[str, Mapping[str, tuple[LedgerKind, str]]] = {
    "trade": {
        # the operations the invoices and collections streams carry (OPERATIONS above)
        "РеализацияКлиенту": ("invoice", "the invoices stream's sale"),
        "РеализацияКлиентуРеглУчет": ("invoice", "the invoices stream's sale"),
        "КорректировкаПоСогласованиюСторон": ("invoice", "the invoices stream's correction (price difference)"),
        "КорректировкаРеализацииУвеличениеЗадолженностиСводно": ("invoice", "the invoices stream's correction"),
        "КорректировкаРеализацииУменьшениеЗадолженностиСводно": ("invoice", "the invoices stream's correction"),
        "ВозвратТоваровОтКлиента": ("return", "the invoices stream's return"),
        "ВозвратТоваровОтКлиентаПрошлыхПериодов": ("return", "the invoices stream's return"),
        "ПоступлениеОплатыОтКлиента": ("collection", "the collections stream's payment"),
        "ПоступлениеОплатыОтКлиентаПоПлатежнойКарте": ("collection", "the collections stream's card payment"),
        # Document_ВводОстатковВзаиморасчетов (its manager module) and Document_КорректировкаЗадолженности (its
        # object module: ЭтоНачисление, an accrual, or a write-off of the client's debt)
        "ВводОстатковЗадолженностиКлиентов": ("opening", "ВводОстатковВзаиморасчетов: a client's opening debt"),
        "ВводОстатковАвансовКлиентов": ("opening", "ВводОстатковВзаиморасчетов: a client's opening advance"),
        "НачислениеДебиторскойЗадолженности": ("debit_note", "КорректировкаЗадолженности: debt accrued"),
        "СписаниеДебиторскойЗадолженности": ("credit_note", "КорректировкаЗадолженности: debt written off"),
    },
    "accounting": {
        # the sets the invoices and collections streams read (flavours.py)
        "РеализацияТоваровУслуг": ("invoice", "the invoices stream's sale"),
        "КорректировкаРеализации": ("invoice", "the invoices stream's correction"),
        "ВозвратТоваровОтПокупателя": ("return", "the invoices stream's return"),
        "ПоступлениеНаРасчетныйСчет": ("collection", "the collections stream's bank receipt"),
        "ПриходныйКассовыйОрдер": ("collection", "the collections stream's cash receipt"),
        # documents whose RegisterRecords include Хозрасчетный: ВводНачальныхОстатков (РазделУчета
        # РасчетыСПокупателямиИЗаказчиками) and КорректировкаДолга (ВидыОперацийКорректировкаДолга:
        # СписаниеЗадолженности)
        "ВводНачальныхОстатков": ("opening", "ВводНачальныхОстатков: opening balances"),
        "КорректировкаДолга": ("credit_note", "КорректировкаДолга: a debt written off or corrected"),
    },
}
# Readings by the value's name only: no document module read says so.
LEDGER_UNCONFIRMED: Mapping[str, Mapping[str, LedgerKind]] = {
    "trade": {
        "ВозвратОплатыКлиенту": "payment",
        "ВозвратОплатыКлиентуНаПлатежнуюКарту": "payment",
        "СписаниеБезнадежнойЗадолженностиЗаСчетРезервовПоСомнительнымДолгам": "credit_note",
        "ОтражениеПремииКлиентаРетроБонус": "credit_note",
        "ПереоценкаРасчетовСКлиентами": "exchange_difference",
        "КурсовыеРазницыКлиентыПрибыль": "exchange_difference",
        "КурсовыеРазницыКлиентыУбыток": "exchange_difference",
    },
    "accounting": {
        "ОперацияБух": "debit_note",  # a hand-made entry on the account: a note, by its side
        "СписаниеСРасчетногоСчета": "payment",
        "РасходныйКассовыйОрдер": "payment",
        "РегламентнаяОперация": "exchange_difference",  # month-end closing revalues currency settlements
    },
}


def ledger_defaults(layout: str) -> dict[str, LedgerKind]:
    """The `ledger_kinds` setting's default for a layout: raw code -> kind."""
    return {**LEDGER_UNCONFIRMED[layout], **{value: reading[0] for value, reading in LEDGER_KINDS[layout].items()}}


# stock_movements (УТ 11 / ERP 2) -> the recorder document of a ТоварыНаСкладах record -> (the movement's kind, what
# ties the document to it). ТоварыНаСкладах records carry no operation of their own: the kind is read from the
# recorder's document name, the direction from RecordType (Receipt in, Expense out; a negative ВНаличии, a storno,
# the other way). The documents below name ТоварыНаСкладах in their RegisterRecords (the УТ 11.5.20.68 dump's
# Documents/<name>.xml) and their synonym says what they are; a document nobody listed is kind "other".
MOVEMENT_SOURCE = "УТ 11.5.20.68 dump: the document's RegisterRecords and synonym (vendor/README.md)"
MOVEMENT_KINDS: Mapping[str, tuple[MovementKind, str]] = {
    "РеализацияТоваровУслуг": ("sale", "Реализация товаров и услуг"),
    "ВозвратТоваровОтКлиента": ("sale_return", "Возврат товаров от клиента"),
    "ПриобретениеТоваровУслуг": ("purchase", "Приобретение товаров и услуг"),
    "ВозвратТоваровПоставщику": ("purchase_return", "Возврат товаров поставщику"),
    "ПеремещениеТоваров": ("transfer", "Перемещение товаров"),
    "ВнутреннееПотребление": ("consumption", "Внутреннее потребление"),
    "СборкаТоваров": ("production", "Сборка товаров"),
    "ОприходованиеИзлишковТоваров": ("count", "Оприходование излишков товаров"),
    "СписаниеНедостачТоваров": ("count", "Списание недостач товаров"),
    "ВводОстатковТоваров": ("count", "Ввод остатков товаров: an opening quantity"),
}
# Readings by the document's name only: what its posting writes was not read (a retail report, a damage write-off,
# a regrading, a correction may move goods either way or for someone else).
MOVEMENT_UNCONFIRMED: Mapping[str, MovementKind] = {
    "КорректировкаРеализации": "sale",
    "КорректировкаПриобретения": "purchase",
    "ОтчетОРозничныхПродажах": "sale",
    "ОтчетОРозничныхВозвратах": "sale_return",
    "ЧекККМ": "sale",
    "ЧекККМВозврат": "sale_return",
    "ПорчаТоваров": "consumption",
    "ПересортицаТоваров": "count",
    "ПрочееОприходованиеТоваров": "count",
}


def movement_defaults() -> dict[str, MovementKind]:
    """The `movement_kinds` setting's default: recorder document name -> kind."""
    return {**MOVEMENT_UNCONFIRMED, **{value: reading[0] for value, reading in MOVEMENT_KINDS.items()}}
