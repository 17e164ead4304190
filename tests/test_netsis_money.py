"""Money as Netsis holds it. Sites fill a line's price in STHAR_NF (net), STHAR_BF (gross) or both: each maps
right. Local amounts are the ERP's own: the header's TL totals and the lines' STHAR_NF x quantity; the header's
local net is spread with mapping.money.apportion only over a foreign document none of whose lines has a local
figure. ERP figures that do not add up go out flagged with the difference, as the ERP holds them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from connectors.netsis.tables import netsis_tables
from engine.state import StateStore
from engine.sync import Engine
from mapping.invariants import discrepancies
from scenario import expect
from scenario.generate import build
from sinks.file import FileSink, FileSinkSettings
from tests.netsis_dbs import adapter, records, server, write
from tests.test_netsis_roundtrip import FIELDS_NETSIS_LACKS, _netsis_document

SCENARIO = build(invoice_lines=2000)
TABLES = netsis_tables(sa.MetaData())
CENT = Decimal("0.01")
FACTS = {s.record.number: s.record for s in SCENARIO.invoices() if not s.record.cancelled}


def _edit(url: str, *statements: Any) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    engine.dispose()


def _same(got: Any, want: Any, stream: str = "invoices") -> bool:
    ignore = FIELDS_NETSIS_LACKS[stream]
    return bool(expect.comparable(got, ignore) == expect.comparable(_netsis_document(want), ignore))


@pytest.mark.parametrize("prices", ["net", "gross", "both"])
def test_every_site_layout_of_line_prices_maps_right(tmp_path: Path, prices: str) -> None:
    """net: integrations that post net prices fill STHAR_NF only (lines read 0.00 from STHAR_BF before)."""
    where = server("sqlite", tmp_path)
    write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), line_prices=prices)
    with adapter(where.url("GIDA2026"), SCENARIO) as source:
        invoices = {i.number: i for i in records(source.stream("invoices"))}
        orders = {o.number: o for o in records(source.stream("orders"))}
    assert [n for n, fact in FACTS.items() if not _same(invoices[n], fact)] == []
    live_orders = [s.record for s in SCENARIO.orders() if s.record.status != "cancelled"]
    assert [o.number for o in live_orders if not _same(orders[o.number], o, "orders")] == []
    assert [d.number for d in (*invoices.values(), *orders.values()) if discrepancies(d)] == []


def test_an_invoice_whose_lines_hold_only_the_net_price(tmp_path: Path) -> None:
    """The site's case: a header of 9,900.00 over lines that carry STHAR_NF and an empty STHAR_BF."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"), line_prices="both")
    h, ln = TABLES.FATUIRS.c, TABLES.STHAR.c
    number = "SF2026NF0000001"
    account = next(iter(FACTS.values())).account_code
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(h.SIRANO))).scalar_one()
        top_line = conn.execute(sa.select(sa.func.max(ln.INCKEYNO))).scalar_one()
        template = conn.execute(sa.select(TABLES.FATUIRS).where(h.DOVIZTIP == 0).limit(1)).one()._asdict()
        product = conn.execute(sa.select(ln.STOK_KODU).limit(1)).scalar_one()
    engine.dispose()
    header = {
        **template,
        "SIRANO": top + 1,
        "FATIRS_NO": number,
        "CARI_KODU": account,
        "TIPI": 1,
        "BRUTTUTAR": 9900.0,
        "SAT_ISKT": 0.0,
        "KDV": 1980.0,
        "GENELTOPLAM": 11880.0,
    }
    line = {
        "FISNO": number,
        "STHAR_FTIRSIP": "1",
        "SUBE_KODU": 0,
        "STHAR_ACIKLAMA": account,
        "STOK_KODU": product,
        "STHAR_GCKOD": "C",
        "STHAR_HTUR": "J",
        "OLCUBR": 1,
        "STHAR_BF": 0.0,
        "STHAR_DOVTIP": 0,
        "STHAR_KDV": 20.0,
    }
    _edit(
        url,
        TABLES.FATUIRS.insert().values(header),
        TABLES.STHAR.insert().values(
            {**line, "INCKEYNO": top_line + 1, "SIRA": 1, "STHAR_GCMIK": 10.0, "STHAR_NF": 890.0}
        ),
        TABLES.STHAR.insert().values(
            {**line, "INCKEYNO": top_line + 2, "SIRA": 2, "STHAR_GCMIK": 4.0, "STHAR_NF": 250.0}
        ),
    )
    with adapter(url, SCENARIO) as source:
        invoice = next(i for i in records(source.stream("invoices")) if i.number == number)
    assert [(x.unit_price, x.gross, x.net, x.vat) for x in invoice.lines] == [
        (Decimal("890.0000"), Decimal("8900.00"), Decimal("8900.00"), Decimal("1780.00")),
        (Decimal("250.0000"), Decimal("1000.00"), Decimal("1000.00"), Decimal("200.00")),
    ]
    assert invoice.totals.net == sum(x.net for x in invoice.lines) == Decimal("9900.00")
    assert discrepancies(invoice) == []


def test_local_amounts_are_the_erps_own(tmp_path: Path) -> None:
    """A foreign document whose TL figures are a cent off its document-currency net at the rate (as on real
    sites): its local totals are the header's TL figures, its lines' local nets STHAR_NF x quantity, as held."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"), line_prices="both")
    foreign = [f for f in FACTS.values() if f.currency != "TRY"]
    fact = next(f for f in foreign if len(f.lines) >= 2)
    h, ln = TABLES.FATUIRS.c, TABLES.STHAR.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        header = conn.execute(sa.select(h.BRUTTUTAR, h.GENELTOPLAM).where(fact.number == h.FATIRS_NO)).one()
        rows = conn.execute(
            sa.select(ln.INCKEYNO, ln.STHAR_GCMIK, ln.STHAR_NF).where(fact.number == ln.FISNO).order_by(ln.INCKEYNO)
        ).all()
    engine.dispose()
    (first, qty1, nf1), (second, qty2, nf2) = rows[0], rows[1]
    _edit(
        url,
        TABLES.FATUIRS.update()
        .where(fact.number == h.FATIRS_NO)
        .values(BRUTTUTAR=header.BRUTTUTAR + 0.01, GENELTOPLAM=header.GENELTOPLAM + 0.01),
        TABLES.STHAR.update().where(first == ln.INCKEYNO).values(STHAR_NF=nf1 + 0.02 / qty1),
        TABLES.STHAR.update().where(second == ln.INCKEYNO).values(STHAR_NF=nf2 - 0.01 / qty2),
    )
    with adapter(url, SCENARIO) as source:
        got = {i.number: i for i in records(source.stream("invoices"))}
    assert all(got[f.number].totals_local == f.totals_local for f in foreign if f is not fact)
    local = got[fact.number].totals_local
    assert local is not None and fact.totals_local is not None and fact.rate is not None
    assert (local.gross, local.net, local.total) == (
        fact.totals_local.gross + CENT,
        fact.totals_local.net + CENT,
        fact.totals_local.total + CENT,
    )
    assert local.net != (got[fact.number].totals.net * fact.rate).quantize(CENT, ROUND_HALF_UP)
    moved = got[fact.number].lines
    assert moved[0].net_local == fact.lines[0].net_local + 2 * CENT  # type: ignore[operator]
    assert moved[1].net_local == fact.lines[1].net_local - CENT  # type: ignore[operator]
    assert discrepancies(got[fact.number]) == []


def test_erp_figures_that_do_not_add_up_are_flagged_not_mended(tmp_path: Path) -> None:
    """A line whose net price the ERP holds a lira higher, a grand total five kuruş off: both invoices go out, as
    the ERP holds them, each with the rule it breaks and the difference; the others flag nothing."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"), line_prices="both")
    h, ln = TABLES.FATUIRS.c, TABLES.STHAR.c
    local = [f for f in FACTS.values() if f.currency == "TRY" and f.kind == "sale"]
    lines_off, total_off = local[0], local[1]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ref, qty, nf = conn.execute(
            sa.select(ln.INCKEYNO, ln.STHAR_GCMIK, ln.STHAR_NF)
            .where(lines_off.number == ln.FISNO)
            .order_by(ln.INCKEYNO)
        ).first()  # type: ignore[misc]
    engine.dispose()
    _edit(
        url,
        TABLES.STHAR.update().where(ref == ln.INCKEYNO).values(STHAR_NF=nf + 1.0 / qty),
        TABLES.FATUIRS.update()
        .where(total_off.number == h.FATIRS_NO)
        .values(
            GENELTOPLAM=float(total_off.totals_local.total + Decimal("0.05"))  # type: ignore[union-attr]
        ),
    )
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    state.create()
    feed = tmp_path / "feed"
    with adapter(url, SCENARIO) as source:
        result = Engine(state, FileSink(FileSinkSettings(kind="file", path=feed, fsync=False))).sync(
            source, ["invoices"]
        )[0]
    assert result.status == "ok" and result.flagged == 2 and result.pushed == len(FACTS) and result.dead_lettered == 0
    sent = {
        e["data"]["number"]: e["data"]
        for path in (feed / "invoices").glob("*.ndjson")
        for e in map(msgspec.json.decode, path.read_bytes().splitlines())
    }
    line_rules = {d["rule"]: d["difference"] for d in sent[lines_off.number]["discrepancies"]}
    vat = (lines_off.lines[0].vat_rate or Decimal(0)) / 100
    assert line_rules == {
        "lines_discount": "1.00",
        "lines_net": "-1.00",
        "lines_vat": str(-vat.quantize(CENT)),
        "lines_net_local": "-1.00",
    }
    assert sent[lines_off.number]["totals"] == msgspec.to_builtins(lines_off.totals)  # the header as held
    total_rules = [(d["rule"], d["difference"]) for d in sent[total_off.number]["discrepancies"]]
    assert total_rules == [("totals_total", "0.05"), ("local_total", "0.05")]
    assert sent[total_off.number]["totals_local"]["total"] == str(total_off.totals_local.total + Decimal("0.05"))  # type: ignore[union-attr]


def _foreign_lines(url: str, fact: Any) -> list[Any]:
    ln = TABLES.STHAR.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(ln.INCKEYNO).where(fact.number == ln.FISNO).order_by(ln.INCKEYNO)).all()
    engine.dispose()
    return [r.INCKEYNO for r in rows]


def _bump_local_net(fact: Any, amount: float) -> Any:
    """The header's local net (and grand total) `amount` higher than its lines: something the lines do not hold. A
    few kuruş vanish in the document currency at these rates, so only the local figures change."""
    h = TABLES.FATUIRS.c
    return (
        TABLES.FATUIRS.update()
        .where(fact.number == h.FATIRS_NO)
        .values(BRUTTUTAR=h.BRUTTUTAR + amount, GENELTOPLAM=h.GENELTOPLAM + amount)
    )


def test_a_foreign_document_without_local_line_figures_spreads_its_header(tmp_path: Path) -> None:
    """No line holds STHAR_NF: the header's local net (the ERP's figure) is spread over the lines by their nets."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"), line_prices="gross")
    fact = next(f for f in FACTS.values() if f.currency != "TRY" and len(f.lines) >= 2)
    _edit(url, _bump_local_net(fact, 0.10))
    with adapter(url, SCENARIO) as source:
        got = next(i for i in records(source.stream("invoices")) if i.number == fact.number)
    assert got.totals_local is not None and fact.totals_local is not None
    assert got.totals_local.net == fact.totals_local.net + Decimal("0.10")
    assert sum(line.net_local for line in got.lines) == got.totals_local.net  # type: ignore[misc]
    assert discrepancies(got) == []


def test_a_mixed_document_converts_its_lines_without_local_figures(tmp_path: Path) -> None:
    """Some lines hold STHAR_NF, one does not: that line's local net is its own net at the rate, never what the
    header's local net leaves (it absorbed the header's extra 0.10 before); the document goes out flagged."""
    where = server("sqlite", tmp_path)
    url = where.url("GIDA2026")
    write(url, SCENARIO, where.url("NETSIS"), line_prices="both")
    fact, index = next(
        (f, i)
        for f in FACTS.values()
        if f.currency != "TRY" and f.rate is not None and len(f.lines) >= 2
        for i, line in enumerate(f.lines)
        if line.net_local == (line.net * f.rate).quantize(CENT, ROUND_HALF_UP)
    )
    ln = TABLES.STHAR.c
    _edit(
        url,
        TABLES.STHAR.update().where(_foreign_lines(url, fact)[index] == ln.INCKEYNO).values(STHAR_NF=0.0),
        _bump_local_net(fact, 0.10),
    )
    with adapter(url, SCENARIO) as source:
        got = next(i for i in records(source.stream("invoices")) if i.number == fact.number)
    assert fact.rate is not None
    assert [line.net_local for line in got.lines] == [line.net_local for line in fact.lines]
    assert got.lines[index].net_local == (got.lines[index].net * fact.rate).quantize(CENT, ROUND_HALF_UP)
    assert [(d.rule, d.difference) for d in discrepancies(got)] == [("lines_net_local", Decimal("0.10"))]
