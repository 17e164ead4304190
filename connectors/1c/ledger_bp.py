"""account_ledger (БП 3): the accounting register's records on the receivable accounts (62.01 buyers, 62.02 advances
received, and their currency variants: the `receivable_accounts` setting), one entry each.

Хозрасчетный is a register with correspondence (its dump's AccountingRegisters/Хозрасчетный.xml): a record debits
one account and credits another, for one `Сумма` in the regulated currency. Account 62 is an asset (what buyers
owe), so a record debiting a receivable account is a debit of the buyer's account and one crediting it a credit; a
record between two receivable accounts (an advance set off against a sale) moves nothing on the buyer's account
and is left out by name. The buyer is the record's Контрагенты subconto on that side, which only the virtual table
`RecordsWithExtDimensions` gives (ExtDimension{Dr,Cr}1..3 with their _Type); currency accounts (62.21…) carry the
currency and the amount in it (Валюта{Dr,Cr}, ВалютнаяСумма{Dr,Cr}). Accounting records carry no operation: the
kind is read from the recorder's document name (`ledger_kinds`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.base import Excluded
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import LedgerEntry

from .declare import Read, composite, flag, guid, number, text, when, whole
from .ledger import Ledger
from .lookups import Lookups
from .odata import Row, guid_literal, is_ref
from .streams import code_of

__all__ = ["AccountingLedger"]

_SLOTS = (1, 2, 3)  # the chart's MaxExtDimensionCount


class AccountingLedger(Ledger):
    recorder_roles = ("sales", "returns", "corrections", "debt_adjustments", "opening_balances", "manual_entries")

    def movements(self) -> Read:
        sides = [
            field
            for side in ("Dr", "Cr")
            for field in (
                *guid(f"Account{side}_Key", f"Валюта{side}_Key"),
                *number(f"ВалютнаяСумма{side}"),
                *composite(*(f"ExtDimension{side}{n}" for n in _SLOTS)),
            )
        ]
        fields = (
            *text("Recorder", "Recorder_Type"),
            *whole("LineNumber"),
            *flag("Active"),
            *when("Period"),
            *number("Сумма"),
            *sides,
        )
        return Read(f"{self.sets['ledger']}/RecordsWithExtDimensions", tuple(fields), "ledger")

    def lookup_reads(self) -> list[Read]:
        e = self.env
        return [
            e.catalog("counterparties", text(self.code("counterparties"))),
            e.catalog("chart_of_accounts", text("Code")),
            *super().lookup_reads(),
        ]

    def load(self, lookups: Lookups) -> None:
        super().load(lookups)
        reads = self.lookup_reads()
        self.counterparties = lookups.catalog(reads[0])
        chart = lookups.catalog(reads[1])
        self.accounts = {ref for ref, row in chart.items() if row.get("Code") in self.env.receivable_accounts}
        if not self.accounts:
            raise RecordError(
                f"none of the accounts {', '.join(self.env.receivable_accounts)} is in {self.sets['chart_of_accounts']}"
                " (set receivable_accounts)",
                "account",
            )

    def probe(self) -> None:
        self.prepare()  # check: the receivable accounts exist

    def where(self) -> str:
        q = self.env.query(self.movements())
        refs = sorted(self.accounts)
        return " or ".join(
            f"{q.name(f'Account{side}_Key')} eq {guid_literal(r)}" for side in ("Dr", "Cr") for r in refs
        )

    def side(self, item: Row) -> str | None:
        """ "Dr" when the record debits a receivable account, "Cr" when it credits one, None for both (a move
        between them); a record on neither is not one the read asked for."""
        debit, credit = item.get("AccountDr_Key") in self.accounts, item.get("AccountCr_Key") in self.accounts
        if debit and credit:
            return None
        if not debit and not credit:
            raise RecordError("the record is on no receivable account (receivable_accounts)", "account_code")
        return "Dr" if debit else "Cr"

    def signed(self, item: Row) -> Decimal:
        side = self.side(item)
        amount = fixed(item.get("Сумма"), 2, "Сумма")
        return Decimal("0.00") if side is None else (amount if side == "Dr" else -amount)

    def account(self, item: Row, side: str) -> str:
        counterparties = self.env.query(self.lookup_reads()[0]).set
        for n in _SLOTS:
            kind = str(item.get(f"ExtDimension{side}{n}_Type") or "").rsplit(".", 1)[-1]
            if kind == counterparties:
                found = code_of(
                    self.counterparties,
                    item.get(f"ExtDimension{side}{n}"),
                    "counterparty",
                    "account_code",
                    self.code("counterparties"),
                )
                if found is not None:
                    return found
        raise RecordError(f"the record has no Контрагенты subconto on its {side} side", "account_code")

    def map(self, item: Row) -> LedgerEntry | Excluded:
        side = self.side(item)
        if side is None:
            return Excluded("a move between receivable accounts (an advance set off)")
        sign = 1 if side == "Dr" else -1
        day = self.day(item)
        local = sign * fixed(item.get("Сумма"), 2, "debit_local")
        currency: Any = item.get(f"Валюта{side}_Key")
        if is_ref(currency):  # a currency account: the amount in its currency beside the regulated one
            iso = self.lookups.currency_of(currency, "currency")
            amount = sign * fixed(item.get(f"ВалютнаяСумма{side}"), minor_units(iso), "debit")
        else:
            iso, amount = self.env.local_currency, local
        return self.entry(item, self.account(item, side), day, iso, amount, local, None)  # no payment date kept
