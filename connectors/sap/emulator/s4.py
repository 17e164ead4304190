"""An S/4HANA OData V2 stand-in on loopback, serving a scenario's facts (tests, `dealersync demo`, the benchmark).

    with S4Emulator(build()) as sap:
        sap.fail_next(429, retry_after=1)
        ...read sap.url as user sap.user / sap.password, sap-client sap.client...

What it does like S/4: services under /sap/opu/odata/sap/<SERVICE>/<EntitySet> answering V2 JSON
({"d": {"results": [...], "__next": ...}}, __metadata, __deferred navigation, `/Date(ms)/` and
`/Date(ms+0000)/` dates, `PT..H..M..S` times, decimals as strings), $select of properties,
$filter (eq ne gt ge lt le, and, or, not, parentheses; string, datetime'', datetimeoffset'',
boolean, number literals), $orderby,
$top/$skip, server-driven paging with $skiptoken and __next, $expand of navigation paths,
$inlinecount=allpages, basic auth or OAuth2 bearer tokens from its token endpoint, 401 for bad
credentials or an unknown sap-client (with SAP's logon-failure text), 404/403 with SAP error
bodies for unpublished or forbidden services. Filters on an entity set's change field and on key
and reference fields use indexes, so paging through ~100k invoice lines stays linear.

The SAP layout of the facts (which entity and field holds what) is in the `_Layout` section.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import json
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import msgspec

from connectors.sap import codes
from mapping.schema import Account, Collection, Discount, Invoice, Order, Product, StockLevel
from scenario.facts import Change, Scenario, Stamped

__all__ = ["DEMO_SETTINGS", "SAP_UNITS", "S4Emulator"]

ROOT = "/sap/opu/odata/sap"
TOKEN_PATH = "/sap/bc/sec/oauth2/token"
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)

# The organisational units the emulated system uses; the demo's settings name them.
COMPANY_CODE = "1000"
SALES_ORG = "1000"
DISTRIBUTION_CHANNEL = "10"
DIVISION = "00"
PURCHASING_ORG = "1000"
PLANT = "1000"
CREDIT_SEGMENT = "0000"
DEMO_SETTINGS: Mapping[str, Any] = {
    "company_code": COMPANY_CODE,
    "sales_organization": SALES_ORG,
    "distribution_channel": DISTRIBUTION_CHANNEL,
    "division": DIVISION,
}
# SAP internal units of measure for the scenario's unit names (SAP keys units by 2-3 letter codes).
SAP_UNITS: Mapping[str, str] = {"ADET": "ST", "METRE": "M", "KG": "KG", "KOLİ": "KAR"}
_TAX_CLASSES = {rate: cls for cls, rate in codes.DEFAULT_VAT_RATES.items()}


# --- the OData machinery ------------------------------------------------------------------------------------


class ODataError(Exception):
    """An answer other than 200, with SAP's error body."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


Row = dict[str, Any]  # typed values (str, bool, Decimal, date-times, time, None) and navigation callables
Nav = Callable[[], "list[Row] | Row | None"]


def _sap_value(value: Any) -> Any:
    """A typed value as V2 JSON shows it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # Edm.DateTime: ms since epoch of the wall time, no offset
            return f"/Date({(value - _NAIVE_EPOCH) // dt.timedelta(milliseconds=1)})/"
        return f"/Date({(value - _EPOCH) // dt.timedelta(milliseconds=1)}+0000)/"
    if isinstance(value, dt.time):
        return f"PT{value.hour:02d}H{value.minute:02d}M{value.second:02d}S"
    return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Both sides of a comparison in one domain (naive Edm.DateTime is UTC when met with an offset)."""
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        a = a.replace(tzinfo=_UTC) if a.tzinfo is None else a
        b = b.replace(tzinfo=_UTC) if b.tzinfo is None else b
    if isinstance(a, Decimal) and isinstance(b, int | float):
        b = Decimal(str(b))
    return a, b


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: Any

    def test(self, row: Row) -> bool:
        left = row.get(self.field)
        if self.op in ("eq", "ne"):
            a, b = _comparable(left, self.value)
            return _OPS[self.op](a, b)
        if left is None or self.value is None:
            return False
        a, b = _comparable(left, self.value)
        try:
            return _OPS[self.op](a, b)
        except TypeError:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid filter on property '{self.field}'") from None


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple[Any, ...]

    def test(self, row: Row) -> bool:
        if self.op == "and":
            return all(p.test(row) for p in self.parts)
        return any(p.test(row) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Any

    def test(self, row: Row) -> bool:
        return not self.part.test(row)


_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<typed>(?:datetimeoffset|datetime|guid|time)'[^']*')"
    r"|(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?[mMdDlL]?)|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "number":
        return Decimal(text.rstrip("mMdDlL"))
    prefix, _, body = text.partition("'")
    body = body[:-1]
    try:
        if prefix == "datetimeoffset":
            value = dt.datetime.fromisoformat(body.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=_UTC)
        if prefix == "datetime":
            return dt.datetime.fromisoformat(body).replace(tzinfo=None)
    except ValueError:
        raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid literal {text}") from None
    return body


class _Parser:
    """$filter text -> Cmp/BoolOp/Not tree (the subset of OData V2 a reader sends)."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid filter expression at '{text[pos : pos + 20]}'")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.pos = 0

    def parse(self) -> Any:
        tree = self._or()
        if self.pos != len(self.tokens):
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: trailing tokens")
        return tree

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        if tok is None:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: unexpected end")
        self.pos += 1
        return tok

    def _or(self) -> Any:
        parts = [self._and()]
        while self._peek() == ("word", "or"):
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def _and(self) -> Any:
        parts = [self._unary()]
        while self._peek() == ("word", "and"):
            self.pos += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def _unary(self) -> Any:
        kind, text = self._take()
        if (kind, text) == ("word", "not"):
            return Not(self._unary())
        if kind == "open":
            inner = self._or()
            if self._take()[0] != "close":
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: ')' expected")
            return inner
        if kind != "word":
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid filter expression at {text}")
        op_kind, op = self._take()
        if op_kind != "word" or op not in _OPS:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Unsupported operator {op}")
        lit_kind, lit = self._take()
        if lit_kind == "word":
            words = {"true": True, "false": False, "null": None}
            if lit not in words:
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid literal {lit}")
            return Cmp(text, op, words[lit])
        return Cmp(text, op, _literal(lit_kind, lit))


@dataclass
class EntitySet:
    """One entity set: facts by key, rendered to rows on demand, with a change index and lookup indexes."""

    service: str
    name: str
    type_name: str
    key_fields: tuple[str, ...]
    render: Callable[[Any], Row]
    change_field: str | None = None
    indexed: tuple[str, ...] = ()
    facts: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _order: list[tuple[str, ...]] | None = None
    _by_change: list[tuple[Any, tuple[str, ...]]] | None = None
    _index: dict[str, dict[Any, set[tuple[str, ...]]]] | None = None
    _selections: dict[tuple[str, tuple[tuple[str, bool], ...]], list[tuple[str, ...]]] = field(default_factory=dict)

    def put(self, key: tuple[str, ...], fact: Any) -> None:
        self.facts[key] = fact
        self._order = self._by_change = self._index = None
        self._selections.clear()

    def row(self, key: tuple[str, ...]) -> Row:
        return self.render(self.facts[key])

    def ordered(self) -> list[tuple[str, ...]]:
        if self._order is None:
            self._order = sorted(self.facts)
        return self._order

    def _indexes(self) -> tuple[list[tuple[Any, tuple[str, ...]]], dict[str, dict[Any, set[tuple[str, ...]]]]]:
        if self._by_change is None or self._index is None:
            by_change: list[tuple[Any, tuple[str, ...]]] = []
            index: dict[str, dict[Any, set[tuple[str, ...]]]] = {f: {} for f in (*self.key_fields, *self.indexed)}
            for key in self.facts:
                row = self.row(key)
                if self.change_field is not None and row.get(self.change_field) is not None:
                    by_change.append((row[self.change_field], key))
                for name, values in index.items():
                    values.setdefault(row.get(name), set()).add(key)
            by_change.sort()
            self._by_change, self._index = by_change, index
        return self._by_change, self._index

    def candidates(self, tree: Any) -> set[tuple[str, ...]] | None:
        """Keys that may match `tree` from the indexes, or None when a full scan is needed."""
        if isinstance(tree, Cmp):
            by_change, index = self._indexes()
            if tree.field == self.change_field and tree.op in ("gt", "ge") and tree.value is not None:
                probe = _like(tree.value, by_change[0][0]) if by_change else tree.value
                find = bisect.bisect_left if tree.op == "ge" else bisect.bisect_right
                at = find(by_change, probe, key=lambda entry: entry[0])
                return {key for _, key in by_change[at:]}
            if tree.op == "eq" and tree.field in index:
                return index[tree.field].get(tree.value, set())  # read only: never mutated by the callers
            return None
        if isinstance(tree, BoolOp):
            found = [self.candidates(p) for p in tree.parts]
            if tree.op == "or":
                if any(f is None for f in found):
                    return None
                return set().union(*found)  # type: ignore[arg-type]
            known = sorted((f for f in found if f is not None), key=len)
            if not known:
                return None
            return known[0].intersection(*known[1:])
        return None

    def select(self, filter_text: str, orderby: list[tuple[str, bool]]) -> list[tuple[str, ...]]:
        """Keys matching a $filter in $orderby order; kept until the next change, since paging asks again."""
        cache_key = (filter_text, tuple(orderby))
        found = self._selections.get(cache_key)
        if found is None:
            tree = _Parser(filter_text).parse() if filter_text else None
            found = self._selections[cache_key] = self._select(tree, orderby)
        return found

    def _select(self, tree: Any | None, orderby: list[tuple[str, bool]]) -> list[tuple[str, ...]]:
        keys: Iterable[tuple[str, ...]]
        if tree is None:
            keys = self.ordered()
        else:
            found = self.candidates(tree)
            pool = self.ordered() if found is None else sorted(found)
            keys = [k for k in pool if tree.test(self.row(k))]
        keys = list(keys)
        if orderby and [f for f, _ in orderby] != list(self.key_fields[: len(orderby)]):
            for name, descending in reversed(orderby):
                keys.sort(key=lambda k, n=name: _sort_key(self.row(k).get(n)), reverse=descending)
        elif orderby and orderby[0][1]:
            keys.reverse()
        return keys


def _like(probe: Any, sample: Any) -> Any:
    """`probe` in the time domain of an index's values (naive Edm.DateTime counts as UTC)."""
    if isinstance(probe, dt.datetime) and isinstance(sample, dt.datetime):
        if sample.tzinfo is None and probe.tzinfo is not None:
            return probe.astimezone(_UTC).replace(tzinfo=None)
        if sample.tzinfo is not None and probe.tzinfo is None:
            return probe.replace(tzinfo=_UTC)
    return probe


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return (1, value.replace(tzinfo=_UTC))
    return (1, value)


def _expand_tree(expand: str) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in filter(None, (p.strip() for p in expand.split(","))):
        node = tree
        for part in path.split("/"):
            node = node.setdefault(part, {})
    return tree


def _out(row: Row, uri: str, type_name: str, expand: Mapping[str, Any]) -> dict[str, Any]:
    """A typed row as V2 JSON: __metadata first, navigation deferred unless expanded."""
    out: dict[str, Any] = {"__metadata": {"id": uri, "uri": uri, "type": type_name}}
    for name, value in row.items():
        if name.startswith("_"):
            continue
        if callable(value):
            if name in expand:
                target = value()
                nav_type = row.get(f"_type_{name}", type_name)
                if isinstance(target, list):
                    children = [_out(c, f"{uri}/{name}", nav_type, expand[name]) for c in target]
                    out[name] = {"results": children}
                else:
                    out[name] = None if target is None else _out(target, f"{uri}/{name}", nav_type, expand[name])
            else:
                out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
        else:
            out[name] = _sap_value(value)
    return out


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
    status: int = 0
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class SeenRequest:
    method: str
    path: str
    params: dict[str, str]
    status: int


class S4Emulator:
    """An S/4HANA OData V2 system holding one scenario (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        user: str = "DEALERSYNC",
        password: str | None = None,
        client: str = "100",
        client_id: str = "dealersync",
        client_secret: str | None = None,
        page_size: int = 1000,
        token_lifetime: int = 3600,
        cancel_touches_original: bool = True,
    ) -> None:
        """`cancel_touches_original`: whether cancelling a billing document moves the original's
        LastChangeDateTime (UNCONFIRMED in SAP; the reader copes with either)."""
        self.scenario = scenario
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
        self._faults: deque[_Fault] = deque()
        self._tokens: dict[str, float] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.layout = _Layout(scenario, cancel_touches_original)
        self.sets = {(s.service, s.name): s for s in self.layout.entity_sets()}

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> S4Emulator:
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _handler(self))
            self._thread = threading.Thread(target=self._server.serve_forever, name="s4-emulator", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> S4Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The OData root: what an SAP source's `url` setting names."""
        return self.base + ROOT

    @property
    def token_url(self) -> str:
        return self.base + TOKEN_PATH

    # -- test controls ---------------------------------------------------------------------------------------
    def fail_next(self, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        """Answer the next `times` OData requests with `status` (and Retry-After when given)."""
        with self._lock:
            self._faults.extend(_Fault(status, retry_after) for _ in range(times))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` OData requests for `seconds`, then drop them unanswered (client timeouts).
        They are logged with status 0."""
        with self._lock:
            self._faults.extend(_Fault(delay=seconds) for _ in range(times))

    def data_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.startswith(ROOT)]

    def apply(self, change: Change) -> None:
        with self._lock:
            self.layout.apply(change)

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

    def answer(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        rest = path[len(ROOT) :].strip("/")
        service, _, resource = rest.partition("/")
        if not service or service in self.unpublished or not any(s == service for s, _ in self.sets):
            raise ODataError(
                404, "/IWFND/MED/170", f"No service found for namespace '/SAP/', name '{service}', version '0001'"
            )
        if service in self.forbidden:
            raise ODataError(
                403, "/IWFND/CM_CONSUMER/101", f"No authorization to access service '{service}' (user {self.user})"
            )
        if resource in ("", "$metadata"):
            names = [name for s, name in self.sets if s == service]
            return {"d": {"EntitySets": names}}
        entity = self.sets.get((service, resource))
        if entity is None:
            raise ODataError(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{resource}'")
        with self._lock:
            return self._collection(entity, params)

    def _collection(self, entity: EntitySet, params: Mapping[str, str]) -> dict[str, Any]:
        orderby = [
            (part.split()[0], part.split()[-1].lower() == "desc")
            for part in params.get("$orderby", "").split(",")
            if part.strip()
        ]
        keys = entity.select(params.get("$filter", ""), orderby)
        try:
            skip = int(params.get("$skip", 0))
            top = int(params["$top"]) if "$top" in params else None
            token = int(params.get("$skiptoken", 0))
        except ValueError:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid $top/$skip/$skiptoken") from None
        start = skip + token
        remaining = len(keys) - start if top is None else min(top - token, len(keys) - start)
        count = max(0, min(remaining, self.page_size))
        expand = _expand_tree(params.get("$expand", ""))
        base = f"{self.url}/{entity.service}/{entity.name}"
        select = {name.strip() for name in params.get("$select", "").split(",") if name.strip()}
        results = []
        for k in keys[start : start + count]:
            row = entity.row(k)
            if select:
                row = {name: value for name, value in row.items() if name in select}
            results.append(_out(row, base + _key_predicate(entity.key_fields, k), entity.type_name, expand))
        body: dict[str, Any] = {"results": results}
        if params.get("$inlinecount") == "allpages":
            body["__count"] = str(len(keys))
        if count < remaining:
            query = {k: v for k, v in params.items() if k != "$skiptoken"} | {"$skiptoken": str(token + count)}
            body["__next"] = f"{base}?{urlencode(query, quote_via=quote, safe=chr(36) + chr(39) + '(),:')}"
        return {"d": body}

    def take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hung up (a timed-out reader); anything else is a bug worth printing."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(emulator: S4Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: with Nagle on, the body waits for a delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] = {}) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _record(self, path: str, params: dict[str, str], status: int) -> None:
            with emulator._lock:
                emulator.requests.append(SeenRequest(self.command, path, params, status))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = urlsplit(self.path).path
            if path != TOKEN_PATH:
                self._record(path, {}, 405)
                self._send(405, b"", "text/plain")
                return
            status, answer = emulator.token(body, self.headers.get("Authorization"))
            self._record(path, {}, status)
            self._send(status, json.dumps(answer).encode(), "application/json")

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            fault = emulator.take_fault() if parts.path.startswith(ROOT) else None
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
                emulator.authenticate(self.headers.get("Authorization"), params.get("sap-client", emulator.client))
                answer = emulator.answer(parts.path, params)
            except ODataError as err:
                self._record(parts.path, params, err.status)
                if err.code == "LOGON":  # the ICF logon page is HTML, not an OData error
                    page = f"<html><body><h1>Logon failed</h1><p>{err.message}</p></body></html>".encode()
                    self._send(err.status, page, "text/html", {"WWW-Authenticate": 'Basic realm="SAP NetWeaver"'})
                else:
                    self._send(err.status, _sap_error(err), "application/json", err.headers)
                return
            self._record(parts.path, params, 200)
            self._send(200, msgspec.json.encode(answer), "application/json")

    return Handler


# --- the scenario in S/4's entities ---------------------------------------------------------------------------


def _day(value: dt.date) -> dt.datetime:
    """An Edm.DateTime date: midnight, naive (V2 carries dates as UTC midnight)."""
    return dt.datetime(value.year, value.month, value.day)


def _instant(value: dt.datetime) -> dt.datetime:
    return value.astimezone(_UTC)


def _unit(name: str | None) -> str:
    return SAP_UNITS.get(name or "", name or "")


def _item_no(line_no: int) -> str:
    return f"{line_no * 10:06d}"


def _price(unit_price: Decimal) -> tuple[Decimal, Decimal]:
    """(rate, per quantity): SAP keeps 2 decimals in a price, so finer prices are quoted per 100."""
    if unit_price == unit_price.quantize(Decimal("0.01")):
        return unit_price.quantize(Decimal("0.01")), Decimal(1)
    return (unit_price * 100).quantize(Decimal("0.01")), Decimal(100)


@dataclass
class _Doc:
    """A document fact with the bookkeeping S/4 keeps beside it."""

    record: Any
    created: dt.datetime
    changed: dt.datetime
    cancels: str = ""  # on a cancellation document (S1): the billing document it cancels


@dataclass
class _Payment:
    """One customer line of an FI document (a collection's line, a reversal, or an invoice's receivable)."""

    doc: str
    item: str
    doc_type: str
    account: str
    posted: dt.date
    due: dt.date | None
    amount: Decimal  # signed: debit +, credit -
    amount_local: Decimal
    currency: str
    rate: Decimal
    method: str
    entered: dt.datetime
    invoice_ref: str = ""
    cleared_by: str = ""
    cleared_on: dt.date | None = None
    reversal: bool = False
    reversed_by: str = ""


_METHOD_LETTERS = {"cash": "B", "card": "K", "cheque": "C", "promissory_note": "W", "bank_transfer": "U"}


class _Layout:
    """Where S/4 keeps each fact: entity sets built from the scenario, changed by `apply`."""

    def __init__(self, scenario: Scenario, cancel_touches_original: bool = True) -> None:
        self.scenario = scenario
        self.cancel_touches_original = cancel_touches_original
        self.tz = scenario.as_of.tzinfo or _UTC
        self.local = scenario.local_currency
        self.partners = self._set("API_BUSINESS_PARTNER", "A_BusinessPartner", ("BusinessPartner",), self._partner)
        self.products = self._set(
            "API_PRODUCT_SRV", "A_Product", ("Product",), self._product, change="LastChangeDateTime"
        )
        self.stock = self._set(
            "API_MATERIAL_STOCK_SRV",
            "A_MatlStkInAcctMod",
            ("Material", "Plant", "StorageLocation", "Batch", "InventorySpecialStockType", "InventoryStockType"),
            self._stock,
        )
        self.conditions = self._set(
            "API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgConditionRecord", ("ConditionRecord",), self._condition
        )
        self.credit = self._set(
            "API_CRDTMBUSINESSPARTNER", "A_CreditManagementAccount", ("BusinessPartner", "CreditSegment"), self._credit
        )
        self.orders = self._set(
            "API_SALES_ORDER_SRV", "A_SalesOrder", ("SalesOrder",), self._order, change="LastChangeDateTime"
        )
        self.billing = self._set(
            "API_BILLING_DOCUMENT_SRV",
            "A_BillingDocument",
            ("BillingDocument",),
            self._billing,
            change="LastChangeDateTime",
        )
        self.items = self._set(
            "API_OPLACCTGDOCITEMCUBE_SRV",
            "A_OperationalAcctgDocItemCube",
            ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem"),
            self._fi_item,
            change="AccountingDocumentCreationDate",
            indexed=("ClearingAccountingDocument",),
        )
        self._fill()

    def _set(
        self,
        service: str,
        name: str,
        keys: tuple[str, ...],
        render: Callable[[Any], Row],
        change: str | None = None,
        indexed: tuple[str, ...] = (),
    ) -> EntitySet:
        return EntitySet(service, name, f"{service}.{name}Type", keys, render, change, indexed)

    def entity_sets(self) -> list[EntitySet]:
        return [
            self.partners,
            self.products,
            self.stock,
            self.conditions,
            self.credit,
            self.orders,
            self.billing,
            self.items,
        ]

    # -- building ----------------------------------------------------------------------------------------------
    def _fill(self) -> None:
        s = self.scenario
        for st in s.accounts:
            self.partners.put((codes.alpha_in(st.record.code, codes.KUNNR_LENGTH),), st)
        for st in s.products:
            self.products.put((codes.alpha_in(st.record.code, codes.MATNR_LENGTH),), st)
        for service in s.services:
            self.products.put((codes.alpha_in(service.code, codes.MATNR_LENGTH),), service)
        for level in s.stock_levels:
            for stock_type, quantity in self._stock_split(level):
                key = (codes.alpha_in(level.product_code, codes.MATNR_LENGTH), PLANT, level.warehouse_code, "", "")
                self.stock.put((*key, stock_type), (level, stock_type, quantity))
        for st in s.discounts:
            self.conditions.put((st.record.code,), st)
        for limit in s.risk_limits:
            self.credit.put((codes.alpha_in(limit.account_code, codes.KUNNR_LENGTH), CREDIT_SEGMENT), limit)
        for st in s.orders():
            self.orders.put((st.record.number,), _Doc(st.record, st.created_at, st.modified_at or st.created_at))
        settlers: dict[str, list[str]] = {}
        collections = list(s.collections())
        for st in collections:
            for number in st.record.settles:
                settlers.setdefault(number, []).append(st.record.number)
        invoices: dict[str, Invoice] = {}
        for st in s.invoices():
            self._add_invoice(st.record, st.created_at, st.modified_at or st.created_at)
            invoices[st.record.number] = st.record
        posted = {st.record.number: st.record.date for st in collections}
        for st in collections:
            self._add_collection(st.record, st.created_at, st.modified_at, settlers)
        # A single payment clears the invoice's receivable; partial payments reference it (REBZG) instead.
        for number, payers in settlers.items():
            if len(payers) == 1 and number in invoices:
                self._clear(invoices[number], payers[0], posted[payers[0]])

    @staticmethod
    def _stock_split(level: StockLevel) -> list[tuple[str, Decimal]]:
        """Unrestricted stock, with a tenth of larger quantities in quality inspection (stock type 02)."""
        if level.on_hand < 100:
            return [("01", level.on_hand)]
        inspection = (level.on_hand / 10).quantize(Decimal("0.001"))
        return [("01", level.on_hand - inspection), ("02", inspection)]

    def _add_invoice(self, inv: Invoice, created: dt.datetime, changed: dt.datetime) -> None:
        self.billing.put((inv.number,), _Doc(inv, created, changed))
        if inv.cancelled:
            self._add_cancellation(inv, changed)
        sign = -1 if inv.kind == "return" else 1
        self.items.put(
            (COMPANY_CODE, str(inv.date.year), inv.number, "001"),
            _Payment(
                doc=inv.number,
                item="001",
                doc_type="RV",
                account=inv.account_code,
                posted=inv.date,
                due=inv.due_date,
                amount=sign * inv.totals.total,
                amount_local=sign * inv.totals_local.total,
                currency=inv.currency,
                rate=inv.rate,
                method="",
                entered=created,
                # The cancellation's accounting document clears the receivable it reverses.
                cleared_by=f"X{inv.number}" if inv.cancelled else "",
                cleared_on=changed.astimezone(self.tz).date() if inv.cancelled else None,
            ),
        )

    def _add_cancellation(self, inv: Invoice, at: dt.datetime) -> None:
        """The S1 document that cancelled `inv`: its own billing document pointing at the original."""
        cancel = msgspec.structs.replace(inv, number=f"X{inv.number}", lines=[], date=at.astimezone(self.tz).date())
        self.billing.put((cancel.number,), _Doc(cancel, at, at, cancels=inv.number))

    def _add_collection(
        self, c: Collection, created: dt.datetime, modified: dt.datetime | None, settlers: Mapping[str, list[str]]
    ) -> None:
        partial = [n for n in c.settles if len(settlers.get(n, ())) > 1]
        shares = _split(c.amount, len(partial) + (1 if len(partial) < len(c.settles) or not partial else 0))
        local_shares = _split(c.amount_local, len(shares))
        refs = [*partial, ""][: len(shares)]
        for i, (ref, share, local_share) in enumerate(zip(refs, shares, local_shares, strict=True), start=1):
            line = _Payment(
                doc=c.number,
                item=f"{i:03d}",
                doc_type=codes.CUSTOMER_PAYMENT_DOCUMENT_TYPE,
                account=c.account_code,
                posted=c.date,
                due=c.due_date,
                amount=-share,
                amount_local=-local_share,
                currency=c.currency,
                rate=c.rate,
                method=_METHOD_LETTERS[c.method],
                entered=created,
                invoice_ref=ref,
                # A payment that clears invoices clears its own customer line in the same document.
                cleared_by=c.number if not ref and c.settles else "",
                cleared_on=c.date if not ref and c.settles else None,
            )
            if c.cancelled and modified is not None:
                line.reversed_by = f"R{c.number}"
            self.items.put((COMPANY_CODE, str(c.date.year), c.number, line.item), line)
        if c.cancelled and modified is not None:
            reversal = _Payment(
                doc=f"R{c.number}",
                item="001",
                doc_type=codes.CUSTOMER_PAYMENT_DOCUMENT_TYPE,
                account=c.account_code,
                posted=c.date,
                due=None,
                amount=c.amount,
                amount_local=c.amount_local,
                currency=c.currency,
                rate=c.rate,
                method=_METHOD_LETTERS[c.method],
                entered=modified,
                reversal=True,
                reversed_by=c.number,
            )
            self.items.put((COMPANY_CODE, str(c.date.year), reversal.doc, "001"), reversal)

    def _clear(self, inv: Invoice, payment: str, on: dt.date) -> None:
        key = (COMPANY_CODE, str(inv.date.year), inv.number, "001")
        line = self.items.facts.get(key)
        if line is not None:
            self.items.put(key, _replace(line, cleared_by=payment, cleared_on=on))

    # -- changes -----------------------------------------------------------------------------------------------
    def apply(self, change: Change) -> None:
        if change.kind == "new_invoice" and change.invoice is not None:
            self._add_invoice(change.invoice, change.at, change.at)
        elif change.kind == "cancel_invoice" and change.number:
            doc: _Doc = self.billing.facts[(change.number,)]
            cancelled = msgspec.structs.replace(doc.record, cancelled=True)
            changed = change.at if self.cancel_touches_original else doc.changed
            self.billing.put((change.number,), _Doc(cancelled, doc.created, changed))
            self._add_cancellation(cancelled, change.at)
            key = (COMPANY_CODE, str(cancelled.date.year), cancelled.number, "001")
            self.items.put(key, _replace(self.items.facts[key], cleared_by=f"X{cancelled.number}",
                                         cleared_on=change.at.astimezone(self.tz).date()))  # fmt: skip
        elif change.kind == "new_collection" and change.collection is not None:
            self._add_collection(change.collection, change.at, None, {})
        elif change.kind == "discount_value" and change.number:
            st = self.conditions.facts[(change.number,)]
            record = msgspec.structs.replace(st.record, value=change.value)
            self.conditions.put((change.number,), type(st)(record, st.created_at, change.at))
        else:
            raise ValueError(f"cannot apply change {change.kind!r}")

    # -- business partners ---------------------------------------------------------------------------------------
    def _partner(self, st: Any) -> Row:
        a: Account = st.record
        key = codes.alpha_in(a.code, codes.KUNNR_LENGTH)
        created = st.created_at.astimezone(self.tz)
        changed = st.modified_at.astimezone(self.tz) if st.modified_at else None
        customer = a.kind != "supplier"
        supplier = a.kind != "customer"
        svc = "API_BUSINESS_PARTNER"
        return {
            "BusinessPartner": key,
            "Customer": key if customer else "",
            "Supplier": key if supplier else "",
            "BusinessPartnerCategory": "1" if a.is_individual else "2",
            "BusinessPartnerFullName": a.title,
            "BusinessPartnerGrouping": "BP02",
            "BusinessPartnerIsBlocked": False,
            "IsMarkedForArchiving": False,
            "CreationDate": _day(created.date()),
            "CreationTime": created.time().replace(microsecond=0),
            "LastChangeDate": _day(changed.date()) if changed else None,
            "LastChangeTime": changed.time().replace(microsecond=0) if changed else None,
            "to_BusinessPartnerAddress": lambda: [self._address(a, key)],
            "_type_to_BusinessPartnerAddress": f"{svc}.A_BusinessPartnerAddressType",
            "to_BusinessPartnerTax": lambda: self._taxes(a, key),
            "_type_to_BusinessPartnerTax": f"{svc}.A_BusinessPartnerTaxNumberType",
            "to_Customer": lambda: self._customer(a, key) if customer else None,
            "_type_to_Customer": f"{svc}.A_CustomerType",
            "to_Supplier": lambda: self._supplier(a, key) if supplier else None,
            "_type_to_Supplier": f"{svc}.A_SupplierType",
        }

    def _address(self, a: Account, key: str) -> Row:
        street, district, city = a.address or "", "", a.city or ""
        head, _, tail = street.rpartition(" ")
        if "/" in tail:
            street, (district, _, city) = head, tail.partition("/")
        digits = "".join(ch for ch in a.phone or "" if ch.isdigit() or ch == "+")
        phones = (
            [{"AddressID": "1", "PhoneNumber": digits[3:], "InternationalPhoneNumber": digits,
              "DestinationLocationCountry": a.country or "", "IsDefaultPhoneNumber": True}]
            if digits else []
        )  # fmt: skip
        mails = [{"AddressID": "1", "EmailAddress": a.email, "IsDefaultEmailAddress": True}] if a.email else []
        svc = "API_BUSINESS_PARTNER"
        return {
            "BusinessPartner": key,
            "AddressID": "1",
            "StreetName": street,
            "HouseNumber": "",
            "District": district,
            "CityName": city,
            "Country": a.country or "",
            "to_PhoneNumber": lambda: [],
            "_type_to_PhoneNumber": f"{svc}.A_AddressPhoneNumberType",
            "to_MobilePhoneNumber": lambda: phones,
            "_type_to_MobilePhoneNumber": f"{svc}.A_AddressPhoneNumberType",
            "to_EmailAddress": lambda: mails,
            "_type_to_EmailAddress": f"{svc}.A_AddressEmailAddressType",
        }

    @staticmethod
    def _taxes(a: Account, key: str) -> list[Row]:
        out: list[Row] = []
        if a.tax_office:
            out.append({"BusinessPartner": key, "BPTaxType": "TR1", "BPTaxNumber": a.tax_office, "BPTaxLongNumber": ""})
        if a.tax_id:
            kind = "TR3" if a.tax_id_kind == "TCKN" else "TR2"
            out.append({"BusinessPartner": key, "BPTaxType": kind, "BPTaxNumber": a.tax_id, "BPTaxLongNumber": ""})
        return out

    @staticmethod
    def _customer(a: Account, key: str) -> Row:
        functions: list[Row] = []
        if a.sales_rep_code:
            functions.append({"PartnerFunction": "VE", "PartnerCounter": "0", "PersonnelNumber": a.sales_rep_code,
                              "BPCustomerNumber": ""})  # fmt: skip
        if a.parent_code:
            parent = codes.alpha_in(a.parent_code, codes.KUNNR_LENGTH)
            functions.append({"PartnerFunction": "1A", "PartnerCounter": "0", "PersonnelNumber": "",
                              "BPCustomerNumber": parent})  # fmt: skip
        area = {
            "Customer": key,
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "Division": DIVISION,
            "Currency": a.currency or "",
            "CustomerPaymentTerms": a.payment_terms or "",
            "CustomerGroup": a.group_code or "",
            "SalesDistrict": a.region_code or "",
            "DeletionIndicator": False,
            "to_PartnerFunction": lambda: functions,
            "_type_to_PartnerFunction": "API_BUSINESS_PARTNER.A_CustSalesPartnerFuncType",
        }
        # A second sales area the source must not mix in (another sales organisation's terms).
        other = {**area, "SalesOrganization": "9000", "Currency": "EUR", "CustomerPaymentTerms": "0001",
                 "CustomerGroup": "99", "to_PartnerFunction": lambda: []}  # fmt: skip
        return {
            "Customer": key,
            "CustomerAccountGroup": "KUNA",
            "DeletionIndicator": not a.active,
            "OrderIsBlockedForCustomer": "01" if a.blocked else "",
            "PostingIsBlocked": False,
            "to_CustomerSalesArea": lambda: [area, other],
            "_type_to_CustomerSalesArea": "API_BUSINESS_PARTNER.A_CustomerSalesAreaType",
        }

    @staticmethod
    def _supplier(a: Account, key: str) -> Row:
        org = {
            "Supplier": key,
            "PurchasingOrganization": PURCHASING_ORG,
            "PurchaseOrderCurrency": a.currency or "",
            "PaymentTerms": a.payment_terms or "",
        }
        return {
            "Supplier": key,
            "PostingIsBlocked": a.blocked and a.kind == "supplier",
            "PurchasingIsBlocked": False,
            "DeletionIndicator": not a.active,
            "to_SupplierPurchasingOrg": lambda: [org],
            "_type_to_SupplierPurchasingOrg": "API_BUSINESS_PARTNER.A_SupplierPurchasingOrgType",
        }

    # -- products and stock --------------------------------------------------------------------------------------
    def _product(self, fact: Any) -> Row:
        if isinstance(fact, Stamped):
            p: Product = fact.record
            created, changed = fact.created_at, fact.modified_at or fact.created_at
            code, name, base, vat, kind = p.code, p.name, p.base_unit, p.vat_rate, "HAWA"
            units, barcodes, active = p.units, p.barcodes, p.active
            group, category, brand = p.group_code or "", p.category_code or "", p.brand or ""
        else:  # a service card: a DIEN (service) material in S/4
            created = changed = self.scenario.as_of - dt.timedelta(days=1000)
            code, name, base, vat, kind = fact.code, fact.name, fact.unit, fact.vat_rate, "DIEN"
            units, barcodes, active, group, category, brand = [], [], True, "HIZMET", "HIZMET", ""
        key = codes.alpha_in(code, codes.MATNR_LENGTH)
        uoms = [self._uom(key, u.unit, u.factor, [u.barcode] if u.barcode else []) for u in units]
        if uoms:
            uoms[0] = self._uom(key, units[0].unit, units[0].factor, barcodes)
        svc = "API_PRODUCT_SRV"
        tax_class = _TAX_CLASSES.get(vat, "1") if vat is not None else "1"
        return {
            "Product": key,
            "ProductType": kind,
            "ProductGroup": group,
            "ExternalProductGroup": category,
            "BaseUnit": _unit(base),
            "Brand": brand,
            "IsMarkedForDeletion": not active,
            "ProductStandardID": barcodes[0] if barcodes else "",
            "CreationDate": _day(created.astimezone(self.tz).date()),
            "LastChangeDateTime": _instant(changed),
            "to_Description": lambda: [
                {"Product": key, "Language": "TR", "ProductDescription": name},
                {"Product": key, "Language": "EN", "ProductDescription": f"{name} (EN)"},
            ],
            "_type_to_Description": f"{svc}.A_ProductDescriptionType",
            "to_ProductUnitsOfMeasure": lambda: uoms,
            "_type_to_ProductUnitsOfMeasure": f"{svc}.A_ProductUnitsOfMeasureType",
            "to_ProductSalesTax": lambda: [
                {"Product": key, "Country": "TR", "TaxCategory": "MWST", "TaxClassification": tax_class},
                {"Product": key, "Country": "DE", "TaxCategory": "MWST", "TaxClassification": "0"},
            ],
            "_type_to_ProductSalesTax": f"{svc}.A_ProductSalesTaxType",
        }

    @staticmethod
    def _uom(key: str, unit: str, factor: Decimal, eans: list[str]) -> Row:
        numerator, denominator = factor.as_integer_ratio()
        unit = _unit(unit)
        articles = [
            {"Product": key, "AlternativeUnit": unit, "ConsecutiveNumber": f"{i:05d}", "ProductStandardID": ean,
             "IsMainGlobalTradeItemNumber": i == 1}
            for i, ean in enumerate(eans, start=1)
        ]  # fmt: skip
        return {
            "Product": key,
            "AlternativeUnit": unit,
            "QuantityNumerator": Decimal(numerator),
            "QuantityDenominator": Decimal(denominator),
            "GlobalTradeItemNumber": eans[0] if eans else "",
            "to_InternationalArticleNumber": lambda: articles,
            "_type_to_InternationalArticleNumber": "API_PRODUCT_SRV.A_ProductUnitsOfMeasureEANType",
        }

    @staticmethod
    def _stock(fact: tuple[StockLevel, str, Decimal]) -> Row:
        level, stock_type, quantity = fact
        return {
            "Material": codes.alpha_in(level.product_code, codes.MATNR_LENGTH),
            "Plant": PLANT,
            "StorageLocation": level.warehouse_code,
            "Batch": "",
            "Supplier": "",
            "Customer": "",
            "InventorySpecialStockType": "",
            "InventoryStockType": stock_type,
            "MaterialBaseUnit": "",
            "MatlWrhsStkQtyInMatlBaseUnit": quantity,
        }

    # -- conditions and credit -----------------------------------------------------------------------------------
    def _condition(self, st: Any) -> Row:
        d: Discount = st.record
        condition_type = {
            "percent": "K007", "amount": "RB00", "fixed_price": "PPR0"
        }[d.kind]  # fmt: skip
        rate, per = (d.value, Decimal(1)) if d.kind != "fixed_price" else _price(d.value)
        if d.kind != "fixed_price":
            rate = -rate  # discounts are negative condition rates
        validity = {
            "ConditionRecord": d.code,
            "ConditionValidityStartDate": _day(d.valid_from or st.created_at.date()),
            "ConditionValidityEndDate": _day(d.valid_to or dt.date(9999, 12, 31)),
            "ConditionType": condition_type,
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "Customer": codes.alpha_in(d.account_code, codes.KUNNR_LENGTH) if d.account_code else "",
            "CustomerGroup": d.account_group_code or "",
            "Material": codes.alpha_in(d.product_code, codes.MATNR_LENGTH) if d.product_code else "",
            "MaterialGroup": d.product_group_code or "",
        }
        scale = (
            [{"ConditionRecord": d.code, "ConditionSequentialNumber": "01", "ConditionScaleLine": "0001",
              "ConditionScaleQuantity": d.min_quantity, "ConditionRateValue": rate}]
            if d.min_quantity is not None else []
        )  # fmt: skip
        svc = "API_SLSPRICINGCONDITIONRECORD_SRV"
        return {
            "ConditionRecord": d.code,
            "ConditionSequentialNumber": "01",
            "ConditionType": condition_type,
            "ConditionRateValue": rate,
            "ConditionRateValueUnit": "%" if d.kind == "percent" else d.currency or self.local,
            "ConditionQuantity": per,
            "ConditionIsDeleted": not d.active,
            "CreationDate": _day(st.created_at.astimezone(self.tz).date()),
            "to_SlsPrcgCndnRecdValidity": lambda: [validity],
            "_type_to_SlsPrcgCndnRecdValidity": f"{svc}.A_SlsPrcgCndnRecdValidityType",
            "to_SlsPrcgCndnRecordScale": lambda: scale,
            "_type_to_SlsPrcgCndnRecordScale": f"{svc}.A_SlsPrcgCndnRecordScaleType",
        }

    @staticmethod
    def _credit(limit: Any) -> Row:
        return {
            "BusinessPartner": codes.alpha_in(limit.account_code, codes.KUNNR_LENGTH),
            "CreditSegment": CREDIT_SEGMENT,
            "CreditLimitAmount": limit.limit,
            "CreditSegmentCurrency": limit.currency,
            "CreditAccountIsBlocked": limit.blocked,
        }

    # -- sales documents -----------------------------------------------------------------------------------------
    def _pricing(self, line: Any, currency: str) -> list[Row]:
        rate, per = _price(line.unit_price)
        elements: list[Row] = [
            {"PricingProcedureStep": "010", "ConditionType": "PPR0", "ConditionClass": "B", "ConditionRateValue": rate,
             "ConditionCurrency": currency, "ConditionQuantity": per, "ConditionAmount": line.gross,
             "ConditionIsForStatistics": False, "ConditionInactiveReason": ""},
        ]  # fmt: skip
        if line.discount:
            percent = (line.discount * 100 / line.gross).quantize(Decimal("0.001")) if line.gross else Decimal(0)
            elements.append(
                {"PricingProcedureStep": "100", "ConditionType": "K007", "ConditionClass": "A",
                 "ConditionRateValue": -percent, "ConditionCurrency": "%", "ConditionQuantity": Decimal(0),
                 "ConditionAmount": -line.discount, "ConditionIsForStatistics": False, "ConditionInactiveReason": ""}
            )  # fmt: skip
        elements.append(
            {"PricingProcedureStep": "900", "ConditionType": "MWST", "ConditionClass": "D",
             "ConditionRateValue": line.vat_rate, "ConditionCurrency": "%", "ConditionQuantity": Decimal(0),
             "ConditionAmount": line.vat, "ConditionIsForStatistics": False, "ConditionInactiveReason": ""}
        )  # fmt: skip
        # A statistical cost condition (VPRS) is never part of the price.
        elements.append(
            {"PricingProcedureStep": "950", "ConditionType": "VPRS", "ConditionClass": "B",
             "ConditionRateValue": line.unit_price, "ConditionCurrency": currency, "ConditionQuantity": Decimal(1),
             "ConditionAmount": line.gross / 2, "ConditionIsForStatistics": True, "ConditionInactiveReason": ""}
        )  # fmt: skip
        return elements

    def _order(self, doc: _Doc) -> Row:
        o: Order = doc.record
        process = {"closed": "C", "shippable": "B"}.get(o.status, "A")
        svc = "API_SALES_ORDER_SRV"
        partners = [{"SalesOrder": o.number, "PartnerFunction": "AG", "Customer": codes.alpha_in(o.account_code, 10),
                     "Personnel": ""}]  # fmt: skip
        if o.sales_rep_code:
            partners.append({"SalesOrder": o.number, "PartnerFunction": "VE", "Customer": "",
                             "Personnel": o.sales_rep_code})  # fmt: skip
        return {
            "SalesOrder": o.number,
            "SalesOrderType": "OR",
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "OrganizationDivision": DIVISION,
            "SoldToParty": codes.alpha_in(o.account_code, codes.KUNNR_LENGTH),
            "SalesOrderDate": _day(o.date),
            "CreationDate": _day(doc.created.astimezone(self.tz).date()),
            "LastChangeDateTime": _instant(doc.changed),
            "TransactionCurrency": o.currency,
            "AccountingExchangeRate": o.rate,
            "TotalNetAmount": o.totals.net,
            "OverallSDProcessStatus": process,
            "OverallSDDocumentRejectionSts": "C" if o.status == "cancelled" else "A",
            "DeliveryBlockReason": "01" if o.status == "proposal" else "",
            "to_Item": lambda: [self._order_item(o, line) for line in o.lines],
            "_type_to_Item": f"{svc}.A_SalesOrderItemType",
            "to_Partner": lambda: partners,
            "_type_to_Partner": f"{svc}.A_SalesOrderHeaderPartnerType",
        }

    def _order_item(self, o: Order, line: Any) -> Row:
        closed = o.status == "cancelled" or line.closed
        status = "C" if closed else "B" if line.shipped_quantity else "A"
        return {
            "SalesOrder": o.number,
            "SalesOrderItem": _item_no(line.line_no),
            "SalesOrderItemCategory": "TAD" if line.kind == "service" else "TAN",
            "Material": codes.alpha_in(line.product_code or "", codes.MATNR_LENGTH),
            "RequestedQuantity": line.quantity,
            "RequestedQuantityUnit": _unit(line.unit),
            "NetAmount": line.net,
            "TaxAmount": line.vat,
            "TransactionCurrency": o.currency,
            "ProductionPlant": PLANT,
            "StorageLocation": line.warehouse_code or "",
            "SDProcessStatus": status,
            "SalesDocumentRjcnReason": "Z1" if o.status == "cancelled" else "",
            "to_PricingElement": lambda: self._pricing(line, o.currency),
            "_type_to_PricingElement": "API_SALES_ORDER_SRV.A_SalesOrderItemPrcgElmntType",
        }

    _BILLING_TYPES: Mapping[str, tuple[str, str]] = {
        "sale": ("F2", codes.VBTYP_INVOICE),
        "service": ("F2", codes.VBTYP_INVOICE),
        "return": ("G2", codes.VBTYP_CREDIT_MEMO),
        "price_difference": ("L2", codes.VBTYP_DEBIT_MEMO),
    }

    def _billing(self, doc: _Doc) -> Row:
        inv: Invoice = doc.record
        cancellation = bool(doc.cancels)
        if cancellation:
            billing_type, category = ("S1", codes.VBTYP_INVOICE_CANCELLATION)
        else:
            billing_type, category = self._BILLING_TYPES[inv.kind]
        issued = (inv.issued_at or doc.created).astimezone(self.tz)
        svc = "API_BILLING_DOCUMENT_SRV"
        partners = [{"BillingDocument": inv.number, "PartnerFunction": "AG", "Customer": codes.alpha_in(
            inv.account_code, codes.KUNNR_LENGTH), "Personnel": ""}]  # fmt: skip
        if inv.sales_rep_code:
            partners.append({"BillingDocument": inv.number, "PartnerFunction": "VE", "Customer": "",
                             "Personnel": inv.sales_rep_code})  # fmt: skip
        return {
            "BillingDocument": inv.number,
            "BillingDocumentType": billing_type,
            "SDDocumentCategory": category,
            "BillingDocumentDate": _day(inv.date),
            "CreationDate": _day(issued.date()),
            "CreationTime": issued.time().replace(microsecond=0),
            "LastChangeDateTime": _instant(doc.changed),
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "Division": DIVISION,
            "SoldToParty": codes.alpha_in(inv.account_code, codes.KUNNR_LENGTH),
            "PayerParty": codes.alpha_in(inv.account_code, codes.KUNNR_LENGTH),
            "TransactionCurrency": inv.currency,
            "AccountingExchangeRate": inv.rate,
            "TotalNetAmount": inv.totals.net,
            "TotalGrossAmount": inv.totals.total,
            "BillingDocumentIsCancelled": inv.cancelled and not cancellation,
            "CancelledBillingDocument": doc.cancels,
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": str(inv.date.year),
            "AccountingDocument": inv.number,
            "DocumentReferenceID": inv.document_no or "",
            "to_Item": lambda: [self._billing_item(inv, line) for line in inv.lines],
            "_type_to_Item": f"{svc}.A_BillingDocumentItemType",
            "to_Partner": lambda: partners,
            "_type_to_Partner": f"{svc}.A_BillingDocumentPartnerType",
        }

    def _billing_item(self, inv: Invoice, line: Any) -> Row:
        service = line.kind == "service"
        category = "TAD" if service else {"return": "G2N", "price_difference": "L2N"}.get(inv.kind, "TAN")
        return {
            "BillingDocument": inv.number,
            "BillingDocumentItem": _item_no(line.line_no),
            "SalesDocumentItemCategory": category,
            "Material": codes.alpha_in(line.product_code or "", codes.MATNR_LENGTH),
            "BillingQuantity": line.quantity,
            "BillingQuantityUnit": _unit(line.unit),
            "NetAmount": line.net,
            "TaxAmount": line.vat,
            "TransactionCurrency": inv.currency,
            "Plant": PLANT,
            "StorageLocation": line.warehouse_code or "",
            "ReferenceSDDocument": inv.original_invoice or "",
            "ReferenceSDDocumentCategory": codes.VBTYP_INVOICE if inv.original_invoice else "",
            "to_PricingElement": lambda: self._pricing(line, inv.currency),
            "_type_to_PricingElement": "API_BILLING_DOCUMENT_SRV.A_BillingDocumentItemPrcgElmntType",
        }

    # -- receivables ---------------------------------------------------------------------------------------------
    def _fi_item(self, p: _Payment) -> Row:
        entered = p.entered.astimezone(self.tz)
        return {
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": str(p.posted.year),
            "AccountingDocument": p.doc,
            "AccountingDocumentItem": p.item,
            "AccountingDocumentType": p.doc_type,
            "FinancialAccountType": "D",
            "Customer": codes.alpha_in(p.account, codes.KUNNR_LENGTH),
            "PostingDate": _day(p.posted),
            "DocumentDate": _day(p.posted),
            "NetDueDate": _day(p.due or p.posted),
            "DebitCreditCode": codes.DEBIT if p.amount >= 0 else codes.CREDIT,
            "AmountInTransactionCurrency": p.amount,
            "TransactionCurrency": p.currency,
            "AmountInCompanyCodeCurrency": p.amount_local,
            "CompanyCodeCurrency": self.local,
            "AbsoluteExchangeRate": p.rate,
            "PaymentMethod": p.method,
            "InvoiceReference": p.invoice_ref,
            "ClearingAccountingDocument": p.cleared_by,
            "ClearingDate": _day(p.cleared_on) if p.cleared_on else None,
            "IsReversal": p.reversal,
            "ReverseDocument": p.reversed_by,
            "AccountingDocumentCreationDate": _day(entered.date()),
        }


def _replace(p: _Payment, **changes: Any) -> _Payment:
    return _Payment(**{**p.__dict__, **changes})


def _split(amount: Decimal, parts: int) -> list[Decimal]:
    """`amount` in `parts` shares of whole cents, the last taking the remainder."""
    cents = int(amount * 100)
    share = cents // parts
    shares = [Decimal(share).scaleb(-2)] * (parts - 1)
    return [*shares, Decimal(cents - share * (parts - 1)).scaleb(-2)]
