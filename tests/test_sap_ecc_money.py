"""ECC figures the engine checks: a document whose SAP figures break an invariant goes out flagged with the
difference (never mended, never dropped), a foreign document without a rate has no local amounts, and a bad
tax number makes a flagged account, not a dead letter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_where import packed
from engine.state import StateStore
from engine.sync import Engine, Policy
from mapping.schema import Invoice
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings

SCENARIO = build(invoice_lines=300)


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def adapter(ecc: EccEmulator) -> SapAdapter:
    return SapAdapter(SourceContext("ecc", ZoneInfo(SCENARIO.timezone), 500), SapSettings(**ecc.settings()))


def sync(tmp_path: Path, ecc: EccEmulator, stream: str) -> tuple[Any, list[dict[str, Any]]]:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    engine = Engine(state, FileSink(FileSinkSettings(kind="file", path=tmp_path / "out", fsync=False)), Policy())
    with adapter(ecc) as source:
        [result] = engine.sync(source, streams=[stream])
    lines = [line for path in sorted((tmp_path / "out").glob("*/*.ndjson")) for line in path.read_text().splitlines()]
    return result, [json.loads(line)["data"] for line in lines]


def invoice_number(ecc: EccEmulator, foreign: bool) -> str:
    """An invoice in (or not in) the local currency that is not cancelled."""
    for row in ecc.db.stores["VBRK"].rows:
        local = row["WAERK"].strip() == SCENARIO.local_currency
        if row["VBTYP"] == "M" and not row["FKSTO"].strip() and local != foreign:
            return row["VBELN"].strip()
    raise AssertionError("no such invoice")


def test_a_document_whose_sap_figures_disagree_goes_out_flagged_with_the_difference(
    tmp_path: Path, ecc: EccEmulator
) -> None:
    number = invoice_number(ecc, foreign=False)
    header = next(r for r in ecc.db.stores["VBRK"].rows if r["VBELN"].strip() == number)
    ecc.db.update("VBRK", {"VBELN": number}, NETWR=packed(header["NETWR"]) + Decimal("0.05"))
    result, records = sync(tmp_path, ecc, "invoices")
    assert result.status == "ok" and result.flagged == 1 and result.dead_lettered == 0
    flagged = [r for r in records if r["discrepancies"]]
    assert [r["number"] for r in flagged] == [number]
    rules = {d["rule"]: d for d in flagged[0]["discrepancies"]}
    assert Decimal(rules["lines_net"]["difference"]) == Decimal("0.05")  # the header's net as SAP holds it
    assert len(records) == sum(1 for _ in SCENARIO.invoices())


def test_a_foreign_document_without_a_rate_has_no_local_amounts(ecc: EccEmulator) -> None:
    number = invoice_number(ecc, foreign=True)
    ecc.db.update("VBRK", {"VBELN": number}, KURRF=0)
    with adapter(ecc) as source:
        stream = source.stream("invoices")
        [invoice] = [stream.map(item) for item in stream.fetch([number])]
    assert isinstance(invoice, Invoice) and invoice.currency != SCENARIO.local_currency
    assert invoice.rate is None and invoice.totals_local is None
    assert invoice.lines and all(line.net_local is None for line in invoice.lines)


def test_a_bad_tax_number_makes_a_flagged_account_not_a_dead_letter(tmp_path: Path, ecc: EccEmulator) -> None:
    account = next(a.record for a in SCENARIO.accounts if a.record.tax_id and a.record.kind != "supplier")
    kunnr = next(r["KUNNR"].strip() for r in ecc.db.stores["KNA1"].rows if r["KUNNR"].strip() == account.code)
    ecc.db.update("KNA1", {"KUNNR": kunnr}, STCD2="12345678901")  # TCKN check digits fail
    result, records = sync(tmp_path, ecc, "accounts")
    assert result.status == "ok" and result.dead_lettered == 0
    got = next(r for r in records if r["code"] == account.code)
    assert (got["tax_id"], got["tax_id_kind"], got["tax_id_valid"]) == ("12345678901", "TCKN", False)
    assert all(r["tax_id_valid"] is not False for r in records if r["code"] != account.code)
