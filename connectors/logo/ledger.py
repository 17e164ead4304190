"""The account ledger (cari hareket dökümü): every CLFLINE row of a dealer, in Logo's own order.

CLFLINE holds one row per debit (SIGN 0) or credit (SIGN 1) on an account, whatever module posted it:
invoices (MODULENR 4), account slips (5: cash, notes, openings, exchange differences), cheques and
notes (6, 61), bank (7) and cash box (10). AMOUNT is local and always positive; TRNET is the
amount in the row's currency (TRCURR, TRRATE). Logo keeps no running balance on the row.
Due dates come from the PAYTRANS items of the posting's slip, as the invoices and collections
streams read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.logo import codes
from connectors.logo.documents import movements
from connectors.logo.money import Converters
from connectors.logo.streams import LogoEnv, LogoStream
from connectors.logo.tables import LogoTables
from connectors.sql import for_refs
from mapping.dates import business_date, required_date
from mapping.errors import RecordError
from mapping.money import fixed
from mapping.schema import LedgerEntry, LedgerKind
from mapping.text import clean, code, flag, required_code

__all__ = ["AccountLedger", "ledger_kind"]

Item = tuple[Row[Any], list[Row[Any]]]


def ledger_kind(env: LogoEnv, module: Any, trcode: Any, credit: bool) -> tuple[LedgerKind, str | None]:
    """What a CLFLINE row is, and the setting that says so: an invoice of `invoice_kinds`, a collection of
    `collection_codes` (a debit under a collection's code gives money back), else `ledger_kinds`; a pair none
    of them names is 'other' (no setting)."""
    if module == codes.CLFLINE_INVOICE_MODULE and trcode is not None:
        invoice = env.invoice_kinds.get(trcode - codes.CLFLINE_INVOICE_TRCODE_OFFSET)
        if invoice is not None:
            return ("return" if invoice == "return" else "invoice"), "invoice_kinds"
    pair = (module, trcode)
    if pair in env.collection_codes:
        return ("collection" if credit else "payment"), "collection_codes"
    kind = env.ledger_kinds.get(pair)
    return (kind, "ledger_kinds") if kind is not None else ("other", None)


class AccountLedger(LogoStream):
    name = "account_ledger"
    primary_key = ("sequence",)  # CLFLINE.LOGICALREF: unique within a period (the envelope key adds firm and period)
    replication_key = "modified"
    per_period = True

    def __init__(self, env: LogoEnv) -> None:
        super().__init__(env)
        self.converters = Converters(env.currencies, env.local_currency)
        self._kinds: dict[tuple[Any, Any, bool], LedgerKind] = {}  # a handful of code pairs: read once each

    def table(self, t: LogoTables) -> sa.Table:
        return t.CLFLINE

    def select_rows(self, t: LogoTables) -> sa.Select[Any]:
        return movements(t)

    def due_items(self, t: LogoTables) -> sa.Select[Any]:
        """The PAYTRANS items of the slips the rows were posted from (FICHEREF IN ... added per page)."""
        p = t.PAYTRANS.c
        return sa.select(p.MODULENR, p.FICHEREF, p.DATE_, p.PAYMENTTYPE).order_by(p.MODULENR, p.FICHEREF, p.DATE_)

    def related(self, t: LogoTables) -> list[sa.Select[Any]]:
        return [self.due_items(t)]

    def attach(self, conn: sa.Connection, t: LogoTables, rows: Sequence[Row[Any]]) -> list[Item]:
        stmt = self.due_items(t)
        found: dict[tuple[Any, Any], list[Row[Any]]] = {}
        for p in for_refs(conn, stmt, stmt.selected_columns.FICHEREF, [r.SOURCEFREF for r in rows]):
            found.setdefault((p.MODULENR, p.FICHEREF), []).append(p)
        return [(r, found.get((r.MODULENR, r.SOURCEFREF), [])) for r in rows]

    def map(self, item: Item) -> LedgerEntry:
        r, items = item
        # The row unpacks in select_rows' column order (a hot loop: no name lookups).
        ref, _, module, trcode, sign, _, tranno, lineexp, date, clcode, amount_local, trcurr, trrate, trnet = r[:14]
        credit = flag(sign, "credit")
        money = self.converters.get(trcurr, trrate)
        local = money.local_amount(amount_local, "amount_local")
        amount = local if money.local else fixed(trnet, money.places, "amount")
        if local < 0 or amount < 0:
            raise RecordError("negative (Logo keeps AMOUNT and TRNET positive; SIGN gives the side)", "amount")
        kind = self._kinds.get((module, trcode, credit))
        if kind is None:
            kind = self._kinds[module, trcode, credit] = ledger_kind(self.env, module, trcode, credit)[0]
        zero, zero_local = amount * 0, local * 0
        return LedgerEntry(
            account_code=required_code(clcode, "account_code"),
            date=required_date(date, "date"),
            sequence=ref,
            kind=kind,
            erp_kind=f"{module}:{trcode}",
            document_no=code(tranno, "document_no"),
            description=clean(lineexp, 2000, "description"),
            currency=money.currency,
            rate=money.rate,
            debit=zero if credit else amount,
            credit=amount if credit else zero,
            debit_local=zero_local if credit else local,
            credit_local=local if credit else zero_local,
            due_date=self.due(module, items) if items else None,
            cancelled=flag(r.CANCELLED, "cancelled"),
        )

    @staticmethod
    def due(module: Any, items: list[Row[Any]]) -> Any:
        """An invoice's first due date; a cheque's or note's maturity; nothing for money paid at once."""
        if module == codes.PAYTRANS_INVOICE_MODULE:
            dates = [p.DATE_ for p in items if p.DATE_ is not None]
        else:
            dates = [p.DATE_ for p in items if p.PAYMENTTYPE in codes.PAYTRANS_DEFERRED and p.DATE_ is not None]
        return business_date(min(dates), "due_date") if dates else None
