"""The SAP Gateway half of the S/4HANA emulator: entity sets served as OData V2 services on loopback.

Services live under /sap/opu/odata/sap/<SERVICE>/<EntitySet> and answer V2 JSON
({"d": {"results": [...], "__next": ...}}, __metadata, __deferred navigation, `/Date(ms)/` and
`/Date(ms+0000)/` dates, `PT..H..M..S` times, decimals as strings), rendered by SAP's metadata of the service
(s4_render.py), which `$metadata` serves as EDMX XML; with $select of properties (also below expanded
navigations), $filter (s4_filter.py), $orderby, $top/$skip, server-driven paging with $skiptoken and __next,
$expand of navigation paths and $inlinecount=allpages; a name the entity type lacks in any of them is a 400.
Logon is basic auth or an OAuth2 bearer token from the token endpoint; bad credentials or an unknown sap-client
get 401 with SAP's logon-failure page, unpublished or forbidden services 404/403 with SAP error bodies. Tests
queue faults (an error status with Retry-After, or a request held until the client gives up, optionally for one
path only), serve navigations deferred (`deferred`), and read the log of requests served.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import msgspec

from connectors.sap.emulator.s4_entity_set import EntitySet
from connectors.sap.emulator.s4_filter import FilterParser, ODataError, fields
from connectors.sap.emulator.s4_metadata import Service
from connectors.sap.emulator.s4_render import Renderer, tree
from scenario.loopback import EmulatorHandler, LoopbackServer, Served

__all__ = ["ROOT", "TOKEN_PATH", "ODataServer", "SeenRequest"]

ROOT = "/sap/opu/odata/sap"
TOKEN_PATH = "/sap/bc/sec/oauth2/token"


def _key_predicate(names: tuple[str, ...], key: tuple[str, ...]) -> str:
    if len(names) == 1:
        return f"('{quote(key[0], safe='')}')"
    return "(" + ",".join(f"{n}='{quote(v, safe='')}'" for n, v in zip(names, key, strict=True)) + ")"


def _sap_error(err: ODataError) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": err.code,
                "message": {"lang": "en", "value": err.message},
                "innererror": {"application": {"component_id": "", "service_namespace": "/SAP/"}},
            }
        }
    ).encode()


# --- the server -----------------------------------------------------------------------------------------------


@dataclass
class _Fault:
    """A queued fault: an error `status` (with Retry-After when given), or a `delay` after which the request is
    dropped unanswered."""

    status: int = 0
    retry_after: float | None = None
    delay: float = 0.0
    path: str = ""  # only for a request whose path ends so ("" : any)


@dataclass
class SeenRequest:
    """A request as the server saw it; status 0 when it was held until the client gave up."""

    method: str
    path: str
    params: dict[str, str]
    status: int


class ODataServer(Served):
    """An SAP Gateway serving `sets` to one user of one client; `start()` puts it on a loopback port."""

    def __init__(
        self,
        sets: Iterable[EntitySet],
        services: Mapping[str, Service],
        *,
        user: str,
        password: str | None,
        client: str,
        client_id: str,
        client_secret: str | None,
        page_size: int,
        token_lifetime: int,
    ) -> None:
        """A password or client secret left None is generated."""
        self.user = user
        self.password = password or secrets.token_urlsafe(12)
        self.client = client
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(16)
        self.page_size = page_size
        self.token_lifetime = token_lifetime
        self.requests: list[SeenRequest] = []
        self.unpublished: set[str] = set()
        self.forbidden: set[str] = set()
        self.services = dict(services)
        # Navigations answered deferred even when expanded (captured S/4 answers show gateways that do).
        self.deferred: set[str] = set()
        # (entity type, name) a row held that the served metadata lacks: never sent (tests look at it).
        self.dropped: set[tuple[str, str]] = set()
        self.renderers = {name: Renderer(svc.metadata, self.deferred, self.dropped) for name, svc in services.items()}
        self.sets = {(s.service, s.name): s for s in sets}
        for entity in self.sets.values():
            entity.initial = dict(Renderer.properties(self.services[entity.service].entity_type(entity.name)))
        self._faults: deque[_Fault] = deque()
        self._tokens: dict[str, float] = {}
        self._lock = threading.RLock()
        self.server = LoopbackServer(_handler(self), owner=self)

    @property
    def base(self) -> str:
        return self.server.origin

    @property
    def url(self) -> str:
        """The OData root: what an SAP source's `url` setting names."""
        return self.base + ROOT

    @property
    def token_url(self) -> str:
        return self.base + TOKEN_PATH

    # -- test controls ---------------------------------------------------------------------------------------
    def fail_next(self, status: int, *, retry_after: float | None = None, times: int = 1, path: str = "") -> None:
        """Answer the next `times` OData requests (whose path ends with `path`) with `status` (and Retry-After
        when given)."""
        with self._lock:
            self._faults.extend(_Fault(status, retry_after, path=path) for _ in range(times))

    def delay_next(self, seconds: float, *, times: int = 1, path: str = "") -> None:
        """Hold the next `times` OData requests (whose path ends with `path`) for `seconds`, then drop them
        unanswered (client timeouts). They are logged with status 0."""
        with self._lock:
            self._faults.extend(_Fault(delay=seconds, path=path) for _ in range(times))

    def data_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.startswith(ROOT)]

    # -- answering -------------------------------------------------------------------------------------------
    def token(self, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode("utf-8", "replace").partition(":")
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Bad credentials"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}

    def authenticate(self, authorization: str | None, client: str) -> None:
        ok = False
        if authorization and authorization.lower().startswith("basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode("utf-8", "replace").partition(":")
            ok = user.upper() == self.user.upper() and password == self.password
        elif authorization and authorization.lower().startswith("bearer "):
            with self._lock:
                expires = self._tokens.get(authorization[7:].strip())
            ok = expires is not None and expires > time.monotonic()
        if client != self.client:
            # The ICF logon answers an unknown client before it looks at the user.
            raise ODataError(401, "LOGON", f"Logon failed: client {client} is not available in this system")
        if not ok:
            raise ODataError(401, "LOGON", "Logon failed: name or password is incorrect")

    def answer(self, path: str, params: Mapping[str, str]) -> dict[str, Any] | bytes:
        """The answer to a GET: V2 JSON, or the $metadata document's bytes."""
        rest = path[len(ROOT) :].strip("/")
        service, _, resource = rest.partition("/")
        if not service or service in self.unpublished or service not in self.services:
            raise ODataError(
                404, "/IWFND/MED/170", f"No service found for namespace '/SAP/', name '{service}', version '0001'"
            )
        if service in self.forbidden:
            raise ODataError(
                403, "/IWFND/CM_CONSUMER/101", f"No authorization to access service '{service}' (user {self.user})"
            )
        if resource == "$metadata":
            return self.services[service].document
        if resource == "":
            return {"d": {"EntitySets": sorted(self.services[service].metadata.sets)}}
        entity = self.sets.get((service, resource))
        if entity is None:
            raise ODataError(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{resource}'")
        with self._lock:
            return self._collection(entity, params)

    def _collection(self, entity: EntitySet, params: Mapping[str, str]) -> dict[str, Any]:
        entity_type = self.services[entity.service].entity_type(entity.name)
        renderer = self.renderers[entity.service]
        expand, select = tree(params.get("$expand", "")), tree(params.get("$select", ""))
        renderer.check(entity_type, select, expand)
        orderby = [
            (part.split()[0], part.split()[-1].lower() == "desc")
            for part in params.get("$orderby", "").split(",")
            if part.strip()
        ]
        text = params.get("$filter", "")
        for name in [n for n, _ in orderby] + sorted(fields(FilterParser(text).parse()) if text else []):
            if name not in entity_type.properties:
                raise ODataError(
                    400, "/IWBEP/CM_MGW_RT/022", f"Property '{name}' not found in type '{entity_type.name}'"
                )
        keys = entity.select(text, orderby)
        try:
            skip = int(params.get("$skip", 0))
            top = int(params["$top"]) if "$top" in params else None
            token = int(params.get("$skiptoken", 0))
        except ValueError:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid $top/$skip/$skiptoken") from None
        start = skip + token
        remaining = len(keys) - start if top is None else min(top - token, len(keys) - start)
        count = max(0, min(remaining, self.page_size))
        base = f"{self.url}/{entity.service}/{entity.name}"
        results = [
            renderer.row(entity.row(k), base + _key_predicate(entity.key_fields, k), entity_type, expand, select)
            for k in keys[start : start + count]
        ]
        body: dict[str, Any] = {"results": results}
        if params.get("$inlinecount") == "allpages":
            body["__count"] = str(len(keys))
        if count < remaining:
            query = {k: v for k, v in params.items() if k != "$skiptoken"} | {"$skiptoken": str(token + count)}
            body["__next"] = f"{base}?{urlencode(query, quote_via=quote, safe=chr(36) + chr(39) + '(),:')}"
        return {"d": body}

    def take_fault(self, path: str = "") -> _Fault | None:
        """The first queued fault for a request to `path` (any fault when no path is given), taken off the queue."""
        with self._lock:
            for fault in self._faults:
                if not path or path.endswith(fault.path):
                    self._faults.remove(fault)
                    return fault
            return None


def _handler(gateway: ODataServer) -> type[BaseHTTPRequestHandler]:
    class Handler(EmulatorHandler):
        def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] = {}) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _record(self, path: str, params: dict[str, str], status: int) -> None:
            with gateway._lock:
                gateway.requests.append(SeenRequest(self.command, path, params, status))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = urlsplit(self.path).path
            if path != TOKEN_PATH:
                self._record(path, {}, 405)
                self._send(405, b"", "text/plain")
                return
            status, answer = gateway.token(body, self.headers.get("Authorization"))
            self._record(path, {}, status)
            self._send(status, json.dumps(answer).encode(), "application/json")

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            fault = gateway.take_fault(parts.path) if parts.path.startswith(ROOT) else None
            if fault is not None and fault.delay:
                # A server too slow for the client: it has given up by now, so the answer never comes.
                self._record(parts.path, params, 0)
                time.sleep(fault.delay)
                self.close_connection = True
                return
            if fault is not None:
                headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                self._record(parts.path, params, fault.status)
                error = ODataError(fault.status, "/IWFND/CM_BEC/026", "Service temporarily unavailable")
                self._send(fault.status, _sap_error(error), "application/json", headers)
                return
            try:
                if not parts.path.startswith(ROOT):
                    raise ODataError(404, "HTTP", f"No handler for {parts.path}")
                gateway.authenticate(self.headers.get("Authorization"), params.get("sap-client", gateway.client))
                answer = gateway.answer(parts.path, params)
            except ODataError as err:
                self._record(parts.path, params, err.status)
                if err.code == "LOGON":  # the ICF logon page is HTML, not an OData error
                    page = f"<html><body><h1>Logon failed</h1><p>{err.message}</p></body></html>".encode()
                    self._send(err.status, page, "text/html", {"WWW-Authenticate": 'Basic realm="SAP NetWeaver"'})
                else:
                    self._send(err.status, _sap_error(err), "application/json")
                return
            self._record(parts.path, params, 200)
            if isinstance(answer, bytes):
                self._send(200, answer, "application/xml")
            else:
                self._send(200, msgspec.json.encode(answer), "application/json")

    return Handler
