"""Reading 1C's standard OData interface: literals, pages, reads by reference lists, counts, the service
document, $metadata, and whether a set has a field.

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
from connectors.http import HttpClient, HttpSourceError, NotFound
from connectors.sql import in_chunks

from .declare import Query

__all__ = [
    "EMPTY_REF",
    "OData",
    "Row",
    "UnpublishedSet",
    "as_int",
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


def as_int(value: Any) -> int:
    """An Edm.Int64 as 1C sends it: a JSON string ("10"), or a number for small integer types."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a whole number")
    return int(value) if isinstance(value, int | str) else int(float(value))


def guid_literal(ref: str) -> str:
    return f"guid'{uuid.UUID(ref)}'"  # parsing refuses anything that is not a GUID: nothing is spliced in


def datetime_literal(value: dt.datetime | dt.date) -> str:
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
        self._fields: dict[tuple[str, str], bool] = {}

    def get(self, set_name: str, params: dict[str, Any], *, retry: bool = True) -> Any:
        try:
            return self.client.get_json(set_name, params, retry=retry)
        except NotFound:
            raise UnpublishedSet(set_name.split("/")[0]) from None

    def pages(
        self,
        q: Query,
        *,
        where: str | None = None,
        order: Sequence[str] = ("Ref_Key",),
        select: Sequence[str] = (),
    ) -> Iterator[list[Row]]:
        """Every row of a set matching `where`, a page at a time, each row once. `order` (vendor names) must
        identify a row (Ref_Key for objects, the dimensions for a register): it also tells repeats apart."""
        params: dict[str, Any] = {
            "$orderby": ",".join(q.name(n) for n in order),
            "$top": self.page_size,
            "$select": ",".join(q.select(*select)),
        }
        if where:
            params["$filter"] = where
        identity: Callable[[Row], Any] = _identity(order)
        skip = 0
        previous: set[Any] = set()
        while True:
            rows = q.rows(self.get(q.set, {**params, "$skip": skip})["value"])
            fresh = [row for row in rows if identity(row) not in previous]
            if fresh:
                yield fresh
            if len(rows) < self.page_size:
                return
            previous = {identity(row) for row in rows}
            skip += self.page_size - self.overlap

    def by_refs(
        self,
        q: Query,
        refs: Iterable[str],
        *,
        field: str = "Ref_Key",
        where: str | None = None,
        order: Sequence[str] = ("Ref_Key",),
        select: Sequence[str] = (),
    ) -> list[Row]:
        """Rows whose `field` is one of `refs`: or-ed guid'…' conditions, a URL-safe number per request."""
        rows: list[Row] = []
        wanted = sorted({ref for ref in refs if is_ref(ref)})
        for chunk in in_chunks(wanted, self.refs_per_request):
            condition = _either(q.name(field), chunk)
            condition = f"({condition}) and ({where})" if where else condition
            for page in self.pages(q, where=condition, order=order, select=select):
                rows.extend(page)
        return rows

    def whole(self, q: Query, *, where: str | None = None) -> list[Row]:
        """Every row in one answer: for virtual tables, whose rows have no key to page by and which must be
        one consistent snapshot."""
        params: dict[str, Any] = {"$select": ",".join(q.select())}
        if where:
            params["$filter"] = where
        return q.rows(list(self.get(q.set, params)["value"]))

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
        """Names in the service document: the sets the infobase publishes (not retried: check() is quick)."""
        document = self.client.get_json("", retry=False)
        return {str(entry.get("name")) for entry in document.get("value", []) if isinstance(entry, dict)}

    def metadata(self) -> bytes:
        """The service's $metadata document (EDMX, XML only: 1C does not serve it as JSON)."""
        return bytes(self.client.get("$metadata", {"$format": None}, retry=False).content)

    def has(self, set_name: str, field: str) -> bool:
        """Whether the set has the field (or, comma-separated, all of them): 1C answers HTTP 400 for a $select
        of a property it does not have."""
        key = (set_name, field)
        if key not in self._fields:
            try:
                self.get(set_name, {"$top": 1, "$select": field}, retry=False)
            except HttpSourceError as exc:
                if getattr(exc, "status", None) != 400:
                    raise
                self._fields[key] = False
            else:
                self._fields[key] = True
        return self._fields[key]


def _identity(order: Sequence[str]) -> Callable[[Row], Any]:
    if len(order) == 1:
        name = order[0]
        return lambda row: row.get(name)
    return lambda row: tuple(row.get(name) for name in order)
