"""SOAMANAGER's SOAP against the ECC emulator and captured SAP answers: both SOAP versions, mandatory
parameters, and answers whose elements are namespaced or unreadable (an error, never 0 rows in silence)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.sap import SapSettings
from connectors.sap.ecc import soap
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import TableReader, parse_rows
from connectors.sap.ecc.rfc import EccCallError, Rfc
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_soap import NS, SOAP11, SOAP12, Publication
from connectors.sap.emulator.ecc_vendor import VENDOR
from scenario.generate import build

SCENARIO = build(invoice_lines=200)
LOCATIONS = Read("T001L", ("WERKS", "LGORT"), ("LGOBE",))
FAST = {"timeout_seconds": (2.0, 1.0), "backoff_max_seconds": 0.01}


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[EccEmulator]:
    options: dict[str, Any] = getattr(request, "param", {})
    with EccEmulator(SCENARIO, **options) as ecc:
        yield ecc


def reader(ecc: EccEmulator) -> TableReader:
    s = SapSettings(**ecc.settings(**FAST))
    return TableReader(Rfc(s), s.ecc, 1000)


def names() -> list[str]:
    return [w.name for w in SCENARIO.warehouses]


# -- SOAP 1.1 and 1.2 --------------------------------------------------------------------------------------


def test_a_wsdl_with_soap11_and_soap12_ports_is_called_through_soap11(emulator: EccEmulator) -> None:
    wsdl = emulator.wsdl().decode()
    assert 'name="ZDEALERSYNC_READ_BINDING"' in wsdl and 'name="ZDEALERSYNC_READ_BINDING_soap12"' in wsdl
    rows = reader(emulator).rows(LOCATIONS)
    assert [r["LGOBE"] for r in rows] == names()
    calls = emulator.calls("RFC_READ_TABLE")
    assert calls and {c.version for c in calls} == {"1.1"}


@pytest.mark.parametrize("emulator", [{"publication": Publication(versions=("1.2",))}], indirect=True)
def test_a_wsdl_with_only_a_soap12_port_is_called_through_soap12(emulator: EccEmulator) -> None:
    r = reader(emulator)
    assert [row["LGOBE"] for row in r.rows(LOCATIONS)] == names()
    assert {c.version for c in emulator.calls("RFC_READ_TABLE")} == {"1.2"}
    # ABAP exceptions arrive as SOAP 1.2 faults (Code/Reason/Detail) and are named just the same.
    with pytest.raises(EccCallError, match="TABLE_NOT_AVAILABLE") as raised:
        r.layout("ZDEALERS")
    assert raised.value.exception == "TABLE_NOT_AVAILABLE"
    detail = Rfc(SapSettings(**emulator.settings(**FAST))).call("BAPI_COMPANYCODE_GETDETAIL", COMPANYCODEID="1000")
    assert detail["COMPANYCODE_DETAIL"]["CURRENCY"] == "TRY"


# -- mandatory parameters ------------------------------------------------------------------------------------


def _raw(ecc: EccEmulator, parameters: str) -> requests.Response:
    body = (
        f'<soap-env:Envelope xmlns:soap-env="{SOAP11}"><soap-env:Body><n0:RFC_READ_TABLE xmlns:n0="{NS}">'
        f"{parameters}</n0:RFC_READ_TABLE></soap-env:Body></soap-env:Envelope>"
    )
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": ecc.publication.action("RFC_READ_TABLE")}
    return requests.post(
        ecc.url, data=body.encode(), headers=headers, auth=(ecc.user, ecc.password), params={"sap-client": "100"}
    )


def test_the_emulator_refuses_a_request_without_a_mandatory_table_as_sap_does(emulator: EccEmulator) -> None:
    refused = _raw(emulator, "<QUERY_TABLE>T001L</QUERY_TABLE>")
    assert refused.status_code == 500 and "System expected the element 'DATA'" in refused.text
    taken = _raw(emulator, "<DATA/><QUERY_TABLE>T001L</QUERY_TABLE>")
    assert taken.status_code == 200 and "LGOBE" in taken.text


def test_mandatory_table_parameters_are_sent_empty(emulator: EccEmulator) -> None:
    assert '<xsd:element name="DATA" type="tns:TABLE_OF_TAB512"/>' in emulator.wsdl().decode()
    assert [r["LGOBE"] for r in reader(emulator).rows(LOCATIONS)] == names()
    assert all("DATA" in c.sent for c in emulator.calls("RFC_READ_TABLE"))


@pytest.mark.parametrize("emulator", [{"publication": Publication(data_optional=True)}], indirect=True)
def test_optional_table_parameters_are_left_out(emulator: EccEmulator) -> None:
    assert '<xsd:element name="DATA" type="tns:TABLE_OF_TAB512" minOccurs="0"/>' in emulator.wsdl().decode()
    assert [r["LGOBE"] for r in reader(emulator).rows(LOCATIONS)] == names()
    assert not any("DATA" in c.sent for c in emulator.calls("RFC_READ_TABLE"))


# -- answers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("emulator", [{"qualify": True}], indirect=True)
def test_an_answer_with_every_element_namespaced_reads_the_same_rows(emulator: EccEmulator) -> None:
    rows = reader(emulator).rows(LOCATIONS)
    assert [r["LGOBE"] for r in rows] == names()


def _envelope(version: str, body: str) -> bytes:
    namespace = SOAP11 if version == "1.1" else SOAP12
    return f'<e:Envelope xmlns:e="{namespace}"><e:Header/><e:Body>{body}</e:Body></e:Envelope>'.encode()


ROWS = (
    "<DATA><item><WA>000|SAP AG                   |S</WA></item><item><WA>250|Neduca</WA></item></DATA>"
    "<FIELDS><item><FIELDNAME>MANDT</FIELDNAME><OFFSET>000000</OFFSET><LENGTH>000003</LENGTH><TYPE>C</TYPE>"
    "</item><item><FIELDNAME>MTEXT</FIELDNAME><OFFSET>000004</OFFSET><LENGTH>000025</LENGTH><TYPE>C</TYPE></item>"
    "<item><FIELDNAME>CCCATEGORY</FIELDNAME><OFFSET>000030</OFFSET><LENGTH>000001</LENGTH><TYPE>C</TYPE></item>"
    "</FIELDS>"
)
T000 = [
    {"MANDT": "000", "MTEXT": "SAP AG", "CCCATEGORY": "S"},
    {"MANDT": "250", "MTEXT": "Neduca", "CCCATEGORY": ""},
]


def _qualified(xml: str) -> str:
    return xml.replace("<", "<n0:").replace("<n0:/", "</n0:")


@pytest.mark.parametrize(
    ("version", "body"),
    [
        ("1.1", f'<n0:RFC_READ_TABLEResponse xmlns:n0="{NS}">{ROWS}</n0:RFC_READ_TABLEResponse>'),  # SOAMANAGER
        ("1.2", f'<n0:RFC_READ_TABLEResponse xmlns:n0="{NS}">{ROWS}</n0:RFC_READ_TABLEResponse>'),
        ("1.1", f'<n0:RFC_READ_TABLEResponse xmlns:n0="{NS}">{_qualified(ROWS)}</n0:RFC_READ_TABLEResponse>'),
        # The generic ICF handler /sap/bc/soap/rfc (captured T000 answer, its LENGTH column restored).
        ("1.1", f'<urn:RFC_READ_TABLE.Response xmlns:urn="{NS}">{ROWS}</urn:RFC_READ_TABLE.Response>'),
    ],
)
def test_answers_of_both_handlers_and_both_versions_parse(version: str, body: str) -> None:
    answer = soap.response(_envelope(version, body), "RFC_READ_TABLE", "here")
    assert parse_rows(answer, ["MANDT", "MTEXT", "CCCATEGORY"], "RFC_READ_TABLE") == T000


@pytest.mark.parametrize("path", sorted((VENDOR / "captured").glob("*.xml")), ids=lambda p: p.stem)
def test_captured_soamanager_answers_parse(path: Path) -> None:
    function = path.stem.split("_response_")[1]
    answer = soap.response(path.read_bytes(), function, "here")
    assert soap.local(answer) == f"{function}Response" and len(list(answer)) == 2


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (_envelope("1.1", f'<n0:OTHER_FMResponse xmlns:n0="{NS}"/>'), "answered with 'OTHER_FMResponse' instead"),
        (_envelope("1.1", ""), "without a SOAP body"),
        (b"<html><body>Logon</body></html>", "not a SOAP envelope"),
        (b"<broken", "broken XML"),
        (
            _envelope("1.2", f'<n0:RFC_READ_TABLEResponse xmlns:n0="{NS}"><DATA/></n0:RFC_READ_TABLEResponse>'),
            "without its FIELDS table",
        ),
        (
            _envelope("1.1", f'<n0:RFC_READ_TABLEResponse xmlns:n0="{NS}"><FIELDS/></n0:RFC_READ_TABLEResponse>'),
            "without the requested fields MANDT",
        ),
    ],
)
def test_an_answer_that_cannot_be_read_is_an_error(content: bytes, error: str) -> None:
    with pytest.raises(EccCallError, match=error):
        parse_rows(soap.response(content, "RFC_READ_TABLE", "here"), ["MANDT"], "RFC_READ_TABLE")


def test_a_soap12_fault_names_the_abap_exception() -> None:
    detail = f'<n0:RFC_READ_TABLE.Exception xmlns:n0="{NS}"><Name>NOT_AUTHORIZED</Name><Text>No auth</Text>'
    body = (
        f'<e:Fault xmlns:e="{SOAP12}"><e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text>NOT_AUTHORIZED'
        f"</e:Text></e:Reason><e:Detail>{detail}</n0:RFC_READ_TABLE.Exception></e:Detail></e:Fault>"
    )
    with pytest.raises(EccCallError, match="RFC_READ_TABLE raised NOT_AUTHORIZED: No auth") as raised:
        soap.response(_envelope("1.2", body), "RFC_READ_TABLE", "here")
    assert raised.value.exception == "NOT_AUTHORIZED"
