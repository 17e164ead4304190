"""Facts: the part of a sent record a derived stream is computed from, kept by the engine in the state store beside
the record's hash and committed with the batch that sent it (a crash leaves no fact out of step with the feed).

Each fact stream feeds one derived stream, which is recomputed for the dealers whose facts moved.
"""

from __future__ import annotations

import msgspec

# The stream whose records give facts -> the derived stream computed from them.
CONSUMERS: dict[str, str] = {
    "products": "dealer_kpis",
    "orders": "dealer_kpis",
    "invoices": "dealer_kpis",
    "collections": "dealer_kpis",
    "account_ledger": "account_balances",
}


def inputs_of(derived: str) -> tuple[str, ...]:
    return tuple(stream for stream, consumer in CONSUMERS.items() if consumer == derived)


class StoredFact(msgspec.Struct, frozen=True):
    """What the state store keeps per record: the dealer it counts for ('' for a product) and the fact."""

    account: str
    payload: bytes
