"""Kill a real ``ue-twilio run`` at a random instant, rerun until it exits 0.

Shared by tests/reliability/test_kill_anywhere.py (some dozens of kill
points) and scripts/kill_soak.py (a thousand and more). One kill point: a
fresh sandbox with latency, jitter and scripted faults (answers lost after
creation, bodies cut off, resets before and after processing, 5xx, 429),
a CLI process sending with Resend Policy ``unsent_only`` and Wait For
Delivery, SIGKILL after a random delay drawn over the whole run (sending,
lookups, delivery tracking, the end), then reruns on the same state file
until one exits 0. The sandbox's store then says how often each number was
created: exactly once is the only good answer.

The CLI runs with short waits (read timeout, lookups, grace: FAST), set by
a wrapper that changes ``Settings`` defaults only, so the whole sending path
is the shipped one.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

from support.runner import cli_env, fields_for, record

FAST = dict(
    read_timeout=0.5,
    connect_timeout=2.0,
    cancel_grace=0.3,
    reconcile_delay=0.5,
    reconcile_recheck=0.2,
    reconcile_budget=10.0,
    poll_first=0.1,
    poll_max=0.2,
)
FAULTS = [
    "lost_body",
    "reset_after",
    "reset_before",
    "stall_body",
    "stall",
    "http_503",
    "rate_limited",
    "no_sid",
]
RECIPIENTS = 12
# A lookup that fails (on a loaded machine: its read timeout) leaves the
# recipient unknown, never resent; the next rerun looks again.
MAX_RERUNS = 10
_WRAPPER = (
    "import sys, json\n"
    "from ue_twilio.inputs.settings import Settings\n"
    "import ue_twilio.cli as cli\n"
    "fast = json.loads(sys.argv.pop(1))\n"
    "plain = Settings.from_env.__func__\n"
    "def from_env(cls, env=None, **overrides):\n"
    "    for name, value in fast.items():\n"
    "        if overrides.get(name) is None:\n"
    "            overrides[name] = value\n"
    "    return plain(cls, env, **overrides)\n"
    "Settings.from_env = classmethod(from_env)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def command(fields_path: Path, state: Path) -> List[str]:
    return [
        sys.executable,
        "-c",
        _WRAPPER,
        json.dumps(FAST),
        "run",
        "--fields",
        str(fields_path),
        "--state-file",
        str(state),
    ]


def prepare(box: Any, folder: Path, rng: random.Random) -> List[str]:
    """The sandbox's faults and the fields file of one kill point."""
    box.faults.latency = 0.02
    box.faults.jitter = 0.04
    box.faults.stall_seconds = 0.6  # past the read timeout, before the first look
    box.faults.retry_after = 0
    for _ in range(rng.randint(1, 4)):
        box.script(rng.choice(FAULTS), 1)
    numbers = ["+1555{:07d}".format(i) for i in range(RECIPIENTS)]
    fields = fields_for(
        box,
        recipients=",".join(numbers),
        max_concurrent_requests=4,
        wait_for_delivery=True,
        delivery_timeout=10,
        resend_policy=["unsent_only"],
    )
    (folder / "fields.json").write_text(json.dumps(fields))
    return numbers


def _run(box: Any, folder: Path, kill_after: Optional[float]) -> Dict[str, Any]:
    """One process; killed after ``kill_after`` seconds unless it ended."""
    started = time.monotonic()
    proc = subprocess.Popen(
        command(folder / "fields.json", folder / "state.ledger"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(box.url),
    )
    killed = False
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed = True
    stdout, stderr = proc.communicate(timeout=120)
    record(stdout, stderr)
    return {
        "rc": proc.returncode,
        "killed": killed,
        "seconds": time.monotonic() - started,
        "stdout": stdout,
        "stderr": stderr,
    }


def duration(box: Any, folder: Path, rng: random.Random) -> float:
    """How long one whole run takes here (the span kill instants are drawn from)."""
    prepare(box, folder, rng)
    return float(_run(box, folder, None)["seconds"])


def kill_point(
    box: Any, folder: Path, rng: random.Random, span: float
) -> Dict[str, Any]:
    """Kill once at random within ``span`` seconds, rerun until exit 0; the
    tallies of what the sandbox created."""
    numbers = prepare(box, folder, rng)
    kill_after = rng.uniform(0.0, span)
    first = _run(box, folder, kill_after)
    reruns: List[Dict[str, Any]] = []
    while len(reruns) < MAX_RERUNS:
        reruns.append(_run(box, folder, None))
        if reruns[-1]["rc"] == 0:
            break
    created = Counter(m["to"] for m in box.messages.values())
    return {
        "kill_after": kill_after,
        "killed": first["killed"],
        "reruns": len(reruns),
        "last_rc": reruns[-1]["rc"],
        "twice": sorted(n for n in numbers if created[n] > 1),
        "never": sorted(n for n in numbers if created[n] == 0),
        "last_stderr": reruns[-1]["stderr"],
        "stderrs": [run["stderr"][-3000:] for run in [first] + reruns],
        "last_stdout": reruns[-1]["stdout"],
    }


def run_points(
    seeds: List[int], span: float, workers: int, folder: Path, deadline: float
) -> List[Dict[str, Any]]:
    """Kill points ``seeds`` on ``workers`` threads (each its own sandbox and
    processes), none started after ``deadline`` (time.monotonic)."""
    from concurrent.futures import ThreadPoolExecutor

    from support import boxes

    def one(seed: int) -> Dict[str, Any]:
        if time.monotonic() >= deadline:
            return {"seed": seed, "skipped": True}
        try:
            return tallied(seed)
        except Exception as exc:  # noqa: BLE001 - one point's trouble, reported
            return {"seed": seed, "error": repr(exc)[:1000], "twice": [], "never": []}

    def tallied(seed: int) -> Dict[str, Any]:
        box = boxes.start_sandbox(status_interval=0.05)
        place = folder / str(seed)
        place.mkdir(parents=True, exist_ok=True)
        try:
            tally = kill_point(box, place, random.Random(seed), span)
        finally:
            # A process killed while writing a request leaves it cut short in
            # the journal (the sandbox refused it): check the accepted ones.
            boxes.finish(box, nonconforming_requests=True)
        tally["seed"] = seed
        return tally

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, seeds))
