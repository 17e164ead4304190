"""One raw item after mapping: the Mapped record the bookkeeping works on, and map_items, which makes it.

Shared by the engine's reading thread and the worker processes of a parallel read (engine/parallel.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import ConnectorError, Excluded, RecordError, Stream
from mapping.invariants import discrepancies
from mapping.plausibility import ImplausiblePolicy, apply_policy
from mapping.schema import Document, ProductImage, Record, encode
from mapping.text import undecodable
from sinks.base import Attachment

__all__ = ["Mapped", "content_hash", "describe", "escaped_key", "first_line", "has_versions", "map_items"]


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# Errors that concern the whole stream even when one item's mapping meets them (a look-up that queries the
# ERP, say): the connection, permissions, the server; and running out of memory.
WHOLE_STREAM = (ConnectorError, SQLAlchemyError, OSError, MemoryError)


def _raw_json(stream: Stream, item: Any) -> str:
    # ASCII escapes: a row with broken text (lone surrogates from undecodable bytes) still stores and prints.
    try:
        return json.dumps(stream.raw(item), default=str, ensure_ascii=True)
    except Exception:  # the raw row is evidence, never a reason to lose the dead letter
        return json.dumps({"repr": repr(item)[:4000]}, ensure_ascii=True)


def _unexpected(exc: BaseException, step: str) -> str:
    """A dead letter's reason for an error the adapter did not foresee: its type and where it was raised,
    never its message (which may quote the row: names, tax ids, broken text)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"unexpected {type(exc).__name__} while {step}{where} (the raw row is kept with this dead letter)"


# A key holding bytes that are not UTF-8 could be neither stored nor sent: its row is a dead letter under the
# escaped key.
_NOT_TEXT = "the key holds bytes that are not UTF-8 text (shown escaped in the key): correct the code in the ERP"


def escaped_key(key: str) -> str:
    """A key as the engine stores it: bytes that are not UTF-8 shown as \\xNN escapes (other keys unchanged)."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _safe(call: Any, item: Any, default: Any) -> Any:
    try:
        return call(item)
    except Exception:
        return default


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
    attachment: Attachment | None = None  # the bytes the record names (a product image's), sent beside it


def has_versions(stream: Stream) -> bool:
    return type(stream).version is not Stream.version


def map_items(
    stream: Stream,
    chunk: Iterable[Any],
    known: Mapping[str, str] | None = None,
    implausible: ImplausiblePolicy = "flag",
) -> list[Mapped]:
    """Map raw items; items whose version equals the one in `known` (key -> stored version) are not mapped.
    `implausible` says what a record with implausible values becomes (engine.implausible)."""
    versioned = has_versions(stream)
    out: list[Mapped] = []
    for item in chunk:
        # One item's trouble is that item's dead letter: the stream goes on (a stream fails only for reasons
        # that concern all of it, such as the connection). A key that cannot be computed becomes the raw
        # row's hash, so the dead letter is still one per row and a retry finds it again.
        try:
            key = stream.key(item)
        except WHOLE_STREAM:
            raise
        except Exception as exc:
            raw = _raw_json(stream, item)
            out.append(Mapped("raw:" + content_hash(raw.encode()), None, None, None, _unexpected(exc, "keying"), raw))
            continue  # a record without its key cannot be sent: it could never be updated or deleted
        at = _safe(stream.cursor, item, None)
        if undecodable(key) is not None:
            out.append(Mapped(escaped_key(key), at, None, None, _NOT_TEXT, _raw_json(stream, item)))
            continue
        version = _safe(stream.version, item, None) if versioned else None
        if known and version is not None and known.get(key) == version:
            out.append(Mapped(key, at, None, None, version=version, same_version=True))
            continue
        try:
            out.append(_mapped(stream, item, key, at, version, implausible))
        except RecordError as exc:
            out.append(Mapped(key, at, None, None, str(exc), _raw_json(stream, item)))
        except WHOLE_STREAM:
            raise
        except Exception as exc:
            out.append(Mapped(key, at, None, None, _unexpected(exc, "mapping"), _raw_json(stream, item)))
    return out


def _mapped(
    stream: Stream, item: Any, key: str, at: dt.datetime | None, version: str | None, policy: ImplausiblePolicy
) -> Mapped:
    record = stream.map(item)
    if record is None:
        return Mapped(key, at, None, None, version=version)
    if isinstance(record, Excluded):
        return Mapped(key, at, None, None, version=version, excluded=record.rule)
    flagged = False
    if isinstance(record, Document):
        found = discrepancies(record)
        if found:
            record.discrepancies = found
            flagged = True
    if apply_policy(record, policy):
        flagged = True
    attachment = None
    if isinstance(record, ProductImage):
        content = stream.attachment(item)
        if content is None or hashlib.sha256(content).hexdigest() != record.sha256:
            raise RecordError("the image's bytes are missing or not the ones its sha256 names")
        attachment = Attachment(record.sha256, record.content_type, content)
    data = encode(record)
    digest = content_hash(_stable(record) if record.volatile else data)
    return Mapped(key, at, data, digest, version=version, flagged=flagged, attachment=attachment)


def _stable(record: Record) -> bytes:
    """The record's encoding without its volatile fields: what counts as a change."""
    return encode(msgspec.structs.replace(record, **dict.fromkeys(record.volatile)))


def first_line(exc: BaseException) -> str:
    # One line: database drivers append the whole SQL statement and its parameters below it.
    return (str(exc) or type(exc).__name__).strip().splitlines()[0][:500]


def describe(exc: BaseException) -> str:
    """An unexpected error in one line, with its type."""
    return f"{type(exc).__name__}: {first_line(exc)}"
