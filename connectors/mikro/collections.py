"""Collections: rows of CARI_HESAP_HAREKETLERI on a customer's account that movement_codes read as money received.

Receipts (1) carry one row per payment method; cash slips (2), note and cheque entry slips (3, 4),
incoming wires (34), card payments (54) and the documents closing a customer's promise (52, 53, 93)
are collections too. A promise itself (receipt rows with cha_cinsi 17 / 18) is not money received.
A row that debits the account (cha_tip 0) or is a return (cha_normal_Iade 1) gives money back: the
feed carries it as a negative collection, never as money received.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.mikro import codes
from connectors.mikro.money import DocMoney
from connectors.mikro.movements import Movements, identity, parse_key
from connectors.mikro.readings import reverses
from connectors.mikro.streams import bit
from mapping.dates import required_date
from mapping.errors import RecordError
from mapping.schema import Collection

__all__ = ["Collections", "on_account"]


def on_account(c: Any) -> sa.ColumnElement[bool]:
    """Rows that concern an account: posted to it (cha_cari_cins 0), or naming it in cha_ciro_cari_kodu (a
    document closed to cash or bank). A NULL cha_cari_cins is read too (a dead letter, never dropped)."""
    return sa.or_(c.cha_cari_cins == codes.CARI, c.cha_cari_cins.is_(None), c.cha_ciro_cari_kodu != "")


class Collections(Movements):
    """One record per collection row; the method and sign from the row's reading."""

    name = "collections"
    primary_key = ("number",)

    def columns(self) -> list[Any]:
        return [*super().columns(), self.col("vade")]

    def where(self) -> sa.ColumnElement[bool]:
        c = self.table().c
        return sa.and_(self.env.movements.selects("collection", c), on_account(c))

    def key(self, item: Row[Any]) -> str:
        tip, seri, sira = identity(item)
        return f"{tip}:{seri}:{sira}:{item.cha_satir_no}"

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = {parsed for key in keys if (parsed := parse_key(key)) is not None}
        with self.env.engine.connect() as conn:
            return self.fetch_rows(conn, wanted)

    def map(self, item: Row[Any]) -> Collection | None:
        r = item
        if bit(r.cha_hidden, "cha_hidden"):
            return None
        reading = self.reading(r)
        if reading.kind != "collection":
            raise RecordError(f"movement_codes read {reading.key} as {reading.kind}, not a collection", "method")
        method = reading.detail
        money = DocMoney(self.env, r.cha_d_cins, r.cha_d_kur)
        value = money.doc(r.cha_meblag, "amount")
        local = money.amount_local(value, "amount_local")
        if reverses(r.cha_tip, r.cha_normal_Iade) and value:
            value, local = -value, -local
        number = self.number(r)
        return Collection(
            number=number if not r.cha_satir_no else f"{number}/{r.cha_satir_no + 1}",
            account_code=self.account_code(r),
            date=required_date(r.cha_tarihi, "date"),
            amount=value,
            currency=money.currency,
            rate=money.rate,  # type: ignore[arg-type]  # amount_local raised when it is None
            amount_local=local,
            method=method,  # type: ignore[arg-type]
            # cha_vade is the row's yyyymmdd due date; it only means something for cheques and notes.
            due_date=codes.vade_date(r.cha_vade) if method in ("cheque", "promissory_note") else None,
            cancelled=bit(r.cha_iptal, "cancelled"),
        )
