"""The scenario's facts survive a trip through 1C's standard OData interface (УТ 11 and БП 3 layouts):
published by the emulator on loopback, read by OneCAdapter over HTTP.

How 1C holds the facts differently (named here, applied to the facts before comparing):
  * the local currency is the rouble: TRY reads as RUB (amounts kept); USD/EUR stay;
  * tax ids are Russian INNs (the emulator's inn_of), tax_id_kind INN; 1C has no tax office (it has a KPP);
  * УТ 11's legal entities have no code: an account's code is its Ref_Key (every account_code too), and they
    have no groups; УТ's warehouses have no code: the code is the warehouse's name;
  * an account's currency is its agreement's / contract's, which a Russian distributor keeps in roubles;
    УТ 11 suppliers have no client agreement (currency and payment terms None);
  * sales reps are users (Catalog_Пользователи) without a code: the feed carries the user's name;
  * units have Russian names (шт, м, кг, кор); their UN/ECE codes are unchanged;
  * phones are normalised by mapping.text.phone;
  * БП has no 1 % VAT rate: such items and lines carry no rate (vat_rate None); УТ keeps it in
    Catalog_СтавкиНДС as a rate without enumeration;
  * a section without a discount column (БП sales and returns, УТ returns and correction differences)
    holds the price after the discount: gross = net, discount 0, unit_price the price 1C holds; where
    prices include VAT (a third of the documents), the price 1C holds includes it;
  * a correction line is a difference: quantity 0 (a price-only change); УТ's difference has no price
    (unit_price 0), БП's is the price after minus the price before;
  * cheques and promissory notes are banked: bank receipts (bank_transfer) without a due date;
  * dealer prices are register records: their code is built from the record's dimensions, a dealer
    price has no end date or priority; percent and amount rules are not kept (УТ 11.5 and ERP 2.5 have
    no СкидкиНаценкиНоменклатуры register, БП no discount rules at all);
  * a zero balance is not a row of a Balance virtual table: all-zero stock levels are absent;
  * УТ sales keep their payment date in a payment schedule section that is not read: no due date.
Fields 1C does not have (None / defaults in the feed): Account.tax_office, active, blocked,
discount_rate, e_invoice; Product.active; Invoice.document_no, e_invoice_uuid, due_date;
OrderLine.shipped_quantity and the shipped-in-full `closed`; RiskLimit.uncashed_cheques, collateral,
blocked; Collection.due_date.
БП 3 also lacks: business partners (region, manager, head partner, registration date, payment schedule),
packagings and barcodes (case lines read in base units), brands, stock reserves, per-line warehouses,
order statuses (an invoice for payment reads open, or cancelled) and credit limits (no risk_limits stream).
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
infobase = importlib.import_module("connectors.1c.infobase")

SCENARIO = build(invoice_lines=2000)
AS_OF = frozenset({"as_of"})
REPS = {rep.code: rep.name for rep in SCENARIO.sales_reps}
PRODUCTS = {p.record.code: p.record for p in SCENARIO.products}
WAREHOUSES = {w.code: w.name for w in SCENARIO.warehouses}
ZERO = Decimal("0.00")


def rub(currency: str | None) -> str | None:
    return "RUB" if currency == SCENARIO.local_currency else currency


@pytest.fixture(scope="module", params=["ut11", "bp3"])
def synced(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Every stream's records, read over HTTP from the emulator holding the scenario."""
    with emulator.OneCEmulator(SCENARIO, configuration=request.param) as erp:
        context = SourceContext("1c-test", ZoneInfo(SCENARIO.timezone), 300)
        with onec.OneCAdapter(context, onec.OneCSettings(**erp.settings())) as source:
            out: dict[str, Any] = {"configuration": request.param, "base": erp.infobase}
            for stream in source.streams():
                records = [stream.map(item) for chunk in stream.read(None) for item in chunk]
                out[stream.name] = [r for r in records if r is not None]
        yield out


def _bp(synced: dict[str, Any]) -> bool:
    return synced["configuration"] == "bp3"


def _account_code(code: str | None, bp: bool) -> str | None:
    return code if bp or code is None else infobase.guid("counterparty", code)


def _warehouse(code: str | None, bp: bool) -> str | None:
    return code if bp or code is None else WAREHOUSES[code]


def _by(records: list[Any], field: str = "code") -> dict[str, Any]:
    out = {getattr(r, field): r for r in records}
    assert len(out) == len(records), f"duplicate {field}"
    return out


def _same(got: Record, want: Record, ignore: frozenset[str] = frozenset()) -> None:
    assert expect.comparable(got, ignore) == expect.comparable(want, ignore)


# -- accounts and products ---------------------------------------------------------------------------


def _account(fact: Account, bp: bool) -> Account:
    changes: dict[str, Any] = {
        "code": _account_code(fact.code, bp),
        "parent_code": _account_code(fact.parent_code, bp),
        "tax_id": publish.inn_of(fact),
        "tax_id_kind": "INN",
        "tax_id_valid": True,
        "tax_office": None,
        "currency": "RUB",
        "sales_rep_code": REPS.get(fact.sales_rep_code or ""),
        "phone": phone(fact.phone),
        "active": True,
        "blocked": False,
        "discount_rate": None,
        "e_invoice": None,
    }
    if not bp:
        changes["group_code"] = None
        if fact.kind == "supplier":  # no client agreement: no currency, no payment schedule
            changes |= {"currency": None, "payment_terms": None}
    else:
        changes |= dict.fromkeys(("region_code", "sales_rep_code", "parent_code", "created_at", "payment_terms"))
    return msgspec.structs.replace(fact, **changes)


def test_accounts(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert set(got) == {_account_code(a.code, bp) for a in facts}
    for fact in facts:
        account = got[_account_code(fact.code, bp)]
        _same(account, _account(fact, bp))
        assert inn_valid(account.tax_id or "") and len(account.tax_id or "") == (12 if fact.is_individual else 10)
    assert any(a.parent_code for a in got.values()) != bp  # the dealer hierarchy is УТ 11's partners
    assert any(not a.title.isascii() for a in got.values())  # Turkish letters survive UTF-8 JSON


def _unit(name: str) -> str:
    return layout.RUSSIAN_UNITS[name]


def _vat(rate: Decimal | None, bp: bool) -> Decimal | None:
    return None if bp and rate == Decimal("1.00") else rate  # БП has no 1 % rate


def _product(fact: Product, bp: bool) -> Product:
    units = [msgspec.structs.replace(u, unit=_unit(u.unit)) for u in fact.units]
    changes: dict[str, Any] = {
        "base_unit": _unit(fact.base_unit or ""),
        "units": units,
        "active": True,
        "vat_rate": _vat(fact.vat_rate, bp),
    }
    if bp:
        changes |= {"barcodes": [], "units": [msgspec.structs.replace(units[0], barcode=None)], "brand": None}
    return msgspec.structs.replace(fact, **changes)


def test_products(synced: dict[str, Any]) -> None:
    got = _by(synced["products"])
    assert set(got) == set(PRODUCTS)  # no folders, no services
    for fact in PRODUCTS.values():
        _same(got[fact.code], _product(fact, _bp(synced)))
    assert _bp(synced) or any(len(p.units) > 1 for p in got.values())
    assert {p.vat_rate for p in got.values()} >= {Decimal("10.00"), Decimal("20.00")}


# -- snapshots -----------------------------------------------------------------------------------------


def test_stock_levels_summed_over_characteristics(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    got = {(s.product_code, s.warehouse_code): s for s in synced["stock_levels"]}
    facts = [f for f in SCENARIO.stock_levels if f.on_hand or (f.reserved and not bp)]
    assert len(got) == len(facts) == len(synced["stock_levels"])
    for fact in facts:
        want = msgspec.structs.replace(fact, warehouse_code=_warehouse(fact.warehouse_code, bp))
        if bp:
            want = msgspec.structs.replace(want, reserved=None, available=None)
        _same(got[fact.product_code, want.warehouse_code], want, AS_OF)


def test_risk_limits(synced: dict[str, Any]) -> None:
    if _bp(synced):
        assert "risk_limits" not in synced  # БП 3 keeps no credit limit
        return
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {_account_code(r.account_code, False) for r in SCENARIO.risk_limits}
    open_orders = expect.open_orders_by_dealer(s.record for s in SCENARIO.orders())
    for fact in SCENARIO.risk_limits:
        orders = open_orders.get(fact.account_code, ZERO)
        want = msgspec.structs.replace(
            fact,
            account_code=_account_code(fact.account_code, False),
            currency="RUB",
            open_orders=orders,
            uncashed_cheques=None,
            collateral=None,
            blocked=False,
            exposure=(fact.open_balance or ZERO) + orders,
        )
        _same(got[want.account_code], want, AS_OF)


def test_dealer_prices(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    held: dict[tuple[Any, ...], Discount] = {}
    for fact in (s.record for s in SCENARIO.discounts):
        if fact.active and fact.kind == "fixed_price":
            want = msgspec.structs.replace(
                fact,
                account_code=_account_code(fact.account_code, bp),
                currency=rub(fact.currency),
                priority=0,
                valid_to=None,
            )
            held[(want.account_code, fact.product_code, fact.valid_from)] = want
    got = {(d.account_code, d.product_code, d.valid_from): d for d in synced["discounts"]}
    assert len(got) == len(synced["discounts"]) == len(held)  # the shared list prices are no dealer's deal
    for key, want in held.items():
        _same(got[key], want, frozenset({"code"}))
    codes = [d.code for d in synced["discounts"]]
    assert len(set(codes)) == len(codes) and all(str(d.valid_from) in d.code for d in synced["discounts"])


# -- documents -----------------------------------------------------------------------------------------

DISCOUNTED = {
    "ut11": ("Document_ЗаказКлиента", "Document_РеализацияТоваровУслуг"),
    "bp3": ("Document_СчетНаОплатуПокупателю",),
}


def _held(base: Any, number: str) -> tuple[str, Any, list[dict[str, Any]]]:
    """The emulator's document (set, header, its line rows in the order the adapter reads the sections)."""
    ref = infobase.guid("document", number)
    for name, entity_set in base.sets.items():
        if name.startswith("Document_") and ref in entity_set.index("Ref_Key") and entity_set.sections:
            header = entity_set.index("Ref_Key")[ref][0]
            rows = [row for section in entity_set.sections for row in base.sets[section].index("Ref_Key").get(ref, [])]
            return name, header, rows
    raise KeyError(number)


def _price(value: Any) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.0001"))


def _line(line: Any, bp: bool, header_warehouse: str | None, set_name: str, row: dict[str, Any], conf: str) -> Any:
    changes: dict[str, Any] = {
        "sales_rep_code": REPS.get(line.sales_rep_code or ""),
        "vat_rate": _vat(line.vat_rate, bp),
    }
    product = PRODUCTS.get(line.product_code or "")
    unit = line.unit
    if product is not None and bp and line.unit != product.base_unit:  # no packagings: base units
        factor = next(u.factor for u in product.units if u.unit == line.unit)
        unit = product.base_unit
        changes |= {
            "quantity": (line.quantity * factor).quantize(Decimal("0.001")),
            "unit_code": product.base_unit_code,
        }
    changes["unit"] = _unit(unit)
    # A section without a warehouse per line (БП, УТ returns) takes the document's.
    changes["warehouse_code"] = _warehouse(line.warehouse_code if "Склад_Key" in row else header_warehouse, bp)
    if "СуммаДоИзменения" in row:  # БП correction: after minus before
        changes |= {"quantity": Decimal("0.000"), "unit_price": _price(row["Цена"]) - _price(row["ЦенаДоИзменения"])}
    elif "Цена" not in row:  # УТ correction differences: no quantity, no price
        changes |= {"quantity": Decimal("0.000"), "unit_price": Decimal("0.0000")}
    else:
        changes["unit_price"] = _price(row["Цена"])  # the price as 1C holds it
    if set_name not in DISCOUNTED[conf]:  # no discount column: the price after the discount
        changes |= {"gross": line.net, "discount": ZERO}
    if isinstance(line, OrderLine):
        changes |= {"shipped_quantity": None, "closed": False}
    return msgspec.structs.replace(line, **changes)


def _document(fact: Invoice | Order, synced: dict[str, Any]) -> dict[str, Any]:
    bp, conf = _bp(synced), synced["configuration"]
    set_name, _, rows = _held(synced["base"], fact.number)
    lines = [_line(x, bp, fact.warehouse_code, set_name, row, conf) for x, row in zip(fact.lines, rows, strict=True)]
    changes: dict[str, Any] = {
        "account_code": _account_code(fact.account_code, bp),
        "currency": rub(fact.currency),
        "sales_rep_code": REPS.get(fact.sales_rep_code or ""),
        "warehouse_code": _warehouse(fact.warehouse_code, bp),
        "lines": lines,
    }
    if set_name not in DISCOUNTED[conf] and fact.totals_local is not None:
        changes["totals"] = msgspec.structs.replace(fact.totals, gross=fact.totals.net, discount=ZERO)
        changes["totals_local"] = msgspec.structs.replace(fact.totals_local, gross=fact.totals_local.net, discount=ZERO)
    return changes


def test_invoices_field_by_field(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    got = _by(synced["invoices"], "number")
    assert set(got) == {i.number for i in facts}  # drafts (unposted) and retail sales (left out) are not invoices
    for fact in facts:
        want = msgspec.structs.replace(
            fact, **_document(fact, synced), document_no=None, e_invoice_uuid=None, due_date=None
        )
        _same(got[fact.number], want)
    assert {"sale", "return", "service", "price_difference"} <= {i.kind for i in got.values()}
    assert any(i.cancelled for i in got.values()) and {"USD", "EUR", "RUB"} <= {i.currency for i in got.values()}
    returns = [i for i in got.values() if i.kind == "return"]
    assert returns and all(i.original_invoice in got for i in returns)
    assert max(len(i.lines) for i in got.values()) >= 10  # line 10 follows line 9, and is numbered 10


def test_invoice_totals_by_dealer_month(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    facts = [
        msgspec.structs.replace(s.record, account_code=_account_code(s.record.account_code, bp))
        for s in SCENARIO.invoices()
    ]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def test_orders(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    facts = [s.record for s in SCENARIO.orders()]
    got = _by(synced["orders"], "number")
    assert set(got) == {o.number for o in facts}
    for fact in facts:
        changes = _document(fact, synced)
        if fact.status == "cancelled" and not bp:  # УТ 11 cancels by line (Отменено)
            changes["lines"] = [msgspec.structs.replace(x, closed=True) for x in changes["lines"]]
        status = fact.status if not bp or fact.status == "cancelled" else "open"
        _same(got[fact.number], msgspec.structs.replace(fact, **changes, status=status))


def _collection(fact: Collection, bp: bool) -> Collection:
    method = (
        "bank_transfer"
        if fact.method in ("cheque", "promissory_note") or (bp and fact.method == "card")
        else fact.method
    )
    return msgspec.structs.replace(
        fact,
        account_code=_account_code(fact.account_code, bp),
        currency=rub(fact.currency),
        method=method,
        due_date=None,
    )


def test_collections(synced: dict[str, Any]) -> None:
    bp = _bp(synced)
    facts = [_collection(s.record, bp) for s in SCENARIO.collections()]
    got = _by(synced["collections"], "number")
    assert set(got) == {c.number for c in facts}  # a supplier's refund is not a collection
    for fact in facts:
        _same(got[fact.number], fact)
    assert expect.collections_by_dealer(got.values()) == expect.collections_by_dealer(facts)
    assert any(c.settles for c in got.values()) and any(c.cancelled for c in got.values())
