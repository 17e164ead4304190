"""The error a value normaliser or a stream's field map raises for one bad record."""

from __future__ import annotations


class RecordError(ValueError):
    """One raw item cannot become a valid record; it goes to dead letters with this reason."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)
