"""What the template commands (Test Connection, List Senders) share.

A command reads only the account and proxy fields, runs one piece of work
against Twilio, and always answers with an Outcome: the same exit codes as a
send (0 works, 2 bad credentials, 3 not authorized, 10 no connection, 20 bad
fields, 1 anything else), secrets scrubbed from everything it says. A cancel
(the ``cancel`` event) ends it before its next request and wakes a 429 backoff
at once: exit 1, like a send cancelled before it sent anything.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ..engine.cancel import Cancel
from ..engine.retry import COMMAND
from ..exceptions import Cancelled, TwilioTaskError, ValidationError
from ..inputs.account import TwilioAccount, read_account
from ..inputs.proxy import ProxyConfig, ignored_proxy_notices, parse_proxy
from ..inputs.settings import Settings
from ..models import Reply, ReplyKind
from ..output.echo import echo_command
from ..output.logsafe import SafeLog
from ..output.outcome import Outcome, envelope
from ..output.verdict import EXIT_SUCCESS, crashed
from ..redact import redactor_for, redactor_for_raw, scrub_tree

# work(account, proxy, settings, log, cancel) -> (status description, result)
Work = Callable[
    [TwilioAccount, Optional[ProxyConfig], Settings, SafeLog, Cancel],
    Tuple[str, Dict[str, Any]],
]


def run_command(
    name: str,
    raw_fields: Any,
    work: Work,
    failed_result: Dict[str, Any],
    settings: Optional[Settings] = None,
    logger: Optional[logging.Logger] = None,
    cancel: Optional[Cancel] = None,
) -> Outcome:
    """Never raises; a TwilioTaskError from ``work`` becomes its exit code."""
    cancel = cancel if cancel is not None else Cancel()
    settings = settings or Settings.from_env()
    logger = logger or logging.getLogger("ue_twilio")
    raw = raw_fields if isinstance(raw_fields, Mapping) else {}
    redactor = redactor_for_raw(raw)
    log = SafeLog(logger, redactor)
    proxy = None
    result = failed_result
    try:
        if not isinstance(raw_fields, Mapping):
            raise ValidationError(
                "Fields", "expected a mapping of field names to values"
            )
        account = read_account(raw_fields)
        proxy = parse_proxy(raw_fields, cancel.is_set)
        redactor = redactor_for(account.auth_user, account.secret, proxy, raw)
        log = SafeLog(logger, redactor)
        for notice in ignored_proxy_notices(raw_fields):
            log.warning(notice)
        status, result = work(account, proxy, settings, log, cancel)
        exit_code = EXIT_SUCCESS
    except TwilioTaskError as exc:
        exit_code, status = exc.exit_code, exc.status_description
    except Exception as exc:  # noqa: BLE001 - the command must always answer
        exit_code, status = crashed(exc)
    status = redactor(status)
    if exit_code != 0:
        log.error(status)
    output = envelope(exit_code, status, echo_command(raw, proxy), result, command=name)
    return Outcome(exit_code, status, scrub_tree(output, redactor), status)


def get_patiently(request: Callable[[], Reply], cancel: Cancel) -> Reply:
    """One GET; a 429 is retried as the COMMAND policy allows (twice), after
    a backoff (run-wide errors raise).

    Raises Cancelled instead of sending once ``cancel`` is set; the backoff
    waits on it, so a cancel ends the wait at once.
    """
    retry = COMMAND
    while True:
        if cancel.is_set():
            raise Cancelled()
        reply = request()
        if reply.kind != ReplyKind.RATE_LIMITED:
            return reply
        retry = retry.increment(reply.retry_after)
        if retry.is_exhausted():
            return reply
        retry.sleep(cancel)


def require_ok(reply: Reply, what: str) -> Dict[str, Any]:
    """The reply's JSON body, or a TwilioTaskError saying what was not returned."""
    if reply.kind == ReplyKind.OK and reply.body:
        return dict(reply.body)
    detail = reply.describe_error()
    raise TwilioTaskError("Twilio did not return {}. {}".format(what, detail))
