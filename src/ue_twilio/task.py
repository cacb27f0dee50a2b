"""One run of the task: validate, send, follow delivery, decide.

Both front ends call this. The phases: skip what an earlier run queued
(Resend Policy), queue the rest (Dispatcher), optionally follow each queued
message to its final status (Tracker), then one verdict and one Extension
Output. Live progress goes to ``on_progress`` at most once a second.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

from . import chain, delivery, fallback, rounds, voice
from . import config as config_module
from .account import open_client
from .config import TaskConfig
from .echo import echo_config, echo_raw
from .encoding import analyze, describe_ucs2
from .exceptions import TwilioTaskError
from .fields import SMS, VOICE, WHATSAPP
from .hangup import HangUp, mark_hung_up
from .logsafe import LIST_LIMIT, SafeLog
from .models import (
    DeliveryReport,
    RecipientResult,
    Snapshot,
    Status,
)
from .outcome import (
    Outcome,
    build_output,
    cancel_details,
    recipients_detail,
    stats,
    summary_line,
    verdict,
)
from .prices import totals
from .redact import Redactor, redactor_for, redactor_for_raw, scrub_tree
from .resend import ResendState
from .run import Cancel, Context, Run, Sending
from .settings import Settings

ACTION_LABELS = {SMS: "SMS", WHATSAPP: "WhatsApp", VOICE: "voice"}


class Task:
    """A cancellable run; ``cancel`` may come from any thread, any number of times.

    ``on_progress`` receives a :class:`ue_twilio.models.Snapshot` at most once
    per second while the task runs and a final one at the end.
    """

    def __init__(
        self,
        raw_fields: Any,
        settings: Optional[Settings] = None,
        logger: Optional[logging.Logger] = None,
        on_progress: Optional[Callable[[Snapshot], None]] = None,
    ) -> None:
        self._raw = raw_fields
        self._settings = settings or Settings.from_env()
        self._logger = logger or logging.getLogger("ue_twilio")
        self._on_progress = on_progress
        self._cancel = Cancel()

    def cancel(self) -> None:
        """Stop sending and delivery tracking: the event first, then a wake-up
        for the part running now (its waits sleep until woken)."""
        self._cancel.set()

    def run(self) -> Outcome:
        """Never raises: every path ends in an Outcome with an exit code."""
        redactor = redactor_for_raw(self._raw)
        log = SafeLog(self._logger, redactor)
        try:
            config = config_module.parse(self._raw, self._cancel.is_set)
        except TwilioTaskError as exc:  # a field, or a cancel while reading files
            log.error(exc.status_description)
            return early_outcome(exc, self._raw, redactor)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not escape
            error = TwilioTaskError(
                "Unexpected error while reading the fields: " + type(exc).__name__
            )
            log.error(error.status_description)
            return early_outcome(error, self._raw, redactor)
        account = config.account
        redactor = redactor_for(account.auth_user, account.secret, config.proxy)
        return self._send(config, SafeLog(self._logger, redactor), redactor)

    def _send(self, config: TaskConfig, log: SafeLog, redactor: Redactor) -> Outcome:
        for notice in config.notices:
            log.warning(notice)
        _warn_ucs2(config, log)
        try:
            resend = self._resend_state(config, log)
        except TwilioTaskError as exc:  # state file busy or not ours: send nothing
            log.error(exc.status_description)
            return early_outcome(exc, self._raw, redactor, config)
        try:
            return self._send_with(config, resend, log, redactor)
        finally:
            resend.close()

    def _resend_state(self, config: TaskConfig, log: SafeLog) -> ResendState:
        settings = self._settings
        return ResendState(
            config,
            self._raw,
            settings.state_file,
            log,
            label=settings.state_file_label,
            lock_timeout=settings.state_lock_timeout,
            cancelled=self._cancel.is_set,
        )

    def _send_with(
        self, config: TaskConfig, resend: ResendState, log: SafeLog, redactor: Redactor
    ) -> Outcome:
        run = Run(config, resend, log, self._on_progress)
        client = open_client(
            config.account,
            self._settings,
            proxy=config.proxy,
            pool_size=config.max_concurrent,
            log=log,
        )
        context = Context(client, self._settings, self._cancel)
        try:
            sending, report = self._calls_or_messages(context, run)
            run.fallback = fallback.text_unanswered(context, run, sending, report)
            self._hang_up_on_cancel(context, run)
        finally:
            client.close()
        run.reporter.publish_final(run.snapshot(report))
        # A cancel between queuing and tracking still counts as a cancel.
        skipped_tracking = config.wait_for_delivery and report is None
        cancelled = sending.cancelled or (
            report.cancelled
            if report is not None
            else skipped_tracking and self._cancel.is_set()
        )
        return _final_outcome(run, sending, report, cancelled, log, redactor)

    def _calls_or_messages(self, context: Context, run: Run):
        """(sending, delivery report): a call chain, or everyone at once."""
        if run.config.chained:
            return chain.call_until_answered(context, run)
        sending = rounds.send(context, run)
        return sending, delivery.track(context, run, sending)

    def _hang_up_on_cancel(self, context: Context, run: Run) -> None:
        """Cancel hangs up every call of this run still queued or ringing."""
        if not (run.config.is_voice and self._cancel.is_set()):
            return
        calls = run.calls.open_calls(run.results)
        outcomes = HangUp(context.client, run.log, run.config.max_concurrent).run(calls)
        mark_hung_up(run.results, outcomes)


def _final_outcome(
    run: Run,
    sending: Sending,
    report: Optional[DeliveryReport],
    cancelled: bool,
    log: SafeLog,
    redactor: Redactor,
) -> Outcome:
    config, results = run.config, run.results
    exit_code, status = verdict(
        results,
        sending.error,
        cancelled,
        undelivered=report.undelivered if report is not None else 0,
        delivered=report.delivered if report is not None else None,
    )
    if config.chained and sending.error is None and not cancelled:
        exit_code, status = chain.chain_verdict(results, report) or (exit_code, status)
    status = redactor(status)
    delivered = report.delivered if report is not None else None
    if cancelled:
        log.warning("%s.", cancel_details(results, delivered))
    if exit_code != 0:
        _log_lists(results, log)
    counts = stats(
        results,
        run.resend.enabled,
        delivery.delivery_stats(config, report),
        config.chained,
    )
    if report is not None:
        counts.update(totals((r.charge for r in results), config.is_voice))
    if config.fallback_sms:
        counts.update(fallback.counts(run.fallback))
    result: Dict[str, Any] = {"stats": counts}
    if cancelled:
        result["cancelled"] = True
    if config.is_voice:
        voice.mark_calls(results)
    result.update(recipients_detail(results, priced=report is not None))
    if run.fallback:
        result["recipients"].extend(recipients_detail(run.fallback)["recipients"])
    if run.resend.enabled:
        result["resend"] = {"record_source": run.resend.source}
    result["message"] = message_facts(config.action, config.message)
    output = scrub_tree(
        build_output(exit_code, status, echo_config(config), result), redactor
    )
    summary = summary_line(ACTION_LABELS[config.action], results, status, counts)
    return Outcome(exit_code, status, output, summary)


def _log_lists(results: List[RecipientResult], log: SafeLog) -> None:
    for status, title in (
        (Status.QUEUED, "Queued"),
        (Status.SKIPPED, "Skipped (queued by an earlier run)"),
        (Status.FAILED, "Failed"),
        (Status.UNKNOWN, "Unknown (may have reached Twilio; not resent)"),
        (Status.NOT_SENT, "Not sent"),
        (Status.NOT_CALLED, "Not called (the call chain stopped first)"),
    ):
        numbers = [r.to for r in results if r.status == status]
        if (
            status in (Status.SKIPPED, Status.UNKNOWN, Status.NOT_CALLED)
            and not numbers
        ):
            continue
        shown = ", ".join(numbers[:LIST_LIMIT])
        if len(numbers) > LIST_LIMIT:
            shown += ", ... ({} more)".format(len(numbers) - LIST_LIMIT)
        log.info("%s (%d): %s", title, len(numbers), shown or "-")


def message_facts(action: str, text: Optional[str]) -> Optional[Dict[str, Any]]:
    """``result.message``: SMS only (WhatsApp is not split into segments and a
    voice message is spoken), null when there is no text."""
    if action != SMS or not text:
        return None
    return analyze(text).as_dict()


def _warn_ucs2(config: TaskConfig, log: SafeLog) -> None:
    if config.action == SMS and config.message:
        warning = describe_ucs2(analyze(config.message), config.smart_encoding)
        if warning:
            log.warning(warning)


def early_outcome(
    error: TwilioTaskError,
    raw: Any,
    redactor: Optional[Redactor] = None,
    config: Optional[TaskConfig] = None,
) -> Outcome:
    """Nothing was sent: the error's exit code, the echo of the fields.

    With a validated ``config`` every recipient is listed, not sent.
    """
    redactor = redactor if redactor is not None else redactor_for_raw(raw)
    status = redactor(error.status_description)
    recipients = config.recipients if config is not None else []
    results = [RecipientResult(to, Status.NOT_SENT) for to in recipients]
    result: Dict[str, Any] = {"stats": stats(results)}
    result.update(recipients_detail(results))
    echoed = echo_config(config) if config is not None else echo_raw(raw)
    result["message"] = message_facts(echoed["action"], echoed["message_body_text"])
    output = scrub_tree(build_output(error.exit_code, status, echoed, result), redactor)
    return Outcome(error.exit_code, status, output, status)
