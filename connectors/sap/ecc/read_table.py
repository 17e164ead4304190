"""Reading ECC tables through RFC_READ_TABLE: field metadata, row-width splitting, paging, parsing.

RFC_READ_TABLE returns each row as one text of at most 512 characters (DATA-WA), fields at the
OFFSET and LENGTH its FIELDS table reports. Called with NO_DATA and no FIELDS it lists every field
of the table with its length and ABAP type, without the width limit (the width check and the
SELECT both skip NO_DATA): that listing, once per table, says which fields this system has and how
wide they are. When the wanted fields are wider than a row, they are read in several calls of the
same selection and page, each carrying the table's key fields, and the parts are joined by key.
Pages are ROWSKIPS/ROWCOUNT windows of one selection; a read ends with a page shorter than ROWCOUNT.

Rows come back as {field: stripped text}, without the optional fields the system lacks; the streams
convert values (values.py), so one bad value makes one bad record, not a failed read. An answer
without its FIELDS or DATA table is an error, never an empty page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from connectors.sap.ecc import soap
from connectors.sap.ecc import where as w
from connectors.sap.ecc.declare import Read
from connectors.sap.ecc.options import EccOptions
from connectors.sap.ecc.rfc import EccCallError, Rfc

__all__ = ["GUIDANCE", "Column", "Row", "TableReader", "parse_rows"]

Row = dict[str, str]

GUIDANCE = {
    "TABLE_NOT_AVAILABLE": "the table does not exist in this system",
    "NOT_AUTHORIZED": "the technical user may not read it: grant S_TABU_DIS for its authorisation group "
    "(or S_TABU_NAM for the table)",
    "FIELD_NOT_VALID": "a requested field does not exist in it (check the field settings)",
    "OPTION_NOT_VALID": "the selection was refused",
    "DATA_BUFFER_EXCEEDED": "the fields did not fit one row: lower ecc.row_width",
    "TABLE_WITHOUT_DATA": "it is a structure, not a database table",
}


@dataclass(frozen=True)
class Column:
    name: str
    offset: int
    length: int
    type: str = ""  # the ABAP type letter RFC_READ_TABLE reports (C, N, D, T, P ...)


def _table(answer: etree._Element, name: str, function: str) -> etree._Element:
    found = soap.child(answer, name)
    if found is None:
        raise EccCallError(f"{function} answered without its {name} table: the answer cannot be read", function)
    return found


def _columns(answer: etree._Element, function: str) -> list[Column]:
    return [
        Column(
            (soap.text(item, "FIELDNAME") or "").strip(),
            int(soap.text(item, "OFFSET") or 0),
            int(soap.text(item, "LENGTH") or 0),
            (soap.text(item, "TYPE") or "").strip(),
        )
        for item in soap.children(_table(answer, "FIELDS", function), "item")
    ]


def parse_rows(answer: etree._Element, fields: Sequence[str], function: str) -> list[Row]:
    columns = {c.name: c for c in _columns(answer, function)}
    lost = [f for f in fields if f not in columns]
    if lost:
        raise EccCallError(f"{function} answered without the requested fields {', '.join(lost)}", function)
    spans = [(c.name, c.offset, c.offset + c.length) for c in columns.values()]
    data = _table(answer, "DATA", function)
    # SAP's SOAP runtime drops trailing blanks, so a row may end before its last fields: they are blank.
    return [
        {name: (soap.text(item, "WA") or "")[start:end].strip() for name, start, end in spans}
        for item in soap.children(data, "item")
    ]


class TableReader:
    """RFC_READ_TABLE (or a copy with its interface) over one system."""

    def __init__(self, rfc: Rfc, options: EccOptions, page_size: int, *, retry: bool = True) -> None:
        self.rfc = rfc
        self.retry = retry  # check() reads without retries: it must answer in seconds
        self.function = options.read_table_function
        self.width = options.row_width
        self.delimiter = options.delimiter
        self.in_list_size = options.in_list_size
        self.page_size = page_size
        self._layouts: dict[str, dict[str, Column]] = {}

    def call(self, table: str, fields: Sequence[str], options: Sequence[str], **params: Any) -> etree._Element:
        try:
            return self.rfc.call_raw(
                self.function,
                QUERY_TABLE=table,
                FIELDS={
                    "item": [{"FIELDNAME": f, "OFFSET": "", "LENGTH": "", "TYPE": "", "FIELDTEXT": ""} for f in fields]
                },
                OPTIONS={"item": [{"TEXT": line} for line in options]},
                **({"DELIMITER": self.delimiter} if self.delimiter else {}),
                **{"retry": self.retry, **params},
            )
        except EccCallError as exc:
            if exc.exception not in GUIDANCE:
                raise
            raise EccCallError(
                f"cannot read table {table} with {self.function}: {exc.exception} ({GUIDANCE[exc.exception]}); "
                f"{str(exc).partition(': ')[2] or exc}",
                exc.function,
                exc.exception,
            ) from None

    def layout(self, table: str) -> dict[str, Column]:
        """Every field of `table` on this system with its length and type (NO_DATA, no FIELDS), cached."""
        found = self._layouts.get(table)
        if found is None:
            answer = self.call(table, [], [], NO_DATA="X")
            found = self._layouts[table] = {c.name: c for c in _columns(answer, self.function)}
        return found

    def present(self, read: Read) -> list[str]:
        """The fields of `read` to ask for: all of them but the optional ones this system lacks."""
        layout = self.layout(read.table)
        missing = [n for n in read.names if n not in layout and n not in read.optional and n not in read.conditional]
        if missing:
            raise EccCallError(
                f"table {read.table} has no field {', '.join(missing)} on this system (dealersync check lists "
                "every missing field and the setting that remaps it)",
                self.function,
                "FIELD_NOT_VALID",
            )
        return [n for n in read.names if n in layout]

    def groups(self, table: str, fields: Sequence[str], key: Sequence[str]) -> list[list[str]]:
        """Field lists that each fit one row, every one holding the key fields first."""
        wanted = list(dict.fromkeys([*key, *fields]))
        layout = self.layout(table)
        step = len(self.delimiter)
        key_width = sum(layout[k].length for k in key) + step * max(len(key) - 1, 0)
        if key_width > self.width:
            raise EccCallError(f"the key of table {table} is wider than {self.width} characters", self.function)
        out: list[list[str]] = []
        current, used = list(key), key_width
        for name in wanted[len(key) :]:
            need = layout[name].length + (step if current else 0)
            if used + need > self.width and len(current) > len(key):
                out.append(current)
                current, used = list(key), key_width
                need = layout[name].length + (step if current else 0)
            current.append(name)
            used += need
        out.append(current)
        return out

    def pages(self, read: Read, condition: str | None = None) -> Iterator[list[Row]]:
        """Every row of the read's table matching `condition`, a page at a time, with the read's fields."""
        options = w.lines(condition)
        groups = self.groups(read.table, self.present(read), read.key)
        skip = 0
        while True:
            rows = self._page(read.table, groups, read.key, options, skip)
            if rows:
                yield rows
            if len(rows) < self.page_size:
                return
            skip += len(rows)

    def rows(self, read: Read, condition: str | None = None) -> list[Row]:
        return [row for page in self.pages(read, condition) for row in page]

    def rows_in(self, read: Read, field: str, values: Sequence[str], condition: str | None = None) -> list[Row]:
        """The rows whose `field` is one of `values` (and matching `condition`), in IN-list batches."""
        unique = list(dict.fromkeys(v for v in values if v))
        out: list[Row] = []
        for start in range(0, len(unique), self.in_list_size):
            batch = w.and_(w.in_(field, unique[start : start + self.in_list_size]), condition)
            out.extend(self.rows(read, batch))
        return out

    def _page(
        self, table: str, groups: list[list[str]], key: Sequence[str], options: list[str], skip: int
    ) -> list[Row]:
        if len(groups) == 1:
            return self._call_part(table, groups[0], options, skip)
        merged = self._join([self._call_part(table, g, options, skip) for g in groups], key)
        if merged is None:  # rows came or went between the calls of this page: once more, then give up
            merged = self._join([self._call_part(table, g, options, skip) for g in groups], key)
        if merged is None:
            raise EccCallError(
                f"table {table} changed while one page was read in {len(groups)} parts (its fields are wider than "
                f"{self.width} characters); the next sync reads it again",
                self.function,
            )
        return merged

    def _call_part(self, table: str, fields: list[str], options: list[str], skip: int) -> list[Row]:
        answer = self.call(table, fields, options, ROWSKIPS=skip, ROWCOUNT=self.page_size)
        return parse_rows(answer, fields, self.function)

    @staticmethod
    def _join(parts: list[list[Row]], key: Sequence[str]) -> list[Row] | None:
        """The parts of one page as whole rows, in the first part's order; None when their key sets differ."""
        first = parts[0]
        keys = [tuple(r[k] for k in key) for r in first]
        merged = {k: dict(r) for k, r in zip(keys, first, strict=True)}
        for part in parts[1:]:
            if len(part) != len(first):
                return None
            for row in part:
                target = merged.get(tuple(row[k] for k in key))
                if target is None:
                    return None
                target.update(row)
        return [merged[k] for k in keys]
