"""dlt (dlthub.com) on the same database, as a yardstick: its sql_table source reading the tables the invoices
stream reads, through a full pipeline run (extract, normalize, load) to local files.

    python bench/dlt_compare.py --url sqlite:////abs/logo.db --table LG_001_01_INVOICE --table LG_001_01_STLINE \\
        --backend pyarrow --dir RUN --result result.json

The benchmark runs it as a measured child process, once per backend: "sqlalchemy" (rows as dicts, written as
jsonl) and "pyarrow" (Arrow tables, written as parquet: dlt writes Arrow data to parquet, not jsonl). Everything
dlt keeps (its data dir, the pipeline's working folder, the loaded files) stays under --dir, and telemetry is off.
Needs the optional extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

__all__ = ["FORMATS", "INSTALL", "missing", "run"]

INSTALL = "pip install -e '.[bench]'"
FORMATS = {"sqlalchemy": "jsonl", "pyarrow": "parquet"}  # the file format each backend loads


def missing() -> str | None:
    """What keeps this yardstick from running here, or None."""
    absent = [name for name in ("dlt", "pyarrow") if importlib.util.find_spec(name) is None]
    return f"not installed: {', '.join(absent)}" if absent else None


def run(url: str, tables: list[str], backend: str, directory: Path) -> dict[str, object]:
    """One pipeline run; rows loaded per table and each step's seconds."""
    # dlt reads these when it is imported: set them first, so nothing lands in $HOME and nothing is sent.
    os.environ.setdefault("DLT_DATA_DIR", str(directory / "dlt-data"))
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.sources.sql_database import sql_table

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{backend}",
        pipelines_dir=str(directory / "dlt-pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(directory / "dlt-files").resolve().as_uri()),
        dataset_name="erp",
    )
    resources = [sql_table(credentials=url, table=table, backend=backend) for table in tables]
    pipeline.run(resources, loader_file_format=FORMATS[backend])
    trace = pipeline.last_trace
    normalized = trace.last_normalize_info
    steps = {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
        for step in trace.steps
        if step.finished_at is not None
    }
    return {"rows": dict(normalized.row_counts) if normalized else {}, "step_seconds": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    parser.add_argument("--table", action="append", required=True, help="a table to read (repeatable)")
    parser.add_argument("--backend", choices=sorted(FORMATS), required=True)
    parser.add_argument("--dir", type=Path, required=True, help="dlt's working folder (created)")
    parser.add_argument("--result", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    figures = run(args.url, args.table, args.backend, args.dir.resolve())
    if args.result:
        args.result.write_text(json.dumps(figures), encoding="utf-8")
    else:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
