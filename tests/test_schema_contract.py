"""The feed's JSON Schemas are a contract: the committed copy in `schema/` must match the code.

The loyalty platform codes against `schema/<stream>.json`. If a record type in mapping/schema.py
changes, these files change too, and so must SCHEMA_VERSION (minor for added optional fields,
major for anything else). jsonschema is not a dependency, so the checks here are structural.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dealersync.cli import app
from mapping.schema import SCHEMA_VERSION, STREAMS, AccountBalance, encode
from scenario import expect
from scenario.generate import build

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
CHANGED = "the feed schema changed: bump mapping.schema.SCHEMA_VERSION and run `dealersync schema --out schema`"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_FIELDS = {"stream", "source", "key", "op", "data"}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _data_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The object schema of an envelope's `data` (the non-null branch, with its $ref resolved)."""
    branches = document["properties"]["data"]["anyOf"]
    (schema,) = [b for b in branches if b.get("type") != "null"]
    ref = schema.get("$ref")
    if ref is not None:
        assert ref.startswith("#/$defs/"), f"unexpected $ref {ref}"
        schema = document["$defs"][ref.removeprefix("#/$defs/")]
    return schema


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schema")
    result = CliRunner().invoke(app, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_committed_schemas_match_the_code(regenerated: Path) -> None:
    fresh = sorted(p.name for p in regenerated.iterdir())
    committed = sorted(p.name for p in SCHEMA_DIR.glob("*.json")) if SCHEMA_DIR.is_dir() else []
    assert committed == fresh, f"{CHANGED} (files differ: committed {committed}, generated {fresh})"
    for name in fresh:
        assert (SCHEMA_DIR / name).read_bytes() == (regenerated / name).read_bytes(), f"{CHANGED} ({name} differs)"


def test_index_names_every_stream_and_the_version() -> None:
    index = _load(SCHEMA_DIR / "index.json")
    assert index["schema_version"] == SCHEMA_VERSION, CHANGED
    assert index["streams"] == {stream: f"{stream}.json" for stream in STREAMS}, CHANGED


@pytest.mark.parametrize("stream", list(STREAMS))
def test_each_schema_is_a_draft_2020_12_envelope_document(stream: str) -> None:
    document = _load(SCHEMA_DIR / f"{stream}.json")
    assert document["$schema"] == DRAFT_2020_12
    assert isinstance(document["$id"], str) and f"/{SCHEMA_VERSION}/" in document["$id"], document["$id"]
    assert document["$id"].endswith(f"/{stream}.json")
    assert document["type"] == "object"
    properties = document["properties"]
    assert isinstance(properties, dict)
    assert set(properties) >= ENVELOPE_FIELDS, sorted(ENVELOPE_FIELDS - set(properties))
    assert properties["stream"] == {"const": stream}
    assert properties["schema_version"] == {"const": SCHEMA_VERSION}
    assert set(properties["op"]["enum"]) == {"upsert", "delete"}
    assert {"stream", "source", "key", "op", "schema_version"} <= set(document["required"])
    # Every $ref is local and points at a definition the document carries.
    defs = document.get("$defs", {})
    assert all(isinstance(d, dict) for d in defs.values())
    for ref in _refs(document):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs, ref
    data = _data_schema(document)
    assert data["type"] == "object"
    assert set(data["required"]) <= set(data["properties"])


@pytest.fixture(scope="module")
def first_records() -> dict[str, Any]:
    """The first record of each stream in a tiny scenario."""
    scenario = build(invoice_lines=300)
    return {
        "accounts": scenario.accounts[0].record,
        "products": scenario.products[0].record,
        "invoices": next(scenario.invoices()).record,
        "orders": next(scenario.orders()).record,
        "collections": next(scenario.collections()).record,
        "discounts": scenario.discounts[0].record,
        "stock_levels": scenario.stock_levels[0],
        "risk_limits": scenario.risk_limits[0],
        "dealer_kpis": _first_dealer_month(scenario),
        "account_ledger": expect.ledger_entries([], [], [next(scenario.notes()).record])[0],
        "price_lists": next(e for e in scenario.price_lists if e.min_quantity is not None),
        "product_images": expect.product_images(scenario.images[:1])[0],
        "stock_movements": expect.stock_movements([], [next(scenario.stock_slips()).record])[0],
        "account_balances": AccountBalance(
            account_code="120.01.0001", debit=Decimal("10.00"), credit=Decimal("4.00"), balance=Decimal("6.00"),
            overdue=Decimal("6.00"), open_invoices=1, open_invoice_amount=Decimal("6.00"),
            oldest_open_due=dt.date(2026, 1, 31), not_yet_cleared=Decimal("0"), last_entry=dt.date(2026, 1, 2),
            entries=2, as_of=dt.date(2026, 3, 1),
        ),
    }


def _first_dealer_month(scenario: Any) -> Any:
    """The derived stream's first record, computed from the dealer's invoices as the engine keeps them."""
    from engine.kpis import dealer, decode_fact, fact_of, kpis

    first = next(scenario.invoices()).record
    mine = [i.record for i in scenario.invoices() if i.record.account_code == first.account_code]
    facts = [decode_fact("invoices", fact_of("invoices", encode(r)).payload) for r in mine]
    return kpis(dealer(first.account_code, facts), {})[0]


@pytest.mark.parametrize("stream", list(STREAMS))
def test_encoded_records_carry_exactly_the_declared_fields(stream: str, first_records: dict[str, Any]) -> None:
    record = first_records[stream]
    assert isinstance(record, STREAMS[stream])
    encoded = json.loads(encode(record))
    declared = set(_data_schema(_load(SCHEMA_DIR / f"{stream}.json"))["properties"])
    assert set(encoded) == declared, (
        f"{stream}: encoded only {sorted(set(encoded) - declared)}, declared only {sorted(declared - set(encoded))}"
    )
