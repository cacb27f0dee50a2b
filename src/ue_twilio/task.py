"""One run of the task: validate, send, follow delivery, decide.

Both front ends call this. The phases: skip what an earlier run queued
(Resend Policy), queue the rest (Dispatcher), optionally follow each queued
message to its final status (Tracker), then one verdict and one Extension
Output. Live progress goes to ``on_progress`` at most once a second.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional

from . import config as config_module
from .account import open_client
from .client import OK, TwilioClient
from .config import TaskConfig
from .dispatcher import Dispatcher
from .echo import echo_config, echo_raw
from .encoding import analyze, describe_ucs2
from .exceptions import TwilioTaskError, ValidationError
from .fields import SMS, VOICE, WHATSAPP
from .live import LiveReporter, Snapshot
from .logsafe import SafeLog
from .outcome import (
    Outcome,
    build_output,
    recipients_detail,
    stats,
    summary_line,
    verdict,
)
from .params import request_builder
from .redact import Redactor, redactor_for, redactor_for_raw, scrub_tree
from .resend import ResendState
from .results import FAILED, NOT_SENT, QUEUED, SKIPPED, RecipientResult, count
from .settings import Settings
from .tracking import DeliveryReport, Tracker, delivery_counts, log_report

ACTION_LABELS = {SMS: "SMS", WHATSAPP: "WhatsApp", VOICE: "voice"}
LIST_LIMIT = 1000


class Task:
    """A cancellable run; ``cancel`` may come from any thread, any number of times.

    ``on_progress`` receives a :class:`ue_twilio.live.Snapshot` at most once
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
        self._cancelled = threading.Event()
        self._dispatcher: Optional[Dispatcher] = None

    def cancel(self) -> None:
        """Stop sending and delivery tracking; the tracker watches the event."""
        self._cancelled.set()
        dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.cancel()

    def run(self) -> Outcome:
        """Never raises: every path ends in an Outcome with an exit code."""
        redactor = redactor_for_raw(self._raw)
        log = SafeLog(self._logger, redactor)
        try:
            config = config_module.parse(self._raw)
        except ValidationError as exc:
            log.error(exc.status_description)
            return _early_outcome(exc, self._raw, redactor)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not escape
            error = TwilioTaskError(
                "Unexpected error while reading the fields: " + type(exc).__name__
            )
            log.error(error.status_description)
            return _early_outcome(error, self._raw, redactor)
        account = config.account
        redactor = redactor_for(account.auth_user, account.secret, config.proxy)
        return self._send(config, SafeLog(self._logger, redactor), redactor)

    def _send(self, config: TaskConfig, log: SafeLog, redactor: Redactor) -> Outcome:
        for notice in config.notices:
            log.warning(notice)
        _warn_ucs2(config, log)
        resend = ResendState(config, self._raw, self._settings.state_file, log)
        run = _Run(config, resend, log, self._on_progress)
        client = open_client(
            config.account,
            self._settings,
            proxy=config.proxy,
            pool_size=config.max_concurrent,
            log=log,
        )
        try:
            dispatcher = self._dispatch(run, client)
            report = self._track(run, client, dispatcher)
        finally:
            client.close()
        run.reporter.publish_final(run.snapshot(report))
        # A cancel between queuing and tracking still counts as a cancel.
        skipped_tracking = config.wait_for_delivery and report is None
        cancelled = dispatcher.cancelled or (
            report.cancelled
            if report is not None
            else skipped_tracking and self._cancelled.is_set()
        )
        return _final_outcome(run, dispatcher, report, cancelled, log, redactor)

    def _dispatch(self, run: "_Run", client: TwilioClient) -> Dispatcher:
        resource, build = request_builder(run.config)
        resend = run.resend

        def send(to: str):
            reply = client.create(resource, build(to))
            if reply.kind == OK:
                resend.mark_queued(to)
            return reply

        dispatcher = Dispatcher(
            send,
            run.to_send,
            run.config.max_concurrent,
            run.log,
            self._settings,
            lambda progress: run.offer(progress.queued, progress.failed),
        )
        self._dispatcher = dispatcher
        if self._cancelled.is_set():
            dispatcher.cancel()
        run.merge(dispatcher.run())
        return dispatcher

    def _track(
        self, run: "_Run", client: TwilioClient, dispatcher: Dispatcher
    ) -> Optional[DeliveryReport]:
        """Follow delivery unless disabled, cancelled or stopped by an error."""
        config = run.config
        if not config.wait_for_delivery or dispatcher.error is not None:
            return None
        if dispatcher.cancelled or self._cancelled.is_set():
            return None
        resource = "Calls" if config.is_voice else "Messages"
        tracker = Tracker(
            lambda sid: client.fetch(resource, sid),
            run.results,
            config.is_voice,
            float(config.delivery_timeout),
            config.max_concurrent,
            run.log,
            self._cancelled,
            on_progress=lambda: run.offer_tracking(tracker),
        )
        queued = count(run.results, QUEUED)
        run.log.info(
            "Waiting up to %d s for the delivery of %d message(s).",
            config.delivery_timeout,
            queued,
        )
        report = tracker.run()
        log_report(report, float(config.delivery_timeout), run.log)
        return report


class _Run:
    """The state of one run shared by the phases: who to send to, results, progress."""

    def __init__(self, config: TaskConfig, resend: ResendState, log, on_progress):
        self.config = config
        self.resend = resend
        self.log = log
        self.skipped = set(resend.skipped_indices())
        self.to_send = [
            to for i, to in enumerate(config.recipients) if i not in self.skipped
        ]
        self.results: List[RecipientResult] = []
        self.reporter = LiveReporter(
            on_progress, log, on_publish=lambda s: resend.save(s.resend_state)
        )

    def merge(self, sent: List[RecipientResult]) -> None:
        """Results in recipient order: skipped ones and the dispatcher's."""
        results = iter(sent)
        self.results = [
            RecipientResult(to, SKIPPED) if i in self.skipped else next(results)
            for i, to in enumerate(self.config.recipients)
        ]

    def _delivered_so_far(self) -> Optional[int]:
        return 0 if self.config.wait_for_delivery else None

    def offer(self, queued: int, failed: int) -> None:
        self.reporter.offer(
            lambda: Snapshot(
                len(self.config.recipients),
                queued=len(self.skipped) + queued,
                failed=failed,
                skipped=len(self.skipped),
                delivered=self._delivered_so_far(),
                resend_state=self.resend.record(),
            )
        )

    def offer_tracking(self, tracker: Tracker) -> None:
        self.reporter.offer(
            lambda: self.snapshot(None, tracker.delivered, tracker.undelivered)
        )

    def snapshot(
        self,
        report: Optional[DeliveryReport],
        delivered: Optional[int] = None,
        undelivered: Optional[int] = None,
    ) -> Snapshot:
        if report is not None:
            delivered, undelivered = report.delivered, report.undelivered
        elif delivered is None:
            delivered = self._delivered_so_far()
        return Snapshot(
            len(self.config.recipients),
            queued=count(self.results, QUEUED) + count(self.results, SKIPPED),
            failed=count(self.results, FAILED),
            skipped=len(self.skipped),
            delivered=delivered,
            undelivered=undelivered,
            resend_state=self.resend.record(),
        )


def _final_outcome(
    run: _Run,
    dispatcher: Dispatcher,
    report: Optional[DeliveryReport],
    cancelled: bool,
    log: SafeLog,
    redactor: Redactor,
) -> Outcome:
    config, results = run.config, run.results
    exit_code, status = verdict(
        results,
        dispatcher.error,
        cancelled,
        undelivered=report.undelivered if report is not None else 0,
        delivered=report.delivered if report is not None else None,
    )
    status = redactor(status)
    if exit_code != 0:
        _log_lists(results, log)
    counts = stats(results, run.resend.enabled, _delivery(config, report))
    result: Dict[str, Any] = {"stats": counts}
    result.update(recipients_detail(results))
    if run.resend.enabled:
        result["resend"] = {"record_source": run.resend.source}
    result["message"] = message_facts(config.action, config.message)
    output = scrub_tree(
        build_output(exit_code, status, echo_config(config), result), redactor
    )
    summary = summary_line(ACTION_LABELS[config.action], results, status, counts)
    return Outcome(exit_code, status, output, summary)


def _delivery(
    config: TaskConfig, report: Optional[DeliveryReport]
) -> Optional[Dict[str, Optional[int]]]:
    """Delivery counts with Wait For Delivery; null when tracking never ran."""
    if not config.wait_for_delivery:
        return None
    if report is None:
        return {"msg_delivered_count": None, "msg_undelivered_count": None}
    return delivery_counts(report)


def _log_lists(results: List[RecipientResult], log: SafeLog) -> None:
    for status, title in (
        (QUEUED, "Queued"),
        (SKIPPED, "Skipped (queued by an earlier run)"),
        (FAILED, "Failed"),
        (NOT_SENT, "Not sent"),
    ):
        numbers = [r.to for r in results if r.status == status]
        if status == SKIPPED and not numbers:
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


def _early_outcome(error: TwilioTaskError, raw: Any, redactor: Redactor) -> Outcome:
    status = redactor(error.status_description)
    result: Dict[str, Any] = {"stats": stats([])}
    result["recipients"] = []
    echoed = echo_raw(raw)
    result["message"] = message_facts(echoed["action"], echoed["message_body_text"])
    output = scrub_tree(build_output(error.exit_code, status, echoed, result), redactor)
    return Outcome(error.exit_code, status, output, status)
