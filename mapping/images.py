"""Product images: the record of an image's bytes (what the feed says of them) and the bytes beside it."""

from __future__ import annotations

import datetime as dt
import hashlib

import filetype

from mapping.schema import ProductImage

UNKNOWN_TYPE = "application/octet-stream"


def image_record(
    product_code: str,
    image_id: str,
    data: bytes,
    *,
    position: int | None = None,
    file_name: str | None = None,
    modified_at: dt.datetime | None = None,
) -> ProductImage:
    """The record of one image: its size, SHA-256 and content type read from the bytes themselves."""
    return ProductImage(
        product_code=product_code,
        image_id=image_id,
        position=position,
        file_name=file_name,
        content_type=filetype.guess_mime(data) or UNKNOWN_TYPE,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        modified_at=modified_at,
    )
