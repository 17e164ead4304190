"""Lays a scenario's facts into Mikro tables, the way Mikro stores them (tests, benchmark, demo).

Not part of the sync path: the adapter never writes. The layout copies what Mikro writes (its column
pages and the SQL trace of its screens, vendor/README.md): no NULLs ('' / 0 / 1899-12-30), amounts in
the movement's currency beside its rate, invoices as a cha_satir_no 0 row in CARI_HESAP_HAREKETLERI
with STOK_HAREKETLERI lines (a service invoice as one row per service), returns as credit-side
purchase invoices with the iade flag, cash-sale invoices closed to a cash box or bank with the
customer in cha_ciro_cari_kodu, orders as one SIPARISLER row per line (and some purchase orders to
suppliers), collections as receipts, slips, incoming wires and closed transfer promises,
opening balances and debit / credit notes as opening slips (29) and dekonts (31 / 32) on the account
(writer_docs.py), quantities and unit prices per base unit, and stock that exists only as
movements. What sites differ in follows the MikroSite it is given.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.mikro import codes
from connectors.mikro.tables import mikro_tables
from connectors.mikro.writer_docs import DocumentRows, MikroSite, pays_at_once
from connectors.sql import Batch, bulk_insert, insert_batched
from mapping.schema import Account
from scenario.facts import Change, Scenario, Stamped

__all__ = ["MikroSite", "MikroWriter", "pays_at_once"]

FLUSH_ROWS = 5000  # document rows gathered before they are inserted, a transaction each
PURCHASE_EVERY = 10  # one scenario order in this many is also written as a purchase order to a supplier
T = TypeVar("T")
_ADDRESS = re.compile(r"^(?P<mahalle>.+? Mah\.) (?P<cadde>.+? No:\S+) (?P<ilce>[^/]+)/(?P<il>.+)$")


def _blank(column: sa.Column[Any]) -> Any:
    """Mikro's value for "nothing" in a column of this type."""
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return None
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return codes.NO_DATE
    if isinstance(kind, sa.String):
        return ""
    return 0


def _f(value: Decimal | None) -> float:
    return float(value or 0)


class MikroWriter(DocumentRows):
    def __init__(
        self,
        engine: Engine,
        *,
        site: MikroSite | None = None,
        sira_digits: int = 6,
        vat_rates: Mapping[int, Decimal] = codes.OBSERVED_VAT_RATES,
        currency_codes: Mapping[int, str] = codes.DEFAULT_CURRENCY_CODES,
        local_currency: str = "TRY",
        risk_view: str = "DEALERSYNC_CARI_RISK",
    ) -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        super().__init__(
            mikro_tables(self.metadata, risk_view),
            site or MikroSite(),
            sira_digits,
            vat_rates,
            currency_codes,
            local_currency,
        )
        self.vat_rates = dict(vat_rates)
        self.blanks = {t.name: {c.name: _blank(c) for c in t.columns} for t in self.t.all()}
        self.price_lists: dict[str, int] = {}  # account -> its customer price list
        self.continuing = False  # True once it writes into a database another writer laid (apply() alone)

    # -- plumbing --------------------------------------------------------------------------
    def create_tables(self) -> None:
        self.metadata.create_all(self.engine)
        self._create_vat_function()

    def _create_vat_function(self) -> None:
        """Mikro's dbo.fn_VergiYuzde where the test database can hold one (SQLite cannot)."""
        cases = " ".join(f"WHEN {p} THEN {rate}" for p, rate in sorted(self.vat_rates.items()))
        backend = self.engine.dialect.name
        with self.engine.begin() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS dbo")
                conn.exec_driver_sql(
                    "CREATE OR REPLACE FUNCTION dbo.fn_VergiYuzde(p integer) RETURNS double precision "
                    f"LANGUAGE sql IMMUTABLE AS $$ SELECT (CASE p {cases} END)::double precision $$"
                )
            elif backend in ("mysql", "mariadb"):
                conn.exec_driver_sql("DROP FUNCTION IF EXISTS fn_VergiYuzde")
                conn.exec_driver_sql(
                    f"CREATE FUNCTION fn_VergiYuzde(p INT) RETURNS DOUBLE DETERMINISTIC RETURN CASE p {cases} END"
                )

    def _insert(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Every column filled: Mikro writes no NULLs."""
        bulk_insert(conn, table, rows, defaults=self.blanks[table.name])

    # -- the scenario ----------------------------------------------------------------------
    def write(self, scenario: Scenario) -> None:
        self.tz = ZoneInfo(scenario.timezone)
        self.as_of = scenario.as_of
        with self.engine.begin() as conn:
            self._masters(conn, scenario)
        self._documents(scenario.orders(), self._order_rows)
        if self.suppliers:
            purchases = (o for n, o in enumerate(scenario.orders()) if n % PURCHASE_EVERY == 0)
            self._documents(purchases, self._purchase_rows)
        self._documents(scenario.invoices(), self._invoice_rows)
        self._documents(scenario.stock_slips(), self._slip_rows)
        self._documents(scenario.collections(), self._collection_rows)
        self._documents(scenario.notes(), self._note_rows)
        with self.engine.begin() as conn:
            self._stock(conn, scenario)
            self._risk(conn, scenario)

    def _masters(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        # The scenario gives warehouses no dates: they exist before any goods are kept in them, not since as_of
        # (a warehouse stamped as_of would read as edited in the last minutes before every later sync).
        opened = min((st.created_at for st in s.products), default=s.as_of)
        self._insert(
            conn,
            t.DEPOLAR,
            [self._row(t.DEPOLAR, "dep", opened, None, dep_no=w.number + 1, dep_adi=w.name) for w in s.warehouses],
        )
        self._discounts(conn, s)
        plans: dict[str, int] = {}
        accounts, addresses = [], []
        for st in s.accounts:
            a = st.record
            self.accounts[a.code] = a
            if a.kind == "supplier":
                self.suppliers.append(a.code)
            if a.payment_terms and a.payment_terms not in plans:
                plans[a.payment_terms] = len(plans) + 1
            accounts.append(self._account(st, plans.get(a.payment_terms or "", 0)))
            addresses.append(self._address(st))
        self._insert(
            conn,
            t.ODEME_PLANLARI,
            [
                self._row(t.ODEME_PLANLARI, "odp", s.as_of, None, odp_no=n, odp_kodu=code, odp_adi=code)
                for code, n in plans.items()
            ],
        )
        self._insert(conn, t.CARI_HESAPLAR, accounts)
        self._insert(conn, t.CARI_HESAP_ADRESLERI, addresses)
        self._products(conn, s)
        self._general_price_lists(conn, s)

    def _account(self, st: Stamped[Account], plan: int) -> dict[str, Any]:
        a, t = st.record, self.t
        supplier = a.kind == "supplier"
        return self._row(
            t.CARI_HESAPLAR,
            "cari",
            st.created_at,
            st.modified_at,
            cari_kod=a.code,
            cari_unvan1=a.title,
            cari_baglanti_tipi=1 if supplier else 7 if a.parent_code else 4,
            cari_doviz_cinsi=self._code(a.currency or "TRY"),
            cari_vdaire_adi=a.tax_office or "",
            cari_vdaire_no=a.tax_id or "",
            cari_VergiKimlikNo=a.tax_id if a.tax_id_kind == "VKN" else "",
            cari_satis_fk=self.price_lists.get(a.code, 1),
            cari_odemeplan_no=plan,
            cari_fatura_adres_no=1,
            cari_Ana_cari_kodu=a.parent_code or "",
            cari_bolge_kodu=a.region_code or "",
            cari_grup_kodu=a.group_code or "",
            cari_temsilci_kodu=a.sales_rep_code or "",
            cari_cari_kilitli_flg=a.blocked,
            cari_efatura_fl=bool(a.e_invoice),
            cari_EMail=a.email or "",
            cari_CepTel=a.phone or "",
            cari_KrediRiskTakibiVar_flg=not supplier,
            cari_sirket_turu=codes.NATURAL_PERSON if a.is_individual else 6,
            cari_faal_terk=0 if a.active else codes.CEASED,
        )

    def _address(self, st: Stamped[Account]) -> dict[str, Any]:
        a = st.record
        parts = _ADDRESS.match(a.address or "")
        if parts is None:
            raise ValueError(f"address of {a.code} is not 'X Mah. Y No:N District/City'")
        return self._row(
            self.t.CARI_HESAP_ADRESLERI,
            "adr",
            st.created_at,
            st.modified_at,
            adr_cari_kod=a.code,
            adr_adres_no=1,
            adr_ulke="TÜRKİYE" if a.country == "TR" else a.country or "",
            **{f"adr_{k}": v for k, v in parts.groupdict().items()},
        )

    def _products(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        products, barcodes = [], []
        passive = bool(self.site.passive_value)
        master = bool(self.site.master_barcode_value)
        for st in s.products:
            p = st.record
            units = self.units[p.code] = {}
            names: dict[str, Any] = {}
            for pointer, u in enumerate(p.units[:3], start=1):
                units[u.unit] = (pointer, u.factor)
                names[f"sto_birim{pointer}_ad"] = u.unit
                # Mikro keeps the factor of a larger unit negative ("1 KOLİ = 12 ADET").
                names[f"sto_birim{pointer}_katsayi"] = 1.0 if pointer == 1 else -float(u.factor)
                codes_ = p.barcodes if pointer == 1 else [u.barcode] if u.barcode else []
                for n, code in enumerate(codes_):
                    barcodes.append(
                        self._row(
                            t.BARKOD_TANIMLARI,
                            "bar",
                            st.created_at,
                            st.modified_at,
                            bar_kodu=code,
                            bar_stokkodu=p.code,
                            bar_birimpntr=pointer,
                            bar_master=master if n == 0 else not master,
                        )
                    )
            pointer = self._pointer(p.vat_rate)
            products.append(
                self._row(
                    t.STOKLAR,
                    "sto",
                    st.created_at,
                    st.modified_at,
                    sto_kod=p.code,
                    sto_isim=p.name,
                    sto_perakende_vergi=pointer,
                    sto_toptan_vergi=pointer,
                    sto_kategori_kodu=p.category_code or "",
                    sto_anagrup_kod=p.group_code or "",
                    sto_marka_kodu=p.brand or "",
                    sto_pasif_fl=passive if not p.active else not passive,
                    **names,
                )
            )
        # A stock card deleted in Mikro (sto_iptal): the products stream must send it as a delete.
        products.append(
            self._row(
                t.STOKLAR, "sto", s.as_of, None, sto_kod="IPTAL-000001", sto_isim="İptal edilmiş kart", sto_iptal=True
            )
        )
        self._insert(conn, t.STOKLAR, products)
        self._insert(conn, t.BARKOD_TANIMLARI, barcodes)

    def _discounts(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        rules, lists, prices = [], [], []
        # Customers' own lists are numbered after the general ones (price_lists), which hold none of their prices.
        first = max(self.site.general_price_lists, default=0) + 1
        for st in s.discounts:
            d = st.record
            if d.kind == "fixed_price":
                number = self.price_lists[d.account_code or ""] = first + len(lists)
                lists.append(
                    self._row(
                        t.STOK_SATIS_FIYAT_LISTE_TANIMLARI,
                        "sfl",
                        st.created_at,
                        None,
                        sfl_sirano=number,
                        sfl_aciklama=d.code,
                    )
                )
                prices.append(
                    self._row(
                        t.STOK_SATIS_FIYAT_LISTELERI,
                        "sfiyat",
                        st.created_at,
                        st.modified_at,
                        sfiyat_stokkod=d.product_code,
                        sfiyat_listesirano=number,
                        sfiyat_birim_pntr=1,
                        sfiyat_fiyati=float(d.value),
                        sfiyat_doviz=self._code(d.currency or "TRY"),
                        sfiyat_iptal=not d.active,
                    )
                )
                continue
            rules.append(
                self._row(
                    t.STOK_CARI_ISKONTO_TANIMLARI,
                    "isk",
                    st.created_at,
                    st.modified_at,
                    isk_isim=d.code,
                    isk_cari_kod=d.account_code or d.account_group_code or "",
                    isk_stok_kod=d.product_code or d.product_group_code or "",
                    isk_isk1_uygulama=2 if d.kind == "amount" else 0,
                    isk_isk1_yuzde=float(d.value),
                    # Mikro's discount definitions have no passive flag: an inactive rule is cancelled.
                    isk_iptal=not d.active,
                )
            )
        self._insert(conn, t.STOK_CARI_ISKONTO_TANIMLARI, rules)
        self._insert(conn, t.STOK_SATIS_FIYAT_LISTE_TANIMLARI, lists)
        self._insert(conn, t.STOK_SATIS_FIYAT_LISTELERI, prices)

    def _general_price_lists(self, conn: sa.Connection, s: Scenario) -> None:
        """The scenario's price lists as Mikro keeps them: a price row has no dates, so each list and validity is a
        list of its own (sfl_sirano), its header holding the name, the VAT flag and the first and last day."""
        t = self.t
        order = list(dict.fromkeys(e.list_code for e in s.price_lists))
        # The current list of each first, then its older validities, newest first.
        heads = sorted(
            {(e.list_code, e.valid_from): e for e in s.price_lists}.values(),
            key=lambda e: (order.index(e.list_code), -(e.valid_from or dt.date.min).toordinal()),
        )
        if len(heads) > len(self.site.general_price_lists):
            raise ValueError(f"{len(heads)} general price lists, the site numbers {self.site.general_price_lists}")
        numbers: dict[tuple[str, dt.date | None], int] = {}
        headers, prices = [], []
        for head, number in zip(heads, self.site.general_price_lists, strict=False):
            numbers[head.list_code, head.valid_from] = number
            headers.append(
                self._row(
                    t.STOK_SATIS_FIYAT_LISTE_TANIMLARI,
                    "sfl",
                    s.as_of,
                    None,
                    sfl_sirano=number,
                    sfl_aciklama=head.list_name or head.list_code,
                    sfl_kdvdahil=bool(head.vat_included),  # Mikro: 1 = the prices include VAT
                    sfl_ilktarih=_day(head.valid_from),
                    sfl_sontarih=_day(head.valid_to),
                )
            )
        for e in s.price_lists:
            pointer = self.units.get(e.product_code, {}).get(e.unit or "")
            if pointer is None:
                raise ValueError(f"{e.product_code} has no unit {e.unit!r} for its {e.list_code} price")
            # Mikro has no minimum quantity on a price: a per-case price is the price of the case unit.
            prices.append(
                self._row(
                    t.STOK_SATIS_FIYAT_LISTELERI,
                    "sfiyat",
                    s.as_of,
                    None,
                    sfiyat_stokkod=e.product_code,
                    sfiyat_listesirano=numbers[e.list_code, e.valid_from],
                    sfiyat_birim_pntr=pointer[0],
                    sfiyat_fiyati=float(e.price),
                    sfiyat_doviz=self._code(e.currency),
                    sfiyat_iptal=not e.active,
                )
            )
        self._insert(conn, t.STOK_SATIS_FIYAT_LISTE_TANIMLARI, headers)
        self._insert(conn, t.STOK_SATIS_FIYAT_LISTELERI, prices)

    def _documents(self, facts: Iterable[T], rows_of: Callable[[T, Batch], int]) -> None:
        insert_batched(self.engine, facts, rows_of, self._table, flush_rows=FLUSH_ROWS, insert=self._insert)

    def _table(self, name: str) -> sa.Table:
        return getattr(self.t, name)

    # -- documents -------------------------------------------------------------------------
    def _stock(self, conn: sa.Connection, s: Scenario) -> None:
        """Count slips (Depo Giriş / Çıkış Fişi of sth_cins 10 Sayım, as Mikro's page names them) that bring each
        item's movements to the scenario's stock on hand: the count a site makes when the goods were counted."""
        t = self.t
        target = {(level.product_code, int(level.warehouse_code)): level.on_hand for level in s.stock_levels}
        rows = []
        for n, key in enumerate(sorted(set(target) | set(self.stock)), start=1):
            product, depot = key
            change = target.get(key, Decimal(0)) - self.stock.get(key, Decimal(0))
            if not change:
                continue
            entry = change > 0
            rows.append(
                self._row(
                    t.STOK_HAREKETLERI,
                    "sth",
                    s.as_of - dt.timedelta(days=1),
                    None,
                    sth_tarih=self._local(s.as_of - dt.timedelta(days=1)),
                    sth_tip=codes.IN if entry else codes.OUT,
                    sth_cins=codes.COUNT_CINS,
                    sth_evraktip=codes.WAREHOUSE_ENTRY if entry else codes.WAREHOUSE_EXIT,
                    sth_evrakno_seri="SAY",
                    sth_evrakno_sira=n,
                    sth_stok_kod=product,
                    sth_miktar=float(abs(change)),
                    sth_miktar2=float(abs(change)),
                    sth_birim_pntr=1,
                    sth_har_doviz_kuru=1.0,
                    sth_giris_depo_no=depot if entry else 0,
                    sth_cikis_depo_no=0 if entry else depot,
                )
            )
        self._insert(conn, t.STOK_HAREKETLERI, rows)

    def _risk(self, conn: sa.Connection, s: Scenario) -> None:
        at = self._local(s.as_of)
        self._insert(
            conn,
            self.t.RISK,
            [
                {
                    "cari_kod": r.account_code,
                    "risk_limiti": float(r.limit),
                    "teminat": _f(r.collateral),
                    "lastup_date": at,
                }
                for r in s.risk_limits
            ],
        )

    # -- changes after the first sync ------------------------------------------------------
    def apply(self, change: Change) -> None:
        self.tz = self.tz or change.at.tzinfo  # type: ignore[assignment]
        self.as_of = self.as_of or change.at
        self._load_lookups()
        if change.kind == "new_invoice" and change.invoice is not None:
            self._documents([Stamped(change.invoice, change.at)], self._invoice_rows)
        elif change.kind == "new_collection" and change.collection is not None:
            self._documents([Stamped(change.collection, change.at)], self._collection_rows)
        elif change.kind == "cancel_invoice":
            self.cancel_invoice(change.number or "", change.at)
        elif change.kind == "discount_value":
            self._discount_value(change.number or "", Decimal(str(change.value)), change.at)
        else:
            raise ValueError(f"unknown change kind {change.kind!r}")

    def cancel_invoice(self, number: str, at: dt.datetime) -> None:
        h, s = self.t.CARI_HESAP_HAREKETLERI, self.t.STOK_HAREKETLERI
        seri, sira = self._split(number)
        stamp = self._local(at)
        document = sa.and_(
            h.c.cha_evrak_tip.in_((codes.SALES_INVOICE, codes.PURCHASE_INVOICE)),
            h.c.cha_evrakno_seri == seri,
            h.c.cha_evrakno_sira == sira,
        )
        with self.engine.begin() as conn:
            guids = list(conn.execute(sa.select(h.c.cha_Guid).where(document)).scalars())
            conn.execute(h.update().where(document).values(cha_iptal=True, cha_lastup_date=stamp))
            conn.execute(s.update().where(s.c.sth_fat_uid.in_(guids)).values(sth_iptal=True, sth_lastup_date=stamp))

    def _discount_value(self, code: str, value: Decimal, at: dt.datetime) -> None:
        i = self.t.STOK_CARI_ISKONTO_TANIMLARI
        with self.engine.begin() as conn:
            done = conn.execute(
                i.update()
                .where(i.c.isk_isim == code)
                .values(isk_isk1_yuzde=float(value), isk_lastup_date=self._local(at))
            ).rowcount
            if not done:
                raise ValueError(f"no discount definition named {code!r}")

    def _taken(self, table: sa.Table, column: str, guid: str) -> bool:
        # A writer that did not write the scenario counts its Guids from 1 again: skip those the database holds.
        if not self.continuing:
            return False
        with self.engine.connect() as conn:
            return conn.execute(sa.select(table.c[column]).where(table.c[column] == guid)).first() is not None

    def _load_lookups(self) -> None:
        """Units and accounts from the database, for a writer that did not write the scenario."""
        if self.accounts:
            return
        self.continuing = True
        t = self.t
        with self.engine.connect() as conn:
            for r in conn.execute(sa.select(t.STOKLAR)):
                units = self.units[r.sto_kod] = {}
                for pointer in (1, 2, 3):
                    name = getattr(r, f"sto_birim{pointer}_ad")
                    if name:
                        factor = Decimal(repr(abs(getattr(r, f"sto_birim{pointer}_katsayi") or 1.0)))
                        units[name] = (pointer, factor)
            # Record numbers go on from the highest the database holds, as Mikro's identity does.
            last = conn.execute(sa.select(sa.func.max(t.CARI_HESAP_HAREKETLERI.c.cha_RECno))).scalar_one()
            self.recno = itertools.count((last or 0) + 1)
            c, p = t.CARI_HESAPLAR.c, t.ODEME_PLANLARI.c
            rows = conn.execute(
                sa.select(c.cari_kod, c.cari_unvan1, c.cari_efatura_fl, p.odp_kodu).select_from(
                    t.CARI_HESAPLAR.outerjoin(t.ODEME_PLANLARI, p.odp_no == c.cari_odemeplan_no)
                )
            )
            for r in rows:
                self.accounts[r.cari_kod] = Account(
                    code=r.cari_kod, title=r.cari_unvan1, payment_terms=r.odp_kodu, e_invoice=bool(r.cari_efatura_fl)
                )

    # -- test helpers --------------------------------------------------------------------------
    def delete_invoice(self, number: str) -> None:
        """Physically delete an invoice's rows and lines (integrations do this)."""
        h, s = self.t.CARI_HESAP_HAREKETLERI, self.t.STOK_HAREKETLERI
        seri, sira = self._split(number)
        document = sa.and_(
            h.c.cha_evrak_tip.in_((codes.SALES_INVOICE, codes.PURCHASE_INVOICE)),
            h.c.cha_evrakno_seri == seri,
            h.c.cha_evrakno_sira == sira,
        )
        with self.engine.begin() as conn:
            guids = list(conn.execute(sa.select(h.c.cha_Guid).where(document)).scalars())
            conn.execute(s.delete().where(s.c.sth_fat_uid.in_(guids)))
            conn.execute(h.delete().where(document))


def _day(day: dt.date | None) -> dt.datetime:
    """A list's first or last day as Mikro's DateTime; an open end is Mikro's blank date."""
    return codes.NO_DATE if day is None else dt.datetime(day.year, day.month, day.day)
