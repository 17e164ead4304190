"""The code census of a Netsis company: every code value the streams interpret, with rows, money and reading.

Each `Census` is one code column (or a combination read together) as a stream reads it: the same
tables, the same filter, the money it carries in local currency. The readings come from the
effective settings (every mapping is one), with the source that confirms each: the vendor's
documentation, a production query, "your settings", or UNCONFIRMED. Documents and ledger rows are
counted in every database; cards in the master database, where they are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.census import UNCONFIRMED, CodeColumn, CodeCount, Reading, count_codes, excluded, mapped
from connectors.netsis import codes, collections, ledger, stock
from connectors.netsis.scopes import Database, NetsisEnv
from connectors.netsis.settings import NetsisSettings

__all__ = ["Census", "census", "census_statements", "specs"]

_RETURN_LINES, _NO_RETURN_LINES = "return lines", "no return lines"
_CREDIT, _DEBIT = "ALACAK", "BORC"


@dataclass(frozen=True)
class Census:
    column: CodeColumn
    codes: Sequence[sa.ColumnElement[Any]]
    money: sa.ColumnElement[Any] | None
    from_: sa.FromClause
    where: sa.ColumnElement[bool] | None
    day: sa.ColumnElement[Any] | None  # the document date `since` applies to; None: cards, counted whole
    cards: bool = False  # counted in the master database only

    def counted(self, since: dt.date | None) -> sa.Subquery:
        """The rows to count, as a derived table: SQL Server groups by no subquery (the invoices' EXISTS), so
        count_codes groups this table's plain columns."""
        parts = [c.label(f"code{i}") for i, c in enumerate(self.codes)]
        if self.money is not None:
            parts.append(self.money.label("money"))
        stmt = sa.select(*parts).select_from(self.from_)
        if self.where is not None:
            stmt = stmt.where(self.where)
        if since is not None and self.day is not None:
            stmt = stmt.where(self.day >= dt.datetime.combine(since, dt.time()))
        return stmt.subquery("counted")

    def statement(self) -> sa.Select[Any]:
        """The columns the census reads, as check proves them."""
        parts = [*self.codes, *(c for c in (self.money, self.day) if c is not None)]
        stmt = sa.select(*parts).select_from(self.from_)
        return stmt if self.where is None else stmt.where(self.where)


def _source(settings: NetsisSettings, setting: str, default: str = UNCONFIRMED) -> str:
    return codes.default_source(settings.given(setting), default)


def _ftirsip(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _invoice_kinds(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    returns = settings.return_line_code
    source = _source(settings, "return_line_code", codes.HTUR_SOURCE)

    def explain(value: tuple[Any, ...]) -> Reading | None:
        kind, lines = _ftirsip(value[0]), value[1]
        with_returns = lines == _RETURN_LINES
        if kind == codes.SALES_INVOICE:
            if with_returns:
                return excluded(f"purchase return (a sales-invoice document with {returns} lines)", source)
            return mapped("sales invoice: kind sale, service or price_difference (TIPI)", codes.VENDOR_FTIRSIP)
        if kind == codes.PURCHASE_INVOICE:
            if with_returns:
                return mapped(f"sales return (a purchase-side document with {returns} lines): kind return", source)
            return excluded("purchase invoice: the feed carries sales only", codes.VENDOR_FTIRSIP)
        name = codes.FTIRSIP_NAMES.get(kind or "")
        return None if name is None else excluded(f"{name}: not an invoice", codes.VENDOR_FTIRSIP)

    return explain


def _line_kinds(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    returns = settings.return_line_code
    source = _source(settings, "return_line_code", codes.HTUR_SOURCE)

    def explain(value: tuple[Any, ...]) -> Reading | None:
        kind, htur = _ftirsip(value[0]), _ftirsip(value[1])
        if htur == returns:
            if kind == codes.PURCHASE_INVOICE:
                return mapped("a sales return's line", source)
            return excluded("a purchase return's line", source)
        plain = "" if htur == codes.HTUR_INVOICE else f" (STHAR_HTUR {htur} is not interpreted)"
        why = codes.HTUR_INVOICE_SOURCE if htur == codes.HTUR_INVOICE else UNCONFIRMED
        if kind == codes.SALES_INVOICE:
            return mapped(f"a sales invoice's line{plain}", why)
        return excluded(f"a purchase invoice's line{plain}, or a sales return's beside {returns} lines", why)

    return explain


def _tipis(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        tipi = settings.invoice_tipis.get(value[0])
        if tipi is None:
            return None
        source = _source(settings, "invoice_tipis", codes.TIPI_SOURCES.get(value[0], UNCONFIRMED))
        if tipi == "price_difference":
            return mapped("invoice kind price_difference", source)
        return mapped("invoice kind sale or service, by its lines", source)

    return explain


def _currencies(env: NetsisEnv) -> Callable[[tuple[Any, ...]], Reading | None]:
    settings = env.settings

    def explain(value: tuple[Any, ...]) -> Reading | None:
        number = value[0]
        if not number:
            return mapped(f"{settings.local_currency} (the local currency)", codes.LOCAL_ZERO)
        iso = settings.currency_codes.get(number)
        return None if iso is None else mapped(iso, _source(settings, "currency_codes", codes.CURRENCY_SOURCE))

    return explain


def _ledger(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        letter, side = _ftirsip(value[0]) or "", value[1]
        if side == _CREDIT:
            method = settings.collection_kinds.get(letter)
            if method is not None:
                return mapped(f"collection, method {method}", _source(settings, "collection_kinds"))
            why = settings.credits_left_out.get(letter)
            source = _source(settings, "credits_left_out", codes.LEDGER_SOURCES.get((letter, _CREDIT), UNCONFIRMED))
            return None if why is None else excluded(why, source)
        method = settings.debit_reversals.get(letter)
        if method is not None:
            reading = f"collection reversed: a negative collection, method {method}"
            return mapped(reading, _source(settings, "debit_reversals"))
        why = settings.debits_left_out.get(letter)
        source = _source(settings, "debits_left_out", codes.LEDGER_SOURCES.get((letter, _DEBIT), UNCONFIRMED))
        return None if why is None else excluded(f"a debit: {why}", source)

    return explain


def _ledger_kinds(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    def explain(value: tuple[Any, ...]) -> Reading | None:
        letter, side = _ftirsip(value[0]) or "", value[1]
        credit = side == _CREDIT
        kind, method = ledger.ledger_kind(settings, letter, credit)
        if kind == "collection":
            return mapped(f"ledger kind collection ({method})", _source(settings, "collection_kinds"))
        if kind == "cheque_return":
            return mapped(f"ledger kind cheque_return ({method} bounced)", _source(settings, "debit_reversals"))
        setting = "ledger_credits" if credit else "ledger_debits"
        if letter not in getattr(settings, setting):
            return None  # kind other, with no reading: check warns where it carries money
        source = _source(settings, setting, codes.LEDGER_SOURCES.get((letter, side), UNCONFIRMED))
        return mapped(f"ledger kind {kind}", source)

    return explain


def _movements(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    """TBLSTHAR rows as stock_movements reads them: the kind of STHAR_HTUR on its STHAR_FTIRSIP, the direction of
    STHAR_GCKOD. A kind no entry reads (sent as other) or a direction that is neither G nor C has no reading."""

    def explain(value: tuple[Any, ...]) -> Reading | None:
        htur, ftirsip, gckod = (_ftirsip(v) or "" for v in value)
        direction = codes.MOVEMENT_DIRECTIONS.get(gckod)
        kind = stock.movement_kind(settings, htur, ftirsip)
        if direction is None or kind is None:
            return None
        key = f"{htur}:{ftirsip}" if f"{htur}:{ftirsip}" in settings.movement_kinds else htur
        return mapped(
            f"kind {kind}, {direction}",
            _source(settings, "movement_kinds", codes.MOVEMENT_SOURCES.get(key, UNCONFIRMED)),
        )

    return explain


def _table(
    table: Mapping[str, str], setting: str, settings: NetsisSettings, what: str, sources: Mapping[str, str]
) -> Callable[[tuple[Any, ...]], Reading | None]:
    """`explain` for a one-letter code mapped by a dict setting."""

    def explain(value: tuple[Any, ...]) -> Reading | None:
        code = _ftirsip(value[0]) or ""
        hit = table.get(code)
        if hit is None:
            return None
        return mapped(f"{what} {hit}", _source(settings, setting, sources.get(code, UNCONFIRMED)))

    return explain


def _price_sides(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    """TBLSTOKFIAT.A_S: the sales side is what price_lists reads; the purchase side is left out."""
    source = _source(settings, "sales_price_side", codes.PRICE_SIDE_SOURCE)

    def explain(value: tuple[Any, ...]) -> Reading | None:
        side = _ftirsip(value[0])
        if side == settings.sales_price_side:
            return mapped("sales price: a price list entry", source)
        if side == codes.PURCHASE_PRICE:
            return excluded("purchase price", source)
        return None

    return explain


def _price_units(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    source = _source(settings, "price_units", codes.PRICE_UNIT_SOURCE)

    def explain(value: tuple[Any, ...]) -> Reading | None:
        column = None if value[0] is None else settings.price_units.get(value[0])
        return None if column is None else mapped(f"the card's unit {column}", source)

    return explain


_NO_GROUP, _ACCOUNT_GROUP, _OTHER_GROUP = "no price group", "an account code", "another price group"


def _price_groups(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    """TBLSTOKFIAT.FIYATGRUBU, by what it names: an account code is a dealer's own price (dealer_price_groups)."""
    source = _source(settings, "dealer_price_groups")

    def explain(value: tuple[Any, ...]) -> Reading | None:
        if value[0] == _ACCOUNT_GROUP and settings.dealer_price_groups:
            return excluded("a dealer's own price", source)
        return mapped("a price list entry", source) if value[0] is not None else None

    return explain


def _orders(value: tuple[Any, ...]) -> Reading | None:
    kind = _ftirsip(value[0])
    if kind == codes.CUSTOMER_ORDER:
        return mapped("customer order", codes.VENDOR_FTIRSIP)
    name = codes.FTIRSIP_NAMES.get(kind or "")
    return None if name is None else excluded(f"{name}: not a customer order", codes.VENDOR_FTIRSIP)


def _order_lines(settings: NetsisSettings) -> Callable[[tuple[Any, ...]], Reading | None]:
    closed = settings.closed_line_code

    def explain(value: tuple[Any, ...]) -> Reading | None:
        if _ftirsip(value[0]) == closed:
            return mapped("closed line", _source(settings, "closed_line_code", "1 src: integrators exclude K lines"))
        return mapped("open line (its quantity still to ship)", UNCONFIRMED)

    return explain


def specs(env: NetsisEnv, has_return_lines: sa.ColumnElement[bool]) -> list[Census]:
    """Every code column the streams interpret. `has_return_lines`: the invoices stream's own test."""
    s, t = env.settings, env.tables
    h, ln, o, ol, c = t.FATUIRS.c, t.STHAR.c, t.SIPAMAS.c, t.SIPATRA.c, t.CAHAR.c
    local = f"local currency ({s.local_currency})"
    invoice_kinds = (codes.SALES_INVOICE, codes.PURCHASE_INVOICE)
    sales = sa.or_(
        sa.and_(h.FTIRSIP == codes.SALES_INVOICE, ~has_return_lines),
        sa.and_(h.FTIRSIP == codes.PURCHASE_INVOICE, has_return_lines),
    )
    line_money = ln.STHAR_GCMIK * sa.func.coalesce(sa.func.nullif(ln.STHAR_NF, 0), ln.STHAR_BF)
    order_line_money = ol.STHAR_GCMIK * sa.func.coalesce(sa.func.nullif(ol.STHAR_NF, 0), ol.STHAR_BF)
    credit = collections.credit(t.CAHAR)
    currencies = _currencies(env)

    def column(name: str, stream: str, setting: str, money: str, explain: Any) -> CodeColumn:
        return CodeColumn(name, stream, setting, money, explain)

    return [
        Census(
            column(
                "TBLFATUIRS.FTIRSIP x its lines' STHAR_HTUR",
                "invoices",
                "return_line_code",
                f"GENELTOPLAM, {local}",
                _invoice_kinds(s),
            ),
            [h.FTIRSIP, sa.case((has_return_lines, _RETURN_LINES), else_=_NO_RETURN_LINES)],
            h.GENELTOPLAM,
            t.FATUIRS,
            None,
            h.TARIH,
        ),
        Census(
            column(
                "TBLSTHAR.STHAR_FTIRSIP x STHAR_HTUR x STHAR_GCKOD",
                "invoices",
                "return_line_code",
                f"STHAR_GCMIK x STHAR_NF (else STHAR_BF), {local}",
                _line_kinds(s),
            ),
            [ln.STHAR_FTIRSIP, ln.STHAR_HTUR, ln.STHAR_GCKOD],
            line_money,
            t.STHAR,
            ln.STHAR_FTIRSIP.in_(invoice_kinds),
            ln.STHAR_TARIH,
        ),
        Census(
            column("TBLFATUIRS.TIPI", "invoices", "invoice_tipis", f"GENELTOPLAM, {local}", _tipis(s)),
            [h.TIPI],
            h.GENELTOPLAM,
            t.FATUIRS,
            sa.and_(h.FTIRSIP == codes.SALES_INVOICE, ~has_return_lines),
            h.TARIH,
        ),
        Census(
            column("TBLFATUIRS.DOVIZTIP", "invoices", "currency_codes", f"GENELTOPLAM, {local}", currencies),
            [h.DOVIZTIP],
            h.GENELTOPLAM,
            t.FATUIRS,
            sales,
            h.TARIH,
        ),
        Census(
            column("TBLSTHAR.STHAR_DOVTIP", "invoices", "currency_codes", f"line amount, {local}", currencies),
            [ln.STHAR_DOVTIP],
            line_money,
            t.STHAR,
            ln.STHAR_FTIRSIP.in_(invoice_kinds),
            ln.STHAR_TARIH,
        ),
        Census(
            column("TBLSIPAMAS.FTIRSIP", "orders", "(none: the vendor's list)", f"GENELTOPLAM, {local}", _orders),
            [o.FTIRSIP],
            o.GENELTOPLAM,
            t.SIPAMAS,
            None,
            o.TARIH,
        ),
        Census(
            column(
                "TBLSIPAMAS.ONAYTIPI",
                "orders",
                "order_statuses",
                f"GENELTOPLAM, {local}",
                _table(s.order_statuses, "order_statuses", s, "status", {}),
            ),
            [o.ONAYTIPI],
            o.GENELTOPLAM,
            t.SIPAMAS,
            o.FTIRSIP == codes.CUSTOMER_ORDER,
            o.TARIH,
        ),
        Census(
            column("TBLSIPAMAS.DOVIZTIP", "orders", "currency_codes", f"GENELTOPLAM, {local}", currencies),
            [o.DOVIZTIP],
            o.GENELTOPLAM,
            t.SIPAMAS,
            o.FTIRSIP == codes.CUSTOMER_ORDER,
            o.TARIH,
        ),
        Census(
            column(
                "TBLSIPATRA.STHAR_HTUR",
                "orders",
                "closed_line_code",
                f"STHAR_GCMIK x STHAR_NF (else STHAR_BF), {local}",
                _order_lines(s),
            ),
            [ol.STHAR_HTUR],
            order_line_money,
            t.SIPATRA,
            ol.STHAR_FTIRSIP == codes.CUSTOMER_ORDER,
            ol.STHAR_TARIH,
        ),
        Census(
            column(
                "TBLCAHAR.HAREKET_TURU x side",
                "collections",
                "collection_kinds, credits_left_out, debit_reversals, debits_left_out",
                f"ALACAK (credit) or BORC (debit), {local}",
                _ledger(s),
            ),
            [c.HAREKET_TURU, sa.case((credit, _CREDIT), else_=_DEBIT)],
            sa.case((credit, c.ALACAK), else_=c.BORC),
            t.CAHAR,
            None,
            c.TARIH,
        ),
        Census(
            column(
                "TBLCAHAR.DOVIZ_TURU",
                "collections",
                "currency_codes",
                f"ALACAK (collections) or BORC (reversals), {local}",
                currencies,
            ),
            [c.DOVIZ_TURU],
            sa.case((credit, c.ALACAK), else_=c.BORC),
            t.CAHAR,
            collections.collected(t.CAHAR, s),
            c.TARIH,
        ),
        Census(
            column(
                "TBLCAHAR.HAREKET_TURU x side, every movement",
                "account_ledger",
                "collection_kinds, debit_reversals, ledger_debits, ledger_credits",
                f"ALACAK (credit) or BORC (debit), {local}",
                _ledger_kinds(s),
            ),
            [c.HAREKET_TURU, sa.case((credit, _CREDIT), else_=_DEBIT)],
            sa.case((credit, c.ALACAK), else_=c.BORC),
            t.CAHAR,
            None,
            c.TARIH,
        ),
        Census(
            column(
                "TBLCAHAR.DOVIZ_TURU, every movement",
                "account_ledger",
                "currency_codes",
                f"ALACAK (credit) or BORC (debit), {local}",
                currencies,
            ),
            [c.DOVIZ_TURU],
            sa.case((credit, c.ALACAK), else_=c.BORC),
            t.CAHAR,
            None,
            c.TARIH,
        ),
        Census(
            column(
                "TBLSTHAR.STHAR_HTUR x STHAR_FTIRSIP x STHAR_GCKOD, every movement",
                "stock_movements",
                "movement_kinds",
                "",
                _movements(s),
            ),
            [ln.STHAR_HTUR, ln.STHAR_FTIRSIP, ln.STHAR_GCKOD],
            None,
            t.STHAR,
            None,
            ln.STHAR_TARIH,
        ),
        Census(
            column(
                "TBLCASABIT.CARI_TIP",
                "accounts",
                "account_kinds",
                "",
                _table(s.account_kinds, "account_kinds", s, "account kind", codes.ACCOUNT_KIND_SOURCES),
            ),
            [t.CASABIT.c.CARI_TIP],
            None,
            t.CASABIT,
            None,
            None,
            cards=True,
        ),
        Census(
            column("TBLCASABIT.DOVIZ_TIPI", "accounts", "currency_codes", "", currencies),
            [t.CASABIT.c.DOVIZ_TIPI],
            None,
            t.CASABIT,
            None,
            None,
            cards=True,
        ),
        Census(
            column(
                "TBLKOSULMAS.ISKONTO_TIPI",
                "discounts",
                "discount_kinds",
                "",
                _table(s.discount_kinds, "discount_kinds", s, "discount kind", {}),
            ),
            [t.KOSULMAS.c.ISKONTO_TIPI],
            None,
            t.KOSULMAS,
            None,
            None,
            cards=True,
        ),
        Census(
            column("TBLSTOKFIAT.A_S", "price_lists", "sales_price_side", "", _price_sides(s)),
            [t.STOKFIAT.c.A_S],
            None,
            t.STOKFIAT,
            None,
            None,
            cards=True,
        ),
        Census(
            column("TBLSTOKFIAT.FIYATGRUBU", "price_lists", "dealer_price_groups", "", _price_groups(s)),
            [
                sa.case(
                    (sa.func.coalesce(sa.func.trim(t.STOKFIAT.c.FIYATGRUBU), "") == "", _NO_GROUP),
                    (t.CASABIT.c.CARI_KOD.is_not(None), _ACCOUNT_GROUP),
                    else_=_OTHER_GROUP,
                )
            ],
            None,
            t.STOKFIAT.outerjoin(t.CASABIT, t.CASABIT.c.CARI_KOD == t.STOKFIAT.c.FIYATGRUBU),
            s.sales_price_side == t.STOKFIAT.c.A_S,
            None,
            cards=True,
        ),
        Census(
            column("TBLSTOKFIAT.OLCUBR", "price_lists", "price_units", "", _price_units(s)),
            [t.STOKFIAT.c.OLCUBR],
            None,
            t.STOKFIAT,
            s.sales_price_side == t.STOKFIAT.c.A_S,
            None,
            cards=True,
        ),
        Census(
            column("TBLSTOKFIAT.FIYATDOVIZTIPI", "price_lists", "currency_codes", "", currencies),
            [t.STOKFIAT.c.FIYATDOVIZTIPI],
            None,
            t.STOKFIAT,
            s.sales_price_side == t.STOKFIAT.c.A_S,
            None,
            cards=True,
        ),
    ]


def census_statements(all_specs: Iterable[Census]) -> dict[str, list[sa.Select[Any]]]:
    """The census's statements by the stream whose codes they count, for check to prove their columns."""
    out: dict[str, list[sa.Select[Any]]] = {}
    for spec in all_specs:
        out.setdefault(spec.column.stream, []).append(spec.statement())
    return out


def census(
    env: NetsisEnv, all_specs: Iterable[Census], streams: Iterable[str], since: dt.date | None
) -> list[CodeCount]:
    """The census of the streams named, summed over the databases that hold their rows."""
    wanted = set(streams)
    found: dict[tuple[str, tuple[Any, ...]], CodeCount] = {}
    for spec in all_specs:
        if spec.column.stream not in wanted:
            continue
        dbs: Sequence[Database] = (env.master,) if spec.cards else env.databases
        counted = spec.counted(since)
        codes_, money = [counted.c[f"code{i}"] for i in range(len(spec.codes))], counted.c.get("money")
        for db in dbs:
            with db.engine.connect() as conn:
                counts = count_codes(conn, spec.column, codes_, money, counted)
            for count in counts:
                key = (spec.column.name, count.value)
                seen = found.get(key)
                found[key] = count if seen is None else _sum(seen, count)
    return list(found.values())


def _sum(a: CodeCount, b: CodeCount) -> CodeCount:
    money: Decimal | None = None
    if a.money is not None or b.money is not None:
        money = (a.money or Decimal("0.00")) + (b.money or Decimal("0.00"))
    return CodeCount(a.column, a.value, a.rows + b.rows, money)
