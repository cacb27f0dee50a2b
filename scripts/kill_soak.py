"""Soak: SIGKILL ``ue-twilio run`` at 1,000+ random instants; nobody texted twice.

Each kill point (tests/support/killing.py) starts a sandbox with latency and
faults, kills a real CLI run at a random instant of its whole span, reruns
it with Resend Policy unsent_only on the same state file until it exits 0,
and counts what the sandbox created per number. Kill points run on
``--workers`` threads; none starts after ``--max-seconds``. Prints one JSON
summary (the figures docs/reliability.md quotes) and exits 1 if any
recipient was created twice or never.

    .venv/bin/python scripts/kill_soak.py --points 1000 --workers 4
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import boxes, killing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    started = time.monotonic()
    deadline = started + args.max_seconds
    folder = Path(tempfile.mkdtemp(prefix="ue-twilio-soak-"))
    box = boxes.Sandbox(status_interval=0.05).start()
    try:
        span = killing.duration(box, folder, random.Random(args.seed)) * 1.1
    finally:
        box.stop()
    seeds = [args.seed + 1 + i for i in range(args.points)]
    tallies = killing.run_points(seeds, span, args.workers, folder / "points", deadline)
    done = [t for t in tallies if not t.get("skipped")]
    bad = [
        t
        for t in done
        if t.get("error") or t["twice"] or t["never"] or t["last_rc"] != 0
    ]
    summary = {
        "command": " ".join(["scripts/kill_soak.py"] + sys.argv[1:]),
        "kill_points": len(done),
        "killed_mid_run": sum(1 for t in done if t.get("killed")),
        "span_seconds": round(span, 2),
        "reruns": sum(t.get("reruns", 0) for t in done),
        "recipients": len(done) * killing.RECIPIENTS,
        "created_twice": sum(len(t["twice"]) for t in done),
        "never_created": sum(len(t["never"]) for t in done),
        "last_rerun_not_0": sum(1 for t in done if t.get("last_rc") != 0),
        "errors": [t["error"] for t in done if t.get("error")][:5],
        "failing_seeds": [t["seed"] for t in bad][:20],
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    for tally in bad[:3]:  # what the runs of a failing point said, for the record
        print("seed {}:".format(tally["seed"]), file=sys.stderr)
        for text in tally.get("stderrs", []):
            lines = [line for line in text.splitlines() if " API " not in line]
            print("\n".join(lines[-40:]) + "\n-----", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
