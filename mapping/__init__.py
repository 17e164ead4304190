"""Shared value normalisers used by every connector's field maps (import from the submodules)."""
