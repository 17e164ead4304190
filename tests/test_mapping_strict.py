"""Nothing altered in silence: identifiers, flags, broken text and amounts that cannot be represented exactly
are RecordErrors naming the field (the row's dead letter), never cut, stripped, guessed or zeroed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from mapping.errors import RecordError
from mapping.money import fixed
from mapping.taxid import tax_identity
from mapping.text import clean, code, flag, required, required_code

BROKEN = b"Ahmet \xfe\xdd\xc7".decode("utf-8", "surrogateescape")  # how connectors/sql.py reads non-UTF-8 bytes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C-001", "C-001"),
        ("  C-001   ", "C-001"),  # a CHAR column's padding
        ("A  B", "A  B"),  # inner spaces are part of the code: "A B" may be another account
        ("Cafe\u0301", "Café"),  # NFC: the same text
        (120, "120"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_code_keeps_the_identifier(raw: object, expected: str | None) -> None:
    assert code(raw, "code", 100) == expected


@pytest.mark.parametrize(
    ("raw", "position"),
    [("\x00\x01C\x1b", "U+0000 at position 1"), ("C\x1b", "U+001B at position 2"), ("ŞUBE\x85", "U+0085")],
)
def test_control_characters_in_a_code_are_an_error_not_stripped(raw: str, position: str) -> None:
    with pytest.raises(RecordError, match=re.escape(f"control character {position}")) as err:
        code(raw, "account_code")
    assert err.value.field == "account_code"


def test_a_code_longer_than_the_schema_is_an_error_not_cut() -> None:
    assert code("X" * 100, "number", 100) == "X" * 100
    with pytest.raises(RecordError, match="101 characters, more than the 100") as err:
        code("X" * 101, "number", 100)
    assert err.value.field == "number"


def test_required_code() -> None:
    assert required_code(" 7 ", "code") == "7"
    with pytest.raises(RecordError, match="missing"):
        required_code(None, "code")
    with pytest.raises(RecordError, match="missing"):
        required_code("  ", "code")


@pytest.mark.parametrize("read", [lambda v: code(v, "f"), lambda v: clean(v, field="f"), lambda v: required(v, "f")])
def test_text_that_is_not_utf8_is_an_error_that_does_not_quote_it(read: object) -> None:
    with pytest.raises(RecordError, match="not valid UTF-8") as err:
        read(BROKEN)  # type: ignore[operator]
    assert err.value.field == "f"
    assert "Ahmet" not in str(err.value)


def test_free_text_keeps_its_documented_cleaning() -> None:
    assert clean(" Bayi \x00 A.Ş.\t\tİstanbul ") == "Bayi A.Ş. İstanbul"
    assert clean("x" * 2001, 2000) == "x" * 2000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, True), (0, False), (True, True), (False, False), (Decimal("1"), True), (0.0, False)],
)
def test_flag_reads_the_known_values(raw: object, expected: bool) -> None:
    assert flag(raw, "cancelled") is expected


@pytest.mark.parametrize("raw", [7, -1, 2, "1", "X", Decimal("0.5")])
def test_a_flag_outside_its_known_values_is_an_error(raw: object) -> None:
    with pytest.raises(RecordError, match="not a known flag value") as err:
        flag(raw, "cancelled")
    assert err.value.field == "cancelled"


def test_a_null_flag_is_missing_unless_the_column_documents_it() -> None:
    with pytest.raises(RecordError, match="missing"):
        flag(None, "cancelled")
    assert flag(None, "blocked", true=("X",), false=("", None)) is False
    assert flag("X ", "blocked", true=("X",), false=("",)) is True  # CHAR padding
    assert flag(0, "blocked", true=(0,), false=(1,)) is True  # Logo's BLOCKED: 0 = yes


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), 1e300])
def test_fixed_rejects_what_it_cannot_represent(raw: object) -> None:
    with pytest.raises(RecordError) as err:
        fixed(raw, 2, "totals.net")
    assert err.value.field == "totals.net"


def test_fixed_null_is_missing_unless_it_means_zero() -> None:
    with pytest.raises(RecordError, match="missing"):
        fixed(None, 2, "amount")
    assert fixed(None, 2, "open_orders", null_is_zero=True) == Decimal("0.00")
    assert str(fixed(12.345, 2, "amount")) == "12.35"


def test_a_tax_id_that_is_not_utf8_is_an_error_that_does_not_quote_it() -> None:
    with pytest.raises(RecordError, match="not valid UTF-8") as err:
        tax_identity("12" + BROKEN, "TR")
    assert err.value.field == "tax_id" and "Ahmet" not in str(err.value)
    assert tax_identity("123 456 78 90", "TR").value == "1234567890"  # ordinary separators still go
