"""SOAP 1.1 and 1.2 answers of SAP's SOAP runtime, read by local names.

SOAMANAGER answers `<n0:FMResponse xmlns:n0="urn:sap-com:document:sap:rfc:functions">` with
unqualified parameters (captured SOAP 1.1 and 1.2 responses, see connectors/sap/vendor/ecc); the
generic ICF handler /sap/bc/soap/rfc names it `FM.Response`. Elements are matched by local name, so
a gateway that qualifies every element reads the same; an answer that is none of these raises
EccCallError, never an empty result.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from connectors.base import ConnectorError

__all__ = [
    "SOAP11",
    "SOAP12",
    "EccCallError",
    "child",
    "children",
    "fault_error",
    "local",
    "response",
    "text",
]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)


class EccCallError(ConnectorError):
    """A function module failed: an ABAP exception (SOAP fault) or a RETURN message of type E/A."""

    def __init__(self, message: str, function: str, exception: str | None = None) -> None:
        super().__init__(message)
        self.function = function
        self.exception = exception


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (c for c in element if isinstance(c.tag, str) and local(c) == name)


def child(element: etree._Element, name: str) -> etree._Element | None:
    return next(children(element, name), None)


def text(element: etree._Element, name: str) -> str | None:
    found = child(element, name)
    return None if found is None else (found.text or "")


def response(content: bytes, function: str, where: str) -> etree._Element:
    """The function module's response element in a SOAP 1.1 or 1.2 envelope; EccCallError for a fault,
    for broken XML, or for an answer that is not this function module's response."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EccCallError(f"{function} at {where} answered with broken XML: {exc}", function) from None
    namespace = etree.QName(root).namespace
    if local(root) != "Envelope" or namespace not in (SOAP11, SOAP12):
        raise EccCallError(f"{function} at {where} answered with {local(root)!r}, not a SOAP envelope", function)
    body = root.find(f"{{{namespace}}}Body")
    elements = [] if body is None else [e for e in body if isinstance(e.tag, str)]
    if not elements:
        raise EccCallError(f"{function} at {where} answered without a SOAP body", function)
    answer = elements[0]
    if local(answer) == "Fault":
        raise fault_error(function, answer)
    if local(answer) not in (f"{function}Response", f"{function}.Response"):
        raise EccCallError(
            f"{function} at {where} answered with {local(answer)!r} instead of {function}Response", function
        )
    return answer


def fault_error(function: str, fault: etree._Element) -> EccCallError:
    """The ABAP exception a SOAP fault names in its detail (<FM>.Exception/Name), else its fault string."""
    reason = text(fault, "faultstring")  # SOAP 1.1
    detail = child(fault, "detail")
    if reason is None:  # SOAP 1.2: Reason/Text and Detail
        found = child(fault, "Reason")
        reason = None if found is None else text(found, "Text")
        detail = child(fault, "Detail")
    name = message = None
    if detail is not None:
        for element in detail.iter():
            if not isinstance(element.tag, str):
                continue
            if local(element) == "Name" and name is None:
                name = element.text
            elif local(element) == "Text" and message is None:
                message = element.text
    exception = (name or reason or "").strip() or None
    said = f": {message.strip()}" if message and message.strip() else ""
    return EccCallError(f"{function} raised {exception or 'a SOAP fault'}{said}", function, exception)
