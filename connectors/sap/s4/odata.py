"""Reading S/4HANA OData V2 entity sets as the streams declare them (shape.Read): paging, $select, metadata.

Paging: every read orders by the entity's whole key and asks for `$top` rows at `$skip`; when the server pages
smaller it answers with `__next` (a `$skiptoken` link), which is followed until the `$top` window is full.
Ordering by the whole key keeps `$skip` stable while the system changes under the read: a change moves a row's
change time, never its key, and rows only ever enter a change-time filter, so nothing shifts out from under the
next page (new rows may shift one in, which reads a row twice, harmlessly). A partial key would leave the order
of rows that share it to the server, and a page boundary between them could skip or repeat one.

Each service's `$metadata` is read once per source: a declared optional property the service lacks is left out
of `$select` (its feed fields stay empty), a missing required one stops the read naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from connectors.edmx import EdmxError, Metadata, parse
from connectors.http import HttpClient, HttpSourceError
from connectors.sap.s4.shape import Read
from connectors.sap.s4.values import all_of, any_of

__all__ = ["KEYS_PER_FILTER", "AccessLog", "ODataReader"]

# Key lists in one `$filter` (k eq 'a' or k eq 'b' ...): short enough for gateways' URL limits.
KEYS_PER_FILTER = 40


class AccessLog:
    """Which properties the mapping code read from which container (tests: every one must be declared)."""

    def __init__(self) -> None:
        self.used: dict[str, set[str]] = {}

    def rows(self, rows: list[dict[str, Any]], container: str) -> list[dict[str, Any]]:
        return [_Tracked(row, container, self) for row in rows]


class _Tracked(dict[str, Any]):
    """A row that notes every name read from it; expanded rows below it are tracked under their path."""

    def __init__(self, row: Mapping[str, Any], container: str, log: AccessLog) -> None:
        super().__init__(row)
        self._container = container
        self._log = log

    def _note(self, name: str, value: Any) -> Any:
        if not name.startswith("_"):  # the reader's own additions (a receivable's due date) are not properties
            self._log.used.setdefault(self._container, set()).add(name)
        below = f"{self._container}/{name}"
        if isinstance(value, Mapping) and isinstance(value.get("results"), list):
            return {"results": self._log.rows(value["results"], below)}
        if isinstance(value, Mapping) and "__deferred" not in value and "__metadata" in value:
            return _Tracked(value, below, self._log)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._note(name, super().get(name, default))

    def __getitem__(self, name: str) -> Any:
        return self._note(name, super().__getitem__(name))


class ODataReader:
    """Pages through the entity sets of one S/4 system."""

    def __init__(self, client: HttpClient, page_size: int) -> None:
        self.client = client
        self.page_size = page_size
        self.log: AccessLog | None = None  # tests attach one
        self._metadata: dict[str, Metadata] = {}
        self._selects: dict[Read, str] = {}

    def metadata(self, service: str, *, retry: bool = True) -> Metadata:
        """The service's $metadata, read once; HttpSourceError when it cannot be read or is no OData V2 EDMX."""
        found = self._metadata.get(service)
        if found is None:
            response = self.client.get(f"{service}/$metadata", headers={"Accept": "application/xml"}, retry=retry)
            try:
                found = parse(response.content)
            except EdmxError as exc:
                raise HttpSourceError(f"{service}/$metadata: {exc}") from None
            self._metadata[service] = found
        return found

    def select(self, read: Read) -> str:
        """The read's $select on this system: optional properties the service lacks are left out."""
        found = self._selects.get(read)
        if found is None:
            optional, required = read.absent(self.metadata(read.service))
            if required:
                raise HttpSourceError(
                    f"{read.path} lacks {', '.join(required)}, which dealersync reads; dealersync check lists every "
                    f"missing name and the setting ({read.setting}) that points at another entity set"
                )
            found = self._selects[read] = read.select(optional)
        return found

    def pages(self, read: Read, filter: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of rows, in key order."""
        base: dict[str, str] = {"$format": "json", "$orderby": ",".join(read.key), "$top": str(self.page_size),
                                "$select": self.select(read)}  # fmt: skip
        if filter:
            base["$filter"] = filter
        expand = read.expansion()
        if expand:
            base["$expand"] = expand
        skip = 0
        while True:
            received = 0
            url: str = read.path
            params: dict[str, str] | None = {**base, "$skip": str(skip)}
            while True:
                body = self._get(url, params)
                rows = body.get("results")
                if not isinstance(rows, list):
                    raise HttpSourceError(
                        f"{read.path}: the answer holds no result list (is this an OData V2 service?)"
                    )
                if rows:
                    yield rows if self.log is None else self.log.rows(rows, read.path)
                received += len(rows)
                following = body.get("__next")
                if not following or received >= self.page_size:
                    break
                url, params = str(following), None
            if received < self.page_size:
                return
            skip += received

    def count(self, read: Read, filter: str | None = None) -> int | None:
        params = {"$format": "json", "$top": "0", "$inlinecount": "allpages"}
        if filter:
            params["$filter"] = filter
        count = self._get(read.path, params).get("__count")
        return int(count) if isinstance(count, str) and count.isdigit() else None

    def by_keys(
        self, read: Read, key: str, values: Iterable[str], filter: str | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows whose `key` is one of `values`, a few dozen keys per request."""
        wanted = sorted(set(values))
        for start in range(0, len(wanted), KEYS_PER_FILTER):
            yield from self.pages(read, all_of(filter, any_of(key, wanted[start : start + KEYS_PER_FILTER])))

    def _get(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        document = self.client.get_json(url, params)
        body = document.get("d") if isinstance(document, Mapping) else None
        if not isinstance(body, Mapping):
            raise HttpSourceError(f"{self.client.where(url)}: the answer is not OData V2 JSON ({{'d': ...}})")
        return dict(body)
