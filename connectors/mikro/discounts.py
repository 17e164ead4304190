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
from connectors.mikro.streams import MikroEnv, MikroStream, guid_key, local_since, stamp
from connectors.sql import for_refs, in_chunks
from mapping.money import amount, percent, unit_price
from mapping.schema import Discount
from mapping.text import clean, required

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

    def live_keys(self) -> Iterator[Sequence[str]]:
        for chunk in super().live_keys():
            yield [f"isk:{key}" for key in chunk]

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return super().fetch([k[4:] for k in keys if k.startswith("isk:")])

    def map(self, item: Row[Any]) -> Discount | None:
        r = item
        if r.isk_iptal or r.isk_hidden:
            return None
        account = clean(r.isk_cari_kod)
        product = clean(r.isk_stok_kod)
        is_account = account is not None and r.cari_kod is not None
        is_product = product is not None and r.sto_kod is not None
        dims = (
            account if is_account else None,
            None if is_account else account,
            product if is_product else None,
            None if is_product else product,
        )
        is_amount = r.isk_isk1_uygulama == AMOUNT_APPLICATION
        return Discount(
            code=required(clean(r.isk_isim) or f"{account or ''}/{product or ''}", "code", 100),
            scope=_scope(*dims),
            account_code=dims[0],
            account_group_code=dims[1],
            product_code=dims[2],
            product_group_code=dims[3],
            kind="amount" if is_amount else "percent",
            value=(amount(r.isk_isk1_yuzde, "value") if is_amount else percent(r.isk_isk1_yuzde, "value")),  # type: ignore[arg-type]
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
        return self.col("listesirano").not_in(general) if general else sa.true()

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
        for account in for_refs(conn, self.holders(), c.cari_satis_fk, [r.sfiyat_listesirano for r in rows]):
            holders.setdefault(account.cari_satis_fk, []).append(account)
        return [(r, account) for r in rows for account in holders.get(r.sfiyat_listesirano, [])]

    def key(self, item: tuple[Any, Any]) -> str:
        row, account = item
        return f"sfiyat:{guid_key(row.GUID)}:{account.cari_kod}"

    def cursor(self, item: tuple[Any, Any]) -> dt.datetime | None:
        row, account = item
        stamps = [s for s in (stamp(row.LASTUP, self.tz), stamp(account.cari_lastup_date, self.tz)) if s]
        return max(stamps, default=None)

    def live_keys(self) -> Iterator[Sequence[str]]:
        for chunk in self.read(None):
            yield [self.key(item) for item in chunk if self.map(item) is not None]

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
        if r.sfiyat_iptal or r.sfiyat_hidden:
            return None
        product = required(r.sfiyat_stokkod, "product_code", 100)
        label = clean(r.sfl_aciklama) or str(r.sfiyat_listesirano)
        return Discount(
            code=required(f"{label}:{product}:{account.cari_kod}", "code", 100),
            scope=_scope(account.cari_kod, None, product, None),
            account_code=account.cari_kod,
            product_code=product,
            kind="fixed_price",
            value=unit_price(r.sfiyat_fiyati, "value"),  # type: ignore[arg-type]
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

    def live_keys(self) -> Iterator[Sequence[str]]:
        for part in self.parts:
            yield from part.live_keys()

    def count(self) -> int | None:
        return sum(part.count() or 0 for part in self.parts)

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        return [item for part in self.parts for item in part.fetch(keys)]
