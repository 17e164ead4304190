"""The adversarial suite's long form: hundreds of hostile-row trials per SQL ERP, and the kill -9 matrix.

    .venv/bin/python bench/adversarial.py --trials 500 --kills 100 --json adversarial.json

Hostile rows (tests/adversarial/fuzz.py): hypothesis edits a copy of a small ERP database laid by the scenario
writer (NULLs, broken and over-long text, bytes that are not UTF-8, other rows' codes, dangling references,
impossible numbers and dates, stamps ahead and behind), a real engine syncs every stream to a file sink, and the
books account for every row of every stream's tables: delivered, dead-lettered, excluded by a named rule or
deleted in the ERP. A normal invoice and collection added afterwards must arrive with the next sync. Unlike the
CI form, the examples are random (a new seed each run, printed) and each trial makes up to --most edits.

Kill -9 matrix (tests/adversarial/kills.py): ordinary ERP edits, syncs killed at random moments, the receiver
killed mid-request, then the receiver's state compared with a fresh full refresh; per ERP on a SQLite state, and
Logo's on PostgreSQL too.

Not a test: it prints, and with --json saves, the figures the README reports. A failure is reported with the
falsifying example hypothesis shrank it to, and the run goes on with the next ERP.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as seeded  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dealersync.logs import setup  # noqa: E402
from tests.adversarial.erps import ERPS  # noqa: E402
from tests.adversarial.fuzz import Outcome, template, trial  # noqa: E402
from tests.adversarial.kills import kill_matrix  # noqa: E402
from tests.adversarial.values import edits  # noqa: E402


def fuzz(name: str, trials: int, most: int, seed: int, work: Path) -> dict[str, Any]:
    """`trials` hostile-row trials on one ERP; the totals of what the books found."""
    folder = work / f"{name}-template"
    folder.mkdir()
    base = template(ERPS[name], folder)
    totals: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()

    @seeded(seed)  # replayable: the same seed draws the same edits
    @settings(max_examples=trials, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data: st.DataObject) -> None:
        changes = data.draw(edits(list(base.shapes.values()), most=most))
        with tempfile.TemporaryDirectory(prefix="adversarial-", dir=work) as folder:
            outcome = trial(base, changes, Path(folder))
        add(totals, outcome)
        assert (outcome.failed, outcome.problems, outcome.collisions) == ([], [], []), outcome

    try:
        one()
    except Exception as exc:  # reported with the falsifying example, not raised: the other ERPs still run
        failures.append(f"{type(exc).__name__}: {str(exc)[:2000]}")
    return {
        "erp": name,
        "trials": totals["trials"],
        "edits": totals["edits"],
        "rows_delivered": totals["delivered"],
        "rows_dead_lettered": totals["dead-lettered"],
        "rows_excluded": totals["excluded"],
        "rows_deleted": totals["deleted"],
        "dead_letters": totals["dead_letters"],
        "lost": totals["lost"],
        "duplicated": totals["duplicated"],
        "streams_failed": totals["streams_failed"],
        "normal_rows_missing": totals["normal_missing"],
        "seconds": round(time.monotonic() - started, 1),
        "failures": failures,
    }


def add(totals: Counter[str], outcome: Outcome) -> None:
    totals["trials"] += 1
    totals["edits"] += outcome.edits
    totals["dead_letters"] += outcome.dead_lettered
    totals["streams_failed"] += len(outcome.failed)
    totals["duplicated"] += len(outcome.collisions)
    totals["normal_missing"] += sum("never arrived" in p for p in outcome.problems)
    totals["lost"] += sum("never arrived" not in p for p in outcome.problems)
    totals.update(outcome.categories)


def kills(erps: list[str], trials: int, seed: int, work: Path, postgres: str | None) -> list[dict[str, Any]]:
    """The kill matrix per ERP on a SQLite state, and Logo's on PostgreSQL too."""
    runs = [(name, "sqlite", None) for name in erps]
    if postgres and "logo" in erps:
        runs.append(("logo", "postgresql", postgres))
    out = []
    for name, label, url in runs:
        started = time.monotonic()
        figures = kill_matrix(work / f"kills-{name}-{label}", trials, seed, state_url=url, erp=name)
        out.append({"erp": name, "state": label, **vars(figures), "seconds": round(time.monotonic() - started, 1)})
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--erp", choices=sorted(ERPS), nargs="+", default=sorted(ERPS))
    parser.add_argument("--trials", type=int, default=500, help="hostile-row trials per ERP (0: none)")
    parser.add_argument("--most", type=int, default=12, help="most rows one trial changes or inserts")
    parser.add_argument("--kills", type=int, default=100, help="kill -9 trials per ERP and state store (0: none)")
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="state store URL for the kill matrix's second half ('' to skip)",
    )
    parser.add_argument("--seed", type=int, help="default: a new one, printed")
    parser.add_argument("--dir", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    setup(level="ERROR")  # the in-process syncs would log every stream (and warn of the stamps set ahead)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"seed {seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="adversarial-bench-") as scratch:
        work = args.dir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures: dict[str, Any] = {"seed": seed, "fuzz": [], "kills": []}
        for name in args.erp if args.trials else []:
            figures["fuzz"].append(fuzz(name, args.trials, args.most, seed, work))
            print(json.dumps(figures["fuzz"][-1]), flush=True)
        if args.kills:
            figures["kills"] = kills(args.erp, args.kills, seed, work, args.postgres or None)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
