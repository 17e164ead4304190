"""The scenario's facts survive a trip through Logo's tables: written by LogoWriter, read by LogoAdapter.

Runs on SQLite, PostgreSQL and MariaDB (the latter two skip, with the reason, when not reachable).
Translations named here are Logo's own representation, not losses:
  * warehouses: Logo identifies them by number (L_CAPIWHOUSE.NR, SOURCEINDEX, INVENNO), so the
    feed's warehouse_code is that number; the scenario's "01" is warehouse 0.
  * phones: mapping.text.phone normalises "+90 555 123 45 67" to "+905551234567".
  * an order the scenario calls "shippable" although every line is fully shipped reads back as
    "closed": Logo closes orders per line and keeps no header status for that.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.logo.tables import logo_tables
from mapping.schema import Invoice, Order
from mapping.text import phone
from scenario import expect
from scenario.facts import Scenario
from scenario.generate import build
from tests.conftest import DATABASE_KINDS, database_url
from tests.dbs import adapter, records, write

SCENARIO = build(invoice_lines=2000)
# Feed fields the Logo tables do not carry: none. Snapshot time is the read time, not the scenario's.
AS_OF = frozenset({"as_of"})


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every stream's records, read back from a database the scenario was written to."""
    with database_url(request.param, tmp_path_factory.mktemp("logo")) as url:
        write(url, SCENARIO)
        with adapter(url, SCENARIO) as source:
            out: dict[str, Any] = {s.name: records(s) for s in source.streams()}
        out["url"] = url
        yield out


def _warehouse(code: str | None, scenario: Scenario = SCENARIO) -> str | None:
    numbers = {w.code: str(w.number) for w in scenario.warehouses}
    return None if code is None else numbers[code]


def _logo_document(doc: Invoice | Order) -> Any:
    """The fact as Logo represents it (see the module docstring)."""
    lines = [msgspec.structs.replace(line, warehouse_code=_warehouse(line.warehouse_code)) for line in doc.lines]
    changes: dict[str, Any] = {"warehouse_code": _warehouse(doc.warehouse_code), "lines": lines}
    if isinstance(doc, Order) and doc.status in ("open", "shippable") and lines and all(x.closed for x in lines):
        changes["status"] = "closed"
    return msgspec.structs.replace(doc, **changes)


def _by(records_: list[Any], field: str = "code") -> dict[str, Any]:
    return {getattr(r, field): r for r in records_}


def test_accounts(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert expect.dealer_codes(got.values()) == expect.dealer_codes(facts)
    assert set(got) == {a.code for a in facts}
    for fact in facts:
        want = msgspec.structs.replace(fact, phone=phone(fact.phone))
        assert expect.comparable(got[fact.code]) == expect.comparable(want), fact.code


def test_products(synced: dict[str, Any]) -> None:
    got = _by(synced["products"])
    assert set(got) == {p.record.code for p in SCENARIO.products}  # the material-class card is not a product
    for st in SCENARIO.products:
        assert expect.comparable(got[st.record.code]) == expect.comparable(st.record), st.record.code


def test_invoices_field_by_field(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    got = _by(synced["invoices"], "number")
    assert len(got) == len(synced["invoices"]) == len(facts)
    for fact in facts:
        assert expect.comparable(got[fact.number]) == expect.comparable(_logo_document(fact)), fact.number
    kinds = {i.kind for i in facts}
    assert {"sale", "return", "service", "price_difference"} <= kinds
    assert any(i.cancelled for i in got.values()) and any(i.currency != "TRY" for i in got.values())
    returns = [i for i in got.values() if i.kind == "return"]
    assert returns and all(i.original_invoice in got for i in returns)


def test_invoice_totals_by_dealer_month(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def test_collections(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.collections()]
    got = synced["collections"]
    # CLFLINE also holds every invoice posting (module 4, returns with SIGN=1): none may come back.
    assert len(got) == len(facts)
    assert expect.collections_by_dealer(got) == expect.collections_by_dealer(facts)
    by_number = _by(got, "number")
    for fact in facts:
        assert expect.comparable(by_number[fact.number]) == expect.comparable(fact), fact.number
    engine = sa.create_engine(synced["url"])
    t = logo_tables(sa.MetaData(), 1, 1)
    with engine.connect() as conn:
        credit_postings = conn.execute(
            sa.select(sa.func.count()).where(t.CLFLINE.c.MODULENR == 4, t.CLFLINE.c.SIGN == 1)
        ).scalar_one()
    engine.dispose()
    assert credit_postings > 0


def test_orders(synced: dict[str, Any]) -> None:
    got = _by(synced["orders"], "number")
    facts = [s.record for s in SCENARIO.orders()]
    assert set(got) == {o.number for o in facts}
    for fact in facts:
        assert expect.comparable(got[fact.number]) == expect.comparable(_logo_document(fact)), fact.number


def test_stock_levels_and_total_row(synced: dict[str, Any]) -> None:
    got = {(s.product_code, s.warehouse_code): s for s in synced["stock_levels"]}
    assert len(got) == len(SCENARIO.stock_levels)
    for fact in SCENARIO.stock_levels:
        want = msgspec.structs.replace(fact, warehouse_code=_warehouse(fact.warehouse_code))
        assert expect.comparable(got[want.product_code, want.warehouse_code], AS_OF) == expect.comparable(want, AS_OF)
    # INVENNO = -1 is Logo's all-warehouse total: never a stock level, and equal to the sum.
    engine = sa.create_engine(synced["url"])
    t = logo_tables(sa.MetaData(), 1, 1)
    with engine.connect() as conn:
        totals = dict(
            conn.execute(
                sa.select(t.ITEMS.c.CODE, t.GNTOTST.c.ONHAND)
                .join_from(t.GNTOTST, t.ITEMS, t.ITEMS.c.LOGICALREF == t.GNTOTST.c.STOCKREF)
                .where(t.GNTOTST.c.INVENNO == -1)
            ).all()
        )
    engine.dispose()
    sums = expect.on_hand_by_product(synced["stock_levels"])
    assert {code: Decimal(repr(v)).quantize(Decimal("0.001")) for code, v in totals.items()} == sums


def test_risk_limits(synced: dict[str, Any]) -> None:
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {r.account_code for r in SCENARIO.risk_limits}
    # The open-orders figure Logo can give: orders not cancelled, open/shippable, with a line not closed.
    open_orders = expect.open_orders_by_dealer(_logo_document(s.record) for s in SCENARIO.orders())
    for fact in SCENARIO.risk_limits:
        orders = open_orders.get(fact.account_code, Decimal("0.00")).quantize(Decimal("0.01"))
        want = msgspec.structs.replace(
            fact, open_orders=orders, exposure=(fact.open_balance or 0) + orders + (fact.uncashed_cheques or 0)
        )
        assert expect.comparable(got[fact.account_code], AS_OF) == expect.comparable(want, AS_OF), fact.account_code


def test_account_ledger(synced: dict[str, Any]) -> None:
    """Every CLFLINE row comes back as the entry the facts make. Logo keeps every field of the entry except a
    running balance (none on the row: null); `erp_kind` is 'MODULENR:TRCODE' and `sequence` the row's
    LOGICALREF, which the facts cannot know."""
    got = synced["account_ledger"]
    want = expect.ledger_entries(
        [s.record for s in SCENARIO.invoices()],
        [s.record for s in SCENARIO.collections()],
        [s.record for s in SCENARIO.notes()],
    )
    by_doc = {(e.document_no, e.kind): e for e in got}
    assert len(by_doc) == len(got) == len(want)
    assert {e.kind for e in got} == {"invoice", "return", "collection", "opening", "debit_note", "credit_note"}
    own = {"erp_kind", "sequence"}
    for fact in want:
        entry = by_doc[fact.document_no, fact.kind]
        assert expect.comparable(entry, own) == expect.comparable(fact, own), fact.document_no
        assert entry.balance is None and entry.sequence is not None
    assert {e.erp_kind for e in got if e.kind == "opening"} == {"5:14"}
    assert {e.erp_kind for e in got if e.kind == "debit_note"} == {"5:3"}
    assert {e.erp_kind for e in got if e.kind == "credit_note"} == {"5:4"}
    # The ledger adds up to the balance the risk figures carry (Logo's own GNTOTCL totals).
    balance: dict[str, Decimal] = {}
    for e in got:
        if not e.cancelled:
            balance[e.account_code] = balance.get(e.account_code, Decimal(0)) + e.debit_local - e.credit_local
    for fact in SCENARIO.risk_limits:
        assert balance.get(fact.account_code, Decimal(0)) == fact.open_balance, fact.account_code


def test_price_lists(synced: dict[str, Any]) -> None:
    """Every entry of the scenario's price lists comes back whole: Logo keeps list code and name (CODE,
    DEFINITION_ of the price card), unit, price, currency, VAT flag, minimum quantity and validity."""
    got = {(e.list_code, e.product_code, e.unit, e.valid_from): e for e in synced["price_lists"]}
    assert len(got) == len(synced["price_lists"]) == len(SCENARIO.price_lists)
    for fact in SCENARIO.price_lists:
        entry = got[fact.list_code, fact.product_code, fact.unit, fact.valid_from]
        assert expect.comparable(entry) == expect.comparable(fact), fact.product_code


def test_discounts(synced: dict[str, Any]) -> None:
    got = _by(synced["discounts"])
    assert set(got) == {d.record.code for d in SCENARIO.discounts}
    assert {d.kind for d in got.values()} == {"percent", "amount", "fixed_price"}
    for st in SCENARIO.discounts:
        assert expect.comparable(got[st.record.code]) == expect.comparable(st.record), st.record.code
