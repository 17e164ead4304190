"""Netsis rows broken on purpose, through a real sync to a file feed: rows with NULL codes are read, never
dropped by a filter; a quantity that is NULL or NaN, a NULL currency
number, a code with control characters and an E/H flag outside its values are dead letters naming the field;
an implausible value goes out flagged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.netsis import codes
from connectors.netsis.tables import netsis_tables
from scenario.generate import build
from tests.netsis_dbs import STAMPED_SITE, Server, adapter, server, write
from tests.strict_sync import Outcome, sync

SCENARIO = build(invoice_lines=300)
T = netsis_tables(sa.MetaData(), STAMPED_SITE["cancel_column"])


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    where = server(request.param, tmp_path)
    try:
        write(where.url("GIDA2026"), SCENARIO, where.url("NETSIS"), cancel_column=STAMPED_SITE["cancel_column"])
        yield where
    finally:
        where.close()


def edit(url: str, table: sa.Table, key: sa.Column[Any], where: Any = None, **values: Any) -> Any:
    """Set `values` on the row with the lowest `key` that `where` selects; that key."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        stmt = sa.select(sa.func.min(key))
        first = conn.execute(stmt if where is None else stmt.where(where)).scalar_one()
        conn.execute(table.update().where(key == first).values(values))
    engine.dispose()
    return first


def run(site: Server, folder: Path, *streams: str) -> Outcome:
    settings = {"cancelled_column": STAMPED_SITE["cancel_column"]}
    if site.backend != "sqlite":
        settings |= {"databases": [site.database("GIDA2026")], "rates_database": site.database("NETSIS")}
    with adapter(site.url("GIDA2026"), SCENARIO, **settings) as source:
        return sync(source, folder, *streams)


def test_rows_with_null_codes_are_read(site: Server, tmp_path: Path) -> None:
    """Netsis's filters compare only key columns (never NULL) or say IS NULL already: these rows must stay read."""
    url = site.url("GIDA2026")
    c = T.CAHAR.c
    collected = sa.and_(c.ALACAK > 0, c.HAREKET_TURU.in_(sorted(codes.DEFAULT_COLLECTION_KINDS)))
    edit(url, T.CAHAR, c.INC_KEY_NUMBER, collected, CARI_KOD=None)
    product = edit(url, T.STSABIT, T.STSABIT.c.STOK_KODU, None, GRUP_KODU=None)
    out = run(site, tmp_path, "collections", "products")
    assert list(out.dead.values()) == ["account_code: missing"]
    assert any(data and data["code"] == product for (stream, _), data in out.feed.items() if stream == "products")


def test_values_that_cannot_be_represented_are_dead_letters(site: Server, tmp_path: Path) -> None:
    url = site.url("GIDA2026")
    h, s = T.FATUIRS.c, T.STHAR.c
    invoices = [h.FTIRSIP == "1"]
    # SQLite keeps NaN as NULL, PostgreSQL as NaN: either way a quantity the line does not hold.
    edit(url, T.STHAR, s.INCKEYNO, s.STHAR_FTIRSIP == "1", STHAR_GCMIK=float("nan"))
    second = edit(url, T.FATUIRS, h.FATIRS_NO, sa.and_(*invoices, _first(url) < h.FATIRS_NO), DOVIZTIP=None)
    edit(url, T.FATUIRS, h.FATIRS_NO, sa.and_(*invoices, second < h.FATIRS_NO), IPTAL="Q")
    edit(url, T.STSABIT, T.STSABIT.c.STOK_KODU, None, KILIT="X")
    edit(url, T.CASABIT, T.CASABIT.c.CARI_KOD, None, CARI_ISIM="Bayi\x07", GRUP_KODU="G\x07")
    out = run(site, tmp_path, "invoices", "products", "accounts")
    reasons = sorted(out.dead.values())
    assert reasons == sorted(
        [
            "lines.quantity: missing (NULL where a number is required)"
            if site.backend == "sqlite"
            else "lines.quantity: not a finite number: NaN",
            "currency: missing (NULL; 0 is the local currency)",
            "cancelled: 'Q' is not a known flag value ('E' = yes, 'H' = no, '0' = no, '' = no, None = no)",
            "active: 'X' is not a known flag value ('E' = yes, 'H' = no, '' = no, None = no)",
            "group_code: control character U+0007 at position 2",
        ]
    )


def test_implausible_values_go_out_flagged(site: Server, tmp_path: Path) -> None:
    s = T.STHAR.c
    edit(site.url("GIDA2026"), T.STHAR, s.INCKEYNO, s.STHAR_FTIRSIP == "1", STHAR_GCMIK=-4.0)
    out = run(site, tmp_path, "invoices")
    assert not out.dead
    flagged = [f for data in out.feed.values() if data for f in data["flags"]]
    assert [(f["rule"], f["value"]) for f in flagged if f["field"].endswith("].quantity")] == [
        ("negative_quantity", "-4.000")
    ]


def _first(url: str) -> Any:
    """The number of the invoice the NaN line belongs to, so the other edits break other invoices."""
    s = T.STHAR.c
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ref = conn.execute(sa.select(sa.func.min(s.INCKEYNO)).where(s.STHAR_FTIRSIP == "1")).scalar_one()
        number = conn.execute(sa.select(s.FISNO).where(ref == s.INCKEYNO)).scalar_one()
    engine.dispose()
    return number


def test_a_null_the_open_orders_sum_would_pass_over_makes_the_limit_a_dead_letter(site: Server, tmp_path: Path) -> None:
    url = site.url("GIDA2026")
    o, ln, c = T.SIPAMAS.c, T.SIPATRA.c, T.CASABIT.c
    open_line = sa.exists().where(
        ln.FISNO == o.FATIRS_NO,
        ln.STHAR_FTIRSIP == o.FTIRSIP,
        ln.SUBE_KODU == o.SUBE_KODU,
        ln.STHAR_CARIKOD == o.CARI_KODU,
        sa.or_(ln.STHAR_HTUR.is_(None), ln.STHAR_HTUR != codes.CLOSED_ORDER_LINE),
    )
    limited = sa.select(c.CARI_KOD).where(c.RISK_SINIRI > 0)
    live = [k for k, v in codes.DEFAULT_ORDER_STATUSES.items() if v in ("open", "shippable")]
    flag = T.cancelled(T.SIPAMAS)
    assert flag is not None
    counted = sa.and_(
        o.FTIRSIP == codes.CUSTOMER_ORDER,
        o.CARI_KODU.in_(limited),
        o.ONAYTIPI.in_(live),
        sa.or_(flag.is_(None), flag != "E"),
        open_line,
    )
    number = edit(url, T.SIPAMAS, o.FATIRS_NO, counted, GENELTOPLAM=None)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        account = conn.execute(sa.select(o.CARI_KODU).where(counted, number == o.FATIRS_NO)).scalars().first()
    engine.dispose()
    out = run(site, tmp_path, "risk_limits")
    (key,) = out.dead
    assert key[1].endswith(f":{account.rstrip()}")
    assert out.dead[key] == "open_orders: 1 open customer order(s) of the account have a NULL ONAYTIPI or GENELTOPLAM"
