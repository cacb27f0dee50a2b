"""TwilioClient over an injected transport (tests/support/mock_transport.py):
the reply kinds, the one exception boundary and the trace are the client's
own, whatever answers the request."""

from __future__ import annotations

import logging

import pytest
import requests

from support.mock_transport import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Answer,
    client_for,
    created,
    form,
    path,
    rate_limited,
)
from ue_twilio.exceptions import AuthorizationError, TwilioConnectionError
from ue_twilio.models import ReplyKind

SID = "SM" + "a" * 32


def _create(handler, **options):
    client, transport = client_for(handler, **options)
    try:
        return client.create(
            "Messages", {"To": "+15558675310", "Body": "hi"}
        ), transport
    finally:
        client.close()


def test_a_create_reaches_the_handler_with_its_form_and_credentials():
    reply, transport = _create(lambda request: created(SID, form(request)["To"]))
    assert reply.kind == ReplyKind.OK and reply.sid == SID
    (request,) = transport.requests
    assert request.method == "POST"
    assert path(request) == "/2010-04-01/Accounts/{}/Messages.json".format(ACCOUNT_SID)
    assert form(request) == {"To": "+15558675310", "Body": "hi"}
    expected = requests.auth._basic_auth_str(ACCOUNT_SID, AUTH_TOKEN)
    assert request.headers["Authorization"] == expected
    assert request.headers["Accept-Encoding"] == "identity"


def test_429_is_rate_limited_with_its_retry_after():
    reply, _ = _create(lambda request: rate_limited("7"))
    assert reply.kind == ReplyKind.RATE_LIMITED
    assert (reply.error_code, reply.retry_after) == (20429, 7.0)


@pytest.mark.parametrize(
    "status, kind", [(400, ReplyKind.REFUSED), (503, ReplyKind.UNKNOWN)]
)
def test_an_error_status_keeps_twilio_s_code_and_message(status, kind):
    body = {"code": 21211, "message": "Invalid 'To' Phone Number"}
    reply, _ = _create(lambda request: Answer(status, body))
    assert (reply.kind, reply.http_status) == (kind, status)
    assert (reply.error_code, reply.error_message) == (21211, body["message"])


def test_a_201_whose_body_is_lost_is_still_queued():
    reply, _ = _create(lambda request: Answer(201, lose_body=True))
    assert reply.kind == ReplyKind.OK and reply.sid is None
    assert "body was lost" in reply.error_message


def test_a_reset_after_sending_is_unknown_not_a_crash():
    def reset(request):
        raise requests.exceptions.ConnectionError("Connection reset by peer")

    reply, transport = _create(reset)
    assert reply.kind == ReplyKind.UNKNOWN
    assert "delivery state unknown" in reply.error_message
    assert len(transport.requests) == 1


def test_a_request_that_never_left_is_run_wide():
    def refused(request):
        raise requests.exceptions.ConnectTimeout("connect timed out")

    with pytest.raises(TwilioConnectionError):
        _create(refused)


def test_403_is_run_wide():
    body = {"code": 20003, "message": "Permission denied"}
    with pytest.raises(AuthorizationError):
        _create(lambda request: Answer(403, body))


def test_the_trace_names_the_request_and_its_answer(caplog):
    log = logging.getLogger("ue_twilio.test.transport")
    with caplog.at_level(logging.DEBUG, logger=log.name):
        _create(lambda request: created(SID, "+15558675310"), log=log)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("API POST https://api.twilio.test/2010-04-01/Accounts/")
    assert "Messages.json -> 201 code=-" in line
    assert AUTH_TOKEN not in line
