"""One raw item after mapping: the Mapped record the bookkeeping works on, and map_items, which makes it.

Shared by the engine's reading thread and the worker processes of a parallel read (engine/parallel.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import msgspec

from connectors.base import Excluded, RecordError, Stream
from mapping.invariants import discrepancies
from mapping.schema import Document, Record, encode

__all__ = ["Mapped", "content_hash", "describe", "first_line", "has_versions", "map_items"]


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _raw_json(stream: Stream, item: Any) -> str:
    try:
        return json.dumps(stream.raw(item), default=str, ensure_ascii=False)
    except Exception:  # the raw row is evidence, never a reason to lose the dead letter
        return json.dumps({"repr": repr(item)[:4000]})


class Mapped(NamedTuple):
    """One raw item after mapping: what the bookkeeping needs, and picklable for worker processes."""

    key: str
    cursor: dt.datetime | None
    data: bytes | None  # the encoded record; None when deleted at the source or invalid
    digest: str | None  # content hash of what counts as a change
    error: str | None = None  # why the item is invalid
    raw: str | None = None  # the invalid item as JSON, kept with its dead letter
    version: str | None = None  # the source's version stamp (Stream.version)
    same_version: bool = False  # the stored version equals `version`: not mapped, unchanged
    flagged: bool = False  # a document sent with discrepancies
    excluded: str | None = None  # left out of the feed on purpose, by this named rule (Excluded)


def has_versions(stream: Stream) -> bool:
    return type(stream).version is not Stream.version


def map_items(stream: Stream, chunk: Iterable[Any], known: Mapping[str, str] | None = None) -> list[Mapped]:
    """Map raw items; items whose version equals the one in `known` (key -> stored version) are not mapped."""
    versioned = has_versions(stream)
    out: list[Mapped] = []
    for item in chunk:
        key = stream.key(item)
        at = stream.cursor(item)
        version = stream.version(item) if versioned else None
        if known and version is not None and known.get(key) == version:
            out.append(Mapped(key, at, None, None, version=version, same_version=True))
            continue
        try:
            record = stream.map(item)
        except RecordError as exc:
            out.append(Mapped(key, at, None, None, str(exc), _raw_json(stream, item)))
            continue
        if record is None:
            out.append(Mapped(key, at, None, None, version=version))
            continue
        if isinstance(record, Excluded):
            out.append(Mapped(key, at, None, None, version=version, excluded=record.rule))
            continue
        flagged = False
        if isinstance(record, Document):
            found = discrepancies(record)
            if found:
                record.discrepancies = found
                flagged = True
        data = encode(record)
        digest = content_hash(_stable(record) if record.volatile else data)
        out.append(Mapped(key, at, data, digest, version=version, flagged=flagged))
    return out


def _stable(record: Record) -> bytes:
    """The record's encoding without its volatile fields: what counts as a change."""
    return encode(msgspec.structs.replace(record, **dict.fromkeys(record.volatile)))


def first_line(exc: BaseException) -> str:
    # One line: database drivers append the whole SQL statement and its parameters below it.
    return (str(exc) or type(exc).__name__).strip().splitlines()[0][:500]


def describe(exc: BaseException) -> str:
    """An unexpected error in one line, with its type."""
    return f"{type(exc).__name__}: {first_line(exc)}"
