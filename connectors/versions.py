"""Versions for items whose source keeps none of its own (Stream.version), so that the engine can count an
unchanged item without mapping it.

A row version is a digest of every value map() reads from the item, salted with whatever else shapes the record:
the settings the stream maps with, the feed's schema version and this release. Equal versions then mean equal
records, so skipping the mapping can lose nothing: any value that moved moves the version, and a release or a
setting that maps the same row otherwise moves every version at once (the first run after it maps everything).
Snapshot streams use it where the ERP keeps the figures themselves (a stock or balance table): reading those rows
is cheap, mapping them is what costs.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from typing import Any

from mapping.schema import SCHEMA_VERSION

__all__ = ["row_version", "salt", "storable"]


def _release() -> str:
    try:
        return metadata.version("dealersync")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "source"


_RELEASE = _release()


def salt(*parts: Any) -> str:
    """What a stream's versions are salted with: the settings it maps with (any values with a stable repr)."""
    return repr((_RELEASE, SCHEMA_VERSION, parts))


@functools.lru_cache(maxsize=64)
def _salted(salt_: str) -> Any:
    return hashlib.blake2b(salt_.encode("utf-8", "surrogatepass"), digest_size=16)


def row_version(salt_: str, *values: Any) -> str:
    """A digest of the salt and the values (rows as tuples; floats, Decimals, dates and text by their repr, which is
    exact). 32 characters: the engine stores up to 64."""
    digest = _salted(salt_).copy()  # the salt hashed once per stream, not once per row
    digest.update(b"\0" + repr(values).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def storable(key: str) -> str:
    """A key as text the state store can hold: bytes that are not UTF-8 (lone surrogates, as SQLite hands them
    back) shown as \\xNN escapes, the engine's own escaping. A stream with versions needs it: the engine asks the
    store for the versions of a chunk's keys before it sets such a key apart, and one key the driver cannot send
    would fail the whole stream; the row stays a dead letter, from map() (codes refuse such bytes)."""
    if key.isascii():
        return key
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
