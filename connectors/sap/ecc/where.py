"""RFC_READ_TABLE's OPTIONS: an Open SQL WHERE condition, written as lines of at most 72 characters.

OPTIONS is a table of RFC_DB_OPT-TEXT (CHAR 72); SAP reads the lines as source lines, so a token
(a literal, a field name) must not be cut between two of them. Every token is followed by a blank
(old Open SQL needs blanks around operators and parentheses), and lines break between tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["LINE", "and_", "eq", "ge", "in_", "lines", "literal", "ne", "not_in", "or_"]

LINE = 72


def literal(value: object) -> str:
    text = str(value)
    if len(text) + 2 > LINE:
        raise ValueError(f"literal longer than an OPTIONS line: {text[:20]!r}...")
    return "'" + text.replace("'", "''") + "'"


def eq(field: str, value: object) -> str:
    return f"{field} = {literal(value)}"


def ne(field: str, value: object) -> str:
    return f"{field} <> {literal(value)}"


def ge(field: str, value: object) -> str:
    return f"{field} >= {literal(value)}"


def in_(field: str, values: Iterable[object]) -> str:
    listed = " , ".join(literal(v) for v in values)
    if not listed:
        raise ValueError(f"IN list of {field} is empty")
    return f"{field} IN ( {listed} )"


def not_in(field: str, values: Iterable[object]) -> str:
    return f"NOT {in_(field, values)}"


def and_(*conditions: str | None) -> str:
    parts = [c for c in conditions if c]
    return " AND ".join(f"( {c} )" if len(parts) > 1 else c for c in parts)


def or_(*conditions: str | None) -> str:
    parts = [c for c in conditions if c]
    return " OR ".join(f"( {c} )" if len(parts) > 1 else c for c in parts)


def _tokens(condition: str) -> list[str]:
    """Blank-separated tokens, a quoted literal (which may hold blanks) kept whole."""
    out: list[str] = []
    i, n = 0, len(condition)
    while i < n:
        if condition[i] == " ":
            i += 1
            continue
        if condition[i] == "'":
            j = i + 1
            while j < n:
                if condition[j] == "'":
                    if j + 1 < n and condition[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            out.append(condition[i : j + 1])
            i = j + 1
        else:
            j = condition.find(" ", i)
            j = n if j < 0 else j
            out.append(condition[i:j])
            i = j
    return out


def lines(condition: str | None, width: int = LINE) -> list[str]:
    """The condition cut into OPTIONS lines of at most `width` characters, between tokens."""
    if not condition:
        return []
    out: list[str] = []
    current = ""
    for token in _tokens(condition):
        if len(token) > width:
            raise ValueError(f"token longer than an OPTIONS line: {token[:20]!r}...")
        candidate = f"{current} {token}" if current else token
        if len(candidate) <= width:
            current = candidate
        else:
            out.append(current)
            current = token
    out.append(current)
    return out
