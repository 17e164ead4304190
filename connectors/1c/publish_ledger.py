"""Settlements with clients in the emulator (УТ 11 / ERP 2): the movements of AccumulationRegister_РасчетыСКлиентами
that posting a client's document writes, the documents that carry the scenario's notes, and the register's
Balance virtual table, summed from the movements as 1C sums it.

What the configuration says (vendor/README.md names the dump; the facts are from its Designer XML):
  * РасчетыСКлиентами is a balance register; its resource Сумма is "the debt in the currency of settlements with
    the client" (dimension Валюта), so a Receipt raises what the client owes and an Expense lowers it; its
    attributes carry the operation (ХозяйственнаяОперация), the payment date (ДатаПлатежа), the amount in the
    regulated currency (СуммаРегл) and the recorder's own currency (ВалютаДокумента);
  * opening balances are Document_ВводОстатковВзаиморасчетов with ХозяйственнаяОперация
    ВводОстатковЗадолженностиКлиентов (its manager module), lines in РасчетыСПартнерами;
  * debit and credit notes are Document_КорректировкаЗадолженности with ХозяйственнаяОперация
    НачислениеДебиторскойЗадолженности (ЭтоНачисление: an accrual) or СписаниеДебиторскойЗадолженности (its object
    module), lines in Задолженность;
  * a document marked for deletion is unposted, and unposting removes its movements.
Settlements are kept in the agreement's currency, which the emulator keeps in roubles: a document in dollars
settles its rouble amount (the document's local total), with its own currency in ВалютаДокумента.

БП 3 keeps the same settlements as accounting records of Хозрасчетный on account 62.01 (a rouble contract: no
currency), read through the virtual table RecordsWithExtDimensions: the buyer, its contract and the document are
the 62 side's subconto 1..3; the other side is revenue (90.01.1), the bank (51) or the cash desk (50.01), and for
the notes the auxiliary account 000 (ВводНачальныхОстатков, РазделУчета РасчетыСПокупателямиИЗаказчиками), other
income 91.01 (ОперацияБух, an entry made by hand: late-payment interest) and other expenses 91.02
(КорректировкаДолга, ВидОперации СписаниеЗадолженности: a rebate written off the debt).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from scenario.facts import Note

from .infobase import EMPTY_DATE, EMPTY_REF, Row, guid
from .layout import CATALOG_TYPE, DOCUMENT_TYPE, UNDEFINED_TYPE, References, as_day

__all__ = ["NOTE_DOCUMENTS", "SETTLEMENTS", "LedgerWriter"]

SETTLEMENTS = "AccumulationRegister_РасчетыСКлиентами_RecordType"
RECORDS = "AccountingRegister_Хозрасчетный/RecordsWithExtDimensions"  # БП 3
RECEIVABLE = "62.01"
# БП: the account on the other side of a document's record (the recorder's set), revenue by default
COUNTER_ACCOUNTS = {
    "Document_ПриходныйКассовыйОрдер": "50.01",
    "Document_ПоступлениеНаРасчетныйСчет": "51",
    "Document_ВводНачальныхОстатков": "000",
    "Document_ОперацияБух": "91.01",
    "Document_КорректировкаДолга": "91.02",
}
REVENUE = "90.01.1"
# note kind -> (document set, ВидОперации / РазделУчета field and value)
BP_NOTES: dict[str, tuple[str, str, str]] = {
    "opening": ("Document_ВводНачальныхОстатков", "РазделУчета", "РасчетыСПокупателямиИЗаказчиками"),
    "debit_note": ("Document_ОперацияБух", "Содержание", ""),  # the text goes here too
    "credit_note": ("Document_КорректировкаДолга", "ВидОперации", "СписаниеЗадолженности"),
}
BALANCE = "AccumulationRegister_РасчетыСКлиентами/Balance"
OPENING = "Document_ВводОстатковВзаиморасчетов"
ADJUSTMENT = "Document_КорректировкаЗадолженности"
# note kind -> (document set, its tabular section, ХозяйственнаяОперация, a Receipt: raises the debt)
NOTE_DOCUMENTS: dict[str, tuple[str, str, str, bool]] = {
    "opening": (OPENING, "РасчетыСПартнерами", "ВводОстатковЗадолженностиКлиентов", True),
    "debit_note": (ADJUSTMENT, "Задолженность", "НачислениеДебиторскойЗадолженности", True),
    "credit_note": (ADJUSTMENT, "Задолженность", "СписаниеДебиторскойЗадолженности", False),
}


class LedgerWriter(References):
    """Writes the settlement movements of posted client documents, and the notes' documents (trade layout only)."""

    def settle(
        self,
        recorder: str,
        set_name: str,
        date: str,
        account: str,
        amount_local: Decimal,
        receipt: bool,
        operation: str,
        document_currency: str,
        due: dt.date | None = None,
    ) -> None:
        """One movement of a posted document: its local amount in the settlement currency (roubles)."""
        if self.bp:
            self._record(recorder, set_name, date, account, amount_local, receipt)
            return
        self.base.add(
            SETTLEMENTS,
            {
                "Recorder": recorder,
                "Recorder_Type": DOCUMENT_TYPE.format(set_name.removeprefix("Document_")),
                "Period": date,
                "LineNumber": 1,  # the emulator's documents settle in one movement each
                "Active": True,
                "RecordType": "Receipt" if receipt else "Expense",
                "АналитикаУчетаПоПартнерам_Key": guid("settlement-key", account),
                "ОбъектРасчетов_Key": guid("settlement-object", recorder),
                "Валюта_Key": self.currency_ref(self.local),
                "Сумма": float(amount_local),
                "СуммаРегл": float(amount_local),
                "ХозяйственнаяОперация": operation,
                "ДатаРегистратора": date,
                "ДатаПлатежа": as_day(due) if due is not None else EMPTY_DATE,
                "ВалютаДокумента_Key": self.currency_ref(document_currency),
                "Сторно": False,
            },
        )
        if self.published:
            self.receivable_balances()

    def _record(self, recorder: str, set_name: str, date: str, account: str, amount: Decimal, debit: bool) -> None:
        """БП: the accounting record of a posted document on 62.01, its subconto the buyer, contract and document."""
        receivable = {
            "Account{}_Key": guid("ledger-account", RECEIVABLE),
            "ExtDimension{}1": self.account_ref(account),
            "ExtDimension{}1_Type": CATALOG_TYPE.format("Контрагенты"),
            "ExtDimension{}2": self.contract_ref(account),
            "ExtDimension{}2_Type": CATALOG_TYPE.format("ДоговорыКонтрагентов"),
            "ExtDimension{}3": recorder,
            "ExtDimension{}3_Type": DOCUMENT_TYPE.format(set_name.removeprefix("Document_")),
        }
        other = {
            "Account{}_Key": guid("ledger-account", COUNTER_ACCOUNTS.get(set_name, REVENUE)),
            **{f"ExtDimension{{}}{n}": "" for n in (1, 2, 3)},
            **{f"ExtDimension{{}}{n}_Type": UNDEFINED_TYPE for n in (1, 2, 3)},
        }
        dr, cr = (receivable, other) if debit else (other, receivable)
        row: Row = {
            "Recorder": recorder,
            "Recorder_Type": DOCUMENT_TYPE.format(set_name.removeprefix("Document_")),
            "Period": date,
            "LineNumber": 1,
            "Active": True,
            "Сумма": float(amount),
            "Содержание": "",
            **{k.format("Dr"): v for k, v in dr.items()},
            **{k.format("Cr"): v for k, v in cr.items()},
        }
        for side in ("Dr", "Cr"):  # a rouble contract: no currency, no currency amount
            row.update({f"Валюта{side}_Key": EMPTY_REF, f"ВалютнаяСумма{side}": 0.0})
        self.base.add(RECORDS, row)

    def unpost(self, recorder: str) -> None:
        """Unposting (or marking for deletion) removes the document's movements."""
        name = RECORDS if self.bp else SETTLEMENTS
        kept = [row for row in self.base.sets[name].rows if row["Recorder"] != recorder]
        self.base.replace_rows(name, kept)
        self.receivable_balances()

    def add_note(self, note: Note) -> None:
        """An opening balance or a debit or credit note: its document (one line) and its movement."""
        if self.bp:
            self._bp_note(note)
            return
        set_name, section, operation, receipt = NOTE_DOCUMENTS[note.kind]
        ref = guid("document", note.number)
        date = as_day(note.date)
        header: Row = {
            "Ref_Key": ref,
            "DeletionMark": False,
            "Number": note.number,
            "Date": date,
            "Posted": True,
            "ХозяйственнаяОперация": operation,
            "Комментарий": note.description,
        }
        line: Row = {
            "Ref_Key": ref,
            "LineNumber": 1,
            "Партнер_Key": guid("partner", note.account_code),
            "ВалютаВзаиморасчетов_Key": self.currency_ref(self.local),
            "Сумма": float(note.amount),
            "ДатаПлатежа": EMPTY_DATE,
        }
        counterparty: Row = {
            "Контрагент": self.account_ref(note.account_code),
            "Контрагент_Type": CATALOG_TYPE.format("Контрагенты"),
        }
        if set_name == ADJUSTMENT:
            header.update(counterparty, ЭтоНачисление=receipt)
        else:
            line.update(counterparty, СуммаРегл=float(note.amount))
        self.base.add(set_name, header)
        self.base.add(f"{set_name}_{section}", line)
        self.settle(ref, set_name, date, note.account_code, note.amount, receipt, operation, self.local)

    def _bp_note(self, note: Note) -> None:
        set_name, field, value = BP_NOTES[note.kind]
        ref = guid("document", note.number)
        header: Row = {
            "Ref_Key": ref,
            "DeletionMark": False,
            "Number": note.number,
            "Date": as_day(note.date),
            "Posted": True,
            "Комментарий": note.description,
            field: value or note.description,
        }
        if set_name == "Document_ОперацияБух":
            header["СуммаОперации"] = float(note.amount)
        elif set_name == "Document_КорректировкаДолга":
            header["КонтрагентДебитор_Key"] = self.account_ref(note.account_code)
        self.base.add(set_name, header)
        self._record(ref, set_name, as_day(note.date), note.account_code, note.amount, note.kind != "credit_note")

    def receivable_balances(self) -> None:
        """РасчетыСКлиентами/Balance: receipts minus expenses of the active movements, per settlement key and
        currency; 1C leaves out a zero balance."""
        if self.bp:
            return
        sums: dict[tuple[str, str], Decimal] = {}
        for row in self.base.sets[SETTLEMENTS].rows:
            if not row["Active"]:
                continue
            key = (row["АналитикаУчетаПоПартнерам_Key"], row["Валюта_Key"])
            amount = Decimal(repr(row["Сумма"]))
            sums[key] = sums.get(key, Decimal(0)) + (amount if row["RecordType"] == "Receipt" else -amount)
        balances: list[Any] = [
            {"АналитикаУчетаПоПартнерам_Key": k, "Валюта_Key": c, "СуммаBalance": float(v)}
            for (k, c), v in sums.items()
            if v
        ]
        self.base.replace_rows(BALANCE, balances)
