"""The kill -9 matrix (issue 10), bounded for CI: ordinary ERP edits between and during real `dealersync sync`
processes killed with SIGKILL at random moments (the receiver too, sometimes, mid-request), one uninterrupted sync,
and the receiver's state against a fresh full refresh: nothing lost, stale, extra or applied twice. State on SQLite
and on PostgreSQL. The long form (hundreds of trials) calls the same tests.adversarial.kills.kill_matrix.

The checker is shown to fail too: fed a receiver that lost, kept stale, kept deleted and doubled records, it counts
each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.adversarial.kills import KillFigures, StoredBatch, compare, kill_matrix

SEED = 20261203  # fixed: a failure replays with the same edits and the same aimed kills


def assert_clean(figures: KillFigures, trials: int) -> None:
    shown = "\n".join(figures.examples)
    assert figures.trials == trials
    assert figures.kills > 0, f"no sync was killed: the matrix tested nothing\n{figures}"
    assert figures.edits > 0
    assert (figures.lost, figures.stale, figures.extra, figures.duplicated) == (0, 0, 0, 0), f"{figures}\n{shown}"
    assert figures.resent == 0, f"{figures}\n{shown}"
    assert figures.examples == [], shown  # a failed final sync is noted there even when the books balance


def test_kill_matrix_with_sqlite_state(tmp_path: Path) -> None:
    assert_clean(kill_matrix(tmp_path / "matrix", trials=8, seed=SEED), 8)


def test_kill_matrix_with_postgresql_state(tmp_path: Path, pg_url: str) -> None:
    # pg_url (conftest) skips with the reason when the server is down; kill_matrix makes its own database there.
    assert_clean(kill_matrix(tmp_path / "matrix", trials=5, seed=SEED + 1, state_url=pg_url), 5)


def _upsert(stream: str, key: str, **data: Any) -> dict[str, Any]:
    return {"stream": stream, "key": key, "op": "upsert", "data": data}


def test_the_comparison_counts_lost_stale_extra_and_duplicated_records() -> None:
    reference = {
        ("accounts", "001:1"): {"code": "A1", "name": "Bir"},
        ("accounts", "001:2"): {"code": "A2", "name": "İki"},
        ("stock_levels", "s1"): {"on_hand": "5.000", "as_of": "2026-12-03T10:00:00+03:00"},
        ("invoices", "i1"): {"number": "SF1", "cancelled": True},
        ("invoices", "i2"): {"number": "SF2", "cancelled": False},
    }
    batches = [
        StoredBatch(
            "b1",
            "accounts",
            [_upsert("accounts", "001:1", code="A1", name="Bir"), _upsert("accounts", "001:2", code="A2", name="Eski")],
        ),
        # A snapshot read later differs only in as_of: not stale.
        StoredBatch(
            "b2", "stock_levels", [_upsert("stock_levels", "s1", on_hand="5.000", as_of="2026-12-03T11:00:00+03:00")]
        ),
        # i1 arrives, then its cancellation; i2 never arrives (lost); i9 was deleted in the ERP and its delete
        # never applied (extra).
        StoredBatch("b3", "invoices", [_upsert("invoices", "i1", number="SF1", cancelled=False)]),
        StoredBatch(
            "b4",
            "invoices",
            [_upsert("invoices", "i1", number="SF1", cancelled=True), _upsert("invoices", "i9", number="SF9")],
        ),
        # b3 stored a second time (its Idempotency-Key not honoured), and a record twice within one batch.
        StoredBatch("b3", "invoices", [_upsert("invoices", "i1", number="SF1", cancelled=True)]),
        StoredBatch(
            "b5",
            "accounts",
            [_upsert("accounts", "001:1", code="A1", name="Bir"), _upsert("accounts", "001:1", code="A1", name="Bir")],
        ),
    ]
    found = compare(reference, batches)
    assert (found.lost, found.stale, found.extra, found.duplicated) == (1, 1, 1, 2), found
    assert found.resent >= 1  # b3's second copy and b5 repeat content the receiver held
    text = "\n".join(found.examples)
    assert "('invoices', 'i2')" in text and "('accounts', '001:2') differs in name" in text
    assert "('invoices', 'i9')" in text and "batch b3" in text and "twice within batch b5" in text


def test_the_comparison_applies_deletes_and_passes_a_receiver_that_matches() -> None:
    reference = {("risk_limits", "001:01:7"): {"limit": "1000.00", "as_of": "x"}}
    batches = [
        StoredBatch("b1", "risk_limits", [_upsert("risk_limits", "001:01:8", limit="5.00", as_of="x")]),
        StoredBatch("b2", "risk_limits", [{"stream": "risk_limits", "key": "001:01:8", "op": "delete", "data": None}]),
        StoredBatch("b3", "risk_limits", [_upsert("risk_limits", "001:01:7", limit="1000.00", as_of="y")]),
    ]
    found = compare(reference, batches)
    assert (found.lost, found.stale, found.extra, found.duplicated, found.resent) == (0, 0, 0, 0, 0), found
