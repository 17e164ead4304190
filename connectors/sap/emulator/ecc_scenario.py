"""The scenario's facts laid into ECC tables as SAP holds them, and its later changes made there.

What SAP cannot hold as the scenario states it is translated the way an ECC system would record it:
  * units are SAP units of measure (ADET -> ST, KOLİ -> KAR, METRE -> M), chosen by their UN/ECE code;
  * sales reps are personnel numbers (partner function VE): SR01 -> 00000001;
  * exchange rates have five decimals (KURRF/KURSF are DEC 9,5) and every local amount is the
    document amount at that rate;
  * every CURR amount is stored with two decimals whatever its currency: an amount of a currency
    TCURX gives other decimals is shifted (10,000 JPY is kept as 100.00, 1.234 KWD as 12.34), and
    TCURX holds the decimals public sources show (vendor/ecc/tcurx.tsv); a price a currency cannot
    hold (123.45 JPY) is given per 100 units, as the price of a fraction of a cent is;
  * discount tiers of one product are one condition record with a quantity scale (KONM); its
    deletion flag is set when any tier is inactive; rule codes become condition record numbers;
  * an invoice item is cleared by the first collection that settles it (one clearing document per
    item); a reversed collection clears nothing;
  * a cancelled invoice keeps its number and gets FKSTO = 'X' plus a cancellation document (S1/S2)
    whose SFAKN names it; a return is a credit memo (G2) whose credit memo request references the
    invoice it returns;
  * a cheque's or note's maturity is its item's baseline date (ZFBDT), as FI keeps it for bills;
  * pure suppliers would be vendors (LFA1), outside the customer tables: they are not laid;
  * notes are FI documents posted on the customer directly (no billing document): openings as customer
    documents (DA), debit notes as customer invoices (DR, FB70), credit notes as customer credit memos (DG,
    FB75), numbered from 1800000001 (an FI number range), their own number in the reference
    (XBLNR), their text in the item text (SGTXT); due at once (ZFBDT their date, no terms); they stay open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.sap import codes
from connectors.sap.emulator.ecc_prices import PriceLayer
from connectors.sap.emulator.ecc_stock import EccStock
from connectors.sap.emulator.ecc_tables import Database
from connectors.sap.emulator.ecc_vendor import currency_decimals
from connectors.sap.emulator.ecc_where import packed
from mapping.schema import Account, Collection, Discount, Invoice, Order
from scenario import names
from scenario.facts import Change, Note, Scenario, Stamped

__all__ = ["BUKRS", "SPART", "VKORG", "VTWEG", "WERKS", "EccScenario", "internal"]

BUKRS, VKORG, VTWEG, SPART, WERKS, KKBER, COUNTRY, LANGUAGE = "1000", "1000", "10", "00", "1000", "1000", "TR", "T"
OPEN_END = dt.date(9999, 12, 31)
RATE_PLACES = Decimal("0.00001")
CENT = Decimal("0.01")

# Billing type and document category per invoice kind; the cancellation's in the same order.
_BILLING = {
    "sale": ("F2", "M", "TAN"),
    "service": ("F2", "M", "TAD"),
    "price_difference": ("L2", "P", "L2N"),
    "return": ("G2", "O", "G2N"),
}
_CANCEL = {"M": ("S1", "N"), "P": ("S1", "N"), "O": ("S2", "S")}
_ZLSCH = {"cash": "B", "card": "K", "cheque": "C", "promissory_note": "W", "bank_transfer": "U"}
_NOTE_TYPES = {"opening": "DA", "debit_note": "DR", "credit_note": "DG"}
_TAXM1 = {rate: code for code, rate in codes.DEFAULT_VAT_RATES.items()}
_TERM_DAYS = {name: days for name, days, _ in names.PAYMENT_TERMS}
# Condition table and condition type per discount scope (the installation's own tables are A9xx).
CONDITION_TABLES = {
    "product": ("A004", "K004"),
    "account": ("A007", "ZK07"),
    "account+product": ("A305", "PR00"),
    "account_group": ("A901", "ZK20"),
    "product_group": ("A902", "ZK29"),
    "account+product_group": ("A903", "ZK30"),
}
_DIMENSIONS = {"account": "KUNNR", "account_group": "KDGRP", "product": "MATNR", "product_group": "KONDM"}


def sap_unit(unit_code: str | None, name: str) -> str:
    """The SAP unit of measure of a scenario unit, found through its UN/ECE code."""
    for sap, code in codes.SAP_UNIT_CODES.items():
        if code == unit_code:
            return sap
    raise ValueError(f"no SAP unit of measure for {name!r} ({unit_code})")


def rate5(rate: Decimal) -> Decimal:
    return rate.quantize(RATE_PLACES, ROUND_HALF_UP)


def local(amount: Decimal, rate: Decimal) -> Decimal:
    """A document amount in local currency at a five-decimal rate, as SAP computes it."""
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


def split_name(title: str, width: int = 35) -> list[str]:
    """A name over NAME1..NAME4, cut between words as users continue a long name in the next field."""
    parts: list[str] = []
    current = ""
    for word in title.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            parts.append(current)
            current = word
    parts.append(current)
    if len(parts) > 4 or any(len(p) > width for p in parts):
        raise ValueError(f"title does not fit NAME1..NAME4: {title!r}")
    return parts


def internal(value: Decimal, currency: str | None) -> Decimal:
    """An amount as a CURR field stores it: shifted to two decimals by its currency's TCURX decimals."""
    stored = value.scaleb(currency_decimals().get(currency or "", 2) - 2)
    if stored != stored.quantize(CENT):
        raise ValueError(f"{value} {currency}: more decimals than SAP keeps for the currency")
    return stored


def _price(unit_price: Decimal, currency: str | None) -> tuple[Decimal, int]:
    """(KBETR, KPEIN): a price the currency cannot hold is given per 100 (or 10,000) units, as SAP users do."""
    places = Decimal(1).scaleb(-currency_decimals().get(currency or "", 2))
    for units in (1, 100, 10_000):
        per = unit_price * units
        if per == per.quantize(places):
            return per, units
    raise ValueError(f"no SAP price per 1, 100 or 10,000 units for {unit_price} {currency}")


def _internal_price(unit_price: Decimal, currency: str) -> tuple[Decimal, int]:
    """(KBETR, KPEIN) of a price as KONP stores it."""
    kbetr, kpein = _price(unit_price, currency)
    return internal(kbetr, currency), kpein


@dataclass
class _Numbers:
    """SAP number ranges for the documents the scenario has no numbers for."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, range_: str, start: int, width: int = 10) -> str:
        n = self.next.get(range_, start)
        self.next[range_] = n + 1
        return f"{n:0{width}d}"


class EccScenario:
    """Lays a scenario into a Database and replays its changes there."""

    def __init__(self, db: Database, scenario: Scenario) -> None:
        self.db = db
        self.scenario = scenario
        self.numbers = _Numbers()
        self.pernr = {rep.code: f"{i + 1:08d}" for i, rep in enumerate(scenario.sales_reps)}
        self.accounts = {s.record.code: s.record for s in scenario.accounts}
        # Material -> SAP base unit: products and service materials.
        self.base_units = {
            s.record.code: sap_unit(s.record.base_unit_code, s.record.base_unit or "") for s in scenario.products
        }
        self.base_units.update({s.code: sap_unit(s.unit_code, s.unit) for s in scenario.services})
        self.discount_codes: dict[str, str] = {}  # scenario rule code -> the feed's condition code
        self._conditions: dict[str, tuple[str, int]] = {}  # rule code -> (KNUMH, scale line or 0)
        self._rows: dict[str, list[dict[str, str]]] = {}  # rows of the initial bulk load, per table
        self._bulk = False
        self._open_items: dict[str, dict[str, Any]] = {}  # invoice number -> its open customer item
        self.prices = PriceLayer(
            self._add,
            lambda: self.numbers.take("KNUMH", 1),
            sap_unit,
            lambda price, currency: _internal_price(price, currency),
            (VKORG, VTWEG),
        )
        self.movements = EccStock(self._add, WERKS, sap_unit)

    # -- building -----------------------------------------------------------------------------------
    def lay(self) -> None:
        s = self.scenario
        self._bulk = True
        self._add(
            "T001",
            BUKRS=BUKRS,
            BUTXT="Dealersync Dağıtım A.Ş.",
            ORT01="İstanbul",
            LAND1=COUNTRY,
            WAERS=s.local_currency,
            SPRAS=LANGUAGE,
        )
        for currency, decimals in currency_decimals().items():
            self._add("TCURX", CURRKEY=currency, CURRDEC=decimals)
        for name, days, _ in names.PAYMENT_TERMS:
            self._add("T052", ZTERM=name, ZTAGG="00", ZDART="B", ZTAG1=days)
        for w in s.warehouses:
            self._add("T001L", WERKS=WERKS, LGORT=w.code, LGOBE=w.name)
        for account in s.accounts:
            if account.record.kind != "supplier":
                self._account(account.record)
        for product in s.products:
            self._product(product)
        for service in s.services:
            self._material(
                service.code,
                service.name,
                "DIEN",
                "HIZMET",
                None,
                None,
                service.unit,
                service.unit_code,
                [],
                service.vat_rate,
                True,
                None,
                None,
            )
        self._stock()
        for limit in s.risk_limits:
            held = s.local_currency  # the credit control area's currency
            self._add(
                "KNKK",
                KUNNR=limit.account_code,
                KKBER=KKBER,
                KLIMK=internal(limit.limit, held),
                SKFOR=internal(limit.open_balance, held),
                SSOBL=internal(limit.uncashed_cheques, held),
                SAUFT=internal(limit.open_orders, held),
                CRBLB="X" if limit.blocked else "",
                ERDAT=s.as_of.date(),
            )
        self._discounts(s.discounts)
        for entry in s.price_lists:
            self.prices.lay(entry)
        for order in s.orders():
            self._order(order)
        for invoice in s.invoices():
            self._invoice(invoice.record, invoice.created_at, invoice.modified_at)
        for slip in s.stock_slips():
            self.movements.slip(slip.record, slip.created_at)
        for collection in s.collections():
            self._collection(collection.record, collection.created_at, collection.modified_at)
        for note in s.notes():
            self._note(note.record, note.created_at)
        for item in self._open_items.values():
            self._add("BSID", **item)
        for table, rows in self._rows.items():
            self.db.load(table, rows)
        self._rows.clear()
        self._bulk = False

    def _add(self, table: str, **values: Any) -> None:
        if self._bulk:
            self._rows.setdefault(table, []).append(self.db.row(table, **values))
        else:
            self.db.upsert(table, **values)

    # -- master data ----------------------------------------------------------------------------------
    def _account(self, a: Account) -> None:
        address = self.numbers.take("ADRNR", 1)
        blocked = "X" if a.blocked else ""
        self._add(
            "KNA1",
            KUNNR=a.code,
            LAND1=a.country or "",
            **dict(zip(("NAME1", "NAME2", "NAME3", "NAME4"), split_name(a.title), strict=False)),
            ORT01=a.city,
            STRAS=a.address,
            TELF1=a.phone,
            ADRNR=address,
            ERDAT=a.created_at.date() if a.created_at else None,
            KTOKD="0001",
            LIFNR=a.code if a.kind == "both" else "",
            LOEVM="" if a.active else "X",
            SPERR=blocked,
            AUFSD="01" if a.blocked else "",
            STCD1=a.tax_office,
            STCD2=a.tax_id,
            STKZN="X" if a.is_individual else "",
            ERNAM="MIGRATION",
        )
        erdat = a.created_at.date() if a.created_at else None
        self._add("KNB1", KUNNR=a.code, BUKRS=BUKRS, ERDAT=erdat, AKONT="120000", ZTERM=a.payment_terms, SPERR=blocked)
        self._add(
            "KNVV",
            KUNNR=a.code,
            VKORG=VKORG,
            VTWEG=VTWEG,
            SPART=SPART,
            ERDAT=erdat,
            KDGRP=a.group_code,
            BZIRK=a.region_code,
            WAERS=a.currency,
            ZTERM=a.payment_terms,
        )
        area = {"KUNNR": a.code, "VKORG": VKORG, "VTWEG": VTWEG, "SPART": SPART, "PARZA": "000"}
        if a.sales_rep_code:
            self._add("KNVP", **area, PARVW="VE", PERNR=self.pernr[a.sales_rep_code])
        if a.parent_code:
            self._add("KNVP", **area, PARVW="1A", KUNN2=a.parent_code)
        if a.email:
            self._add(
                "ADR6",
                ADDRNUMBER=address,
                DATE_FROM=dt.date(1, 1, 1),
                CONSNUMBER="001",
                FLGDEFAULT="X",
                SMTP_ADDR=a.email,
            )

    def _product(self, st: Stamped[Any]) -> None:
        p = st.record
        cases = [(sap_unit(u.unit_code, u.unit), u.factor, u.barcode) for u in p.units if u.unit != p.base_unit]
        self._material(
            p.code,
            p.name,
            "HAWA",
            p.category_code,
            p.group_code,
            p.brand,
            p.base_unit or "",
            p.base_unit_code,
            cases,
            p.vat_rate,
            p.active,
            st.created_at,
            st.modified_at,
            p.barcodes,
        )

    def _material(
        self,
        code: str,
        name: str,
        kind: str,
        category: str | None,
        group: str | None,
        brand: str | None,
        unit: str,
        unit_code: str | None,
        others: list[tuple[str, Decimal, str | None]],
        vat: Decimal | None,
        active: bool,
        created: dt.datetime | None,
        modified: dt.datetime | None,
        barcodes: Iterable[str] = (),
    ) -> None:
        base = sap_unit(unit_code, unit)
        eans = list(barcodes)
        self._add(
            "MARA",
            MATNR=code,
            ERSDA=(created or self.scenario.as_of).date(),
            LAEDA=modified.date() if modified else None,
            LVORM="" if active else "X",
            MTART=kind,
            MATKL=category,
            MEINS=base,
            EAN11=eans[0] if eans else "",
            EXTWG=brand,
            SPART=SPART,
        )
        self._add("MAKT", MATNR=code, SPRAS=LANGUAGE, MAKTX=name, MAKTG=name.upper())
        self._add("MARM", MATNR=code, MEINH=base, UMREZ=1, UMREN=1, EAN11=eans[0] if eans else "")
        for number, ean in enumerate(eans, start=1):
            self._add(
                "MEAN",
                MATNR=code,
                MEINH=base,
                LFNUM=f"{number:05d}",
                EAN11=ean,
                EANTP="HE",
                HPEAN="X" if number == 1 else "",
            )
        for other, factor, ean in others:
            self._add("MARM", MATNR=code, MEINH=other, UMREZ=factor, UMREN=1, EAN11=ean)
            if ean:
                self._add("MEAN", MATNR=code, MEINH=other, LFNUM="00001", EAN11=ean, EANTP="HE", HPEAN="X")
        self._add("MVKE", MATNR=code, VKORG=VKORG, VTWEG=VTWEG, KONDM=group, MTPOS="NORM")
        if vat is not None:
            self._add("MLAN", MATNR=code, ALAND=COUNTRY, TAXM1=_TAXM1[vat])

    def _stock(self) -> None:
        for level in self.scenario.stock_levels:
            unit = self.base_units[level.product_code]
            self._add(
                "MARD",
                MATNR=level.product_code,
                WERKS=WERKS,
                LGORT=level.warehouse_code,
                LABST=level.on_hand,
            )
            if level.reserved:
                self._add(
                    "VBBE",
                    MATNR=level.product_code,
                    WERKS=WERKS,
                    BERID=WERKS,
                    VBELN=self.numbers.take("VBBE", 7_000_000_001),
                    POSNR="10",
                    ETENR="1",
                    LGORT=level.warehouse_code,
                    OMENG=level.reserved,
                    MEINS=unit,
                    MBDAT=self.scenario.as_of.date(),
                    VBTYP="C",
                )

    # -- discounts --------------------------------------------------------------------------------------
    def _discounts(self, rules: list[Stamped[Discount]]) -> None:
        scaled: dict[tuple[Any, ...], list[Discount]] = {}
        for st in rules:
            d = st.record
            if d.min_quantity is not None:
                scaled.setdefault((d.product_code, d.kind, d.valid_from, d.valid_to), []).append(d)
            else:
                self._condition([d])
        for tiers in scaled.values():
            self._condition(sorted(tiers, key=lambda d: d.min_quantity or 0))

    def _condition(self, tiers: list[Discount]) -> None:
        d = tiers[0]
        found = CONDITION_TABLES.get(d.scope)
        if found is None:
            raise ValueError(f"no condition table for discount scope {d.scope!r}")
        table, kschl = found
        knumh = self.numbers.take("KNUMH", 1)
        dims = {
            _DIMENSIONS[name]: value
            for name, value in (
                ("account", d.account_code),
                ("account_group", d.account_group_code),
                ("product", d.product_code),
                ("product_group", d.product_group_code),
            )
            if value
        }
        area = {"SPART": SPART} if table == "A007" else {}
        self._add(
            table,
            KAPPL="V",
            KSCHL=kschl,
            VKORG=VKORG,
            VTWEG=VTWEG,
            **area,
            **dims,
            DATBI=d.valid_to or OPEN_END,
            DATAB=d.valid_from,
            KNUMH=knumh,
        )
        konwa = "%" if d.kind == "percent" else d.currency
        kbetr, kpein = self._rate(d)
        scale = len(tiers) > 1 or d.min_quantity is not None
        unit = self.base_units[d.product_code] if d.kind == "fixed_price" and d.product_code else ""
        self._add(
            "KONP",
            KNUMH=knumh,
            KOPOS="01",
            KAPPL="V",
            KSCHL=kschl,
            STFKZ="A" if scale else "",
            KZBZG="C" if scale else "",
            KBETR=kbetr,
            KONWA=konwa,
            KPEIN=kpein,
            KMEIN=unit,
            KRECH={"percent": "A", "amount": "B", "fixed_price": "C"}[d.kind],
            LOEVM_KO="" if all(t.active for t in tiers) else "X",
        )
        feed_code = str(int(knumh))
        if not scale:
            self.discount_codes[d.code] = feed_code
            self._conditions[d.code] = (knumh, 0)
            return
        for line, tier in enumerate(tiers, start=1):
            self._add("KONM", KNUMH=knumh, KOPOS="01", KLFN1=line, KSTBM=tier.min_quantity, KBETR=self._rate(tier)[0])
            self.discount_codes[tier.code] = f"{feed_code}/{line}"
            self._conditions[tier.code] = (knumh, line)

    @staticmethod
    def _rate(d: Discount) -> tuple[Decimal, int]:
        """(KBETR, KPEIN): percentages in per mille and discounts negative, as SAP stores them; amounts and prices
        in their currency's internal form."""
        if d.kind == "percent":
            return -d.value * 10, 1
        if d.kind == "amount":
            return internal(-d.value, d.currency), 1
        kbetr, kpein = _price(d.value, d.currency)
        return internal(kbetr, d.currency), kpein

    # -- orders -----------------------------------------------------------------------------------------
    def _order(self, st: Stamped[Order]) -> None:
        o = st.record
        knumv = self.numbers.take("KNUMV", 1)
        created, changed = st.created_at, st.modified_at
        status = {"open": "A", "proposal": "A", "shippable": "B", "closed": "C", "cancelled": "C"}[o.status]
        self._add(
            "VBAK",
            VBELN=o.number,
            ERDAT=created.date(),
            ERZET=created.time(),
            AEDAT=changed.date() if changed else None,
            AUDAT=o.date,
            VBTYP="C",
            AUART="TA",
            NETWR=internal(o.totals.net, o.currency),
            WAERK=o.currency,
            VKORG=VKORG,
            VTWEG=VTWEG,
            SPART=SPART,
            KUNNR=o.account_code,
            KNUMV=knumv,
            LIFSK="01" if o.status == "proposal" else "",
        )
        self._add(
            "VBUK", VBELN=o.number, VBTYP="C", GBSTK=status, ABSTK="C" if o.status == "cancelled" else "A", LFSTK=status
        )
        terms = self.accounts[o.account_code].payment_terms
        self._add(
            "VBKD", VBELN=o.number, POSNR="0", KURSK=rate5(o.rate), KURRF=rate5(o.rate), ZTERM=terms, PRSDT=o.date
        )
        self._partners(o.number, o.account_code, o.sales_rep_code)
        delivered = changed or created
        for line in o.lines:
            unit = sap_unit(line.unit_code, line.unit or "")
            self._add(
                "VBAP",
                VBELN=o.number,
                POSNR=line.line_no,
                MATNR=line.product_code,
                PSTYV="TAN",
                ABGRU="01" if o.status == "cancelled" else "",
                KWMENG=line.quantity,
                VRKME=unit,
                NETWR=internal(line.net, o.currency),
                WAERK=o.currency,
                KPEIN=1,
                KMEIN=unit,
                MWSBP=internal(line.vat, o.currency),
                TAXM1=_TAXM1[line.vat_rate],
                WERKS=WERKS,
                LGORT=line.warehouse_code,
            )
            self._price_condition(knumv, line.line_no, line.unit_price, unit, line.gross, o.currency)
            if line.shipped_quantity:
                self._add(
                    "VBFA",
                    VBELV=o.number,
                    POSNV=line.line_no,
                    VBELN=self.numbers.take("LIKP", 80_000_001),
                    POSNN=line.line_no,
                    VBTYP_N="J",
                    RFMNG=line.shipped_quantity,
                    MEINS=unit,
                    VBTYP_V="C",
                    ERDAT=delivered.date(),
                    ERZET=delivered.time(),
                )

    def _partners(self, document: str, account: str, rep: str | None) -> None:
        self._add("VBPA", VBELN=document, POSNR="0", PARVW="AG", KUNNR=account)
        if rep:
            self._add("VBPA", VBELN=document, POSNR="0", PARVW="VE", PERNR=self.pernr[rep])

    def _price_condition(self, knumv: str, item: int, price: Decimal, unit: str, gross: Decimal, currency: str) -> None:
        kbetr, kpein = _price(price, currency)
        self._add(
            "KONV",
            KNUMV=knumv,
            KPOSN=item,
            STUNR="10",
            ZAEHK="1",
            KSCHL="PR00",
            KBETR=internal(kbetr, currency),
            WAERS=currency,
            KPEIN=kpein,
            KMEIN=unit,
            KWERT=internal(gross, currency),
            KRECH="C",
        )

    # -- invoices ---------------------------------------------------------------------------------------
    def _invoice(self, inv: Invoice, created: dt.datetime, changed: dt.datetime | None) -> None:
        kind = (
            "service" if inv.kind == "sale" and inv.lines and all(x.kind == "service" for x in inv.lines) else inv.kind
        )
        fkart, vbtyp, item_category = _BILLING[kind]
        knumv = self.numbers.take("KNUMV", 1)
        terms = self.accounts[inv.account_code].payment_terms
        rate = rate5(inv.rate)
        request = ""
        if inv.kind == "return":
            request = self.numbers.take("VBAK-K", 60_000_001)
            self._add(
                "VBAK",
                VBELN=request,
                ERDAT=created.date(),
                ERZET=created.time(),
                AUDAT=inv.date,
                VBTYP="K",
                AUART="G2",
                NETWR=internal(inv.totals.net, inv.currency),
                WAERK=inv.currency,
                VKORG=VKORG,
                VTWEG=VTWEG,
                SPART=SPART,
                KUNNR=inv.account_code,
                VGBEL=inv.original_invoice,
                VGTYP="M",
            )
        self._add(
            "VBRK",
            VBELN=inv.number,
            FKART=fkart,
            FKTYP="L",
            VBTYP=vbtyp,
            WAERK=inv.currency,
            VKORG=VKORG,
            VTWEG=VTWEG,
            SPART=SPART,
            KNUMV=knumv,
            FKDAT=inv.date,
            BUKRS=BUKRS,
            ZTERM=terms,
            KURRF=rate,
            NETWR=internal(inv.totals.net, inv.currency),
            MWSBK=internal(inv.totals.vat, inv.currency),
            KUNRG=inv.account_code,
            KUNAG=inv.account_code,
            XBLNR=inv.document_no,
            FKSTO="X" if inv.cancelled else "",
            RFBSK="C",
            ERNAM="SD-BATCH",
            ERDAT=created.date(),
            ERZET=created.time(),
            AEDAT=changed.date() if changed and not inv.cancelled else None,
        )
        self._partners(inv.number, inv.account_code, inv.sales_rep_code)
        for line in inv.lines:
            unit = sap_unit(line.unit_code, line.unit or "")
            self._add(
                "VBRP",
                VBELN=inv.number,
                POSNR=line.line_no,
                FKIMG=line.quantity,
                VRKME=unit,
                MEINS=self.base_units[line.product_code or ""],
                NETWR=internal(line.net, inv.currency),
                MWSBP=internal(line.vat, inv.currency),
                AUBEL=request,
                MATNR=line.product_code,
                PSTYV="TAD" if line.kind == "service" else item_category,
                WERKS=WERKS,
                LGORT=line.warehouse_code,
                TAXM1=_TAXM1[line.vat_rate],
            )
            self._price_condition(knumv, line.line_no, line.unit_price, unit, line.gross, inv.currency)
            if line.sales_rep_code and line.sales_rep_code != inv.sales_rep_code:
                self._add(
                    "VBPA", VBELN=inv.number, POSNR=line.line_no, PARVW="VE", PERNR=self.pernr[line.sales_rep_code]
                )
        debit = vbtyp != "O"
        item = {
            "BUKRS": BUKRS,
            "KUNNR": inv.account_code,
            "GJAHR": inv.date.year,
            "BELNR": inv.number,
            "BUZEI": 1,
            "BUDAT": inv.date,
            "BLDAT": inv.date,
            "CPUDT": created.date(),
            "WAERS": inv.currency,
            "XBLNR": inv.document_no,
            "BLART": "RV",
            "SHKZG": "S" if debit else "H",
            "WRBTR": internal(inv.totals.total, inv.currency),
            "DMBTR": internal(local(inv.totals.total, rate), self.scenario.local_currency),
            "ZFBDT": inv.date,
            "ZBD1T": _TERM_DAYS.get(terms or "", 0) if debit else 0,
            "VBELN": inv.number,
        }
        self._document("RV", inv.number, inv.date, created, inv.currency, rate)
        self.movements.invoice(inv, created)
        if inv.cancelled and changed is not None:
            self.movements.reverse(inv.number, changed)
            self._cancel_invoice(inv, vbtyp, item, changed)
        else:
            self._open_items[inv.number] = item
            if not self._bulk:
                self._add("BSID", **item)

    def _cancel_invoice(self, inv: Invoice, vbtyp: str, item: dict[str, Any], at: dt.datetime) -> None:
        fkart, category = _CANCEL[vbtyp]
        number = self.numbers.take("S1", 9_000_000_001)
        self._add(
            "VBRK",
            VBELN=number,
            FKART=fkart,
            FKTYP="L",
            VBTYP=category,
            WAERK=inv.currency,
            VKORG=VKORG,
            VTWEG=VTWEG,
            SPART=SPART,
            FKDAT=at.date(),
            BUKRS=BUKRS,
            KURRF=rate5(inv.rate),
            NETWR=internal(inv.totals.net, inv.currency),
            MWSBK=internal(inv.totals.vat, inv.currency),
            KUNRG=inv.account_code,
            KUNAG=inv.account_code,
            SFAKN=inv.number,
            RFBSK="C",
            ERNAM="SD-BATCH",
            ERDAT=at.date(),
            ERZET=at.time(),
        )
        self._document("RV", number, at.date(), at, inv.currency, rate5(inv.rate))
        self._clear_by_cancellation(item, number, at)

    def _clear_by_cancellation(self, item: dict[str, Any], cancellation: str, at: dt.datetime) -> None:
        """The invoice's item and the cancellation's opposite item clear each other (both go to BSAD)."""
        cleared = {"AUGDT": at.date(), "AUGBL": cancellation}
        reverse = {
            **item,
            "BELNR": cancellation,
            "GJAHR": at.year,
            "BUDAT": at.date(),
            "BLDAT": at.date(),
            "CPUDT": at.date(),
            "SHKZG": "H" if item["SHKZG"] == "S" else "S",
            "VBELN": cancellation,
        }
        self._add("BSAD", **item, **cleared)
        self._add("BSAD", **reverse, **cleared)

    def _document(
        self, kind: str, number: str, day: dt.date, entered: dt.datetime, currency: str, rate: Decimal, **extra: Any
    ) -> None:
        self._add(
            "BKPF",
            BUKRS=BUKRS,
            BELNR=number,
            GJAHR=day.year,
            BLART=kind,
            BLDAT=day,
            BUDAT=day,
            CPUDT=entered.date(),
            CPUTM=entered.time(),
            USNAM="DEALERSYNC",
            WAERS=currency,
            KURSF=rate,
            **extra,
        )

    # -- collections ------------------------------------------------------------------------------------
    def _collection(self, c: Collection, created: dt.datetime, changed: dt.datetime | None) -> None:
        rate = rate5(c.rate)
        reversal = self.numbers.take("AB", 100_000_001) if c.cancelled and changed is not None else ""
        self._document(
            "DZ",
            c.number,
            c.date,
            created,
            c.currency,
            rate,
            AEDAT=changed.date() if changed else None,
            STBLG=reversal,
            STJAH=changed.year if reversal and changed else None,
        )
        item = {
            "BUKRS": BUKRS,
            "KUNNR": c.account_code,
            "GJAHR": c.date.year,
            "BELNR": c.number,
            "BUZEI": 1,
            "BUDAT": c.date,
            "BLDAT": c.date,
            "CPUDT": created.date(),
            "WAERS": c.currency,
            "BLART": "DZ",
            "SHKZG": "H",
            "WRBTR": internal(c.amount, c.currency),
            "DMBTR": internal(local(c.amount, rate), self.scenario.local_currency),
            "ZFBDT": c.due_date or c.date,
            "ZLSCH": _ZLSCH[c.method],
        }
        if reversal and changed is not None:
            cleared = {"AUGDT": changed.date(), "AUGBL": reversal}
            self._document("AB", reversal, changed.date(), changed, c.currency, rate, STBLG=c.number, STJAH=c.date.year)
            self._add("BSAD", **item, **cleared)
            self._add(
                "BSAD",
                **{
                    **item,
                    "BELNR": reversal,
                    "GJAHR": changed.year,
                    "BLART": "AB",
                    "SHKZG": "S",
                    "CPUDT": changed.date(),
                },
                **cleared,
            )
            return
        settled = [n for n in c.settles if n in self._open_items]
        if not settled:
            self._add("BSID", **item)
            return
        cleared = {"AUGDT": c.date, "AUGBL": c.number}
        self._add("BSAD", **item, **cleared)
        for number in settled:
            invoice_item = self._open_items.pop(number)
            self._remove_open(invoice_item)
            self._add("BSAD", **invoice_item, **cleared)

    def _remove_open(self, item: dict[str, Any]) -> None:
        """Take a cleared invoice item out of BSID (during the bulk load it was never put there)."""
        if not self._bulk:
            self.db.delete("BSID", {k: item.get(k) for k in self.db.stores["BSID"].table.key[1:]})

    # -- notes ------------------------------------------------------------------------------------------
    def _note(self, n: Note, created: dt.datetime) -> None:
        blart = _NOTE_TYPES[n.kind]
        number = self.numbers.take("FI-18", 1_800_000_001)
        currency = self.scenario.local_currency
        self._document(blart, number, n.date, created, currency, Decimal(1), XBLNR=n.number)
        self._add(
            "BSID",
            BUKRS=BUKRS,
            KUNNR=n.account_code,
            GJAHR=n.date.year,
            BELNR=number,
            BUZEI=1,
            BUDAT=n.date,
            BLDAT=n.date,
            CPUDT=created.date(),
            WAERS=currency,
            XBLNR=n.number,
            BLART=blart,
            SHKZG="H" if n.kind == "credit_note" else "S",
            WRBTR=internal(n.amount, currency),
            DMBTR=internal(n.amount, currency),
            SGTXT=n.description,
            ZFBDT=n.date,
            ZBD1T=0,
        )

    # -- changes ----------------------------------------------------------------------------------------
    def apply(self, change: Change) -> None:
        """Make one of the scenario's later edits, as the SAP transactions would record it."""
        with self.db.lock:
            if change.kind == "new_invoice" and change.invoice is not None:
                self._invoice(change.invoice, change.at, None)
            elif change.kind == "cancel_invoice" and change.number:
                self._cancel_later(change.number, change.at)
            elif change.kind == "new_collection" and change.collection is not None:
                self._collection(change.collection, change.at, None)
            elif change.kind == "discount_value" and change.number:
                self._new_value(change.number, Decimal(str(change.value)))
            else:
                raise ValueError(f"unknown change {change.kind!r}")

    def _cancel_later(self, number: str, at: dt.datetime) -> None:
        header = next(r for r in self.db.stores["VBRK"].rows if r["VBELN"].rstrip() == number)
        vbtyp = header["VBTYP"].strip()
        self.db.update("VBRK", {"VBELN": number}, FKSTO="X")
        fkart, category = _CANCEL[vbtyp]
        cancellation = self.numbers.take("S1", 9_000_000_001)
        self.db.upsert(
            "VBRK",
            VBELN=cancellation,
            FKART=fkart,
            FKTYP="L",
            VBTYP=category,
            WAERK=header["WAERK"].strip(),
            VKORG=VKORG,
            VTWEG=VTWEG,
            SPART=SPART,
            FKDAT=at.date(),
            BUKRS=BUKRS,
            KURRF=packed(header["KURRF"]),
            NETWR=packed(header["NETWR"]),
            MWSBK=packed(header["MWSBK"]),
            KUNRG=header["KUNRG"].strip(),
            KUNAG=header["KUNAG"].strip(),
            SFAKN=number,
            RFBSK="C",
            ERNAM="SD-BATCH",
            ERDAT=at.date(),
            ERZET=at.time(),
        )
        self._document("RV", cancellation, at.date(), at, header["WAERK"].strip(), packed(header["KURRF"]))
        self.movements.reverse(number, at)
        item = self._open_items.pop(number, None)
        if item is None:
            return  # already cleared by a payment: SAP would ask to reset the clearing first
        self._remove_open(item)
        self._clear_by_cancellation(item, cancellation, at)

    def _new_value(self, code: str, value: Decimal) -> None:
        knumh, line = self._conditions[code]
        konp = next(r for r in self.db.stores["KONP"].rows if r["KNUMH"] == knumh)
        kind = {"A": "percent", "B": "amount", "C": "fixed_price"}[konp["KRECH"].strip()]
        currency = None if kind == "percent" else konp["KONWA"].strip()
        change = Discount(code=code, scope="all", kind=kind, value=value, currency=currency)  # type: ignore[arg-type]
        kbetr = self._rate(change)[0]
        if line:
            self.db.update("KONM", {"KNUMH": knumh, "KOPOS": "01", "KLFN1": line}, KBETR=kbetr)
        if line <= 1:
            self.db.update("KONP", {"KNUMH": knumh, "KOPOS": "01"}, KBETR=kbetr)
