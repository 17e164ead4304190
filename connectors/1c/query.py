"""The emulator's OData query options: $filter parsed into a tree and compiled to a predicate, $orderby, $select.

The grammar is the part of OData v3 that 1C's standard interface answers and integrators use:
comparisons (eq ne gt ge lt le) joined by and / or / not and parentheses; literals guid'…',
datetime'…', 'text' ('' escapes a quote), true, false, null and numbers. Values in the infobase are
JSON-ready: references are lower-case GUID strings and dates "YYYY-MM-DDTHH:MM:SS", so datetimes
compare as text in chronological order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Filter", "QueryError", "parse_filter", "parse_orderby", "parse_select", "sort_rows"]

Row = Mapping[str, Any]


class QueryError(ValueError):
    """A query option the emulator (like 1C) refuses: answered with HTTP 400 and an odata.error body."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<typed>(?:guid|datetime|datetimeoffset|time)'(?:[^']|'')*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDlLfF]?)
      | (?P<paren>[()])
      | (?P<comma>,)
      | (?P<word>[^\s()',]+)
    )""",
    re.VERBOSE,
)
_OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Compare:
    op: str
    left: Field | Literal
    right: Field | Literal


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Compare | Logical | Not


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"cannot parse $filter near {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _datetime_literal(body: str) -> str:
    """datetime'2026-07-01T00:00' / '…:00' / '…:00.000' -> '2026-07-01T00:00:00' (the infobase's form)."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?", body)
    if match is None:
        raise QueryError(f"invalid datetime literal {body!r}")
    day, hour, minute, second = match.groups()
    return f"{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"


def _literal(kind: str, text: str) -> Literal:
    if kind == "string":
        return Literal(text[1:-1].replace("''", "'"))
    if kind == "number":
        body = text.rstrip("mMdDlLfF")
        return Literal(float(body) if any(c in body for c in ".eE") else int(body))
    prefix, _, quoted = text.partition("'")
    body = quoted[:-1].replace("''", "'")
    if prefix == "guid":
        try:
            return Literal(str(uuid.UUID(body)))
        except ValueError:
            raise QueryError(f"invalid guid literal {body!r}") from None
    if prefix == "datetime":
        return Literal(_datetime_literal(body))
    raise QueryError(f"{prefix} literals are not supported")


class _Parser:
    def __init__(self, text: str, fields: Collection[str]) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.fields = fields

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("unexpected end of $filter")
        self.position += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] in words:
            self.position += 1
            return token[1]
        return None

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()[1]!r} in $filter")  # type: ignore[index]
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = Logical("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.keyword("and"):
            node = Logical("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.keyword("not"):
            return Not(self.negation())
        token = self.peek()
        if token == ("paren", "("):
            self.take()
            node = self.disjunction()
            if self.take() != ("paren", ")"):
                raise QueryError("missing ')' in $filter")
            return node
        left = self.operand()
        op = self.keyword(*_OPERATORS)
        if op is None:
            raise QueryError("a $filter condition must compare two operands (eq, ne, gt, ge, lt, le)")
        return Compare(op, left, self.operand())

    def operand(self) -> Field | Literal:
        kind, text = self.take()
        if kind in ("typed", "string", "number"):
            return _literal(kind, text)
        if kind != "word":
            raise QueryError(f"unexpected {text!r} in $filter")
        if text in ("true", "false"):
            return Literal(text == "true")
        if text == "null":
            return Literal(None)
        if text not in self.fields:
            raise QueryError(f"unknown property {text!r}")
        return Field(text)


def _value(operand: Field | Literal) -> Callable[[Row], Any]:
    if isinstance(operand, Field):
        name = operand.name
        return lambda row: row.get(name)
    constant = operand.value
    return lambda row: constant


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        if isinstance(a, str) != isinstance(b, str) or isinstance(a, bool) != isinstance(b, bool):
            raise QueryError("incompatible types in a $filter comparison")
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)

    return compare


def _compile(node: Node) -> Callable[[Row], bool]:
    if isinstance(node, Logical):
        left, right = _compile(node.left), _compile(node.right)
        if node.op == "and":
            return lambda row: left(row) and right(row)
        return lambda row: left(row) or right(row)
    if isinstance(node, Not):
        inner = _compile(node.operand)
        return lambda row: not inner(row)
    a, b = _value(node.left), _value(node.right)
    if node.op == "eq":
        return lambda row: a(row) == b(row)
    if node.op == "ne":
        return lambda row: a(row) != b(row)
    compare = _ordered(node.op)
    return lambda row: compare(a(row), b(row))


class Filter:
    """A compiled $filter: `test(row)`, and `lookups()` for answering it from an index."""

    def __init__(self, text: str, fields: Collection[str]) -> None:
        self.tree = _Parser(text, fields).parse()
        self.test = _compile(self.tree)

    def lookups(self) -> tuple[str, list[Any]] | None:
        """(field, values) when every matching row must have field == one of values, so an index
        on that field narrows the scan: `Ref_Key eq guid'a' or Ref_Key eq guid'b'`, possibly and-ed
        with further conditions. None when the filter has no such shape."""
        return _equalities(self.tree)


def _equalities(node: Node) -> tuple[str, list[Any]] | None:
    if isinstance(node, Compare) and node.op == "eq":
        if isinstance(node.left, Field) and isinstance(node.right, Literal):
            return node.left.name, [node.right.value]
        if isinstance(node.right, Field) and isinstance(node.left, Literal):
            return node.right.name, [node.left.value]
        return None
    if isinstance(node, Logical) and node.op == "or":
        left, right = _equalities(node.left), _equalities(node.right)
        if left is None or right is None or left[0] != right[0]:
            return None
        return left[0], left[1] + right[1]
    if isinstance(node, Logical) and node.op == "and":
        return _equalities(node.left) or _equalities(node.right)
    return None


def parse_filter(text: str, fields: Collection[str]) -> Filter:
    return Filter(text, fields)


def parse_orderby(text: str, fields: Collection[str]) -> list[tuple[str, bool]]:
    """[(field, descending)] from "A, B desc"."""
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise QueryError(f"invalid $orderby item {part.strip()!r}")
        if words[0] not in fields:
            raise QueryError(f"unknown property {words[0]!r} in $orderby")
        out.append((words[0], len(words) == 2 and words[1] == "desc"))
    return out


def parse_select(text: str, fields: Collection[str]) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in fields and name != "*"]
    if unknown:
        raise QueryError(f"unknown property {unknown[0]!r} in $select")
    return names


def _sortable(value: Any) -> tuple[int, Any]:
    # None sorts first, as empty values do in 1C; the tag keeps mixed types comparable.
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (2, value)
    return (3, str(value))


def sort_rows(rows: Iterable[Row], orderby: Sequence[tuple[str, bool]]) -> list[Row]:
    """Rows sorted by several fields, each ascending or descending (stable sorts, last key first)."""
    out = list(rows)
    for name, descending in reversed(orderby):
        out.sort(key=lambda row, name=name: _sortable(row.get(name)), reverse=descending)  # type: ignore[misc]
    return out
