"""The vendor metadata kept in vendor/ (field lists per configuration, with Edm types, and enumerations):
what the emulator may publish and what the conformance test holds the adapter's reads against."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .flavours import FLAVOURS

__all__ = ["VENDOR", "vendor"]

VENDOR = Path(__file__).parent / "vendor"


@cache
def vendor(configuration: str) -> dict[str, Any]:
    """The configuration's vendor file: {"sets": {set: {field: Edm type}}, "enums": {enum: [values]}, ...}."""
    return json.loads((VENDOR / FLAVOURS[configuration].vendor).read_text(encoding="utf-8"))
