"""Risk limits, a snapshot: the limit from the integrator's view (Mikro keeps no limit column), exposure from
the account's movements, its open sales orders and its cheques and notes still in the portfolio.

Every document counts at the local figure the feed gives it: an invoice at its totals_local.total
(converted at document level, as the invoices stream does), an order at its open local total, any
other movement at its amount times its rate. So the balance a dealer sees here adds up with the
invoices and collections the feed carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Excluded, Partition
from connectors.mikro import codes
from connectors.mikro.money import DocMoney
from connectors.mikro.movements import DISCOUNTS, VAT
from connectors.mikro.readings import debits
from connectors.mikro.snapshots import Snapshot
from connectors.mikro.streams import bit, not_set
from connectors.sql import for_refs, keyset_chunks
from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import RiskLimit, Totals
from mapping.text import required_code

__all__ = ["RiskLimits"]

_ZERO = Decimal("0.00")
Figures = dict[str, Decimal]


class _Doc:
    """A document's rows summed in its own currency before it is converted once."""

    __slots__ = ("cins", "discount", "gross", "invoice", "kur", "tip", "total", "vat")

    def __init__(self, cins: Any, kur: Any, tip: Any, invoice: bool) -> None:
        """`tip`: a movement document's cha_tip (read when its sign is needed; None for an order)."""
        self.cins, self.kur, self.tip, self.invoice = cins, kur, tip, invoice
        self.gross = self.discount = self.vat = self.total = _ZERO

    def add(self, money: DocMoney, gross: Any, discount: Any, vat: Any, total: Any = None) -> None:
        """A row's figures; `total` None: a line that states no total (an order's), net + VAT."""
        g, d, v = money.doc(gross, "open_balance"), money.doc(discount, "open_balance"), money.doc(vat, "open_balance")
        self.gross += g
        self.discount += d
        self.vat += v
        self.total += g - d + v if total is None else money.doc(total, "open_balance")

    def totals(self) -> Totals:
        net = self.gross - self.discount
        return Totals(gross=self.gross, discount=self.discount, net=net, vat=self.vat, total=self.total)


def _failed(out: dict[Any, Any], code: Any, step: Callable[[], None]) -> None:
    """Run one row's step of an account's figure; a RecordError (a NULL amount, an unknown currency) is kept as
    the account's, so that account alone becomes a dead letter and the read goes on."""
    if isinstance(out.get(code), RecordError):
        return
    try:
        step()
    except RecordError as exc:
        out[code] = exc


def _live(cancelled: Any, hidden: Any, field: str) -> None:
    """A row read by `not_set` filters: a NULL flag makes its account's record a dead letter."""
    if cancelled is None or hidden is None:
        raise RecordError("a row of the account has a NULL cancelled or hidden flag (iptal, hidden)", field)


def _in_portfolio(r: Any) -> None:
    _live(r.sck_iptal, r.sck_hidden, "uncashed_cheques")
    if r.sck_sonpoz is None:
        raise RecordError("a cheque or note of the account has a NULL position (sck_sonpoz)", "uncashed_cheques")


def _sign(tip: Any) -> int:
    """+1 for a debit of the account, -1 for a credit; a cha_tip that is neither makes the account a dead letter."""
    return 1 if debits(tip, "open_balance") else -1


def _paper(money: DocMoney, amount: Any) -> Decimal:
    return money.amount_local(money.doc(amount, "uncashed_cheques"), "uncashed_cheques")


def _add(out: dict[Any, Any], code: Any, value: Callable[[], Decimal]) -> None:
    """Add to an account's figure; an amount that cannot be converted makes the account's record a dead letter."""
    if isinstance(out.get(code), RecordError):
        return
    try:
        out[code] = out.get(code, _ZERO) + value()
    except RecordError as exc:
        out[code] = exc


class RiskLimits(Snapshot):
    """Limits from the credit-limit view (see README), balance from CARI_HESAP_HAREKETLERI, open
    orders from SIPARISLER, customer cheques and notes still in the portfolio from ODEME_EMIRLERI."""

    name = "risk_limits"
    primary_key = ("account_code",)
    prefix = "cari"

    def table(self) -> sa.Table:
        return self.env.tables.RISK

    def limits(self) -> sa.Select[Any]:
        t = self.env.tables
        r, c = t.RISK.c, t.CARI_HESAPLAR.c
        # The live account (or one whose flags are NULL: a dead letter) is outer-joined, and whether the code names
        # any account at all is asked apart: one row per limit, where an outer join on the code alone would give
        # a second row for a cancelled or hidden namesake. No live account: a cancelled or hidden one makes a
        # named exclusion, none a dead letter; an inner join dropped both unseen.
        any_account = t.CARI_HESAPLAR.alias("ANY_ACCOUNT")
        return sa.select(
            r.cari_kod,
            r.risk_limiti,
            r.teminat,
            c.cari_kod.label("ACCOUNT"),
            # CASE: SQL Server takes EXISTS in a condition only, never as a column.
            sa.case((sa.exists().where(any_account.c.cari_kod == r.cari_kod), 1), else_=0).label("KNOWN"),
            c.cari_iptal,
            c.cari_hidden,
            c.cari_cari_kilitli_flg,
        ).select_from(
            t.RISK.outerjoin(
                t.CARI_HESAPLAR, sa.and_(c.cari_kod == r.cari_kod, not_set(c.cari_iptal), not_set(c.cari_hidden))
            )
        )

    def movements(self) -> sa.Select[Any]:
        h = self.env.tables.CARI_HESAP_HAREKETLERI.c
        return sa.select(
            h.cha_kod,
            h.cha_evrak_tip,
            h.cha_evrakno_seri,
            h.cha_evrakno_sira,
            h.cha_tip,
            h.cha_cinsi,
            h.cha_normal_Iade,
            h.cha_d_cins,
            h.cha_d_kur,
            h.cha_aratoplam,
            sum((h[n] for n in DISCOUNTS[1:]), h[DISCOUNTS[0]]).label("DISCOUNT"),
            sum((h[n] for n in VAT[1:]), h[VAT[0]]).label("VAT"),
            h.cha_meblag,
            h.cha_iptal,
            h.cha_hidden,
        ).where(h.cha_cari_cins == codes.CARI, not_set(h.cha_iptal), not_set(h.cha_hidden))

    def orders(self) -> sa.Select[Any]:
        o = self.env.tables.SIPARISLER.c
        return sa.select(
            o.sip_musteri_kod,
            o.sip_evrakno_seri,
            o.sip_evrakno_sira,
            o.sip_doviz_cinsi,
            o.sip_doviz_kuru,
            o.sip_tutar,
            sum((o[f"sip_iskonto_{n}"] for n in range(2, 7)), o.sip_iskonto_1).label("DISCOUNT"),
            o.sip_vergi,
            o.sip_kapat_fl,
            o.sip_iptal,
            o.sip_hidden,
        ).where(
            o.sip_tip == self.env.sales_order_tip,
            o.sip_cins.in_(self.env.order_cins("order")),
            not_set(o.sip_iptal),
            not_set(o.sip_hidden),
        )

    def papers(self) -> sa.Select[Any]:
        k = self.env.tables.ODEME_EMIRLERI.c
        return sa.select(
            k.sck_sahip_cari_kodu, k.sck_doviz, k.sck_doviz_kur, k.sck_tutar, k.sck_sonpoz, k.sck_iptal, k.sck_hidden
        ).where(
            k.sck_tip.in_(codes.CHEQUE_NOTE_TYPES),
            sa.or_(k.sck_sonpoz.is_(None), k.sck_sonpoz == codes.IN_PORTFOLIO),
            k.sck_sahip_cari_cins == codes.CARI,
            not_set(k.sck_iptal),
            not_set(k.sck_hidden),
        )

    def statements(self) -> list[sa.Select[Any]]:
        return [self.limits(), self.movements(), self.orders(), self.papers()]

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.as_of = dt.datetime.now(self.tz).replace(microsecond=0)
        r = self.env.tables.RISK.c
        base = self.limits()

        def page(last: Any) -> sa.Select[Any]:
            return (base if last is None else base.where(r.cari_kod > last)).order_by(r.cari_kod)

        yield from keyset_chunks(self.env.engine, page, "cari_kod", self.env.chunk_size, self.attach)

    def attach(self, conn: sa.Connection, rows: Sequence[Row[Any]]) -> list[tuple[Any, Figures | RecordError]]:
        figures = self.figures(conn, [row.cari_kod for row in rows])
        return [(row, figures[row.cari_kod]) for row in rows]

    def figures(self, conn: sa.Connection, accounts: Sequence[Any]) -> dict[Any, Figures | RecordError]:
        """Per account: its balance, open orders and uncashed papers, or the RecordError that makes it a dead
        letter."""
        money = self.monies()
        parts = (
            self.balances(conn, list(accounts), money),
            self.open_orders(conn, list(accounts), money),
            self.uncashed(conn, list(accounts), money),
        )
        out: dict[Any, Figures | RecordError] = {}
        for account in accounts:
            values = [part.get(account, _ZERO) for part in parts]
            error = next((v for v in values if isinstance(v, RecordError)), None)
            out[account] = error or dict(zip(("balance", "orders", "uncashed"), values, strict=True))
        return out

    def monies(self) -> Callable[[Any, Any], DocMoney]:
        """One DocMoney per (currency number, rate), shared by the page's documents."""
        cache: dict[tuple[Any, Any], DocMoney] = {}

        def get(code: Any, kur: Any) -> DocMoney:
            found = cache.get((code, kur))
            if found is None:
                found = cache[code, kur] = DocMoney(self.env, code, kur)
            return found

        return get

    def _local(self, doc: _Doc, money: DocMoney) -> Decimal:
        if doc.invoice:
            local = money.totals_local(doc.totals())
            if local is None:
                raise RecordError(f"a {money.currency} invoice has no exchange rate", "open_balance")
            return local.total
        return money.amount_local(doc.total, "open_balance")

    def balances(
        self, conn: sa.Connection, accounts: list[Any], money: Callable[[Any, Any], DocMoney]
    ) -> dict[Any, Any]:
        """Per account: debits minus credits of its documents, each at the local figure the feed gives it."""
        h = self.env.tables.CARI_HESAP_HAREKETLERI.c
        movements = self.env.movements
        docs: dict[tuple[Any, ...], _Doc] = {}
        out: dict[Any, Any] = {}
        for r in for_refs(conn, self.movements(), h.cha_kod, accounts):
            _failed(out, r.cha_kod, lambda r=r: _live(r.cha_iptal, r.cha_hidden, "open_balance"))
            key = (r.cha_kod, r.cha_evrak_tip, r.cha_evrakno_seri, r.cha_evrakno_sira, r.cha_tip)
            doc = docs.get(key)
            if doc is None:
                reading = movements.reading(r.cha_evrak_tip, r.cha_cinsi, r.cha_tip, r.cha_normal_Iade)
                invoice = reading is not None and reading.kind == "invoice"
                doc = docs[key] = _Doc(r.cha_d_cins, r.cha_d_kur, r.cha_tip, invoice)
            _failed(
                out,
                r.cha_kod,
                lambda doc=doc, r=r: doc.add(
                    money(doc.cins, doc.kur), r.cha_aratoplam, r.DISCOUNT, r.VAT, r.cha_meblag
                ),
            )
        for (code, *_), doc in docs.items():
            _add(out, code, lambda doc=doc: self._local(doc, money(doc.cins, doc.kur)) * _sign(doc.tip))
        return out

    def open_orders(
        self, conn: sa.Connection, accounts: list[Any], money: Callable[[Any, Any], DocMoney]
    ) -> dict[Any, Any]:
        """Per account: the local totals of its sales orders with a line still open."""
        o = self.env.tables.SIPARISLER.c
        docs: dict[tuple[Any, ...], tuple[_Doc, list[Any]]] = {}
        out: dict[Any, Any] = {}
        for r in for_refs(conn, self.orders(), o.sip_musteri_kod, accounts):
            _failed(out, r.sip_musteri_kod, lambda r=r: _live(r.sip_iptal, r.sip_hidden, "open_orders"))
            key = (r.sip_musteri_kod, r.sip_evrakno_seri, r.sip_evrakno_sira)
            found = docs.get(key)
            if found is None:
                found = docs[key] = (_Doc(r.sip_doviz_cinsi, r.sip_doviz_kuru, None, True), [])
            doc, closed = found
            _failed(
                out,
                key[0],
                lambda doc=doc, r=r: doc.add(money(doc.cins, doc.kur), r.sip_tutar, r.DISCOUNT, r.sip_vergi),
            )
            closed.append(r.sip_kapat_fl)
        for (code, *_), (doc, closed) in docs.items():
            # Read inside _add: a line's bad flag makes its account a dead letter, not the whole read fail.
            _add(out, code, lambda doc=doc, closed=closed: self._open(doc, closed, money(doc.cins, doc.kur)))
        return out

    def _open(self, doc: _Doc, closed: list[Any], money: DocMoney) -> Decimal:
        """An order's local total while a line is still open, else zero."""
        if all([bit(flag, "open_orders") for flag in closed]):  # a list: every line's flag is read
            return _ZERO
        return self._local(doc, money)

    def uncashed(
        self, conn: sa.Connection, accounts: list[Any], money: Callable[[Any, Any], DocMoney]
    ) -> dict[Any, Any]:
        """Per account: its cheques and notes still in the portfolio, in local currency."""
        k = self.env.tables.ODEME_EMIRLERI.c
        out: dict[Any, Any] = {}
        for r in for_refs(conn, self.papers(), k.sck_sahip_cari_kodu, accounts):
            _failed(out, r.sck_sahip_cari_kodu, lambda r=r: _in_portfolio(r))
            _add(out, r.sck_sahip_cari_kodu, lambda r=r: _paper(money(r.sck_doviz, r.sck_doviz_kur), r.sck_tutar))
        return out

    def key(self, item: tuple[Any, Any]) -> str:
        return str(item[0].cari_kod)

    def raw(self, item: tuple[Any, Any]) -> dict[str, Any]:
        row, figures = item
        shown = {"error": str(figures)} if isinstance(figures, RecordError) else {k: str(v) for k, v in figures.items()}
        return {**dict(row._mapping), **shown}

    def map(self, item: tuple[Any, Figures | RecordError]) -> RiskLimit | Excluded:
        row, f = item
        if row.ACCOUNT is None:
            if row.KNOWN:
                return Excluded("cancelled or hidden account")
            raise RecordError("the credit-limit view names no account card", "account_code")
        bit(row.cari_iptal, "account_cancelled")  # the join admits NULL flags: each is this record's dead letter
        bit(row.cari_hidden, "account_hidden")
        if isinstance(f, RecordError):
            raise f
        places = minor_units(self.env.local_currency)
        return RiskLimit(
            account_code=required_code(row.cari_kod, "account_code"),
            limit=fixed(row.risk_limiti, places, "limit"),
            currency=self.env.local_currency,
            open_balance=f["balance"],
            open_orders=f["orders"],
            uncashed_cheques=f["uncashed"],
            exposure=f["balance"] + f["orders"] + f["uncashed"],
            # The integrator's view: no collateral is 0 or NULL.
            collateral=None if row.teminat is None else fixed(row.teminat, places, "collateral") or None,
            blocked=bit(row.cari_cari_kilitli_flg, "blocked"),
            as_of=self.as_of,
        )
