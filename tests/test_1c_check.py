"""check() of the 1C adapter against the emulator: the schema proven against $metadata (or per-set probes),
every problem at once with the setting that fixes it, and what an operator sees for good and bad setups."""

from __future__ import annotations

import dataclasses
import importlib
import socket
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from connectors.base import SourceContext
from connectors.registry import load
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
schema = importlib.import_module("connectors.1c.schema")
vendor_data = importlib.import_module("connectors.1c.vendor_data")

SCENARIO = build(invoice_lines=600)
CONTEXT = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 200)
STREAMS = (
    "accounts",
    "products",
    "stock_levels",
    "discounts",
    "price_lists",
    "risk_limits",
    "orders",
    "invoices",
    "collections",
    "account_ledger",
    "stock_movements",
)
# БП 3 keeps no credit limit, and its goods only as accounting records on account 41 (no stock register)
TRADE_ONLY = frozenset({"risk_limits", "stock_movements"})


def adapter(erp: Any, context: SourceContext = CONTEXT, **overrides: Any) -> Any:
    return onec.OneCAdapter(context, onec.OneCSettings(**{**erp.settings(), "max_attempts": 1, **overrides}))


def checked(erp: Any, **overrides: Any) -> dict[str, Any]:
    with adapter(erp, **overrides) as source:
        return {r.name: r for r in source.check()}


@pytest.fixture(params=["ut11", "erp2", "bp3"])
def erp(request: pytest.FixtureRequest) -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as running:
        yield running


@pytest.fixture
def ut() -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration="ut11") as running:
        yield running


def test_the_registry_finds_the_adapter() -> None:
    assert load("1c") is onec.OneCAdapter and onec.OneCAdapter.Settings is onec.OneCSettings


def test_a_good_setup_proves_every_stream_against_metadata(erp: Any) -> None:
    results = checked(erp)
    assert all(r.ok and not r.warning for r in results.values()), results
    streams = [s for s in STREAMS if erp.configuration != "bp3" or s not in TRADE_ONLY]
    assert list(results) == ["connect", *(f"stream {s}: schema" for s in streams), *(f"stream {s}" for s in streams)]
    assert "schema from $metadata" in results["connect"].detail
    assert results["stream invoices: schema"].detail.endswith("entity sets present")
    sets = [f"{erp.infobase.sets['Document_РеализацияТоваровУслуг'].name}"]
    sets += [
        "Document_ВозвратТоваровОтПокупателя" if erp.configuration == "bp3" else "Document_ВозвратТоваровОтКлиента"
    ]
    documents = [row for name in [*sets, "Document_КорректировкаРеализации"] for row in erp.infobase.sets[name].rows]
    invoices = sum(1 for row in documents if row["Posted"] or row["DeletionMark"])  # drafts are not counted
    assert invoices < len(documents) and results["stream invoices"].detail == f"{invoices} objects"


def test_bad_credentials_are_one_clear_failure(erp: Any) -> None:
    with adapter(erp, auth={"username": "odata.user", "password": "not-it-9"}) as source:
        [result] = source.check()
    assert not result.ok and result.name == "connect"
    assert "refused the credentials of user 'odata.user'" in result.detail and "not-it-9" not in result.detail


def test_a_user_without_rights_is_told_so(erp: Any) -> None:
    erp.fail_next(403)  # what 1C answers a user whose roles do not allow the OData interface
    with adapter(erp) as source:
        [result] = source.check()
    assert not result.ok and "denied user 'odata.user' access: give it read rights" in result.detail


def test_unpublished_sets_are_named_per_stream_with_the_setting_that_renames_them(erp: Any) -> None:
    bp = erp.configuration == "bp3"
    missing = "Catalog_ДоговорыКонтрагентов" if bp else "Catalog_Партнеры"
    erp.unpublish(missing, "Document_КорректировкаРеализации")
    failed = {n: r.detail for n, r in checked(erp).items() if not r.ok}
    # БП's contracts say which price types are a dealer's deal: both price streams read them.
    contracts = {"stream discounts: schema", "stream price_lists: schema"} if bp else set()
    ledger = {"stream account_ledger: schema"}  # a recorder whose numbers it reads
    assert set(failed) == {
        "stream accounts: schema",
        "stream invoices: schema",
        "stream collections: schema",
        *contracts,
        *ledger,
    }
    role = "contracts" if bp else "partners"
    assert f"entity set {missing} not found (not published: add it (" in failed["stream accounts: schema"]
    assert f"or name it with sets: {{{role}: <its name here>}})" in failed["stream accounts: schema"]
    # The correction set and its tabular section: both named in one line, with how to disable the stream.
    invoices = failed["stream invoices: schema"]
    corrections = "Расхождения" if not bp else "Товары"
    assert "entity set Document_КорректировкаРеализации not found" in invoices
    assert f"entity set Document_КорректировкаРеализации_{corrections} not found" in invoices
    assert invoices.endswith("(or disable the stream: streams: {invoices: {enabled: false}})")


def test_a_base_missing_fields_of_several_streams_names_them_all_at_once(ut: Any) -> None:
    ut.infobase.drop("Catalog_Номенклатура", "ЕдиницаИзмерения_Key", "ВидНоменклатуры_Key")
    ut.infobase.drop("Document_РеализацияТоваровУслуг_Товары", "СуммаНДС", "Цена")
    ut.infobase.drop("Catalog_Контрагенты", "ИНН")
    failed = {n: r.detail for n, r in checked(ut).items() if not r.ok}
    assert set(failed) == {
        "stream accounts: schema",
        "stream products: schema",
        "stream orders: schema",  # orders read items' units too
        "stream price_lists: schema",  # and price lists (a price without a packaging is per the item's unit)
        "stream invoices: schema",
        "stream stock_movements: schema",  # and stock movements (a register quantity is in the item's unit)
    }
    invoices = failed["stream invoices: schema"]
    assert "missing fields СуммаНДС, Цена in Document_РеализацияТоваровУслуг_Товары" in invoices
    assert "missing field ЕдиницаИзмерения_Key in Catalog_Номенклатура" in invoices
    assert "fields: {Document_РеализацияТоваровУслуг_Товары.СуммаНДС: <its name here>, " in invoices
    assert (
        "missing fields ЕдиницаИзмерения_Key, ВидНоменклатуры_Key in Catalog_Номенклатура"
        in failed["stream products: schema"]
    )
    assert "missing field ИНН in Catalog_Контрагенты" in failed["stream accounts: schema"]
    assert not any("not a 1C" in detail for detail in failed.values())


def test_a_type_that_would_change_a_value_fails(ut: Any) -> None:
    ut.infobase.sets["Document_РеализацияТоваровУслуг"].types["СуммаДокумента"] = "Edm.String"
    failed = {n: r.detail for n, r in checked(ut).items() if not r.ok}
    assert set(failed) == {"stream invoices: schema"}
    assert (
        "Document_РеализацияТоваровУслуг.СуммаДокумента is Edm.String, read as number: its values would change"
        in (failed["stream invoices: schema"])
    )


def test_a_missing_optional_field_warns_naming_the_feed_field_and_the_sync_reads_around_it(ut: Any) -> None:
    ut.infobase.drop("Catalog_Контрагенты_КонтактнаяИнформация", "Город")
    results = checked(ut)
    assert all(r.ok for r in results.values())
    [warning] = [r for r in results.values() if r.warning]
    assert warning.name == "stream accounts: schema"
    assert (
        warning.detail == "Catalog_Контрагенты_КонтактнаяИнформация has no field Город: accounts.city will stay empty"
    )
    with adapter(ut) as source:
        stream = source.stream("accounts")
        accounts = [stream.map(item) for chunk in stream.read(None) for item in chunk]
    assert accounts and all(a.city is None for a in accounts) and any(a.address for a in accounts)


def test_a_renamed_field_is_named_by_the_fields_setting(ut: Any) -> None:
    ut.infobase.rename("Catalog_Партнеры", "ДатаРегистрации", "ДатаНачалаОтношений")  # a customised base
    failed = {n: r.detail for n, r in checked(ut).items() if not r.ok}
    assert "fields: {Catalog_Партнеры.ДатаРегистрации: <its name here>}" in failed["stream accounts: schema"]
    renamed = {"fields": {"Catalog_Партнеры.ДатаРегистрации": "ДатаНачалаОтношений"}}
    assert all(r.ok for r in checked(ut, **renamed).values())
    with adapter(ut, **renamed) as source:
        stream = source.stream("accounts")
        accounts = [stream.map(item) for chunk in stream.read(None) for item in chunk]
    assert all(a.created_at is not None for a in accounts if a and a.kind != "supplier")


def test_a_renamed_set_is_read_under_its_setting(erp: Any) -> None:
    failed = {n: r.detail for n, r in checked(erp, sets={"countries": "Catalog_СтраныМираМои"}).items() if not r.ok}
    assert "entity set Catalog_СтраныМираМои not found" in failed["stream accounts: schema"]


def test_without_metadata_the_fields_are_probed(ut: Any) -> None:
    ut.serve_metadata = False  # a large configuration's $metadata can fail to build
    ut.infobase.drop("Document_ЗаказКлиента_Товары", "Отменено")
    results = checked(ut)
    assert "per-set probes" in results["connect"].detail and "types not checked" in results["connect"].detail
    failed = {n: r.detail for n, r in results.items() if not r.ok}
    assert set(failed) == {"stream orders: schema"}
    assert "missing field Отменено in Document_ЗаказКлиента_Товары" in failed["stream orders: schema"]


def test_disabled_streams_are_not_verified(ut: Any) -> None:
    ut.unpublish("AccumulationRegister_РасчетыСКлиентами")
    assert "stream risk_limits: schema" in {n for n, r in checked(ut).items() if not r.ok}
    quiet = dataclasses.replace(CONTEXT, disabled=frozenset({"risk_limits"}))
    with adapter(ut, context=quiet) as source:
        results = source.check()
    assert all(r.ok for r in results) and not any("risk_limits" in r.name for r in results)


def test_an_unreachable_server(erp: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with adapter(erp, url=f"http://127.0.0.1:{port}/trade/odata/standard.odata") as source:
        [result] = source.check()
    assert not result.ok and "cannot reach 127.0.0.1" in result.detail


def test_settings_refuse_unknown_names(erp: Any) -> None:
    base = erp.settings()
    for bad, match in (
        ({"sets": {"invoices": "Document_X"}}, "unknown set role"),
        ({"configuration": "ut10"}, "configuration"),
        ({"codes": {"invoices": "Code"}}, "unknown code role"),
        ({"fields": {"Catalog_Контрагенты": "X"}}, "<Set>.<Field>"),
        ({"currency_codes": {"001": "XXY"}}, "not an ISO 4217 currency"),
        ({"operations": {"invoices": {"Товары": "maybe"}}}, "operations"),
    ):
        with pytest.raises(ValidationError, match=match):
            onec.OneCSettings(**{**base, **bad})


def test_bp3_ledger_accounts_must_exist() -> None:
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp:
        failed = {n: r.detail for n, r in checked(erp, stock_accounts=["41.99"]).items() if not r.ok}
    assert failed == {"stream stock_levels": "account: none of the accounts 41.99 is in ChartOfAccounts_Хозрасчетный"}
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp:
        failed = {n: r.detail for n, r in checked(erp, receivable_accounts=["62.99"]).items() if not r.ok}
    assert failed == {
        "stream account_ledger": "account: none of the accounts 62.99 is in ChartOfAccounts_Хозрасчетный "
        "(set receivable_accounts)"
    }


def test_the_captured_bp_metadata_reads_as_1c_declares_it() -> None:
    """A real БП 3.0 $metadata excerpt (vendor/): entity sets, keys and the register virtual tables as
    <Register>_Balance complex types, which connectors.edmx collects and the schema check resolves."""
    document = (vendor_data.VENDOR / "bp3_capture_metadata_excerpt.xml").read_bytes()
    meta = schema.parse(document)
    assert meta.version == "1.0" and meta.data_service_version == "3.0"
    found = schema._from_metadata(
        meta,
        ["AccountingRegister_Хозрасчетный_RecordType", "AccumulationRegister_ЗакупленныеТоварыКомитентов/Balance"],
    )
    record = found.containers["AccountingRegister_Хозрасчетный_RecordType"]
    assert record["LineNumber"] == "integer" and record["Сумма"] == "number" and record["AccountDr_Key"] == "guid"
    balance = found.containers["AccumulationRegister_ЗакупленныеТоварыКомитентов/Balance"]
    assert balance["КоличествоBalance"] == "number" and balance["Партия_Type"] == "text"
