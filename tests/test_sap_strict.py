"""SAP items as the emulators serve them, then broken the way a damaged system or a custom field could break
them: a flag outside its values ("X"/blank in ECC, true/false in OData), a code with control characters or over
100 characters, a missing tax amount and a zero unit denominator are RecordErrors naming the field (the item's
dead letter), never "not set", stripped, cut, 0 or 1."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, S4Emulator
from mapping.errors import RecordError
from scenario.generate import build

SCENARIO = build(invoice_lines=300)
TZ = ZoneInfo(SCENARIO.timezone)


@pytest.fixture(scope="module")
def s4() -> Iterator[SapAdapter]:
    with S4Emulator(SCENARIO) as sap:
        settings = SapSettings(
            flavour="s4_odata",
            url=sap.url,
            sap_client=sap.client,
            auth={"username": sap.user, "password": sap.password},
            s4={"plant": PLANT},
            **DEMO_SETTINGS,
        )
        with SapAdapter(SourceContext("s4", TZ), settings) as source:
            yield source


@pytest.fixture(scope="module")
def ecc() -> Iterator[SapAdapter]:
    with EccEmulator(SCENARIO) as sap, SapAdapter(SourceContext("ecc", TZ, 250), SapSettings(**sap.settings())) as src:
        yield src


def broken(source: SapAdapter, stream: str, breaks: Callable[[Any], None]) -> str:
    """The RecordError of the stream's first item once `breaks` has changed a copy of it."""
    found = source.stream(stream)
    item = copy.deepcopy(next(iter(next(iter(found.read(None))))))
    found.map(item)  # the item as served maps
    breaks(item)
    with pytest.raises(RecordError) as caught:
        found.map(item)
    return str(caught.value)


def test_s4_flags_are_true_or_false_never_null_read_as_false(s4: SapAdapter) -> None:
    assert broken(s4, "invoices", lambda i: i.update(BillingDocumentIsCancelled=None)) == (
        "cancelled: missing (no flag value)"
    )
    assert broken(s4, "products", lambda i: i.update(IsMarkedForDeletion="X")) == (
        "active: 'X' is not a known flag value (True = yes, False = no)"
    )


def test_s4_codes_are_never_stripped_or_cut(s4: SapAdapter) -> None:
    reason = broken(s4, "invoices", lambda i: i.update(BillingDocument="90\x1b000001"))
    assert reason == "number: control character U+001B at position 3"
    assert broken(s4, "products", lambda i: i.update(Product="P" * 120)).startswith("code: 120 characters")


def test_s4_a_missing_tax_amount_is_not_zero(s4: SapAdapter) -> None:
    def no_tax(item: Any) -> None:
        item["to_Item"]["results"][0]["TaxAmount"] = None

    assert broken(s4, "invoices", no_tax) == "lines.vat: missing"


def test_ecc_flags_are_x_or_blank(ecc: SapAdapter) -> None:
    assert broken(ecc, "invoices", lambda i: i["VBRK"].update(FKSTO="Y")) == (
        "cancelled: 'Y' is not a known flag value ('X' = yes, '' = no)"
    )


def test_ecc_codes_and_unit_factors(ecc: SapAdapter) -> None:
    assert broken(ecc, "invoices", lambda i: i["VBRK"].update(XBLNR="EFA\x00")).startswith(
        "document_no: control character U+0000"
    )

    def no_denominator(item: Any) -> None:
        item["MARM"][0]["UMREN"] = "0"

    assert broken(ecc, "products", no_denominator) == "units.factor: zero denominator (MARM-UMREN)"
