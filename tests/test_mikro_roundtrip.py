"""The scenario's facts survive a trip through Mikro's tables: written by MikroWriter, read by MikroAdapter.

Runs on SQLite, PostgreSQL and MariaDB (the latter two skip, with the reason, when not reachable).
The sync yields the scenario's facts (what the Logo copy yields), except:

Fields Mikro does not have (FIELDS_MIKRO_LACKS, per stream):
  * accounts.discount_rate: Mikro gives an account discount definitions (cari_satis_isk_kod), not a rate.
  * invoices/orders issued_at: Mikro's document dates carry no time of day.
  * invoices.due_date: on an invoice cha_vade is a payment-plan number, not a date.
  * invoices.original_invoice: v16/v17 rows keep no link from a return to the sale it returns.
  * collections.settles: receipts are closed against invoices elsewhere (no link on the row).
  * discounts valid_from / valid_to / priority / min_quantity: Mikro's discount matrix and price lists
    have no validity window, priority or quantity tier.
  * the header warehouse of invoices and orders: Mikro keeps warehouses per line only.
  * service lines' unit and warehouse: a service row has neither; its unit price is gross / quantity.
  * stock_levels / risk_limits as_of: the read time, not the scenario's.

Representation differences:
  * warehouses are DEPOLAR numbers: the scenario's "01" is warehouse 1.
  * phones: mapping.text.phone normalises "+90 555 123 45 67" to "+905551234567".
  * kind "both": Mikro has no customer-and-supplier link type; such accounts read as customers.
  * an order shipped in part reads "shippable", one fully shipped "closed", one not shipped "open".
  * an inactive discount is stored cancelled (no passive flag) and so is absent; a fixed price is a
    customer price list row, coded "<list>:<product>:<account>".
  * stock: on hand comes from movements, reserved from open orders; pairs that moved but net to
    zero are levels too. Risk: invoices closed to cash or bank never reach the customer's balance;
    open orders are Mikro's (not cancelled, a line not closed).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer import pays_at_once
from mapping.schema import Invoice, Order
from mapping.text import phone
from scenario import expect
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.mikro_dbs import adapter, records, write

SCENARIO = build(invoice_lines=2000)
FIELDS_MIKRO_LACKS = {
    "accounts": frozenset({"discount_rate"}),
    "invoices": frozenset({"issued_at", "due_date", "original_invoice"}),
    "orders": frozenset({"issued_at"}),
    "collections": frozenset({"settles"}),
    "discounts": frozenset({"valid_from", "valid_to", "priority", "min_quantity"}),
    "stock_levels": frozenset({"as_of"}),
    "risk_limits": frozenset({"as_of"}),
}
Q2 = Decimal("0.01")


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every stream's records, read back from a database the scenario was written to."""
    with database_url(request.param, tmp_path_factory.mktemp("mikro")) as url:
        write(url, SCENARIO)
        with adapter(url, SCENARIO) as source:
            out: dict[str, Any] = {s.name: records(s) for s in source.streams()}
        out["url"] = url
        yield out


def _depot(code: str | None) -> str | None:
    return None if code is None else str(int(code))


def _mikro_document(doc: Invoice | Order) -> Any:
    """The fact as Mikro represents it (see the module docstring)."""
    lines = []
    for line in doc.lines:
        if line.kind == "service" and isinstance(doc, Invoice):
            price = (line.gross / line.quantity).quantize(Decimal("0.0001"))
            line = msgspec.structs.replace(line, unit=None, unit_code=None, warehouse_code=None, unit_price=price)
        lines.append(msgspec.structs.replace(line, warehouse_code=_depot(line.warehouse_code)))
    changes: dict[str, Any] = {"warehouse_code": None, "lines": lines}
    if isinstance(doc, Order) and doc.status in ("open", "shippable"):
        if all(x.closed for x in lines):
            changes["status"] = "closed"
        elif not any(x.shipped_quantity for x in lines):
            changes["status"] = "open"
    return msgspec.structs.replace(doc, **changes)


def _by(records_: list[Any], field: str = "code") -> dict[str, Any]:
    return {getattr(r, field): r for r in records_}


def _same(stream: str, got: Any, want: Any) -> bool:
    ignore = FIELDS_MIKRO_LACKS.get(stream, frozenset())
    return bool(expect.comparable(got, ignore) == expect.comparable(want, ignore))


def test_accounts(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert expect.dealer_codes(got.values()) == expect.dealer_codes(facts)
    assert set(got) == {a.code for a in facts}
    assert any("İ" in a.title or "ş" in a.title for a in got.values())  # Turkish text survives nvarchar
    for fact in facts:
        kind = "customer" if fact.kind == "both" else fact.kind
        want = msgspec.structs.replace(fact, phone=phone(fact.phone), kind=kind)
        assert _same("accounts", got[fact.code], want), fact.code


def test_products_and_a_cancelled_card(synced: dict[str, Any]) -> None:
    got = _by(synced["products"])
    assert set(got) == {p.record.code for p in SCENARIO.products}  # the sto_iptal card is a delete, not a product
    for st in SCENARIO.products:
        assert _same("products", got[st.record.code], st.record), st.record.code


def test_invoices_field_by_field(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    got = _by(synced["invoices"], "number")
    assert len(got) == len(synced["invoices"]) == len(facts)
    for fact in facts:
        assert _same("invoices", got[fact.number], _mikro_document(fact)), fact.number
    assert {"sale", "return", "service", "price_difference"} <= {i.kind for i in got.values()}
    assert any(i.cancelled for i in got.values()) and {"USD", "EUR"} <= {i.currency for i in got.values()}


def test_invoice_totals_by_dealer_month(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def test_collections(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.collections()]
    got = synced["collections"]
    assert len(got) == len(facts)  # invoices share the table: none may come back as a collection
    assert expect.collections_by_dealer(got) == expect.collections_by_dealer(facts)
    by_number = _by(got, "number")
    for fact in facts:
        assert _same("collections", by_number[fact.number], fact), fact.number
    assert {c.method for c in got} == {"cash", "card", "cheque", "promissory_note", "bank_transfer"}


def test_orders(synced: dict[str, Any]) -> None:
    got = _by(synced["orders"], "number")
    facts = [s.record for s in SCENARIO.orders()]
    assert set(got) == {o.number for o in facts}
    for fact in facts:
        assert _same("orders", got[fact.number], _mikro_document(fact)), fact.number
    assert {o.status for o in got.values()} == {"proposal", "open", "shippable", "closed", "cancelled"}


def _factors() -> dict[tuple[str, str], Decimal]:
    return {(p.record.code, u.unit): u.factor for p in SCENARIO.products for u in p.record.units}


def test_stock_levels_from_movements(synced: dict[str, Any]) -> None:
    factors = _factors()
    reserved: dict[tuple[str, str], Decimal] = {}
    for order in (_mikro_document(s.record) for s in SCENARIO.orders()):
        if order.status in ("cancelled", "proposal"):
            continue
        for line in order.lines:
            if not line.closed and line.quantity > (line.shipped_quantity or 0):
                key = (line.product_code or "", line.warehouse_code or "")
                owed = (line.quantity - (line.shipped_quantity or 0)) * factors[
                    line.product_code or "", line.unit or ""
                ]
                reserved[key] = reserved.get(key, Decimal(0)) + owed
    got = {(s.product_code, s.warehouse_code): s for s in synced["stock_levels"]}
    wanted = set()
    for fact in SCENARIO.stock_levels:
        key = (fact.product_code, _depot(fact.warehouse_code) or "")
        wanted.add(key)
        held = reserved.get(key, Decimal(0)).quantize(Decimal("0.001"))
        want = msgspec.structs.replace(fact, warehouse_code=key[1], reserved=held, available=fact.on_hand - held)
        assert _same("stock_levels", got[key], want), key
    # Pairs that moved (invoices, returns) without a scenario level net out to nothing.
    assert all(level.on_hand == 0 for key, level in got.items() if key not in wanted)


def test_risk_limits(synced: dict[str, Any]) -> None:
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {r.account_code for r in SCENARIO.risk_limits}
    accounts = {s.record.code: s.record for s in SCENARIO.accounts}
    closed: dict[str, Decimal] = {}
    for inv in (s.record for s in SCENARIO.invoices()):
        if inv.kind == "sale" and not inv.cancelled and pays_at_once(accounts[inv.account_code]):
            closed[inv.account_code] = closed.get(inv.account_code, Decimal(0)) + inv.totals_local.total
    assert closed, "the scenario must have invoices closed to cash or bank"
    open_orders = expect.open_orders_by_dealer(_mikro_document(s.record) for s in SCENARIO.orders())
    for fact in SCENARIO.risk_limits:
        balance = (fact.open_balance or Decimal("0.00")) - closed.get(fact.account_code, Decimal(0))
        orders = open_orders.get(fact.account_code, Decimal(0)).quantize(Q2)
        want = msgspec.structs.replace(
            fact,
            open_balance=balance,
            open_orders=orders,
            exposure=balance + orders + (fact.uncashed_cheques or Decimal("0.00")),
        )
        assert _same("risk_limits", got[fact.account_code], want), fact.account_code


def test_discounts(synced: dict[str, Any]) -> None:
    got = _by(synced["discounts"])
    wanted = {}
    for st in SCENARIO.discounts:
        rule = st.record
        if not rule.active:
            continue  # stored cancelled: see the module docstring
        if rule.kind == "fixed_price":
            rule = msgspec.structs.replace(rule, code=f"{rule.code}:{rule.product_code}:{rule.account_code}")
        wanted[rule.code] = rule
    assert set(got) == set(wanted)  # the general lists (price_lists) give no discount
    assert {d.kind for d in got.values()} == {"percent", "amount", "fixed_price"}
    for code, rule in wanted.items():
        assert _same("discounts", got[code], rule), code


def test_returns_are_credit_documents_and_closed_invoices_post_to_cash_or_bank(synced: dict[str, Any]) -> None:
    """In the tables: a return is a purchase-type invoice on the credit side, and a sale closed at once
    posts to the cash box or bank, the customer only in cha_ciro_cari_kodu; the feed shows both right."""
    h = mikro_tables(sa.MetaData()).CARI_HESAP_HAREKETLERI.c
    engine = sa.create_engine(synced["url"])
    with engine.connect() as conn:
        sides = dict(
            conn.execute(
                sa.select(h.cha_evrak_tip, sa.func.max(h.cha_tip))
                .where(h.cha_evrak_tip.in_((0, 63)), h.cha_satir_no == 0)
                .group_by(h.cha_evrak_tip)
            ).all()
        )
        closed = conn.execute(
            sa.select(h.cha_evrakno_seri, h.cha_evrakno_sira, h.cha_kod, h.cha_ciro_cari_kodu).where(
                h.cha_evrak_tip == 63, h.cha_cari_cins.in_((2, 4)), h.cha_tpoz == 1
            )
        ).all()
    engine.dispose()
    assert sides == {0: 1, 63: 0}
    assert {row.cha_kod for row in closed} == {"001", "01"}
    invoices = _by(synced["invoices"], "number")
    for row in closed:
        number = f"{row.cha_evrakno_seri}{row.cha_evrakno_sira:06d}"
        assert invoices[number].account_code == row.cha_ciro_cari_kodu
