"""SOAP for the ECC emulator: function-module interfaces, their WSDL in SAP's style, envelopes in and out.

The WSDL is what SAP generates for RFC-enabled function modules (SOAMANAGER, or
/sap/bc/soap/wsdl11?services=...): document/literal in the urn:sap-com:document:sap:rfc:functions
namespace, a request element named like the function module and a response element with
"Response" appended, parameters as unqualified child elements in alphabetical order, tables
as lists of <item>, simple types such as char30 / numeric6, and one fault element
"<FM>.Exception" naming the ABAP exception raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from xml.sax.saxutils import escape

from lxml import etree

__all__ = ["FUNCTIONS", "NS", "Function", "Param", "Structure", "fault", "parse_request", "response", "wsdl"]

NS: Final = "urn:sap-com:document:sap:rfc:functions"
SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"


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

    def request_params(self) -> list[Param]:
        return sorted((p for p in self.params if p.kind in ("import", "table")), key=lambda p: p.name)

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
                Param("DATA", _TAB512, "table"),
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
    optional = p.optional or (p.kind == "table" and in_request) or not in_request
    occurs = ' minOccurs="0"' if optional else ""
    return f'<xsd:element name="{p.name}" type="{ref}"{occurs}/>'


def wsdl(functions: Sequence[Function], address: str) -> bytes:
    """The WSDL of `functions`, each as its own port type and binding, served at `address`."""
    simple: set[str] = {"char3", "char20"}  # RFC.Message
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
        '<xsd:complexType name="RFC.Message"><xsd:sequence><xsd:element name="ID" type="tns:char20"/>'
        '<xsd:element name="Number" type="tns:char3"/></xsd:sequence></xsd:complexType>'
    )
    messages, port_types, bindings, ports = [], [], [], []
    for f in functions:
        request = "".join(_param_element(p, True) for p in f.request_params())
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
            '<xsd:element name="Message" type="tns:RFC.Message" minOccurs="0"/></xsd:sequence></xsd:complexType>',
            f'<xsd:element name="{f.name}.Exception" type="tns:{f.name}.RfcException"/>',
        ]
        messages += [
            f'<wsdl:message name="{f.name}"><wsdl:part name="parameters" element="tns:{f.name}"/></wsdl:message>',
            f'<wsdl:message name="{f.name}Response"><wsdl:part name="parameter" element="tns:{f.name}Response"/>'
            "</wsdl:message>",
            f'<wsdl:message name="{f.name}.Exception"><wsdl:part name="{f.name}.Exception" '
            f'element="tns:{f.name}.Exception"/></wsdl:message>',
        ]
        port_types.append(
            f'<wsdl:portType name="{f.name}"><wsdl:operation name="{f.name}"><wsdl:input message="tns:{f.name}"/>'
            f'<wsdl:output message="tns:{f.name}Response"/><wsdl:fault name="{f.name}.Exception" '
            f'message="tns:{f.name}.Exception"/></wsdl:operation></wsdl:portType>'
        )
        bindings.append(
            f'<wsdl:binding name="{f.name}Binding" type="tns:{f.name}"><soap:binding style="document" '
            'transport="http://schemas.xmlsoap.org/soap/http"/>'
            f'<wsdl:operation name="{f.name}"><soap:operation soapAction="{NS}:{f.name}:{f.name}Request" '
            'style="document"/><wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output>'
            f'<soap:body use="literal"/></wsdl:output><wsdl:fault name="{f.name}.Exception">'
            f'<soap:fault name="{f.name}.Exception" use="literal"/></wsdl:fault></wsdl:operation></wsdl:binding>'
        )
        ports.append(
            f'<wsdl:port name="{f.name}Binding" binding="tns:{f.name}Binding">'
            f'<soap:address location="{escape(address, {chr(34): "&quot;"})}"/></wsdl:port>'
        )
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<wsdl:definitions targetNamespace="{NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:tns="{NS}"><wsdl:types><xsd:schema attributeFormDefault="qualified" targetNamespace="{NS}">'
        + "".join(types)
        + "</xsd:schema></wsdl:types>"
        + "".join(messages + port_types + bindings)
        + '<wsdl:service name="service">'
        + "".join(ports)
        + "</wsdl:service></wsdl:definitions>"
    )
    return document.encode()


def _value(element: etree._Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if all(etree.QName(c).localname == "item" for c in children):
        return [{etree.QName(f).localname: f.text or "" for f in item} for item in children]
    return {etree.QName(c).localname: _value(c) for c in children}


def parse_request(body: bytes) -> tuple[str, dict[str, Any]]:
    """(function module, parameters) of a SOAP request; ValueError when it is not one."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not XML: {exc}") from None
    found = root.find(f"{{{SOAP_ENV}}}Body")
    if found is None or len(found) == 0:
        raise ValueError("no SOAP body")
    call = found[0]
    return etree.QName(call).localname, {etree.QName(p).localname: _value(p) for p in call}


def _xml(name: str, value: Any) -> str:
    if isinstance(value, str):
        # SAP's SOAP runtime drops trailing blanks of character fields.
        return f"<{name}>{escape(value.rstrip())}</{name}>"
    if isinstance(value, Mapping):
        return f"<{name}>" + "".join(_xml(k, v) for k, v in value.items()) + f"</{name}>"
    items = "".join("<item>" + "".join(_xml(k, v) for k, v in row.items()) + "</item>" for row in value)
    return f"<{name}>{items}</{name}>"


_ENVELOPE = (
    f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Header/><soap-env:Body>{{body}}'
    "</soap-env:Body></soap-env:Envelope>"
)


def _filled(structure: Structure, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every component of a structure in its order, blank when not given: SAP always sends them all."""
    return {name: values.get(name, "") for name, _ in structure.fields}


def response(function: str, values: Mapping[str, Any]) -> bytes:
    """The response envelope: parameters in alphabetical order and structures complete, as SAP writes them."""
    shapes = {p.name: p.type for p in FUNCTIONS[function].params if isinstance(p.type, Structure)}
    complete: dict[str, Any] = {}
    for name, value in values.items():
        shape = shapes.get(name)
        if shape is None:
            complete[name] = value
        elif isinstance(value, Mapping):
            complete[name] = _filled(shape, value)
        else:
            complete[name] = [_filled(shape, row) for row in value]
    inner = "".join(_xml(name, complete[name]) for name in sorted(complete))
    body = f'<n0:{function}Response xmlns:n0="{NS}">{inner}</n0:{function}Response>'
    return _ENVELOPE.format(body=body).encode()


def fault(function: str, exception: str, text: str, code: str = "soap-env:Client") -> bytes:
    """A SOAP fault naming the ABAP exception a function module raised, as SAP's SOAP runtime reports it."""
    detail = (
        f'<n0:{function}.Exception xmlns:n0="{NS}"><Name>{escape(exception)}</Name><Text>{escape(text)}</Text>'
        f"</n0:{function}.Exception>"
    )
    body = (
        f'<soap-env:Fault><faultcode>{code}</faultcode><faultstring xml:lang="en">{escape(exception)}</faultstring>'
        f"<detail>{detail}</detail></soap-env:Fault>"
    )
    return _ENVELOPE.format(body=body).encode()
