"""stock_movements (УТ 11 / 1C:ERP 2): the records of AccumulationRegister_ТоварыНаСкладах, one movement each.

Every document that moves goods on or off a warehouse writes records of that register when it is posted (44
documents of УТ 11.5 name it in their RegisterRecords: a sale, a client's return, a purchase, a transfer, a count,
an assembly...). A record is one quantity (resource ВНаличии, in the item's own unit) of one item (Номенклатура) on
one warehouse (Склад), Receipt onto the stock or Expense off it; a storno record carries a negative quantity, and
the sign decides. A transfer writes two records, an Expense from the sender and a Receipt into the receiver, so it
is two movements without splitting anything; the other warehouse comes from the transfer's header
(СкладОтправитель / СкладПолучатель). The register keeps no operation: the kind is read from the recorder's
document name (`movement_kinds`); the recorders of the sets read here (sales, returns, purchases, transfers) give
the number, the counterparty and, for a sale or return the invoices stream carries, its invoice number.

1C keeps no change stamp on register records, and unposting a document (marking it for deletion does) removes
its records: the stream is a snapshot, whose every read sees the whole register, so the engine sends a delete
for the movements of a document unposted since; a record's version (its row, its recorder's row, the catalogs and
settings it is mapped with) spares the mapping of what has not moved. A record switched off (Active false) stays,
as cancelled. A record that moves only КОтгрузке (goods to be shipped, not on hand) is left out by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import Excluded, Partition
from connectors.versions import row_version, salt
from mapping.dates import business_date
from mapping.errors import RecordError
from mapping.money import fixed
from mapping.schema import StockMovement
from mapping.text import code as text_code
from mapping.units import unit_code

from .declare import Read, flag, guid, number, text, when, whole
from .lookups import Lookups
from .odata import Row, as_int, datetime_literal
from .streams import OneCStream, code_of, yes

__all__ = ["StockMovements"]

_ORDER = ("Recorder", "LineNumber")
_COUNTERPARTY_DOCUMENTS = ("sales", "returns", "purchases")  # their header's Контрагент is the account
_INVOICE_DOCUMENTS = ("sales", "returns")  # a number the invoices stream carries, where it carries the document


class StockMovements(OneCStream):
    """A snapshot of ТоварыНаСкладах's records keyed `<Recorder>:<LineNumber>`."""

    name = "stock_movements"
    primary_key = ("Recorder", "LineNumber")
    replication_key = None  # no change stamp on register records; unposting removes them: a snapshot

    def movements(self) -> Read:
        fields = (
            *text("Recorder", "Recorder_Type", "RecordType"),
            *whole("LineNumber"),
            *flag("Active"),
            *when("Period"),
            *guid("Номенклатура_Key", "Склад_Key"),
            *number("ВНаличии"),
        )
        return Read(self.sets["stock_records"], fields, "stock_records")

    def recorder_reads(self) -> list[Read]:
        """The documents whose number, counterparty and warehouses the movements carry."""
        f = self.flavour
        operation = f.documents["sales"].operation or ""
        reads = []
        for role in (*_COUNTERPARTY_DOCUMENTS, "transfers"):
            fields = (*guid("Ref_Key"), *text("Number"))
            if role in _COUNTERPARTY_DOCUMENTS:
                fields = (*fields, *guid("Контрагент_Key"))
            if role in _INVOICE_DOCUMENTS:
                fields = (*fields, *text(operation))
            if role == "transfers":
                fields = (*fields, *guid("СкладОтправитель_Key", "СкладПолучатель_Key"))
            reads.append(Read(f.sets[role], fields, role))
        return reads

    def lookup_reads(self) -> list[Read]:
        e = self.env
        return [
            e.catalog("items", text(self.code("items")), guid("ЕдиницаИзмерения_Key")),
            e.catalog("units", text("Description")),
            e.catalog("warehouses", text(self.code("warehouses"))),
            e.catalog("counterparties", text(self.code("counterparties"))),
        ]

    def reads(self) -> list[Read]:
        return [self.movements(), *self.recorder_reads(), *self.lookup_reads()]

    def load(self, lookups: Lookups) -> None:
        self.items, self.units, self.warehouses, self.counterparties = (
            lookups.catalog(read) for read in self.lookup_reads()
        )
        # Recorder set name (as Recorder_Type names it in this base) -> (its role, Ref_Key -> its row).
        self.recorders: dict[str, tuple[str, Mapping[str, Row]]] = {
            self.env.query(read).set: (read.role, lookups.catalog(read)) for read in self.recorder_reads()
        }
        included = self.env.operations.get("invoices", {})
        self.invoiced = frozenset(op for op, what in included.items() if what == "include")
        # What a record is mapped with beside its own row and its recorder's: the settings and the catalogs.
        catalogs = tuple(
            sorted(
                (ref, tuple(row.values()))
                for c in (self.items, self.units, self.warehouses, self.counterparties)
                for ref, row in c.items()
            )
        )
        self.salt = salt(
            sorted(self.env.movement_kinds.items()),
            sorted(self.invoiced),
            self.code("items"),
            self.code("warehouses"),
            self.code("counterparties"),
            row_version("", catalogs),
        )

    def key(self, item: Row) -> str:
        return f"{item.get('Recorder')}:{item.get('LineNumber')}"

    def version(self, item: Row) -> str | None:
        """Register records carry no DataVersion: a digest of the record, its recorder's row and what it is mapped
        with, so an unchanged record is not even mapped (the read is what a snapshot cannot skip)."""
        documents = self.recorders.get(self.recorder_set(item))
        recorder = None if documents is None else documents[1].get(item.get("Recorder") or "")
        return row_version(self.salt, tuple(item.items()), None if recorder is None else tuple(recorder.items()))

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        yield from self.env.odata.pages(self.env.query(self.movements()), order=_ORDER)

    def dated_from(self, day: dt.date) -> Iterator[Row]:
        """The records dated `day` or later: what the code census counts."""
        self.prepare()
        q = self.env.query(self.movements())
        for page in self.env.odata.pages(q, where=f"{q.name('Period')} ge {datetime_literal(day)}", order=_ORDER):
            yield from page

    def count(self) -> int | None:
        return self.env.odata.count(self.env.query(self.movements()).set)

    def fetch(self, keys: Sequence[str]) -> list[Row]:
        self.prepare()
        wanted = set(keys)
        q = self.env.query(self.movements())
        rows = self.env.odata.by_refs(q, {k.rsplit(":", 1)[0] for k in keys}, field="Recorder", order=_ORDER)
        return [row for row in rows if self.key(row) in wanted]

    # -- mapping ---------------------------------------------------------------------------------
    def recorder_set(self, item: Row) -> str:
        return str(item.get("Recorder_Type") or "").rsplit(".", 1)[-1]

    def erp_kind(self, item: Row) -> str:
        """The recorder's document name: what the census counts and `movement_kinds` reads."""
        return self.recorder_set(item).removeprefix("Document_")

    def signed(self, item: Row) -> Decimal:
        """ВНаличии, positive onto the warehouse's stock."""
        record_type = item.get("RecordType")
        if record_type not in ("Receipt", "Expense"):
            raise RecordError(f"RecordType {str(record_type)[:20]!r} is neither Receipt nor Expense", "direction")
        size = fixed(item.get("ВНаличии"), 3, "quantity")
        return size if record_type == "Receipt" else -size

    def map(self, item: Row) -> StockMovement | Excluded:
        signed = self.signed(item)
        if not signed:
            return Excluded("a record that moves no stock on hand (ВНаличии 0: only КОтгрузке, goods to ship)")
        raw = self.erp_kind(item)
        if not raw:
            raise RecordError("the record has no recorder type (Recorder_Type)", "erp_kind")
        day = business_date(item.get("Period"), "date")
        if day is None:
            raise RecordError("the record has no date (Period)", "date")
        ref = item.get("Номенклатура_Key")
        product = code_of(self.items, ref, "nomenclature item", "product_code", self.code("items"))
        if product is None:
            raise RecordError("the record has no item (Номенклатура)", "product_code")
        unit = code_of(self.units, self.items[ref].get("ЕдиницаИзмерения_Key"), "unit", "unit", "Description")
        warehouse = self.warehouse(item.get("Склад_Key"), "warehouse_code")
        if warehouse is None:
            raise RecordError("the record has no warehouse (Склад)", "warehouse_code")
        role, documents = self.recorders.get(self.recorder_set(item), ("", {}))
        recorder = documents.get(item.get("Recorder") or "")
        number = None if recorder is None else text_code(recorder.get("Number"), "document_no")
        account = other = invoice = None
        if recorder is not None and role in _COUNTERPARTY_DOCUMENTS:
            account = code_of(
                self.counterparties,
                recorder.get("Контрагент_Key"),
                "counterparty",
                "account_code",
                self.code("counterparties"),
            )
        if recorder is not None and role in _INVOICE_DOCUMENTS:
            operation = self.flavour.documents["sales"].operation or ""
            invoice = number if recorder.get(operation) in self.invoiced else None
        if recorder is not None and role == "transfers":
            sender, receiver = recorder.get("СкладОтправитель_Key"), recorder.get("СкладПолучатель_Key")
            here = item.get("Склад_Key")
            other_ref = receiver if here == sender else sender if here == receiver else None
            other = self.warehouse(other_ref, "other_warehouse_code")
        return StockMovement(
            date=day,
            kind=self.env.movement_kinds.get(raw, "other"),
            direction="in" if signed > 0 else "out",
            erp_kind=raw,
            document_no=number,
            line_no=as_int(item.get("LineNumber")),
            invoice_number=invoice,
            account_code=account,
            product_code=product,
            warehouse_code=warehouse,
            other_warehouse_code=other,
            quantity=abs(signed),
            unit=unit,
            unit_code=unit_code(unit),
            cancelled=not yes(item, "Active", "cancelled"),
        )

    def warehouse(self, ref: Any, field: str) -> str | None:
        return code_of(self.warehouses, ref, "warehouse", field, self.code("warehouses"))
