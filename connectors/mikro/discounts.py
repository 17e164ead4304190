"""Discounts: STOK_CARI_ISKONTO_TANIMLARI (percent / amount rules) and customer price lists (fixed prices).

Keys say the source table: "isk:<guid>" for a discount definition, "sfiyat:<guid>:<account>" for a
price of a customer-specific list, one record per account the list is assigned to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.mikro.streams import MikroEnv, MikroStream, bit, guid_key, local_since, stamp
from connectors.sql import for_refs, in_chunks
from mapping.errors import RecordError
from mapping.money import fixed
from mapping.schema import Discount
from mapping.text import clean, code, required_code

__all__ = ["Discounts"]

# isk_iskN_uygulama 2 = an amount discount (Mikro's "tutar iskonto"); the others apply percentages.
AMOUNT_APPLICATION = 2
_DIMENSIONS = ("account", "account_group", "product", "product_group")


def _scope(*values: str | None) -> str:
    return "+".join(name for name, v in zip(_DIMENSIONS, values, strict=True) if v) or "all"


class _Definitions(MikroStream):
    """STOK_CARI_ISKONTO_TANIMLARI: isk_cari_kod is an account code or a customer discount code (the
    account group), isk_stok_kod a stock code or a stock discount code (the product group)."""

    name = "discounts"
    primary_key = ("code",)
    replication_key = "modified"
    prefix = "isk"

    def table(self) -> sa.Table:
        return self.env.tables.STOK_CARI_ISKONTO_TANIMLARI

    def select_rows(self) -> sa.Select[Any]:
        t = self.env.tables
        i, c, s = t.STOK_CARI_ISKONTO_TANIMLARI.c, t.CARI_HESAPLAR.c, t.STOKLAR.c
        return sa.select(
            i.isk_Guid.label("GUID"),
            i.isk_lastup_date.label("LASTUP"),
            i.isk_iptal,
            i.isk_hidden,
            i.isk_isim,
            i.isk_cari_kod,
            i.isk_stok_kod,
            i.isk_isk1_uygulama,
            i.isk_isk1_yuzde,
            c.cari_kod,
            s.sto_kod,
        ).select_from(
            t.STOK_CARI_ISKONTO_TANIMLARI.outerjoin(t.CARI_HESAPLAR, c.cari_kod == i.isk_cari_kod).outerjoin(
                t.STOKLAR, s.sto_kod == i.isk_stok_kod
            )
        )

    def key(self, item: Row[Any]) -> str:
        return f"isk:{guid_key(item.GUID)}"

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return super().fetch([k[4:] for k in keys if k.startswith("isk:")])

    def map(self, item: Row[Any]) -> Discount | None:
        r = item
        if bit(r.isk_iptal, "isk_iptal") or bit(r.isk_hidden, "isk_hidden"):
            return None
        account = code(r.isk_cari_kod, "account_code")
        product = code(r.isk_stok_kod, "product_code")
        is_account = account is not None and r.cari_kod is not None
        is_product = product is not None and r.sto_kod is not None
        dims = (
            account if is_account else None,
            None if is_account else account,
            product if is_product else None,
            None if is_product else product,
        )
        if r.isk_isk1_uygulama is None:
            raise RecordError("missing (NULL isk_isk1_uygulama: an amount or a percentage?)", "kind")
        is_amount = r.isk_isk1_uygulama == AMOUNT_APPLICATION
        # The name (free text, cleaned) is the rule's code: never cut, a longer one is a dead letter.
        return Discount(
            code=required_code(clean(r.isk_isim, field="code") or f"{account or ''}/{product or ''}", "code"),
            scope=_scope(*dims),
            account_code=dims[0],
            account_group_code=dims[1],
            product_code=dims[2],
            product_group_code=dims[3],
            kind="amount" if is_amount else "percent",
            value=fixed(r.isk_isk1_yuzde, 2, "value"),  # an amount in the main currency, or a percentage
            currency=self.env.local_currency if is_amount else None,
        )


class _CustomerPrices(MikroStream):
    """Prices of the lists assigned to accounts through cari_satis_fk, except the general lists."""

    name = "discounts"
    primary_key = ("code",)
    replication_key = "modified"
    prefix = "sfiyat"

    def table(self) -> sa.Table:
        return self.env.tables.STOK_SATIS_FIYAT_LISTELERI

    def where(self) -> sa.ColumnElement[bool]:
        general = sorted(self.env.general_price_lists)
        # NOT IN drops NULLs in SQL: a price of no list is read, to be a dead letter (attach, map).
        number = self.col("listesirano")
        return sa.or_(number.is_(None), number.not_in(general)) if general else sa.true()

    def changed(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        # An account moved onto a list gives the list's prices to that account: its stamp counts too.
        c = self.env.tables.CARI_HESAPLAR.c
        moved = sa.exists().where(
            c.cari_satis_fk == self.col("listesirano"), c.cari_lastup_date >= local_since(since, self.tz)
        )
        return sa.or_(super().changed(since), moved)

    def select_rows(self) -> sa.Select[Any]:
        t = self.env.tables
        f, lst = t.STOK_SATIS_FIYAT_LISTELERI.c, t.STOK_SATIS_FIYAT_LISTE_TANIMLARI.c
        return sa.select(
            f.sfiyat_Guid.label("GUID"),
            f.sfiyat_lastup_date.label("LASTUP"),
            f.sfiyat_iptal,
            f.sfiyat_hidden,
            f.sfiyat_stokkod,
            f.sfiyat_listesirano,
            f.sfiyat_fiyati,
            f.sfiyat_doviz,
            lst.sfl_aciklama,
        ).select_from(
            t.STOK_SATIS_FIYAT_LISTELERI.outerjoin(
                t.STOK_SATIS_FIYAT_LISTE_TANIMLARI, lst.sfl_sirano == f.sfiyat_listesirano
            )
        )

    def holders(self) -> sa.Select[Any]:
        """The accounts a price list is assigned to."""
        c = self.env.tables.CARI_HESAPLAR.c
        stmt = sa.select(c.cari_satis_fk, c.cari_kod, c.cari_lastup_date).where(
            c.cari_iptal == sa.false(), c.cari_hidden == sa.false()
        )
        return stmt.order_by(c.cari_kod)

    def attached(self) -> list[sa.Select[Any]]:
        return [self.holders()]

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[Any, Any]]:
        c = self.env.tables.CARI_HESAPLAR.c
        holders: dict[int, list[Any]] = {}
        for account in for_refs(
            conn,
            self.holders(),
            c.cari_satis_fk,
            [r.sfiyat_listesirano for r in rows if r.sfiyat_listesirano is not None],
        ):
            holders.setdefault(account.cari_satis_fk, []).append(account)
        # A price of no list (NULL sfiyat_listesirano) goes on alone, to be a dead letter: no account holds it.
        return [
            (r, account)
            for r in rows
            for account in ([None] if r.sfiyat_listesirano is None else holders.get(r.sfiyat_listesirano, []))
        ]

    def key(self, item: tuple[Any, Any]) -> str:
        row, account = item
        return f"sfiyat:{guid_key(row.GUID)}:{'' if account is None else account.cari_kod}"

    def cursor(self, item: tuple[Any, Any]) -> dt.datetime | None:
        row, account = item
        held = None if account is None else stamp(account.cari_lastup_date, self.tz)
        return max((s for s in (stamp(row.LASTUP, self.tz), held) if s), default=None)

    def count(self) -> int | None:
        return sum(len(chunk) for chunk in self.read(None))

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        wanted = {k for k in keys if k.startswith("sfiyat:")}
        guids = sorted({k.split(":")[1] for k in wanted})
        items: list[Any] = []
        with self.env.engine.connect() as conn:
            for chunk in in_chunks(guids):
                rows = conn.execute(self._filtered(self.select_rows(), None).where(self.col("Guid").in_(chunk))).all()
                items.extend(item for item in self.attach(conn, rows) if self.key(item) in wanted)
        return items

    def map(self, item: tuple[Any, Any]) -> Discount | None:
        r, account = item
        if bit(r.sfiyat_iptal, "sfiyat_iptal") or bit(r.sfiyat_hidden, "sfiyat_hidden"):
            return None
        if account is None:
            raise RecordError("missing (NULL sfiyat_listesirano: the price is on no list)", "account_code")
        product = required_code(r.sfiyat_stokkod, "product_code")
        account_code = required_code(account.cari_kod, "account_code")
        label = clean(r.sfl_aciklama, field="code") or str(r.sfiyat_listesirano)
        return Discount(
            code=required_code(f"{label}:{product}:{account_code}", "code"),
            scope=_scope(account_code, None, product, None),
            account_code=account_code,
            product_code=product,
            kind="fixed_price",
            value=fixed(r.sfiyat_fiyati, 4, "value"),
            currency=self.env.currency(r.sfiyat_doviz, "currency"),
        )


class Discounts(MikroStream):
    """Discount definitions and customer-specific prices, as one stream."""

    name = "discounts"
    primary_key = ("code",)
    replication_key = "modified"
    prefix = "isk"

    def __init__(self, env: MikroEnv) -> None:
        super().__init__(env)
        self.parts: tuple[_Definitions, _CustomerPrices] = (_Definitions(env), _CustomerPrices(env))

    def table(self) -> sa.Table:
        return self.env.tables.STOK_CARI_ISKONTO_TANIMLARI

    def statements(self) -> list[sa.Select[Any]]:
        return [stmt for part in self.parts for stmt in part.statements()]

    def _part(self, item: Any) -> MikroStream:
        return self.parts[1] if type(item) is tuple else self.parts[0]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        for part in self.parts:
            yield from part.read(since)

    def key(self, item: Any) -> str:
        return self._part(item).key(item)

    def cursor(self, item: Any) -> dt.datetime | None:
        return self._part(item).cursor(item)

    def map(self, item: Any) -> Discount | None:
        return self._part(item).map(item)  # type: ignore[return-value]

    def raw(self, item: Any) -> dict[str, Any]:
        if type(item) is tuple:
            row, account = item
            return {"price": dict(row._mapping), "account": dict(account._mapping)}
        return dict(item._mapping)

    def count(self) -> int | None:
        return sum(part.count() or 0 for part in self.parts)

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return [item for part in self.parts for item in part.fetch(keys)]
