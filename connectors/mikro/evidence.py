"""What the customer's data says about the readings Mikro's documentation and real sites disagree on.

Mikro's column pages call sth_vergi the line's VAT rate while every site reads it as the amount; they
print sto_pasif_fl as 0 Pasif / 1 Aktif and bar_master as 0 Evet / 1 Hayır while sites store 1 for
"passive" and "yes"; they label sip_tip 0 Talep / 1 Temin while public queries disagree on which is a
sales order. Each of these is a setting; `check` compares the setting with the data and warns, with
the figures and the value to set, when the data says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.base import CheckResult
from connectors.mikro import codes
from connectors.mikro.streams import MikroEnv

__all__ = ["checks"]

SAMPLE = 2000  # recent invoice lines compared for the sth_vergi reading
MIN_EVIDENCE = 5  # fewer cases than this prove nothing either way
YEAR = dt.timedelta(days=366)


def _result(name: str, warn: str | None, ok: str) -> CheckResult:
    return CheckResult(name, True, warn or ok, warning=warn is not None)


def line_vat(env: MikroEnv, conn: sa.Connection) -> CheckResult:
    """Does sth_vergi hold (net x the pointer's rate) or the rate itself, on recent invoice lines?"""
    s = env.tables.STOK_HAREKETLERI.c
    discount = sum((s[f"sth_iskonto{n}"] for n in range(2, 7)), s.sth_iskonto1)
    stmt = (
        sa.select(s.sth_tutar, discount.label("DISCOUNT"), s.sth_vergi, s.sth_vergi_pntr)
        .where(
            s.sth_evraktip.in_((codes.IN_INVOICE, codes.OUT_INVOICE)),
            s.sth_tutar > 0,
            s.sth_iptal == sa.false(),
            s.sth_hidden == sa.false(),
        )
        .order_by(s.sth_tarih.desc())
        .limit(SAMPLE)
    )
    rates = env.vat.rates()
    amounts = as_rates = 0
    for tutar, disc, vergi, pointer in conn.execute(stmt):
        rate = rates.get(pointer)
        if not rate:
            continue
        expected = Decimal(repr(tutar - (disc or 0))) * rate / 100
        found = Decimal(repr(vergi or 0))
        is_amount = abs(found - expected) <= max(Decimal("0.011"), abs(expected) / 1000)
        is_rate = abs(found - rate) < Decimal("0.0001")
        if is_amount != is_rate:  # a line where both fit (net 100 at 20 %) tells nothing
            amounts += is_amount
            as_rates += is_rate
    seen = amounts + as_rates
    reading = "amount" if amounts > as_rates else "rate"
    figures = f"sth_vergi is the VAT amount in {amounts} and the rate in {as_rates} of {seen} recent invoice lines"
    warn = None
    if seen >= MIN_EVIDENCE and reading != env.line_vat and max(amounts, as_rates) * 2 > seen:
        warn = f"{figures}, but line_vat reads it as the {env.line_vat}: set line_vat: {reading}"
    return _result("reading sth_vergi", warn, f"{figures}; line_vat: {env.line_vat}")


def passive_flag(env: MikroEnv, conn: sa.Connection) -> CheckResult:
    """Do the products that still move stock read as passive?"""
    k, s = env.tables.STOKLAR.c, env.tables.STOK_HAREKETLERI.c
    latest = conn.execute(sa.select(sa.func.max(s.sth_tarih)).where(s.sth_hidden == sa.false())).scalar()
    if latest is None:
        return CheckResult("reading sto_pasif_fl", True, "no stock movement to compare sto_pasif_fl with")
    since = latest - YEAR
    moved = sa.exists().where(s.sth_stok_kod == k.sto_kod, s.sth_tarih >= since, s.sth_hidden == sa.false())
    counts = dict(
        conn.execute(
            sa.select(k.sto_pasif_fl, sa.func.count())
            .where(moved, k.sto_iptal == sa.false(), k.sto_hidden == sa.false())
            .group_by(k.sto_pasif_fl)
        ).all()
    )
    passive_value = int(env.passive_value)
    passive = sum(n for flag, n in counts.items() if int(bool(flag)) == passive_value)
    total = sum(counts.values())
    figures = (
        f"{passive} of {total} products that moved stock since {since.date().isoformat()} read as passive "
        f"(sto_pasif_fl {passive_value}, product_passive_value)"
    )
    warn = None
    if total >= MIN_EVIDENCE and passive * 2 > total:
        warn = f"{figures}: products that still move are on sale; set product_passive_value: {1 - passive_value}"
    return _result("reading sto_pasif_fl", warn, figures)


def order_tip(env: MikroEnv, conn: sa.Connection) -> CheckResult:
    """Are the orders read as sales orders placed by customers, or by suppliers?"""
    o, c = env.tables.SIPARISLER.c, env.tables.CARI_HESAPLAR.c
    rows = conn.execute(
        sa.select(o.sip_tip, c.cari_baglanti_tipi, sa.func.count())
        .select_from(env.tables.SIPARISLER.join(env.tables.CARI_HESAPLAR, c.cari_kod == o.sip_musteri_kod))
        .where(o.sip_hidden == sa.false(), o.sip_iptal == sa.false())
        .group_by(o.sip_tip, c.cari_baglanti_tipi)
    ).all()
    lines: dict[tuple[Any, bool], int] = {}
    for tip, link, n in rows:
        supplier = env.account_kinds.get(link) == "supplier"
        lines[tip, supplier] = lines.get((tip, supplier), 0) + n
    ours, other = env.sales_order_tip, 1 - env.sales_order_tip

    def share(tip: int) -> str:
        customers, suppliers = lines.get((tip, False), 0), lines.get((tip, True), 0)
        return f"sip_tip {tip}: {customers} order lines of customers, {suppliers} of suppliers"

    figures = f"{share(ours)}; {share(other)}"
    customers, suppliers = lines.get((ours, False), 0), lines.get((ours, True), 0)
    warn = None
    if lines.get((other, False), 0) > customers and suppliers >= customers:
        warn = f"{figures}: the data suggests sales orders are sip_tip {other}; set sales_order_tip: {other}"
    return _result("reading sip_tip", warn, f"{figures} (sales_order_tip: {ours})")


def master_barcode(env: MikroEnv, conn: sa.Connection) -> CheckResult:
    """Which bar_master value marks one barcode per unit, where a unit has three or more?"""
    b = env.tables.BARKOD_TANIMLARI.c
    ones = sa.func.sum(sa.case((b.bar_master == sa.true(), 1), else_=0))
    groups = conn.execute(
        sa.select(ones, sa.func.count())
        .where(b.bar_iptal == sa.false(), b.bar_hidden == sa.false())
        .group_by(b.bar_stokkodu, b.bar_birimpntr)
        .having(sa.func.count() >= 3)
    ).all()
    marked = {1: sum(1 for n1, _ in groups if n1 == 1), 0: sum(1 for n1, n in groups if n - n1 == 1)}
    value = int(env.master_barcode_value)
    figures = (
        f"in {len(groups)} units with 3 or more barcodes, bar_master 1 marks exactly one in {marked[1]}, "
        f"0 in {marked[0]} (master_barcode_value: {value})"
    )
    warn = None
    if marked[1 - value] >= MIN_EVIDENCE and marked[1 - value] > marked[value]:
        warn = f"{figures}: set master_barcode_value: {1 - value}"
    return _result("reading bar_master", warn, figures)


PROBES: dict[str, tuple[Callable[[MikroEnv, sa.Connection], CheckResult], ...]] = {
    "invoices": (line_vat,),
    "products": (passive_flag, master_barcode),
    "orders": (order_tip,),
}


def checks(env: MikroEnv, disabled: frozenset[str] = frozenset()) -> list[CheckResult]:
    """One line per reading an enabled stream makes: a warning when the data disagrees with the setting."""
    with env.engine.connect() as conn:
        return [probe(env, conn) for stream, probes in PROBES.items() if stream not in disabled for probe in probes]
