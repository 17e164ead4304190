"""RFC_READ_TABLE and BAPIs over SOAP against the ECC emulator on loopback: row width, OPTIONS lines, paging,
errors (ABAP exceptions, RETURN messages, HTTP), retries counted at the server, and check()."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import ConnectorError, SourceContext
from connectors.http import AuthFailed, HttpSourceError, NotFound
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.ecc import COMPANY_CODE_FUNCTION
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import TableReader
from connectors.sap.ecc.rfc import EccCallError, Rfc, WrongClient
from connectors.sap.emulator.ecc import EccEmulator
from scenario.generate import build

SCENARIO = build(invoice_lines=300)
LOCATIONS = Read("T001L", ("WERKS", "LGORT"), ("LGOBE",))
TZ = ZoneInfo(SCENARIO.timezone)
FAST = {"timeout_seconds": (2.0, 0.5), "backoff_max_seconds": 0.01, "max_retry_after_seconds": 0.05}


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO, timeout_sleep=1.0) as emulator:
        yield emulator


def settings(emulator: EccEmulator, /, **overrides: Any) -> SapSettings:
    return SapSettings(**emulator.settings(**{**FAST, **overrides}))


def reader(emulator: EccEmulator, /, page_size: int = 1000, **overrides: Any) -> TableReader:
    s = settings(emulator, **overrides)
    return TableReader(Rfc(s), s.ecc, page_size)


def adapter(s: SapSettings) -> SapAdapter:
    return SapAdapter(SourceContext("ecc-test", TZ, 1000), s)


def stored(ecc: EccEmulator, table: str) -> list[dict[str, str]]:
    return [{k: value.strip() for k, value in row.items()} for row in ecc.db.stores[table].rows]


# -- row width -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", ["", "|"])
def test_a_table_wider_than_a_row_is_read_in_parts_joined_by_key(ecc: EccEmulator, delimiter: str) -> None:
    # KNA1's fields are wider than 200 characters (and than 512 on a real system with all its fields).
    fields = [f.name for f in ecc.db.stores["KNA1"].table.fields]
    r = reader(ecc, page_size=15, ecc={**ecc.settings()["ecc"], "delimiter": delimiter, "row_width": 200})
    assert sum(c.length for c in r.layout("KNA1").values()) > 200
    groups = r.groups("KNA1", fields, ["KUNNR"])
    assert len(groups) >= 2 and all(g[0] == "KUNNR" for g in groups)
    before = len(ecc.calls("RFC_READ_TABLE"))
    rows = r.rows(Read("KNA1", ("KUNNR",), tuple(fields)))
    assert rows == stored(ecc, "KNA1")  # every field of every row, stitched back together
    pages = -(-len(rows) // 15) + (len(rows) % 15 == 0)
    assert len(ecc.calls("RFC_READ_TABLE")) - before == pages * len(groups)
    assert all(sum(len(f) for f in c.fields) for c in ecc.calls("RFC_READ_TABLE")[before:])


def test_more_than_512_characters_in_one_call_is_refused_as_sap_does(ecc: EccEmulator) -> None:
    r = reader(ecc)
    fields = [f.name for f in ecc.db.stores["VBRK"].table.fields] + ["VBELN"] * 30
    with pytest.raises(EccCallError, match="DATA_BUFFER_EXCEEDED") as raised:
        r.call("VBRK", fields, [], ROWCOUNT=1)
    assert raised.value.exception == "DATA_BUFFER_EXCEEDED"


def test_the_parts_of_a_page_must_hold_the_same_rows() -> None:
    a = [{"K": "1", "X": "a"}, {"K": "2", "X": "b"}]
    assert TableReader._join([a, [{"K": "2", "Y": "d"}, {"K": "1", "Y": "c"}]], ["K"]) == [
        {"K": "1", "X": "a", "Y": "c"},
        {"K": "2", "X": "b", "Y": "d"},
    ]
    assert TableReader._join([a, [{"K": "1", "Y": "c"}, {"K": "3", "Y": "e"}]], ["K"]) is None
    assert TableReader._join([a, [{"K": "1", "Y": "c"}]], ["K"]) is None


# -- OPTIONS and paging ---------------------------------------------------------------------------------------


def test_a_long_selection_travels_as_lines_of_at_most_72_characters(ecc: EccEmulator) -> None:
    numbers = [row["VBELN"].strip() for row in ecc.db.stores["VBRK"].rows]
    r = reader(ecc, ecc={**ecc.settings()["ecc"], "in_list_size": 1000})
    condition = w.and_(w.in_("VBELN", numbers), w.ne("FKSTO", "X"))
    lines = w.lines(condition)
    assert len(lines) > 10 and all(len(line) <= 72 for line in lines)
    # The emulator refuses any OPTIONS line over 72 characters (OPTION_NOT_VALID), so this proves the split.
    rows = r.rows_in(Read("VBRK", ("VBELN",), ("FKSTO",)), "VBELN", numbers, w.ne("FKSTO", "X"))
    assert {row["VBELN"] for row in rows} == {row["VBELN"] for row in stored(ecc, "VBRK") if row["FKSTO"] != "X"}
    with pytest.raises(EccCallError, match="OPTION_NOT_VALID"):
        r.call("VBRK", ["VBELN"], [condition[:100]])


def test_pages_cover_every_row_once(ecc: EccEmulator) -> None:
    r = reader(ecc, page_size=7)
    pages = list(r.pages(Read("VBRP", ("VBELN", "POSNR"), ("NETWR",))))
    assert all(len(p) == 7 for p in pages[:-1]) and 0 < len(pages[-1]) <= 7
    keys = [(row["VBELN"], row["POSNR"]) for p in pages for row in p]
    assert keys == [(row["VBELN"], row["POSNR"]) for row in stored(ecc, "VBRP")]


# -- errors ---------------------------------------------------------------------------------------------------


def test_abap_exceptions_become_clear_errors(ecc: EccEmulator) -> None:
    r = reader(ecc)
    with pytest.raises(EccCallError, match=r"ZDEALERS.*TABLE_NOT_AVAILABLE.*does not exist"):
        r.rows(Read("ZDEALERS", ("KUNNR",)))
    with pytest.raises(EccCallError, match=r"MARA.*FIELD_NOT_VALID"):
        r.call("MARA", ["ZZBRAND"], [])
    with pytest.raises(EccCallError, match=r"table MARA has no field ZZBRAND"):
        r.rows(Read("MARA", ("MATNR",), ("ZZBRAND",)))
    ecc.deny("KNKK")
    with pytest.raises(EccCallError, match=r"KNKK.*NOT_AUTHORIZED.*S_TABU_DIS"):
        r.rows(Read("KNKK", ("KUNNR", "KKBER"), ("KLIMK",)))


def test_a_stream_over_a_forbidden_table_fails_instead_of_reading_nothing(ecc: EccEmulator) -> None:
    ecc.deny("KNKK")
    with adapter(settings(ecc)) as source, pytest.raises(EccCallError, match="NOT_AUTHORIZED"):
        list(source.stream("risk_limits").read(None))


def test_a_bapi_error_in_return_is_an_error(ecc: EccEmulator) -> None:
    rfc = Rfc(settings(ecc))
    detail = rfc.call(COMPANY_CODE_FUNCTION, COMPANYCODEID="1000")["COMPANYCODE_DETAIL"]
    assert detail["CURRENCY"] == "TRY"
    with pytest.raises(EccCallError, match="Company code 9999 does not exist") as raised:
        rfc.call(COMPANY_CODE_FUNCTION, COMPANYCODEID="9999")
    assert raised.value.exception == "RETURN"


def test_an_unpublished_function_module_is_named(ecc: EccEmulator) -> None:
    ecc.published.discard(COMPANY_CODE_FUNCTION)
    with pytest.raises(EccCallError, match=f"{COMPANY_CODE_FUNCTION} is not published in the WSDL"):
        Rfc(settings(ecc)).call(COMPANY_CODE_FUNCTION, COMPANYCODEID="1000")


# -- retries --------------------------------------------------------------------------------------------------


def test_5xx_and_timeouts_are_retried(ecc: EccEmulator) -> None:
    r = reader(ecc)
    r.groups("T001L", ["LGOBE"], ["WERKS", "LGORT"])  # the WSDL and the metadata are loaded: only reads count
    ecc.fail_next(503, (429, 0.01), "timeout", 502)
    before = len(ecc.calls())
    rows = r.rows(LOCATIONS)
    assert [row["LGOBE"] for row in rows] == [w.name for w in SCENARIO.warehouses]
    deadline = time.monotonic() + 5
    while len(ecc.calls()) - before < 5 and time.monotonic() < deadline:
        time.sleep(0.05)  # the timed-out request is answered (and logged) after the client gave up on it
    statuses = [c.status for c in ecc.calls()[before:]]
    assert statuses[:3] == [503, 429, 502] and sorted(statuses) == [200, 200, 429, 502, 503]


def test_retries_end_with_an_error_naming_the_status(ecc: EccEmulator) -> None:
    r = reader(ecc, max_attempts=3)
    r.layout("T001L")
    ecc.fail_next(503, 503, 503, 503)
    before = len(ecc.calls())
    with pytest.raises(HttpSourceError, match=r"HTTP 503 .*after 3 attempts"):
        r.rows(LOCATIONS)
    assert [c.status for c in ecc.calls()[before:]] == [503, 503, 503]


def test_4xx_and_abap_exceptions_are_not_retried(ecc: EccEmulator) -> None:
    before = len(ecc.calls())
    with pytest.raises(AuthFailed, match="refused the credentials of user 'DEALERSYNC'"):
        reader(ecc, auth={"username": "DEALERSYNC", "password": "wrong"}).layout("KNA1")
    assert [c.status for c in ecc.calls()[before:]] == [401]
    before = len(ecc.calls())
    with pytest.raises(NotFound, match="not found"):
        reader(ecc, url=ecc.url.replace("/rfc/", "/rfcx/")).layout("KNA1")
    assert [c.status for c in ecc.calls()[before:] if c.method == "POST"] == [404]
    r = reader(ecc)
    r.layout("KNA1")
    before = len(ecc.calls())
    with pytest.raises(EccCallError, match="TABLE_NOT_AVAILABLE"):
        r.layout("ZDEALERS")
    assert [c.status for c in ecc.calls()[before:]] == [500]


def test_a_short_dump_in_the_function_module_is_an_error_not_an_empty_page(ecc: EccEmulator) -> None:
    r = reader(ecc)
    r.groups("T001L", ["LGOBE"], ["WERKS", "LGORT"])
    ecc.fail_next("SYSTEM_FAILURE")
    before = len(ecc.calls())
    with pytest.raises(EccCallError, match="RFC_READ_TABLE raised SYSTEM_FAILURE") as raised:
        r.rows(LOCATIONS)
    assert raised.value.exception == "SYSTEM_FAILURE"
    assert [c.status for c in ecc.calls()[before:]] == [500]  # an ABAP exception is not retried


def test_secrets_stay_out_of_errors(ecc: EccEmulator) -> None:
    with pytest.raises(AuthFailed) as raised:
        reader(ecc, auth={"username": "DEALERSYNC", "password": "s3cret-Pa55"}).layout("KNA1")
    assert "s3cret-Pa55" not in str(raised.value) and ecc.password not in str(raised.value)


# -- check() --------------------------------------------------------------------------------------------------


def _check(s: SapSettings) -> dict[str, tuple[bool, str]]:
    with adapter(s) as source:
        return {r.name: (r.ok, r.detail) for r in source.check()}


def test_check_passes_on_a_good_configuration(ecc: EccEmulator) -> None:
    results = _check(settings(ecc))
    assert all(ok for ok, _ in results.values()), results
    streams = {f"stream {s}: schema" for s in ("accounts", "products", "discounts", "invoices", "collections")}
    assert {"connect", "function modules", "company code", *streams} <= set(results)
    assert "Dealersync" in results["company code"][1]


def test_check_reports_bad_credentials(ecc: EccEmulator) -> None:
    before = len(ecc.calls())
    results = _check(settings(ecc, auth={"username": "DEALERSYNC", "password": "nope"}))
    assert results == {"login": (False, results["login"][1])}
    assert "refused the credentials of user 'DEALERSYNC'" in results["login"][1]
    assert len(ecc.calls()) - before == 1  # check() does not retry


def test_check_reports_a_wrong_sap_client(ecc: EccEmulator) -> None:
    with pytest.raises(WrongClient):
        Rfc(settings(ecc, sap_client="999")).functions()
    results = _check(settings(ecc, sap_client="999"))
    ok, detail = results["sap-client"]
    assert not ok and "no SAP client 999" in detail and "check sap_client" in detail


def test_check_reports_an_unreachable_host() -> None:
    s = SapSettings(
        flavour="ecc_soap",
        url="http://127.0.0.1:1/sap/bc/soap/rfc",
        auth={"username": "DEALERSYNC", "password": "x"},
        sap_client="100",
        **FAST,
    )
    started = dt.datetime.now()
    results = _check(s)
    ok, detail = results["connect"]
    assert not ok and "cannot reach 127.0.0.1:1" in detail
    assert dt.datetime.now() - started < dt.timedelta(seconds=5)


def test_check_reports_unpublished_function_modules_and_unreadable_tables(ecc: EccEmulator) -> None:
    ecc.published.discard(COMPANY_CODE_FUNCTION)
    ok, detail = _check(settings(ecc))["function modules"]
    assert not ok and COMPANY_CODE_FUNCTION in detail and "SOAMANAGER" in detail
    ecc.published.add(COMPANY_CODE_FUNCTION)
    ecc.deny("KNKK")
    results = _check(settings(ecc, company_code="9999", ecc={**ecc.settings()["ecc"], "brand_field": "ZZBRAND"}))
    assert results["company code"] == (False, results["company code"][1])
    assert "Company code 9999 does not exist" in results["company code"][1]
    ok, detail = results["stream risk_limits: schema"]
    assert not ok and "cannot read the catalogue of KNKK" in detail and "S_TABU_DIS" in detail
    ok, detail = results["stream products: schema"]
    assert not ok and "missing field ZZBRAND in MARA; name them with ecc.brand_field" in detail
    assert results["stream invoices: schema"][0]


def test_check_reports_a_company_code_in_another_currency(ecc: EccEmulator) -> None:
    ok, detail = _check(settings(ecc, local_currency="EUR"))["company code"]
    assert not ok and "keeps its books in TRY" in detail


def test_the_source_error_is_a_connector_error(ecc: EccEmulator) -> None:
    assert issubclass(EccCallError, ConnectorError)
