"""The document rows the Mikro test writer lays a scenario's orders, invoices and collections out as.

Each shape follows what Mikro V15's own screens wrote (the SQL trace in vendor/README.md); where no
source shows a shape (the slips, incoming wires and promise closings), the row follows the receipt's
and says so. Sites differ in what they write (MikroSite): the writer follows the site it is given.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa

from connectors.mikro import codes
from connectors.mikro.tables import MikroTables
from connectors.sql import Batch
from mapping.schema import Account, Collection, Invoice, Order
from scenario.facts import Note, Stamped
from scenario.stock import StockSlip

__all__ = ["BANK", "CASHED", "CASH_BOX", "DocumentRows", "MikroSite", "pays_at_once"]

GUIDS = uuid.UUID("5d1c6a52-3f0e-4b8e-9a51-6b6f1e2c7d40")  # namespace of the Guids the writer makes
CASH_BOX = "001"
BANK = "01"
CASHED = 3  # sck_sonpoz of a cheque or note no longer in the portfolio (any value but 0 reads the same)
AT_BANK = 2  # sck_sonpoz 2 Tahsilde: a card payment (SQL trace)
PAID = 10  # sck_sonpoz 10 Ödendi: a transfer promise its closing document paid
PORTFOLIO_PAPERS = (0, 1)  # sck_tip 0 customer cheque, 1 customer note
TRANSFER_PROMISE = 17  # cha_cinsi 17 Müşteri Havale Sözü


def pays_at_once(account: Account) -> bool:
    """Dealers on cash terms have their sales invoices closed to the cash box (or bank) at once."""
    return account.payment_terms == "PEŞİN"


@dataclass(frozen=True)
class MikroSite:
    """How one Mikro site keeps what sites differ in, and the adapter settings that read it."""

    line_vat: str = "amount"  # sth_vergi: every site the research saw writes the amount (the docs: the rate)
    passive_value: int = 1  # sto_pasif_fl of a passive product: sites write 1 (the docs: 0 Pasif)
    master_barcode_value: int = 0  # bar_master of a unit's main barcode: the docs (0 Evet); no site source
    sales_order_tip: int = 0  # sip_tip of sales orders: most public queries (the docs: 0 Talep, 1 Temin)
    # The numbers (sfl_sirano) the site keeps its general sales price lists under: one per list and validity, the
    # current wholesale list first (list 1, the one public queries read); customers' own lists come after.
    general_price_lists: tuple[int, ...] = (1, 2, 3, 4, 5)

    def settings(self) -> dict[str, Any]:
        """The adapter settings that read this site (only where they differ from the defaults)."""
        wanted = {
            "line_vat": (self.line_vat, "amount"),
            "product_passive_value": (self.passive_value, codes.PASSIVE_DEFAULT),
            "master_barcode_value": (self.master_barcode_value, codes.MASTER_BARCODE_DEFAULT),
            "sales_order_tip": (self.sales_order_tip, codes.SALES_ORDER_TIP),
            "general_price_lists": (list(self.general_price_lists), [1]),
        }
        return {key: value for key, (value, default) in wanted.items() if value != default}


@dataclass(frozen=True)
class Layout:
    """How a collection method is entered: the document, what moved, the counter account, the paper."""

    evrak: int  # cha_evrak_tip
    cinsi: int  # cha_cinsi
    counter: int  # cha_kasa_hizmet: 4 cash box or portfolio, 2 bank
    counter_code: str  # cha_kasa_hizkod
    position: int  # cha_sntck_poz: 0 Portföyde, 2 Tahsilde
    paper: int | None  # ODEME_EMIRLERI.sck_tip
    ref: str  # cha_trefno / sck_refno prefix


# Mikro's receipt screen (SQL trace: tahsilat-*.txt); a wire entered there is the customer's promise.
RECEIPTS = {
    "cash": Layout(codes.RECEIPT, 0, codes.CASH, CASH_BOX, 0, None, ""),
    "cheque": Layout(codes.RECEIPT, 1, codes.CASH, "ÇEK", 0, 0, "MC"),
    "promissory_note": Layout(codes.RECEIPT, 2, codes.CASH, "SENET", 0, 1, "MS"),
    "card": Layout(codes.RECEIPT, 19, codes.BANK, BANK, 2, 6, "MK"),
    "bank_transfer": Layout(codes.RECEIPT, TRANSFER_PROMISE, codes.BANK, BANK, 2, 4, "MH"),
}
# The other documents the vendor's list names for the same money (2 Kasa Tahsilat Fişi, 4 Çek / 3 Senet
# Giriş Bordrosu, 54 Cari Hesap Kredi Kartı Ödeme, 34 Gelen Havale); a wire as cash (cha_cinsi 0), as the
# developer notes describe.
SLIPS = {
    "cash": Layout(2, 0, codes.CASH, CASH_BOX, 0, None, ""),
    "cheque": Layout(4, 1, codes.CASH, "ÇEK", 0, 0, "MC"),
    "promissory_note": Layout(3, 2, codes.CASH, "SENET", 0, 1, "MS"),
    "card": Layout(54, 19, codes.BANK, BANK, 2, 6, "MK"),
    "bank_transfer": Layout(34, 0, codes.BANK, BANK, 0, None, ""),
}
CLOSING = Layout(93, TRANSFER_PROMISE, codes.BANK, BANK, 2, None, "MH")  # 93 Müşteri Havale Sözü Kapatma
# Notes (cha_evrak_tip, cha_cinsi, cha_tip): Mikro's evrak list names 29 Açılış Fişi, 31 Borç Dekontu and 32 Alacak
# Dekontu, its cha_cinsi list 16 Cari Açılış and 5 Dekont. No trace shows these screens' rows: one row on the
# account, in the main currency, shaped as a receipt's.
NOTES = {"opening": (29, 16, codes.DEBIT), "debit_note": (31, 5, codes.DEBIT), "credit_note": (32, 5, codes.CREDIT)}
# Stock slips (sth_tip, sth_cins, sth_evraktip), as Mikro's screens write them (the codes a public Mikro add-on looks
# the rows up by, stock_kinds.SCREENS): a purchase without its invoice yet is a Toptan Alış İrsaliyesi (13, sth_cins 0
# Toptan) into the warehouse; a transfer a Depolar Arası Sevk Fişi (2) of sth_tip 2 and sth_cins 6 Transfer, one row
# per line naming both warehouses. The other columns are the invoice lines' (ERP reference).
SLIPS_STH = {"purchase": (codes.IN, 0, 13), "transfer": (codes.TRANSFER, 6, 2)}


class DocumentRows:
    """What a writer of Mikro rows shares (the tables, the site, Guids, lookups) and the document rows."""

    def __init__(
        self,
        tables: MikroTables,
        site: MikroSite,
        sira_digits: int,
        vat_rates: Mapping[int, Decimal],
        currency_codes: Mapping[int, str],
        local_currency: str,
    ) -> None:
        self.t = tables
        self.site = site
        self._serial = itertools.count(1)
        self.recno = itertools.count(1)  # CARI_HESAP_HAREKETLERI.cha_RECno
        self.sira_digits = sira_digits
        # The lowest pointer of each rate (pointer 0 is "none" in Mikro's screens).
        self.pointer_of = {rate: p for p, rate in sorted(vat_rates.items(), reverse=True) if p}
        self.currency_code = {iso: n for n, iso in currency_codes.items()}
        self.currency_code[local_currency] = codes.LOCAL_CURRENCY_CODE
        self.tz: ZoneInfo | None = None
        self.as_of: dt.datetime | None = None
        self.units: dict[str, dict[str, tuple[int, Decimal]]] = {}  # product -> unit -> (pointer, factor)
        self.accounts: dict[str, Account] = {}
        self.suppliers: list[str] = []
        self.stock: dict[tuple[str, int], Decimal] = {}  # (product, warehouse) -> base units moved

    def _taken(self, table: sa.Table, column: str, guid: str) -> bool:
        """Whether the database already holds a row with this Guid: never, for the writer of the whole scenario."""
        return False

    def _local(self, moment: dt.datetime) -> dt.datetime:
        assert self.tz is not None
        return moment.astimezone(self.tz).replace(tzinfo=None, microsecond=0)

    def _row(
        self, table: sa.Table, prefix: str, created: dt.datetime, modified: dt.datetime | None, **values: Any
    ) -> dict[str, Any]:
        """The values a row sets; the insert fills every other column with Mikro's blank."""
        # Deterministic, so the same scenario makes the same database (and rows come in the same Guid order).
        guid = str(uuid.uuid5(GUIDS, f"{prefix}:{next(self._serial)}"))
        while self._taken(table, f"{prefix}_Guid", guid):
            guid = str(uuid.uuid5(GUIDS, f"{prefix}:{next(self._serial)}"))
        values[f"{prefix}_Guid"] = guid
        if prefix == "cha":  # Mikro's identity: the movements' record order
            values.setdefault("cha_RECno", next(self.recno))
        values[f"{prefix}_create_user"] = values[f"{prefix}_lastup_user"] = 1
        values[f"{prefix}_create_date"] = self._local(created)
        values.setdefault(f"{prefix}_lastup_date", self._local(modified or created))
        return values

    def _split(self, number: str) -> tuple[str, int]:
        """(seri, sira) of a scenario document number: the trailing digits are Mikro's sequence."""
        return number[: -self.sira_digits], int(number[-self.sira_digits :])

    def _code(self, currency: str) -> int:
        code = self.currency_code.get(currency)
        if code is None:
            raise ValueError(f"no Mikro currency number for {currency}: pass currency_codes")
        return code

    def _pointer(self, rate: Decimal | None) -> int:
        pointer = self.pointer_of.get(Decimal(rate or 0))
        if pointer is None:
            raise ValueError(f"no VAT pointer for {rate}%: pass vat_rates")
        return pointer

    def _unit(self, product: str | None, unit: str | None) -> tuple[int, Decimal]:
        return self.units.get(product or "", {}).get(unit or "", (1, Decimal(1)))

    # -- documents -------------------------------------------------------------------------
    def _order_rows(self, fact: Stamped[Order], batch: Batch) -> int:
        return self._order(fact, batch, self.site.sales_order_tip)

    def _purchase_rows(self, fact: Stamped[Order], batch: Batch) -> int:
        """Some of the scenario's orders again, as orders placed with the suppliers: the other sip_tip."""
        supplier = self.suppliers[int(self._split(fact.record.number)[1]) % len(self.suppliers)]
        order = msgspec.structs.replace(fact.record, number=f"SA{fact.record.number}", account_code=supplier)
        return self._order(Stamped(order, fact.created_at, fact.modified_at), batch, 1 - self.site.sales_order_tip)

    def _order(self, fact: Stamped[Order], batch: Batch, tip: int) -> int:
        o, t = fact.record, self.t
        seri, sira = self._split(o.number)
        day = dt.datetime.combine(o.date, dt.time())
        cins = codes.PROFORMA_ORDER if o.status == "proposal" else codes.NORMAL_ORDER
        rows = batch.setdefault("SIPARISLER", [])
        for ln in o.lines:
            pointer, factor = self._unit(ln.product_code, ln.unit)
            rows.append(
                self._row(
                    t.SIPARISLER,
                    "sip",
                    fact.created_at,
                    fact.modified_at,
                    sip_iptal=o.status == "cancelled",
                    sip_tarih=day,
                    sip_teslim_tarih=day,
                    sip_tip=tip,
                    sip_cins=cins,
                    sip_evrakno_seri=seri,
                    sip_evrakno_sira=sira,
                    sip_satirno=ln.line_no - 1,
                    sip_satici_kod=ln.sales_rep_code or "",
                    sip_musteri_kod=o.account_code,
                    sip_stok_kod=ln.product_code or "",
                    sip_b_fiyat=float(ln.unit_price / factor),
                    sip_miktar=float(ln.quantity * factor),
                    sip_birim_pntr=pointer,
                    sip_teslim_miktar=float((ln.shipped_quantity or 0) * factor),
                    sip_tutar=float(ln.gross),
                    sip_iskonto_1=float(ln.discount),
                    sip_vergi_pntr=self._pointer(ln.vat_rate),
                    sip_vergi=float(ln.vat),
                    sip_depono=int(ln.warehouse_code or 0),
                    sip_kapat_fl=ln.closed,
                    sip_doviz_cinsi=self._code(o.currency),
                    sip_doviz_kuru=float(o.rate),
                    sip_harekettipi=1 if ln.kind == "service" else 0,
                )
            )
        return len(o.lines)

    def _invoice_rows(self, fact: Stamped[Invoice], batch: Batch) -> int:
        inv, t = fact.record, self.t
        seri, sira = self._split(inv.number)
        day = dt.datetime.combine(inv.date, dt.time())
        is_return = inv.kind == "return"
        account = self.accounts.get(inv.account_code)
        closed = not is_return and inv.kind == "sale" and account is not None and pays_at_once(account)
        to_bank = closed and account is not None and bool(account.e_invoice)
        common = {
            "cha_iptal": inv.cancelled,
            "cha_evrak_tip": codes.PURCHASE_INVOICE if is_return else codes.SALES_INVOICE,
            "cha_evrakno_seri": seri,
            "cha_evrakno_sira": sira,
            "cha_tarihi": day,
            "cha_belge_tarih": day,
            "cha_tip": codes.CREDIT if is_return else codes.DEBIT,
            "cha_cinsi": codes.WHOLESALE_INVOICE,
            "cha_normal_Iade": 1 if is_return else 0,
            "cha_tpoz": 1 if closed else 0,
            "cha_belge_no": inv.document_no or "",
            "cha_satici_kodu": inv.sales_rep_code or "",
            "cha_cari_cins": (codes.BANK if to_bank else codes.CASH) if closed else codes.CARI,
            "cha_kod": (BANK if to_bank else CASH_BOX) if closed else inv.account_code,
            "cha_ciro_cari_kodu": inv.account_code,
            "cha_grupno": 1 if to_bank else 0,
            "cha_d_cins": self._code(inv.currency),
            "cha_d_kur": float(inv.rate),
            "cha_uuid": (inv.e_invoice_uuid or "").upper(),
        }
        heads = batch.setdefault("CARI_HESAP_HAREKETLERI", [])
        services = [ln for ln in inv.lines if ln.kind == "service"]
        if services:  # a service invoice: one row per service, the first one is the header
            for ln in services:
                pointer = self._pointer(ln.vat_rate)
                heads.append(
                    self._row(
                        t.CARI_HESAP_HAREKETLERI,
                        "cha",
                        fact.created_at,
                        fact.modified_at,
                        **common,
                        cha_satir_no=ln.line_no - 1,
                        cha_kasa_hizmet=codes.SERVICE,
                        cha_kasa_hizkod=ln.product_code or "",
                        cha_miktari=float(ln.quantity),
                        cha_aratoplam=float(ln.gross),
                        cha_ft_iskonto1=float(ln.discount),
                        cha_vergipntr=pointer,
                        **{f"cha_vergi{pointer}": float(ln.vat)},
                        cha_meblag=float(ln.net + ln.vat),
                    )
                )
            return len(services)
        buckets: dict[str, float] = {}
        for ln in inv.lines:
            name = f"cha_vergi{self._pointer(ln.vat_rate)}"
            buckets[name] = buckets.get(name, 0.0) + float(ln.vat)
        head = self._row(
            t.CARI_HESAP_HAREKETLERI,
            "cha",
            fact.created_at,
            fact.modified_at,
            **common,
            cha_satir_no=0,
            cha_aratoplam=float(inv.totals.gross),
            cha_ft_iskonto1=float(inv.totals.discount),
            cha_meblag=float(inv.totals.total),
            **buckets,
        )
        heads.append(head)
        lines = batch.setdefault("STOK_HAREKETLERI", [])
        difference = inv.kind == "price_difference"
        for ln in inv.lines:
            pointer, factor = self._unit(ln.product_code, ln.unit)
            depot = int(ln.warehouse_code or 0)
            base = ln.quantity * factor
            lines.append(
                self._row(
                    t.STOK_HAREKETLERI,
                    "sth",
                    fact.created_at,
                    fact.modified_at,
                    sth_iptal=inv.cancelled,
                    sth_tarih=day,
                    sth_tip=codes.IN if is_return else codes.OUT,
                    sth_cins=codes.PRICE_DIFFERENCE_CINS if difference else 0,
                    sth_normal_iade=1 if is_return else 0,
                    sth_evraktip=codes.IN_INVOICE if is_return else codes.OUT_INVOICE,
                    sth_evrakno_seri=seri,
                    sth_evrakno_sira=sira,
                    sth_satirno=ln.line_no - 1,
                    sth_belge_no=inv.document_no or "",
                    sth_stok_kod=ln.product_code or "",
                    sth_cari_kodu=inv.account_code,
                    sth_plasiyer_kodu=ln.sales_rep_code or "",
                    sth_har_doviz_cinsi=self._code(inv.currency),
                    sth_har_doviz_kuru=float(inv.rate),
                    sth_miktar=float(base),
                    sth_miktar2=float(ln.quantity),
                    sth_birim_pntr=pointer,
                    sth_birimfiyat=float(ln.unit_price / factor),
                    sth_tutar=float(ln.gross),
                    sth_iskonto1=float(ln.discount),
                    sth_vergi_pntr=self._pointer(ln.vat_rate),
                    # Sites write the line's VAT amount; Mikro's docs call the column the rate.
                    sth_vergi=float(ln.vat if self.site.line_vat == "amount" else ln.vat_rate or 0),
                    sth_fat_uid=head["cha_Guid"],
                    sth_giris_depo_no=depot if is_return else 0,
                    sth_cikis_depo_no=0 if is_return else depot,
                )
            )
            if not inv.cancelled and not difference:
                key = (ln.product_code or "", depot)
                self.stock[key] = self.stock.get(key, Decimal(0)) + (base if is_return else -base)
        return len(inv.lines) + 1

    def _slip_rows(self, fact: Stamped[StockSlip], batch: Batch) -> int:
        """A purchase receipt or a warehouse transfer: one STOK_HAREKETLERI row per line, no account movement (a
        dispatch note or a slip posts nothing to an account; the supplier's invoice would)."""
        slip, t = fact.record, self.t
        seri, sira = self._split(slip.number)
        day = dt.datetime.combine(slip.date, dt.time())
        tip, cins, evraktip = SLIPS_STH[slip.kind]
        source = int(slip.warehouse_code)
        target = int(slip.to_warehouse_code) if slip.to_warehouse_code else None
        rows = batch.setdefault("STOK_HAREKETLERI", [])
        for ln in slip.lines:
            pointer, factor = self._unit(ln.product_code, ln.unit)
            base = ln.quantity * factor
            rows.append(
                self._row(
                    t.STOK_HAREKETLERI,
                    "sth",
                    fact.created_at,
                    fact.modified_at,
                    sth_tarih=day,
                    sth_tip=tip,
                    sth_cins=cins,
                    sth_evraktip=evraktip,
                    sth_evrakno_seri=seri,
                    sth_evrakno_sira=sira,
                    sth_satirno=ln.line_no - 1,
                    sth_stok_kod=ln.product_code,
                    sth_cari_cinsi=codes.CARI,
                    sth_cari_kodu=slip.account_code or "",
                    sth_har_doviz_kuru=1.0,
                    sth_miktar=float(base),
                    sth_miktar2=float(ln.quantity),
                    sth_birim_pntr=pointer,
                    # A purchase comes into its warehouse; a transfer leaves one and enters the other.
                    sth_giris_depo_no=target if target is not None else source,
                    sth_cikis_depo_no=source if target is not None else 0,
                )
            )
            into = target if target is not None else source
            self.stock[ln.product_code, into] = self.stock.get((ln.product_code, into), Decimal(0)) + base
            if target is not None:
                self.stock[ln.product_code, source] = self.stock.get((ln.product_code, source), Decimal(0)) - base
        return len(slip.lines)

    def _collection_rows(self, fact: Stamped[Collection], batch: Batch) -> int:
        c = fact.record
        seri, sira = self._split(c.number)
        # Sites enter the same money through different documents: a receipt here, a slip or an incoming
        # wire there; the writer uses both within one company.
        layout = (RECEIPTS if sira % 2 == 0 else SLIPS)[c.method]
        rows = batch.setdefault("CARI_HESAP_HAREKETLERI", [])
        reference = f"{layout.ref}-000-000-{c.date.year}-{sira:08d}" if layout.ref else ""
        rows.append(self._movement(fact, layout, reference, on_account=True))
        count = 1
        if layout.paper is not None:
            batch.setdefault("ODEME_EMIRLERI", []).append(self._paper(fact, layout, reference, seri, sira))
            count += 1
        if layout.evrak == codes.RECEIPT and layout.cinsi == TRANSFER_PROMISE:
            # The promise's money arrives later: the closing document carries it (posted to the bank, the
            # customer named in cha_ciro_cari_kodu, as Mikro writes invoices closed to a bank).
            rows.append(self._movement(fact, CLOSING, reference, on_account=False))
            count += 1
        return count

    def _movement(
        self, fact: Stamped[Collection], layout: Layout, reference: str, *, on_account: bool
    ) -> dict[str, Any]:
        c = fact.record
        seri, sira = self._split(c.number)
        day = dt.datetime.combine(c.date, dt.time())
        due = c.due_date or c.date
        return self._row(
            self.t.CARI_HESAP_HAREKETLERI,
            "cha",
            fact.created_at,
            fact.modified_at,
            cha_iptal=c.cancelled,
            cha_evrak_tip=layout.evrak,
            cha_evrakno_seri=seri,
            cha_evrakno_sira=sira,
            cha_tarihi=day,
            cha_belge_tarih=day,
            cha_tip=codes.CREDIT,
            cha_cinsi=layout.cinsi,
            cha_cari_cins=codes.CARI if on_account else codes.BANK,
            cha_kod=c.account_code if on_account else BANK,
            cha_ciro_cari_kodu="" if on_account else c.account_code,
            cha_d_cins=self._code(c.currency),
            cha_d_kur=float(c.rate),
            cha_kasa_hizmet=layout.counter,
            cha_kasa_hizkod=layout.counter_code,
            cha_meblag=float(c.amount),
            cha_aratoplam=float(c.amount),
            cha_vade=due.year * 10000 + due.month * 100 + due.day,
            cha_trefno=reference,
            cha_sntck_poz=layout.position,
        )

    def _note_rows(self, fact: Stamped[Note], batch: Batch) -> int:
        """An opening balance or a debit or credit note: one row on the account."""
        n = fact.record
        evrak, cinsi, tip = NOTES[n.kind]
        seri, sira = self._split(n.number)
        day = dt.datetime.combine(n.date, dt.time())
        row = self._row(
            self.t.CARI_HESAP_HAREKETLERI,
            "cha",
            fact.created_at,
            fact.modified_at,
            cha_evrak_tip=evrak,
            cha_evrakno_seri=seri,
            cha_evrakno_sira=sira,
            cha_tarihi=day,
            cha_belge_tarih=day,
            cha_tip=tip,
            cha_cinsi=cinsi,
            cha_aciklama=n.description,
            cha_cari_cins=codes.CARI,
            cha_kod=n.account_code,
            cha_d_cins=codes.LOCAL_CURRENCY_CODE,
            cha_d_kur=1.0,
            cha_meblag=float(n.amount),
            cha_aratoplam=float(n.amount),
        )
        batch.setdefault("CARI_HESAP_HAREKETLERI", []).append(row)
        return 1

    def _paper(self, fact: Stamped[Collection], layout: Layout, reference: str, seri: str, sira: int) -> dict[str, Any]:
        """The ODEME_EMIRLERI row Mikro keeps beside a cheque, note, card payment or transfer promise."""
        c = fact.record
        assert self.as_of is not None and layout.paper is not None
        due = c.due_date or c.date
        if layout.paper in PORTFOLIO_PAPERS:
            position = codes.IN_PORTFOLIO if due > self.as_of.date() else CASHED
        else:
            position = PAID if layout.cinsi == TRANSFER_PROMISE else AT_BANK
        return self._row(
            self.t.ODEME_EMIRLERI,
            "sck",
            fact.created_at,
            fact.modified_at,
            sck_iptal=c.cancelled,
            sck_tip=layout.paper,
            sck_refno=reference,
            sck_vade=dt.datetime.combine(due, dt.time()),
            sck_tutar=float(c.amount),
            sck_doviz=self._code(c.currency),
            sck_doviz_kur=float(c.rate),
            sck_sahip_cari_cins=codes.CARI,
            sck_sahip_cari_kodu=c.account_code,
            sck_nerede_cari_cins=codes.CASH if layout.counter == codes.CASH else codes.BANK,
            sck_nerede_cari_kodu=layout.counter_code,
            sck_sonpoz=position,
            sck_ilk_evrak_seri=seri,
            sck_ilk_evrak_sira_no=sira,
        )
