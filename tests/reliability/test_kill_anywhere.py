"""SIGKILL at any instant, rerun with unsent_only: everyone texted exactly once.

A real CLI process against the sandbox with latency and faults is killed at
a random instant over its whole run (sending, lookups of lost answers,
delivery tracking, the end), then rerun on the same state file until it
exits 0 (tests/support/killing.py). The sandbox's store is the judge: every
recipient created exactly once, none twice, none never. The instants come
from seeded generators, so a failure names its seed and replays.
scripts/kill_soak.py runs the same kill points by the thousand.

36 kill points, three at a time (each with its own sandbox and processes),
in four groups: about 45 s on a quiet 2-core machine.
"""

from __future__ import annotations

import random
import time

import pytest

from support import boxes, killing

GROUPS = 4
PER_GROUP = 9
WORKERS = 3
SEED = 19000


@pytest.fixture(scope="module")
def span(tmp_path_factory):
    """How long one whole run takes on this machine, faults included."""
    box = boxes.start_sandbox(status_interval=0.05)
    try:
        folder = tmp_path_factory.mktemp("span")
        seconds = killing.duration(box, folder, random.Random(SEED))
    finally:
        boxes.finish(box)
    return seconds * 1.1


@pytest.mark.parametrize("group", range(GROUPS))
def test_a_kill_anywhere_then_reruns_text_everyone_exactly_once(group, span, tmp_path):
    seeds = [SEED + group * PER_GROUP + i for i in range(PER_GROUP)]
    deadline = time.monotonic() + 600  # bounded: never reached on a sane machine
    tallies = killing.run_points(seeds, span, WORKERS, tmp_path, deadline)
    assert len(tallies) == PER_GROUP and not any(t.get("skipped") for t in tallies)
    for tally in tallies:
        assert "error" not in tally, tally
        where = "seed {}: killed after {:.3f} s".format(
            tally["seed"], tally["kill_after"]
        )
        assert tally["twice"] == [], where
        assert tally["never"] == [], where
        assert tally["last_rc"] == 0, (where, tally["last_stderr"][-2000:])
    assert sum(t["killed"] for t in tallies) >= PER_GROUP // 2  # kills, not runs
