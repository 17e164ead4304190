"""The scenario's facts survive a trip through Netsis's tables: written by NetsisWriter, read by NetsisAdapter.

Runs on SQLite, PostgreSQL and MariaDB (the latter two skip, with the reason, when not reachable).
The writer stores text as a Latin-1-collated Netsis database holds it (İ Ş Ğ ı ş ğ as Ý Þ Ð ý þ ð),
so every equality below also proves the Turkish repair. It lays the vendor's tables: no cancel flag
(a cancelled document is deleted, so only live documents come back: test_netsis_sites.py reads a
site that flags them), line prices varying per document (net and gross, net only, gross only).
Every document read satisfies the feed's invariants: the demo data flags nothing.

Fields Netsis does not have (FIELDS_NETSIS_LACKS, per stream):
  * accounts `active`, `blocked`: TBLCASABIT has no passive flag and no credit-stop flag (its risk
    control is a per-document warning, configured elsewhere); risk_limits `blocked` likewise.
  * invoices and orders `issued_at`: TARIH is a date; Netsis keeps no time of issue.
  * invoices `e_invoice_uuid`: the ETTN lives in Netsis's e-invoice tables, not in TBLFATUIRS.
  * collections `settles`: Netsis closes movements in its own closing tables, not on the ledger row.
  * stock_levels `reserved`, `available`: TBLSTOKPH holds in/out totals only.
  * snapshots' `as_of` is the read time, not the scenario's.
Representation differences (the `_netsis_*` helpers):
  * warehouses: Netsis numbers them (DEPO_KODU), so the feed's warehouse_code is the number as text:
    the scenario's "01" is "1".
  * phones: mapping.text.phone normalises "+90 555 123 45 67" to "+905551234567".
  * payment terms: Netsis keeps the due-day count (VADE_GUNU), so "30 GÜN" reads "30", "PEŞİN" "0".
  * barcodes: the card has one barcode per unit (BARKOD1..3): a second base-unit barcode is not kept.
  * an order the scenario calls "shippable" although every line is fully delivered reads "closed":
    Netsis closes orders per line (STHAR_HTUR 'K').
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.netsis.tables import netsis_tables
from mapping.invariants import discrepancies
from mapping.schema import Account, Invoice, Order, Product
from mapping.text import phone
from scenario import expect
from scenario.generate import build
from scenario.names import PAYMENT_TERMS
from tests.conftest import DATABASE_KINDS
from tests.netsis_dbs import adapter, records, server, write

SCENARIO = build(invoice_lines=2000)
AS_OF = frozenset({"as_of"})
FIELDS_NETSIS_LACKS: dict[str, frozenset[str]] = {
    "accounts": frozenset({"active", "blocked"}),
    "products": frozenset(),
    "stock_levels": frozenset({"reserved", "available"}) | AS_OF,
    "discounts": frozenset(),
    "risk_limits": frozenset({"blocked"}) | AS_OF,
    "orders": frozenset({"issued_at"}),
    "invoices": frozenset({"issued_at", "e_invoice_uuid"}),
    "collections": frozenset({"settles"}),
}
_TERM_DAYS = {name: str(days) for name, days, _ in PAYMENT_TERMS}


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every stream's records, read back from a company database (and a rates database) the scenario was written to."""
    where = server(request.param, tmp_path_factory.mktemp("netsis"))
    try:
        company, rates = where.url("GIDA2026"), where.url("NETSIS")
        write(company, SCENARIO, rates)
        with adapter(company, SCENARIO, rates_database=where.database("NETSIS")) as source:
            out: dict[str, Any] = {s.name: records(s) for s in source.streams()}
        out["url"] = company
        yield out
    finally:
        where.close()


def _warehouse(code: str | None) -> str | None:
    return None if code is None else str(int(code))


def _netsis_document(doc: Invoice | Order) -> Any:
    """The fact as Netsis represents it (see the module docstring)."""
    lines = [msgspec.structs.replace(line, warehouse_code=_warehouse(line.warehouse_code)) for line in doc.lines]
    changes: dict[str, Any] = {"warehouse_code": _warehouse(doc.warehouse_code), "lines": lines}
    if isinstance(doc, Order) and doc.status in ("open", "shippable") and lines and all(x.closed for x in lines):
        changes["status"] = "closed"
    return msgspec.structs.replace(doc, **changes)


def _netsis_account(a: Account) -> Account:
    return msgspec.structs.replace(a, phone=phone(a.phone), payment_terms=_TERM_DAYS.get(a.payment_terms or ""))


def _netsis_product(p: Product) -> Product:
    return msgspec.structs.replace(p, barcodes=p.barcodes[:1])


def _same(stream: str, got: Any, want: Any) -> bool:
    ignore = FIELDS_NETSIS_LACKS[stream]
    return bool(expect.comparable(got, ignore) == expect.comparable(want, ignore))


def _by(records_: list[Any], field: str = "code") -> dict[str, Any]:
    return {getattr(r, field): r for r in records_}


def test_accounts(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert expect.dealer_codes(got.values()) == expect.dealer_codes(facts)
    assert set(got) == {a.code for a in facts}
    for fact in facts:
        assert _same("accounts", got[fact.code], _netsis_account(fact)), fact.code
    # Turkish letters are in the scenario, stored damaged and read back repaired.
    assert any(set("İŞĞışğ") & set(a.title) for a in got.values())


def test_products(synced: dict[str, Any]) -> None:
    got = _by(synced["products"])
    assert set(got) == {p.record.code for p in SCENARIO.products}  # service cards are not products
    for st in SCENARIO.products:
        assert _same("products", got[st.record.code], _netsis_product(st.record)), st.record.code
    assert any(u.unit == "KOLİ" and u.unit_code == "CT" for p in got.values() for u in p.units)


def test_invoices_field_by_field(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices() if not s.record.cancelled]
    got = _by(synced["invoices"], "number")
    # The purchase invoice, the purchase return and the dispatch the writer adds never come back; nor do the
    # cancelled invoices, which this install deletes.
    assert len(got) == len(synced["invoices"]) == len(facts)
    for fact in facts:
        assert _same("invoices", got[fact.number], _netsis_document(fact)), fact.number
    kinds = {i.kind for i in got.values()}
    assert {"sale", "return", "service", "price_difference"} <= kinds
    assert {"USD", "EUR"} <= {i.currency for i in got.values()}
    returns = [i for i in got.values() if i.kind == "return"]
    assert returns and all(i.original_invoice in got for i in returns)


def test_no_document_breaks_an_invariant(synced: dict[str, Any]) -> None:
    documents = [*synced["invoices"], *synced["orders"]]
    assert documents and [(d.number, discrepancies(d)) for d in documents if discrepancies(d)] == []


def test_invoice_totals_by_dealer_month(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def test_collections(synced: dict[str, Any]) -> None:
    facts = [s.record for s in SCENARIO.collections() if not s.record.cancelled]
    got = synced["collections"]
    # TBLCAHAR also holds every invoice posting, returns as credits: none may come back.
    assert len(got) == len(facts)
    assert expect.collections_by_dealer(got) == expect.collections_by_dealer(facts)
    by_number = _by(got, "number")
    for fact in facts:
        assert _same("collections", by_number[fact.number], fact), fact.number
    assert {c.method for c in got} == {"cash", "card", "cheque", "promissory_note", "bank_transfer"}
    engine = sa.create_engine(synced["url"])
    cahar = netsis_tables(sa.MetaData()).CAHAR.c
    with engine.connect() as conn:
        return_credits = conn.execute(
            sa.select(sa.func.count()).where(cahar.HAREKET_TURU == "C", cahar.ALACAK > 0)
        ).scalar_one()
    engine.dispose()
    assert return_credits > 0


def test_orders(synced: dict[str, Any]) -> None:
    got = _by(synced["orders"], "number")
    facts = [s.record for s in SCENARIO.orders() if s.record.status != "cancelled"]
    assert set(got) == {o.number for o in facts}
    for fact in facts:
        assert _same("orders", got[fact.number], _netsis_document(fact)), fact.number
    assert {o.status for o in got.values()} == {"proposal", "open", "shippable", "closed"}


def test_stock_levels_and_total_row(synced: dict[str, Any]) -> None:
    got = {(s.product_code, s.warehouse_code): s for s in synced["stock_levels"]}
    assert len(got) == len(SCENARIO.stock_levels)
    for fact in SCENARIO.stock_levels:
        want = msgspec.structs.replace(fact, warehouse_code=_warehouse(fact.warehouse_code))
        assert _same("stock_levels", got[want.product_code, want.warehouse_code], want)
    # DEPO_KODU = 0 is Netsis's all-warehouse total: never a stock level, and equal to the sum.
    engine = sa.create_engine(synced["url"])
    ph = netsis_tables(sa.MetaData()).STOKPH.c
    with engine.connect() as conn:
        totals = dict(
            conn.execute(sa.select(ph.STOK_KODU, ph.TOP_GIRIS_MIK - ph.TOP_CIKIS_MIK).where(ph.DEPO_KODU == 0)).all()
        )
    engine.dispose()
    sums = expect.on_hand_by_product(synced["stock_levels"])
    assert {code: Decimal(repr(v)).quantize(Decimal("0.001")) for code, v in totals.items()} == sums


def test_risk_limits(synced: dict[str, Any]) -> None:
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {r.account_code for r in SCENARIO.risk_limits}
    # The open-orders figure Netsis gives: orders not cancelled, approved or awaiting approval, a line open.
    open_orders = expect.open_orders_by_dealer(_netsis_document(s.record) for s in SCENARIO.orders())
    for fact in SCENARIO.risk_limits:
        orders = open_orders.get(fact.account_code, Decimal("0.00")).quantize(Decimal("0.01"))
        want = msgspec.structs.replace(
            fact, open_orders=orders, exposure=(fact.open_balance or 0) + orders + (fact.uncashed_cheques or 0)
        )
        assert _same("risk_limits", got[fact.account_code], want), fact.account_code


def test_discounts(synced: dict[str, Any]) -> None:
    got = _by(synced["discounts"])
    assert set(got) == {d.record.code for d in SCENARIO.discounts}
    assert {d.kind for d in got.values()} == {"percent", "amount", "fixed_price"}
    for st in SCENARIO.discounts:
        assert _same("discounts", got[st.record.code], st.record), st.record.code


def test_text_is_stored_damaged(synced: dict[str, Any], tmp_path: Path) -> None:
    """The database really holds the Latin-1 reading of cp1254 bytes: the repair above is not a no-op."""
    engine = sa.create_engine(synced["url"])
    c = netsis_tables(sa.MetaData()).CASABIT.c
    with engine.connect() as conn:
        titles = [t for (t,) in conn.execute(sa.select(c.CARI_ISIM))]
    engine.dispose()
    assert any("Þ" in t or "Ý" in t for t in titles)
    assert not any(set("İŞĞışğ") & set(t) for t in titles)
