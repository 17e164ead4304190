"""check() and settings of the 1C adapter against the emulator: what an operator sees for good and bad setups."""

from __future__ import annotations

import importlib
import socket
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from connectors.base import SourceContext
from connectors.registry import load
from mapping.errors import RecordError
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")

SCENARIO = build(invoice_lines=600)
CONTEXT = SourceContext("1c", ZoneInfo(SCENARIO.timezone), 200)


def adapter(erp: Any, **overrides: Any) -> Any:
    return onec.OneCAdapter(CONTEXT, onec.OneCSettings(**{**erp.settings(), "max_attempts": 1, **overrides}))


@pytest.fixture(params=["ut11", "erp2", "bp3"])
def erp(request: pytest.FixtureRequest) -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as running:
        yield running


def test_the_registry_finds_the_adapter() -> None:
    assert load("1c") is onec.OneCAdapter and onec.OneCAdapter.Settings is onec.OneCSettings


def test_a_good_setup_reports_every_stream(erp: Any) -> None:
    with adapter(erp) as source:
        results = {r.name: r for r in source.check()}
    assert all(r.ok for r in results.values()), results
    assert list(results) == [
        "connect",
        *(
            f"stream {s}"
            for s in (
                "accounts",
                "products",
                "stock_levels",
                "discounts",
                "risk_limits",
                "orders",
                "invoices",
                "collections",
            )
        ),
    ]
    sets = source.env().sets
    documents = [row for role in ("sales", "returns", "corrections") for row in erp.infobase.sets[sets[role]].rows]
    invoices = sum(1 for row in documents if row["Posted"] or row["DeletionMark"])  # drafts are not counted
    assert invoices < len(documents) and results["stream invoices"].detail == f"{invoices} objects"
    assert results["stream accounts"].detail == f"{len(SCENARIO.accounts)} objects"


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


def test_unpublished_sets_are_named_per_stream(erp: Any) -> None:
    bp = erp.configuration == "bp3"
    missing = "Catalog_ДоговорыКонтрагентов" if bp else "Catalog_Партнеры"
    erp.unpublish(missing, "Document_КорректировкаРеализации_Товары")
    with adapter(erp) as source:
        failed = {r.name: r.detail for r in source.check() if not r.ok}
    contracts = {"stream discounts", "stream risk_limits"} if bp else set()
    assert set(failed) == {"stream accounts", "stream invoices", *contracts}
    assert f"not published in the standard OData interface: {missing}" in failed["stream accounts"]
    assert "Document_КорректировкаРеализации_Товары" in failed["stream invoices"]
    assert "УстановитьСоставСтандартногоИнтерфейсаOData" in failed["stream accounts"]


def test_a_sync_reading_an_unpublished_set_says_which(erp: Any) -> None:
    erp.unpublish("Catalog_СтраныМира")
    with adapter(erp) as source, pytest.raises(Exception, match="Catalog_СтраныМира is not published"):
        list(source.stream("accounts").read(None))


def test_a_renamed_set_is_read_under_its_setting(erp: Any) -> None:
    with adapter(erp, sets={"countries": "Catalog_СтраныМираМои"}) as source:
        failed = {r.name: r.detail for r in source.check() if not r.ok}
    assert "Catalog_СтраныМираМои" in failed["stream accounts"]


def test_an_unreachable_server(erp: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with adapter(erp, url=f"http://127.0.0.1:{port}/trade/odata/standard.odata") as source:
        [result] = source.check()
    assert not result.ok and "cannot reach 127.0.0.1" in result.detail


def test_settings_refuse_unknown_roles_and_configurations(erp: Any) -> None:
    with pytest.raises(ValidationError, match="unknown set role"):
        onec.OneCSettings(**{**erp.settings(), "sets": {"invoices": "Document_X"}})
    with pytest.raises(ValidationError):
        onec.OneCSettings(**{**erp.settings(), "configuration": "ut10"})


def test_a_bad_inn_is_a_record_error_without_the_number(erp: Any) -> None:
    with adapter(erp) as source:
        stream = source.stream("accounts")
        [item, *_] = next(iter(stream.read(None)))
        item["ИНН"] = "7707083894"  # a real-looking INN with a wrong check digit
        with pytest.raises(RecordError) as caught:
            stream.map(item)
    assert caught.value.field == "tax_id" and "7707083894" not in str(caught.value)


def test_a_field_the_base_lacks_is_named_by_check(erp: Any) -> None:
    # A returns set without the link to its sale: what a customised base (or a wrong `sets` entry) looks like.
    with adapter(erp, sets={"returns": "Document_КорректировкаРеализации"}) as source:
        failed = {r.name: r.detail for r in source.check() if not r.ok}
    assert set(failed) == {"stream invoices"}
    assert "HTTP 400" in failed["stream invoices"] and "ДокументРеализации_Key" in failed["stream invoices"]


def test_bp3_ledger_accounts_must_exist() -> None:
    with emulator.OneCEmulator(SCENARIO, configuration="bp3") as erp, adapter(erp, stock_accounts=["41.99"]) as source:
        failed = {r.name: r.detail for r in source.check() if not r.ok}
    assert failed == {"stream stock_levels": "account: none of the accounts 41.99 is in ChartOfAccounts_Хозрасчетный"}
