"""The scenario's facts survive a trip through S/4HANA's OData APIs: served by S4Emulator on loopback,
read by SapAdapter (flavour s4_odata) over real HTTP.

SAP's own representation, applied to the facts before comparing (translations, not losses):
  * units: SAP keys units of measure by internal codes (ST, M, KG, KAR: emulator.SAP_UNITS); a sales order item
    carries SAP's ISO code of its unit (RequestedQuantityISOUnit: PCE for ST), which the order line's unit_code
    is; billing items carry none, so an invoice line's unit_code is the UN/ECE code of the SAP unit, unchanged.
  * exchange rates have five decimals (DEC 9,5), so a foreign document's rate is the scenario's rounded to five
    places, its local totals the document totals converted at that rate (mapping.money.to_local_totals) and its
    lines' net_local the local net spread over them (apportion); a collection's local amount is FI's, at that rate.
  * item numbers: SAP numbers document items 10, 20, 30 (POSNR), so a line's line_no is the fact's x 10.
  * document headers: sales orders and billing documents keep the storage location per item, not per
    header, so the header's warehouse_code is None (the lines keep theirs).
  * pure suppliers: the sales district (region_code) belongs to a customer's sales area; a supplier has none.
  * phones: normalised by mapping.text.phone ("+90 555 ..." -> "+90555...").
FIELDS_SAP_LACKS names, per stream, the feed fields the standard S/4 APIs do not carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.s4 import DEMO_SETTINGS, PLANT, RATES, SAP_UNITS, S4Emulator
from connectors.sap.emulator.s4_system import PRICE_LIST_TYPES, SAP_ISO_UNITS, local_at, rate5
from connectors.sap.s4 import S4Source
from connectors.sap.s4.odata import AccessLog
from mapping.invariants import discrepancies
from mapping.money import apportion, to_local_totals
from mapping.schema import Account, Collection, Invoice, Order, PriceListEntry
from mapping.text import phone
from scenario import expect
from scenario.generate import build

SCENARIO = build(invoice_lines=2000)

FIELDS_SAP_LACKS: dict[str, dict[str, str]] = {
    "accounts": {
        "e_invoice": "Turkish e-invoice registration is localisation data, not in API_BUSINESS_PARTNER",
        "discount_rate": "a customer's standing discount is a K007 condition record (the discounts stream)",
    },
    "products": {},
    "stock_levels": {
        "warehouse_name": "A_MatlStkInAcctMod names the storage location by code only",
        "reserved": "reservations and sales-order requirements are ATP data, not stock quantities",
        "available": "likewise: only the quantity per stock type is published",
        "as_of": "a snapshot's time is the read time",
    },
    "discounts": {"priority": "SAP ranks condition records by the access sequence, not by a number"},
    "price_lists": {
        "list_name": "a price list type's name is in T189T, which API_SLSPRICINGCONDITIONRECORD_SRV does not "
        "publish (s4.price_list_names may name them; unset here)",
    },
    "risk_limits": {
        "open_balance": "credit exposure (UKM_TOTALS) is not part of the credit account entity",
        "open_orders": "likewise",
        "uncashed_cheques": "likewise",
        "exposure": "likewise",
        "collateral": "securities are kept outside the credit limit",
        "as_of": "a snapshot's time is the read time",
    },
    "orders": {
        "issued_at": "A_SalesOrder has the document date, not the moment the order was issued",
        "shipped_quantity": "delivered quantities live in the outbound deliveries (document flow), not on the item",
    },
    "invoices": {"e_invoice_uuid": "the Turkish e-invoice UUID lives in localisation tables, not the billing API"},
    "collections": {},
}


def ignored(stream: str) -> frozenset[str]:
    return frozenset(FIELDS_SAP_LACKS[stream])


@pytest.fixture(scope="module")
def emulator() -> Iterator[S4Emulator]:
    # A server page smaller than the reader's $top: reads follow __next links and then move $skip on.
    with S4Emulator(SCENARIO, page_size=150) as sap:
        yield sap


@pytest.fixture(scope="module")
def source(emulator: S4Emulator) -> Iterator[SapAdapter]:
    settings = SapSettings(
        flavour="s4_odata",
        url=emulator.url,
        sap_client=emulator.client,
        auth={"username": emulator.user, "password": emulator.password},
        s4={"plant": PLANT, "page_size": 400, "exchange_rates": RATES},
        **DEMO_SETTINGS,
    )
    with SapAdapter(SourceContext("sap-test", ZoneInfo(SCENARIO.timezone)), settings) as adapter:
        yield adapter


@pytest.fixture(scope="module")
def synced(source: SapAdapter) -> dict[str, list[Any]]:
    s4 = source.source
    assert isinstance(s4, S4Source)
    s4.reader.log = AccessLog()  # which properties the mapping reads: test_reads_use_only_declared_names
    return {s.name: [s.map(item) for chunk in s.read(None) for item in chunk] for s in source.streams()}


def _sap_lines(lines: list[Any], iso: bool) -> list[Any]:
    out = []
    for ln in lines:
        unit = SAP_UNITS[ln.unit]
        out.append(msgspec.structs.replace(ln, line_no=ln.line_no * 10, unit=unit,
                                           unit_code=SAP_ISO_UNITS[unit] if iso else ln.unit_code))  # fmt: skip
    return out


def _sap_document(doc: Invoice | Order) -> Any:
    lines = _sap_lines(doc.lines, iso=isinstance(doc, Order))
    if doc.currency == SCENARIO.local_currency or doc.rate is None:
        return msgspec.structs.replace(doc, warehouse_code=None, lines=lines)
    rate = rate5(doc.rate)
    local = to_local_totals(doc.totals, rate, SCENARIO.local_currency)
    shares = apportion(local.net, [ln.net for ln in lines])
    lines = [msgspec.structs.replace(ln, net_local=share) for ln, share in zip(lines, shares, strict=True)]
    return msgspec.structs.replace(doc, warehouse_code=None, lines=lines, rate=rate.quantize(doc.rate),
                                   totals_local=local)  # fmt: skip


def _sap_collection(c: Collection) -> Collection:
    settles = sorted(c.settles)
    if c.currency == SCENARIO.local_currency:
        return msgspec.structs.replace(c, settles=settles)
    rate = rate5(c.rate)
    return msgspec.structs.replace(
        c, settles=settles, rate=rate.quantize(c.rate), amount_local=local_at(c.amount, rate)
    )


def _sap_account(account: Account) -> Account:
    region = None if account.kind == "supplier" else account.region_code
    valid = True if account.tax_id else None  # the scenario's tax ids are valid ones
    return msgspec.structs.replace(account, phone=phone(account.phone), region_code=region, tax_id_valid=valid)


def _by(records: list[Any], field: str = "code") -> dict[str, Any]:
    return {getattr(r, field): r for r in records}


def test_accounts(synced: dict[str, list[Any]]) -> None:
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert expect.dealer_codes(got.values()) == expect.dealer_codes(facts)
    assert set(got) == {a.code for a in facts} and len(got) == len(synced["accounts"])
    assert {a.kind for a in got.values()} == {"customer", "supplier", "both"}
    assert any(a.parent_code for a in got.values()) and any(a.tax_id_kind == "TCKN" for a in got.values())
    for fact in facts:
        want = expect.comparable(_sap_account(fact), ignored("accounts"))
        assert expect.comparable(got[fact.code], ignored("accounts")) == want, fact.code


def test_products_without_services(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["products"])
    # Service materials (product type DIEN) are no products: the scenario keeps them as service cards.
    assert set(got) == {p.record.code for p in SCENARIO.products}
    for st in SCENARIO.products:
        p = st.record
        want = msgspec.structs.replace(
            p,
            base_unit=SAP_UNITS[p.base_unit or ""],
            units=[msgspec.structs.replace(u, unit=SAP_UNITS[u.unit]) for u in p.units],
        )
        assert expect.comparable(got[p.code]) == expect.comparable(want), p.code


def test_stock_levels_sum_stock_types(synced: dict[str, list[Any]]) -> None:
    own = [s for s in synced["stock_levels"] if s.special_stock is None]
    got = {(s.product_code, s.warehouse_code): s for s in own}
    assert len(got) == len(own) == len(SCENARIO.stock_levels)
    for fact in SCENARIO.stock_levels:
        want = expect.comparable(fact, ignored("stock_levels"))
        assert expect.comparable(got[fact.product_code, fact.warehouse_code], ignored("stock_levels")) == want
    assert expect.on_hand_by_product(own) == expect.on_hand_by_product(SCENARIO.stock_levels)


def test_special_stock_is_reported_apart_from_the_own_stock(synced: dict[str, list[Any]]) -> None:
    """The emulator holds sales order (E), customer consignment (W, at the dealer's: no storage location) and
    project (Q) stock of 5 units beside some own stock; none of it is in an own stock's on_hand."""
    special = [s for s in synced["stock_levels"] if s.special_stock is not None]
    kinds = {s.special_stock for s in special}
    assert kinds == {"sales_order", "consignment", "project"}
    assert all(s.on_hand == 5 and s.special_stock_ref for s in special)
    orders = {o.record.number for o in SCENARIO.orders()}
    dealers = {a.record.code for a in SCENARIO.accounts}
    for level in special:
        if level.special_stock == "sales_order":
            number, _, item = (level.special_stock_ref or "").partition("/")
            assert number in orders and item == "10"
        elif level.special_stock == "consignment":
            assert level.special_stock_ref in dealers and level.warehouse_code == PLANT
        else:
            assert (level.special_stock_ref or "").startswith("P-")  # the WBS element's external id


def test_discounts(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["discounts"])
    assert set(got) == {d.record.code for d in SCENARIO.discounts}
    assert {d.kind for d in got.values()} == {"percent", "amount", "fixed_price"}
    for st in SCENARIO.discounts:
        want = expect.comparable(st.record, ignored("discounts"))
        assert expect.comparable(got[st.record.code], ignored("discounts")) == want, st.record.code


def _sap_price(entry: PriceListEntry) -> PriceListEntry:
    return msgspec.structs.replace(entry, list_code=PRICE_LIST_TYPES[entry.list_code], unit=SAP_UNITS[entry.unit or ""])


def test_price_lists(synced: dict[str, list[Any]]) -> None:
    """Every entry of the scenario's lists comes back from its PPR0 condition record, matched by (list_code,
    product_code, unit, valid_from). SAP's representation, applied to the facts: a list is a price list type
    (PLTYP, two characters: SATIS is 01, IHRACAT 02, emulator PRICE_LIST_TYPES) and a unit SAP's internal unit
    (KOLİ is KAR); list_name is ignored (FIELDS_SAP_LACKS). No customer's price is among them."""

    def match(e: PriceListEntry) -> tuple[Any, ...]:
        return (e.list_code, e.product_code, e.unit, e.valid_from)

    got = {match(e): e for e in synced["price_lists"]}
    assert len(got) == len(synced["price_lists"]) == len(SCENARIO.price_lists)
    want = {match(e): e for e in map(_sap_price, SCENARIO.price_lists)}
    assert set(got) == set(want)
    for key, fact in want.items():
        assert expect.comparable(got[key], ignored("price_lists")) == expect.comparable(fact, ignored("price_lists"))
    assert {e.currency for e in got.values()} == {"TRY", "USD"}
    assert any(e.min_quantity for e in got.values()) and any(e.valid_to is None for e in got.values())


def test_dealer_prices_stay_discounts_and_list_prices_stay_out(synced: dict[str, list[Any]]) -> None:
    """The discounts stream reads the same price condition type: it sends only the records keyed by a customer."""
    fixed = [d for d in synced["discounts"] if d.kind == "fixed_price"]
    assert fixed and all(d.account_code or d.account_group_code for d in fixed)
    assert len(synced["discounts"]) == len(SCENARIO.discounts)


def test_risk_limits(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {r.account_code for r in SCENARIO.risk_limits}
    for fact in SCENARIO.risk_limits:
        want = expect.comparable(fact, ignored("risk_limits"))
        assert expect.comparable(got[fact.account_code], ignored("risk_limits")) == want, fact.account_code


def test_orders(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["orders"], "number")
    facts = [s.record for s in SCENARIO.orders()]
    foreign = [o for o in facts if o.currency != SCENARIO.local_currency]
    assert foreign and all(got[o.number].rate is not None for o in foreign)  # half of them from the rate table
    assert set(got) == {o.number for o in facts} and len(got) == len(synced["orders"])
    assert {o.status for o in got.values()} == {"proposal", "open", "shippable", "closed", "cancelled"}
    for fact in facts:
        want = expect.comparable(_sap_document(fact), ignored("orders"))
        assert expect.comparable(got[fact.number], ignored("orders")) == want, fact.number


def test_invoices_field_by_field(synced: dict[str, list[Any]]) -> None:
    facts = [s.record for s in SCENARIO.invoices()]
    got = _by(synced["invoices"], "number")
    # Cancellation documents (S1) are not invoices: exactly the scenario's invoices come back.
    assert len(got) == len(synced["invoices"]) == len(facts)
    for fact in facts:
        want = expect.comparable(_sap_document(fact), ignored("invoices"))
        assert expect.comparable(got[fact.number], ignored("invoices")) == want, fact.number
    assert {i.kind for i in got.values()} == {"sale", "return", "service", "price_difference"}
    assert any(i.cancelled for i in got.values()) and any(i.currency != "TRY" for i in got.values())
    assert all(line.unit_code for i in got.values() for line in i.lines)
    returns = [i for i in got.values() if i.kind == "return"]
    assert returns and all(i.original_invoice in got for i in returns)


def test_invoice_totals_by_dealer_month(synced: dict[str, list[Any]]) -> None:
    facts = [_sap_document(s.record) for s in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def test_documents_hold_together(synced: dict[str, list[Any]]) -> None:
    """The demo data breaks no invariant: the engine would flag no document."""
    documents = [*synced["orders"], *synced["invoices"]]
    assert documents and [d.number for d in documents if discrepancies(d)] == []


def test_collections(synced: dict[str, list[Any]]) -> None:
    facts = [_sap_collection(s.record) for s in SCENARIO.collections()]
    got = _by(synced["collections"], "number")
    # Reversal documents and the invoices' receivables share the entity set: none may come back.
    assert len(got) == len(synced["collections"]) == len(facts)
    assert expect.collections_by_dealer(got.values()) == expect.collections_by_dealer(facts)
    for fact in facts:
        assert expect.comparable(got[fact.number]) == expect.comparable(fact), fact.number
    assert {c.method for c in got.values()} == {"cash", "card", "cheque", "promissory_note", "bank_transfer"}
    assert any(c.cancelled for c in got.values())
    assert any(len(c.settles) > 1 for c in got.values())


def test_every_call_carries_sap_client_and_paging_used_both_ways(
    emulator: S4Emulator, synced: dict[str, list[Any]]
) -> None:
    seen = emulator.data_requests()
    assert seen and all(r.params.get("sap-client") == emulator.client for r in seen)
    assert any("$skiptoken" in r.params for r in seen)  # server-driven paging followed
    assert any(int(r.params.get("$skip", "0")) > 0 for r in seen)  # and $skip moved on after a full $top
    assert all(r.status == 200 for r in seen)


def test_reads_use_only_declared_names(emulator: S4Emulator, source: SapAdapter, synced: dict[str, list[Any]]) -> None:
    """The drift test: every request of a full read, an incremental one, count and fetch selected
    exactly what a stream declares (the emulator answers a $select with nothing else and refuses names SAP's
    metadata lacks), and the mapping read no property outside the declarations."""
    s4 = source.source
    assert isinstance(s4, S4Source) and s4.reader.log is not None
    since = SCENARIO.as_of - dt.timedelta(days=30)
    for stream in s4.streams():
        items = [item for chunk in stream.read(since) for item in chunk]
        for item in items:
            stream.map(item)
        keys = [stream.key(item) for chunk in stream.read(None) for item in chunk]
        stream.count()
        for item in stream.fetch(keys[:3]):
            stream.map(item)
    declared: dict[str, set[str]] = {}
    selects: dict[str, set[str]] = {}
    for stream in s4.streams():
        for read in stream.reads():  # type: ignore[attr-defined]
            for container, names in read.declared().items():
                declared.setdefault(container, set()).update(names)
            selects.setdefault(read.path, set()).add(read.select())
    for container, used in s4.reader.log.used.items():
        assert used <= declared[container], (container, used - declared[container])
    data = [r for r in emulator.data_requests() if not r.path.endswith(("/$metadata", "/"))]
    assert data
    for request in data:
        path = request.path.split("/sap/opu/odata/sap/", 1)[1]
        if "$inlinecount" in request.params:
            continue
        assert request.params.get("$select") in selects[path], (path, request.params.get("$select"))
    assert emulator.dropped == set()  # the emulator itself wrote no name SAP's metadata lacks
