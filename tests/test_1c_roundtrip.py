"""The scenario's facts survive a trip through 1C's standard OData interface (UT 11 and BP 3 layouts):
published by the emulator on loopback, read by OneCAdapter over HTTP.

How 1C holds the facts differently (named here, applied to the facts before comparing):
  * the local currency is the rouble: TRY reads as RUB (amounts kept); USD/EUR stay;
  * tax ids are Russian INNs (the emulator's inn_of), tax_id_kind INN; 1C has no tax office (it has a KPP);
  * an account's currency is its agreement's / contract's, which a Russian distributor keeps in roubles;
    UT 11 suppliers have no client agreement (currency and payment terms None);
  * sales reps are users (Catalog_Пользователи) without a code: the feed carries the user's name;
  * units have Russian names (шт, м, кг, кор); their UN/ECE codes are unchanged;
  * phones are normalised by mapping.text.phone;
  * cheques and promissory notes are banked: bank receipts (bank_transfer) without a due date;
  * discount rules and dealer prices are register records: their code is built from the record's
    dimensions, switched-off rules are not kept, a dealer price has no end date or priority;
  * a zero balance is not a row of a Balance virtual table: all-zero stock levels are absent.
Fields 1C does not have (None / defaults in the feed): Account.tax_office, active, blocked,
discount_rate, e_invoice; Product.active; Invoice.document_no, e_invoice_uuid and a return's or
correction's due_date; OrderLine.shipped_quantity and the shipped-in-full `closed`; RiskLimit.uncashed_cheques,
collateral, blocked; Collection.due_date.
BP 3 also lacks: business partners (region, manager, head partner, registration date, payment schedule),
packagings and barcodes (case lines read in base units), brands, discount rules, stock reserves, per-line
warehouses, payment dates, order statuses (an invoice for payment reads open, or cancelled) and open orders.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import SourceContext
from mapping.schema import Account, Collection, Discount, Invoice, Order, OrderLine, Product, Record
from mapping.taxid import inn_valid
from mapping.text import phone
from scenario import expect
from scenario.generate import build

onec = importlib.import_module("connectors.1c")
emulator = importlib.import_module("connectors.1c.emulator")
publish = importlib.import_module("connectors.1c.publish")
layout = importlib.import_module("connectors.1c.layout")

SCENARIO = build(invoice_lines=2000)
AS_OF = frozenset({"as_of"})
REPS = {rep.code: rep.name for rep in SCENARIO.sales_reps}
PRODUCTS = {p.record.code: p.record for p in SCENARIO.products}


def rub(currency: str | None) -> str | None:
    return "RUB" if currency == SCENARIO.local_currency else currency


@pytest.fixture(scope="module", params=["ut11", "bp3"])
def synced(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Every stream's records, read over HTTP from the emulator holding the scenario."""
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as erp:
        context = SourceContext("1c-test", ZoneInfo(SCENARIO.timezone), 300)
        with onec.OneCAdapter(context, onec.OneCSettings(**erp.settings())) as source:
            out: dict[str, Any] = {"configuration": request.param}
            for stream in source.streams():
                records = [stream.map(item) for chunk in stream.read(None) for item in chunk]
                out[stream.name] = [r for r in records if r is not None]
        yield out


def _bp(synced: dict[str, Any]) -> bool:
    return synced["configuration"] == "bp3"


def _by(records: list[Any], field: str = "code") -> dict[str, Any]:
    out = {getattr(r, field): r for r in records}
    assert len(out) == len(records), f"duplicate {field}"
    return out


def _same(got: Record, want: Record, ignore: frozenset[str] = frozenset()) -> None:
    assert expect.comparable(got, ignore) == expect.comparable(want, ignore)


# -- accounts and products ---------------------------------------------------------------------------


def _account(fact: Account, bp: bool) -> Account:
    changes: dict[str, Any] = {
        "tax_id": publish.inn_of(fact),
        "tax_id_kind": "INN",
        "tax_office": None,
        "currency": "RUB",
        "sales_rep_code": REPS.get(fact.sales_rep_code or ""),
        "phone": phone(fact.phone),
        "active": True,
        "blocked": False,
        "discount_rate": None,
        "e_invoice": None,
    }
    if fact.kind == "supplier" and not bp:  # no client agreement: no currency, no payment schedule
        changes |= {"currency": None, "payment_terms": None}
    if bp:
        changes |= dict.fromkeys(("region_code", "sales_rep_code", "parent_code", "created_at", "payment_terms"))
    return msgspec.structs.replace(fact, **changes)


def test_accounts(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert set(got) == {a.code for a in facts}
    assert expect.dealer_codes(got.values()) == expect.dealer_codes(facts)
    for fact in facts:
        _same(got[fact.code], _account(fact, _bp(synced)))
        assert inn_valid(got[fact.code].tax_id or "")
        assert len(got[fact.code].tax_id or "") == (12 if fact.is_individual else 10)
    assert any(a.parent_code for a in got.values()) != _bp(synced)  # the dealer hierarchy is UT 11's partners
    assert any(not a.title.isascii() for a in got.values())  # Turkish letters survive UTF-8 JSON


def _unit(name: str) -> str:
    return layout.RUSSIAN_UNITS[name]


def _product(fact: Product, bp: bool) -> Product:
    units = [msgspec.structs.replace(u, unit=_unit(u.unit)) for u in fact.units]
    changes: dict[str, Any] = {"base_unit": _unit(fact.base_unit or ""), "units": units, "active": True}
    if bp:
        changes |= {"barcodes": [], "units": [msgspec.structs.replace(units[0], barcode=None)], "brand": None}
    return msgspec.structs.replace(fact, **changes)


def test_products(synced: dict[str, Any]) -> None:
    got = _by(synced["products"])
    assert set(got) == set(PRODUCTS)  # no folders, no services
    for fact in PRODUCTS.values():
        _same(got[fact.code], _product(fact, _bp(synced)))
    assert _bp(synced) or any(len(p.units) > 1 for p in got.values())


# -- snapshots -----------------------------------------------------------------------------------------


def test_stock_levels_summed_over_characteristics(synced: dict[str, Any]) -> None:
    got = {(s.product_code, s.warehouse_code): s for s in synced["stock_levels"]}
    bp = _bp(synced)
    facts = [f for f in SCENARIO.stock_levels if f.on_hand or (f.reserved and not bp)]
    assert len(got) == len(facts) == len(synced["stock_levels"])
    for fact in facts:
        want = msgspec.structs.replace(fact, reserved=None, available=None) if bp else fact
        _same(got[fact.product_code, fact.warehouse_code], want, AS_OF)


def test_risk_limits(synced: dict[str, Any]) -> None:
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {r.account_code for r in SCENARIO.risk_limits}
    open_orders = expect.open_orders_by_dealer(s.record for s in SCENARIO.orders())
    for fact in SCENARIO.risk_limits:
        orders = None if _bp(synced) else open_orders.get(fact.account_code, Decimal("0.00"))
        want = msgspec.structs.replace(
            fact,
            currency="RUB",
            open_orders=orders,
            uncashed_cheques=None,
            collateral=None,
            blocked=False,
            exposure=(fact.open_balance or Decimal("0.00")) + (orders or Decimal("0.00")),
        )
        _same(got[fact.account_code], want, AS_OF)


def _rule_key(d: Discount) -> tuple[Any, ...]:
    return (d.account_code, d.account_group_code, d.product_code, d.product_group_code, d.valid_from, d.min_quantity)


def test_discounts_and_dealer_prices(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    held: dict[tuple[Any, ...], Discount] = {}
    for fact in (s.record for s in SCENARIO.discounts):
        if fact.active and (fact.kind == "fixed_price" or not bp):
            want = msgspec.structs.replace(fact, currency=rub(fact.currency))
            if fact.kind == "fixed_price":
                want = msgspec.structs.replace(want, priority=0, valid_to=None)
            held[_rule_key(fact)] = want  # a later record with the same dimensions replaces the earlier one
    got = {_rule_key(d): d for d in synced["discounts"]}
    assert len(got) == len(synced["discounts"]) == len(held)  # the shared list prices are no dealer's deal
    for key, want in held.items():
        _same(got[key], want, frozenset({"code"}))
    codes = [d.code for d in synced["discounts"]]
    assert len(set(codes)) == len(codes) and all(str(d.valid_from) in d.code for d in synced["discounts"])
    assert {d.kind for d in got.values()} == ({"fixed_price"} if bp else {"percent", "amount", "fixed_price"})


# -- documents -----------------------------------------------------------------------------------------


def _line(line: Any, bp: bool, header_warehouse: str | None) -> Any:
    changes: dict[str, Any] = {"sales_rep_code": REPS.get(line.sales_rep_code or "")}
    product = PRODUCTS.get(line.product_code or "")
    unit = line.unit
    if product is not None and bp and line.unit != product.base_unit:  # no packagings: base units
        factor = next(u.factor for u in product.units if u.unit == line.unit)
        unit = product.base_unit
        changes |= {
            "quantity": (line.quantity * factor).quantize(Decimal("0.001")),
            "unit_price": (line.unit_price / factor).quantize(Decimal("0.0001")),
            "unit_code": product.base_unit_code,
        }
    changes["unit"] = _unit(unit)
    if bp:
        changes["warehouse_code"] = header_warehouse
    if isinstance(line, OrderLine):
        changes |= {"shipped_quantity": None, "closed": False}
    return msgspec.structs.replace(line, **changes)


def _invoice(fact: Invoice, bp: bool) -> Invoice:
    return msgspec.structs.replace(
        fact,
        currency=rub(fact.currency),
        document_no=None,
        e_invoice_uuid=None,
        due_date=None if bp or fact.kind in ("return", "price_difference") else fact.due_date,
        sales_rep_code=REPS.get(fact.sales_rep_code or ""),
        lines=[_line(x, bp, fact.warehouse_code) for x in fact.lines],
    )


def test_invoices_field_by_field(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    got = _by(synced["invoices"], "number")
    assert set(got) == {i.number for i in facts}  # drafts (unposted) are not invoices
    for fact in facts:
        _same(got[fact.number], _invoice(fact, _bp(synced)))
    assert {"sale", "return", "service", "price_difference"} <= {i.kind for i in got.values()}
    assert any(i.cancelled for i in got.values()) and {"USD", "EUR", "RUB"} <= {i.currency for i in got.values()}
    returns = [i for i in got.values() if i.kind == "return"]
    assert returns and all(i.original_invoice in got for i in returns)


def test_invoice_totals_by_dealer_month(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def _order(fact: Order, bp: bool) -> Order:
    lines = [_line(x, bp, fact.warehouse_code) for x in fact.lines]
    if fact.status == "cancelled":
        lines = [msgspec.structs.replace(x, closed=not bp) for x in lines]  # UT 11 cancels by line (Отменено)
    status = fact.status if not bp or fact.status == "cancelled" else "open"
    return msgspec.structs.replace(
        fact,
        currency=rub(fact.currency),
        status=status,
        sales_rep_code=REPS.get(fact.sales_rep_code or ""),
        lines=lines,
    )


def test_orders(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.orders()]
    got = _by(synced["orders"], "number")
    assert set(got) == {o.number for o in facts}
    for fact in facts:
        _same(got[fact.number], _order(fact, _bp(synced)))


def _collection(fact: Collection) -> Collection:
    method = "bank_transfer" if fact.method in ("cheque", "promissory_note") else fact.method
    return msgspec.structs.replace(fact, currency=rub(fact.currency), method=method, due_date=None)


def test_collections(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.collections()]
    got = _by(synced["collections"], "number")
    assert set(got) == {c.number for c in facts}
    for fact in facts:
        _same(got[fact.number], _collection(fact))
    assert expect.collections_by_dealer(got.values()) == expect.collections_by_dealer(facts)
    assert any(c.settles for c in got.values()) and any(c.cancelled for c in got.values())
