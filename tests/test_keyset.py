"""engine.keyset.KeySet: exact membership, whatever the keys look like, at a fraction of a set's memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.keyset import DENSE_LIMIT, KeySet

TAILS = st.one_of(
    st.integers(0, 5000).map(str),
    st.integers(DENSE_LIMIT - 3, DENSE_LIMIT + 3).map(str),
    st.integers(10**17, 10**19).map(str),  # past int64's 18 digits: kept as text
    st.sampled_from(["0", "00", "007", "-1", "+1", "1.5", "", "١٢", "²", "1e3", " 1", "AB-1"]),
)
KEYS = st.builds(lambda head, tail: head + tail, st.sampled_from(["", ":", "001:", "001:01:", "a:b:", "x"]), TAILS)


@settings(max_examples=300, deadline=None)
@given(st.lists(KEYS, max_size=60), st.lists(KEYS, max_size=30))
def test_it_answers_as_a_set_of_the_same_strings_does(added: list[str], probed: list[str]) -> None:
    keys, reference = KeySet(), set()
    for key in added:
        assert keys.add(key) is (key not in reference)
        reference.add(key)
    assert len(keys) == len(reference)
    for key in [*added, *probed]:
        assert (key in keys) is (key in reference), key


def test_keys_that_print_alike_as_numbers_stay_apart() -> None:
    keys = KeySet(["12", "001:01:7"])
    assert ":12" not in keys and "012" not in keys and "001:01:07" not in keys and "001:1:7" not in keys
    assert "12" in keys and "001:01:7" in keys and 12 not in keys


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc to read a process's memory")
def test_a_million_row_numbers_take_a_fraction_of_what_strings_take() -> None:
    # In a child process, so that the measure is this set's alone (resident memory now, not ru_maxrss: Linux
    # carries a parent's peak over into the child).
    script = (
        "import os, sys\n"
        "from engine.keyset import KeySet\n"
        "def rss(): return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024\n"
        "before = rss()\n"
        "keys = KeySet(f'001:01:{n}' for n in range(1_000_000)) if sys.argv[1] == 'keyset' else"
        " {f'001:01:{n}' for n in range(1_000_000)}\n"
        "assert '001:01:999999' in keys and '001:01:1000000' not in keys\n"
        "print(rss() - before)\n"
    )
    run = [sys.executable, "-c", script]
    grown = {
        kind: int(subprocess.run([*run, kind], capture_output=True, check=True, text=True).stdout)
        for kind in ("keyset", "set")
    }
    assert grown["keyset"] * 20 < grown["set"], grown  # kB: ~130 MB for the strings, well under 5 MB here
