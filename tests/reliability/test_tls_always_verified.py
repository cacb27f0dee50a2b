"""Certificate verification is always on: there is no field, option, setting or
environment variable that turns it off, and the source never disables it.

A CA bundle (REQUESTS_CA_BUNDLE without a proxy, Proxy CA Bundle File with one)
can only choose which CAs to trust, never "trust anything".
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
from reliability_kit import assert_counts

from support.runner import REPO, cli_env, fields_for, run_cli, run_task
from ue_twilio import Settings
from ue_twilio.inputs.fields import FIELDS

SWITCH_WORDS = re.compile(r"verif|insecure|ssl|tls|skip|unsafe|no.?check", re.I)
UNTRUSTED = "is not trusted"
JUNK_SWITCHES = {
    "verify": False,
    "insecure": True,
    "ssl_verify": False,
    "verify_ssl": "false",
    "tls_verify": ["false"],
    "skip_tls_verification": True,
}


def test_no_field_can_switch_verification_off():
    for spec in FIELDS:
        assert not SWITCH_WORDS.search(spec.name), spec.name
        assert not SWITCH_WORDS.search(spec.label), spec.label


def test_no_setting_can_switch_verification_off():
    names = [f.name for f in dataclasses.fields(Settings)]
    assert not [n for n in names if SWITCH_WORDS.search(n)], names


@pytest.mark.parametrize("command", ["run", "send"])
def test_no_cli_option_can_switch_verification_off(command):
    proc = subprocess.run(
        [sys.executable, "-m", "ue_twilio", command, "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0
    options = re.findall(r"--[a-z][a-z-]+", proc.stdout)
    assert options and not [o for o in options if SWITCH_WORDS.search(o)]


@pytest.mark.parametrize("option", ["--insecure", "--no-verify", "-k"])
def test_cli_refuses_invented_switches(option):
    proc = subprocess.run(
        [sys.executable, "-m", "ue_twilio", "run", "--fields", "-", option],
        input="{}",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 20 and "unrecognized arguments" in proc.stderr


def test_source_never_disables_verification():
    """Shipped code only: the sandbox is a server and may do as it likes."""
    forbidden = re.compile(
        r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|"
        r"_create_unverified_context|disable_warnings"
    )
    sources = [REPO / "src" / "extension.py"]
    sources += [
        p
        for p in (REPO / "src" / "ue_twilio").rglob("*.py")
        if "sandbox" not in p.parts
    ]
    offenders = [str(p) for p in sources if forbidden.search(p.read_text())]
    assert not offenders


def test_untrusted_certificate_fails_whatever_junk_fields_say(
    pki, tls_sandbox, monkeypatch
):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    box = tls_sandbox(pki.api)  # the API CA is in no trust store
    run = run_task(fields_for(box, **JUNK_SWITCHES), box.url)
    assert run.rc == 10
    assert UNTRUSTED in run.output["status_description"]
    assert box.journal == []


def test_untrusted_certificate_fails_whatever_the_environment_says(pki, tls_sandbox):
    box = tls_sandbox(pki.api)
    env = cli_env(
        box.url,
        CURL_CA_BUNDLE="",
        REQUESTS_CA_BUNDLE="",
        PYTHONHTTPSVERIFY="0",
        SSL_CERT_FILE="/dev/null",
    )
    run = run_cli(fields_for(box), env=env)
    assert run.rc == 10
    assert UNTRUSTED in run.output["status_description"]
    assert_counts(run, 1, queued=0, not_sent=1)
    assert box.journal == []


def test_proxy_bundle_is_a_trust_store_not_a_bypass(squid, pki, tls_sandbox):
    """Through a proxy, a bundle without the API's CA fails the tunnelled TLS."""
    box = tls_sandbox(pki.api)
    fields = fields_for(
        box,
        proxy_type=["HTTP"],
        proxy=squid.url("http"),
        proxy_ca_bundle_file=pki.proxy_ca_file,
        **JUNK_SWITCHES,
    )
    run = run_task(fields, box.url)
    assert run.rc == 10
    assert UNTRUSTED in run.output["status_description"]
    assert "Proxy CA Bundle File" in run.output["status_description"]
    assert box.journal == []
