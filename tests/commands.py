"""Running the installed `dealersync` command on a config written by a test, as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DEALERSYNC = str(Path(sys.executable).parent / "dealersync")


def with_source(
    folder: Path, source: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Write `dealersync.yaml` in `folder` (file sink, SQLite state) with one source; return a runner of
    `dealersync <args>` there, with `env` added (secrets the config names) and wide tables."""
    config = {
        "state": {"url": "sqlite:///state.db"},
        "sink": {"kind": "file", "path": "./feed", "fsync": False},
        "sources": [dict(source)],
    }
    (folder / "dealersync.yaml").write_text(json.dumps(config), encoding="utf-8")
    full = {k: v for k, v in os.environ.items() if k != "DEALERSYNC_DEBUG"} | {"COLUMNS": "300", **(env or {})}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DEALERSYNC, *args], cwd=folder, env=full, capture_output=True, text=True, timeout=120)

    return run
