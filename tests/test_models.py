"""The shared model: how a Twilio error reply is described, once for all."""

from __future__ import annotations

import pytest

from ue_twilio.models import Reply, ReplyKind


@pytest.mark.parametrize(
    "reply, described",
    [
        (
            Reply(
                ReplyKind.REFUSED,
                404,
                None,
                20404,
                "The requested resource was not found",
            ),
            "Twilio error 20404: The requested resource was not found",
        ),
        (
            Reply(ReplyKind.UNKNOWN, 502, None, None, "HTTP 502 Bad Gateway"),
            "HTTP 502 Bad Gateway",
        ),
        (Reply(ReplyKind.UNKNOWN, 500), "HTTP 500"),
    ],
    ids=["twilio error", "message only", "status only"],
)
def test_an_error_reply_is_described_by_its_code_else_its_message_else_status(
    reply, described
):
    assert reply.describe_error() == described
