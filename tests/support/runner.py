"""Ways to run the task in tests, each recording what a user would see.

Every run's STDOUT, STDERR, debug trace and Extension Output is handed to the
secret guard (see conftest.py), which fails the test if a secret leaked.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ue_twilio import Settings, Task

REPO = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent

SEEN_TEXT: List[str] = []  # everything a user could have seen in this test


@dataclass
class Run:
    rc: int
    output: Dict[str, Any]
    stdout: str
    stderr: str
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def stats(self) -> Dict[str, int]:
        return self.output["result"]["stats"]


def record(*texts: str) -> None:
    SEEN_TEXT.extend(t for t in texts if t)


def fields_for(
    sandbox,
    action: str = "sms_message",
    recipients: str = "+15558675310",
    message: str = "Nightly load failed",
    nested: bool = True,
    **extra: Any,
) -> Dict[str, Any]:
    """Agent-shaped fields for the sandbox's account, in either credential shape."""
    fields: Dict[str, Any] = {
        "action": [action],
        "sender": "+15005550006",
        "recipient_list": recipients,
        "message_body_text": message,
    }
    if nested:
        fields["twilio_credentials"] = {
            "user": sandbox.account_sid,
            "password": sandbox.auth_token,
        }
    else:
        fields["twilio_credentials.user"] = sandbox.account_sid
        fields["twilio_credentials.password"] = sandbox.auth_token
    fields.update(extra)
    return fields


def cli_env(api_url: Optional[str] = None, **overrides: str) -> Dict[str, str]:
    env = dict(os.environ)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
        env.pop(name, None)
    if api_url:
        env["UE_TWILIO_API_URL"] = api_url
    env.update(overrides)
    return env


def run_cli(
    fields: Any,
    api_url: Optional[str] = None,
    *options: str,
    env: Optional[Dict[str, str]] = None,
    timeout: float = 120,
) -> Run:
    """``ue-twilio run --fields -`` in a real subprocess, trace on."""
    command = [sys.executable, "-m", "ue_twilio", "run", "--fields", "-"]
    command += ["--log-level", "DEBUG"] + list(options)
    proc = subprocess.run(
        command,
        input=json.dumps(fields),
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(api_url),
        timeout=timeout,
    )
    record(proc.stdout, proc.stderr)
    return Run(proc.returncode, json.loads(proc.stdout), proc.stdout, proc.stderr)


def run_crashing_cli(fields: Any, api_url: str) -> subprocess.CompletedProcess:
    """``ue-twilio run`` in a subprocess whose Task.run raises: a bug below
    main, so only the CLI's crash fallback stands between it and the user."""
    code = (
        "import sys, ue_twilio, ue_twilio.cli as cli\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('a bug')\n"
        "ue_twilio.Task.run = broken\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", "--fields", "-"],
        input=json.dumps(fields),
        capture_output=True,
        text=True,
        env=cli_env(api_url),
        timeout=60,
    )
    record(proc.stdout, proc.stderr)
    return proc


@contextmanager
def captured_log() -> Iterator[Tuple[logging.Logger, io.StringIO]]:
    """A private DEBUG logger whose lines land in a string: the run's STDERR."""
    stream = io.StringIO()
    logger = logging.getLogger("ue_twilio.test.{}".format(id(stream)))
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def run_task(fields: Any, api_url: str, **settings: Any) -> Run:
    """The Task in-process with a DEBUG logger captured as STDERR."""
    with captured_log() as (logger, stream):
        outcome = Task(fields, Settings(api_url=api_url, **settings), logger).run()
    text = outcome.output_json()
    record(text, stream.getvalue(), outcome.summary, outcome.status_description)
    return Run(outcome.exit_code, json.loads(text), outcome.summary, stream.getvalue())
