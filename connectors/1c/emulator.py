"""A 1C:Enterprise standard OData interface on loopback, serving the scenario (tests, demo, benchmark).

    with OneCEmulator(scenario, configuration="ut11", password="s3cret") as erp:
        erp.url        # http://127.0.0.1:<port>/trade/odata/standard.odata
        erp.apply(change); erp.fail_next(503, "timeout"); erp.unpublish("Catalog_Партнеры")

What it does like 1C: JSON with odata.metadata and a value array ($format=json; 1C's default Atom is
not served), Edm.Int64 values (LineNumber, wide whole numbers) as JSON strings and Edm.Double as
numbers, Cyrillic set and field names percent-encoded in the URL, $filter (see query.py), $select
(HTTP 400 for a field the set does not have), $orderby, $top/$skip, /$count, the /Balance virtual
table of registers, $metadata (EDMX, see metadata.py), basic auth with 401 on bad credentials, 404
with an odata.error body for a set that is not published, and a new DataVersion on every object
write. The data is laid out by publish.Publisher, with only the fields the configuration's vendor
metadata has (vendor/).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

from scenario.facts import Change, Scenario
from scenario.loopback import EmulatorHandler, LoopbackServer, Served

from .infobase import EMPTY_REF, Infobase, Row
from .metadata import edmx
from .publish import Configuration, Publisher
from .query import QueryError, parse_filter, parse_orderby, parse_select, sort_rows
from .vendor_data import vendor

__all__ = ["Fault", "OneCEmulator"]

# An HTTP status, (status, Retry-After), or "timeout": answer only after `timeout_sleep` seconds.
Fault = int | tuple[int, int | float] | str
_VIRTUAL_TABLES = ("Balance", "RecordsWithExtDimensions")


class _Reply:
    def __init__(self, status: int, body: bytes, content_type: str = "application/json;charset=utf-8") -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers: dict[str, str] = {}


_encode = msgspec.json.Encoder().encode  # UTF-8, Cyrillic unescaped, as 1C writes it


def _error(status: int, code: str, message: str) -> _Reply:
    body = {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}}
    return _Reply(status, _encode(body))


class OneCEmulator(Served):
    def __init__(
        self,
        scenario: Scenario,
        *,
        configuration: Configuration = "ut11",
        username: str = "odata.user",
        password: str = "odata-pass",
        publication: str = "trade",
        unpublished: Iterable[str] = (),
        timeout_sleep: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.infobase = Infobase(vendor(configuration)["sets"])
        self.publisher = Publisher(self.infobase, scenario, configuration)
        self.publisher.publish()
        self.configuration = configuration
        self.username = username
        self.password = password
        self.unpublished = set(unpublished)
        self.serve_metadata = True  # False: $metadata fails, as it can on a large configuration
        self.timeout_sleep = timeout_sleep
        self.requests: list[str] = []  # raw request targets (path and query as sent), for assertions
        self._faults: deque[Fault] = deque()
        self._cache: dict[tuple[str, str, str], list[Row]] = {}
        self._cache_revision = -1
        self._prefix = f"/{publication}/odata/standard.odata"
        self.server = LoopbackServer(_Handler, owner=self, host=host, port=port)
        self.url = f"{self.server.origin}{self._prefix}"

    # -- what a test or the demo does to the "ERP" ---------------------------------------------
    def apply(self, change: Change) -> None:
        """Make one of the scenario's later edits, as a 1C user would."""
        with self.infobase.lock:
            if change.kind == "new_invoice" and change.invoice is not None:
                self.publisher.add_invoice(change.invoice)
            elif change.kind == "cancel_invoice" and change.number is not None:
                self.publisher.cancel_invoice(change.number)
            elif change.kind == "new_collection" and change.collection is not None:
                self.publisher.add_collection(change.collection)
            elif change.kind == "discount_value" and change.number is not None:
                self.publisher.set_discount_value(change.number, change.value)  # type: ignore[arg-type]
            else:
                raise ValueError(f"the 1C emulator cannot apply change {change.kind!r}")

    def fail_next(self, *faults: Fault) -> None:
        for fault in faults:
            if isinstance(fault, str) and fault != "timeout":
                raise ValueError(f"unknown fault {fault!r}: use a status, (status, retry_after) or 'timeout'")
        with self.infobase.lock:
            self._faults.extend(faults)

    def unpublish(self, *names: str) -> None:
        """Take objects out of the OData composition (УстановитьСоставСтандартногоИнтерфейсаOData): their
        tabular sections go with them."""
        for name in names:
            self.unpublished.add(name)
            if name in self.infobase.sets:
                self.unpublished.update(self.infobase.sets[name].sections)

    def settings(self) -> dict[str, Any]:
        """The adapter settings of a source reading this emulator (the keys beside `kind: 1c` in a config)."""
        return {
            "url": self.url,
            "auth": {"username": self.username, "password": self.password},
            "configuration": self.configuration,
        }

    # -- request handling (handler threads) ----------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self.infobase.lock:
            return self._faults.popleft() if self._faults else None

    def _authorized(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        same_user = secrets.compare_digest(user.encode(), self.username.encode())
        return same_user and secrets.compare_digest(password.encode(), self.password.encode())

    def answer(self, target: str) -> _Reply:
        split = urlsplit(target)
        path = unquote(split.path)
        if not path.startswith(self._prefix):
            return _error(404, "9", f"Не найдена публикация {path}")
        resource = path[len(self._prefix) :].strip("/")
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        if resource == "$metadata":  # XML only: 1C does not serve $metadata as JSON
            if not self.serve_metadata:
                return _error(500, "-1", "Недостаточно памяти для формирования описания метаданных")
            with self.infobase.lock:
                published = {n.split("/")[0] for n in self.infobase.sets} - self.unpublished
                return _Reply(200, edmx(self.infobase, published), "application/xml;charset=utf-8")
        if params.get("$format", "").lower() not in ("json", "application/json"):
            return _error(406, "6", "Эмулятор отвечает только в формате JSON: добавьте $format=json")
        with self.infobase.lock:
            if not resource:
                return self._service_document()
            try:
                return self._query(resource, params)
            except QueryError as exc:
                return _error(400, "6", f"Ошибка разбора запроса: {exc}")

    def _service_document(self) -> _Reply:
        names = sorted({n.split("/")[0] for n in self.infobase.sets} - self.unpublished)
        body = {"odata.metadata": f"{self.url}/$metadata", "value": [{"name": n, "url": n} for n in names]}
        return _Reply(200, _encode(body))

    def _query(self, resource: str, params: dict[str, str]) -> _Reply:
        parts = resource.split("/")
        count = parts[-1] == "$count"
        if count:
            parts = parts[:-1]
        name = parts[0]
        if len(parts) == 2:
            table, _, arguments = parts[1].partition("(")
            if table not in _VIRTUAL_TABLES or arguments.rstrip(")").strip():
                return _error(400, "6", f"Виртуальная таблица {parts[1]} не поддерживается эмулятором")
            name = f"{name}/{table}"
        elif len(parts) > 2:
            return _error(404, "9", f"Не найден ресурс {resource}")
        entity_set = self.infobase.sets.get(name)
        if entity_set is None or name.split("/")[0] in self.unpublished:
            return _error(
                404, "9", f"Не найден набор сущностей {name}: он не включён в состав стандартного интерфейса OData"
            )
        rows = self._matching(name, params.get("$filter", ""), params.get("$orderby", ""))
        if count:
            return _Reply(200, str(len(rows)).encode(), "text/plain;charset=utf-8")
        skip, top = _integer(params, "$skip", 0), _integer(params, "$top", None)
        page = rows[skip : None if top is None else skip + top]
        select = params.get("$select")
        if select:
            fields = parse_select(select, entity_set.fields)
            if "*" not in fields:
                page = [{f: row.get(f) for f in fields} for row in page]
        else:
            page = [self._full(name, row) for row in page]
        wide = entity_set.wide()
        page = [_wire(wide, row) for row in page] if wide else page
        body = {"odata.metadata": f"{self.url}/$metadata#{name}", "value": page}
        return _Reply(200, _encode(body))

    def _matching(self, name: str, filter_text: str, orderby_text: str) -> list[Row]:
        if self._cache_revision != self.infobase.revision:
            self._cache.clear()
            self._cache_revision = self.infobase.revision
        key = (name, filter_text, orderby_text)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        entity_set = self.infobase.sets[name]
        rows: list[Row] = entity_set.rows
        if filter_text:
            compiled = parse_filter(filter_text, entity_set.fields)
            lookups = compiled.lookups()
            if lookups is not None:  # answer from the index: no scan of the whole set
                index = entity_set.index(lookups[0])
                rows = [row for value in dict.fromkeys(lookups[1]) for row in index.get(value, ())]
            rows = [row for row in rows if compiled.test(row)]
        if orderby_text:
            rows = sort_rows(rows, parse_orderby(orderby_text, entity_set.fields))
        if len(self._cache) > 32:
            self._cache.clear()
        self._cache[key] = rows
        return rows

    def _full(self, name: str, row: Row) -> Row:
        """An object as 1C shows it without $select: navigation links beside references, tabular sections inline."""
        out = dict(row)
        ref = row.get("Ref_Key")
        if ref is None or "(" in name:
            return out
        for field, value in row.items():
            if field.endswith("_Key") and field != "Ref_Key" and value != EMPTY_REF:
                out[f"{field[:-4]}@navigationLinkUrl"] = f"{name}(guid'{ref}')/{field[:-4]}"
        for section, lines in self.infobase.sections_of(name, ref):
            wide = self.infobase.sets[f"{name}_{section}"].wide()
            out[section] = [_wire(wide, {k: v for k, v in line.items() if k != "Ref_Key"}) for line in lines]
        return out


def _wire(wide: tuple[str, ...], row: Row) -> Row:
    """A row as 1C writes it: Edm.Int64 values (LineNumber, КратностьВзаиморасчетов) are JSON strings."""
    return {**row, **{f: str(row[f]) for f in wide if isinstance(row.get(f), int)}}


def _integer(params: dict[str, str], name: str, default: int | None) -> Any:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise QueryError(f"{name} must be a non-negative integer")
    return int(value)


class _Handler(EmulatorHandler):
    """Answers for the OneCEmulator that owns the server; tests read its `requests`."""

    server: LoopbackServer

    def do_GET(self) -> None:
        emulator = self.server.owner
        emulator.requests.append(self.path)
        fault = emulator._next_fault()
        if fault == "timeout":
            time.sleep(emulator.timeout_sleep)
            return self._send(_error(504, "-1", "Превышено время ожидания"))
        if isinstance(fault, int | tuple):
            status, retry_after = fault if isinstance(fault, tuple) else (fault, None)
            reply = _error(status, "-1", "Сервис временно недоступен")
            if retry_after is not None:
                reply.headers["Retry-After"] = str(retry_after)
            return self._send(reply)
        if not emulator._authorized(self.headers.get("Authorization")):
            reply = _Reply(401, b"", "text/plain")
            reply.headers["WWW-Authenticate"] = 'Basic realm="1C:Enterprise"'
            return self._send(reply)
        self._send(emulator.answer(self.path))

    def _send(self, reply: _Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True  # the client gave up (read timeout)
