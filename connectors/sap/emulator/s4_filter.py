"""The emulator's OData V2 `$filter` language: the subset a reader sends, parsed to a tree that tests typed rows.

Operators eq ne gt ge lt le, and, or, not, parentheses; string, datetime'', datetimeoffset'', boolean, null
and number literals. A naive Edm.DateTime compared with an offset counts as UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["BoolOp", "Cmp", "FilterParser", "Not", "ODataError", "Row", "fields"]

_UTC = dt.UTC


class ODataError(Exception):
    """An answer other than 200, with SAP's error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Row = dict[str, Any]  # typed values (str, bool, Decimal, date-times, time, None) and navigation callables


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Both sides of a comparison in one domain (naive Edm.DateTime is UTC when met with an offset)."""
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        a = a.replace(tzinfo=_UTC) if a.tzinfo is None else a
        b = b.replace(tzinfo=_UTC) if b.tzinfo is None else b
    if isinstance(a, Decimal) and isinstance(b, int | float):
        b = Decimal(str(b))
    return a, b


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: Any

    def test(self, row: Row) -> bool:
        left = row.get(self.field)
        if self.op in ("eq", "ne"):
            a, b = _comparable(left, self.value)
            return _OPS[self.op](a, b)
        if left is None or self.value is None:
            return False
        a, b = _comparable(left, self.value)
        try:
            return _OPS[self.op](a, b)
        except TypeError:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid filter on property '{self.field}'") from None


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple[Any, ...]

    def test(self, row: Row) -> bool:
        if self.op == "and":
            return all(p.test(row) for p in self.parts)
        return any(p.test(row) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Any

    def test(self, row: Row) -> bool:
        return not self.part.test(row)


def fields(tree: Any) -> set[str]:
    """The property names a filter tree compares."""
    if isinstance(tree, Cmp):
        return {tree.field}
    if isinstance(tree, BoolOp):
        return set().union(*(fields(p) for p in tree.parts))
    if isinstance(tree, Not):
        return fields(tree.part)
    return set()


_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<typed>(?:datetimeoffset|datetime|guid|time)'[^']*')"
    r"|(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?[mMdDlL]?)|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "number":
        return Decimal(text.rstrip("mMdDlL"))
    prefix, _, body = text.partition("'")
    body = body[:-1]
    try:
        if prefix == "datetimeoffset":
            value = dt.datetime.fromisoformat(body.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=_UTC)
        if prefix == "datetime":
            return dt.datetime.fromisoformat(body).replace(tzinfo=None)
    except ValueError:
        raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid literal {text}") from None
    return body


class FilterParser:
    """$filter text -> Cmp/BoolOp/Not tree (the subset of OData V2 a reader sends)."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid filter expression at '{text[pos : pos + 20]}'")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.pos = 0

    def parse(self) -> Any:
        tree = self._or()
        if self.pos != len(self.tokens):
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: trailing tokens")
        return tree

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        if tok is None:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: unexpected end")
        self.pos += 1
        return tok

    def _or(self) -> Any:
        parts = [self._and()]
        while self._peek() == ("word", "or"):
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def _and(self) -> Any:
        parts = [self._unary()]
        while self._peek() == ("word", "and"):
            self.pos += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def _unary(self) -> Any:
        kind, text = self._take()
        if (kind, text) == ("word", "not"):
            return Not(self._unary())
        if kind == "open":
            inner = self._or()
            if self._take()[0] != "close":
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: ')' expected")
            return inner
        if kind != "word":
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid filter expression at {text}")
        op_kind, op = self._take()
        if op_kind != "word" or op not in _OPS:
            raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Unsupported operator {op}")
        lit_kind, lit = self._take()
        if lit_kind == "word":
            words = {"true": True, "false": False, "null": None}
            if lit not in words:
                raise ODataError(400, "/IWBEP/CM_MGW_RT/022", f"Invalid literal {lit}")
            return Cmp(text, op, words[lit])
        return Cmp(text, op, _literal(lit_kind, lit))
