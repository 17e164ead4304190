"""Implausible but representable values: each rule flags, and engine.implausible flags, dead-letters or accepts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from connectors.base import Partition, Stream
from dealersync.config import ConfigError, load_config
from engine.items import map_items
from mapping.plausibility import implausible
from mapping.schema import (
    Account,
    Collection,
    Discount,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Record,
    RiskLimit,
    Totals,
)
from tests.test_config import EXAMPLE, PASSWORD, write

D = Decimal
DAY = dt.date(2026, 11, 2)


def totals(net: str = "100.00", vat: str = "20.00") -> Totals:
    return Totals(gross=D(net), discount=D("0.00"), net=D(net), vat=D(vat), total=D(net) + D(vat))


def line(quantity: str = "1.000", net: str = "100.00", **extra: Any) -> dict[str, Any]:
    return dict(
        line_no=1,
        product_code="P1",
        quantity=D(quantity),
        unit_price=abs(D(net) / D(quantity)),
        gross=D(net),
        discount=D("0.00"),
        net=D(net),
        vat=D(net) / 5,
        net_local=D(net),
        **extra,
    )


def invoice(kind: str = "sale", lines: Sequence[dict[str, Any]] = (), **fields: Any) -> Invoice:
    lines = lines or [line()]
    net = sum((ln["net"] for ln in lines), D("0.00"))
    base: dict[str, Any] = dict(
        number="F1",
        account_code="C1",
        date=DAY,
        currency="TRY",
        rate=D("1.000000"),
        totals=totals(str(net), str(net / 5)),
        totals_local=totals(str(net), str(net / 5)),
        kind=kind,
        lines=[InvoiceLine(**ln) for ln in lines],
    )
    return Invoice(**{**base, **fields})


def rules(record: Record) -> list[tuple[str, str, str]]:
    return [(f.rule, f.field, f.value) for f in implausible(record)]


def test_a_plausible_record_has_no_flags() -> None:
    assert rules(invoice()) == []
    assert rules(invoice(kind="return")) == []
    assert rules(Account(code="C1", title="Bayi", discount_rate=D("100.00"))) == []


def test_a_negative_quantity_on_a_sale_line() -> None:
    found = rules(invoice(lines=[line(), line("-2.000", "-200.00")]))
    assert ("negative_quantity", "lines[1].quantity", "-2.000") in found
    assert ("negative_amount", "lines[1].net", "-200.00") in found
    assert ("negative_amount", "totals.net", "-100.00") in found


def test_a_return_carries_positive_amounts() -> None:
    assert ("negative_quantity", "lines[0].quantity", "-1.000") in rules(invoice("return", [line("-1.000")]))


def test_an_order_line_shipped_below_zero() -> None:
    order = Order(
        number="S1",
        account_code="C1",
        date=DAY,
        currency="TRY",
        rate=D("1.000000"),
        totals=totals(),
        totals_local=totals(),
        status="open",
        lines=[OrderLine(**line(), shipped_quantity=D("-1.000"))],
    )
    assert rules(order) == [("negative_quantity", "lines[0].shipped_quantity", "-1.000")]


def test_discount_rates_over_100_percent() -> None:
    assert rules(Account(code="C1", title="Bayi", discount_rate=D("150.00"))) == [
        ("discount_over_100", "discount_rate", "150.00")
    ]
    rule = Discount(code="K1", scope="all", kind="percent", value=D("100.01"))
    assert rules(rule) == [("discount_over_100", "value", "100.01")]
    # A fixed price above 100 is a price, not a rate.
    assert rules(Discount(code="K2", scope="all", kind="fixed_price", value=D("250.0000"))) == []


@pytest.mark.parametrize("day", [dt.date(1, 1, 2), dt.date(1899, 12, 31), dt.date(2101, 1, 1), dt.date(9999, 12, 31)])
def test_dates_outside_1900_to_2100(day: dt.date) -> None:
    assert rules(invoice(due_date=day)) == [("date_out_of_range", "due_date", day.isoformat())]
    at = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    assert rules(invoice(issued_at=at)) == [("date_out_of_range", "issued_at", at.isoformat())]


def test_negative_limits_but_not_a_negative_balance() -> None:
    risk = RiskLimit(account_code="C1", limit=D("-5.00"), currency="TRY", open_balance=D("-90.00"))
    assert rules(risk) == [("negative_amount", "limit", "-5.00")]


def test_a_negative_collection_is_money_given_back_not_implausible() -> None:
    back = Collection(
        number="T1",
        account_code="C1",
        date=DAY,
        amount=D("-50.00"),
        currency="TRY",
        rate=D("1.000000"),
        amount_local=D("-50.00"),
        method="cheque",
    )
    assert rules(back) == []


class Given(Stream):
    """A stream over records already made: what map_items does with them is under test, not an adapter."""

    name = "invoices"
    primary_key = ("number",)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        raise AssertionError("not read in these tests")

    def key(self, item: Any) -> str:
        return str(item.number)

    def map(self, item: Any) -> Record:
        return msgspec.structs.replace(item)

    def raw(self, item: Any) -> dict[str, Any]:
        return {"number": item.number}


ODD = invoice(lines=[line("-2.000", "200.00")])


def test_policy_flag_sends_the_record_with_its_flags() -> None:
    (mapped,) = map_items(Given(), [ODD])
    assert mapped.error is None and mapped.flagged
    data = msgspec.json.decode(mapped.data)
    assert data["flags"] == [{"rule": "negative_quantity", "field": "lines[0].quantity", "value": "-2.000"}]
    assert data["lines"][0]["quantity"] == "-2.000"  # sent as the ERP holds it


def test_policy_dead_letter_holds_the_record_back_with_the_reason() -> None:
    (mapped,) = map_items(Given(), [ODD], implausible="dead_letter")
    assert mapped.data is None
    assert mapped.error == "lines[0].quantity: implausible value -2.000 (negative_quantity; engine.implausible)"


def test_policy_accept_sends_it_unmarked() -> None:
    (mapped,) = map_items(Given(), [ODD], implausible="accept")
    assert not mapped.flagged
    assert msgspec.json.decode(mapped.data)["flags"] == []


def test_the_policy_is_a_setting(tmp_path: Path) -> None:
    env = {"LOGO_DB_PASSWORD": PASSWORD}
    assert "  implausible: flag\n" in EXAMPLE  # init's example says the default
    assert load_config(write(tmp_path, EXAMPLE), env=env).engine.implausible == "flag"
    text = EXAMPLE.replace("  implausible: flag\n", "  implausible: dead_letter\n", 1)
    assert load_config(write(tmp_path, text), env=env).engine.policy().implausible == "dead_letter"
    with pytest.raises(ConfigError, match=r"engine\.implausible"):
        load_config(write(tmp_path, EXAMPLE.replace("  implausible: flag\n", "  implausible: fix\n", 1)), env=env)
