"""Helpers for the issue-7 tests: a Task run that records live progress
snapshots and can be cancelled.

Everything a user could see goes through ``runner.record`` for the leak guard.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from support import runner
from support.events import WAIT
from ue_twilio import Settings, Task


@dataclass
class LiveRun(runner.Run):
    snapshots: List[Any] = field(default_factory=list)
    snapshot_times: List[float] = field(default_factory=list)
    cancelled_at: Optional[float] = None
    returned_at: float = 0.0


def run_live(
    fields: Any,
    api_url: str,
    cancel_on: Optional[threading.Event] = None,
    **settings: Any,
) -> LiveRun:
    """Task in-process, DEBUG log captured as STDERR, snapshots recorded.

    Cancelled (twice, as the agent may) once ``cancel_on`` is set
    (support/events.py), never after a guessed delay.
    """
    snapshots: List[Any] = []
    times: List[float] = []

    def on_progress(snapshot):
        times.append(time.monotonic())
        snapshots.append(snapshot)

    cancelled: Dict[str, float] = {}
    with runner.captured_log() as (logger, stream):
        task = Task(fields, Settings(api_url=api_url, **settings), logger, on_progress)
        if cancel_on is not None:

            def cancel():
                if not cancel_on.wait(WAIT):
                    return
                cancelled["at"] = time.time()
                task.cancel()
                task.cancel()

            threading.Thread(target=cancel, daemon=True).start()
        outcome = task.run()
    returned = time.time()
    text = outcome.output_json()
    stderr = stream.getvalue()
    records = [json.dumps(s.output_fields()) for s in snapshots]
    runner.record(text, stderr, outcome.summary, outcome.status_description, *records)
    return LiveRun(
        outcome.exit_code,
        json.loads(text),
        outcome.summary,
        stderr,
        snapshots=snapshots,
        snapshot_times=times,
        cancelled_at=cancelled.get("at"),
        returned_at=returned,
    )


def statuses(run: runner.Run) -> List[str]:
    return [r["status"] for r in run.output["result"]["recipients"]]
