"""account_ledger (УТ 11 / 1C:ERP 2): the movements of AccumulationRegister_РасчетыСКлиентами, one entry each;
what БП 3's ledger (ledger_bp.py) shares with it.

Every client document that moves the client's debt writes records of that register when it is posted: a sale, a
return, a correction, a payment, an opening balance (Document_ВводОстатковВзаиморасчетов), a debit or credit
note (Document_КорректировкаЗадолженности). The register's resource Сумма is the debt in the settlement currency
(its dimension Валюта), so a Receipt is a debit of the client's account and an Expense a credit (a storno record
carries a negative Сумма: the sign decides). The register's ХозяйственнаяОперация attribute says what the
movement is (the `ledger_kinds` setting); the recorder (Recorder, Recorder_Type) gives the document's number.

1C keeps no change stamp on register records, and unposting a document (marking it for deletion does) removes
its records: the stream is a snapshot, whose every read sees the whole register, so the engine sends a delete
for the movements of a document unposted since. A record switched off (Active false) stays, as cancelled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Excluded, Partition
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import LedgerEntry, LedgerKind
from mapping.text import clean
from mapping.text import code as text_code

from .declare import Read, composite, flag, guid, number, text, when, whole
from .documents import composite_ref
from .lines import to_local
from .lookups import Lookups, currency_read, rate_read
from .odata import Row, datetime_literal, is_ref
from .streams import OneCStream, code_of, yes

__all__ = ["Ledger", "TradeLedger"]

_NOTES = ("debt_adjustments", "opening_balances", "manual_entries")  # their Комментарий is the note's text


class Ledger(OneCStream):
    """What both layouts' ledgers share: a snapshot of register records keyed `<Recorder>:<LineNumber>`, the
    recorders' numbers, and the entry built from a signed amount (positive: a debit of the client's account)."""

    name = "account_ledger"
    primary_key = ("Recorder", "LineNumber")
    replication_key = None  # no change stamp on register records; unposting removes them: a snapshot
    recorder_roles: tuple[str, ...] = ()

    def movements(self) -> Read:
        raise NotImplementedError

    def where(self) -> str | None:
        """The $filter of the records that are a client's (None: every record of the register)."""
        return None

    def recorder_reads(self) -> list[Read]:
        """The documents whose numbers the entries carry: the invoices' and collections' sets, and the notes'."""
        f = self.flavour
        reads = [
            Read(f.sets[role], (*guid("Ref_Key"), *text("Number", *(("Комментарий",) if role in _NOTES else ()))), role)
            for role in self.recorder_roles
        ]
        return reads + [Read(name, (*guid("Ref_Key"), *text("Number")), "") for name in self.env.collections]

    def lookup_reads(self) -> list[Read]:
        return [currency_read(self.env), rate_read(self.env)]

    def reads(self) -> list[Read]:
        return [self.movements(), *self.recorder_reads(), *self.lookup_reads()]

    def load(self, lookups: Lookups) -> None:
        lookups.currency_codes()
        lookups.load_rates()
        # Recorder set name (as Recorder_Type names it in this base) -> Ref_Key -> its row (Number, Комментарий).
        self.recorders = {self.env.query(read).set: lookups.catalog(read) for read in self.recorder_reads()}

    def key(self, item: Row) -> str:
        return f"{item.get('Recorder')}:{item.get('LineNumber')}"

    def version(self, item: Row) -> str | None:
        return None  # register records carry no DataVersion

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        q = self.env.query(self.movements())
        yield from self.env.odata.pages(q, where=self.where(), order=("Recorder", "LineNumber"))

    def dated_from(self, day: dt.date) -> Iterator[Row]:
        """The client's records dated `day` or later: what the code census counts."""
        self.prepare()
        q = self.env.query(self.movements())
        where = f"{q.name('Period')} ge {datetime_literal(day)}"
        client = self.where()
        where = f"{where} and ({client})" if client else where
        for page in self.env.odata.pages(q, where=where, order=("Recorder", "LineNumber")):
            yield from page

    def count(self) -> int | None:
        return self.env.odata.count(self.env.query(self.movements()).set, self.where())

    def fetch(self, keys: Sequence[str]) -> list[Row]:
        self.prepare()
        wanted = set(keys)
        rows = self.env.odata.by_refs(
            self.env.query(self.movements()),
            {k.rsplit(":", 1)[0] for k in keys},
            field="Recorder",
            where=self.where(),
            order=("Recorder", "LineNumber"),
        )
        return [row for row in rows if self.key(row) in wanted]

    # -- mapping ---------------------------------------------------------------------------------
    def recorder_set(self, item: Row) -> str:
        return str(item.get("Recorder_Type") or "").rsplit(".", 1)[-1]

    def erp_kind(self, item: Row) -> str:
        """The record's own operation, or its recorder's document name."""
        return self.recorder_set(item).removeprefix("Document_")

    def signed(self, item: Row) -> Decimal:
        """The record's amount in the settlement currency, positive when it raises the client's debt (census)."""
        raise NotImplementedError

    def entry(
        self, item: Row, account: str, day: dt.date, iso: str, amount: Decimal, local: Decimal, due: dt.date | None
    ) -> LedgerEntry:
        """The entry of a record: `amount` and `local` signed, positive a debit of the client's account."""
        if (local < 0) != (amount < 0) and local and amount:
            raise RecordError("the amount and its local amount have opposite signs", "debit_local")
        raw = self.erp_kind(item)
        if not raw:
            raise RecordError("the movement has neither an operation nor a recorder type", "erp_kind")
        kind = _by_side(self.env.ledger_kinds.get(raw, "other"), debit=amount > 0 or (not amount and local > 0))
        recorder = self.recorders.get(self.recorder_set(item), {}).get(item.get("Recorder") or "")
        number = None if recorder is None else text_code(recorder.get("Number"), "document_no")
        comment = None if recorder is None else clean(recorder.get("Комментарий"), 2000, "description")
        debit, credit = _sides(amount)
        debit_local, credit_local = _sides(local)
        return LedgerEntry(
            account_code=account,
            date=day,
            sequence=None,  # LineNumber orders a recorder's own records only: no order across documents
            kind=kind,
            erp_kind=raw,
            document_no=number,
            description=comment,
            currency=iso,
            rate=self.lookups.rate_on(iso, day),
            debit=debit,
            credit=credit,
            debit_local=debit_local,
            credit_local=credit_local,
            due_date=due,
            balance=None,  # 1C keeps balances per register dimensions or accounts, none per movement
            cancelled=not yes(item, "Active", "cancelled"),
        )

    def day(self, item: Row) -> dt.date:
        day = business_date(item.get("Period"), "date")
        if day is None:
            raise RecordError("the movement has no date (Period)", "date")
        return day


class TradeLedger(Ledger):
    """УТ 11 / ERP 2: AccumulationRegister_РасчетыСКлиентами's records."""

    recorder_roles = ("sales", "returns", "corrections", "debt_adjustments", "opening_balances")

    def movements(self) -> Read:
        fields = (
            *text("Recorder", "Recorder_Type", "RecordType", "ХозяйственнаяОперация"),
            *whole("LineNumber"),
            *flag("Active"),
            *when("Period", "ДатаПлатежа"),
            *guid("АналитикаУчетаПоПартнерам_Key", "Валюта_Key"),
            *number("Сумма", "СуммаРегл"),
        )
        return Read(self.sets["settlements"], fields, "settlements")

    def lookup_reads(self) -> list[Read]:
        e = self.env
        return [
            e.catalog("counterparties", text(self.code("counterparties")), guid("Партнер_Key")),
            e.catalog("settlement_keys", composite("Контрагент"), guid("Партнер_Key")),
            *super().lookup_reads(),
        ]

    def load(self, lookups: Lookups) -> None:
        super().load(lookups)
        reads = self.lookup_reads()
        self.counterparties = lookups.catalog(reads[0])
        self.keys = lookups.catalog(reads[1])
        code = self.code("counterparties")
        self.entity_of: dict[str, str] = {}  # a partner's first legal entity: a key with no Контрагент settles there
        for ref, row in sorted(self.counterparties.items(), key=lambda kv: str(kv[1].get(code))):
            if is_ref(row.get("Партнер_Key")):
                self.entity_of.setdefault(row["Партнер_Key"], ref)

    def erp_kind(self, item: Row) -> str:
        """The movement's operation, or its recorder's document name when the record carries none."""
        return str(item.get("ХозяйственнаяОперация") or "") or super().erp_kind(item)

    def account(self, item: Row) -> str:
        key = self.keys.get(item.get("АналитикаУчетаПоПартнерам_Key") or "")
        if key is None:
            raise RecordError("the settlement key is not in Catalog_КлючиАналитикиУчетаПоПартнерам", "account_code")
        counterparties = self.env.query(self.lookup_reads()[0]).set
        entity = composite_ref(key, "Контрагент", counterparties) or self.entity_of.get(key.get("Партнер_Key") or "")
        found = code_of(self.counterparties, entity, "counterparty", "account_code", self.code("counterparties"))
        if found is None:
            raise RecordError("the settlement key names no legal entity of a partner", "account_code")
        return found

    def sign(self, item: Row) -> int:
        record_type = item.get("RecordType")
        if record_type not in ("Receipt", "Expense"):
            raise RecordError(f"RecordType {str(record_type)[:20]!r} is neither Receipt nor Expense", "debit")
        return 1 if record_type == "Receipt" else -1

    def signed(self, item: Row) -> Decimal:
        return self.sign(item) * fixed(item.get("Сумма"), 2, "Сумма")

    def map(self, item: Row) -> LedgerEntry | Excluded:
        sign = self.sign(item)
        day = self.day(item)
        iso = self.lookups.currency_of(item.get("Валюта_Key"), "currency")
        amount = sign * fixed(item.get("Сумма"), minor_units(iso), "debit")
        local = sign * fixed(item.get("СуммаРегл"), 2, "debit_local")
        if not local and amount:  # a base that leaves СуммаРегл empty: the day's rate, as the documents convert
            local = to_local(amount, self.lookups.rate_on(iso, day))
        due = business_date(item.get("ДатаПлатежа"), "due_date")
        return self.entry(item, self.account(item), day, iso, amount, local, due)


def _by_side(kind: LedgerKind, *, debit: bool) -> LedgerKind:
    """A reading made for one side, met on the other: a payment's record that raises the debt is money given
    back or a payment undone; a note document's debit is a debit note and its credit a credit note."""
    if kind == "collection" and debit:
        return "payment"
    if kind in ("debit_note", "credit_note"):
        return "debit_note" if debit else "credit_note"
    return kind


def _sides(signed: Decimal) -> tuple[Decimal, Decimal]:
    """(debit, credit) of a signed amount: both positive or zero (never -0.00)."""
    size = abs(signed)
    return (size, size * 0) if signed > 0 else (size * 0, size)
