"""1C objects as the emulator serves them, then broken: an Edm.Boolean that is null, a code with control
characters or over 100 characters and a packaging without a denominator are RecordErrors naming the field (the
object's dead letter), never false, stripped, cut or 1."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from mapping.errors import RecordError
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")

SCENARIO = build(invoice_lines=300)


@pytest.fixture(scope="module")
def ut11() -> Iterator[Any]:
    with emulator.OneCEmulator(SCENARIO, configuration="ut11") as erp:
        settings = onec.OneCSettings(**erp.settings())
        with onec.OneCAdapter(SourceContext("1c", ZoneInfo("Europe/Moscow"), 250), settings) as source:
            yield source


def broken(source: Any, stream: str, breaks: Callable[[Any], None], pick: Callable[[Any], bool] = bool) -> str:
    """The RecordError of the first item `pick` chooses once `breaks` has changed a copy of it."""
    found = source.stream(stream)
    item = next(i for chunk in found.read(None) for i in chunk if pick(i) and found.map(i) is not None)
    item = copy.deepcopy(item)
    breaks(item)
    with pytest.raises(RecordError) as caught:
        found.map(item)
    return str(caught.value)


def test_a_null_boolean_is_not_false(ut11: Any) -> None:
    assert broken(ut11, "invoices", lambda i: i.update(DeletionMark=None)) == "cancelled: missing (no flag value)"
    assert broken(ut11, "products", lambda i: i.update(DeletionMark=None)) == "DeletionMark: missing (no flag value)"


def test_codes_are_never_stripped_or_cut(ut11: Any) -> None:
    assert broken(ut11, "invoices", lambda i: i.update(Number="РТ\x1b-1")) == (
        "number: control character U+001B at position 3"
    )
    assert broken(ut11, "invoices", lambda i: i.update(Number="7" * 101)).startswith("number: 101 characters")


def test_a_packaging_without_a_denominator_is_not_one(ut11: Any) -> None:
    stream = ut11.stream("products")
    items = {i["Ref_Key"]: i for chunk in stream.read(None) for i in chunk}  # the read loads the packagings
    ref = next(ref for ref, packs in stream.packagings.items() if packs and ref in items)
    stream.packagings[ref] = [{**pack, "Знаменатель": None} for pack in stream.packagings[ref]]
    with pytest.raises(RecordError, match=r"^units\.factor: Числитель/Знаменатель [\d.]+/None$"):
        stream.map(items[ref])
