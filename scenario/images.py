"""Product images: most products have a photo, some a second one, a few none.

Each image is a small PNG of its own (a colour per product, noise per image), so every image has its own bytes and
SHA-256. The PNG is built with the standard library (zlib and struct): a picture of solid rows is all a scenario
needs, and the base install carries no imaging library for it.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from scenario.documents import derive_seed
from scenario.master import ProductProfile

_SIDE = 40  # pixels: about 3.6 KB of PNG each (noise hardly compresses)
_ONE, _TWO = 0.82, 0.10  # shares of products with one image and with two; the rest have none


@dataclass(frozen=True)
class ImageFact:
    product_code: str
    position: int  # 1: the main image
    file_name: str
    data: bytes


def product_images(seed: int, products: Sequence[ProductProfile]) -> list[ImageFact]:
    rng = random.Random(derive_seed(seed, 7, 0))
    out = []
    for p in products:
        draw = rng.random()
        count = 1 if draw < _ONE else 2 if draw < _ONE + _TWO else 0
        for position in range(1, count + 1):
            out.append(ImageFact(p.code, position, f"{p.code.lower()}-{position}.png", png(rng, p.index)))
    return out


def png(rng: random.Random, hue: int) -> bytes:
    """An RGB PNG (8 bits per channel): the product's colour, with noise of this image's own."""
    base = ((hue * 67) % 200, (hue * 131) % 200, (hue * 29) % 200)
    noise = rng.randbytes(_SIDE * _SIDE * 3)
    pixels = bytearray(len(noise))
    for channel, c in enumerate(base):  # a byte table per channel: the colour plus noise, at C speed
        pixels[channel::3] = noise[channel::3].translate(bytes(min(255, c + v % 56) for v in range(256)))
    width = _SIDE * 3
    rows = b"".join(b"\x00" + pixels[i : i + width] for i in range(0, len(pixels), width))  # filter 0 per row
    header = struct.pack(">IIBBBBB", _SIDE, _SIDE, 8, 2, 0, 0, 0)
    body = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
