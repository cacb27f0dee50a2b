"""Plumbing for the benchmarks: a sandbox in its own process, both senders.

The sandbox runs as ``python -m ue_twilio sandbox`` in a separate process so
its CPU (and the 100,000 resources it stores) never count against ours. Our
side is the real ``Task`` (or the real CLI in a subprocess); the baseline is
the official ``twilio`` library in a sequential ``messages.create`` loop,
pointed at the same sandbox through ``client.api.base_url``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ue_twilio import Settings, Task
from ue_twilio.engine.cancel import Cancel
from ue_twilio.engine.listing import Listing
from ue_twilio.engine.tracking import Tracker, TrackSettings
from ue_twilio.models import RecipientResult, Reply, ReplyKind, Status
from ue_twilio.sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from ue_twilio.transport.client import TwilioClient

SENDER = "+15005550006"
BODY = "Nightly load failed: warehouse job 42 stopped at step 7"
START_TIMEOUT = 20.0


def numbers(count: int, block: int = 0) -> List[str]:
    """Distinct valid E.164 numbers; ``block`` keeps runs apart in one journal."""
    return ["+1{:03d}{:07d}".format(200 + block, i) for i in range(count)]


class SandboxProcess:
    """``ue-twilio sandbox`` as a child process, with an optional journal file."""

    def __init__(
        self,
        workdir: Path,
        latency: float = 0.0,
        jitter: float = 0.0,
        cap: Optional[int] = None,
        retry_after: Optional[str] = None,
        journal: bool = False,
        status_interval: Optional[float] = None,
    ) -> None:
        self.journal_path = workdir / "journal-{}.jsonl".format(id(self))
        command = [sys.executable, "-m", "ue_twilio", "sandbox"]
        command += ["--latency", str(latency), "--jitter", str(jitter)]
        if cap is not None:
            command += ["--concurrency-cap", str(cap)]
        if retry_after is not None:
            command += ["--retry-after", retry_after]
        if status_interval is not None:
            command += ["--status-interval", str(status_interval)]
        if journal:
            command += ["--journal", str(self.journal_path)]
        else:
            command += ["--no-journal"]
        self._command = command
        self._journal = journal
        self._proc: Optional[subprocess.Popen] = None
        self.url = ""

    def __enter__(self) -> "SandboxProcess":
        self._proc = subprocess.Popen(
            self._command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.url = _read_url(self._proc)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM; the sandbox writes its journal file before it exits."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()

    def journal(self) -> Iterator[Dict[str, Any]]:
        """The requests the sandbox received, in arrival order (after stop)."""
        if not self._journal:
            raise RuntimeError("started without a journal")
        with open(self.journal_path, encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)

    def first_request_time(self) -> float:
        with open(self.journal_path, encoding="utf-8") as handle:
            return json.loads(handle.readline())["time"]


def _read_url(proc: subprocess.Popen) -> str:
    found: List[str] = []

    def scan() -> None:
        for line in proc.stdout:
            if line.startswith("SANDBOX_URL="):
                found.append(line.strip().split("=", 1)[1])
                break

    reader = threading.Thread(target=scan, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not found:
        proc.kill()
        raise RuntimeError("the sandbox did not start")
    return found[0]


def fields(
    recipients: Sequence[str] = (),
    recipient_file: Optional[str] = None,
    **extra: Any,
) -> Dict[str, Any]:
    """Agent-shaped fields for the sandbox's default account."""
    result = {
        "action": ["sms_message"],
        "twilio_credentials": {
            "user": DEFAULT_ACCOUNT_SID,
            "password": DEFAULT_AUTH_TOKEN,
        },
        "sender": SENDER,
        "recipient_list": ",".join(recipients),
        "recipient_list_file": recipient_file,
        "message_body_text": BODY,
    }
    result.update(extra)
    return result


def write_numbers(path: Path, values: Sequence[str]) -> str:
    path.write_text("\n".join(values) + "\n", encoding="utf-8")
    return str(path)


def quiet_logger() -> logging.Logger:
    """An INFO logger that writes nowhere: the CLI's level, no terminal cost."""
    logger = logging.getLogger("ue_twilio.bench")
    logger.handlers[:] = [logging.NullHandler()]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


class Measured:
    """Wall-clock seconds and process CPU seconds of one run; ``window`` its
    (start, end) in epoch seconds, as the sandbox journal records time."""

    def __init__(
        self, seconds: float, cpu: float, value: Any = None, window=(0.0, 0.0)
    ) -> None:
        self.seconds = seconds
        self.cpu = cpu
        self.value = value
        self.window = window


def run_ours(task_fields: Dict[str, Any], url: str) -> Measured:
    """The real Task in this process, default settings unless fields say so."""
    task = Task(task_fields, Settings(api_url=url), quiet_logger())
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = task.run()
    return Measured(
        time.perf_counter() - wall, time.process_time() - cpu, outcome.output
    )


class _Rounds(Listing):
    """A listing that cancels the tracker instead of starting round N + 1."""

    def __init__(self, client, since: float, rounds: int, cancel) -> None:
        super().__init__(client, "Messages", SENDER, since)
        self.left = rounds
        self._cancel = cancel

    def first(self) -> Reply:
        if self.left == 0:
            self._cancel.set()
            return Reply(
                ReplyKind.UNKNOWN, error_message="the benchmark has its rounds"
            )
        self.left -= 1
        return super().first()


def track_measured(url: str, sids: Sequence[str], rounds: int, listing: bool):
    """Follow ``sids`` (queued) for ``rounds`` rounds of list pages, or for
    one GET each (``listing`` False); value = the rounds done."""
    client = TwilioClient(
        DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Settings(api_url=url)
    )
    cancel = Cancel()
    fetched = [0]

    def fetch(sid: str) -> Reply:
        reply = client.fetch("Messages", sid)
        fetched[0] += 1
        if not listing and fetched[0] >= len(sids):
            cancel.set()  # one round of one GET each is enough
        return reply

    results = [RecipientResult("+1", Status.QUEUED, sid=sid) for sid in sids]
    lists = _Rounds(client, time.time() - 3600, rounds, cancel) if listing else None
    settings = TrackSettings(False, 600.0, 10, poll_first=0.5, poll_max=0.5)
    tracker = Tracker(fetch, results, settings, quiet_logger(), cancel, lists)
    start, wall, cpu = time.time(), time.perf_counter(), time.process_time()
    tracker.run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    client.close()
    done = rounds if listing else 1
    return Measured(wall, cpu, done, (start, time.time()))


def run_twilio_loop(recipients: Sequence[str], url: str) -> Measured:
    """The way every peer sends: one ``messages.create`` after another."""
    from twilio.rest import Client

    client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    client.api.base_url = url
    wall, cpu = time.perf_counter(), time.process_time()
    for to in recipients:
        client.messages.create(to=to, from_=SENDER, body=BODY)
    return Measured(time.perf_counter() - wall, time.process_time() - cpu)


def run_cli_measured(
    task_fields: Dict[str, Any], url: str, workdir: Path, *options: str
):
    """The real CLI in a child; returns (start time, exit code, peak RSS bytes).

    ``os.wait4`` hands back the child's own rusage, whose ``ru_maxrss`` is the
    kernel's record of its peak resident set: no sampling gaps.
    """
    fields_path = workdir / "fields.json"
    fields_path.write_text(json.dumps(task_fields), encoding="utf-8")
    env = dict(os.environ, UE_TWILIO_API_URL=url)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        env.pop(name, None)
    command = [sys.executable, "-m", "ue_twilio", "run", "--fields", str(fields_path)]
    command += list(options)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.time()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        code, peak = _wait_for_peak(proc)
        out.seek(0)
        output = json.loads(out.read().decode("utf-8"))
    return started, code, peak, output


def _wait_for_peak(proc: subprocess.Popen):
    """(exit code, peak RSS in bytes) of a child that is still running."""
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        scale = 1 if sys.platform == "darwin" else 1024  # bytes vs. KiB
        return proc.returncode, usage.ru_maxrss * scale
    import psutil  # Windows: the OS keeps the peak working set for us

    watched = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().peak_wset)
        except psutil.Error:
            break
        time.sleep(0.01)
    return proc.wait(), peak
