"""What the incremental tests of each adapter check of dealer_kpis: a second sync recomputes only the dealers
whose documents it sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def only_touched_dealers(kpis: Iterable[dict[str, Any]], documents: Iterable[dict[str, Any]]) -> None:
    """`kpis`: the dealer_kpis envelopes a sync sent; `documents`: the invoice, collection and order envelopes."""
    touched = {e["data"]["account_code"] for e in documents if e.get("data")}
    dealers = {e["key"].rsplit("|", 1)[0] for e in kpis}
    assert dealers, "the changed documents' dealers were not recomputed"
    assert dealers <= touched, sorted(dealers - touched)
