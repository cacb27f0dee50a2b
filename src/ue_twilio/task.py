"""One run of the task: validate, send, follow delivery, decide.

Both front ends call this. The phases: skip what an earlier run queued
(Resend Policy), queue the rest (Dispatcher), optionally follow each queued
message to its final status (Tracker), then one verdict and one Extension
Output. Live progress goes to ``on_progress`` at most once a second.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from . import config as config_module
from . import fallback, voice
from .account import open_client
from .chain import CHAIN_POLL_MAX, CallChain, chain_verdict
from .config import TaskConfig
from .dispatcher import Dispatcher
from .echo import echo_config, echo_raw
from .encoding import analyze, describe_ucs2
from .exceptions import TwilioTaskError
from .fields import SMS, VOICE, WHATSAPP
from .hangup import HangUp, mark_hung_up
from .listing import Listing, listing_for
from .logsafe import LIST_LIMIT, SafeLog
from .models import (
    DeliveryReport,
    RecipientResult,
    ReplyKind,
    Snapshot,
    Status,
    count,
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
from .params import request_builder
from .prices import totals
from .reconcile import ABSENT, Reconciler, match_for
from .redact import Redactor, redactor_for, redactor_for_raw, scrub_tree
from .resend import ResendState
from .run import Cancel, Run, Sending
from .settings import Settings
from .tracking import Tracker, delivery_counts, log_report
from .transport.client import TwilioClient

ACTION_LABELS = {SMS: "SMS", WHATSAPP: "WhatsApp", VOICE: "voice"}
# How often a recipient whose answer was lost, and whom Twilio has no record
# of, is sent again within one run.
MAX_RESENDS = 1


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
        try:
            sending, report = self._calls_or_messages(run, client)
            run.fallback = self._fallback(run, client, sending, report)
            self._hang_up_on_cancel(run, client)
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

    def _calls_or_messages(self, run: Run, client: TwilioClient):
        """(sending, delivery report): a call chain, or everyone at once."""
        if run.config.chained:
            return self._chain(run, client)
        sending = self._queue(run, client)
        return sending, self._track(run, client, sending)

    def _queue(
        self,
        run: Run,
        client: TwilioClient,
        indices: Optional[Sequence[int]] = None,
        sending: Optional[Sending] = None,
    ) -> Sending:
        """Send, then settle every lost answer at Twilio; resend what is absent.

        A recipient is sent at most 1 + MAX_RESENDS times, and sent again only
        after two looks at Twilio's list found nothing it could have created.
        """
        sending = sending or Sending()
        if indices is None:
            earlier = self._settle_earlier(run, client)
            indices = sorted([*run.pending, *earlier]) if earlier else run.pending
        for round_number in range(MAX_RESENDS + 1):
            self._round(run, client, indices, sending)
            if sending.stopped or self._cancel.is_set():
                break
            absent = self._reconcile(run, client, indices)
            if not absent:
                break
            if round_number == MAX_RESENDS:
                run.give_up(absent, MAX_RESENDS + 1)
                break
            run.log.info(
                "Sending once more to %d recipient(s) that Twilio has no record of.",
                len(absent),
            )
            run.forget(absent)
            indices = absent
        sending.cancelled = sending.cancelled or self._cancel.is_set()
        return sending

    def _round(
        self, run: Run, client: TwilioClient, indices: Sequence[int], sending
    ) -> None:
        resource, build = request_builder(run.config)
        resend = run.resend

        calls = run.calls if run.config.is_voice else None  # to hang up on cancel

        def send(to: str):
            reply = client.create(resource, build(to))
            if reply.kind == ReplyKind.OK:
                resend.mark_queued(to)
                if calls is not None:
                    calls.add(reply.sid, to)
            return reply

        def settle(position: int, result: RecipientResult) -> None:
            # At once, so the placeholder goes as soon as its result exists
            # (100,000 recipients must not be held twice).
            run.results[indices[position]] = result

        base = run.counts_outside(indices)
        dispatcher = Dispatcher(
            send,
            [run.config.recipients[i] for i in indices],
            run.config.max_concurrent,
            run.log,
            self._settings,
            lambda p: run.offer(base[0] + p.queued, base[1] + p.failed),
            on_result=settle,
        )
        self._cancel.watch(dispatcher)
        for index, result in zip(indices, dispatcher.run()):
            run.results[index] = result
            if result.status == Status.UNKNOWN:
                resend.mark_unknown(result.to)
        sending.absorb(dispatcher)

    def _settle_earlier(self, run: Run, client: TwilioClient) -> List[int]:
        """A rerun: look up what an earlier run left unknown before sending.

        Found: skipped like any recipient that run queued. Absent: sent now.
        A failed lookup: stays unknown and is not sent (it may exist).
        """
        earlier = run.resend.unknown_indices()
        since = run.resend.unknown_since
        if not earlier or since is None or self._cancel.is_set():
            return []
        run.log.info(
            "Resend Policy: asking Twilio about %d recipient(s) an earlier run left "
            "unknown.",
            len(earlier),
        )
        verdicts = self._reconciler(run, client, since).settle(
            [run.config.recipients[i] for i in earlier]
        )
        return run.settle_earlier(earlier, verdicts)

    def _reconciler(self, run: Run, client: TwilioClient, since: float) -> Reconciler:
        settings = self._settings
        return Reconciler(
            client,
            run.config,
            match_for(run.config, since),
            self._cancel.event,
            run.log,
            time.monotonic() + settings.reconcile_delay + settings.reconcile_budget,
            run.config.max_concurrent,
            (settings.reconcile_delay, settings.reconcile_recheck),
        )

    def _reconcile(
        self, run: Run, client: TwilioClient, indices: Sequence[int]
    ) -> List[int]:
        """Look up this round's lost answers; return the UNKNOWN ones surely absent.

        Queued recipients whose 201 carried no readable SID are looked up too,
        for their SID only (delivery tracking needs it); they are never resent.
        """
        unknown = [i for i in indices if run.results[i].needs_lookup]
        if not unknown:
            return []
        run.log.info(
            "Asking Twilio about %d recipient(s) whose answer was lost.", len(unknown)
        )
        verdicts = self._reconciler(run, client, run.started).settle(
            [run.config.recipients[i] for i in unknown]
        )
        run.apply(unknown, verdicts)
        return [
            i
            for i, v in zip(unknown, verdicts)
            if v.state == ABSENT and run.results[i].status == Status.UNKNOWN
        ]

    def _track(
        self, run: Run, client: TwilioClient, sending: Sending
    ) -> Optional[DeliveryReport]:
        """Follow delivery unless disabled, cancelled or stopped by an error."""
        config = run.config
        if not config.wait_for_delivery or sending.error is not None:
            return None
        if sending.cancelled or self._cancel.is_set():
            return None
        queued = count(run.results, Status.QUEUED)
        run.log.info(
            "Waiting up to %d s for the delivery of %d message(s).",
            config.delivery_timeout,
            queued,
        )
        listing = listing_for(client, config, run.started)
        report = self._follow(
            run, client, run.results, float(config.delivery_timeout), listing=listing
        )
        log_report(report, float(config.delivery_timeout), run.log)
        return report

    def _follow(
        self,
        run: Run,
        client: TwilioClient,
        results: List[RecipientResult],
        timeout: float,
        poll_max: Optional[float] = None,
        listing: Optional[Listing] = None,
    ) -> DeliveryReport:
        """Follow the queued ``results`` to their final status (Tracker);
        with a ``listing``, many of them by rounds of Twilio's list."""
        config = run.config
        resource = "Calls" if config.is_voice else "Messages"
        tracker = Tracker(
            lambda sid: client.fetch(resource, sid),
            results,
            config.is_voice,
            timeout,
            config.max_concurrent,
            run.log,
            self._cancel.event,
            on_progress=lambda: run.offer_tracking(tracker),
            poll_first=self._settings.poll_first,
            poll_max=min(self._settings.poll_max, poll_max or self._settings.poll_max),
            answer_problem=voice.answer_problem(config.answering_machine),
            listing=listing,
        )
        self._cancel.watch(tracker)
        return tracker.run()

    def _chain(self, run: Run, client: TwilioClient):
        """Call Order 'one_by_one_until_answered' (chain.py)."""
        chain = CallChain(run.config, run.log)
        sending = Sending()
        for index in chain.calls(run.pending, run.results):
            self._queue(run, client, [index], sending)
            if sending.stopped or self._cancel.is_set():
                break
            report = self._follow(
                run, client, [run.results[index]], chain.call_timeout(), CHAIN_POLL_MAX
            )
            chain.followed(index, report)
            if report.error is not None or report.cancelled:
                break
        report = chain.report()
        stopped = sending.stopped or report.error is not None
        chain.finish(run.results, stopped or self._cancel.is_set())
        log_report(report, float(run.config.delivery_timeout), run.log)
        sending.cancelled = sending.cancelled or self._cancel.is_set()
        return sending, report

    def _fallback(
        self,
        run: Run,
        client: TwilioClient,
        sending: Sending,
        report: Optional[DeliveryReport],
    ) -> Optional[List[RecipientResult]]:
        """SMS Fallback (fallback.py): None when it did not run."""
        config = run.config
        if not config.fallback_sms or report is None or report.error is not None:
            return None
        if sending.stopped or report.cancelled or self._cancel.is_set():
            return None
        indices = fallback.unanswered(run.results, report)
        if not indices:
            return []
        numbers = [run.results[i].to for i in indices]
        run.log.info(
            "SMS Fallback: texting %d recipient(s) whose call no person answered.",
            len(numbers),
        )
        sms = fallback.sms_config(config, numbers)
        sms_run = Run(sms, ResendState(sms, {}, None, run.log), run.log, None)
        self._queue(sms_run, client)
        return fallback.link(run.results, indices, sms_run.results)

    def _hang_up_on_cancel(self, run: Run, client: TwilioClient) -> None:
        """Cancel hangs up every call of this run still queued or ringing."""
        if not (run.config.is_voice and self._cancel.is_set()):
            return
        calls = run.calls.open_calls(run.results)
        outcomes = HangUp(client, run.log, run.config.max_concurrent).run(calls)
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
        exit_code, status = chain_verdict(results, report) or (exit_code, status)
    status = redactor(status)
    delivered = report.delivered if report is not None else None
    if cancelled:
        log.warning("%s.", cancel_details(results, delivered))
    if exit_code != 0:
        _log_lists(results, log)
    counts = stats(
        results, run.resend.enabled, _delivery(config, report), config.chained
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


def _delivery(
    config: TaskConfig, report: Optional[DeliveryReport]
) -> Optional[Dict[str, Optional[int]]]:
    """Delivery counts with Wait For Delivery; null when tracking never ran."""
    if not (config.wait_for_delivery or config.chained):
        return None
    if report is None:
        return {"msg_delivered_count": None, "msg_undelivered_count": None}
    return delivery_counts(report)


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
