"""Lays a scenario's facts into Logo tables, the way Logo stores them (tests, benchmark, demo).

Not part of the sync path: the adapter never writes. The layout is the reading the adapter
relies on: local-currency FLOAT amounts, TRCURR/TRRATE/TRNET for the document currency, packed
TIME_, CAPIBLOCK stamps (date at midnight plus hour/minute/second), CANCELLED flags, CLFLINE
postings for invoices (module 4), collections and account slips (module 5: opening slips and debit
and credit notes), PAYTRANS due-date items and closing links, and material slips (STFICHE + STLINE:
purchase receipts TRCODE 1, warehouse transfers TRCODE 25 as one line with SOURCEINDEX and DESTINDEX).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.logo import codes
from connectors.logo.tables import LogoTables, logo_tables
from connectors.sql import Batch, bulk_insert, insert_batched
from mapping.schema import Collection, Invoice, Order
from scenario.facts import Change, Note, Scenario, Stamped
from scenario.stock import StockSlip

__all__ = ["LogoWriter"]

FLUSH_ROWS = 20_000  # document rows gathered before they are inserted
Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")
# Collection method -> (MODULENR, TRCODE), the first default pair of each method.
METHOD_CODES = {m: pair for pair, m in reversed(codes.parse_collection_codes(codes.DEFAULT_COLLECTION_CODES).items())}
# Note kind -> (CLFLINE TRCODE of an account slip, module 5; SIGN): açılış fişi, borç dekontu, alacak dekontu.
NOTE_CODES = {"opening": (14, 0), "debit_note": (3, 0), "credit_note": (4, 1)}
PAYMENT_TYPES = {"cash": 1, "bank_transfer": 1, "cheque": 2, "promissory_note": 3, "card": 4, "other": 1}


def _stamp(created: dt.datetime, modified: dt.datetime | None, tz: Any) -> dict[str, Any]:
    c = created.astimezone(tz)
    out: dict[str, Any] = {
        "CAPIBLOCK_CREATEDBY": 1,
        "CAPIBLOCK_CREADEDDATE": dt.datetime(c.year, c.month, c.day),
        "CAPIBLOCK_CREATEDHOUR": c.hour,
        "CAPIBLOCK_CREATEDMIN": c.minute,
        "CAPIBLOCK_CREATEDSEC": c.second,
        "CAPIBLOCK_MODIFIEDBY": 0,
        "CAPIBLOCK_MODIFIEDDATE": None,
        "CAPIBLOCK_MODIFIEDHOUR": 0,
        "CAPIBLOCK_MODIFIEDMIN": 0,
        "CAPIBLOCK_MODIFIEDSEC": 0,
    }
    if modified is not None:
        out.update(_modified(modified, tz))
    return out


def _modified(at: dt.datetime, tz: Any) -> dict[str, Any]:
    m = at.astimezone(tz)
    return {
        "CAPIBLOCK_MODIFIEDBY": 1,
        "CAPIBLOCK_MODIFIEDDATE": dt.datetime(m.year, m.month, m.day),
        "CAPIBLOCK_MODIFIEDHOUR": m.hour,
        "CAPIBLOCK_MODIFIEDMIN": m.minute,
        "CAPIBLOCK_MODIFIEDSEC": m.second,
    }


def _day(d: dt.date | None) -> dt.datetime | None:
    return None if d is None else dt.datetime(d.year, d.month, d.day)


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class LogoWriter:
    def __init__(
        self,
        engine: Engine,
        firm: int,
        period: int,
        *,
        local_currency: str = "TRY",
        currency_codes: Mapping[int, str] | None = None,
    ) -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        self.t: LogoTables = logo_tables(self.metadata, firm, period)
        self.firm = firm
        self.period = period
        table = dict(currency_codes or codes.DEFAULT_CURRENCY_CODES)
        self.currency_code = {iso: code for code, iso in table.items()}
        self.currency_code[local_currency] = codes.LOCAL_CURRENCY_CODE
        self.tz: Any = None
        self.next_ref: dict[str, int] = {}
        self.refs: dict[str, dict[str, int]] = {}  # table -> code -> LOGICALREF
        self.units: dict[tuple[str, str], int] = {}  # (base unit, unit) -> UNITSETL ref
        self.warehouses: dict[str, int] = {}  # scenario warehouse code -> Logo NR
        self.invoice_pay: dict[str, int] = {}  # invoice number -> its PAYTRANS ref
        self.balances: dict[str, list[Decimal]] = {}  # account code -> [debit, credit], local
        self.base_units: dict[str, str] = {}  # product code -> base unit

    # -- plumbing --------------------------------------------------------------------------
    def create_tables(self) -> None:
        self.metadata.create_all(self.engine)

    def _prime_refs(self) -> None:
        """Next LOGICALREF of every table, read before writing: a second connection asking mid-write
        would wait on the writer's own lock (SQLite) and fail with "database is locked"."""
        with self.engine.connect() as conn:
            for table in self.metadata.sorted_tables:
                if "LOGICALREF" in table.c and table.name not in self.next_ref:
                    top = conn.execute(sa.select(sa.func.max(table.c.LOGICALREF))).scalar()
                    self.next_ref[table.name] = (top or 0) + 1

    def _ref(self, table: sa.Table) -> int:
        n = self.next_ref[table.name]
        self.next_ref[table.name] = n + 1
        return n

    def _code(self, trcurr: str) -> int:
        code = self.currency_code.get(trcurr)
        if code is None:
            raise ValueError(f"no Logo currency code for {trcurr}: pass currency_codes")
        return code

    # -- the scenario ----------------------------------------------------------------------
    def write(self, scenario: Scenario) -> None:
        from zoneinfo import ZoneInfo

        self.tz = ZoneInfo(scenario.timezone)
        self._prime_refs()
        with self.engine.begin() as conn:
            self._masters(conn, scenario)
        self._documents(scenario.orders(), self._order_rows)
        self._documents(scenario.invoices(), self._invoice_rows)
        self._documents(scenario.collections(), self._collection_rows)
        self._documents(scenario.notes(), self._note_rows)
        self._documents(scenario.stock_slips(), self._slip_rows)
        with self.engine.begin() as conn:
            self._balances(conn, scenario)

    def _masters(self, conn: sa.Connection, s: Scenario) -> None:
        t, firm = self.t, self.firm
        self.warehouses = {w.code: w.number for w in s.warehouses}
        bulk_insert(
            conn,
            t.CAPIWHOUSE,
            [
                {"LOGICALREF": self._ref(t.CAPIWHOUSE), "FIRMNR": firm, "NR": w.number, "NAME": w.name}
                for w in s.warehouses
            ],
        )
        bulk_insert(
            conn,
            t.CAPIPERIOD,
            [
                {
                    "LOGICALREF": self._ref(t.CAPIPERIOD),
                    "FIRMNR": firm,
                    "NR": self.period,
                    "ACTIVE": 0,
                    "BEGDATE": dt.datetime(s.as_of.year - 2, 1, 1),
                    "ENDDATE": dt.datetime(s.as_of.year, 12, 31),
                }
            ],
        )
        reps = self.refs.setdefault("SLSMAN", {})
        rows = []
        for rep in s.sales_reps:
            reps[rep.code] = ref = self._ref(t.SLSMAN)
            rows.append({"LOGICALREF": ref, "CODE": rep.code, "DEFINITION_": rep.name, "FIRMNR": firm, "ACTIVE": 0})
        bulk_insert(conn, t.SLSMAN, rows)
        self._accounts(conn, s)
        self._products(conn, s)
        self._discounts(conn, s)

    def _accounts(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        refs = self.refs.setdefault("CLCARD", {})
        plans: dict[str, int] = {}
        placeholder = {
            "LOGICALREF": self._ref(t.CLCARD),
            "CODE": codes.PLACEHOLDER_CODE,
            "CARDTYPE": 1,
            "ACTIVE": 0,
            "DEFINITION_": codes.PLACEHOLDER_CODE,
            **_stamp(s.as_of, None, self.tz),
        }
        for st in s.accounts:
            refs[st.record.code] = self._ref(t.CLCARD)
        rows, rels, plan_rows = [placeholder], [], []
        for st in s.accounts:
            a = st.record
            ref = refs[a.code]
            pay = None
            if a.payment_terms:
                pay = plans.get(a.payment_terms)
                if pay is None:
                    pay = plans[a.payment_terms] = self._ref(t.PAYPLANS)
                    plan_rows.append(
                        {
                            "LOGICALREF": pay,
                            "CODE": a.payment_terms,
                            "DEFINITION_": a.payment_terms,
                            **_stamp(st.created_at, None, self.tz),
                        }
                    )
            rows.append(
                {
                    "LOGICALREF": ref,
                    "ACTIVE": 0 if a.active else 1,
                    "CARDTYPE": codes.ACCOUNT_CARDTYPES[a.kind],
                    "CODE": a.code,
                    "DEFINITION_": a.title,
                    "SPECODE": a.group_code,
                    "SPECODE2": a.region_code,
                    "ADDR1": a.address,
                    "CITY": a.city,
                    "COUNTRY": "TÜRKİYE" if a.country == "TR" else a.country,
                    "COUNTRYCODE": a.country,
                    "TELNRS1": a.phone,
                    "TAXNR": None if a.is_individual else a.tax_id,
                    "TCKNO": a.tax_id if a.is_individual else None,
                    "TAXOFFICE": a.tax_office,
                    "ISPERSCOMP": 1 if a.is_individual else 0,
                    "CCURRENCY": self._code(a.currency or "TRY"),
                    "DISCRATE": _f(a.discount_rate) or 0.0,
                    "PAYMENTREF": pay,
                    "BLOCKED": 0 if a.blocked else 1,  # LDDS: "Engellenmiş; 0 Evet; 1 Hayır"
                    "EMAILADDR": a.email,
                    "ACCEPTEINV": 1 if a.e_invoice else 0,
                    "PARENTCLREF": refs.get(a.parent_code or "", 0),
                    **_stamp(st.created_at, st.modified_at, self.tz),
                }
            )
            if a.sales_rep_code:
                rels.append(
                    {
                        "LOGICALREF": self._ref(t.SLSCLREL),
                        "CLIENTREF": ref,
                        "SALESMANREF": self.refs["SLSMAN"][a.sales_rep_code],
                    }
                )
        bulk_insert(conn, t.PAYPLANS, plan_rows)
        bulk_insert(conn, t.CLCARD, rows)
        bulk_insert(conn, t.SLSCLREL, rels)

    def _price_lists(self, s: Scenario) -> list[dict[str, Any]]:
        """The price lists as price cards restricted to no dealer: CODE and DEFINITION_ name the list (Logo has
        no list header), one card per item, unit and validity; entered a quarter's day before it starts."""
        t, items = self.t, self.refs["ITEMS"]
        base_units = {p.record.code: p.record.base_unit or "" for p in s.products}
        cards = []
        for e in s.price_lists:
            entered = dt.datetime.combine(e.valid_from or s.as_of.date(), dt.time(9), tzinfo=self.tz)
            cards.append(
                {
                    "LOGICALREF": self._ref(t.PRCLIST),
                    "CODE": e.list_code,
                    "DEFINITION_": e.list_name,
                    "PTYPE": codes.PRCLIST_SALES,
                    "CARDREF": items[e.product_code],
                    "UOMREF": self._unit(base_units[e.product_code], e.unit or base_units[e.product_code]),
                    "PRICE": float(e.price),
                    "CURRENCY": self._code(e.currency),
                    "INCVAT": 1 if e.vat_included else 0,
                    "PRIORITY": 0,
                    "ACTIVE": 0 if e.active else 1,
                    "BEGDATE": _day(e.valid_from),
                    "ENDDATE": _day(e.valid_to),
                    "CLIENTCODE": "",
                    "CLSPECODE": "",
                    "MINAMOUNT": _f(e.min_quantity),
                    **_stamp(min(entered - dt.timedelta(days=1), s.as_of), None, self.tz),
                }
            )
        return cards

    def _unit(self, base: str, unit: str) -> int:
        return self.units[(base, unit)]

    def _products(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        items = self.refs.setdefault("ITEMS", {})
        marks: dict[str, int] = {}
        sets: dict[str, int] = {}
        rows: dict[str, list[dict[str, Any]]] = {
            n: [] for n in ("ITEMS", "MARK", "UNITSETF", "UNITSETL", "ITMUNITA", "UNITBARCODE", "SRVCARD")
        }

        def unit_line(base: str, unit: str, factor: Decimal) -> int:
            if base not in sets:
                sets[base] = self._ref(t.UNITSETF)
                rows["UNITSETF"].append({"LOGICALREF": sets[base], "CODE": base, "NAME": base, "CARDTYPE": 1})
            key = (base, unit)
            if key not in self.units:
                self.units[key] = self._ref(t.UNITSETL)
                rows["UNITSETL"].append(
                    {
                        "LOGICALREF": self.units[key],
                        "CODE": unit,
                        "NAME": unit,
                        "UNITSETREF": sets[base],
                        "LINENR": len([k for k in self.units if k[0] == base]),
                        "MAINUNIT": 1 if unit == base else 0,
                        "CONVFACT1": 1.0,
                        "CONVFACT2": float(factor) if unit != base else 1.0,
                    }
                )
            return self.units[key]

        for st in s.products:
            p = st.record
            base = p.base_unit or "ADET"
            items[p.code] = ref = self._ref(t.ITEMS)
            self.base_units[p.code] = base
            mark = marks.get(p.brand or "")
            if p.brand and mark is None:
                mark = marks[p.brand] = self._ref(t.MARK)
                rows["MARK"].append({"LOGICALREF": mark, "CODE": p.brand, "DESCR": p.brand})
            rows["ITEMS"].append(
                {
                    "LOGICALREF": ref,
                    "ACTIVE": 0 if p.active else 1,
                    "CARDTYPE": codes.ITEM_CARDTYPE_GOODS,
                    "CODE": p.code,
                    "NAME": p.name,
                    "STGRPCODE": p.category_code,
                    "SPECODE": p.group_code,
                    "MARKREF": mark,
                    "VAT": _f(p.vat_rate),
                    "UNITSETREF": None,
                    **_stamp(st.created_at, st.modified_at, self.tz),
                }
            )
            for n, u in enumerate(p.units, start=1):
                line = unit_line(base, u.unit, u.factor)
                rows["ITMUNITA"].append(
                    {
                        "LOGICALREF": (ua := self._ref(t.ITMUNITA)),
                        "ITEMREF": ref,
                        "LINENR": n,
                        "UNITLINEREF": line,
                        "CONVFACT1": 1.0,
                        "CONVFACT2": float(u.factor),
                    }
                )
                barcodes = p.barcodes if u.unit == base else [u.barcode] if u.barcode else []
                for k, barcode in enumerate(barcodes, start=1):
                    rows["UNITBARCODE"].append(
                        {
                            "LOGICALREF": self._ref(t.UNITBARCODE),
                            "ITEMREF": ref,
                            "UNITLINEREF": line,
                            "ITMUNITAREF": ua,
                            "LINENR": k,
                            "BARCODE": barcode,
                        }
                    )
        # A material class card: the products stream must skip it.
        rows["ITEMS"].append(
            {
                "LOGICALREF": self._ref(t.ITEMS),
                "ACTIVE": 0,
                "CARDTYPE": 20,
                "CODE": "SINIF-01",
                "NAME": "Malzeme sınıfı",
                **_stamp(s.as_of, None, self.tz),
            }
        )
        services = self.refs.setdefault("SRVCARD", {})
        for svc in s.services:
            services[svc.code] = ref = self._ref(t.SRVCARD)
            unit_line(svc.unit, svc.unit, Decimal(1))
            rows["SRVCARD"].append(
                {
                    "LOGICALREF": ref,
                    "CARDTYPE": 2,
                    "CODE": svc.code,
                    "DEFINITION_": svc.name,
                    "ACTIVE": 0,
                    "VAT": _f(svc.vat_rate),
                }
            )
        for name, table_rows in rows.items():
            bulk_insert(conn, getattr(t, name), table_rows)

    def _discounts(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        prices, cards = [], []
        for st in s.discounts:
            d = st.record
            common = {
                "CODE": d.code,
                "DEFINITION_": d.code,
                "PRIORITY": d.priority,
                "ACTIVE": 0 if d.active else 1,
                "BEGDATE": _day(d.valid_from),
                "ENDDATE": _day(d.valid_to),
                "CLIENTCODE": d.account_code,
                "CLSPECODE": d.account_group_code,
                "MINAMOUNT": _f(d.min_quantity),
                **_stamp(st.created_at, st.modified_at, self.tz),
            }
            if d.kind == "fixed_price":
                prices.append(
                    {
                        **common,
                        "LOGICALREF": self._ref(t.PRCLIST),
                        "PTYPE": codes.PRCLIST_SALES,
                        "CARDREF": self.refs["ITEMS"][d.product_code or ""],
                        "PRICE": float(d.value),
                        "CURRENCY": self._code(d.currency or "TRY"),
                        "INCVAT": 0,
                    }
                )
            else:
                cards.append(
                    {
                        **common,
                        "LOGICALREF": self._ref(t.DISCOUNTS),
                        "ITEMCODE": d.product_code,
                        "ITMSPECODE": d.product_group_code,
                        "ISAMOUNT": 1 if d.kind == "amount" else 0,
                        "DISCRATE": float(d.value) if d.kind == "percent" else 0.0,
                        "AMOUNT": float(d.value) if d.kind == "amount" else 0.0,
                        "CURRENCY": self._code(d.currency) if d.currency else None,
                    }
                )
        prices.extend(self._price_lists(s))
        bulk_insert(conn, t.PRCLIST, prices)
        # Percent and amount rules have no Logo table a SELECT can read (campaigns, formulas): the writer
        # stands in for the integrator's discount view (discount_view) with a table of that shape.
        bulk_insert(conn, t.DISCOUNTS, [{k: v for k, v in c.items() if k != "DEFINITION_"} for c in cards])

    # -- documents -------------------------------------------------------------------------
    def _documents(self, facts: Iterable[Any], make: Any) -> None:
        insert_batched(self.engine, facts, make, self._table, flush_rows=FLUSH_ROWS)

    def _table(self, name: str) -> sa.Table:
        return getattr(self.t, name)

    def _header(self, fact: Stamped[Any], doc: Invoice | Order, ref: int) -> dict[str, Any]:
        issued = doc.issued_at.astimezone(self.tz) if doc.issued_at else None
        tl, tot = doc.totals_local, doc.totals
        return {
            "LOGICALREF": ref,
            "FICHENO": doc.number,
            "DATE_": _day(doc.date),
            "TIME_": codes.packed(issued) if issued else 0,
            "CLIENTREF": self.refs["CLCARD"][doc.account_code],
            "SOURCEINDEX": self.warehouses.get(doc.warehouse_code or ""),
            "SALESMANREF": self.refs["SLSMAN"].get(doc.sales_rep_code or ""),
            "GROSSTOTAL": float(tl.gross),
            "TOTALDISCOUNTS": float(tl.discount),
            "TOTALDISCOUNTED": float(tl.net),
            "TOTALVAT": float(tl.vat),
            "NETTOTAL": float(tl.total),
            "TRCURR": self._code(doc.currency),
            "TRRATE": float(doc.rate),
            "TRNET": float(tot.total),
            **_stamp(fact.created_at, fact.modified_at, self.tz),
        }

    def _line(self, doc: Invoice | Order, ln: Any, trcurr: int) -> dict[str, Any]:
        rate = doc.rate
        local = rate == 1

        def loc(v: Decimal, q: Decimal = Q2) -> float:
            return float(v if local else (v * rate).quantize(q, ROUND_HALF_UP))

        service = ln.kind == "service"
        base = None if service else self.base_units.get(ln.product_code or "")
        stock = self.refs["SRVCARD" if service else "ITEMS"].get(ln.product_code or "")
        return {
            "LINETYPE": codes.LINE_TYPES[ln.kind],
            "STOCKREF": stock,
            "AMOUNT": float(ln.quantity),
            "PRICE": loc(ln.unit_price, Q4),
            "PRPRICE": float(ln.unit_price),
            "PRCURR": trcurr,
            "TOTAL": loc(ln.gross),
            "DISTDISC": loc(ln.discount),
            "LINENET": float(ln.net_local),
            "VAT": _f(ln.vat_rate),
            "VATAMNT": loc(ln.vat),
            "UOMREF": self.units.get((base or ln.unit, ln.unit)),
            "SOURCEINDEX": self.warehouses.get(ln.warehouse_code or ""),
            "SALESMANREF": self.refs["SLSMAN"].get(ln.sales_rep_code or ""),
            "TRCURR": trcurr,
            "TRRATE": float(rate),
        }

    def _invoice_rows(self, fact: Stamped[Invoice], batch: Batch) -> int:
        t, inv = self.t, fact.record
        ref = self._ref(t.INVOICE)
        trcode = codes.INVOICE_TRCODES[inv.kind]
        trcurr = self._code(inv.currency)
        cancelled = 1 if inv.cancelled else 0
        header = self._header(fact, inv, ref)
        header.update(
            {
                "GRPCODE": 2,
                "TRCODE": trcode,
                "DOCODE": inv.document_no,
                "CANCELLED": cancelled,
                "GVATINC": 0,
                "DOCTRACKINGNR": inv.original_invoice,
                "GUID": inv.e_invoice_uuid,
            }
        )
        batch.setdefault("INVOICE", []).append(header)
        lines = batch.setdefault("STLINE", [])
        out = 4 if inv.kind != "return" else 1  # IOCODE: output, or input for a return
        for ln in inv.lines:
            row = self._line(inv, ln, trcurr)
            row.update(
                {
                    "LOGICALREF": self._ref(t.STLINE),
                    "INVOICEREF": ref,
                    "INVOICELNNO": ln.line_no,
                    "STFICHEREF": 0,  # a real install links the invoice's dispatch note here; the scenario has none
                    "STFICHELNNO": 0,
                    "DESTINDEX": 0,
                    "CLIENTREF": header["CLIENTREF"],
                    "TRCODE": trcode,
                    "IOCODE": out,
                    "DATE_": header["DATE_"],
                    "FTIME": header["TIME_"],
                    "CANCELLED": cancelled,
                }
            )
            lines.append(row)
        sign = 1 if inv.kind == "return" else 0
        self.invoice_pay[inv.number] = pay = self._ref(t.PAYTRANS)
        batch.setdefault("PAYTRANS", []).append(
            {
                "LOGICALREF": pay,
                "CARDREF": header["CLIENTREF"],
                "DATE_": _day(inv.due_date or inv.date),
                "MODULENR": codes.PAYTRANS_INVOICE_MODULE,
                "SIGN": sign,
                "FICHEREF": ref,
                "TOTAL": header["NETTOTAL"],
                "PAID": 0.0,
                "CROSSREF": 0,
                "PAYMENTTYPE": 1,
                "CANCELLED": cancelled,
                "TRCURR": trcurr,
                "MODIFIED": 0,
            }
        )
        batch.setdefault("CLFLINE", []).append(
            {
                "LOGICALREF": self._ref(t.CLFLINE),
                "CLIENTREF": header["CLIENTREF"],
                "SOURCEFREF": ref,
                "MODULENR": codes.CLFLINE_INVOICE_MODULE,
                "TRCODE": codes.CLFLINE_INVOICE_TRCODE_OFFSET + trcode,
                "DATE_": header["DATE_"],
                "SIGN": sign,
                "AMOUNT": header["NETTOTAL"],
                "TRCURR": trcurr,
                "TRRATE": header["TRRATE"],
                "TRNET": header["TRNET"],
                "TRANNO": inv.number,
                "DOCODE": inv.document_no,
                "CANCELLED": cancelled,
                **_stamp(fact.created_at, fact.modified_at, self.tz),
            }
        )
        if not inv.cancelled:
            books = self.balances.setdefault(inv.account_code, [Decimal(0), Decimal(0)])
            books[sign] += inv.totals_local.total
        return len(inv.lines) + 3

    def _order_rows(self, fact: Stamped[Order], batch: Batch) -> int:
        t, order = self.t, fact.record
        ref = self._ref(t.ORFICHE)
        trcurr = self._code(order.currency)
        header = self._header(fact, order, ref)
        status = {"proposal": 1, "open": 2, "shippable": 4, "closed": 4, "cancelled": 2}[order.status]
        header.update(
            {
                "TRCODE": codes.SALES_ORDER_TRCODES[0],
                "STATUS": status,
                "CANCELLED": 1 if order.status == "cancelled" else 0,
            }
        )
        batch.setdefault("ORFICHE", []).append(header)
        lines = batch.setdefault("ORFLINE", [])
        for ln in order.lines:
            row = self._line(order, ln, trcurr)
            row.update(
                {
                    "LOGICALREF": self._ref(t.ORFLINE),
                    "ORDFICHEREF": ref,
                    "LINENO_": ln.line_no,
                    "CLIENTREF": header["CLIENTREF"],
                    "TRCODE": codes.SALES_ORDER_TRCODES[0],
                    "STATUS": status,
                    "SHIPPEDAMOUNT": _f(ln.shipped_quantity) or 0.0,
                    "CLOSED": 1 if ln.closed else 0,
                }
            )
            lines.append(row)
        return len(order.lines) + 1

    def _collection_rows(self, fact: Stamped[Collection], batch: Batch) -> int:
        t, c = self.t, fact.record
        module, trcode = METHOD_CODES[c.method]
        client = self.refs["CLCARD"][c.account_code]
        fiche = self._ref(t.CLFLINE)  # one source slip per collection; its number space is ours
        trcurr = self._code(c.currency)
        cancelled = 1 if c.cancelled else 0
        batch.setdefault("CLFLINE", []).append(
            {
                "LOGICALREF": fiche,
                "CLIENTREF": client,
                "SOURCEFREF": fiche,
                "MODULENR": module,
                "TRCODE": trcode,
                "DATE_": _day(c.date),
                "SIGN": 1,
                "AMOUNT": float(c.amount_local),
                "TRCURR": trcurr,
                "TRRATE": float(c.rate),
                "TRNET": float(c.amount),
                "TRANNO": c.number,
                "CANCELLED": cancelled,
                **_stamp(fact.created_at, fact.modified_at, self.tz),
            }
        )
        crossrefs = [self.invoice_pay.get(number, 0) for number in c.settles] or [0]
        for cross in crossrefs:
            batch.setdefault("PAYTRANS", []).append(
                {
                    "LOGICALREF": self._ref(t.PAYTRANS),
                    "CARDREF": client,
                    "DATE_": _day(c.due_date or c.date),
                    "MODULENR": module,
                    "SIGN": 1,
                    "FICHEREF": fiche,
                    "TOTAL": float(c.amount_local) / len(crossrefs),
                    "PAID": 0.0,
                    "CROSSREF": cross,
                    "PAYMENTTYPE": PAYMENT_TYPES[c.method],
                    "CANCELLED": cancelled,
                    "TRCURR": trcurr,
                    "MODIFIED": 0,
                }
            )
        if not c.cancelled:
            self.balances.setdefault(c.account_code, [Decimal(0), Decimal(0)])[1] += c.amount_local
        return 1 + len(crossrefs)

    def _note_rows(self, fact: Stamped[Note], batch: Batch) -> int:
        """An account slip (CLFICHE) of one line: only its CLFLINE posting is written, which is all the
        ledger reads; like collections, the slip reference is the line's own (its number space is ours)."""
        t, note = self.t, fact.record
        trcode, sign = NOTE_CODES[note.kind]
        ref = self._ref(t.CLFLINE)
        batch.setdefault("CLFLINE", []).append(
            {
                "LOGICALREF": ref,
                "CLIENTREF": self.refs["CLCARD"][note.account_code],
                "SOURCEFREF": ref,
                "MODULENR": codes.CLFLINE_SLIP_MODULE,
                "TRCODE": trcode,
                "DATE_": _day(note.date),
                "SIGN": sign,
                "AMOUNT": float(note.amount),
                "TRCURR": codes.LOCAL_CURRENCY_CODE,
                "TRRATE": 1.0,
                "TRNET": float(note.amount),
                "TRANNO": note.number,
                "LINEEXP": note.description,
                "CANCELLED": 0,
                **_stamp(fact.created_at, fact.modified_at, self.tz),
            }
        )
        self.balances.setdefault(note.account_code, [Decimal(0), Decimal(0)])[sign] += note.amount
        return 1

    def _slip_rows(self, fact: Stamped[StockSlip], batch: Batch) -> int:
        """A material slip (STFICHE) and its lines (STLINE, STFICHEREF/STFICHELNNO): a purchase receipt from a
        supplier into SOURCEINDEX (DESTINDEX 0, as Logo leaves it), or a warehouse transfer (ambar fişi) out of
        SOURCEINDEX into DESTINDEX, one line per item. Quantities in the line's unit, no prices."""
        t, slip = self.t, fact.record
        grpcode, trcode, iocode, line_iocode = codes.SLIP_CODES[slip.kind]
        ref = self._ref(t.STFICHE)
        client = self.refs["CLCARD"][slip.account_code] if slip.account_code else 0
        source = self.warehouses[slip.warehouse_code]
        target = self.warehouses[slip.to_warehouse_code] if slip.to_warehouse_code else 0
        created = fact.created_at.astimezone(self.tz)
        header = {
            "LOGICALREF": ref,
            "GRPCODE": grpcode,
            "TRCODE": trcode,
            "IOCODE": iocode,
            "FICHENO": slip.number,
            "DATE_": _day(slip.date),
            "FTIME": codes.packed(created),
            "INVOICEREF": 0,
            "CLIENTREF": client,
            "SOURCEINDEX": source,
            "DESTINDEX": target,
            "CANCELLED": 0,
            "BILLED": 0,
            **_stamp(fact.created_at, fact.modified_at, self.tz),
        }
        batch.setdefault("STFICHE", []).append(header)
        lines = batch.setdefault("STLINE", [])
        for ln in slip.lines:
            base = self.base_units.get(ln.product_code, ln.unit)
            lines.append(
                {
                    "LOGICALREF": self._ref(t.STLINE),
                    "STFICHEREF": ref,
                    "STFICHELNNO": ln.line_no,
                    "INVOICEREF": 0,
                    "INVOICELNNO": 0,
                    "STOCKREF": self.refs["ITEMS"][ln.product_code],
                    "CLIENTREF": client,
                    "LINETYPE": codes.LINE_TYPES["item"],
                    "TRCODE": trcode,
                    "IOCODE": line_iocode,
                    "DATE_": header["DATE_"],
                    "FTIME": header["FTIME"],
                    "AMOUNT": float(ln.quantity),
                    "PRICE": 0.0,
                    "TOTAL": 0.0,
                    "LINENET": 0.0,
                    "UOMREF": self.units.get((base, ln.unit)),
                    "SOURCEINDEX": source,
                    "DESTINDEX": target,
                    "CANCELLED": 0,
                    "TRCURR": codes.LOCAL_CURRENCY_CODE,
                    "TRRATE": 1.0,
                }
            )
        return 1 + len(slip.lines)

    # -- balances ------------------------------------------------------------------------
    def _balances(self, conn: sa.Connection, s: Scenario) -> None:
        t = self.t
        items = self.refs["ITEMS"]
        stock, totals = [], {}
        for level in s.stock_levels:
            ref = items[level.product_code]
            stock.append(
                {
                    "LOGICALREF": self._ref(t.GNTOTST),
                    "STOCKREF": ref,
                    "INVENNO": self.warehouses[level.warehouse_code],
                    "ONHAND": float(level.on_hand),
                    "ACTSORDER": _f(level.reserved) or 0.0,
                }
            )
            total = totals.setdefault(ref, [Decimal(0), Decimal(0)])
            total[0] += level.on_hand
            total[1] += level.reserved or 0
        for ref, (on_hand, reserved) in totals.items():
            stock.append(
                {
                    "LOGICALREF": self._ref(t.GNTOTST),
                    "STOCKREF": ref,
                    "INVENNO": codes.ALL_WAREHOUSES,
                    "ONHAND": float(on_hand),
                    "ACTSORDER": float(reserved),
                }
            )
        bulk_insert(conn, t.GNTOTST, stock)
        clients = self.refs["CLCARD"]
        bulk_insert(
            conn,
            t.GNTOTCL,
            [
                {
                    "LOGICALREF": self._ref(t.GNTOTCL),
                    "CARDREF": clients[code],
                    "TOTTYP": codes.GNTOTCL_LOCAL,
                    "DEBIT": float(debit),
                    "CREDIT": float(credit),
                }
                for code, (debit, credit) in self.balances.items()
            ],
        )
        bulk_insert(
            conn,
            t.CLRNUMS,
            [
                {
                    "LOGICALREF": self._ref(t.CLRNUMS),
                    "CLCARDREF": clients[r.account_code],
                    "ACCRISKLIMIT": float(r.limit),
                    "ORDRISKLIMIT": _f(r.order_limit) or 0.0,
                    "DESPRISKLIMIT": _f(r.dispatch_limit) or 0.0,
                    "CSTCSRISKLIMIT": _f(r.cheque_note_limit) or 0.0,
                    "CSTCSRISKTOTAL": _f(r.uncashed_cheques) or 0.0,
                    "COLLATERAL": _f(r.collateral) or 0.0,
                }
                for r in s.risk_limits
            ],
        )

    # -- changes after the first sync ------------------------------------------------------
    def apply(self, change: Change) -> None:
        t = self.t
        if self.tz is None:
            self.tz = change.at.tzinfo
        self._load_lookups()
        self._prime_refs()
        if change.kind == "new_invoice" and change.invoice is not None:
            self._documents([Stamped(change.invoice, change.at)], self._invoice_rows)
        elif change.kind == "new_collection" and change.collection is not None:
            self._documents([Stamped(change.collection, change.at)], self._collection_rows)
        elif change.kind == "cancel_invoice":
            stamp = _modified(change.at, self.tz)
            with self.engine.begin() as conn:
                ref = self._invoice_ref(conn, change.number or "")
                conn.execute(t.INVOICE.update().where(ref == t.INVOICE.c.LOGICALREF).values(CANCELLED=1, **stamp))
                conn.execute(t.STLINE.update().where(ref == t.STLINE.c.INVOICEREF).values(CANCELLED=1))
                conn.execute(
                    t.PAYTRANS.update()
                    .where(ref == t.PAYTRANS.c.FICHEREF, t.PAYTRANS.c.MODULENR == 4)
                    .values(CANCELLED=1)
                )
                conn.execute(
                    t.CLFLINE.update()
                    .where(ref == t.CLFLINE.c.SOURCEFREF, t.CLFLINE.c.MODULENR == 4)
                    .values(CANCELLED=1, **stamp)
                )
        elif change.kind == "discount_value":
            stamp = _modified(change.at, self.tz)
            value = float(change.value)  # type: ignore[arg-type]
            with self.engine.begin() as conn:
                done = conn.execute(
                    t.DISCOUNTS.update().where(change.number == t.DISCOUNTS.c.CODE).values(DISCRATE=value, **stamp)
                ).rowcount
                if not done:
                    prices = t.PRCLIST.update().where(change.number == t.PRCLIST.c.CODE)
                    conn.execute(prices.values(PRICE=value, **stamp))
        else:
            raise ValueError(f"unknown change kind {change.kind!r}")

    def _load_lookups(self) -> None:
        """Code -> LOGICALREF maps from the database, for a writer that did not write the scenario."""
        if self.refs.get("CLCARD"):
            return
        t = self.t
        with self.engine.connect() as conn:
            for name in ("CLCARD", "ITEMS", "SRVCARD", "SLSMAN"):
                table = getattr(t, name)
                self.refs[name] = dict(conn.execute(sa.select(table.c.CODE, table.c.LOGICALREF)).all())
            line, head = t.UNITSETL.c, t.UNITSETF.c
            for base, unit, ref in conn.execute(
                sa.select(head.CODE, line.CODE, line.LOGICALREF).join_from(
                    t.UNITSETL, t.UNITSETF, head.LOGICALREF == line.UNITSETREF
                )
            ):
                self.units[(base, unit)] = ref
            a = t.ITMUNITA.c
            self.base_units = dict(
                conn.execute(
                    sa.select(t.ITEMS.c.CODE, line.CODE)
                    .join_from(t.ITMUNITA, t.ITEMS, t.ITEMS.c.LOGICALREF == a.ITEMREF)
                    .join(t.UNITSETL, line.LOGICALREF == a.UNITLINEREF)
                    .where(line.MAINUNIT == 1)
                ).all()
            )
            # The scenario numbers warehouses 0.. and codes them "01".. (scenario.master.warehouses).
            whs = conn.execute(sa.select(t.CAPIWHOUSE.c.NR).where(self.firm == t.CAPIWHOUSE.c.FIRMNR)).scalars()
            self.warehouses = {f"{nr + 1:02d}": nr for nr in whs}

    def _invoice_ref(self, conn: sa.Connection, number: str) -> int:
        invoice = self.t.INVOICE.c
        return conn.execute(sa.select(invoice.LOGICALREF).where(number == invoice.FICHENO)).scalar_one()

    # -- test helpers --------------------------------------------------------------------------
    def delete_invoice(self, number: str) -> None:
        """Physically delete an invoice and everything hanging off it (Logo users do this)."""
        t = self.t
        with self.engine.begin() as conn:
            ref = self._invoice_ref(conn, number)
            conn.execute(t.STLINE.delete().where(ref == t.STLINE.c.INVOICEREF))
            conn.execute(t.PAYTRANS.delete().where(ref == t.PAYTRANS.c.FICHEREF, t.PAYTRANS.c.MODULENR == 4))
            conn.execute(t.CLFLINE.delete().where(ref == t.CLFLINE.c.SOURCEFREF, t.CLFLINE.c.MODULENR == 4))
            conn.execute(t.INVOICE.delete().where(ref == t.INVOICE.c.LOGICALREF))
