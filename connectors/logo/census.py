"""The Logo code census: every code value in the firm's tables, counted, and what the adapter does with it.

Each code column the streams interpret is read the way the adapter's settings read it, so the
census shows the customer's data through this install's configuration: a value the settings map
is "sent", one the adapter leaves out on purpose says why, and anything else is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from connectors.base import Excluded
from connectors.census import UNCONFIRMED, CodeColumn, CodeCount, Reading, count_codes, excluded, mapped
from connectors.logo import codes
from connectors.logo.ledger import ledger_kind
from connectors.logo.stock import GOODS, movement_kind
from connectors.logo.streams import LogoEnv
from connectors.logo.tables import LogoTables

__all__ = ["census"]

YOURS = "your settings"


def _source(value: Any, setting: Mapping[Any, Any], default: Mapping[Any, Any], source: str) -> str:
    """Where a mapping's reading of `value` comes from: the vendor's source when it is the default's."""
    return source if default.get(value) == setting.get(value) else YOURS


def _table(
    setting: Mapping[Any, Any], default: Mapping[Any, Any], source: str, what: Callable[[Any], str]
) -> Callable[[tuple[Any, ...]], Reading | None]:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        code = value[0]
        if code in setting:
            return mapped(what(setting[code]), _source(code, setting, default, source))
        return None

    return explain


def _columns(env: LogoEnv) -> dict[str, CodeColumn]:
    kinds, invoice_kinds = env.invoice_kinds, codes.INVOICE_KINDS

    def invoice(value: tuple[Any, ...]) -> Reading | None:
        code = value[0]
        if code in kinds:
            return mapped(f"invoice, kind {kinds[code]}", _source(code, kinds, invoice_kinds, codes.LDDS_CODES))
        if code in codes.INVOICE_EXCLUDED:
            return excluded(codes.INVOICE_EXCLUDED[code] + " (the feed carries sales)", codes.LDDS_CODES)
        return None

    methods, default_methods = env.collection_codes, codes.parse_collection_codes(codes.DEFAULT_COLLECTION_CODES)

    def movement(value: tuple[Any, ...]) -> Reading | None:
        module, trcode, sign = value
        if module == codes.CLFLINE_INVOICE_MODULE:
            return excluded("invoice posting: the invoices stream carries the invoice", codes.LDDS_CODES)
        pair = (module, trcode)
        if sign == 1 and pair in methods:
            source = _source(pair, methods, default_methods, codes.LDDS_CODES)
            return mapped(f"collection, method {methods[pair]}", source)
        if pair in codes.CLFLINE_OTHER:
            return excluded(codes.CLFLINE_OTHER[pair], codes.LDDS_CODES)
        if sign == 0:
            # A debit on the account: the dealer owes more. Collections are credits (SIGN 1) only.
            return excluded("a debit (SIGN 0): not money received", codes.LDDS)
        return None

    ledger_defaults = codes.parse_pairs(codes.DEFAULT_LEDGER_KINDS, "ledger_kinds")

    def ledger(value: tuple[Any, ...]) -> Reading | None:
        module, trcode = value
        kind, setting = ledger_kind(env, module, trcode, credit=True)
        if setting == "invoice_kinds":
            code = trcode - codes.CLFLINE_INVOICE_TRCODE_OFFSET
            return mapped(
                f"ledger entry, kind {kind} (by invoice_kinds)", _source(code, kinds, invoice_kinds, codes.LDDS_CODES)
            )
        pair = (module, trcode)
        if setting == "collection_codes":
            source = _source(pair, methods, default_methods, codes.LDDS_CODES)
            return mapped("ledger entry, kind collection (a debit: payment) (by collection_codes)", source)
        if setting == "ledger_kinds":
            return mapped(f"ledger entry, kind {kind}", _source(pair, env.ledger_kinds, ledger_defaults, codes.LEDGER))
        return None  # sent as kind 'other': name it in ledger_kinds

    def stock(value: tuple[Any, ...]) -> Reading | None:
        """STLINE.TRCODE x IOCODE of a goods line, with its invoice's TRCODE (None: a slip's line)."""
        trcode, iocode, invoice_trcode = value
        kind, setting = movement_kind(env, trcode, invoice_trcode)
        if isinstance(kind, Excluded):
            # That such a line moves no goods is dealersync's reading (LDDS_CODES names the invoices only).
            source = UNCONFIRMED
            if setting == "goods_free_invoices" and env.goods_free_invoices != frozenset(codes.GOODS_FREE_INVOICES):
                source = YOURS
            return excluded(kind.rule, source)
        if setting is None:
            return None  # sent as kind 'other' with its erp_kind: name it in movement_kinds
        if kind == "transfer":
            way = "out of SOURCEINDEX and into DESTINDEX (two movements)"
        else:
            direction = env.movement_directions.get(iocode)
            if direction is None:
                return None  # a dead letter naming the IOCODE: map it in movement_directions
            yours = codes.MOVEMENT_DIRECTIONS.get(iocode) != direction
            way = direction + (" (IOCODE by your settings)" if yours else "")
        if setting == "invoice_kinds":
            source = _source(invoice_trcode, kinds, invoice_kinds, codes.STOCK_REFERENCE)
            invoice = "return" if kind == "sale_return" else "sale"
            return mapped(f"stock movement, kind {kind}, {way} (a line of a {invoice} invoice)", source)
        origin = codes.MOVEMENT_SOURCES.get(trcode, UNCONFIRMED)
        source = _source(trcode, env.movement_kinds, codes.DEFAULT_MOVEMENT_KINDS, origin)
        return mapped(f"stock movement, kind {kind}, {way}", source)

    def status(value: tuple[Any, ...]) -> Reading | None:
        code = value[0]
        found = env.order_statuses.get(code)
        if found is None:
            return None
        return mapped(
            f"order status {found} (unless cancelled, or closed by its lines)",
            _source(code, env.order_statuses, codes.ORDER_STATUSES, codes.LDDS_CODES),
        )

    def order_kind(value: tuple[Any, ...]) -> Reading | None:
        code = value[0]
        if code in env.sales_order_trcodes:
            return mapped("sales order", codes.LDDS if code in codes.SALES_ORDER_TRCODES else YOURS)
        if code == codes.PURCHASE_ORDER_TRCODE:
            return excluded("purchase order", codes.LDDS)
        return None

    def currency(value: tuple[Any, ...]) -> Reading | None:
        code = value[0] or 0
        iso = env.currencies.get(code)
        if iso is None:
            return None
        source = codes.LDDS_CODES if code == 0 or codes.DEFAULT_CURRENCY_CODES.get(code) == iso else YOURS
        return mapped(f"currency {iso}" + (" (the firm's local currency)" if code == 0 else ""), source)

    def blocked(value: tuple[Any, ...]) -> Reading | None:
        source = codes.LDDS if env.blocked_value == codes.BLOCKED_MEANS else YOURS
        return mapped("blocked" if value[0] == env.blocked_value else "not blocked", source)

    def item(value: tuple[Any, ...]) -> Reading | None:
        code = value[0]
        if code in codes.ITEM_CLASS_CARDTYPES:
            return excluded("material class, not goods", "ERP reference (section 1)")
        return mapped(f"product ({codes.ITEM_CARDTYPES.get(code, 'card type ' + str(code))})", UNCONFIRMED)

    return {
        "INVOICE.TRCODE": CodeColumn("INVOICE.TRCODE", "invoices", "invoice_kinds", "NETTOTAL, local", invoice),
        "INVOICE.TRCURR": CodeColumn("INVOICE.TRCURR", "invoices", "currency_codes", "NETTOTAL, local", currency),
        "STLINE.LINETYPE": CodeColumn(
            "STLINE.LINETYPE",
            "invoices",
            "line_kinds",
            "LINENET, local",
            _table(env.line_kinds, codes.LINE_KINDS, codes.LDDS_CODES, lambda k: f"line kind {k}"),
        ),
        "CLFLINE": CodeColumn(
            "CLFLINE.MODULENR x TRCODE x SIGN", "collections", "collection_codes", "AMOUNT, local", movement
        ),
        "CLFLINE ledger": CodeColumn(
            "CLFLINE.MODULENR x TRCODE", "account_ledger", "ledger_kinds", "AMOUNT, local", ledger
        ),
        "STLINE stock": CodeColumn(
            "STLINE.TRCODE x IOCODE x INVOICE.TRCODE", "stock_movements", "movement_kinds", "", stock
        ),
        "ORFICHE.TRCODE": CodeColumn("ORFICHE.TRCODE", "orders", "sales_order_trcodes", "NETTOTAL, local", order_kind),
        "ORFICHE.STATUS": CodeColumn("ORFICHE.STATUS", "orders", "order_statuses", "NETTOTAL, local", status),
        "ORFLINE.LINETYPE": CodeColumn(
            "ORFLINE.LINETYPE",
            "orders",
            "line_kinds",
            "LINENET, local",
            _table(env.line_kinds, codes.LINE_KINDS, codes.LDDS_CODES, lambda k: f"line kind {k}"),
        ),
        "CLCARD.CARDTYPE": CodeColumn(
            "CLCARD.CARDTYPE",
            "accounts",
            "account_kinds",
            "",
            _table(env.account_kinds, codes.ACCOUNT_KINDS, codes.LDDS_CODES, lambda k: f"account kind {k}"),
        ),
        "CLCARD.BLOCKED": CodeColumn("CLCARD.BLOCKED", "accounts", "blocked_means", "", blocked),
        "ITEMS.CARDTYPE": CodeColumn("ITEMS.CARDTYPE", "products", "(built in)", "", item),
    }


def census(env: LogoEnv, since: dt.date | None) -> list[CodeCount]:
    """The census of every configured period (documents dated `since` or later) and of the firm's cards."""
    columns = _columns(env)
    day = None if since is None else dt.datetime(since.year, since.month, since.day)
    counts: dict[tuple[str, tuple[Any, ...]], CodeCount] = {}
    with env.engine.connect() as conn:
        first = env.periods[0]
        found: list[CodeCount] = [
            *count_codes(conn, columns["CLCARD.CARDTYPE"], [first.CLCARD.c.CARDTYPE], None, first.CLCARD),
            *count_codes(conn, columns["CLCARD.BLOCKED"], [first.CLCARD.c.BLOCKED], None, first.CLCARD),
            *count_codes(conn, columns["ITEMS.CARDTYPE"], [first.ITEMS.c.CARDTYPE], None, first.ITEMS),
        ]
        for t in env.periods:
            found.extend(_period(conn, t, columns, env, day))
    for count in found:
        key = (count.column.name, count.value)
        seen = counts.get(key)
        if seen is None:
            counts[key] = count
        else:  # the same value in several periods: one line
            money = None if seen.money is None and count.money is None else (seen.money or 0) + (count.money or 0)
            counts[key] = CodeCount(count.column, count.value, seen.rows + count.rows, money)
    return list(counts.values())


def _period(
    conn: sa.Connection, t: LogoTables, columns: Mapping[str, CodeColumn], env: LogoEnv, day: dt.datetime | None
) -> Iterable[CodeCount]:
    i, s, c, o, ol = t.INVOICE.c, t.STLINE.c, t.CLFLINE.c, t.ORFICHE.c, t.ORFLINE.c

    def within(date: sa.ColumnElement[Any], *more: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        return sa.and_(sa.true() if day is None else date >= day, *more)

    # Currencies, line kinds and statuses matter on the documents the streams read: sales invoices and orders.
    sales = i.TRCODE.in_(sorted(env.invoice_kinds))
    orders = o.TRCODE.in_(env.sales_order_trcodes)
    yield from count_codes(conn, columns["INVOICE.TRCODE"], [i.TRCODE], i.NETTOTAL, t.INVOICE, within(i.DATE_))
    yield from count_codes(conn, columns["INVOICE.TRCURR"], [i.TRCURR], i.NETTOTAL, t.INVOICE, within(i.DATE_, sales))
    lines = t.STLINE.join(t.INVOICE, i.LOGICALREF == s.INVOICEREF)
    yield from count_codes(conn, columns["STLINE.LINETYPE"], [s.LINETYPE], s.LINENET, lines, within(i.DATE_, sales))
    yield from count_codes(
        conn, columns["CLFLINE"], [c.MODULENR, c.TRCODE, c.SIGN], c.AMOUNT, t.CLFLINE, within(c.DATE_)
    )
    yield from count_codes(
        conn, columns["CLFLINE ledger"], [c.MODULENR, c.TRCODE], c.AMOUNT, t.CLFLINE, within(c.DATE_)
    )
    # Stock movements: every goods line (the stream's LINETYPE filter), a slip's dated by its own DATE_.
    goods = [k for k, kind in env.line_kinds.items() if kind not in GOODS]
    stock_lines = t.STLINE.outerjoin(t.INVOICE, i.LOGICALREF == s.INVOICEREF)
    yield from count_codes(
        conn,
        columns["STLINE stock"],
        [s.TRCODE, s.IOCODE, i.TRCODE],
        None,
        stock_lines,
        within(s.DATE_, sa.or_(s.LINETYPE.is_(None), s.LINETYPE.notin_(goods))),
    )
    yield from count_codes(conn, columns["ORFICHE.TRCODE"], [o.TRCODE], o.NETTOTAL, t.ORFICHE, within(o.DATE_))
    yield from count_codes(conn, columns["ORFICHE.STATUS"], [o.STATUS], o.NETTOTAL, t.ORFICHE, within(o.DATE_, orders))
    order_lines = t.ORFLINE.join(t.ORFICHE, o.LOGICALREF == ol.ORDFICHEREF)
    yield from count_codes(
        conn, columns["ORFLINE.LINETYPE"], [ol.LINETYPE], ol.LINENET, order_lines, within(o.DATE_, orders)
    )
