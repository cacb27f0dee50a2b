#!/usr/bin/env python3
# ruff: noqa: E501 - the page's prose is kept as it reads
"""Write ``docs/examples.md``: the seed's three task examples, run for real.

Each example is ``ue-twilio run --fields FILE`` in a subprocess against the
built-in sandbox, through a real squid where the example has a proxy (the
test suite's PKI and squid helpers, tests/support; squid must be installed
and the script run as root, as ``make test`` does). The outputs are written
unedited but for SIDs, the proxy's port and the temporary CA bundle path.

    .venv/bin/python scripts/gen_examples.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.pki import TestPKI  # noqa: E402
from support.squid import Squid  # noqa: E402
from ue_twilio.sandbox import Sandbox  # noqa: E402

PROXY_USER, PROXY_PASSWORD = "proxy_user", "proxy-pass-7731"
TITLES = {
    "sms": (
        "Send SMS Message to one recipient",
        "The seed's first example: one recipient, no proxy. Exit 0, `changed` true.",
    ),
    "whatsapp": (
        "Send WhatsApp Message to a list of recipients with HTTPS Proxy, 1 of 3 queued",
        "The seed's second example: three recipients through an HTTPS proxy whose "
        "CA bundle holds the proxy's CA and the CA of the Twilio certificate seen "
        "through it. Twilio refuses two of them (the sandbox's magic numbers "
        "+15005550004: the recipient replied STOP, 21610; +15005550002: "
        "unreachable, 21612), so exit 21. Each refused entry carries its `hint`.",
    ),
    "voice": (
        "Send Voice Message with HTTPS With Credentials Proxy (failed)",
        "The seed's third example: a call through an HTTPS proxy that requires a "
        "login; Twilio refuses the only call (+15005550003: geographic permission "
        "not enabled, 21215), so nothing is queued: exit 1, `changed` false. The "
        "proxy password never appears: the echo shows `****`.",
    ),
}
INTRO = " ".join(
    (
        "The seed document's three task examples, each **run for real** with `ue-twilio run --fields FILE`",
        "against the built-in sandbox (`ue-twilio sandbox`, a local Twilio-compatible API) through a real",
        "squid proxy where the example has one (`scripts/gen_examples.py` writes this page). The Extension",
        "Output is what the run printed, unedited but for the SIDs (random per run), the proxy's address and",
        "the temporary path of the CA bundle. The agent runs the same code (`ue_twilio.Task`), so a task in",
        "the Controller with these field values gives the same exit code and output. The fields are what the",
        "agent passes (a Choice as a one-element list, a Credential as user and password); in the Controller",
        "you fill in the same values in the task's form.",
        "How to read an Extension Output: [docs/install.md](install.md#8-reading-the-output). All fields:",
        "[README.md](../README.md#fields). The codes in `hint`: [features.md](features.md#error-hints).",
    )
)
INTRO = "# Task examples\n\n" + INTRO.replace(" How to read", "\n\nHow to read") + "\n"


def examples(plain: Sandbox, tls: Sandbox, squid: Squid, bundle: str) -> dict:
    def account(box: Sandbox) -> dict:
        return {"user": box.account_sid, "password": box.auth_token}

    proxied = {"proxy_ca_bundle_file": bundle}
    return {
        "sms": (plain, {
            "action": ["sms_message"], "twilio_credentials": account(plain),
            "sender": "+15005550006", "recipient_list": "+15558675310",
            "message_body_text": "Hello World",
        }),
        "whatsapp": (tls, dict(proxied, **{
            "action": ["whatsapp_message"], "twilio_credentials": account(tls),
            "sender": "+15005550006",
            "recipient_list": "+15558675310, +15005550004, +15005550002",
            "message_body_text": "Hello World",
            "proxy_type": ["HTTPS"], "proxy": squid.url("https"),
        })),
        "voice": (tls, dict(proxied, **{
            "action": ["voice_message"], "twilio_credentials": account(tls),
            "sender": "+15005550006", "recipient_list": "+15005550003",
            "message_body_text": "Hello World", "answer_timeout": 30,
            "call_max_duration": 60,
            "proxy_type": ["HTTPS_WITH_CREDENTIALS"], "proxy": squid.url("https_auth"),
            "proxy_credentials": {"user": PROXY_USER, "password": PROXY_PASSWORD},
        })),
    }  # fmt: skip


def run(box: Sandbox, fields: dict, work: Path) -> subprocess.CompletedProcess:
    path = work / "fields.json"
    path.write_text(json.dumps(fields), encoding="utf-8")
    env = dict(os.environ, UE_TWILIO_API_URL=box.url)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        env.pop(name, None)
    command = [sys.executable, "-m", "ue_twilio", "run", "--fields", str(path)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def section(name: str, fields: dict, proc, squid: Squid, bundle: str) -> list:
    shown = dict(
        fields, twilio_credentials={"user": "<Account SID>", "password": "<Auth Token>"}
    )
    if "proxy_credentials" in shown:
        shown["proxy_credentials"] = {
            "user": PROXY_USER,
            "password": "<proxy password>",
        }

    def clean(text: str) -> str:
        text = text.replace(bundle, "/opt/ca/proxy_and_twilio_ca.pem")
        for port in squid.ports.values():
            text = text.replace("127.0.0.1:{}".format(port), "proxy.example.com:3128")
        return re.sub(
            r'"(SM|CA|MM)[0-9a-f]{32}"', lambda m: '"{}…"'.format(m.group(1)), text
        )

    title, intro = TITLES[name]
    return [
        "## " + title, "", intro, "", "Fields (`fields.json`):", "",
        "```json", clean(json.dumps(shown, indent=2, ensure_ascii=False)), "```", "",
        "`ue-twilio run --fields fields.json` exited **{}**. Extension Output:".format(
            proc.returncode
        ), "",
        "```json", clean(proc.stdout.strip()), "```", "",
        "STDERR:", "", "```", clean(proc.stderr.strip()), "```", "",
    ]  # fmt: skip


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ue-twilio-examples-"))
    pki = TestPKI(work / "pki")
    bundle = str(work / "proxy_and_twilio_ca.pem")
    Path(bundle).write_text(Path(pki.both_ca_file).read_text())
    squid = Squid(pki.proxy.combined, users={PROXY_USER: PROXY_PASSWORD}).start()
    plain = Sandbox(status_interval=0).start()
    tls = Sandbox(
        status_interval=0, certfile=pki.api.certfile, keyfile=pki.api.keyfile
    ).start()
    lines = [INTRO]
    try:
        for name, (box, fields) in examples(plain, tls, squid, bundle).items():
            proc = run(box, fields, work)
            lines += section(name, fields, proc, squid, bundle)
    finally:
        squid.cleanup()
        plain.stop()
        tls.stop()
    (REPO / "docs" / "examples.md").write_text("\n".join(lines), encoding="utf-8")
    print("wrote docs/examples.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
