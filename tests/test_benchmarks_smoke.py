"""``benchmarks/run.py --smoke`` still runs end to end and prints its table.

Only that: the smoke sizes are too small for the ratios to mean anything,
and timing targets belong in ``make bench``, not in the test suite.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from support.runner import REPO, cli_env, record

pytest.importorskip("twilio", reason="the baseline of the benchmarks")

ROW = re.compile(r"^(\d[ab]?)\. ")
EXPECTED = ["1", "2", "3", "4", "5", "6a", "6b", "7a", "7b", "8a", "8b"]


@pytest.mark.timeout(180)
def test_smoke_benchmark_prints_the_table(tmp_path):
    doc = REPO / "docs" / "benchmarks.md"
    before = doc.read_bytes() if doc.exists() else None
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--smoke"],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=str(tmp_path),
        timeout=170,
    )
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    assert header[:2] == ["scenario", "ours"]
    assert header[-2:] == ["target", "result"]
    rows = [line for line in lines[2:] if ROW.match(line)]
    assert [ROW.match(row).group(1) for row in rows] == EXPECTED
    assert all(row.rstrip().endswith(("PASS", "FAIL")) for row in rows)
    after = doc.read_bytes() if doc.exists() else None
    assert after == before, "the smoke run must not rewrite docs/benchmarks.md"
