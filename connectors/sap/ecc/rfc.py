"""Calling RFC-enabled function modules that ECC publishes as SOAP services, with zeep.

zeep sends through the shared HttpClient's session (auth, TLS, User-Agent) and each call runs
under its retry policy. A transport between them turns HTTP answers into the client's errors
before zeep parses anything: SAP answers an application error (an ABAP exception) with HTTP 500
and a SOAP fault, which is not worth retrying, while a 500/503 page from the ICM or a proxy is.
Function modules report errors two ways, and both become EccCallError: SOAP faults naming the
ABAP exception, and BAPIs' RETURN parameter (a structure or a table) with TYPE E or A.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport

from connectors.base import ConnectorError
from connectors.http import (
    AuthFailed,
    HttpClient,
    excerpt,
)

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["EccCallError", "Rfc", "WrongClient"]

# SAP's logon error page for a client that does not exist ("Client 999 is not available in this system").
_NO_CLIENT = re.compile(r"client\s+\S+\s+is\s+not\s+available", re.IGNORECASE)
_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
_PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)


class EccCallError(ConnectorError):
    """A function module failed: an ABAP exception (SOAP fault) or a RETURN message of type E/A."""

    def __init__(self, message: str, function: str, exception: str | None = None) -> None:
        super().__init__(message)
        self.function = function
        self.exception = exception


class WrongClient(AuthFailed):
    """The system has no client (MANDT) with the configured sap_client."""


class _Transport(Transport):
    def __init__(self, http: HttpClient, settings: SapSettings) -> None:
        super().__init__(
            session=http.session, timeout=settings.timeout_seconds, operation_timeout=settings.timeout_seconds
        )
        self.http = http
        self.settings = settings
        self.secrets = settings.secrets()

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        response = super().post(address, message, headers)
        if response.status_code == 500 and b"Fault>" in response.content[:4000]:
            return response  # an ABAP exception: zeep raises it as a Fault
        return self._checked(response)

    def _load_remote_data(self, url: str) -> bytes:
        response = self.session.get(url, timeout=self.load_timeout)
        return self._checked(response).content

    def _checked(self, response: requests.Response) -> requests.Response:
        if response.status_code == 401 and _NO_CLIENT.search(response.text):
            where, body = HttpClient.where(response.url), excerpt(response, self.secrets)
            raise WrongClient(
                f"{where} has no SAP client {self.settings.sap_client} (HTTP 401: {body}): check sap_client", 401
            )
        return self.http.checked(response, not_found="is the SOAP service active in SICF at this URL?")


class Rfc:
    """The function modules one ECC system publishes, loaded from its WSDL on first use."""

    def __init__(self, settings: SapSettings) -> None:
        self.settings = settings
        self.http = HttpClient(settings, params={"sap-client": settings.sap_client})
        self.wsdl_url = self.http.url(settings.ecc.wsdl_url or f"{settings.url}?wsdl")
        self._loaded: tuple[zeep.Client, dict[str, Callable[..., Any]]] | None = None

    @property
    def where(self) -> str:
        return HttpClient.where(self.wsdl_url)

    def functions(self, *, retry: bool = True) -> set[str]:
        """The function modules the WSDL publishes (loading it on first use)."""
        return set(self._load(retry)[1])

    def _load(self, retry: bool) -> tuple[zeep.Client, dict[str, Callable[..., Any]]]:
        """The zeep client and, per published function module, its operation bound to our endpoint."""
        if self._loaded is None:
            transport = _Transport(self.http, self.settings)

            def load() -> zeep.Client:
                return zeep.Client(self.wsdl_url, transport=transport, settings=zeep.Settings(xml_huge_tree=True))

            try:
                client = self.http.retrying(load, retry=retry, what=self.where)
            except zeep.exceptions.Error as exc:
                raise ConnectorError(f"the WSDL at {self.where} is not usable: {exc}") from None
            operations: dict[str, Callable[..., Any]] = {}
            endpoints = self.settings.ecc.endpoints
            for service in client.wsdl.services.values():
                for port in service.ports.values():
                    for name in port.binding.all():
                        # The WSDL's own address may name a host we cannot reach (NAT, proxies): use ours.
                        address = self.http.url(endpoints.get(name, self.settings.url))
                        operations[name] = getattr(client.create_service(port.binding.name, address), name)
            self._loaded = (client, operations)
        return self._loaded

    def _operation(self, function: str, retry: bool) -> tuple[zeep.Client, Callable[..., Any]]:
        client, operations = self._load(retry)
        operation = operations.get(function)
        if operation is None:
            raise EccCallError(
                f"function module {function} is not published in the WSDL at {self.where}: publish it as a web "
                "service (SOAMANAGER) or list it in the WSDL URL's services parameter (see the SAP README)",
                function,
            )
        return client, operation

    def call_raw(self, function: str, *, retry: bool = True, **params: Any) -> etree._Element:
        """Call a function module and return its response element as lxml parsed it, skipping zeep's typed
        parsing (which costs more than the call itself for thousands of table rows). Errors as call()."""
        client, operation = self._operation(function, retry)

        def send() -> requests.Response:
            with client.settings(raw_response=True):
                return operation(**params)  # type: ignore[no-any-return]

        response = self.http.retrying(send, retry=retry, what=f"{function} at {self.where}")
        try:
            body = etree.fromstring(response.content, _PARSER).find(_BODY)
        except etree.XMLSyntaxError as exc:
            raise EccCallError(f"{function} at {self.where} answered with broken XML: {exc}", function) from None
        if body is None or len(body) == 0:
            raise EccCallError(f"{function} at {self.where} answered without a SOAP body", function)
        answer = body[0]
        if etree.QName(answer).localname == "Fault":
            raise _fault_error(function, answer.findtext("faultstring"), answer.find("detail"))
        return answer

    def call(self, function: str, *, retry: bool = True, **params: Any) -> Any:
        """Call a function module; EccCallError for an ABAP exception or a RETURN error, HttpSourceError
        (AuthFailed, WrongClient, ...) when the system cannot be reached or refuses the logon."""
        _, operation = self._operation(function, retry)
        try:
            result = self.http.retrying(lambda: operation(**params), retry=retry, what=f"{function} at {self.where}")
        except zeep.exceptions.Fault as fault:
            raise _fault_error(function, fault.message, fault.detail) from None
        except zeep.exceptions.Error as exc:
            raise EccCallError(f"{function} at {self.where} answered unexpectedly: {exc}", function) from None
        _check_return(function, result)
        return result

    def close(self) -> None:
        self.http.close()


def _fault_error(function: str, faultstring: str | None, detail: etree._Element | None) -> EccCallError:
    """The ABAP exception a SOAP fault names in its detail (<FM>.Exception/Name), else its faultstring."""
    name = text = None
    if detail is not None:
        name = detail.findtext(".//Name")
        text = detail.findtext(".//Text")
    exception = (name or faultstring or "").strip() or None
    reason = f": {text.strip()}" if text and text.strip() else ""
    return EccCallError(f"{function} raised {exception or 'a SOAP fault'}{reason}", function, exception)


def _check_return(function: str, result: Any) -> None:
    """Raise for a RETURN message of type E (error) or A (abort); W/I/S messages are not failures."""
    returned = _get(result, "RETURN")
    if returned is None:
        return
    items = _get(returned, "item")
    messages = items if items is not None else [returned]
    errors = [m for m in messages if (_get(m, "TYPE") or "").strip() in ("E", "A")]
    if errors:
        texts = "; ".join(_message(m) for m in errors)
        raise EccCallError(f"{function} returned an error: {texts}", function, "RETURN")


def _message(m: Any) -> str:
    code = " ".join(str(_get(m, k) or "").strip() for k in ("ID", "NUMBER", "CODE")).strip()
    text = str(_get(m, "MESSAGE") or "").strip() or "(no message text)"
    return f"{text} [{code}]" if code else text


def _get(value: Any, name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    try:
        return value[name]
    except (KeyError, TypeError, IndexError, AttributeError):
        return getattr(value, name, None)
