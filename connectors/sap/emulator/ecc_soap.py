"""SOAP for the ECC emulator: function-module interfaces, their WSDL as SOAMANAGER writes it, envelopes in and out.

The WSDL copies a SOAMANAGER-generated binding WSDL of an RFC function module (the sample kept in
connectors/sap/vendor/ecc): one service definition (the port type) whose operations are the
function modules, a binding `<B>` with SOAP 1.1 and a binding `<B>_soap12` with SOAP 1.2 and the
same soapAction `urn:sap-com:document:sap:rfc:functions:<service definition>:<FM>Request`, one
service with a port per binding, named like it, both at the same address; WS-Policy references;
a schema with attributeFormDefault="qualified" and no elementFormDefault, so parameters are
unqualified; parameters in alphabetical order, mandatory unless SAP marks them optional (no
minOccurs); tables as TABLE_OF_<structure> lists of <item>; a request part "parameters" and a
response part "parameter". Exceptions are faults with a `<FM>.Exception` element (Name, Text,
Message of type RfcException.Message), as SAP's JAXB-visible WSDLs show them.

Answers copy captured SOAMANAGER responses: `<n0:FMResponse xmlns:n0="urn:sap-com:document:sap:rfc:functions">`
with unqualified children, in a SOAP 1.1 (`soap-env`) or SOAP 1.2 (`env`) envelope matching the request.
SAP's deserializer is strict about the presence and order of elements: a request that leaves out a
mandatory parameter, or sends them out of order, is refused with a fault naming the element it
expected ("System expected the element ...", the text of SAP's XML deserialization errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from xml.sax.saxutils import escape

from lxml import etree

__all__ = [
    "FUNCTIONS",
    "NS",
    "SOAP11",
    "SOAP12",
    "Function",
    "Param",
    "Publication",
    "Request",
    "RequestError",
    "Structure",
    "check_request",
    "fault",
    "parse_request",
    "response",
    "wsdl",
]

NS: Final = "urn:sap-com:document:sap:rfc:functions"
SOAP11: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12: Final = "http://www.w3.org/2003/05/soap-envelope"


@dataclass(frozen=True)
class Structure:
    name: str
    fields: tuple[tuple[str, str], ...]  # (field, simple type such as "char10")


@dataclass(frozen=True)
class Param:
    name: str
    type: str | Structure  # a simple type name, or a structure
    kind: str  # "import", "export" or "table"
    optional: bool = True


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[Param, ...]
    exceptions: tuple[str, ...] = ()

    def request_params(self, data_optional: bool = False) -> list[Param]:
        params = sorted((p for p in self.params if p.kind in ("import", "table")), key=lambda p: p.name)
        return [Param(p.name, p.type, p.kind, True) if data_optional and p.name == "DATA" else p for p in params]

    def response_params(self) -> list[Param]:
        return sorted((p for p in self.params if p.kind in ("export", "table")), key=lambda p: p.name)


_RFC_DB_OPT = Structure("RFC_DB_OPT", (("TEXT", "char72"),))
_RFC_DB_FLD = Structure(
    "RFC_DB_FLD",
    (
        ("FIELDNAME", "char30"),
        ("OFFSET", "numeric6"),
        ("LENGTH", "numeric6"),
        ("TYPE", "char1"),
        ("FIELDTEXT", "char60"),
    ),
)
_TAB512 = Structure("TAB512", (("WA", "char512"),))
_BAPI0002_2 = Structure(
    "BAPI0002_2",
    (
        ("COMP_CODE", "char4"),
        ("COMP_NAME", "char25"),
        ("CITY", "char25"),
        ("COUNTRY", "char3"),
        ("CURRENCY", "cuky5"),
        ("CURRENCY_ISO", "char3"),
        ("LANGU", "lang"),
        ("LANGU_ISO", "char2"),
    ),
)
_BAPIRETURN = Structure(
    "BAPIRETURN",
    (
        ("TYPE", "char1"),
        ("CODE", "char5"),
        ("MESSAGE", "char220"),
        ("LOG_NO", "char20"),
        ("LOG_MSG_NO", "numeric6"),
        ("MESSAGE_V1", "char50"),
        ("MESSAGE_V2", "char50"),
        ("MESSAGE_V3", "char50"),
        ("MESSAGE_V4", "char50"),
    ),
)

FUNCTIONS: Final[dict[str, Function]] = {
    f.name: f
    for f in (
        Function(
            "RFC_READ_TABLE",
            (
                Param("QUERY_TABLE", "char30", "import", optional=False),
                Param("DELIMITER", "char1", "import"),
                Param("NO_DATA", "char1", "import"),
                Param("ROWSKIPS", "int", "import"),
                Param("ROWCOUNT", "int", "import"),
                Param("OPTIONS", _RFC_DB_OPT, "table"),
                Param("FIELDS", _RFC_DB_FLD, "table"),
                # TABLES DATA is not OPTIONAL in every release's interface (research: SAP copies differ).
                Param("DATA", _TAB512, "table", optional=False),
            ),
            (
                "TABLE_NOT_AVAILABLE",
                "TABLE_WITHOUT_DATA",
                "OPTION_NOT_VALID",
                "FIELD_NOT_VALID",
                "NOT_AUTHORIZED",
                "DATA_BUFFER_EXCEEDED",
            ),
        ),
        Function(
            "BAPI_COMPANYCODE_GETDETAIL",
            (
                Param("COMPANYCODEID", "char4", "import", optional=False),
                Param("COMPANYCODE_DETAIL", _BAPI0002_2, "export"),
                Param("RETURN", _BAPIRETURN, "export"),
            ),
        ),
    )
}


@dataclass(frozen=True)
class Publication:
    """How SOAMANAGER publishes the function modules: one service definition, its service and binding."""

    service_definition: str = "ZDEALERSYNC_READ"
    service: str = "ZDEALERSYNC_READ_SRV"
    binding: str = "ZDEALERSYNC_READ_BINDING"
    versions: tuple[str, ...] = ("1.1", "1.2")  # the bindings SOAMANAGER was asked for
    data_optional: bool = False  # a release whose RFC_READ_TABLE has TABLES DATA ... OPTIONAL

    def path(self, client: str) -> str:
        parts = (self.service_definition, client, self.service, self.binding)
        return "/sap/bc/srt/rfc/sap/" + "/".join(p.lower() for p in parts)

    def action(self, function: str) -> str:
        return f"{NS}:{self.service_definition}:{function}Request"


def _simple_type(name: str) -> str:
    if name == "lang":
        base, facet = "xsd:string", '<xsd:maxLength value="1"/>'
    elif name.startswith("numeric"):
        size = name[len("numeric") :]
        base, facet = "xsd:string", f'<xsd:maxLength value="{size}"/><xsd:pattern value="\\d*"/>'
    else:
        size = "".join(ch for ch in name if ch.isdigit())
        base, facet = "xsd:string", f'<xsd:maxLength value="{size}"/>'
    return f'<xsd:simpleType name="{name}"><xsd:restriction base="{base}">{facet}</xsd:restriction></xsd:simpleType>'


def _type_ref(name: str) -> str:
    return "xsd:int" if name == "int" else f"tns:{name}"


def _param_element(p: Param, in_request: bool) -> str:
    if isinstance(p.type, Structure):
        ref = f"tns:TABLE_OF_{p.type.name}" if p.kind == "table" else f"tns:{p.type.name}"
    else:
        ref = _type_ref(p.type)
    # SOAMANAGER marks a parameter optional only where the function module's interface does; every
    # parameter of the response is always sent.
    occurs = ' minOccurs="0"' if in_request and p.optional else ""
    return f'<xsd:element name="{p.name}" type="{ref}"{occurs}/>'


def _policy(name: str, body: str = "") -> str:
    return f'<wsp:Policy wsu:Id="{name}"><wsp:ExactlyOne><wsp:All>{body}</wsp:All></wsp:ExactlyOne></wsp:Policy>'


_BASIC_AUTH = (
    '<sp:TransportBinding xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"><wsp:Policy>'
    "<sp:TransportToken><wsp:Policy><sp:HttpsToken><wsp:Policy><sp:HttpBasicAuthentication/></wsp:Policy>"
    "</sp:HttpsToken></wsp:Policy></sp:TransportToken></wsp:Policy></sp:TransportBinding>"
)


def _binding(name: str, soap: str, publication: Publication, functions: Sequence[Function]) -> str:
    operations = "".join(
        f'<wsdl:operation name="{f.name}"><{soap}:operation soapAction="{publication.action(f.name)}" '
        f'style="document"/><wsdl:input><{soap}:body use="literal"/></wsdl:input><wsdl:output>'
        f'<{soap}:body use="literal"/></wsdl:output><wsdl:fault name="{f.name}.Exception">'
        f'<{soap}:fault name="{f.name}.Exception" use="literal"/></wsdl:fault></wsdl:operation>'
        for f in functions
    )
    return (
        f'<wsdl:binding name="{name}" type="tns:{publication.service_definition}"><wsp:Policy>'
        f'<wsp:PolicyReference URI="#BN__{name}"/></wsp:Policy>'
        f'<{soap}:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>{operations}'
        "</wsdl:binding>"
    )


def _types(functions: Sequence[Function], data_optional: bool) -> list[str]:
    simple: set[str] = {"char3", "char20"}  # RfcException.Message
    structures: dict[str, Structure] = {}
    tables: set[str] = set()
    for f in functions:
        for p in f.params:
            if isinstance(p.type, Structure):
                structures[p.type.name] = p.type
                simple.update(t for _, t in p.type.fields)
                if p.kind == "table":
                    tables.add(p.type.name)
            else:
                simple.add(p.type)
    types = [_simple_type(t) for t in sorted(simple - {"int"})]
    for s in structures.values():
        fields = "".join(f'<xsd:element name="{n}" type="{_type_ref(t)}"/>' for n, t in s.fields)
        types.append(f'<xsd:complexType name="{s.name}"><xsd:sequence>{fields}</xsd:sequence></xsd:complexType>')
    for name in sorted(tables):
        types.append(
            f'<xsd:complexType name="TABLE_OF_{name}"><xsd:sequence><xsd:element name="item" type="tns:{name}" '
            'minOccurs="0" maxOccurs="unbounded"/></xsd:sequence></xsd:complexType>'
        )
    types.append(
        '<xsd:complexType name="RfcException.Message"><xsd:sequence><xsd:element name="ID" type="tns:char20"/>'
        '<xsd:element name="Number" type="tns:char3"/></xsd:sequence></xsd:complexType>'
    )
    for f in functions:
        request = "".join(_param_element(p, True) for p in f.request_params(data_optional))
        reply = "".join(_param_element(p, False) for p in f.response_params())
        names = "".join(f'<xsd:enumeration value="{e}"/>' for e in f.exceptions) or '<xsd:enumeration value=""/>'
        types += [
            f'<xsd:element name="{f.name}"><xsd:complexType><xsd:sequence>{request}</xsd:sequence></xsd:complexType>'
            "</xsd:element>",
            f'<xsd:element name="{f.name}Response"><xsd:complexType><xsd:sequence>{reply}</xsd:sequence>'
            "</xsd:complexType></xsd:element>",
            f'<xsd:simpleType name="{f.name}.RfcExceptions"><xsd:restriction base="xsd:string">{names}'
            "</xsd:restriction></xsd:simpleType>",
            f'<xsd:complexType name="{f.name}.RfcException"><xsd:sequence>'
            f'<xsd:element name="Name" type="tns:{f.name}.RfcExceptions"/>'
            '<xsd:element name="Text" type="xsd:string" minOccurs="0"/>'
            '<xsd:element name="Message" type="tns:RfcException.Message" minOccurs="0"/></xsd:sequence>'
            "</xsd:complexType>",
            f'<xsd:element name="{f.name}.Exception" type="tns:{f.name}.RfcException"/>',
        ]
    return types


def wsdl(functions: Sequence[Function], address: str, publication: Publication) -> bytes:
    """The binding WSDL of `functions` as SOAMANAGER serves it, its ports at `address`."""
    pub = publication
    messages = "".join(
        f'<wsdl:message name="{f.name}"><wsdl:part name="parameters" element="tns:{f.name}"/></wsdl:message>'
        f'<wsdl:message name="{f.name}Response"><wsdl:part name="parameter" element="tns:{f.name}Response"/>'
        f'</wsdl:message><wsdl:message name="{f.name}.Exception"><wsdl:part name="{f.name}.Exception" '
        f'element="tns:{f.name}.Exception"/></wsdl:message>'
        for f in functions
    )
    operations = "".join(
        f'<wsdl:operation name="{f.name}"><wsp:Policy><wsp:PolicyReference URI="#OP__{f.name}"/></wsp:Policy>'
        f'<wsdl:input message="tns:{f.name}"/><wsdl:output message="tns:{f.name}Response"/>'
        f'<wsdl:fault name="{f.name}.Exception" message="tns:{f.name}.Exception"/></wsdl:operation>'
        for f in functions
    )
    port_type = (
        f'<wsdl:portType name="{pub.service_definition}"><wsp:Policy><wsp:PolicyReference '
        f'URI="#IF__{pub.service_definition}"/></wsp:Policy>{operations}</wsdl:portType>'
    )
    location = escape(address, {'"': "&quot;"})
    bindings, ports, policies = [], [], []
    for version in pub.versions:
        name, soap = (pub.binding, "soap") if version == "1.1" else (f"{pub.binding}_soap12", "wsoap12")
        bindings.append(_binding(name, soap, pub, functions))
        ports.append(
            f'<wsdl:port name="{name}" binding="tns:{name}"><{soap}:address location="{location}"/></wsdl:port>'
        )
        policies.append(_policy(f"BN__{name}", _BASIC_AUTH))
    policies.append(_policy(f"IF__{pub.service_definition}"))
    policies += [_policy(f"OP__{f.name}") for f in functions]
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<wsdl:definitions targetNamespace="{NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        'xmlns:wsoap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" '
        f'xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/" xmlns:tns="{NS}" '
        'xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" '
        'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
        '<wsdl:documentation><sidl:sidl xmlns:sidl="http://www.sap.com/2007/03/sidl"/></wsdl:documentation>'
        '<wsp:UsingPolicy wsdl:required="true"/>'
        + "".join(policies)
        + f'<wsdl:types><xsd:schema attributeFormDefault="qualified" targetNamespace="{NS}">'
        + "".join(_types(functions, pub.data_optional))
        + "</xsd:schema></wsdl:types>"
        + messages
        + port_type
        + "".join(bindings)
        + f'<wsdl:service name="{pub.service}">'
        + "".join(ports)
        + "</wsdl:service></wsdl:definitions>"
    )
    return document.encode()


class RequestError(ValueError):
    """A request SAP's SOAP runtime refuses; `version` is the envelope's, for the fault."""

    def __init__(self, message: str, version: str = "1.1") -> None:
        super().__init__(message)
        self.version = version


@dataclass(frozen=True)
class Request:
    version: str  # "1.1" or "1.2"
    function: str
    params: dict[str, Any]
    order: tuple[str, ...]  # the parameters as they came


def _value(element: etree._Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if all(etree.QName(c).localname == "item" for c in children):
        return [{etree.QName(f).localname: f.text or "" for f in item} for item in children]
    return {etree.QName(c).localname: _value(c) for c in children}


def parse_request(body: bytes) -> Request:
    """A SOAP 1.1 or 1.2 request; RequestError when it is not one."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise RequestError(f"not XML: {exc}") from None
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or namespace not in (SOAP11, SOAP12):
        raise RequestError("not a SOAP envelope")
    version = "1.1" if namespace == SOAP11 else "1.2"
    found = root.find(f"{{{namespace}}}Body")
    if found is None or len(found) == 0:
        raise RequestError("no SOAP body", version)
    call = found[0]
    names = tuple(etree.QName(p).localname for p in call)
    return Request(
        version, etree.QName(call).localname, {n: _value(p) for n, p in zip(names, call, strict=True)}, names
    )


def check_request(request: Request, publication: Publication) -> None:
    """Refuse what SAP's deserializer refuses: unknown, missing mandatory or misordered parameters."""
    wanted = FUNCTIONS[request.function].request_params(publication.data_optional)
    order = [p.name for p in wanted]
    for name in request.order:
        if name not in order:
            raise RequestError(
                f"System expected the end of the element '{request.function}', found '{name}'", request.version
            )
    given = [n for n in order if n in request.params]
    if list(request.order) != given:
        raise RequestError(f"System expected the element '{given[0]}' in the order of the interface", request.version)
    for p in wanted:
        if not p.optional and p.name not in request.params:
            raise RequestError(f"System expected the element '{p.name}'", request.version)


def _xml(name: str, value: Any, prefix: str = "") -> str:
    tag = f"{prefix}{name}"
    if isinstance(value, str):
        # SAP's SOAP runtime drops trailing blanks of character fields.
        return f"<{tag}>{escape(value.rstrip())}</{tag}>" if value.rstrip() else f"<{tag}/>"
    if isinstance(value, Mapping):
        return f"<{tag}>" + "".join(_xml(k, v, prefix) for k, v in value.items()) + f"</{tag}>"
    item = f"{prefix}item"
    rows = "".join(f"<{item}>" + "".join(_xml(k, v, prefix) for k, v in row.items()) + f"</{item}>" for row in value)
    return f"<{tag}>{rows}</{tag}>" if rows else f"<{tag}/>"


def _envelope(version: str, body: str) -> bytes:
    if version == "1.1":
        return (
            f'<soap-env:Envelope xmlns:soap-env="{SOAP11}"><soap-env:Header/><soap-env:Body>{body}'
            "</soap-env:Body></soap-env:Envelope>"
        ).encode()
    return f'<env:Envelope xmlns:env="{SOAP12}"><env:Header/><env:Body>{body}</env:Body></env:Envelope>'.encode()


def _filled(structure: Structure, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every component of a structure in its order, blank when not given: SAP always sends them all."""
    return {name: values.get(name, "") for name, _ in structure.fields}


def response(function: str, values: Mapping[str, Any], version: str = "1.1", qualify: bool = False) -> bytes:
    """The response envelope: parameters in alphabetical order and structures complete, as SAP writes them;
    `qualify` puts every element in the namespace, as a gateway rewriting the answer may."""
    params = FUNCTIONS[function].response_params()
    shapes = {p.name: p.type for p in params if isinstance(p.type, Structure)}
    # SAP sends every export and table parameter, initial when the function module did not fill it.
    blank = {p.name: ([] if p.kind == "table" else {} if isinstance(p.type, Structure) else "") for p in params}
    complete: dict[str, Any] = {}
    for name, value in {**blank, **values}.items():
        shape = shapes.get(name)
        if shape is None:
            complete[name] = value
        elif isinstance(value, Mapping):
            complete[name] = _filled(shape, value)
        else:
            complete[name] = [_filled(shape, row) for row in value]
    inner = "".join(_xml(name, complete[name], "n0:" if qualify else "") for name in sorted(complete))
    return _envelope(version, f'<n0:{function}Response xmlns:n0="{NS}">{inner}</n0:{function}Response>')


def fault(function: str, exception: str, text: str, version: str = "1.1", sender: bool = True) -> bytes:
    """A SOAP fault naming the ABAP exception a function module raised (or the runtime's own error)."""
    detail = (
        f'<n0:{function}.Exception xmlns:n0="{NS}"><Name>{escape(exception)}</Name><Text>{escape(text)}</Text>'
        f"</n0:{function}.Exception>"
    )
    if version == "1.1":
        code = "soap-env:Client" if sender else "soap-env:Server"
        body = (
            f'<soap-env:Fault><faultcode>{code}</faultcode><faultstring xml:lang="en">{escape(exception)}'
            f"</faultstring><detail>{detail}</detail></soap-env:Fault>"
        )
    else:
        code = "env:Sender" if sender else "env:Receiver"
        body = (
            f"<env:Fault><env:Code><env:Value>{code}</env:Value></env:Code><env:Reason>"
            f'<env:Text xml:lang="en">{escape(exception)}</env:Text></env:Reason><env:Detail>{detail}</env:Detail>'
            "</env:Fault>"
        )
    return _envelope(version, body)
