"""Entry-point shim for the 1C:Enterprise adapter in connectors/1c/.

Packaging tools accept only identifiers in an entry point's module path, and "1c" is not one;
importlib loads the folder by its name, so the entry point names this module instead.
"""

from __future__ import annotations

import importlib

OneCAdapter = importlib.import_module("connectors.1c").OneCAdapter

__all__ = ["OneCAdapter"]
