"""Logo rows that are broken on purpose, through a real sync to a file feed: a row with a NULL code is read and
dead-lettered, never dropped by a filter; a value that cannot be represented exactly (NaN, a code that is too long
or holds control characters, a flag outside its values, a NULL currency) is a dead letter naming the field; an
implausible value goes out flagged, as the ERP holds it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.logo.tables import logo_tables
from engine.sync import Policy
from scenario.generate import build
from tests.conftest import database_url
from tests.dbs import adapter, write
from tests.strict_sync import Outcome, sync

SCENARIO = build(invoice_lines=300)
T = logo_tables(sa.MetaData(), 1, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "logo") as url:
        write(url, SCENARIO)
        yield url


def edit(url: str, table: sa.Table, where: Any = None, **values: Any) -> int:
    """Set `values` on one row (the first one `where` selects) and return its LOGICALREF."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        stmt = sa.select(sa.func.min(table.c.LOGICALREF))
        ref = conn.execute(stmt if where is None else stmt.where(where)).scalar_one()
        conn.execute(table.update().where(ref == table.c.LOGICALREF).values(values))
    engine.dispose()
    return int(ref)


def run(url: str, folder: Path, *streams: str) -> Outcome:
    with adapter(url, SCENARIO) as source:
        return sync(source, folder, *streams)


def second_invoice(url: str) -> int:
    """An invoice other than the first, so two edits break two documents."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ref = conn.execute(sa.select(T.INVOICE.c.LOGICALREF).order_by(T.INVOICE.c.LOGICALREF).offset(1)).scalar()
    engine.dispose()
    return int(ref)


def test_rows_with_null_key_codes_are_read_and_dead_lettered(url: str, tmp_path: Path) -> None:
    account = edit(url, T.CLCARD, T.CLCARD.c.CODE != "ÿ", CODE=None)
    product = edit(url, T.ITEMS, None, CARDTYPE=None)
    edit(url, T.GNTOTST, T.GNTOTST.c.INVENNO >= 0, INVENNO=None)
    out = run(url, tmp_path, "accounts", "products", "stock_levels")
    assert out.dead["accounts", f"001:{account}"] == "code: missing"
    assert out.dead["products", f"001:{product}"].startswith("ITEMS.CARDTYPE: missing")
    (stock_key,) = (k for k in out.dead if k[0] == "stock_levels")
    assert stock_key[1].endswith(":None") and out.dead[stock_key] == "warehouse_code: missing (NULL INVENNO)"
    assert ("accounts", f"001:{account}") not in out.feed and len(out.dead) == 3
    assert all(r.status == "ok" for r in out.results)


def test_nan_amounts_are_dead_letters_not_zero(url: str, tmp_path: Path) -> None:
    # PostgreSQL stores NaN (and is read back as NaN); SQLite stores NULL for it. Neither may become 0.00.
    invoice = ref_of(url, T.STLINE.c.INVOICEREF, T.STLINE, edit(url, T.STLINE, None, LINENET=float("nan")))
    other = edit(url, T.INVOICE, second_invoice(url) == T.INVOICE.c.LOGICALREF, TOTALVAT=float("inf"))
    out = run(url, tmp_path, "invoices")
    nan_reason = out.dead["invoices", f"001:01:{invoice}"]
    assert nan_reason in (
        "lines.net: missing (NULL where an amount is required)",
        "lines.net: not a finite number: nan",
    )
    inf_reason = out.dead["invoices", f"001:01:{other}"]
    assert inf_reason.startswith("totals_local.vat: not a finite number: inf"), inf_reason


def test_codes_are_never_stripped_or_cut(url: str, tmp_path: Path) -> None:
    nul = url.startswith("sqlite")  # PostgreSQL text cannot hold NUL at all
    account = edit(url, T.CLCARD, T.CLCARD.c.CODE != "ÿ", CODE="\x00\x01C\x1b" if nul else "\x01C\x1b")
    if not nul:  # a widened column (or a view) on an install: SQLite never enforces VARCHAR lengths
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text('ALTER TABLE "LG_001_01_INVOICE" ALTER COLUMN "FICHENO" TYPE varchar(200)'))
        engine.dispose()
    invoice = edit(url, T.INVOICE, None, FICHENO="F" * 150)
    out = run(url, tmp_path, "accounts", "invoices")
    assert out.dead["accounts", f"001:{account}"] == f"code: control character U+000{0 if nul else 1} at position 1"
    assert out.dead["invoices", f"001:01:{invoice}"] == "number: 150 characters, more than the 100 the feed allows"
    assert not any(data and data.get("code") == "C" for data in out.feed.values())
    assert ("invoices", f"001:01:{invoice}") not in out.feed


@pytest.mark.parametrize("value", [7, None])
def test_a_flag_outside_its_values_is_a_dead_letter(url: str, tmp_path: Path, value: int | None) -> None:
    invoice = edit(url, T.INVOICE, None, CANCELLED=value)
    account = edit(url, T.CLCARD, T.CLCARD.c.CODE != "ÿ", ACTIVE=value)
    out = run(url, tmp_path, "invoices", "accounts")
    if value is None:
        assert out.dead["invoices", f"001:01:{invoice}"] == "cancelled: missing (no flag value)"
        assert out.dead["accounts", f"001:{account}"] == "active: missing (no flag value)"
    else:
        assert out.dead["invoices", f"001:01:{invoice}"] == "cancelled: 7 is not a known flag value (1 = yes, 0 = no)"
        assert out.dead["accounts", f"001:{account}"] == "active: 7 is not a known flag value (0 = yes, 1 = no)"


def test_a_null_currency_is_not_the_local_one(url: str, tmp_path: Path) -> None:
    invoice = edit(url, T.INVOICE, None, TRCURR=None)
    collection = edit(url, T.CLFLINE, T.CLFLINE.c.SIGN == 1, TRCURR=None)
    out = run(url, tmp_path, "invoices", "collections")
    expected = "currency: missing (NULL; Logo writes 0 for the local currency)"
    assert out.dead["invoices", f"001:01:{invoice}"] == expected
    assert out.dead.get(("collections", f"001:01:{collection}"), expected) == expected  # the row may be a kind not read


def test_a_null_a_risk_sum_would_skip_makes_the_limit_a_dead_letter(url: str, tmp_path: Path) -> None:
    """SUM passes over NULL terms and = never matches NULL: a balance row or an order of the account holding one
    would make its exposure quietly too small."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        r, o, g, ol = T.CLRNUMS.c, T.ORFICHE.c, T.GNTOTCL.c, T.ORFLINE.c
        # An order that counts (open or shippable, not cancelled, a line open): a NULL in it is what matters.
        counts = sa.and_(
            o.TRCODE == 1,
            o.CANCELLED == 0,
            o.STATUS.in_([2, 4]),
            sa.exists().where(ol.ORDFICHEREF == o.LOGICALREF, ol.CLOSED == 0),
        )
        ordering = sa.select(r.LOGICALREF, r.CLCARDREF).where(sa.exists().where(o.CLIENTREF == r.CLCARDREF, counts))
        limit_a, card_a = conn.execute(ordering.order_by(r.LOGICALREF)).first()  # type: ignore[misc]
        balanced = sa.select(r.LOGICALREF, r.CLCARDREF).where(
            sa.exists().where(g.CARDREF == r.CLCARDREF, g.TOTTYP == 1), card_a != r.CLCARDREF
        )
        limit_b, card_b = conn.execute(balanced.order_by(r.LOGICALREF)).first()  # type: ignore[misc]
    engine.dispose()
    edit(url, T.ORFICHE, sa.and_(card_a == o.CLIENTREF, counts), CANCELLED=None)
    edit(url, T.GNTOTCL, sa.and_(card_b == g.CARDREF, g.TOTTYP == 1), DEBIT=None)
    # An order its known values rule out (cancelled) holds no limit back, whatever it leaves NULL.
    assert edit(url, T.ORFICHE, sa.and_(o.TRCODE == 1, o.CANCELLED == 1), NETTOTAL=None) is not None
    out = run(url, tmp_path, "risk_limits")
    assert out.dead["risk_limits", f"001:01:{limit_a}"] == (
        "open_orders: 1 sales order(s) of the account have a NULL CANCELLED, STATUS or NETTOTAL, or a line with a "
        "NULL CLOSED"
    )
    assert out.dead["risk_limits", f"001:01:{limit_b}"] == (
        "open_balance: 1 GNTOTCL row(s) of the account have a NULL TOTTYP, DEBIT or CREDIT"
    )
    assert len(out.dead) == 2 and all(r.status == "ok" for r in out.results)


def ref_of(url: str, column: sa.Column[Any], table: sa.Table, ref: int) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.select(column).where(ref == table.c.LOGICALREF)).scalar_one()
    engine.dispose()
    return int(found)


def test_implausible_values_go_out_flagged(url: str, tmp_path: Path) -> None:
    line = edit(url, T.STLINE, T.STLINE.c.AMOUNT > 0, AMOUNT=-3.0)
    account = edit(url, T.CLCARD, T.CLCARD.c.CODE != "ÿ", DISCRATE=150.0)
    due = edit(url, T.PAYTRANS, T.PAYTRANS.c.MODULENR == 4, DATE_=dt.datetime(9999, 12, 31))
    out = run(url, tmp_path, "invoices", "accounts")
    assert not out.dead
    invoice = out.feed["invoices", f"001:01:{ref_of(url, T.STLINE.c.INVOICEREF, T.STLINE, line)}"]
    assert invoice is not None
    (negative,) = (f for f in invoice["flags"] if f["rule"] == "negative_quantity")
    assert negative["value"] == "-3.000" and negative["field"].endswith("].quantity")
    assert any(ln["quantity"] == "-3.000" for ln in invoice["lines"])  # sent as the ERP holds it
    assert out.feed["accounts", f"001:{account}"]["flags"] == [  # type: ignore[index]
        {"rule": "discount_over_100", "field": "discount_rate", "value": "150.00"}
    ]
    late = out.feed["invoices", f"001:01:{ref_of(url, T.PAYTRANS.c.FICHEREF, T.PAYTRANS, due)}"]
    assert late is not None and late["due_date"] == "9999-12-31"
    assert {"rule": "date_out_of_range", "field": "due_date", "value": "9999-12-31"} in late["flags"]


def test_text_that_is_not_utf8_is_a_dead_letter_that_does_not_quote_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logo.db'}"
    write(url, SCENARIO)
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # cp1254 bytes where Logo's SQLite copy holds UTF-8: "ŞİŞLİ"
        refs = conn.execute(sa.text("SELECT LOGICALREF FROM \"LG_001_CLCARD\" WHERE CODE != 'ÿ' ORDER BY 1")).scalars()
        first, second, third = list(refs)[:3]
        for column, ref in (("DEFINITION_", first), ("CODE", second), ("TAXNR", third)):
            update = f"UPDATE \"LG_001_CLCARD\" SET {column} = CAST(X'DEDDDEDD' AS TEXT) WHERE LOGICALREF = :ref"
            conn.execute(sa.text(update), {"ref": ref})
    engine.dispose()
    out = run(url, tmp_path / "sync", "accounts")
    undecodable = "text is not valid UTF-8 (an undecodable byte at position 1; fix the text in the ERP)"
    broken = {
        ("accounts", f"001:{first}"): f"title: {undecodable}",
        ("accounts", f"001:{second}"): f"code: {undecodable}",
        ("accounts", f"001:{third}"): f"tax_id: {undecodable}",
    }
    assert broken.items() <= out.dead.items()
    # The accounts whose parent is the card with the broken code cannot name it either.
    assert {reason for key, reason in out.dead.items() if key not in broken} <= {f"parent_code: {undecodable}"}


@pytest.mark.parametrize("policy", ["dead_letter", "accept"])
def test_the_implausible_policy_holds_back_or_accepts(url: str, tmp_path: Path, policy: str) -> None:
    line = edit(url, T.STLINE, T.STLINE.c.AMOUNT > 0, AMOUNT=-3.0)
    key = f"001:01:{ref_of(url, T.STLINE.c.INVOICEREF, T.STLINE, line)}"
    with adapter(url, SCENARIO) as source:
        out = sync(source, tmp_path, "invoices", policy=Policy(implausible=policy))  # type: ignore[arg-type]
    if policy == "dead_letter":
        assert ("invoices", key) not in out.feed
        reason = out.dead["invoices", key]
        assert reason.endswith(": implausible value -3.000 (negative_quantity; engine.implausible)")
    else:
        assert not out.dead and out.feed["invoices", key]["flags"] == []  # type: ignore[index]


def test_a_broken_ledger_row_is_a_dead_letter_and_the_rest_flows(url: str, tmp_path: Path) -> None:
    slips = T.CLFLINE.c.MODULENR == 5
    nan = edit(url, T.CLFLINE, slips, AMOUNT=float("nan"))
    side = edit(url, T.CLFLINE, sa.and_(slips, T.CLFLINE.c.LOGICALREF.notin_([nan])), SIGN=7)
    unknown = edit(url, T.CLFLINE, sa.and_(slips, T.CLFLINE.c.LOGICALREF.notin_([nan, side])), TRCODE=99)
    out = run(url, tmp_path, "account_ledger")
    assert out.dead["account_ledger", f"001:01:{nan}"] in (
        "amount_local: missing (NULL where an amount is required)",
        "amount_local: not a finite number: nan",
    )
    assert out.dead["account_ledger", f"001:01:{side}"].startswith("credit: ")
    assert len(out.dead) == 2 and all(r.status == "ok" for r in out.results)
    # A pair no setting names is sent as 'other' with its code, not dropped and not guessed.
    entry = out.feed["account_ledger", f"001:01:{unknown}"]
    assert entry is not None and entry["kind"] == "other" and entry["erp_kind"] == "5:99"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(T.CLFLINE)).scalar_one()
    engine.dispose()
    assert sum(1 for stream, _ in out.feed if stream == "account_ledger") == rows - 2


def test_a_broken_price_card_is_a_dead_letter_and_the_rest_flows(url: str, tmp_path: Path) -> None:
    general = sa.and_(T.PRCLIST.c.CLIENTCODE == "", T.PRCLIST.c.CLSPECODE == "")
    orphan = edit(url, T.PRCLIST, general, CARDREF=999_999)
    unpriced = edit(url, T.PRCLIST, sa.and_(general, T.PRCLIST.c.LOGICALREF.notin_([orphan])), PRICE=None)
    out = run(url, tmp_path, "price_lists", "discounts")
    assert out.dead["price_lists", f"001:{orphan}"].startswith("product_code: CARDREF names no item card")
    assert out.dead["price_lists", f"001:{unpriced}"] == "price: missing (NULL PRICE)"
    assert len(out.dead) == 2 and all(r.status == "ok" for r in out.results)
    listed = [d for (stream, _), d in out.feed.items() if stream == "price_lists"]
    assert len(listed) == len(SCENARIO.price_lists) - 2
    # A dealer's own price is a discount, never a list price, and the other way round.
    fixed = [d for (stream, key), d in out.feed.items() if stream == "discounts" and ":PRC:" in key]
    assert len(fixed) == sum(1 for s in SCENARIO.discounts if s.record.kind == "fixed_price")
    assert all(d and d["account_code"] for d in fixed)
