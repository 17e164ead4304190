"""Reading ECC tables through RFC_READ_TABLE: field metadata, row-width splitting, paging, parsing.

RFC_READ_TABLE returns each row as one text of at most 512 characters (DATA-WA), fields at the
OFFSET and LENGTH its FIELDS table reports. When the wanted fields are wider than that, they are
read in several calls of the same selection and page, each carrying the table's key fields, and
the parts are joined again by key. Pages are ROWSKIPS/ROWCOUNT windows of one selection; a read
ends with a page shorter than ROWCOUNT.

Rows come back as {field: stripped text}; the streams convert values (values.py), so one bad
value makes one bad record, not a failed read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from connectors.sap.ecc import where as w
from connectors.sap.ecc.options import EccOptions
from connectors.sap.ecc.rfc import EccCallError, Rfc

__all__ = ["Column", "Row", "TableReader"]

Row = dict[str, str]

_GUIDANCE = {
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


def _columns(answer: etree._Element) -> list[Column]:
    return [
        Column(
            (item.findtext("FIELDNAME") or "").strip(),
            int(item.findtext("OFFSET") or 0),
            int(item.findtext("LENGTH") or 0),
        )
        for item in answer.iterfind("FIELDS/item")
    ]


def _parse(answer: etree._Element, columns: Sequence[Column]) -> list[Row]:
    spans = [(c.name, c.offset, c.offset + c.length) for c in columns]
    # SAP's SOAP runtime drops trailing blanks, so a row may end before its last fields: they are blank.
    return [{name: wa[start:end].strip() for name, start, end in spans} for wa in _texts(answer)]


def _texts(answer: etree._Element) -> Iterator[str]:
    for item in answer.iterfind("DATA/item"):
        yield item.findtext("WA") or ""


class TableReader:
    """RFC_READ_TABLE (or a copy with its interface) over one system."""

    def __init__(self, rfc: Rfc, options: EccOptions, page_size: int) -> None:
        self.rfc = rfc
        self.function = options.read_table_function
        self.width = options.row_width
        self.delimiter = options.delimiter
        self.in_list_size = options.in_list_size
        self.page_size = page_size
        self._widths: dict[tuple[str, tuple[str, ...]], list[Column]] = {}

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
                **params,
            )
        except EccCallError as exc:
            if exc.exception not in _GUIDANCE:
                raise
            raise EccCallError(
                f"cannot read table {table} with {self.function}: {exc.exception} ({_GUIDANCE[exc.exception]}); "
                f"{str(exc).partition(': ')[2] or exc}",
                exc.function,
                exc.exception,
            ) from None

    def columns(self, table: str, fields: Sequence[str], *, retry: bool = True) -> list[Column]:
        """The fields' metadata (NO_DATA: no rows, and no width limit), cached per field list."""
        key = (table, tuple(fields))
        found = self._widths.get(key)
        if found is None:
            result = self.call(table, fields, [], NO_DATA="X", retry=retry)
            found = self._widths[key] = _columns(result)
        return found

    def groups(self, table: str, fields: Sequence[str], key: Sequence[str]) -> list[list[str]]:
        """Field lists that each fit one row, every one holding the key fields first."""
        wanted = list(dict.fromkeys([*key, *fields]))
        lengths = {c.name: c.length for c in self.columns(table, wanted)}
        step = len(self.delimiter)
        key_width = sum(lengths[k] for k in key) + step * max(len(key) - 1, 0)
        if key_width > self.width:
            raise EccCallError(f"the key of table {table} is wider than {self.width} characters", self.function)
        out: list[list[str]] = []
        current, used = list(key), key_width
        for name in wanted[len(key) :]:
            need = lengths[name] + (step if current else 0)
            if used + need > self.width and len(current) > len(key):
                out.append(current)
                current, used = list(key), key_width
                need = lengths[name] + (step if current else 0)
            current.append(name)
            used += need
        out.append(current)
        return out

    def pages(
        self, table: str, fields: Sequence[str], key: Sequence[str], condition: str | None = None
    ) -> Iterator[list[Row]]:
        """Every row of `table` matching `condition`, a page at a time, with `fields` (and the key fields)."""
        options = w.lines(condition)
        groups = self.groups(table, fields, key)
        skip = 0
        while True:
            rows = self._page(table, groups, key, options, skip)
            if rows:
                yield rows
            if len(rows) < self.page_size:
                return
            skip += len(rows)

    def rows(self, table: str, fields: Sequence[str], key: Sequence[str], condition: str | None = None) -> list[Row]:
        return [row for page in self.pages(table, fields, key, condition) for row in page]

    def rows_in(
        self,
        table: str,
        fields: Sequence[str],
        key: Sequence[str],
        field: str,
        values: Sequence[str],
        condition: str | None = None,
    ) -> list[Row]:
        """The rows whose `field` is one of `values` (and matching `condition`), in IN-list batches."""
        unique = list(dict.fromkeys(v for v in values if v))
        out: list[Row] = []
        for start in range(0, len(unique), self.in_list_size):
            batch = w.and_(w.in_(field, unique[start : start + self.in_list_size]), condition)
            out.extend(self.rows(table, fields, key, batch))
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
        return _parse(answer, _columns(answer))

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
