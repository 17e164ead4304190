"""Document streams: orders, invoices (sales, returns, sales corrections) and collections (incoming payments).

1C has no modification time, so a read is bounded by the document date instead: `Date ge` the engine's
cursor minus the `lookback_days` setting (an old document can be re-posted until the period is closed),
plus every document marked for deletion or unposted, whatever its date; DataVersion tells the engine
which of them really changed. A page of headers comes first, then the tabular sections of the whole
page, by or-ed Ref_Key lists. A document marked for deletion is cancelled; an unposted one (a draft,
or a posting undone) is not in the feed: a delete. Documents removed physically disappear at a
reconcile: the engine reads every document (no date window) and deletes each key sent before it no longer sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from connectors.base import Partition
from mapping.dates import business_date, timestamp
from mapping.errors import RecordError
from mapping.text import required_code

from .declare import Field, Read, flag, guid, number, text, unique, when, whole
from .lookups import Lookups, currency_read, rate_read
from .odata import Row, as_int, datetime_literal, is_ref
from .streams import OneCStream, code_of, yes

__all__ = ["Documents", "composite_ref"]


def composite_ref(row: Row, field: str, set_name: str) -> str | None:
    """The GUID in a composite field when its _Type names `set_name`, else None."""
    kind = str(row.get(f"{field}_Type") or "").rsplit(".", 1)[-1]
    value = row.get(field)
    return value if kind == set_name and is_ref(value) else None


class Documents(OneCStream):
    """What orders, invoices and collections share: the date window, headers, tabular sections, keys."""

    replication_key = "date"

    def document_sets(self) -> list[tuple[Read, Any]]:
        """(header read, what the stream makes of the set: an invoice kind, a collection method)."""
        raise NotImplementedError

    def section_reads(self, header: Read) -> list[tuple[str, Read]]:
        """(section name, its read) of a header's tabular sections."""
        raise NotImplementedError

    def lookup_reads(self) -> list[Read]:
        e = self.env
        return [
            e.catalog("counterparties", text(self.code("counterparties"))),
            e.catalog("users", text("Description")),
            e.catalog("warehouses", text(self.code("warehouses"))),
            currency_read(e),
            rate_read(e),
        ]

    def resolve_reads(self) -> list[Read]:
        """Reads that fill in what a page's documents refer to (the sale a return returns, ...)."""
        return []

    def reads(self) -> list[Read]:
        out: list[Read] = []
        for header, _ in self.document_sets():
            out += [header, *(read for _, read in self.section_reads(header))]
        return [*out, *self.resolve_reads(), *self.lookup_reads()]

    def header(self, role: str, container: str, *fields: tuple[Field, ...]) -> Read:
        """A document header: what every document read carries, and `fields`."""
        base = (
            *guid("Ref_Key"),
            *text("DataVersion", "Number"),
            *flag("DeletionMark", "Posted"),
            *when("Date"),
            *number("СуммаДокумента"),
        )
        return Read(container, unique(f for group in (base, *fields) for f in group), role)

    def section(self, header: Read, name: str, *fields: tuple[Field, ...]) -> Read:
        base = (*guid("Ref_Key"), *whole("LineNumber"))
        return Read(f"{header.container}_{name}", tuple(f for group in (base, *fields) for f in group), header.role)

    def postable(self, header: Read) -> bool:
        return True

    def resolve(self, rows: list[Row]) -> None:
        """Fill in what a page's documents refer to by number (the sale a return returns, ...)."""

    # -- reading ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        super().prepare()
        self.read_started = dt.datetime.now(self.tz).replace(microsecond=0)

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        self.prepare()
        start = None
        if since is not None:
            start = since.astimezone(self.tz).replace(tzinfo=None) - self.env.lookback
        for header, tag in self.document_sets():
            q = self.env.query(header)
            for page in self.env.odata.pages(q, where=self._window(header, start)):
                yield self.attach(header, tag, page)

    def _window(self, header: Read, start: dt.datetime | None) -> str | None:
        """Documents dated from `start`, and from any date those marked for deletion or unposted: they are
        few, and a cancellation of an old document must not wait for a full refresh."""
        if start is None:
            return None
        n = self.env.query(header).name
        undone = f"{n('DeletionMark')} eq true"
        if self.postable(header):
            undone += f" or {n('Posted')} eq false"
        return f"{n('Date')} ge {datetime_literal(start)} or {undone}"

    def attach(self, header: Read, tag: Any, rows: list[Row]) -> list[Row]:
        refs = [row["Ref_Key"] for row in rows]
        lines: dict[str, dict[str, list[Row]]] = {ref: {} for ref in refs}
        for name, read in self.section_reads(header):
            found = self.env.odata.by_refs(self.env.query(read), refs, order=("Ref_Key", "LineNumber"))
            # LineNumber is an Edm.Int64, which 1C sends as a JSON string: "10" must follow "9", not "1".
            for line in sorted(found, key=lambda x: as_int(x.get("LineNumber") or 0)):
                lines.setdefault(line["Ref_Key"], {}).setdefault(name, []).append(line)
        for row in rows:
            row["_set"], row["_tag"], row["_lines"] = self.env.query(header).set, tag, lines[row["Ref_Key"]]
            row["_role"] = header.role or header.container
        self.resolve(rows)
        return rows

    def _live(self, header: Read) -> str | None:
        if not self.postable(header):
            return None
        n = self.env.query(header).name
        return f"{n('Posted')} eq true or {n('DeletionMark')} eq true"

    def count(self) -> int | None:
        return sum(self.env.odata.count(self.env.query(h).set, self._live(h)) for h, _ in self.document_sets())

    def fetch(self, keys: Sequence[str]) -> list[Row]:
        self.prepare()
        found: list[Row] = []
        for header, tag in self.document_sets():
            rows = self.env.odata.by_refs(self.env.query(header), keys)
            if rows:
                found.extend(self.attach(header, tag, rows))
        return found

    def cursor(self, item: Row) -> dt.datetime | None:
        """The document date, but never later than the read: a document dated ahead must not carry the
        cursor (and with it the next read's window) past documents entered today."""
        try:
            moment = timestamp(item.get("Date"), "Date", self.tz)
        except RecordError:
            return None
        if moment is None:
            return None
        return min(moment, self.read_started)

    # -- mapping helpers -------------------------------------------------------------------------
    def load(self, lookups: Lookups) -> None:
        reads = self.lookup_reads()
        self.counterparties = lookups.catalog(reads[0])
        self.users = lookups.catalog(reads[1])
        self.warehouses = lookups.catalog(reads[2])
        lookups.currency_codes()
        lookups.load_rates()

    def deleted(self, item: Row) -> bool:
        """An unposted document that is not marked for deletion: a draft, or a posting undone."""
        postable = item["_role"] != "orders" or self.flavour.orders_posted
        return postable and not yes(item, "Posted", "Posted") and not yes(item, "DeletionMark", "cancelled")

    def included(self, item: Row, stream: str, field: str | None) -> bool:
        """Whether the document's operation kind is one the feed carries (`operations` setting)."""
        if field is None:
            return True
        value = str(item.get(field) or "")
        found = self.env.operations.get(stream, {}).get(value)
        if found is None:
            raise RecordError(
                f"unknown {field} {value[:60]!r} of {item['_set']}: include or exclude it with the setting "
                f"operations: {{{stream}: {{{value[:60]}: include}}}}",
                field,
            )
        return found == "include"

    def head(self, item: Row, payer: str | None = None) -> dict[str, Any]:
        """Number, account, dates, currency and rate of a document header."""
        day = business_date(item.get("Date"), "date")
        if day is None:
            raise RecordError("the document has no date", "date")
        iso = self.lookups.currency_of(item.get(self.flavour.currency_field), "currency")
        who = item.get("Контрагент_Key") if payer is None else payer
        account = code_of(self.counterparties, who, "counterparty", "account_code", self.code("counterparties"))
        return {
            "number": required_code(item.get("Number"), "number"),
            "account_code": required_code(account, "account_code"),
            "date": day,
            "currency": iso,
            "rate": self.lookups.rate_on(iso, day),
        }

    def rep(self, item: Row) -> str | None:
        return code_of(self.users, item.get(self.flavour.manager_field), "user", "sales_rep_code", "Description")

    def warehouse(self, item: Row) -> str | None:
        code = self.code("warehouses")
        return code_of(self.warehouses, item.get("Склад_Key"), "warehouse", "warehouse_code", code)
