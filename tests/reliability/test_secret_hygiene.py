"""The auth token and the proxy password never reach STDOUT, STDERR, the debug
trace or the Extension Output, in any form.

Every test here (like every test of the suite) ends with the secret guard of
tests/conftest.py scanning all recorded text for each registered secret, its
URL-encoded forms and the base64 of ``user:secret`` (the Basic auth header).
These tests put the secrets where they are most likely to escape: a proxy
password full of URL syntax used end to end with the trace on, a token pasted
into the wrong field, a server that echoes credentials back, an API URL with
credentials, and library exceptions quoting proxy URLs.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import requests
from reliability_kit import PROXY_PASSWORD, PROXY_USER
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

from support import runner
from support.runner import fields_for, run_cli, run_task
from support.servers import LocalServer, QuietHandler
from ue_twilio.inputs import config
from ue_twilio.inputs.proxy import ProxyConfig
from ue_twilio.transport.diagnose import describe_connection_error

MASK = "****"


def test_proxy_password_used_end_to_end_with_the_trace_on(
    squid, pki, tls_sandbox, proxy_password
):
    box = tls_sandbox(pki.api)
    fields = fields_for(
        box,
        recipients="+15558675310, +15558675311",
        proxy_type=["HTTPS_WITH_CREDENTIALS"],
        proxy=squid.url("https_auth"),
        proxy_ca_bundle_file=pki.both_ca_file,
        proxy_credentials={"user": PROXY_USER, "password": proxy_password},
    )
    mark = squid.mark()
    run = run_cli(fields, box.url)
    assert run.rc == 0, run.stderr
    echoed = run.output["invocation"]["fields"]
    assert echoed["proxy_credentials_user"] == MASK
    assert echoed["proxy_credentials_password"] == MASK
    assert "via proxy 127.0.0.1:{}".format(squid.ports["https_auth"]) in (run.stderr)
    users = {e.user for e in squid.entries_since(mark)}
    assert users == {quote(PROXY_USER)} or users == {PROXY_USER}


@pytest.mark.parametrize(
    "field", ["sender", "recipient_list", "message_body_text", "content_sid"]
)
def test_token_pasted_into_another_field_is_never_echoed(sandbox, field):
    fields = fields_for(sandbox, action="whatsapp_message")
    fields[field] = "{} {}".format(sandbox.auth_token, quote(sandbox.auth_token))
    run = run_cli(fields, sandbox.url)
    assert run.rc in (0, 20), run.stderr
    if run.rc == 20:
        assert run.output["status_description"].startswith("DATA_VALIDATION_ERROR: ")
    assert MASK in json.dumps(run.output) or MASK in run.stderr


def test_credentials_inside_the_proxy_url_are_refused_and_not_echoed(
    sandbox, proxy_password
):
    url = "http://{}:{}@127.0.0.1:3128".format(
        quote(PROXY_USER, safe=""), quote(proxy_password, safe="")
    )
    run = run_cli(fields_for(sandbox, proxy_type=["HTTP"], proxy=url), sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"] == (
        "DATA_VALIDATION_ERROR: Proxy: must not contain a user name or password; "
        "use Proxy Credentials."
    )
    assert run.output["invocation"]["fields"]["proxy"] == "http://****@127.0.0.1:3128"


def test_credentials_in_the_api_url_are_masked_in_the_trace(sandbox, secret_guard):
    secret_guard.add_pair("someone", "url-s3cret")
    url = sandbox.url.replace("http://", "http://someone:url-s3cret@")
    run = run_task(fields_for(sandbox), url)
    assert run.rc == 0  # the session's Basic auth wins over the URL's
    assert "API POST http://****@127.0.0.1:{}/".format(sandbox.port) in run.stderr


class EchoingServer(LocalServer):
    """A hostile endpoint: answers 400 with a Twilio error whose message quotes
    the Authorization header and the decoded password it received."""

    def __init__(self) -> None:
        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                header = self.headers.get("Authorization", "")
                decoded = base64.b64decode(header[6:]).decode("utf-8", "replace")
                message = "Echo {} / {} / {}".format(
                    header, decoded, quote(decoded.partition(":")[2], safe="")
                )
                body = json.dumps({"code": 21211, "message": message}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def test_a_server_echoing_the_credentials_back_is_scrubbed(sandbox):
    with EchoingServer() as echo:
        run = run_cli(fields_for(sandbox, recipients="+15558675310"), echo.url)
    assert run.rc == 1
    assert "Not queued: +15558675310: Twilio error 21211: Echo Basic ****" in (
        run.stderr
    )
    assert run.output["status_description"].count(MASK) >= 3


# -- library exception texts --------------------------------------------------
def _proxy() -> ProxyConfig:
    return ProxyConfig(
        "HTTP_WITH_CREDENTIALS",
        "http://127.0.0.1:3128",
        user=PROXY_USER,
        password=PROXY_PASSWORD,
    )


def _url_with_credentials(password: str = PROXY_PASSWORD) -> str:
    return "http://{}:{}@127.0.0.1:3128".format(
        quote(PROXY_USER, safe=""), quote(password, safe="")
    )


def _proxy_error(text: str) -> requests.exceptions.ProxyError:
    inner = Urllib3ProxyError("Cannot connect to proxy.", OSError(text))
    wrapped = MaxRetryError(None, "/2010-04-01/Accounts.json", reason=inner)
    return requests.exceptions.ProxyError(wrapped)


@pytest.mark.parametrize(
    "text",
    [
        "Failed to connect to {}".format(_url_with_credentials()),
        "bad proxy http://user:p%40ss@proxy.example:8080 ({})".format(
            _url_with_credentials()
        ),
        "Proxy-Authorization: Basic {}".format(
            base64.b64encode(
                "{}:{}".format(PROXY_USER, PROXY_PASSWORD).encode()
            ).decode()
        ),
        "password={} raw".format(PROXY_PASSWORD),
    ],
)
def test_proxy_error_texts_are_scrubbed(secret_guard, text):
    secret_guard.add_pair(PROXY_USER, PROXY_PASSWORD)
    secret_guard.add_pair("user", "p@ss")
    message = describe_connection_error(_proxy_error(text), _proxy())
    runner.record(message)
    assert MASK in message
    assert "p%40ss" not in message and "p@ss" not in message


def test_connection_error_texts_scrub_the_auth_token(secret_guard):
    token = "0123456789abcdef0123456789abcdef"
    sid = "AC" + "0" * 32
    secret_guard.add_pair(sid, token)
    text = "https://{}:{}@api.twilio.com/2010-04-01 refused".format(sid, token)
    error = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/", reason=NewConnectionError(None, text))
    )
    message = describe_connection_error(error, None, secrets=[token])
    runner.record(message)
    assert token not in message and MASK in message


def test_validated_config_repr_shows_no_secret(sandbox, proxy_password):
    fields = fields_for(
        sandbox,
        proxy_type=["HTTP_WITH_CREDENTIALS"],
        proxy="http://127.0.0.1:3128",
        proxy_credentials={"user": PROXY_USER, "password": proxy_password},
    )
    parsed = config.parse(fields)
    text = repr(parsed) + repr(parsed.proxy) + str(parsed.proxy)
    runner.record(text)
    assert sandbox.auth_token not in text and proxy_password not in text
