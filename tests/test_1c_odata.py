"""1C's OData over real HTTP on loopback: the emulator's query options, and the adapter's reading of them
(Cyrillic URLs, paging while objects disappear, or-ed reference lists, faults, credentials)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from connectors.http import AuthFailed, HttpClient, HttpSourceError
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
odata = importlib.import_module("connectors.1c.odata")
query = importlib.import_module("connectors.1c.query")
declare = importlib.import_module("connectors.1c.declare")

SCENARIO = build(invoice_lines=600)
FIELDS = ("Ref_Key", "Code", "Posted", "Date", "Сумма", "Name")
A, B = "0b8e8f2e-1111-4c3a-9d4e-0123456789ab", "0b8e8f2e-2222-4c3a-9d4e-0123456789ab"
ROWS = [
    {"Ref_Key": A, "Code": "O'Neil", "Posted": True, "Date": "2026-07-01T00:00:00", "Сумма": 10.5, "Name": "Ёлка"},
    {"Ref_Key": B, "Code": "X-2", "Posted": False, "Date": "2026-06-30T23:59:59", "Сумма": 3, "Name": "b"},
]


def matching(text: str) -> list[str]:
    compiled = query.parse_filter(text, FIELDS)
    return [row["Code"] for row in ROWS if compiled.test(row)]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Posted eq true", ["O'Neil"]),
        ("not Posted eq true", ["X-2"]),
        ("Date ge datetime'2026-07-01T00:00:00'", ["O'Neil"]),
        ("Date lt datetime'2026-07-01T00:00'", ["X-2"]),
        (f"Ref_Key eq guid'{B.upper()}'", ["X-2"]),
        ("Code eq 'O''Neil'", ["O'Neil"]),
        ("Сумма gt 3 and Сумма le 10.5", ["O'Neil"]),
        ("Posted eq false or Сумма ge 10 and Name eq 'nobody'", ["X-2"]),  # and binds tighter than or
        ("(Posted eq false or Сумма ge 10) and Name ne 'b'", ["O'Neil"]),
        ("Name eq 'Ёлка'", ["O'Neil"]),
        ("Code ne null", ["O'Neil", "X-2"]),
    ],
)
def test_filter_grammar(text: str, codes: list[str]) -> None:
    assert matching(text) == codes


@pytest.mark.parametrize(
    "text",
    [
        "Nope eq 1",
        "Posted eq",
        "Posted eq true and",
        "(Posted eq true",
        "Date ge datetime'July'",
        "Ref_Key eq guid'x'",
        "Code gt 3",
        "Posted",
    ],
)
def test_filter_errors(text: str) -> None:
    with pytest.raises(query.QueryError):
        matching(text)


def test_index_plan_only_for_equalities_on_one_field() -> None:
    plan = query.parse_filter(f"(Ref_Key eq guid'{A}' or Ref_Key eq guid'{B}') and Posted eq true", FIELDS).lookups()
    assert plan == ("Ref_Key", [A, B])
    assert query.parse_filter(f"Ref_Key eq guid'{A}' or Code eq 'x'", FIELDS).lookups() is None
    assert query.parse_filter("Date ge datetime'2026-01-01T00:00:00'", FIELDS).lookups() is None


# -- over HTTP ------------------------------------------------------------------------------------------


@pytest.fixture
def erp() -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, timeout_sleep=1.0) as running:
        yield running


def client(erp: Any, **settings: Any) -> HttpClient:
    values = {**erp.settings(), "backoff_max_seconds": 0.01, **settings}
    return HttpClient(onec.OneCSettings(**values), params={"$format": "json"})


def reader(erp: Any, page_size: int = 10, refs: int = 25, **settings: Any) -> Any:
    return odata.OData(client(erp, **settings), page_size, refs)


def q(set_name: str, *fields: tuple[Any, ...], renames: dict[str, str] | None = None) -> Any:
    """A declared read of `fields` bound to the emulator's names (`renames`: the `fields` setting)."""
    read = declare.Read(set_name, tuple(f for group in fields for f in group), "")
    return declare.Query(read, set_name, renames or {}, frozenset())


def test_cyrillic_names_are_percent_encoded_on_the_wire(erp: Any) -> None:
    source = reader(erp)
    where = f"ЮрФизЛицо eq {odata.string_literal('ЮрЛицо')}"
    read = q("Catalog_Контрагенты", declare.guid("Ref_Key"), declare.text("НаименованиеПолное", "ИНН"))
    rows = source.whole(read, where=where)
    assert rows and all(row["ИНН"] for row in rows) and set(rows[0]) == {"Ref_Key", "НаименованиеПолное", "ИНН"}
    sent = erp.requests[-1]
    assert sent.startswith(f"/trade/odata/standard.odata/{quote('Catalog_Контрагенты')}?")
    assert quote("НаименованиеПолное") in sent and "%20eq%20'" in sent and "+" not in sent


def test_a_renamed_field_is_asked_for_by_its_name_here_and_read_back_by_the_vendor_name(erp: Any) -> None:
    erp.infobase.rename("Catalog_Валюты", "НаименованиеПолное", "ПолноеНаименование")  # a customised base
    renames = {"Catalog_Валюты.НаименованиеПолное": "ПолноеНаименование"}
    rows = reader(erp).whole(q("Catalog_Валюты", declare.text("Code", "НаименованиеПолное"), renames=renames))
    assert {row["НаименованиеПолное"] for row in rows} == {"RUB", "USD", "EUR"}
    assert quote("ПолноеНаименование") in erp.requests[-1]


def test_pages_lose_nothing_when_objects_are_deleted_during_the_read(erp: Any) -> None:
    set_name = "Document_РеализацияТоваровУслуг"
    every = [row["Ref_Key"] for row in sorted(erp.infobase.sets[set_name].rows, key=lambda r: r["Ref_Key"])]
    source = reader(erp, page_size=40)
    pages = source.pages(q(set_name, declare.guid("Ref_Key")))
    seen = [row["Ref_Key"] for row in next(pages)]
    removed = every[: source.overlap]  # behind the read: every later row moves back as many places
    for ref in removed:
        erp.infobase.remove(set_name, ref)
    for page in pages:
        seen += [row["Ref_Key"] for row in page]
    assert len(seen) == len(set(seen)) and set(seen) == set(every)


def test_references_are_read_in_url_safe_chunks(erp: Any) -> None:
    lines = "Document_РеализацияТоваровУслуг_Товары"
    refs = [row["Ref_Key"] for row in erp.infobase.sets["Document_РеализацияТоваровУслуг"].rows[:7]]
    before = len(erp.requests)
    found = reader(erp, page_size=100, refs=3).by_refs(
        q(lines, declare.guid("Ref_Key"), declare.whole("LineNumber")), refs, order=("Ref_Key", "LineNumber")
    )
    assert {row["Ref_Key"] for row in found} == set(refs)
    assert len(found) == sum(len(erp.infobase.sets[lines].index("Ref_Key")[ref]) for ref in refs)
    sent = erp.requests[before:]
    assert len(sent) == 3 and all(len(r) < 2048 for r in sent)


def test_balance_virtual_table_and_counts(erp: Any) -> None:
    source = reader(erp)
    balance = q(
        "AccumulationRegister_ТоварыНаСкладах/Balance",
        declare.guid("Номенклатура_Key"),
        declare.number("ВНаличииBalance"),
    )
    rows = source.whole(balance)
    assert rows and all(row["ВНаличииBalance"] is not None for row in rows)
    posted = source.count("Document_РеализацияТоваровУслуг", "Posted eq true")
    assert posted == sum(1 for r in erp.infobase.sets["Document_РеализацияТоваровУслуг"].rows if r["Posted"])
    with pytest.raises(HttpSourceError, match="HTTP 400"):
        period = "AccumulationRegister_ТоварыНаСкладах/Balance(Period=datetime'2026-01-01T00:00:00')"
        source.whole(q(period, declare.guid("Номенклатура_Key")))


def test_full_objects_carry_navigation_links_and_tabular_sections(erp: Any) -> None:
    [document] = reader(erp).get("Document_РеализацияТоваровУслуг", {"$top": 1})["value"]
    assert document["Товары"] and "Контрагент@navigationLinkUrl" in document
    assert document["DataVersion"].endswith("=") and document["Date"][10] == "T"
    # Edm.Int64 goes out as a JSON string, Edm.Double as a number, as 1C writes them.
    assert document["Товары"][0]["LineNumber"] == "1" and isinstance(document["Товары"][0]["Количество"], float)


def test_an_unpublished_set_is_named(erp: Any) -> None:
    erp.unpublish("Catalog_Партнеры")
    with pytest.raises(odata.UnpublishedSet, match="Catalog_Партнеры is not published") as caught:
        reader(erp).whole(q("Catalog_Партнеры", declare.guid("Ref_Key")))
    assert "Catalog_Партнеры" not in reader(erp).published()
    assert caught.value.set_name == "Catalog_Партнеры"


def test_bad_credentials_are_refused_without_showing_the_password(erp: Any) -> None:
    source = reader(erp, auth={"username": "odata.user", "password": "wrong-horse"})
    with pytest.raises(AuthFailed) as caught:
        source.whole(q("Catalog_Валюты", declare.guid("Ref_Key")))
    assert "'odata.user'" in str(caught.value) and "wrong-horse" not in str(caught.value)
    assert caught.value.status == 401


def test_unavailable_and_slow_answers_are_retried(erp: Any) -> None:
    source = reader(erp, max_attempts=4, timeout_seconds=(2.0, 0.3))
    erp.fail_next(503, (502, 0), "timeout")
    started = time.monotonic()
    assert source.whole(q("Catalog_Валюты", declare.text("Code")))
    assert time.monotonic() - started < 3
    erp.fail_next(503, 503, 503, 503)
    with pytest.raises(HttpSourceError, match=r"HTTP 503 .* after 4 attempts"):
        source.whole(q("Catalog_Валюты", declare.text("Code")))
