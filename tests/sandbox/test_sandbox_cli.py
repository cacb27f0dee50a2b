"""The sandbox command line: announce, serve, stop on a signal, dump the journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from sandbox_helpers import RECIPIENT, SENDER

from ue_twilio.sandbox import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FAULT_KINDS,
    PAGE_FAULT_KINDS,
)
from ue_twilio.sandbox.cli import _sandbox, build_parser, main

SRC = Path(__file__).resolve().parents[2] / "src"


def _start(args, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "ue_twilio.sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(tmp_path),
    )
    lines = []
    for _ in range(50):  # bounded: the announcement is ~10 lines
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("SANDBOX_URL="):
            return process, lines, line.strip().split("=", 1)[1]
    process.kill()
    process.wait(timeout=10)
    pytest.fail("no SANDBOX_URL line: " + "".join(lines) + process.stderr.read())


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signal_and_dumps_the_journal(tmp_path, stop_signal):
    journal = tmp_path / "journal.jsonl"
    process, lines, url = _start(
        ["--journal", str(journal), "--latency", "0.01", "--status-interval", "0"],
        tmp_path,
    )
    try:
        text = "".join(lines)
        assert f"export UE_TWILIO_API_URL={url}" in text
        assert DEFAULT_ACCOUNT_SID in text and DEFAULT_AUTH_TOKEN in text
        assert url.startswith("http://127.0.0.1:")
        response = requests.post(
            f"{url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json",
            data={"To": RECIPIENT, "From": SENDER, "Body": "from the cli test"},
            auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN),
            timeout=10,
        )
        assert response.status_code == 201
        assert response.json()["status"] == "delivered"
    finally:
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "stopped" in out
    (entry,) = [json.loads(line) for line in journal.read_text().splitlines()]
    assert entry["params"]["Body"] == ["from the cli test"]
    assert "Authorization" not in entry["headers"]


def test_cli_options_reach_the_faults(tmp_path):
    process, _, url = _start(
        [
            "--concurrency-cap",
            "0",
            "--retry-after",
            "3",
            "--account-sid",
            "AC" + "f" * 32,
            "--auth-token",
            "tok",
            "--no-journal",
        ],
        tmp_path,
    )
    try:
        response = requests.get(
            f"{url}/2010-04-01/Accounts/{'AC' + 'f' * 32}.json",
            auth=("AC" + "f" * 32, "tok"),
            timeout=10,
        )
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert process.returncode == 0


def test_cli_main_in_process_with_a_stop_event(capsys):
    stop = threading.Event()
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("rc", main(["--port", "0"], stop=stop)),
        daemon=True,
    )
    thread.start()
    announced = False
    for _ in range(100):
        announced = "SANDBOX_URL=http://127.0.0.1:" in capsys.readouterr().out
        if announced:
            break
        thread.join(timeout=0.05)
    stop.set()
    thread.join(timeout=10)
    assert announced and result == {"rc": 0}


def test_cli_parser_defaults_and_errors(capsys):
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.latency, args.concurrency_cap) == (
        "127.0.0.1",
        0,
        0.0,
        None,
    )
    with pytest.raises(SystemExit):
        main(["--keyfile", "k.pem"])
    assert "--keyfile needs --certfile" in capsys.readouterr().err
    assert (
        main(["--certfile", "/nonexistent.pem", "--keyfile", "/nonexistent.key"]) == 1
    )


def _sandbox_command(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "ue_twilio.sandbox", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_help_lists_the_magic_numbers_and_every_fault():
    done = _sandbox_command("--help")
    assert done.returncode == 0
    for kind in FAULT_KINDS:
        assert f"  {kind} " in done.stdout
    for number in ("+15005550011", "+15005550012", "+15005550013", "+15005550014"):
        assert number in done.stdout
    for option in ("--error-rate", "--forbidden", "--stall-seconds", "--fault"):
        assert option in done.stdout
    assert "--page-fault" in done.stdout and ", ".join(PAGE_FAULT_KINDS) in done.stdout


def test_cli_page_faults_reach_the_sandbox():
    args = build_parser().parse_args(["--page-fault", "http_500:2"])
    box = _sandbox(args)
    assert [box._app.page_script.take() for _ in range(3)] == [
        "http_500",
        "http_500",
        None,
    ]


@pytest.mark.parametrize(
    "args,named",
    [
        (["--port", "99999"], "--port"),
        (["--error-rate", "1.5"], "--error-rate"),
        (["--latency", "-5"], "--latency"),
        (["--jitter", "soon"], "--jitter"),
        (["--status-interval", "nan"], "--status-interval"),
        (["--concurrency-cap", "-1"], "--concurrency-cap"),
        (["--stall-seconds", "inf"], "--stall-seconds"),
        (["--fault", "meteor_strike"], "--fault"),
        (["--fault", "http_500:many"], "--fault"),
        (["--page-fault", "lost_body"], "--page-fault"),
    ],
)
def test_bad_values_exit_with_one_clear_line(args, named):
    done = _sandbox_command(*args)
    assert done.returncode == 20 and done.stdout == ""  # 2 is AUTHENTICATION_ERROR
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ue-twilio sandbox: error: argument " + named)


def test_cli_faults_reach_the_sandbox(tmp_path):
    process, _, url = _start(
        [
            "--fault",
            "http_503:2",
            "--fault",
            "lost_body",
            "--forbidden",
            "--stall-seconds",
            "0.5",
            "--status-interval",
            "0",
        ],
        tmp_path,
    )
    base = f"{url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}"
    auth = (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    try:
        forbidden = requests.get(base + ".json", auth=auth, timeout=10)
        assert forbidden.status_code == 403
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert process.returncode == 0
    args = build_parser().parse_args(
        ["--fault", "http_503:2", "--fault", "lost_body", "--stall-seconds", "0.5"]
    )
    box = _sandbox(args)
    assert len(box._app.script) == 3 and box.faults.stall_seconds == 0.5
    assert [box._app.script.take() for _ in range(3)] == [
        "http_503",
        "http_503",
        "lost_body",
    ]


def test_cli_replies_and_presses_as_scripted():
    args = build_parser().parse_args(
        [
            "--reply",
            RECIPIENT + "=ack {code}@0",
            "--reply",
            "+15558675311",
            "--press",
            RECIPIENT + "=1@0.5",
            "--unanswered-after",
            "7",
        ]
    )
    box = _sandbox(args).start()
    try:
        session = requests.Session()
        session.auth = box.credentials
        base = f"{box.url}/2010-04-01/Accounts/{box.account_sid}/Messages.json"
        for to in (RECIPIENT, "+15558675311"):
            body = "db01 down\nReply 4821 to acknowledge."
            sent = session.post(base, data={"To": to, "From": SENDER, "Body": body})
            assert sent.status_code == 201
        listed = session.get(base, params={"To": SENDER}, timeout=10).json()
        replies = {m["from"]: m["body"] for m in listed["messages"]}
        assert replies == {RECIPIENT: "ack 4821", "+15558675311": "4821"}
        assert box.unanswered_after == 7.0
    finally:
        box.stop()


@pytest.mark.parametrize("bad", ["--reply=555=x", "--press=+1555=12", "--press=+1=1@x"])
def test_cli_refuses_bad_replies_and_presses(bad, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([bad])
    assert "error" in capsys.readouterr().err
