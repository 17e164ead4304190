"""A tiny real adapter over a SQLite table, so engine tests need no particular ERP.

`products` is incremental on a `modified` column; `stock_levels` is a snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, delete, insert, select, update

from connectors.base import (
    Adapter,
    AdapterSettings,
    CheckResult,
    Excluded,
    Partition,
    RecordError,
    SourceContext,
    Stream,
)
from mapping.schema import Product, StockLevel

TZ = ZoneInfo("Europe/Istanbul")
metadata = MetaData()
products = Table(
    "toy_products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(20)),
    Column("name", String(100)),
    Column("vat", String(10)),
    Column("modified", String(30)),
    Column("deleted", Integer, default=0),
)
stock = Table(
    "toy_stock",
    metadata,
    Column("product", String(20), primary_key=True),
    Column("warehouse", String(10), primary_key=True),
    Column("qty", String(20)),
)


class ToySettings(AdapterSettings):
    url: str


class ToyProducts(Stream):
    name = "products"
    primary_key = ("id",)
    replication_key = "modified"
    partitionable = True

    def __init__(self, adapter: ToyAdapter) -> None:
        self.adapter = adapter

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        last = 0
        with self.adapter.engine.connect() as conn:
            while True:
                stmt = select(products).where(products.c.id > last).order_by(products.c.id).limit(3)
                if partition is not None:
                    stmt = stmt.where(products.c.id % partition.count == partition.index)
                if since is not None:
                    stmt = stmt.where(products.c.modified >= since.astimezone(TZ).replace(tzinfo=None).isoformat())
                rows = conn.execute(stmt).all()
                if not rows:
                    return
                last = rows[-1].id
                yield rows

    def key(self, item: Any) -> str:
        if item.name == "no key":
            raise ValueError("a key the adapter cannot compute")
        return f"p{item.id}"

    def cursor(self, item: Any) -> dt.datetime | None:
        return dt.datetime.fromisoformat(item.modified).replace(tzinfo=TZ)

    def map(self, item: Any) -> Product | Excluded | None:
        if item.deleted:
            return None
        if item.vat == "service":
            return Excluded("service card")  # a card the feed leaves out on purpose
        if not item.code:
            raise RecordError("missing", "code")
        # "<ff>" stands for a byte the database could not decode (read with surrogateescape, see connectors/sql).
        return Product(code=item.code, name=item.name.replace("<ff>", "\udcff"), vat_rate=Decimal(item.vat))

    def count(self) -> int | None:
        with self.adapter.engine.connect() as conn:
            return len(conn.execute(select(products.c.id)).all())

    def fetch(self, keys: Sequence[str]) -> Iterable[Any]:
        ids = [int(k[1:]) for k in keys]
        with self.adapter.engine.connect() as conn:
            return conn.execute(select(products).where(products.c.id.in_(ids))).all()


class ToyStock(Stream):
    name = "stock_levels"
    primary_key = ("product", "warehouse")

    def __init__(self, adapter: ToyAdapter) -> None:
        self.adapter = adapter

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        with self.adapter.engine.connect() as conn:
            yield conn.execute(select(stock).order_by(stock.c.product, stock.c.warehouse)).all()

    def key(self, item: Any) -> str:
        # Trimmed, as adapters trim CHAR codes: "P001" and "P001 " are two rows of the ERP with one key.
        return f"{item.product.strip()}:{item.warehouse}"

    def map(self, item: Any) -> StockLevel | Excluded:
        if item.qty == "none kept":
            return Excluded("not stocked here")
        return StockLevel(
            product_code=item.product.strip(),
            warehouse_code=item.warehouse,
            on_hand=Decimal(item.qty),
            as_of=self.adapter.as_of,
        )


class ToyAdapter(Adapter):
    kind = "toy"
    Settings = ToySettings

    def __init__(self, context: SourceContext, settings: ToySettings) -> None:
        super().__init__(context, settings)
        self.engine = create_engine(settings.url)
        self.as_of = dt.datetime(2026, 11, 20, 12, tzinfo=TZ)
        metadata.create_all(self.engine)

    def check(self) -> list[CheckResult]:
        return [CheckResult("database", True, "reachable")]

    def streams(self) -> list[Stream]:
        return [ToyProducts(self), ToyStock(self)]

    def close(self) -> None:
        self.engine.dispose()

    # -- editing the toy ERP, as a user of it would -----------------------------------------
    def put(self, id: int, code: str | None, name: str = "Ürün", vat: str = "20", at: str = "2026-11-20T10:00") -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(products).where(products.c.id == id))
            conn.execute(insert(products).values(id=id, code=code, name=name, vat=vat, modified=at, deleted=0))

    def soft_delete(self, id: int, at: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(products).where(products.c.id == id).values(deleted=1, modified=at))

    def hard_delete(self, id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(products).where(products.c.id == id))

    def put_stock(self, product: str, warehouse: str, qty: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(stock).where(stock.c.product == product, stock.c.warehouse == warehouse))
            conn.execute(insert(stock).values(product=product, warehouse=warehouse, qty=qty))

    def drop_stock(self, product: str, warehouse: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(stock).where(stock.c.product == product, stock.c.warehouse == warehouse))


def toy(path: str, name: str = "toy") -> ToyAdapter:
    return ToyAdapter(SourceContext(name=name, timezone=TZ), ToySettings(url=f"sqlite:///{path}"))
