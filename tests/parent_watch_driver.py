"""A parent with one spawned child that ends with it only through engine.parallel.watch_parent.

That is how a reader process notices a killed parent where the kernel sends no parent-death signal
(Windows, macOS); run here on Linux, it proves the mechanism without PR_SET_PDEATHSIG. The parent
prints the child's pid, then sleeps until killed.
"""

from __future__ import annotations

import multiprocessing
import time

from engine.parallel import watch_parent


def child() -> None:
    parent = multiprocessing.parent_process()
    assert parent is not None
    watch_parent(parent.sentinel)
    time.sleep(300)


if __name__ == "__main__":
    process = multiprocessing.get_context("spawn").Process(target=child, daemon=True)
    process.start()
    print(process.pid, flush=True)
    time.sleep(300)
