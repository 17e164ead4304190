"""An SAP ECC system on loopback, as an integration sees it: RFC-enabled function modules published as SOAP.

    with EccEmulator(build()) as ecc:
        settings = ecc.settings()          # the keys of a `kind: sap` source reading it
        ecc.apply(change)                  # one of the scenario's later edits
        ecc.fail_next(503, (503, 1), "timeout")

It serves RFC_READ_TABLE over the scenario laid into ECC tables (see ecc_scenario.py for how
SAP holds each fact, ecc_ddic.py for the tables and DD03L) and BAPI_COMPANYCODE_GETDETAIL, published
the way SOAMANAGER publishes function modules (ecc_soap.py): one service definition, a SOAP 1.1
and a SOAP 1.2 binding at /sap/bc/srt/rfc/sap/<definition>/<client>/<service>/<binding>, the
binding WSDL at /sap/bc/srt/wsdl/bndg_<id>/wsdl11/allinone/ws_policy/document. It answers like
SAP's ICF: 401 with a logon error page for bad credentials or an unknown sap-client, each SOAP
version in its own envelope, SOAP faults (HTTP 500) naming the ABAP exception a function module
raised (TABLE_NOT_AVAILABLE, FIELD_NOT_VALID, NOT_AUTHORIZED, DATA_BUFFER_EXCEEDED beyond 512
characters, ...) or the request the runtime refused (a missing mandatory parameter).

Faults queued with fail_next hit the next POSTs, in order: an HTTP status (with a Retry-After),
answered before authentication as a gateway would; "timeout" (the answer comes after
`timeout_sleep` seconds); or the name of an ABAP exception the called function module raises
(e.g. "SYSTEM_FAILURE", a short dump), answered as a SOAP fault. Site variants: `publication`
(which SOAP bindings, whether RFC_READ_TABLE's DATA is optional), `matnr_length` (18, or 40 with
the extended material number), `qualify` (every answer element namespace-qualified).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from connectors.sap.emulator import ecc_soap
from connectors.sap.emulator.ecc_prices import PRICE_LIST_TABLES
from connectors.sap.emulator.ecc_scenario import BUKRS, SPART, VKORG, VTWEG, WERKS, EccScenario
from connectors.sap.emulator.ecc_soap import Publication, RequestError
from connectors.sap.emulator.ecc_tables import Database, ReadTableError
from scenario.facts import Change, Scenario
from scenario.loopback import EmulatorHandler, LoopbackServer, Served

__all__ = ["WSDL_PATH", "EccEmulator", "EccRequest", "Fault"]

SOAMANAGER = Publication()
# The binding WSDL's URL as SOAMANAGER shows it (the id is the binding's GUID).
WSDL_PATH = "/sap/bc/srt/wsdl/bndg_4F9A1C2E77B21EE0A8F3D4E5C6B7A890/wsdl11/allinone/ws_policy/document"
# Condition tables and types of the emulated installation (A9xx and Z-types are its own).
CONDITION_TABLES = {
    "A004": ["K004"],
    "A007": ["ZK07"],
    "A305": ["PR00"],
    "A901": ["ZK20"],
    "A902": ["ZK29"],
    "A903": ["ZK30"],
}
Fault = int | tuple[int, float] | str


class EccRequest(NamedTuple):
    method: str
    function: str  # "WSDL" for a WSDL download, "" when the body was not read
    table: str  # QUERY_TABLE of an RFC_READ_TABLE call
    status: int
    version: str = ""  # the SOAP version of a call
    fields: tuple[str, ...] = ()  # FIELDS of an RFC_READ_TABLE call
    options: tuple[str, ...] = ()  # its OPTIONS lines
    sent: tuple[str, ...] = ()  # the parameters the request carried, in its order


class EccEmulator(Served):
    def __init__(
        self,
        scenario: Scenario,
        *,
        user: str = "DEALERSYNC",
        password: str | None = None,
        client: str = "100",
        published: Iterable[str] = tuple(ecc_soap.FUNCTIONS),
        publication: Publication = SOAMANAGER,
        matnr_length: int = 18,
        qualify: bool = False,
        timeout_sleep: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.user = user
        self.password = password or secrets.token_urlsafe(12)
        self.client = client
        self.published = set(published)
        self.publication = publication
        self.qualify = qualify  # answer with every element namespace-qualified (a rewriting gateway)
        self.timeout_sleep = timeout_sleep
        self.local_currency = scenario.local_currency
        self.db = Database(client, matnr_length)
        self.laid = EccScenario(self.db, scenario)
        self.laid.lay()
        self.requests: list[EccRequest] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.server = LoopbackServer(_Handler, owner=self, host=host, port=port)

    @property
    def path(self) -> str:
        return self.publication.path(self.client)

    @property
    def url(self) -> str:
        """The binding's endpoint."""
        return f"{self.server.origin}{self.path}"

    @property
    def wsdl_url(self) -> str:
        return f"{self.server.origin}{WSDL_PATH}"

    @property
    def discount_codes(self) -> dict[str, str]:
        """Scenario discount rule code -> the condition record code the feed shows for it."""
        return self.laid.discount_codes

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The settings of an SAP source reading this system (flavour ecc_soap)."""
        return {
            "flavour": "ecc_soap",
            "url": self.url,
            "auth": {"kind": "basic", "username": self.user, "password": self.password},
            "sap_client": self.client,
            "local_currency": self.local_currency,
            "company_code": BUKRS,
            "sales_organization": VKORG,
            "distribution_channel": VTWEG,
            "division": SPART,
            "ecc": {
                "wsdl_url": self.wsdl_url,
                "condition_tables": CONDITION_TABLES,
                "price_list_tables": PRICE_LIST_TABLES,
                "brand_field": "EXTWG",
                "plants": [WERKS],
            },
            **overrides,
        }

    def apply(self, change: Change) -> None:
        self.laid.apply(change)

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def drop(self, table: str, *fields: str) -> None:
        """Serve `table` without some fields (another release, an installation without them)."""
        self.db.drop(table, *fields)

    def retype(self, table: str, field: str, type_: str, datatype: str) -> None:
        self.db.retype(table, field, type_, datatype)

    def deny(self, *tables: str) -> None:
        """Take the technical user's authorisation for some tables away (RFC_READ_TABLE raises NOT_AUTHORIZED)."""
        self.db.denied.update(tables)

    def calls(self, function: str | None = None) -> list[EccRequest]:
        with self._lock:
            return [r for r in self.requests if function is None or r.function == function]

    # -- serving --------------------------------------------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _log(self, request: EccRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def logon_error(self, query: str, authorization: str | None) -> str | None:
        """Why ICF refuses the logon, or None: an unknown client first, then the credentials."""
        client = parse_qs(query).get("sap-client", [self.client])[0]
        if client != self.client:
            return f"Client {client} is not available in this system"
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if authorization is None or not secrets.compare_digest(authorization, f"Basic {expected}"):
            return "Name or password is incorrect (repeat logon)"
        return None

    def wsdl(self) -> bytes:
        functions = [f for name, f in ecc_soap.FUNCTIONS.items() if name in self.published]
        return ecc_soap.wsdl(functions, f"{self.url}?sap-client={self.client}", self.publication)

    def call(self, request: ecc_soap.Request) -> tuple[int, bytes, str]:
        """(HTTP status, SOAP envelope, table) of one function module call."""
        function, version = request.function, request.version
        if function not in self.published or function not in ecc_soap.FUNCTIONS:
            return 500, ecc_soap.fault(function, "FU_NOT_FOUND", f"Function module {function} not found", version), ""
        ecc_soap.check_request(request, self.publication)
        if function == "RFC_READ_TABLE":
            return self._read_table(request.params, version)
        return 200, self._company_code(str(request.params.get("COMPANYCODEID", "")), version), ""

    def _read_table(self, params: dict[str, Any], version: str) -> tuple[int, bytes, str]:
        table = str(params.get("QUERY_TABLE", "")).strip().upper()
        options = [row.get("TEXT", "") for row in params.get("OPTIONS") or []]
        try:
            data, fields = self.db.read_table(
                table,
                [row.get("FIELDNAME", "") for row in params.get("FIELDS") or []],
                options,
                delimiter=str(params.get("DELIMITER") or ""),
                no_data=str(params.get("NO_DATA") or "").strip() == "X",
                rowskips=int(params.get("ROWSKIPS") or 0),
                rowcount=int(params.get("ROWCOUNT") or 0),
            )
        except ReadTableError as exc:
            return 500, ecc_soap.fault("RFC_READ_TABLE", exc.name, exc.text, version), table
        body = ecc_soap.response(
            "RFC_READ_TABLE",
            {"DATA": [{"WA": wa} for wa in data], "FIELDS": fields, "OPTIONS": [{"TEXT": t} for t in options]},
            version,
            self.qualify,
        )
        return 200, body, table

    def _company_code(self, code: str, version: str) -> bytes:
        rows = [r for r in self.db.stores["T001"].rows if r["BUKRS"].rstrip() == code.strip()]
        if not rows:
            message = f"Company code {code} does not exist"
            result = {"RETURN": {"TYPE": "E", "CODE": "FN021", "MESSAGE": message, "MESSAGE_V1": code}}
            return ecc_soap.response("BAPI_COMPANYCODE_GETDETAIL", result, version)
        t001 = rows[0]
        detail = {
            "COMP_CODE": t001["BUKRS"],
            "COMP_NAME": t001["BUTXT"],
            "CITY": t001["ORT01"],
            "COUNTRY": t001["LAND1"],
            "CURRENCY": t001["WAERS"],
            "CURRENCY_ISO": t001["WAERS"],
            "LANGU": t001["SPRAS"],
        }
        return ecc_soap.response("BAPI_COMPANYCODE_GETDETAIL", {"COMPANYCODE_DETAIL": detail, "RETURN": {}}, version)


_LOGON_PAGE = (
    "<html><head><title>Logon Error Message</title></head><body><h1>Logon failed</h1>"
    "<p>{reason}</p><p>Error: Logon failed</p></body></html>"
)


class _Handler(EmulatorHandler):
    """Answers for the EccEmulator that owns the server; its request log is EccEmulator.requests."""

    server: LoopbackServer

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its read timeout)

    def _refused(self, method: str, function: str, reason: str) -> None:
        self.server.owner._log(EccRequest(method, function, "", 401))
        realm = f'Basic realm="SAP NetWeaver Application Server [ECC/{self.server.owner.client}]"'
        body = _LOGON_PAGE.format(reason=reason).encode()
        self._send(401, body, "text/html; charset=utf-8", {"WWW-Authenticate": realm})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        ecc = self.server.owner
        if parts.path != WSDL_PATH:
            ecc._log(EccRequest("GET", "", "", 404))
            self._send(404, b"<html><body>Service cannot be reached</body></html>", "text/html")
            return
        reason = ecc.logon_error(parts.query, self.headers.get("Authorization"))
        if reason:
            self._refused("GET", "WSDL", reason)
            return
        ecc._log(EccRequest("GET", "WSDL", "", 200))
        self._send(200, ecc.wsdl(), "text/xml; charset=utf-8")

    def do_POST(self) -> None:
        ecc = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = ecc._next_fault()
        if fault == "timeout":
            time.sleep(ecc.timeout_sleep)
        elif fault is not None and not isinstance(fault, str):
            status, retry_after = fault if isinstance(fault, tuple) else (int(fault), None)
            ecc._log(EccRequest("POST", "", "", status))
            extra = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            page = f"<html><body><h1>{status}</h1><p>ICM: service unavailable</p></body></html>".encode()
            self._send(status, page, "text/html", extra)
            return
        parts = urlsplit(self.path)
        if parts.path != ecc.path:
            ecc._log(EccRequest("POST", "", "", 404))
            self._send(404, b"<html><body>Service cannot be reached</body></html>", "text/html")
            return
        reason = ecc.logon_error(parts.query, self.headers.get("Authorization"))
        if reason:
            self._refused("POST", "", reason)
            return
        try:
            request = ecc_soap.parse_request(body)
            self._binding(request)
            if isinstance(fault, str) and fault != "timeout":
                status, reply, table = (
                    500,
                    ecc_soap.fault(request.function, fault, "raised", request.version, False),
                    "",
                )
            else:
                status, reply, table = ecc.call(request)
        except RequestError as exc:
            ecc._log(EccRequest("POST", "", "", 500))
            content = "text/xml" if exc.version == "1.1" else "application/soap+xml"
            self._send(500, ecc_soap.fault("SOAP", "CX_ST_MATCH_ELEMENT", str(exc), exc.version), content)
            return
        params = request.params
        fields = tuple(row.get("FIELDNAME", "") for row in params.get("FIELDS") or [])
        options = tuple(row.get("TEXT", "") for row in params.get("OPTIONS") or [])
        ecc._log(EccRequest("POST", request.function, table, status, request.version, fields, options, request.order))
        content = "text/xml" if request.version == "1.1" else "application/soap+xml"
        self._send(status, reply, f"{content}; charset=utf-8")

    def _binding(self, request: ecc_soap.Request) -> None:
        """The request must come through a published binding: its SOAP version, content type and action."""
        ecc = self.server.owner
        if request.version not in ecc.publication.versions:
            raise RequestError(f"no SOAP {request.version} binding is configured for this endpoint", request.version)
        content = self.headers.get("Content-Type", "")
        action = ecc.publication.action(request.function)
        if request.version == "1.1":
            given = (self.headers.get("SOAPAction") or "").strip('"')
            if not content.startswith("text/xml") or given != action:
                raise RequestError(f"a SOAP 1.1 request needs text/xml and SOAPAction {action}", "1.1")
        elif not content.startswith("application/soap+xml") or ("action=" in content and action not in content):
            raise RequestError(f"a SOAP 1.2 request needs application/soap+xml; action={action}", "1.2")
