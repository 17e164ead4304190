"""The ECC code census over the emulated system: every value known on the demo data, an injected unknown code
counted with its rows and money and warned about by name of its setting, and mapped through that setting its
rows reach the feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.census import CodeCount, census_warnings
from connectors.sap import SapAdapter, SapSettings, codes
from connectors.sap.ecc import EccSource
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_tables import fmt
from connectors.sap.emulator.ecc_where import packed
from scenario.generate import build
from tests.commands import with_source

SCENARIO = build(invoice_lines=400)


@pytest.fixture
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


def adapter(ecc: EccEmulator, **overrides: Any) -> SapAdapter:
    return SapAdapter(SourceContext("ecc", ZoneInfo(SCENARIO.timezone), 500), SapSettings(**ecc.settings(**overrides)))


def census(ecc: EccEmulator, since: dt.date | None = None, **overrides: Any) -> list[CodeCount]:
    with adapter(ecc, **overrides) as source:
        assert isinstance(source.source, EccSource)
        return source.source.census(since)


def clone(ecc: EccEmulator, table: str, field: str, value: str, **changes: Any) -> list[dict[str, str]]:
    """Copies of the rows of `table` whose `field` is `value`, with some fields changed, as SAP would hold them."""
    store = ecc.db.stores[table]
    with ecc.db.lock:
        rows = [dict(r) for r in store.rows if r[field].strip() == value]
        for row in rows:
            row.update({name: fmt(store.table.by_name[name], v) for name, v in changes.items()})
            store.upsert(row)
    return rows


def test_the_demo_census_knows_every_value(ecc: EccEmulator) -> None:
    counts = census(ecc)
    assert census_warnings(counts) == []
    assert not [c for c in counts if c.reading is None]
    columns = {c.column.name for c in counts}
    assert columns == {
        "VBRK FKART x VBTYP",
        "VBAK AUART x VBTYP",
        "condition table x KSCHL",
        "KONP KSCHL x KRECH",
        "price list table x KSCHL x PLTYP",
        "BSID/BSAD BLART x ZLSCH x SHKZG",
        "BSID/BSAD BLART x SHKZG",
        "MARA MTART",
        "MLAN TAXM1",
        "MSEG BWART x SHKZG",
    }
    left_out = {c.shown for c in counts if c.reading is not None and not c.reading.sent}
    assert {"S1 x N", "RV x  x S", "DIEN"} <= left_out  # cancellations, invoices' receivables, services
    sales = sum(c.money or 0 for c in counts if c.shown == "F2 x M")
    assert sales > 0
    # Price list records per table and price list type: the scenario's two lists, VAT excluded by default.
    lists = {c.value: c for c in counts if c.column.stream == "price_lists"}
    assert set(lists) == {("A006", "PR00", "01"), ("A006", "PR00", "02"), ("A904", "PR00", "01")}
    assert sum(c.rows for c in lists.values()) == len(SCENARIO.price_lists)
    # ...and their KONP items are not counted as the discounts' PR00 (only A305's customer prices are).
    customer_prices = sum(c.rows for c in counts if c.column.name == "KONP KSCHL x KRECH" and c.value[0] == "PR00")
    assert customer_prices == len([r for r in ecc.db.stores["A305"].rows])
    reading = lists["A006", "PR00", "01"].reading
    assert reading is not None and "VAT excluded" in reading.action and reading.source == "UNCONFIRMED"


def test_an_unknown_billing_type_is_counted_warned_about_and_arrives_once_mapped(ecc: EccEmulator) -> None:
    number = next(r["VBELN"].strip() for r in ecc.db.stores["VBRK"].rows if r["FKART"].strip() == "F2")
    [header] = clone(ecc, "VBRK", "VBELN", number, VBELN="ZF2026000001", FKART="ZF9", VBTYP="5")
    clone(ecc, "VBRP", "VBELN", number, VBELN="ZF2026000001")
    net = packed(header["NETWR"]) * (packed(header["KURRF"]) if header["WAERK"].strip() != "TRY" else 1)

    [unknown] = [c for c in census(ecc) if c.reading is None]
    assert (unknown.column.name, unknown.shown, unknown.rows) == ("VBRK FKART x VBTYP", "ZF9 x 5", 1)
    assert unknown.money == net.quantize(Decimal("0.01"))
    [warning] = census_warnings([unknown])
    assert warning.warning and "ZF9 x 5 (1 rows" in warning.detail and "setting billing_types" in warning.detail

    with adapter(ecc) as source:
        stream = source.stream("invoices")
        with pytest.raises(Exception, match="billing type 'ZF9'"):
            [stream.map(item) for item in stream.fetch(["ZF2026000001"])]

    mapping = {**codes.DEFAULT_BILLING_TYPES, "ZF9": "sale"}
    known = [c for c in census(ecc, billing_types=mapping) if c.shown == "ZF9 x 5"]
    [reading] = [c.reading for c in known if c.reading]
    assert reading.action.startswith("invoice kind sale") and reading.source == "your settings"
    with adapter(ecc, billing_types=mapping) as source:
        stream = source.stream("invoices")
        numbers = {stream.map(item).number for chunk in stream.read(None) for item in chunk}  # type: ignore[union-attr]
    assert "ZF2026000001" in numbers

    excluding = {**codes.DEFAULT_BILLING_TYPES, "ZF9": "excluded"}
    left_out = [c.reading for c in census(ecc, billing_types=excluding) if c.shown == "ZF9 x 5"]
    assert [(r.sent, r.source) for r in left_out if r] == [(False, "your settings")]
    with adapter(ecc, billing_types=excluding) as source:
        stream = source.stream("invoices")
        numbers = {stream.key(item) for chunk in stream.read(None) for item in chunk}
    assert "ZF2026000001" not in numbers  # left out on purpose: not read, not a dead letter


def test_an_unknown_payment_document_type_is_counted_and_arrives_once_mapped(ecc: EccEmulator) -> None:
    item = next(r for r in ecc.db.stores["BSID"].rows if r["BLART"].strip() == "DZ")
    belnr = item["BELNR"].strip()
    clone(ecc, "BKPF", "BELNR", belnr, BELNR="TX2026000001", BLART="DX")
    clone(ecc, "BSID", "BELNR", belnr, BELNR="TX2026000001", BLART="DX", ZLSCH="")
    unknown, in_ledger = sorted(
        (c for c in census(ecc) if c.reading is None), key=lambda c: c.column.stream != "collections"
    )
    assert (unknown.shown, unknown.rows, unknown.money) == ("DX x  x H", 1, packed(item["DMBTR"]))
    assert "setting collection_methods" in census_warnings([unknown])[0].detail
    # The ledger carries it as kind other until ledger_kinds reads it; the census warns about it there too.
    assert (in_ledger.column.stream, in_ledger.shown, in_ledger.money) == ("account_ledger", "DX x H", unknown.money)
    assert "setting ledger_kinds" in census_warnings([in_ledger])[0].detail

    methods = {**codes.DEFAULT_COLLECTION_METHODS, "DX": "cash"}
    kinds = {**codes.DEFAULT_LEDGER_KINDS, "DX": "collection"}
    assert all(c.reading is not None for c in census(ecc, collection_methods=methods, ledger_kinds=kinds))
    with adapter(ecc, collection_methods=methods) as source:
        stream = source.stream("collections")
        got = {r.number: r for r in (stream.map(i) for chunk in stream.read(None) for i in chunk) if r is not None}
        ledger = source.stream("account_ledger")
        entries = [ledger.map(i) for chunk in ledger.read(None) for i in chunk]
    assert got["TX2026000001"].method == "cash"  # type: ignore[attr-defined]
    [entry] = [e for e in entries if getattr(e, "erp_kind", None) == "DX:H"]
    assert entry.kind == "other"  # type: ignore[union-attr]


def test_readings_name_their_source_and_documents_count_in_the_window(ecc: EccEmulator) -> None:
    counts = census(ecc)
    by = {(c.column.name, c.shown): c for c in counts}
    cash = by["BSID/BSAD BLART x ZLSCH x SHKZG", "DZ x B x H"].reading
    assert cash is not None and cash.source == "UNCONFIRMED"  # the default DZ:B reading
    mine = census(ecc, collection_methods={"DZ": "bank_transfer", "DZ:B": "cash"})
    cash = next(c for c in mine if c.shown == "DZ x B x H").reading
    assert cash is not None and cash.source == "your settings"
    later = census(ecc, since=dt.date(2100, 1, 1))
    assert not [c for c in later if c.column.stream in ("invoices", "orders", "collections", "account_ledger")]
    assert [c for c in later if c.column.stream in ("discounts", "products")]  # master data has no window


def test_check_warns_and_discover_codes_prints_the_census(ecc: EccEmulator, tmp_path: Path) -> None:
    """The command line: `check` passes with a warning naming the setting; `discover --codes` lists the value."""
    rows = [r for r in ecc.db.stores["VBRK"].rows if r["FKART"].strip() == "F2" and r["WAERK"].strip() == "TRY"]
    newest = max(rows, key=lambda r: r["FKDAT"])  # check's census looks at the last year
    clone(ecc, "VBRK", "VBELN", newest["VBELN"].strip(), VBELN="ZF2026000001", FKART="ZF9", VBTYP="5")
    source = {**ecc.settings(), "name": "ecc", "kind": "sap", "timezone": SCENARIO.timezone}
    source["auth"] = {"username": ecc.user, "password": "${ECC_PASSWORD}"}
    run = with_source(tmp_path, source, {"ECC_PASSWORD": ecc.password})

    checked = run("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all checks passed, with warnings" in checked.stdout
    assert "ZF9 x 5 (1 rows" in checked.stdout and "billing_types" in checked.stdout
    listed = run("discover", "--codes")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    line = next(line for line in listed.stdout.splitlines() if "ZF9 x 5" in line)
    assert f"{packed(newest['NETWR']):,.2f}" in line and "unknown: not in the feed" in line
    assert ecc.password not in checked.stdout + listed.stdout
