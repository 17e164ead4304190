"""RFC_READ_TABLE's OPTIONS for the emulator: the Open SQL WHERE subset integrators send, parsed and evaluated.

Supported: comparisons (= <> > >= < <= and EQ NE GT GE LT LE), [NOT] IN ( ... ), [NOT] BETWEEN
... AND ..., [NOT] LIKE with % and _, NOT, AND, OR and parentheses; literals in single quotes
('' escapes a quote) or unquoted numbers. Like SAP, literals are converted to the field's type
(a NUMC literal is zero-padded, CHAR comparisons ignore trailing blanks).

Rows hold each field in its fixed-width output form. A condition can name the candidate rows
from per-field indexes (equality and range), so a keyed read never scans the whole table.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from connectors.sap.emulator.ecc_ddic import Field, Table

__all__ = ["Condition", "Indexes", "OptionError", "comparable", "parse"]


class OptionError(ValueError):
    """The OPTIONS are not a valid condition (SAP raises OPTION_NOT_VALID)."""


class Indexes(Protocol):
    def equal(self, field: str) -> Mapping[Any, list[int]]: ...
    def ordered(self, field: str) -> tuple[list[Any], list[int]]: ...


def packed(text: str) -> Decimal:
    """The value of a packed field's output text: "1234.56-" is negative, as SAP writes it."""
    s = text.strip()
    if s.endswith("-"):
        return -Decimal(s[:-1] or "0")
    return Decimal(s or "0")


def comparable(field: Field) -> Callable[[str], Any]:
    """How a row's output text of `field` compares: CHAR without trailing blanks, packed as a number."""
    if field.type == "P":
        return packed
    if field.type == "C":
        return str.rstrip
    return str


def _literal(field: Field, text: str) -> Any:
    if field.type == "P":
        try:
            return Decimal(text.strip() or "0")
        except InvalidOperation:
            raise OptionError(f"{text!r} is not a number for field {field.name}") from None
    if field.type == "N" and text.strip().isdigit():
        return text.strip().zfill(field.length)
    if field.type == "C":
        return text.rstrip()
    return text


_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(<>|>=|<=|=|<|>|\(|\)|,)|([A-Za-z_/][A-Za-z0-9_/]*)|(\d+(?:\.\d+)?))")
_WORD_OPS = {"EQ": "=", "NE": "<>", "GT": ">", "GE": ">=", "LT": "<", "LE": "<="}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


@dataclass
class _Token:
    kind: str  # "lit", "op", "word"
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise OptionError(f"unexpected text at {text[pos : pos + 20]!r}")
        lit, op, word, number = m.groups()
        if lit is not None:
            out.append(_Token("lit", lit[1:-1].replace("''", "'")))
        elif number is not None:
            out.append(_Token("lit", number))
        elif op is not None:
            out.append(_Token("op", op))
        else:
            upper = word.upper()
            out.append(_Token("op", _WORD_OPS[upper]) if upper in _WORD_OPS else _Token("word", upper))
        pos = m.end()
    return out


class Condition:
    """A parsed WHERE condition over one table's rows."""

    def matches(self, row: Mapping[str, str]) -> bool:
        raise NotImplementedError

    def candidates(self, indexes: Indexes) -> set[int] | None:
        """Row numbers that may match, from indexes; None when only a scan can tell."""
        return None


class _Compare(Condition):
    def __init__(self, field: Field, op: str, value: Any) -> None:
        self.name = field.name
        self.key = comparable(field)
        self.op = op
        self.test = _COMPARE[op]
        self.value = value

    def matches(self, row: Mapping[str, str]) -> bool:
        return self.test(self.key(row[self.name]), self.value)

    def candidates(self, indexes: Indexes) -> set[int] | None:
        if self.op == "=":
            return set(indexes.equal(self.name).get(self.value, ()))
        if self.op == "<>":
            return None
        values, ids = indexes.ordered(self.name)
        if self.op in (">", ">="):
            start = (bisect.bisect_right if self.op == ">" else bisect.bisect_left)(values, self.value)
            return set(ids[start:])
        end = (bisect.bisect_left if self.op == "<" else bisect.bisect_right)(values, self.value)
        return set(ids[:end])


class _In(Condition):
    def __init__(self, field: Field, values: Sequence[Any]) -> None:
        self.name = field.name
        self.key = comparable(field)
        self.values = frozenset(values)

    def matches(self, row: Mapping[str, str]) -> bool:
        return self.key(row[self.name]) in self.values

    def candidates(self, indexes: Indexes) -> set[int] | None:
        index = indexes.equal(self.name)
        return {i for v in self.values for i in index.get(v, ())}


class _Between(Condition):
    def __init__(self, field: Field, low: Any, high: Any) -> None:
        self.name = field.name
        self.key = comparable(field)
        self.low, self.high = low, high

    def matches(self, row: Mapping[str, str]) -> bool:
        return self.low <= self.key(row[self.name]) <= self.high

    def candidates(self, indexes: Indexes) -> set[int] | None:
        values, ids = indexes.ordered(self.name)
        return set(ids[bisect.bisect_left(values, self.low) : bisect.bisect_right(values, self.high)])


class _Like(Condition):
    def __init__(self, field: Field, pattern: str) -> None:
        self.name = field.name
        self.regex = re.compile(fnmatch.translate(pattern.rstrip().replace("%", "*").replace("_", "?")))

    def matches(self, row: Mapping[str, str]) -> bool:
        return self.regex.match(row[self.name].rstrip()) is not None


class _Not(Condition):
    def __init__(self, inner: Condition) -> None:
        self.inner = inner

    def matches(self, row: Mapping[str, str]) -> bool:
        return not self.inner.matches(row)


class _And(Condition):
    def __init__(self, parts: list[Condition]) -> None:
        self.parts = parts

    def matches(self, row: Mapping[str, str]) -> bool:
        return all(p.matches(row) for p in self.parts)

    def candidates(self, indexes: Indexes) -> set[int] | None:
        found = [c for c in (p.candidates(indexes) for p in self.parts) if c is not None]
        return min(found, key=len) if found else None


class _Or(Condition):
    def __init__(self, parts: list[Condition]) -> None:
        self.parts = parts

    def matches(self, row: Mapping[str, str]) -> bool:
        return any(p.matches(row) for p in self.parts)

    def candidates(self, indexes: Indexes) -> set[int] | None:
        out: set[int] = set()
        for part in self.parts:
            found = part.candidates(indexes)
            if found is None:
                return None
            out |= found
        return out


class _Parser:
    def __init__(self, tokens: list[_Token], table: Table) -> None:
        self.tokens = tokens
        self.pos = 0
        self.table = table

    def peek(self, *texts: str) -> bool:
        return (
            self.pos < len(self.tokens) and self.tokens[self.pos].text in texts and self.tokens[self.pos].kind != "lit"
        )

    def take(self, kind: str | None = None, text: str | None = None) -> _Token:
        if self.pos >= len(self.tokens):
            raise OptionError("condition ends too early")
        token = self.tokens[self.pos]
        if (kind and token.kind != kind) or (text and token.text != text):
            raise OptionError(f"expected {text or kind}, found {token.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Condition:
        condition = self.disjunction()
        if self.pos != len(self.tokens):
            raise OptionError(f"unexpected {self.tokens[self.pos].text!r}")
        return condition

    def disjunction(self) -> Condition:
        parts = [self.conjunction()]
        while self.peek("OR"):
            self.pos += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _Or(parts)

    def conjunction(self) -> Condition:
        parts = [self.negation()]
        while self.peek("AND"):
            self.pos += 1
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else _And(parts)

    def negation(self) -> Condition:
        if self.peek("NOT"):
            self.pos += 1
            return _Not(self.negation())
        if self.peek("("):
            self.pos += 1
            inner = self.disjunction()
            self.take("op", ")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        name = self.take("word").text
        field = self.table.by_name.get(name)
        if field is None:
            raise OptionError(f"table {self.table.name} has no field {name}")
        negated = self.peek("NOT")
        if negated:
            self.pos += 1
        condition: Condition
        if self.peek("IN"):
            self.pos += 1
            self.take("op", "(")
            values = [_literal(field, self.take("lit").text)]
            while self.peek(","):
                self.pos += 1
                values.append(_literal(field, self.take("lit").text))
            self.take("op", ")")
            condition = _In(field, values)
        elif self.peek("BETWEEN"):
            self.pos += 1
            low = _literal(field, self.take("lit").text)
            self.take("word", "AND")
            condition = _Between(field, low, _literal(field, self.take("lit").text))
        elif self.peek("LIKE"):
            self.pos += 1
            condition = _Like(field, self.take("lit").text)
        else:
            if negated:
                raise OptionError(f"NOT after field {name} needs IN, BETWEEN or LIKE")
            op = self.take("op").text
            if op not in _COMPARE:
                raise OptionError(f"{op!r} is not a comparison")
            return _Compare(field, op, _literal(field, self.take("lit").text))
        return _Not(condition) if negated else condition


def parse(lines: Sequence[str], table: Table) -> Condition | None:
    """The condition of OPTIONS lines (each at most 72 characters, as RFC_DB_OPT-TEXT is); None when empty."""
    for line in lines:
        if len(line) > 72:
            raise OptionError(f"OPTIONS line longer than 72 characters: {line[:30]!r}...")
    # Lines are separate source lines: a token never spans two of them.
    tokens = [t for line in lines for t in _tokens(line)]
    if not tokens:
        return None
    return _Parser(tokens, table).parse()
