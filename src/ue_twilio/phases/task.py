"""One run of the task: validate, send, follow delivery, decide.

Both front ends call this. ``Task`` reads the fields and chooses the phases,
each in its own module: skip what an earlier run queued (ledger/state.py), send in
rounds that settle lost answers (rounds.py), follow delivery (delivery.py) or
call one by one (chain.py), text whom no call reached (fallback.py), hang up
on cancel (hangup.py), then one verdict and one Extension Output (final.py).
Live progress goes to ``on_progress`` at most once a second.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Tuple

from ..engine.cancel import Cancel
from ..exceptions import TwilioTaskError
from ..inputs import config as config_module
from ..inputs.config import TaskConfig
from ..inputs.settings import Settings
from ..ledger.state import ResendState, StateFile
from ..models import DeliveryReport, RecipientResult, Snapshot, Status
from ..output.echo import echo_config, echo_raw
from ..output.encoding import message_facts, warn_ucs2
from ..output.logsafe import SafeLog
from ..output.outcome import Outcome, build_output, recipients_detail, stats
from ..redact import Redactor, redactor_for, redactor_for_raw, scrub_tree
from ..transport.client import open_client
from . import acknowledge, chain, delivery, fallback, plan, rounds
from .final import final_outcome, rejected_results
from .hangup import HangUp, mark_hung_up
from .run import Context, Run, Sending, recover


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
        self._run: Optional[Run] = None

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
        redactor = redactor_for(
            account.auth_user, account.secret, config.proxy, self._raw
        )
        return self._send(config, SafeLog(self._logger, redactor), redactor)

    def _send(self, config: TaskConfig, log: SafeLog, redactor: Redactor) -> Outcome:
        for notice in config.notices:
            log.warning(notice)
        warn_ucs2(config, log)
        if config.dry_run:
            return self._dry_run(config, log, redactor)
        try:
            resend = self._resend_state(config, log)
        except TwilioTaskError as exc:  # state file busy or not ours: send nothing
            log.error(exc.status_description)
            return early_outcome(exc, self._raw, redactor, config)
        except Exception as exc:  # noqa: BLE001 - nothing left: a plain crash
            return _unexpected(exc, log, self._raw, redactor, config)
        try:
            return self._send_with(config, resend, log, redactor)
        except Exception as exc:  # noqa: BLE001 - Task.run never raises
            return self._crashed(exc, config, resend, log, redactor)
        finally:
            _close(resend, log)

    def _crashed(
        self,
        exc: Exception,
        config: TaskConfig,
        resend: ResendState,
        log: SafeLog,
        redactor: Redactor,
    ) -> Outcome:
        """An error after requests may have left: the outcome comes from what
        the recipients' results and the ledger say (queued ones listed, the
        counts add up), exit 1 "Unexpected error", never a traceback."""
        run = self._run
        if run is None:
            return _unexpected(exc, log, self._raw, redactor, config)
        try:
            recover(run.results, resend)
            error = TwilioTaskError("Unexpected error: " + type(exc).__name__)
            log.error(error.status_description)
            sending = Sending()
            sending.error = error
            return final_outcome(run, sending, None, False, log, redactor)
        except Exception:  # noqa: BLE001 - the outcome of the outcome: keep it plain
            return _unexpected(exc, log, self._raw, redactor, config)

    def _dry_run(self, config: TaskConfig, log: SafeLog, redactor: Redactor) -> Outcome:
        """phases/plan.py instead of sending; the rerun ledger stays closed."""
        try:
            return plan.dry_run(config, self._settings, self._cancel, log, redactor)
        except TwilioTaskError as exc:  # the Sender, credentials, connection
            log.error(exc.status_description)
            return early_outcome(exc, self._raw, redactor, config)

    def _resend_state(self, config: TaskConfig, log: SafeLog) -> ResendState:
        settings = self._settings
        where = StateFile(
            settings.state_file,
            settings.state_file_label,
            settings.state_lock_timeout,
            self._cancel.is_set,
            private=settings.state_file_private,
            required=settings.state_file_required,
        )
        return ResendState(config, self._raw, log, where)

    def _send_with(
        self, config: TaskConfig, resend: ResendState, log: SafeLog, redactor: Redactor
    ) -> Outcome:
        run = Run(config, resend, log, self._on_progress)
        self._run = run
        client = open_client(
            config.account,
            self._settings,
            proxy=config.proxy,
            pool_size=config.max_concurrent,
            log=log,
        )
        resend.clock = client.clock  # lookups and the record: Twilio's clock
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
        return final_outcome(run, sending, report, cancelled, log, redactor)

    def _calls_or_messages(
        self, context: Context, run: Run
    ) -> Tuple[Sending, Optional[DeliveryReport]]:
        """(sending, delivery report): pages until acknowledged, a call chain,
        or everyone at once."""
        if run.config.wait_for_acknowledgement:
            return acknowledge.page_until_acknowledged(context, run)
        if run.config.chained:
            return chain.call_until_answered(context, run)
        sending = rounds.send(context, run)
        return sending, delivery.track(context, run, sending)

    def _hang_up_on_cancel(self, context: Context, run: Run) -> None:
        """Cancel hangs up every call of this run still queued or ringing."""
        if not (run.config.is_voice and self._cancel.is_set()):
            return
        if run.config.wait_for_acknowledgement:  # acknowledge.py ended them
            return
        calls = run.calls.open_calls(run.results)
        outcomes = HangUp(context.client, run.log, run.config.max_concurrent).run(calls)
        mark_hung_up(run.results, outcomes)


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
    results += rejected_results(config) if config is not None else []
    result: Dict[str, Any] = {"stats": stats(results)}
    result.update(recipients_detail(results))
    echoed = echo_config(config) if config is not None else echo_raw(raw)
    result["message"] = message_facts(echoed["action"], echoed["message_body_text"])
    output = scrub_tree(build_output(error.exit_code, status, echoed, result), redactor)
    return Outcome(error.exit_code, status, output, status)


def _unexpected(
    exc: Exception, log: SafeLog, raw: Any, redactor: Redactor, config: TaskConfig
) -> Outcome:
    """Exit 1 "Unexpected error", every recipient listed not sent."""
    error = TwilioTaskError("Unexpected error: " + type(exc).__name__)
    log.error(error.status_description)
    return early_outcome(error, raw, redactor, config)


def _close(resend: ResendState, log: SafeLog) -> None:
    """Compact and unlock the ledger; a failure there is a warning, not a crash
    (what it holds was written ahead)."""
    try:
        resend.close()
    except Exception as exc:  # noqa: BLE001 - Task.run never raises
        log.warning(
            "Resend Policy: the state file could not be closed (%s).",
            type(exc).__name__,
        )
