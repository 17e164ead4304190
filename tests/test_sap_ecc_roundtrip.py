"""The scenario's facts survive a trip through SAP ECC: laid into ECC tables by the emulator, served as SOAP
over loopback, read by SapAdapter (flavour ecc_soap) with zeep.

Fields ECC does not have are FIELDS_SAP_ECC_LACKS (each explained there). Translations named here
are SAP's own representation of a fact, not losses:
  * units are SAP units of measure (ADET -> ST, KOLİ -> KAR, METRE -> M, KG), with the same UN/ECE codes;
  * sales reps are personnel numbers (partner function VE), shown without leading zeros: SR01 -> 1;
  * exchange rates have five decimals (KURRF/KURSF are DEC 9,5), so a foreign document's rate is the
    scenario's rounded to five places and its local amounts are its totals converted at that rate at
    document level (mapping.money.to_local_totals), the local net spread over the lines (apportion);
  * issued_at is the entry time (ERDAT/ERZET), i.e. when the document was saved; created_at of an account
    is KNA1-ERDAT, a day;
  * document headers have no storage location (items do): the header's warehouse_code is None;
  * phones are normalised by mapping.text.phone;
  * discount tiers of a product are one condition record with a quantity scale: codes are condition
    record numbers (with the scale line), and a record is inactive when any tier is;
  * an invoice is settled (cleared) by the first collection that settles it, and a reversed collection
    settles nothing: one clearing document per FI item;
  * pure suppliers are vendors (LFA1), which a dealer feed does not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from connectors.base import SourceContext
from connectors.sap import SapAdapter, SapSettings
from connectors.sap.emulator.ecc import EccEmulator
from connectors.sap.emulator.ecc_prices import PRICE_LIST_TYPES
from mapping.money import apportion, to_local_totals
from mapping.schema import Account, Collection, Invoice, Order, PriceListEntry
from mapping.text import phone
from scenario import expect
from scenario.generate import build

SCENARIO = build(invoice_lines=2000)

FIELDS_SAP_ECC_LACKS = frozenset(
    {
        "e_invoice",  # GİB e-invoice registration is kept by the eDocument (Turkey) add-on, not in KNA1/KNVV
        "e_invoice_uuid",  # the e-invoice's ETTN lives in the eDocument add-on's tables, not in VBRK
        "discount_rate",  # a customer's standing discount is a condition record (K007), not master data
        "priority",  # SAP ranks conditions by access sequence and pricing procedure, not per record
        "collateral",  # ECC credit management (KNKK) keeps no collateral amount
    }
)
AS_OF = frozenset({"as_of"})  # snapshot time: the read time, not the scenario's
UNITS = {"ADET": "ST", "KOLİ": "KAR", "METRE": "M", "KG": "KG"}
REPS = {rep.code: str(i + 1) for i, rep in enumerate(SCENARIO.sales_reps)}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def ecc() -> Iterator[EccEmulator]:
    with EccEmulator(SCENARIO) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def synced(ecc: EccEmulator) -> dict[str, list[Any]]:
    context = SourceContext("ecc-test", ZoneInfo(SCENARIO.timezone), 500)
    with SapAdapter(context, SapSettings(**ecc.settings())) as source:
        return {s.name: [s.map(item) for chunk in s.read(None) for item in chunk] for s in source.streams()}


def _by(records: list[Any], field: str = "code") -> dict[str, Any]:
    return {getattr(r, field): r for r in records}


def rate5(rate: Decimal) -> Decimal:
    return rate.quantize(Decimal("0.00001"), ROUND_HALF_UP).quantize(Decimal("0.000001"))


def local(value: Decimal, rate: Decimal) -> Decimal:
    return (value * rate).quantize(CENT, ROUND_HALF_UP)


def _sap_document(doc: Invoice | Order, created_at: Any) -> Any:
    """The fact as ECC records it (see the module docstring)."""
    assert doc.rate is not None
    rate = rate5(doc.rate)
    totals_local = to_local_totals(doc.totals, rate, SCENARIO.local_currency)
    shares = apportion(totals_local.net, [line.net for line in doc.lines])
    lines = [
        msgspec.structs.replace(
            line, unit=UNITS[line.unit or ""], sales_rep_code=REPS.get(line.sales_rep_code or ""), net_local=share
        )
        for line, share in zip(doc.lines, shares, strict=True)
    ]
    return msgspec.structs.replace(
        doc,
        rate=rate,
        totals_local=totals_local,
        issued_at=created_at,
        warehouse_code=None,
        sales_rep_code=REPS.get(doc.sales_rep_code or ""),
        lines=lines,
    )


def _settles() -> dict[str, list[str]]:
    """Collection number -> the invoices it cleared: the first non-reversed collection settling an invoice."""
    taken: set[str] = set()
    out: dict[str, list[str]] = {}
    for st in SCENARIO.collections():
        c = st.record
        if c.cancelled:
            out[c.number] = []
            continue
        mine = [n for n in c.settles if n not in taken]
        taken.update(mine)
        out[c.number] = sorted(mine)
    return out


def test_accounts(synced: dict[str, list[Any]]) -> None:
    facts = [s.record for s in SCENARIO.accounts]
    got = _by(synced["accounts"])
    assert expect.dealer_codes(got.values()) == expect.dealer_codes(facts)
    assert set(got) == {a.code for a in facts if a.kind != "supplier"}
    tz = ZoneInfo(SCENARIO.timezone)
    for fact in (a for a in facts if a.kind != "supplier"):
        assert fact.created_at is not None
        midnight = fact.created_at.replace(hour=0, minute=0, second=0, tzinfo=tz)
        want: Account = msgspec.structs.replace(
            fact, phone=phone(fact.phone), sales_rep_code=REPS.get(fact.sales_rep_code or ""), created_at=midnight
        )
        assert expect.comparable(got[fact.code], FIELDS_SAP_ECC_LACKS) == expect.comparable(
            want, FIELDS_SAP_ECC_LACKS
        ), fact.code
    assert any(a.kind == "both" for a in got.values()) and any(a.parent_code for a in got.values())


def test_products(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["products"])
    assert set(got) == {p.record.code for p in SCENARIO.products}  # service materials (DIEN) are not products
    for st in SCENARIO.products:
        fact = st.record
        want = msgspec.structs.replace(
            fact,
            base_unit=UNITS[fact.base_unit or ""],
            units=[msgspec.structs.replace(u, unit=UNITS[u.unit]) for u in fact.units],
        )
        assert expect.comparable(got[fact.code]) == expect.comparable(want), fact.code
    assert any(u.unit == "KAR" and u.barcode for p in got.values() for u in p.units)  # MARM beyond the base unit


def test_stock_levels(synced: dict[str, list[Any]]) -> None:
    got = {(s.product_code, s.warehouse_code): s for s in synced["stock_levels"]}
    assert len(got) == len(synced["stock_levels"]) == len(SCENARIO.stock_levels)
    for fact in SCENARIO.stock_levels:
        assert expect.comparable(got[fact.product_code, fact.warehouse_code], AS_OF) == expect.comparable(fact, AS_OF)


def test_risk_limits(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["risk_limits"], "account_code")
    assert set(got) == {r.account_code for r in SCENARIO.risk_limits}
    ignore = FIELDS_SAP_ECC_LACKS | AS_OF
    for fact in SCENARIO.risk_limits:
        assert expect.comparable(got[fact.account_code], ignore) == expect.comparable(fact, ignore), fact.account_code


def test_discounts(synced: dict[str, list[Any]], ecc: EccEmulator) -> None:
    got = _by(synced["discounts"])
    facts = [s.record for s in SCENARIO.discounts]
    assert set(got) == {ecc.discount_codes[d.code] for d in facts}
    assert {d.kind for d in got.values()} == {"percent", "amount", "fixed_price"}
    record_active: dict[str, bool] = {}
    for d in facts:
        record = ecc.discount_codes[d.code].split("/")[0]
        record_active[record] = record_active.get(record, True) and d.active
    for fact in facts:
        code = ecc.discount_codes[fact.code]
        want = msgspec.structs.replace(fact, code=code, active=record_active[code.split("/")[0]])
        assert expect.comparable(got[code], FIELDS_SAP_ECC_LACKS) == expect.comparable(want, FIELDS_SAP_ECC_LACKS)
    assert any("/" in code for code in got)  # a quantity scale: one discount per scale line


def test_price_lists(synced: dict[str, list[Any]]) -> None:
    """Every entry of the scenario's lists comes back from its PR00 record (A006, or A904 for a per-case price),
    matched by (list_code, product_code, unit, valid_from). SAP's representation, applied to the facts: a list is a
    price list type (PLTYP, CHAR 2: SATIS is 01, IHRACAT 02, emulator PRICE_LIST_TYPES) and a unit SAP's unit (KOLİ is
    KAR). Ignored: list_name, which SAP keeps in T189T (not read: no public DDIC page of it was found; the setting
    ecc.price_list_names can name the lists), and flags (set by the engine)."""
    ignore = frozenset({"list_name"})

    def match(e: PriceListEntry) -> tuple[Any, ...]:
        return (e.list_code, e.product_code, e.unit, e.valid_from)

    def sap(e: PriceListEntry) -> PriceListEntry:
        return msgspec.structs.replace(e, list_code=PRICE_LIST_TYPES[e.list_code], unit=UNITS[e.unit or ""])

    got = {match(e): e for e in synced["price_lists"]}
    assert len(got) == len(synced["price_lists"]) == len(SCENARIO.price_lists)
    want = {match(e): e for e in map(sap, SCENARIO.price_lists)}
    assert set(got) == set(want)
    for key, fact in want.items():
        assert expect.comparable(got[key], ignore) == expect.comparable(fact, ignore), key
    assert {e.currency for e in got.values()} == {"TRY", "USD"} and any(e.min_quantity for e in got.values())
    # The dealers' own prices (A305, PR00 too) stay discounts: as many as the scenario has, none here.
    assert len(synced["discounts"]) == len(SCENARIO.discounts)


def test_orders(synced: dict[str, list[Any]]) -> None:
    got = _by(synced["orders"], "number")
    facts = list(SCENARIO.orders())
    assert set(got) == {st.record.number for st in facts}  # credit memo requests (VBTYP K) are not orders
    for st in facts:
        want = _sap_document(st.record, st.created_at)
        assert expect.comparable(got[st.record.number]) == expect.comparable(want), st.record.number
    assert {o.status for o in got.values()} == {"proposal", "open", "shippable", "closed", "cancelled"}


def test_invoices_field_by_field(synced: dict[str, list[Any]]) -> None:
    facts = list(SCENARIO.invoices())
    got = _by(synced["invoices"], "number")
    # Cancellation documents (S1/S2) are not invoices: the cancelled invoice carries cancelled=True.
    assert len(got) == len(synced["invoices"]) == len(facts)
    for st in facts:
        want = _sap_document(st.record, st.created_at)
        assert expect.comparable(got[st.record.number], FIELDS_SAP_ECC_LACKS) == expect.comparable(
            want, FIELDS_SAP_ECC_LACKS
        ), st.record.number
    kinds = {i.kind for i in got.values()}
    assert {"sale", "return", "service", "price_difference"} <= kinds
    assert any(i.cancelled for i in got.values()) and any(i.currency != "TRY" for i in got.values())
    returns = [i for i in got.values() if i.kind == "return"]
    assert returns and all(i.original_invoice in got for i in returns)


def test_invoice_totals_by_dealer_month(synced: dict[str, list[Any]]) -> None:
    facts = [_sap_document(st.record, st.created_at) for st in SCENARIO.invoices()]
    assert expect.invoice_totals_by_dealer_month(synced["invoices"]) == expect.invoice_totals_by_dealer_month(facts)


def test_collections(synced: dict[str, list[Any]]) -> None:
    facts = [s.record for s in SCENARIO.collections()]
    got = _by(synced["collections"], "number")
    # BSID/BSAD also hold every invoice's and every reversal's customer item: none may come back.
    assert len(got) == len(synced["collections"]) == len(facts)
    settles = _settles()
    expected: list[Collection] = []
    for fact in facts:
        rate = rate5(fact.rate)
        want = msgspec.structs.replace(
            fact, rate=rate, amount_local=local(fact.amount, rate), settles=settles[fact.number]
        )
        expected.append(want)
        assert expect.comparable(got[fact.number]) == expect.comparable(want), fact.number
    assert expect.collections_by_dealer(got.values()) == expect.collections_by_dealer(expected)
    assert any(c.cancelled for c in got.values()) and any(c.settles for c in got.values())
    assert {c.method for c in got.values()} == {"cash", "card", "cheque", "promissory_note", "bank_transfer"}
