"""Collections: customers' incoming payments, read from their customer line items in FI.

A collection is a customer item (BSID while open, BSAD once cleared) of a payment document type
(BLART, the `collection_methods` setting) on the credit side (SHKZG H); a debit item of the same
type is a refund or a reversal, not a collection. The method comes from the document type and
payment method (ZLSCH). Its header (BKPF) gives the exchange rate (KURSF), the entry time and,
when the payment was reversed, the reversal document (STBLG): cancelled. The invoices it settled
are the billing documents (VBELN) of the items it cleared (AUGBL = the payment's number).

Incremental: items entered (CPUDT) or cleared (AUGDT; a reversal clears the payment) on or after
the day of `since`. BSID is read before BSAD: an item cleared between the two reads moves from
the first to the second and is then read twice (harmless), never missed.

Amounts in their currency's decimals (TCURX): WRBTR in the item's WAERS, DMBTR in the company
code's currency (`local_currency`, which check compares with the company code's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Partition
from connectors.sap import codes
from connectors.sap.ecc import values as v
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.read_table import Row
from connectors.sap.ecc.streams import EccStream, Item, day, latest
from mapping.errors import RecordError
from mapping.money import amount
from mapping.money import rate as to_rate
from mapping.schema import Collection
from mapping.text import required_code

__all__ = ["Collections"]

ITEM_KEY = ("BUKRS", "KUNNR", "UMSKS", "UMSKZ", "AUGDT", "AUGBL", "ZUONR", "GJAHR", "BELNR", "BUZEI")
_ITEM = ("BLART", "BLDAT", "CPUDT", "SHKZG", "WAERS", "WRBTR", "DMBTR", "ZFBDT", "ZBD1T", "ZLSCH")
HEADERS = Read("BKPF", ("BUKRS", "BELNR", "GJAHR"), ("CPUTM", "AEDAT", "STBLG", "KURSF"))
CLEARED = Read("BSAD", ITEM_KEY, ("VBELN",))
_ONE = Decimal("1.000000")


class CustomerItems(EccStream):
    """A stream over the customer items of BSID (open) and BSAD (cleared), one item each, keyed
    BUKRS:GJAHR:BELNR:BUZEI, read by entry or clearing date; `attach` pairs each item with its BKPF header."""

    replication_key = "modified"
    table = "BSID"
    key_fields = ITEM_KEY
    amounts = True
    fields: tuple[str, ...] = ()  # the item fields the stream reads

    @classmethod
    def items(cls, table: str) -> Read:
        return Read(table, ITEM_KEY, cls.fields)

    def head_read(self) -> Read:
        return self.items("BSID")

    def changed(self, since: str) -> str | None:
        return w.or_(w.ge("CPUDT", since), w.ge("AUGDT", since))

    def attach(self, heads: list[Row]) -> list[Item]:
        raise NotImplementedError

    def head(self, item: Item) -> Row:
        return item["item"]

    def key(self, item: Item) -> str:
        try:
            r = item["item"]
            return f"{r['BUKRS']}:{r['GJAHR']}:{r['BELNR']}:{r['BUZEI']}"
        except (KeyError, TypeError):
            return repr(item)[:200]

    def fetch(self, keys: Sequence[str]) -> list[Any]:
        numbers = sorted({k.split(":")[2] for k in keys if k.count(":") == 3})
        out = []
        for table in ("BSID", "BSAD"):
            rows = self.reader.rows_in(self.items(table), "BELNR", numbers, self.condition())
            out.extend(item for item in self.attach(rows) if self.key(item) in keys)
        return out

    def cursor(self, item: Item) -> dt.datetime | None:
        r, header = item["item"], item["BKPF"] or {}
        entered = self.moment(r.get("CPUDT"), header.get("CPUTM"))
        return latest(entered, self.moment(r.get("AUGDT")), self.moment(header.get("AEDAT")))


class Collections(CustomerItems):
    name = "collections"
    primary_key = ("number",)
    fields = _ITEM

    def condition(self) -> str | None:
        types = sorted({codes.parse_method_key(k)[0] for k in self.env.settings.collection_methods})
        return w.and_(w.in_("BLART", types), w.eq("SHKZG", codes.CREDIT), self.env.company())

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        condition = self.condition()
        if since is not None:
            condition = w.and_(condition, self.changed(day(since, self.tz)))
        for table in ("BSID", "BSAD"):
            for page in self.reader.pages(self.items(table), condition):
                yield self.attach(page)

    def declared(self) -> list[Read]:
        return [self.items("BSID"), self.items("BSAD"), HEADERS, CLEARED, *self.currency_reads()]

    def attach(self, heads: list[Row]) -> list[Item]:
        self.read_currencies()
        numbers = [h["BELNR"] for h in heads]
        company = self.env.company()
        headers = {
            (r["BUKRS"], r["BELNR"], r["GJAHR"]): r for r in self.reader.rows_in(HEADERS, "BELNR", numbers, company)
        }
        settled: dict[tuple[str, str], list[str]] = {}
        # A payment that cleared invoices is their clearing document (its own AUGBL). The selection names the
        # customers too: BSAD's key starts BUKRS, KUNNR, so the database need not scan the table for AUGBL.
        clearing = [h for h in heads if h["AUGBL"] and h["AUGBL"] == h["BELNR"]]
        step = self.reader.in_list_size
        for start in range(0, len(clearing), step):
            batch = clearing[start : start + step]
            condition = w.and_(
                w.in_("AUGBL", sorted({h["BELNR"] for h in batch})),
                w.in_("KUNNR", sorted({h["KUNNR"] for h in batch})),
                w.ne("VBELN", ""),
                company,
            )
            for row in self.reader.rows(CLEARED, condition):
                if row["BELNR"] != row["AUGBL"]:
                    settled.setdefault((row["BUKRS"], row["AUGBL"]), []).append(row["VBELN"])
        return [
            {
                "item": h,
                "BKPF": headers.get((h["BUKRS"], h["BELNR"], h["GJAHR"])),
                "settles": sorted({codes.alpha_out(n) for n in settled.get((h["BUKRS"], h["BELNR"]), [])}),
            }
            for h in heads
        ]

    def map(self, item: Item) -> Collection:
        r, header = item["item"], item["BKPF"]
        if header is None:
            raise RecordError(f"no document header (BKPF) for {r['BELNR']}", "number")
        method = codes.collection_method(r["BLART"], r["ZLSCH"], self.env.settings.collection_methods)
        if method is None:
            raise RecordError(f"document type {r['BLART']!r} is not a collection", "method")
        currency = self.currency(r["WAERS"], "currency")
        local_currency = self.env.settings.local_currency
        external = self.env.currencies.external
        date = v.date(r["BLDAT"], "date")
        if date is None:
            raise RecordError("missing", "date")
        baseline = v.date(r["ZFBDT"], "due_date") or date
        due = baseline + dt.timedelta(days=int(v.number(r["ZBD1T"], "due_date")))
        return Collection(
            number=required_code(codes.alpha_out(r["BELNR"]), "number"),
            account_code=required_code(codes.alpha_out(r["KUNNR"]), "account_code"),
            date=date,
            amount=amount(external(r["WRBTR"], r["WAERS"], "amount"), "amount", currency),  # type: ignore[arg-type]
            currency=currency,
            rate=_ONE if currency == local_currency else to_rate(v.rate(header["KURSF"], "rate"), "rate"),
            amount_local=amount(  # type: ignore[arg-type]
                external(r["DMBTR"], local_currency, "amount_local"), "amount_local", local_currency
            ),
            method=method,
            # Cash and transfers are due on their date; a cheque or note at its maturity, later.
            due_date=due if due > date else None,
            cancelled=bool(header["STBLG"]),
            settles=item["settles"],
        )
