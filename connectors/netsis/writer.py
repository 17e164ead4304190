"""Lays a scenario's facts into one Netsis company database, the way Netsis stores them (tests, benchmark, demo).

Not part of the sync path: the adapter never writes. The layout is the reading the adapter relies
on: text as cp1254 bytes read through a Latin-1 collation (Ş stored as Þ), split header/line
tables keyed by (SUBE_KODU, FTIRSIP, FATIRS_NO, CARI_KODU), local-currency FLOAT totals with the
document total in DOVIZTUT, quantities and unit prices per the item's first unit, line discounts
as percentages, TBLCAHAR postings with separate BORC/ALACAK, balances and risk on the account
card, the day's rates in the rates database's DOVIZ, KAYITTARIHI/DUZELTMETARIHI stamps.

The scenario's notes go into TBLCAHAR beside the invoice and collection postings: an opening balance
(devir, A), a debit note (dekont, K debit) and a credit note (L credit), in local currency, and into the
account card's CM_BORCT/CM_ALACT with everything else.

It also writes what the adapter must skip: a purchase invoice, a purchase return and a sales
dispatch, invoice postings in TBLCAHAR, the all-warehouse (DEPO_KODU 0) stock rows.

It copies the vendor's tables (vendor/): TBLSTSABIT without record stamps and no cancel flag, as
the scaffolds of live databases have them (a site layout may add either: `without`, `cancel_column`).
Where sites differ, it varies: line prices are written as Netsis's own screens write them (gross
STHAR_BF and net STHAR_NF), as integrations that post net prices do (STHAR_NF only, on documents
without line discounts) or with the gross price only (`line_prices`; "mixed" picks per document).

A source spanning several yearly databases gets one writer per database, each with the `years`
it holds: every writer lays the cards (as Netsis's year copy does), only its years' documents,
and the balances of the whole history (the year copy carries them over).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.netsis import codes
from connectors.netsis.tables import NetsisTables, RatesTables, netsis_tables, rates_tables
from connectors.sql import Batch, bulk_insert, insert_batch, insert_batched
from mapping.schema import Collection, Invoice, InvoiceLine, Order, OrderLine, PriceListEntry
from scenario.facts import Change, Note, NoteKind, Scenario, Stamped
from scenario.names import PAYMENT_TERMS
from scenario.stock import SlipLine, StockSlip

__all__ = ["VENDOR_LAYOUT", "LinePrices", "NetsisWriter", "damage"]

# Columns the vendor's scaffold of a live TBLSTSABIT lacks (vendor/columns.csv): the record stamps.
VENDOR_LAYOUT = frozenset(
    f"TBLSTSABIT.{name}" for name in ("KAYITYAPANKUL", "KAYITTARIHI", "DUZELTMEYAPANKUL", "DUZELTMETARIHI")
)
LinePrices = Literal["both", "net", "gross", "mixed"]

FLUSH_ROWS = 20_000  # document rows gathered before they are inserted
BRANCH = 0
USER = "NETSIS"
NOT_CANCELLED = "H"  # hayır
_TERM_DAYS = {name: days for name, days, _ in PAYMENT_TERMS}
_TYPES = {kind: code for code, kind in codes.DEFAULT_ACCOUNT_KINDS.items()}
_METHODS = {method: kind for kind, method in codes.DEFAULT_COLLECTION_KINDS.items()}
_DISCOUNT_TYPES = {kind: code for code, kind in codes.DEFAULT_DISCOUNT_KINDS.items()}
# Notes as the adapter's defaults read them: an opening (devir) A, a debit note a dekont K debit, a credit note
# (rebate) an L credit (K credits are the bank transfers of collection_kinds).
_NOTE_LETTERS: dict[NoteKind, str] = {
    "opening": codes.CAHAR_OPENING,
    "debit_note": codes.CAHAR_DEKONT,
    "credit_note": codes.CAHAR_OTHER,
}
# Closed and cancelled orders were approved once; their lines and the cancel flag say the rest.
_APPROVAL = {status: code for code, status in codes.DEFAULT_ORDER_STATUSES.items()} | {"closed": "A", "cancelled": "A"}


@lru_cache(maxsize=65536)
def damage(text: str | None) -> str | None:
    """Text as a Netsis database with a Latin-1 collation holds it: cp1254 bytes read as Latin-1."""
    return None if text is None else text.encode("cp1254").decode("latin-1")


def _day(d: dt.date | None) -> dt.datetime | None:
    return None if d is None else dt.datetime(d.year, d.month, d.day)


def _f(value: Decimal | None) -> float:
    return 0.0 if value is None else float(value)


def _percent(gross: Decimal, discount: Decimal) -> float:
    """The line discount percentage that gives `discount` on `gross` (rounded half-up), as a user enters it:
    a multiple of 0.5 when one fits, else the exact ratio."""
    if not discount:
        return 0.0
    exact = discount * 100 / gross
    halves = Decimal(round(exact * 2)) / 2
    if (gross * halves / 100).quantize(Decimal("0.01"), ROUND_HALF_UP) == discount:
        return float(halves)
    return float(exact)


class NetsisWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        rates_engine: Engine | None = None,
        years: tuple[int, int] | None = None,
        cancel_column: str | None = None,
        without: frozenset[str] = VENDOR_LAYOUT,
        line_prices: LinePrices = "mixed",
        damaged_text: bool = True,
        local_currency: str = "TRY",
        currency_codes: Mapping[int, str] | None = None,
    ) -> None:
        self.engine = engine
        self.rates_engine = rates_engine or engine
        self.metadata = sa.MetaData()
        self.t: NetsisTables = netsis_tables(self.metadata, cancel_column, without=without)
        self.line_prices = line_prices
        self.rates_metadata = sa.MetaData()
        self.r: RatesTables = rates_tables(self.rates_metadata)
        self.years = years
        self.text: Callable[[str | None], str | None] = damage if damaged_text else (lambda s: s)
        self.currency_code = {iso: code for code, iso in (currency_codes or codes.DEFAULT_CURRENCY_CODES).items()}
        self.currency_code[local_currency] = codes.LOCAL_CURRENCY_CODE
        self.local_currency = local_currency
        self.tz: Any = None
        self.next_id: dict[str, int] = {}
        self.units: dict[str, tuple[str, dict[str, Decimal]]] = {}  # product -> (first unit, unit -> factor)
        self.balances: dict[str, list[Decimal]] = {}  # account -> [debit, credit], local, whole history
        self.rates: dict[tuple[int, dt.date], Decimal] = {}  # (currency number, day) -> rate, to write
        self.rates_written: set[tuple[int, dt.date]] = set()
        self.loaded = False

    # -- plumbing --------------------------------------------------------------------------
    def create_tables(self) -> None:
        self.metadata.create_all(self.engine)
        self.rates_metadata.create_all(self.rates_engine)

    def _prime(self) -> None:
        """Next identity of every document table and the rates already present, read before writing: a
        second connection asking mid-write would wait on the writer's own SQLite lock."""
        t = self.t
        identities = ((t.FATUIRS, "SIRANO"), (t.SIPAMAS, "SIRANO"), (t.STHAR, "INCKEYNO"), (t.SIPATRA, "INCKEYNO"))
        with self.engine.connect() as conn:
            for table, column in (*identities, (t.CAHAR, "INC_KEY_NUMBER")):
                top = conn.execute(sa.select(sa.func.max(table.c[column]))).scalar()
                self.next_id[table.name] = (top or 0) + 1
        d = self.r.DOVIZ.c
        with self.rates_engine.connect() as conn:
            self.rates_written = {(code, day.date()) for code, day in conn.execute(sa.select(d.SIRA, d.TARIH))}

    def _id(self, table: sa.Table) -> int:
        n = self.next_id[table.name]
        self.next_id[table.name] = n + 1
        return n

    def _code(self, currency: str) -> int:
        code = self.currency_code.get(currency)
        if code is None:
            raise ValueError(f"no Netsis currency number for {currency}: pass currency_codes")
        return code

    def _naive(self, moment: dt.datetime | None) -> dt.datetime | None:
        return None if moment is None else moment.astimezone(self.tz).replace(tzinfo=None)

    def _stamps(
        self, created: dt.datetime, modified: dt.datetime | None, table: sa.Table | None = None
    ) -> dict[str, Any]:
        """The record stamps, where `table` (when given) has them."""
        stamps = {
            "KAYITYAPANKUL": USER,
            "KAYITTARIHI": self._naive(created),
            "DUZELTMEYAPANKUL": USER if modified is not None else None,
            "DUZELTMETARIHI": self._naive(modified),
        }
        return stamps if table is None else {k: v for k, v in stamps.items() if k in table.c}

    def _flag(self, cancelled: bool) -> dict[str, Any]:
        column = self.t.cancel_column
        return {} if column is None else {column: codes.YES if cancelled else NOT_CANCELLED}

    def _mine(self, day: dt.date) -> bool:
        return self.years is None or self.years[0] <= day.year <= self.years[1]

    # -- the scenario ----------------------------------------------------------------------
    def write(self, scenario: Scenario) -> None:
        self.tz = ZoneInfo(scenario.timezone)
        self._prime()
        with self.engine.begin() as conn:
            self._warehouses(conn, scenario)
            self._products(conn, scenario)
            self._discounts(conn, scenario)
            self._price_lists(conn, scenario)
        self._documents(scenario.orders(), self._order_rows)
        self._documents(scenario.invoices(), self._invoice_rows)
        self._documents(scenario.collections(), self._collection_rows)
        self._documents(scenario.notes(), self._note_rows)
        self._documents(scenario.stock_slips(), self._slip_rows)
        with self.engine.begin() as conn:
            self._decoys(conn, scenario)
            self._accounts(conn, scenario)
            self._stock(conn, scenario)
        self._write_rates()
        self.loaded = True

    def _warehouses(self, conn: sa.Connection, s: Scenario) -> None:
        rows = [{"DEPO_KODU": int(w.code), "DEPO_ISMI": self.text(w.name), "SUBE_KODU": BRANCH} for w in s.warehouses]
        bulk_insert(conn, self.t.STOKDP, rows)

    def _products(self, conn: sa.Connection, s: Scenario) -> None:
        t, text = self.t, self.text
        rows = []
        for st in s.products:
            p = st.record
            base = p.base_unit or "ADET"
            others = [u for u in p.units if u.unit != base]
            self.units[p.code] = (base, {u.unit: u.factor for u in p.units})
            second = others[0] if others else None
            rows.append(
                {
                    "SUBE_KODU": BRANCH,
                    "ISLETME_KODU": 1,
                    "STOK_KODU": text(p.code),
                    "STOK_ADI": text(p.name),
                    "GRUP_KODU": text(p.category_code),
                    "KOD_1": text(p.group_code),
                    "KOD_2": text(p.brand),
                    "OLCU_BR1": text(base),
                    "OLCU_BR2": text(second.unit) if second else None,
                    "PAY_1": _f(second.factor) if second else 1.0,
                    "PAYDA_1": 1.0,
                    "PAY2": 1.0,
                    "PAYDA2": 1.0,
                    "KDV_ORANI": _f(p.vat_rate),
                    "BARKOD1": p.barcodes[0] if p.barcodes else None,
                    "BARKOD2": second.barcode if second else None,
                    "KILIT": NOT_CANCELLED if p.active else codes.YES,
                    **self._stamps(st.created_at, st.modified_at, t.STSABIT),
                }
            )
        for svc in s.services:
            self.units[svc.code] = (svc.unit, {svc.unit: Decimal(1)})
            rows.append(
                {
                    "SUBE_KODU": BRANCH,
                    "ISLETME_KODU": 1,
                    "STOK_KODU": text(svc.code),
                    "STOK_ADI": text(svc.name),
                    "GRUP_KODU": codes.SERVICE_GROUP,
                    "OLCU_BR1": text(svc.unit),
                    "PAY_1": 1.0,
                    "PAYDA_1": 1.0,
                    "KDV_ORANI": _f(svc.vat_rate),
                    "KILIT": NOT_CANCELLED,
                    **self._stamps(s.as_of, None, t.STSABIT),
                }
            )
        bulk_insert(conn, t.STSABIT, rows)

    def _discounts(self, conn: sa.Connection, s: Scenario) -> None:
        text = self.text
        rows = []
        for st in s.discounts:
            d = st.record
            rows.append(
                {
                    "KOSULKODU": text(d.code),
                    "ACIKLAMA": text(d.code),
                    "CARI_KOD": text(d.account_code),
                    "CARI_GRUP_KODU": text(d.account_group_code),
                    "STOK_KODU": text(d.product_code),
                    "STOK_GRUP_KODU": text(d.product_group_code),
                    "ISKONTO_TIPI": _DISCOUNT_TYPES[d.kind],
                    "DEGER": float(d.value),
                    "DOVIZ_TIPI": self._code(d.currency) if d.currency else None,
                    "MIN_MIKTAR": _f(d.min_quantity),
                    "BASTAR": _day(d.valid_from),
                    "BITTAR": _day(d.valid_to),
                    "ONCELIK": d.priority,
                    "KAPALI": NOT_CANCELLED if d.active else codes.YES,
                    **self._stamps(st.created_at, st.modified_at),
                }
            )
        bulk_insert(conn, self.t.KOSULMAS, rows)

    def _price_lists(self, conn: sa.Connection, s: Scenario) -> None:
        """The sales lists as TBLSTOKFIAT rows (A_S 'S', no price group: for every dealer), the unit as the card's
        unit number; and what price_lists must skip: a purchase price (A_S 'A') and a dealer's own price (the
        price group an account code)."""
        rows = [self._price_row(e, self._unit_number(e), s.as_of) for e in s.price_lists]
        dealer = next((st.record for st in s.accounts if st.record.kind == "customer"), None)
        if s.price_lists and dealer is not None:
            first = s.price_lists[0]
            bought = msgspec.structs.replace(first, price=first.price / 2, currency=self.local_currency)
            rows.append(self._price_row(bought, 1, s.as_of, side=codes.PURCHASE_PRICE))
            own = msgspec.structs.replace(first, price=first.price - 1)
            rows.append(self._price_row(own, 1, s.as_of, group=self.text(dealer.code)))
        bulk_insert(conn, self.t.STOKFIAT, rows)

    def _unit_number(self, e: PriceListEntry) -> int:
        """OLCUBR: 1 for the card's first unit, 2 and 3 for OLCU_BR2 and OLCU_BR3."""
        base, factors = self.units[e.product_code]
        return 1 if e.unit == base else 2 + [u for u in factors if u != base].index(e.unit or "")

    def _price_row(
        self,
        e: PriceListEntry,
        unit: int,
        written: dt.datetime,
        *,
        group: str | None = None,
        side: str = codes.SALES_PRICE,
    ) -> dict[str, Any]:
        return {
            "SUBE_KODU": BRANCH,
            "ISLETME_KODU": 1,
            "FIYATLISTEKODU": self.text(e.list_code),
            "FIYATLISTEACIK": self.text(e.list_name),
            "FIYATGRUBU": group,
            "STOKKODU": self.text(e.product_code),
            "A_S": side,
            "FIYAT1": float(e.price),
            "FIYATDOVIZTIPI": self._code(e.currency),
            "OLCUBR": unit,
            "BASTAR": _day(e.valid_from),
            "BITTAR": _day(e.valid_to),
            "KAYITTAR": self._naive(written),
        }

    def _accounts(self, conn: sa.Connection, s: Scenario) -> None:
        text = self.text
        risks = {r.account_code: r for r in s.risk_limits}
        rows, e_invoice = [], {}
        for st in s.accounts:
            a = st.record
            risk = risks.get(a.code)
            debit, credit = self.balances.get(a.code, (Decimal(0), Decimal(0)))
            rows.append(
                {
                    "SUBE_KODU": BRANCH,
                    "ISLETME_KODU": 1,
                    "CARI_KOD": text(a.code),
                    "CARI_ISIM": text(a.title),
                    "CARI_TIP": _TYPES[a.kind],
                    "GRUP_KODU": text(a.group_code),
                    "RAPOR_KODU1": text(a.region_code),
                    "CARI_ADRES": text(a.address),
                    "CARI_IL": text(a.city),
                    "ULKE_KODU": a.country,
                    "VERGI_DAIRESI": text(a.tax_office),
                    "VERGI_NUMARASI": a.tax_id,
                    "CARI_TEL": a.phone,
                    "EMAIL": a.email,
                    "PLASIYER_KODU": text(a.sales_rep_code),
                    "ISKONTO_ORANI": _f(a.discount_rate),
                    "VADE_GUNU": _TERM_DAYS.get(a.payment_terms or ""),
                    "DOVIZ_TIPI": self._code(a.currency or "TRY"),
                    "BAGLICARIKOD": text(a.parent_code),
                    "RISK_SINIRI": _f(risk.limit) if risk else None,
                    "TEMINATI": _f(risk.collateral) if risk else None,
                    "CARISK": _f(risk.uncashed_cheques) if risk else 0.0,
                    "CCRISK": 0.0,
                    "SARISK": 0.0,
                    "SCRISK": 0.0,
                    "CM_BORCT": float(debit),
                    "CM_ALACT": float(credit),
                    **self._stamps(st.created_at, st.modified_at),
                }
            )
            if a.e_invoice and a.tax_id:
                e_invoice[a.tax_id] = {"IDENTIFIER": a.tax_id, "ALIAS": "urn:mail:defaultpk"}
        bulk_insert(conn, self.t.CASABIT, rows)
        bulk_insert(conn, self.t.EFATCARI, list(e_invoice.values()))

    def _stock(self, conn: sa.Connection, s: Scenario) -> None:
        rows, totals = [], {}
        for level in s.stock_levels:
            # Netsis keeps running in/out totals; any split with the right difference will do.
            out = level.on_hand
            rows.append(
                {
                    "STOK_KODU": self.text(level.product_code),
                    "SUBE_KODU": BRANCH,
                    "DEPO_KODU": int(level.warehouse_code),
                    "TOP_GIRIS_MIK": float(level.on_hand + out),
                    "TOP_CIKIS_MIK": float(out),
                }
            )
            totals[level.product_code] = totals.get(level.product_code, Decimal(0)) + level.on_hand
        for code, on_hand in totals.items():
            rows.append(
                {
                    "STOK_KODU": self.text(code),
                    "SUBE_KODU": BRANCH,
                    "DEPO_KODU": codes.ALL_WAREHOUSES,
                    "TOP_GIRIS_MIK": float(on_hand),
                    "TOP_CIKIS_MIK": 0.0,
                }
            )
        bulk_insert(conn, self.t.STOKPH, rows)

    def _decoys(self, conn: sa.Connection, s: Scenario) -> None:
        """Documents of the same tables the invoices stream must never return."""
        day = s.as_of.date()
        if not self._mine(day):
            return
        supplier = self.text(next(st.record for st in s.accounts if st.record.kind == "supplier").code)
        product = self.text(s.products[0].record.code)
        batch: Batch = {}
        for kind, number, htur, direction, bgtip in (
            (codes.PURCHASE_INVOICE, "AF0000000000001", codes.HTUR_INVOICE, codes.IN, codes.BGTIP_INVOICE),
            (codes.SALES_INVOICE, "AIF000000000001", codes.RETURN_LINE, codes.OUT, codes.BGTIP_INVOICE),
            (codes.SALES_DISPATCH, "SI0000000000001", codes.HTUR_DISPATCH, codes.OUT, codes.BGTIP_DISPATCH),
        ):  # a purchase invoice, a purchase return, a sales dispatch
            header = {
                "SIRANO": self._id(self.t.FATUIRS),
                "SUBE_KODU": BRANCH,
                "FTIRSIP": kind,
                "FATIRS_NO": number,
                "CARI_KODU": supplier,
                "TARIH": _day(day),
                "TIPI": codes.OPEN_INVOICE_TIPI,
                "BRUTTUTAR": 1000.0,
                "SAT_ISKT": 0.0,
                "KDV": 200.0,
                "GENELTOPLAM": 1200.0,
                "DOVIZTIP": 0,
                "DOVBAZTAR": _day(day),
                "ONAYTIPI": "A",
                **self._flag(False),
                **self._stamps(s.as_of, None),
            }
            batch.setdefault("FATUIRS", []).append(header)
            batch.setdefault("STHAR", []).append(
                {
                    "INCKEYNO": self._id(self.t.STHAR),
                    "FISNO": number,
                    "STHAR_FTIRSIP": kind,
                    "SUBE_KODU": BRANCH,
                    "STHAR_ACIKLAMA": supplier,
                    "STHAR_CARIKOD": supplier,
                    "SIRA": 1,
                    "STOK_KODU": product,
                    "STHAR_TARIH": _day(day),
                    "STHAR_GCKOD": direction,
                    "STHAR_HTUR": htur,
                    "STHAR_BGTIP": bgtip,
                    "OLCUBR": 1,
                    "STHAR_GCMIK": 10.0,
                    "STHAR_GCMIK2": 10.0,
                    "STHAR_BF": 100.0,
                    "STHAR_NF": 100.0,
                    "STHAR_KDV": 20.0,
                    "DEPO_KODU": 1,
                }
            )
        insert_batch(conn, batch, self._table)

    # -- documents -------------------------------------------------------------------------
    def _documents(self, facts: Iterable[Any], make: Callable[[Any, Batch], int]) -> None:
        insert_batched(self.engine, facts, make, self._table, flush_rows=FLUSH_ROWS)

    def _table(self, name: str) -> sa.Table:
        return getattr(self.t, name)

    def _rate_of(self, currency: str, day: dt.date, rate: Decimal) -> int:
        code = self._code(currency)
        if code != codes.LOCAL_CURRENCY_CODE:
            self.rates[(code, day)] = rate
        return code

    def _write_rates(self) -> None:
        d = self.r.DOVIZ
        rows = []
        for (code, day), rate in sorted(self.rates.items()):
            if (code, day) in self.rates_written:
                continue
            value = float(rate)
            # The book rate is the buying rate (DOV_ALIS); the others differ, so a wrong rate_column shows.
            rows.append(
                {
                    "SIRA": code,
                    "TARIH": _day(day),
                    "DOV_ALIS": value,
                    "DOV_SATIS": round(value * 1.005, 4),
                    "EFF_ALIS": round(value * 0.998, 4),
                    "EFF_SATIS": round(value * 1.008, 4),
                }
            )
            self.rates_written.add((code, day))
        self.rates.clear()
        with self.rates_engine.begin() as conn:
            bulk_insert(conn, d, rows)

    def _header(self, fact: Stamped[Any], doc: Invoice | Order, kind: str, table: sa.Table) -> dict[str, Any]:
        tl, tot = doc.totals_local, doc.totals
        code = self._rate_of(doc.currency, doc.date, doc.rate)
        return {
            "SIRANO": self._id(table),
            "SUBE_KODU": BRANCH,
            "FTIRSIP": kind,
            "FATIRS_NO": self.text(doc.number),
            "CARI_KODU": self.text(doc.account_code),
            "TARIH": _day(doc.date),
            "TIPI": codes.OPEN_INVOICE_TIPI,
            "BRUTTUTAR": float(tl.gross),
            "SAT_ISKT": float(tl.discount),
            "MFAZ_ISKT": 0.0,
            "GEN_ISK1T": 0.0,
            "GEN_ISK2T": 0.0,
            "GEN_ISK3T": 0.0,
            "KDV": float(tl.vat),
            "GENELTOPLAM": float(tl.total),
            "DOVIZTIP": code,
            "DOVIZTUT": float(tot.total) if code else 0.0,
            "DOVBAZTAR": _day(doc.date),
            "PLA_KODU": self.text(doc.sales_rep_code),
            "TOPDEPO": int(doc.warehouse_code) if doc.warehouse_code else None,
            **self._stamps(fact.created_at, fact.modified_at),
        }

    def _prices(self, doc: Invoice | Order) -> LinePrices:
        """Which price columns this document's lines fill (see the module docstring)."""
        chosen = self.line_prices
        if chosen == "mixed":
            chosen = ("both", "both", "both", "both", "both", "both", "net", "net", "gross", "gross")[
                zlib.crc32(doc.number.encode()) % 10
            ]
        if chosen == "net" and any(line.discount for line in doc.lines):
            return "both"  # an integration posting net prices posts no line discounts either
        return chosen

    def _line(
        self,
        doc: Invoice | Order,
        ln: InvoiceLine | OrderLine,
        kind: str,
        header: dict[str, Any],
        table: sa.Table,
        prices: LinePrices,
    ) -> dict[str, Any]:
        """A line in the item's first unit: quantity x factor, unit prices / factor. The net price is in local
        currency: a foreign line's is its share of the document's local net (what Netsis shows in TL)."""
        first, factors = self.units.get(ln.product_code or "", (ln.unit or "", {}))
        factor = factors.get(ln.unit or "", Decimal(1)) if ln.unit != first else Decimal(1)
        price = ln.unit_price / factor
        local = doc.rate == 1
        first_qty = ln.quantity * factor
        net_price = (ln.net_local or Decimal(0)) / first_qty if first_qty else price
        return {
            "INCKEYNO": self._id(table),
            "FISNO": header["FATIRS_NO"],
            "STHAR_FTIRSIP": kind,
            "SUBE_KODU": BRANCH,
            "STHAR_ACIKLAMA": header["CARI_KODU"],
            "STHAR_CARIKOD": header["CARI_KODU"],
            "SIRA": ln.line_no,
            "STOK_KODU": self.text(ln.product_code),
            "STHAR_TARIH": header["TARIH"],
            "OLCUBR": 1 if factor == 1 else 2,
            "STHAR_GCMIK": float(first_qty),
            "STHAR_GCMIK2": float(ln.quantity),
            "CEVRIM": float(factor),
            "STHAR_BF": 0.0 if prices == "net" else float(price if local else price * doc.rate),
            # Posting net prices, an integration writes the unit price; else Netsis's net price per first unit.
            "STHAR_NF": 0.0 if prices == "gross" else float(price if prices == "net" and local else net_price),
            "STHAR_DOVTIP": header["DOVIZTIP"],
            "STHAR_DOVFIAT": 0.0 if local else float(price),
            "STHAR_SATISK": _percent(ln.gross, ln.discount),
            "STHAR_KDV": _f(ln.vat_rate),
            "DEPO_KODU": int(ln.warehouse_code) if ln.warehouse_code else None,
            "PLASIYER_KODU": self.text(ln.sales_rep_code),
            "DUZELTMETARIHI": header["DUZELTMETARIHI"],
        }

    def _invoice_rows(self, fact: Stamped[Invoice], batch: Batch) -> int:
        inv = fact.record
        if not inv.cancelled:
            books = self.balances.setdefault(inv.account_code, [Decimal(0), Decimal(0)])
            books[1 if inv.kind == "return" else 0] += inv.totals_local.total
        if not self._mine(inv.date) or (inv.cancelled and self.t.cancel_column is None):
            return 0  # another year's database; or an install that deletes cancelled documents
        ret = inv.kind == "return"
        kind = codes.PURCHASE_INVOICE if ret else codes.SALES_INVOICE
        header = self._header(fact, inv, kind, self.t.FATUIRS)
        header.update(
            {
                "TIPI": codes.PRICE_DIFFERENCE_TIPI if inv.kind == "price_difference" else codes.OPEN_INVOICE_TIPI,
                "ODEMETARIHI": _day(inv.due_date),
                "ACIKLAMA": self.text(inv.original_invoice),
                "ONAYTIPI": "A",
                "GIB_FATIRS_NO": inv.document_no,
                **self._flag(inv.cancelled),
            }
        )
        batch.setdefault("FATUIRS", []).append(header)
        lines = batch.setdefault("STHAR", [])
        prices = self._prices(inv)
        for ln in inv.lines:
            row = self._line(inv, ln, kind, header, self.t.STHAR, prices)
            row.update(
                {
                    "STHAR_GCKOD": codes.IN if ret else codes.OUT,
                    "STHAR_HTUR": codes.RETURN_LINE if ret else codes.HTUR_INVOICE,
                    "STHAR_BGTIP": codes.BGTIP_INVOICE,
                }
            )
            lines.append(row)
        tl = float(inv.totals_local.total)
        batch.setdefault("CAHAR", []).append(
            {
                "INC_KEY_NUMBER": self._id(self.t.CAHAR),
                "SUBE_KODU": BRANCH,
                "CARI_KOD": header["CARI_KODU"],
                "TARIH": header["TARIH"],
                "VADE_TARIHI": header["ODEMETARIHI"],
                "BELGE_NO": header["FATIRS_NO"],
                "HAREKET_TURU": codes.CAHAR_RETURN if ret else codes.CAHAR_INVOICE,
                "BORC": 0.0 if ret else tl,
                "ALACAK": tl if ret else 0.0,
                "DOVIZ_TURU": header["DOVIZTIP"],
                "DOVIZ_TUTAR": header["DOVIZTUT"],
                **self._flag(inv.cancelled),
                **self._stamps(fact.created_at, fact.modified_at),
            }
        )
        return len(inv.lines) + 2

    def _order_rows(self, fact: Stamped[Order], batch: Batch) -> int:
        order = fact.record
        cancelled = order.status == "cancelled"
        if not self._mine(order.date) or (cancelled and self.t.cancel_column is None):
            return 0
        header = self._header(fact, order, codes.CUSTOMER_ORDER, self.t.SIPAMAS)
        header.update({"ONAYTIPI": _APPROVAL[order.status], **self._flag(cancelled)})
        batch.setdefault("SIPAMAS", []).append(header)
        lines = batch.setdefault("SIPATRA", [])
        prices = self._prices(order)
        for ln in order.lines:
            row = self._line(order, ln, codes.CUSTOMER_ORDER, header, self.t.SIPATRA, prices)
            factor = Decimal(repr(row["CEVRIM"]))
            row.update(
                {
                    "STHAR_GCKOD": codes.OUT,
                    "STHAR_HTUR": codes.CLOSED_ORDER_LINE if ln.closed else codes.HTUR_INVOICE,
                    "FIRMA_DOVTUT": float((ln.shipped_quantity or Decimal(0)) * factor),
                }
            )
            lines.append(row)
        return len(order.lines) + 1

    def _collection_rows(self, fact: Stamped[Collection], batch: Batch) -> int:
        c = fact.record
        if not c.cancelled:
            self.balances.setdefault(c.account_code, [Decimal(0), Decimal(0)])[1] += c.amount_local
        if not self._mine(c.date) or (c.cancelled and self.t.cancel_column is None):
            return 0
        code = self._rate_of(c.currency, c.date, c.rate)
        batch.setdefault("CAHAR", []).append(
            {
                "INC_KEY_NUMBER": self._id(self.t.CAHAR),
                "SUBE_KODU": BRANCH,
                "CARI_KOD": self.text(c.account_code),
                "TARIH": _day(c.date),
                "VADE_TARIHI": _day(c.due_date or c.date),
                "BELGE_NO": self.text(c.number),
                "HAREKET_TURU": _METHODS[c.method],
                "BORC": 0.0,
                "ALACAK": float(c.amount_local),
                "DOVIZ_TURU": code,
                "DOVIZ_TUTAR": float(c.amount) if code else 0.0,
                "ACIKLAMA": self.text(f"Tahsilat {c.number}"),
                **self._flag(c.cancelled),
                **self._stamps(fact.created_at, fact.modified_at),
            }
        )
        return 1

    def _note_rows(self, fact: Stamped[Note], batch: Batch) -> int:
        """An opening balance or a debit or credit note: one TBLCAHAR row in local currency, no document behind it
        (VADE_TARIHI the movement's day, as integrators' inserts fill it when nothing falls due)."""
        n = fact.record
        credit = n.kind == "credit_note"
        self.balances.setdefault(n.account_code, [Decimal(0), Decimal(0)])[1 if credit else 0] += n.amount
        if not self._mine(n.date):
            return 0
        amount = float(n.amount)
        batch.setdefault("CAHAR", []).append(
            {
                "INC_KEY_NUMBER": self._id(self.t.CAHAR),
                "SUBE_KODU": BRANCH,
                "CARI_KOD": self.text(n.account_code),
                "TARIH": _day(n.date),
                "VADE_TARIHI": _day(n.date),
                "BELGE_NO": self.text(n.number),
                "HAREKET_TURU": _NOTE_LETTERS[n.kind],
                "BORC": 0.0 if credit else amount,
                "ALACAK": amount if credit else 0.0,
                "DOVIZ_TURU": codes.LOCAL_CURRENCY_CODE,
                "DOVIZ_TUTAR": 0.0,
                "ACIKLAMA": self.text(n.description),
                **self._flag(False),
                **self._stamps(fact.created_at, fact.modified_at),
            }
        )
        return 1

    def _slip_rows(self, fact: Stamped[StockSlip], batch: Batch) -> int:
        """A stock slip as Netsis keeps it: a header in TBLFATUIRS (no money: no account posting either) and its
        lines in TBLSTHAR. A purchase is a purchase dispatch (FTIRSIP 4; lines STHAR_HTUR H, STHAR_BGTIP I, G into
        the warehouse, the supplier in STHAR_ACIKLAMA). A transfer is a DAT (FTIRSIP 8, no account; lines
        STHAR_HTUR B, STHAR_BGTIP I): each line two rows, C out of the source warehouse and G into the target, with
        the same FISNO, SIRA and STOK_KODU (a NetOpenX DAT line names both warehouses, DEPO_KODU and Gir_Depo_Kodu,
        and TBLSTHAR has one DEPO_KODU per row)."""
        slip = fact.record
        if not self._mine(slip.date):
            return 0
        purchase = slip.kind == "purchase"
        kind = codes.PURCHASE_DISPATCH if purchase else codes.TRANSFER_SLIP
        account = self.text(slip.account_code) if purchase else ""
        header = {
            "SIRANO": self._id(self.t.FATUIRS),
            "SUBE_KODU": BRANCH,
            "FTIRSIP": kind,
            "FATIRS_NO": self.text(slip.number),
            "CARI_KODU": account,
            "TARIH": _day(slip.date),
            "TIPI": 0,
            "BRUTTUTAR": 0.0,
            "KDV": 0.0,
            "GENELTOPLAM": 0.0,
            "DOVIZTIP": codes.LOCAL_CURRENCY_CODE,
            "DOVIZTUT": 0.0,
            "TOPDEPO": int(slip.warehouse_code),
            **self._flag(False),
            **self._stamps(fact.created_at, fact.modified_at),
        }
        batch.setdefault("FATUIRS", []).append(header)
        sides = [(codes.IN, slip.warehouse_code)]
        if not purchase:
            sides = [(codes.OUT, slip.warehouse_code), (codes.IN, slip.to_warehouse_code or "")]
        rows = batch.setdefault("STHAR", [])
        for ln in slip.lines:
            for direction, warehouse in sides:
                rows.append(self._slip_line(header, ln, direction, int(warehouse), purchase))
        return len(slip.lines) * len(sides) + 1

    def _slip_line(
        self, header: dict[str, Any], ln: SlipLine, direction: str, warehouse: int, purchase: bool
    ) -> dict[str, Any]:
        first, factors = self.units.get(ln.product_code, (ln.unit, {}))
        factor = factors.get(ln.unit, Decimal(1)) if ln.unit != first else Decimal(1)
        return {
            "INCKEYNO": self._id(self.t.STHAR),
            "FISNO": header["FATIRS_NO"],
            "STHAR_FTIRSIP": header["FTIRSIP"],
            "SUBE_KODU": BRANCH,
            "STHAR_ACIKLAMA": header["CARI_KODU"],
            "STHAR_CARIKOD": header["CARI_KODU"] or None,
            "SIRA": ln.line_no,
            "STOK_KODU": self.text(ln.product_code),
            "STHAR_TARIH": header["TARIH"],
            "STHAR_GCKOD": direction,
            "STHAR_HTUR": codes.HTUR_DISPATCH if purchase else codes.HTUR_TRANSFER,
            "STHAR_BGTIP": codes.BGTIP_DISPATCH,
            "OLCUBR": 1 if factor == 1 else 2,
            "STHAR_GCMIK": float(ln.quantity * factor),
            "STHAR_GCMIK2": float(ln.quantity),
            "CEVRIM": float(factor),
            "STHAR_BF": 0.0,
            "STHAR_NF": 0.0,
            "STHAR_DOVTIP": codes.LOCAL_CURRENCY_CODE,
            "STHAR_DOVFIAT": 0.0,
            "DEPO_KODU": warehouse,
            "DUZELTMETARIHI": header["DUZELTMETARIHI"],
        }

    # -- changes after the first sync ------------------------------------------------------
    def apply(self, change: Change) -> None:
        if self.tz is None:
            self.tz = change.at.tzinfo
        self._load()
        self._prime()
        t = self.t
        if change.kind == "new_invoice" and change.invoice is not None:
            inv = change.invoice
            self._documents([Stamped(inv, change.at)], self._invoice_rows)
            self._move_balance(
                inv.account_code, "CM_ALACT" if inv.kind == "return" else "CM_BORCT", inv.totals_local.total
            )
        elif change.kind == "new_collection" and change.collection is not None:
            c = change.collection
            self._documents([Stamped(c, change.at)], self._collection_rows)
            self._move_balance(c.account_code, "CM_ALACT", c.amount_local)
        elif change.kind == "cancel_invoice":
            self._cancel_invoice(change.number or "", change.at)
        elif change.kind == "discount_value":
            edited = {"DUZELTMEYAPANKUL": USER, "DUZELTMETARIHI": self._naive(change.at)}
            with self.engine.begin() as conn:
                conn.execute(
                    t.KOSULMAS.update()
                    .where(self.text(change.number) == t.KOSULMAS.c.KOSULKODU)
                    .values(DEGER=float(change.value), **edited)  # type: ignore[arg-type]
                )
        else:
            raise ValueError(f"unknown change kind {change.kind!r}")
        self._write_rates()

    def _move_balance(self, account: str, column: str, amount: Decimal) -> None:
        c = self.t.CASABIT.c
        with self.engine.begin() as conn:
            conn.execute(
                self.t.CASABIT.update()
                .where(self.text(account) == c.CARI_KOD)
                .values({column: c[column] + float(amount)})
            )

    def _cancel_invoice(self, number: str, at: dt.datetime) -> None:
        t = self.t
        h, p = t.FATUIRS.c, t.CAHAR.c
        stored = self.text(number)
        with self.engine.connect() as conn:
            account, total = conn.execute(
                sa.select(h.CARI_KODU, h.GENELTOPLAM).where(stored == h.FATIRS_NO, h.FTIRSIP == codes.SALES_INVOICE)
            ).one()
        if t.cancel_column is None:  # this install deletes what it cancels
            self.delete_invoice(number)
        else:
            edited = {"DUZELTMEYAPANKUL": USER, "DUZELTMETARIHI": self._naive(at), **self._flag(True)}
            with self.engine.begin() as conn:
                conn.execute(
                    t.FATUIRS.update().where(stored == h.FATIRS_NO, h.FTIRSIP == codes.SALES_INVOICE).values(edited)
                )
                conn.execute(
                    t.CAHAR.update().where(stored == p.BELGE_NO, p.HAREKET_TURU == codes.CAHAR_INVOICE).values(edited)
                )
        c = t.CASABIT.c
        with self.engine.begin() as conn:
            conn.execute(t.CASABIT.update().where(account == c.CARI_KOD).values(CM_BORCT=c.CM_BORCT - total))

    def _load(self) -> None:
        """Unit factors of the cards, from the database, for a writer that did not write the scenario."""
        if self.loaded:
            return
        s = self.t.STSABIT.c
        clear = self._clear
        with self.engine.connect() as conn:
            for code, first, second, pay, payda in conn.execute(
                sa.select(s.STOK_KODU, s.OLCU_BR1, s.OLCU_BR2, s.PAY_1, s.PAYDA_1)
            ):
                factors = {clear(first): Decimal(1)}
                if second:
                    factors[clear(second)] = Decimal(repr(pay)) / Decimal(repr(payda or 1.0))
                self.units[clear(code)] = (clear(first), factors)
        self.loaded = True

    def _clear(self, stored: str | None) -> str:
        """The scenario's text back from what a card holds (the inverse of `damage`)."""
        if stored is None:
            return ""
        return stored.encode("latin-1").decode("cp1254") if self.text is damage else stored

    # -- test helpers --------------------------------------------------------------------------
    def delete_invoice(self, number: str) -> None:
        """Physically delete a sales invoice, its lines and its posting (Netsis integrations do this)."""
        t = self.t
        h, ln, p = t.FATUIRS.c, t.STHAR.c, t.CAHAR.c
        stored = self.text(number)
        with self.engine.begin() as conn:
            conn.execute(t.STHAR.delete().where(stored == ln.FISNO, ln.STHAR_FTIRSIP == codes.SALES_INVOICE))
            conn.execute(t.CAHAR.delete().where(stored == p.BELGE_NO, p.HAREKET_TURU == codes.CAHAR_INVOICE))
            conn.execute(t.FATUIRS.delete().where(stored == h.FATIRS_NO, h.FTIRSIP == codes.SALES_INVOICE))
