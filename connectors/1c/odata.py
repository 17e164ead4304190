"""Reading 1C's standard OData interface: literals, pages, reads by reference lists, counts, the service document.

Paging is $top/$skip ordered by a key (1C pages no result by itself). Consecutive pages overlap by a
few rows and rows already seen on the previous page are dropped: an object deleted while a read is
under way shifts later rows back by one, and without the overlap the row moving across a page
boundary would be missed, then taken for a delete.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from connectors.base import ConnectorError
from connectors.http import HttpClient, NotFound
from connectors.sql import in_chunks

__all__ = [
    "EMPTY_REF",
    "OData",
    "Row",
    "UnpublishedSet",
    "datetime_literal",
    "guid_literal",
    "is_ref",
    "string_literal",
]

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
Row = dict[str, Any]


class UnpublishedSet(ConnectorError):
    """An entity set the adapter needs is not in the infobase's OData composition (HTTP 404)."""

    def __init__(self, set_name: str) -> None:
        super().__init__(
            f"1C entity set {set_name} is not published: add it to the standard OData interface "
            "(Администрирование > Обслуживание > Настройка стандартного интерфейса OData, or "
            "УстановитьСоставСтандартногоИнтерфейсаOData) or set its name for this configuration in `sets`"
        )
        self.set_name = set_name


def is_ref(value: Any) -> bool:
    """A filled reference: a GUID that is not the all-zero empty reference."""
    return isinstance(value, str) and value != EMPTY_REF and len(value) == 36


def guid_literal(ref: str) -> str:
    return f"guid'{uuid.UUID(ref)}'"  # parsing refuses anything that is not a GUID: nothing is spliced in


def datetime_literal(value: dt.datetime) -> str:
    return f"datetime'{value:%Y-%m-%dT%H:%M:%S}'"


def string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _either(field: str, refs: Sequence[str]) -> str:
    return " or ".join(f"{field} eq {guid_literal(ref)}" for ref in refs)


class OData:
    """One infobase's standard OData interface, over the shared HTTP client (auth, retries, TLS)."""

    def __init__(self, client: HttpClient, page_size: int, refs_per_request: int) -> None:
        self.client = client
        self.page_size = page_size
        self.refs_per_request = refs_per_request
        self.overlap = max(1, min(50, page_size // 10))

    def get(self, set_name: str, params: dict[str, Any], *, retry: bool = True) -> Any:
        try:
            return self.client.get_json(set_name, params, retry=retry)
        except NotFound:
            raise UnpublishedSet(set_name.split("/")[0]) from None

    def pages(
        self,
        set_name: str,
        *,
        select: Iterable[str] | None,
        where: str | None = None,
        order: Sequence[str] = ("Ref_Key",),
    ) -> Iterator[list[Row]]:
        """Every row of a set matching `where`, a page at a time, each row once. `order` must identify a row
        (Ref_Key for objects, the dimensions for a register): it also tells the overlap's repeats apart."""
        params: dict[str, Any] = {"$orderby": ",".join(order), "$top": self.page_size}
        if select is not None:
            params["$select"] = ",".join(select)
        if where:
            params["$filter"] = where
        identity: Callable[[Row], Any] = _identity(order)
        skip = 0
        previous: set[Any] = set()
        while True:
            rows: list[Row] = self.get(set_name, {**params, "$skip": skip})["value"]
            fresh = [row for row in rows if identity(row) not in previous]
            if fresh:
                yield fresh
            if len(rows) < self.page_size:
                return
            previous = {identity(row) for row in rows}
            skip += self.page_size - self.overlap

    def by_refs(
        self,
        set_name: str,
        refs: Iterable[str],
        *,
        select: Iterable[str] | None,
        field: str = "Ref_Key",
        where: str | None = None,
        order: Sequence[str] = ("Ref_Key",),
    ) -> list[Row]:
        """Rows whose `field` is one of `refs`: or-ed guid'…' conditions, a URL-safe number per request."""
        rows: list[Row] = []
        wanted = sorted({ref for ref in refs if is_ref(ref)})
        for chunk in in_chunks(wanted, self.refs_per_request):
            condition = _either(field, chunk)
            condition = f"({condition}) and ({where})" if where else condition
            for page in self.pages(set_name, select=select, where=condition, order=order):
                rows.extend(page)
        return rows

    def whole(self, set_name: str, *, select: Iterable[str] | None, where: str | None = None) -> list[Row]:
        """Every row in one answer: for virtual tables, whose rows have no key to page by and which must
        be one consistent snapshot, and for small rule registers read without $select (optional fields)."""
        params: dict[str, Any] = {}
        if select is not None:
            params["$select"] = ",".join(select)
        if where:
            params["$filter"] = where
        return list(self.get(set_name, params)["value"])

    def count(self, set_name: str, where: str | None = None, *, retry: bool = True) -> int:
        params = {"$filter": where} if where else {}
        try:
            response = self.client.get(f"{set_name}/$count", params, retry=retry)
        except NotFound:
            raise UnpublishedSet(set_name) from None
        try:
            return int(response.text.strip())
        except ValueError:
            raise ConnectorError(f"1C answered {set_name}/$count with something that is not a number") from None

    def published(self) -> set[str]:
        """Names in the service document: the sets the infobase publishes (not checked retried: check() is quick)."""
        document = self.client.get_json("", retry=False)
        return {str(entry.get("name")) for entry in document.get("value", []) if isinstance(entry, dict)}


def _identity(order: Sequence[str]) -> Callable[[Row], Any]:
    if len(order) == 1:
        name = order[0]
        return lambda row: row.get(name)
    return lambda row: tuple(row.get(name) for name in order)
