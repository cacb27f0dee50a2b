"""The Twilio host for every region and edge, and what overrides it."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from support import runner
from support.runner import cli_env
from ue_twilio import Settings
from ue_twilio.inputs.account import read_account
from ue_twilio.inputs.regions import EDGE_LABELS, REGION_EDGES, base_url

ACCOUNT = "AC" + "ab" * 16


def _fields(**extra):
    return dict({"twilio_credentials": {"user": ACCOUNT, "password": "t"}}, **extra)


@pytest.mark.parametrize("edge", [None] + sorted(EDGE_LABELS))
@pytest.mark.parametrize("region", sorted(REGION_EDGES))
def test_host_for_every_region_and_edge(region, edge):
    host = base_url("api", region, edge)
    own = edge or REGION_EDGES[region]
    if own is None:
        assert host == "https://api.twilio.com"
    else:
        assert host == "https://api.{}.{}.twilio.com".format(own, region)
    assert base_url("messaging", region, edge) == host.replace("api", "messaging", 1)


@pytest.mark.parametrize(
    "region,edge,expected",
    [
        (None, None, "https://api.twilio.com"),
        ("us1", None, "https://api.twilio.com"),
        ("ie1", None, "https://api.dublin.ie1.twilio.com"),
        ("au1", None, "https://api.sydney.au1.twilio.com"),
        ("jp1", None, "https://api.tokyo.jp1.twilio.com"),
        ("us1", "ashburn", "https://api.ashburn.us1.twilio.com"),
        ("ie1", "frankfurt", "https://api.frankfurt.ie1.twilio.com"),
    ],
)
def test_fields_choose_the_host(region, edge, expected):
    fields = _fields(twilio_region=[region], twilio_edge=[edge])
    account = read_account(fields)
    assert account.api_url(Settings()) == expected
    assert account.url_for(Settings(), "messaging") == expected.replace(
        "https://api", "https://messaging"
    )


def test_an_api_url_override_serves_both_apis():
    account = read_account(_fields(twilio_region=["ie1"]))
    settings = Settings.from_env({"UE_TWILIO_API_URL": "http://127.0.0.1:9/"})
    assert account.api_url(settings) == "http://127.0.0.1:9"
    assert account.url_for(settings, "messaging") == "http://127.0.0.1:9"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_region_host_is_in_the_debug_trace(secret_guard):
    """No override: the request goes to Twilio's ie1 host (here through a
    proxy that is not listening, so nothing leaves the machine)."""
    proxy = "http://127.0.0.1:{}".format(_closed_port())
    env = cli_env(HTTPS_PROXY=proxy, NO_PROXY="")
    env.pop("UE_TWILIO_API_URL", None)
    command = [sys.executable, "-m", "ue_twilio", "send", "--log-level", "DEBUG"]
    command += ["--from", "+15005550006", "--to", "+15558675310", "--message", "hi"]
    token = "region-token-{}".format(id(object()))
    secret_guard.add_pair(ACCOUNT, token)
    command += ["--account-sid", ACCOUNT, "--region", "ie1"]
    env["TWILIO_AUTH_TOKEN"] = token
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    runner.record(proc.stdout, proc.stderr)
    assert proc.returncode == 10, proc.stderr
    url = "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/{}/Messages.json"
    assert "API POST " + url.format(ACCOUNT) in proc.stderr
