"""The set of keys one read gave, kept small: a complete read holds every live key of its stream until the end,
when the keys it did not give are the deletes. As Python strings that cost ~160 bytes a key (130 MB for 800,000
invoices); most ERP keys end in a row number (Logo's LOGICALREF, Mikro's and Netsis's record numbers), which a
bitmap per prefix holds in one bit.

A key is split at its last ':' into a prefix and a tail. A tail that is a plain decimal number (no sign, no leading
zero, so that the text comes back exactly) below DENSE_LIMIT sets a bit in its prefix's bitmap; a larger number
goes into a set of ints; anything else is kept as the string it is. Membership is exact either way.
"""

from __future__ import annotations

from collections.abc import Iterable

DENSE_LIMIT = 1 << 27  # a bitmap holds numbers below this: at most 16 MB per prefix


class KeySet:
    __slots__ = ("_bits", "_count", "_ints", "_texts")

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._bits: dict[str, bytearray] = {}
        self._ints: dict[str, set[int]] = {}
        self._texts: set[str] = set()
        self._count = 0
        for key in keys:
            self.add(key)

    def __len__(self) -> int:
        return self._count

    def add(self, key: str) -> bool:
        """Add `key`; True when it was not there yet."""
        prefix, number = _split(key)
        if number is None:
            if key in self._texts:
                return False
            self._texts.add(key)
        elif number < DENSE_LIMIT:
            bits = self._bits.get(prefix)
            if bits is None:
                bits = self._bits[prefix] = bytearray()
            byte, mask = number >> 3, 1 << (number & 7)
            if byte >= len(bits):
                bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))  # doubling: amortised growth
            elif bits[byte] & mask:
                return False
            bits[byte] |= mask
        else:
            numbers = self._ints.setdefault(prefix, set())
            if number in numbers:
                return False
            numbers.add(number)
        self._count += 1
        return True

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        prefix, number = _split(key)
        if number is None:
            return key in self._texts
        if number < DENSE_LIMIT:
            bits = self._bits.get(prefix)
            byte = number >> 3
            return bits is not None and byte < len(bits) and bool(bits[byte] & (1 << (number & 7)))
        return number in self._ints.get(prefix, ())


def _split(key: str) -> tuple[str, int | None]:
    head, sep, tail = key.rpartition(":")
    prefix = head + sep  # "12" and ":12" are two keys: the separator is part of the prefix
    # isdecimal admits other scripts' digits, which int() reads but str() would not give back: ASCII only.
    if tail.isascii() and tail.isdigit() and (tail[0] != "0" or tail == "0") and len(tail) <= 18:
        return prefix, int(tail)
    return prefix, None
