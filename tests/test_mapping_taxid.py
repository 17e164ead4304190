from __future__ import annotations

import random

import pytest

from mapping.errors import RecordError
from mapping.taxid import generate_inn, generate_tckn, generate_vkn, inn_valid, tax_id, tckn_valid, vkn_valid


@pytest.mark.parametrize("good", ["4540536920", "1234567890", "9876543217", "0000000001"])
def test_vkn_valid(good: str) -> None:
    assert vkn_valid(good)


@pytest.mark.parametrize(
    "bad", ["4540536921", "1234567891", "9876543210", "454053692", "45405369200", "ABCDEFGHIJ", "²²²²²²²²²²"]
)
def test_vkn_invalid(bad: str) -> None:
    assert not vkn_valid(bad)


@pytest.mark.parametrize("good", ["10000000146", "11111111110", "12345678950"])
def test_tckn_valid(good: str) -> None:
    assert tckn_valid(good)


@pytest.mark.parametrize(
    "bad", ["10000000147", "10000000136", "02345678950", "1000000014", "1000000014A", "11111111111"]
)
def test_tckn_invalid(bad: str) -> None:
    assert not tckn_valid(bad)


@pytest.mark.parametrize("good", ["7707083893", "500100732259", "1234567894", "123456789047"])
def test_inn_valid(good: str) -> None:
    assert inn_valid(good)


@pytest.mark.parametrize(
    "bad", ["7707083894", "500100732258", "500100732249", "1234567895", "123456789037", "77070838"]
)
def test_inn_invalid(bad: str) -> None:
    assert not inn_valid(bad)


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"),
    [
        ("4540536920", {}, ("4540536920", "VKN")),
        (" 454.053.69-20 ", {}, ("4540536920", "VKN")),
        ("TR4540536920", {}, ("4540536920", "VKN")),
        ("tr 4540536920", {"country": None}, ("4540536920", "VKN")),
        ("10000000146", {}, ("10000000146", "TCKN")),
        (10000000146, {}, ("10000000146", "TCKN")),
        ("7707083893", {"country": "RU"}, ("7707083893", "INN")),
        ("RU7707083893", {"country": None}, ("7707083893", "INN")),
        ("500100732259", {"country": "RUS", "individual": True}, ("500100732259", "INN")),
        ("7707083893", {"country": "ru", "individual": False}, ("7707083893", "INN")),
        ("123456789012", {"country": "KZ"}, ("123456789012", "OTHER")),
        ("de 123 456 789", {"country": "DE"}, ("DE123456789", "OTHER")),
        ("GB123456789", {}, ("GB123456789", "OTHER")),
        ("12345", {"country": None}, ("12345", "OTHER")),
    ],
)
def test_tax_id(raw: object, kwargs: dict[str, object], expected: tuple[str, str]) -> None:
    assert tax_id(raw, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", [None, "", "  ", "11111111111", "2222222222", "0000000000", "00000000000", "TR 1111111111"]
)
def test_tax_id_placeholders_and_empty(raw: object) -> None:
    assert tax_id(raw) == (None, None)


@pytest.mark.parametrize(
    ("raw", "kwargs", "reason"),
    [
        ("4540536921", {}, "VKN checksum fails"),
        ("10000000147", {}, "TCKN checksum fails"),
        ("02345678950", {}, "TCKN checksum fails"),
        ("454053692", {}, "10 or 11 digits"),
        ("7707083894", {"country": "RU"}, "INN checksum fails"),
        ("77070838", {"country": "RU"}, "10 or 12 digits"),
        ("7707083893", {"country": "RU", "individual": True}, "person or an organisation"),
    ],
)
def test_tax_id_errors_never_show_the_number(raw: str, kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(RecordError) as err:
        tax_id(raw, "vergi_no", **kwargs)  # type: ignore[arg-type]
    assert reason in err.value.reason
    assert err.value.field == "vergi_no"
    for text in (err.value.reason, str(err.value), repr(err.value)):
        assert raw not in text
        assert raw[:6] not in text


def test_generators_produce_valid_distinct_ids() -> None:
    rng = random.Random(20260301)
    vkns = {generate_vkn(rng) for _ in range(500)}
    tckns = {generate_tckn(rng) for _ in range(500)}
    inns = {generate_inn(rng) for _ in range(500)}
    person_inns = {generate_inn(rng, individual=True) for _ in range(500)}
    assert all(vkn_valid(v) for v in vkns) and len(vkns) > 490
    assert all(tckn_valid(v) and v[0] != "0" for v in tckns) and len(tckns) > 490
    assert all(inn_valid(v) and len(v) == 10 for v in inns)
    assert all(inn_valid(v) and len(v) == 12 for v in person_inns)
    assert all(tax_id(v) == (v, "VKN") for v in vkns)
    assert all(tax_id(v) == (v, "TCKN") for v in tckns)


def test_generators_are_deterministic() -> None:
    assert generate_vkn(random.Random(7)) == generate_vkn(random.Random(7))
    assert generate_inn(random.Random(7), True) == generate_inn(random.Random(7), True)
