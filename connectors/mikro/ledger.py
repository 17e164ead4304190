"""The account ledger (account_ledger): every row of CARI_HESAP_HAREKETLERI posted to an account, one entry each.

Mikro keeps an account's movements as rows of CARI_HESAP_HAREKETLERI with `cha_cari_cins` 0 and the
account in `cha_kod`: invoices and returns, receipts and slips, opening slips (29), debit and credit
notes (31 / 32, 100 / 101), exchange-difference slips, returned cheques and notes. Its balance is all
of them, debits (`cha_tip` 0) less credits (1), whatever the document type, as risk_limits sums it.
An invoice is one entry (its header row with the document's further rows: a service invoice keeps one
row per service), converted at document level as the invoices stream converts it, so its entry carries
the invoice's `totals_local.total`; every other row is an entry of its own, numbered as the collections
stream numbers it (`/2`, `/3` ... for a document's further rows).

A document closed to a cash box or bank (`cha_cari_cins` 4 / 2, `cha_tpoz` 1, the customer only in
`cha_ciro_cari_kodu`) is read and left out under a named rule: it never touches the account's balance.
Mikro's own statement (fn_CariTutarlar, behind fn_CariFoy) lists such a row with the same amount as debit
and credit, netting to nothing; a ledger entry has one side, and two entries would invent a collection
the collections stream does not carry (README, "account_ledger").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Excluded
from connectors.mikro import codes
from connectors.mikro.collections import on_account
from connectors.mikro.money import DocMoney
from connectors.mikro.movements import DISCOUNTS, VAT, Movements, further_row_changed, identity, parse_key
from connectors.mikro.readings import debits
from connectors.mikro.streams import bit, local_since, stamp
from mapping.dates import required_date
from mapping.errors import RecordError
from mapping.schema import LedgerEntry, Totals
from mapping.text import clean

__all__ = ["CLOSED", "AccountLedger"]

Item = tuple[Row[Any], list[Row[Any]]]  # a row; for an invoice's header, the document's further rows
_ZERO = Decimal("0.00")
_PAPERS = ("cheque", "promissory_note")
# The Excluded rule of rows that concern an account without being posted to it.
CLOSED = "posted to a cash box or bank, the customer only in cha_ciro_cari_kodu: not on the account's balance"


class AccountLedger(Movements):
    """One entry per row on an account (an invoice: per document); kind from ledger_kinds / movement_codes."""

    name = "account_ledger"
    primary_key = ("account_code", "erp_kind", "document_no")

    def columns(self) -> list[Any]:
        c = self.table().c
        return [
            *super().columns(),
            c.cha_aciklama,
            c.cha_vade,
            c.cha_aratoplam,
            sum((c[n] for n in DISCOUNTS[1:]), c[DISCOUNTS[0]]).label("DISCOUNT"),
            sum((c[n] for n in VAT[1:]), c[VAT[0]]).label("VAT"),
            c.cha_RECno,
        ]

    def where(self) -> sa.ColumnElement[bool]:
        c = self.table().c
        # An invoice's further rows are read with its header. A CASE, so that a NULL code or line number keeps the
        # row (a dead letter) where a NOT over NULL would drop it.
        further = sa.and_(c.cha_satir_no > 0, self.env.movements.selects("invoice", c))
        return sa.and_(on_account(c), sa.case((further, 1), else_=0) == 0)

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        at = local_since(since, self.tz)
        h = self.table().c
        return sa.or_(h.cha_lastup_date >= at, sa.and_(h.cha_satir_no == 0, further_row_changed(self.table(), at)))

    def attached(self) -> list[sa.Select[Any]]:
        return [self.sibling_select()]

    def _invoice(self, r: Any) -> bool:
        found = self.env.movements.reading(r.cha_evrak_tip, r.cha_cinsi, r.cha_tip, r.cha_normal_Iade)
        return found is not None and found.kind == "invoice"

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[Item]:
        siblings = self.siblings(conn, [r for r in rows if r.cha_satir_no == 0 and self._invoice(r)])
        return [(r, siblings.get(identity(r), []) if r.cha_satir_no == 0 else []) for r in rows]

    def key(self, item: Item) -> str:
        tip, seri, sira = identity(item[0])
        return f"{tip}:{seri}:{sira}:{item[0].cha_satir_no}"

    def cursor(self, item: Item) -> dt.datetime | None:
        stamps = [stamp(r.LASTUP, self.tz) for r in (item[0], *item[1])]
        return max((s for s in stamps if s is not None), default=None)

    def raw(self, item: Item) -> dict[str, Any]:
        head, others = item
        return {"row": dict(head._mapping), "rows": [dict(r._mapping) for r in others]}

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = {parsed for key in keys if (parsed := parse_key(key)) is not None}
        with self.env.engine.connect() as conn:
            return self.attach(conn, self.fetch_rows(conn, wanted))

    def map(self, item: Item) -> LedgerEntry | Excluded | None:
        head, others = item
        if bit(head.cha_hidden, "cha_hidden"):
            return None
        account = self.account_code(head)  # a NULL cha_cari_cins is a dead letter here
        if head.cha_cari_cins != codes.CARI:
            return Excluded(CLOSED)
        evrak, cinsi, tip, iade = head.cha_evrak_tip, head.cha_cinsi, head.cha_tip, head.cha_normal_Iade
        debit = debits(tip, "debit")  # the side first: a cha_tip that is neither 0 nor 1 is this entry's dead letter
        kind = self.env.ledger.of(evrak, cinsi, tip, iade)
        side = "debit_local" if debit else "credit_local"
        money = DocMoney(self.env, head.cha_d_cins, head.cha_d_kur)
        movement = self.env.movements.reading(evrak, cinsi, tip, iade)
        number = self.number(head)
        if movement is not None and movement.kind == "invoice":
            rows = [head, *(r for r in others if not bit(r.cha_hidden, "cha_hidden"))]
            amount, local = self._invoice_total(rows, money, side)
        else:
            amount = money.doc(head.cha_meblag, side.removesuffix("_local"))
            local = money.amount_local(amount, side)
            number = number if not head.cha_satir_no else f"{number}/{head.cha_satir_no + 1}"
        # cha_vade is a yyyymmdd due date on receipts; it only means something for cheques and notes (on an invoice it
        # is a payment-plan number), as the collections stream reads it.
        paper = movement is not None and movement.kind == "collection" and movement.detail in _PAPERS
        zero, zero_local = amount * 0, local * 0
        return LedgerEntry(
            account_code=account,
            date=required_date(head.cha_tarihi, "date"),
            sequence=head.cha_RECno or None,  # 0 is Mikro's "nothing"; NULL where a release has no cha_RECno
            kind=kind.kind,
            erp_kind=f"{evrak}:{cinsi}:{tip}:{iade}",
            document_no=number,
            description=clean(head.cha_aciklama, 2000, "description"),
            currency=money.currency,
            rate=money.rate,
            debit=amount if debit else zero,
            credit=zero if debit else amount,
            debit_local=local if debit else zero_local,
            credit_local=zero_local if debit else local,
            due_date=codes.vade_date(head.cha_vade) if paper else None,
            balance=None,  # Mikro keeps no running balance on the row
            cancelled=bit(head.cha_iptal, "cancelled"),
        )

    def _invoice_total(self, rows: list[Row[Any]], money: DocMoney, side: str) -> tuple[Decimal, Decimal]:
        """An invoice's total and its local total, summed and converted as the invoices stream does (net, discount
        and VAT once each), so the entry and the invoice agree to the cent."""
        da, field = money.doc, side.removesuffix("_local")
        gross = sum((da(r.cha_aratoplam, field) for r in rows), _ZERO)
        discount = sum((da(r.DISCOUNT, field) for r in rows), _ZERO)
        vat = sum((da(r.VAT, field) for r in rows), _ZERO)
        total = sum((da(r.cha_meblag, field) for r in rows), _ZERO)
        local = money.totals_local(Totals(gross=gross, discount=discount, net=gross - discount, vat=vat, total=total))
        if local is None:
            raise RecordError(f"a {money.currency} invoice without an exchange rate (the rate column holds 0)", side)
        return total, local.total
