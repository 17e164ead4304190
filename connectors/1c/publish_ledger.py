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
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from scenario.facts import Note

from .infobase import EMPTY_DATE, Row, guid
from .layout import CATALOG_TYPE, DOCUMENT_TYPE, References, as_day

__all__ = ["NOTE_DOCUMENTS", "SETTLEMENTS", "LedgerWriter"]

SETTLEMENTS = "AccumulationRegister_РасчетыСКлиентами_RecordType"
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
            return  # БП keeps settlements on account 62 of the accounting register: not emulated
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

    def unpost(self, recorder: str) -> None:
        """Unposting (or marking for deletion) removes the document's movements."""
        if self.bp:
            return
        kept = [row for row in self.base.sets[SETTLEMENTS].rows if row["Recorder"] != recorder]
        self.base.replace_rows(SETTLEMENTS, kept)
        self.receivable_balances()

    def add_note(self, note: Note) -> None:
        """An opening balance or a debit or credit note: its document (one line) and its movement."""
        if self.bp:
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
