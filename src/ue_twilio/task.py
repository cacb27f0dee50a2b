"""One run of the task: validate, send, decide. Both front ends call this."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, List, Mapping, Optional

from . import config as config_module
from .client import TwilioClient
from .config import TaskConfig
from .dispatcher import Dispatcher, Progress
from .echo import echo_config, echo_raw
from .exceptions import TwilioTaskError, ValidationError
from .fields import SMS, VOICE, WHATSAPP
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
from .redact import Redactor, scrub_tree
from .results import FAILED, NOT_SENT, QUEUED, RecipientResult
from .settings import Settings

ACTION_LABELS = {SMS: "SMS", WHATSAPP: "WhatsApp", VOICE: "voice"}
LIST_LIMIT = 1000


class Task:
    """A cancellable run; ``cancel`` may come from any thread, any number of times."""

    def __init__(
        self,
        raw_fields: Any,
        settings: Optional[Settings] = None,
        logger: Optional[logging.Logger] = None,
        on_progress: Optional[Callable[[Progress], None]] = None,
    ) -> None:
        self._raw = raw_fields
        self._settings = settings or Settings.from_env()
        self._logger = logger or logging.getLogger("ue_twilio")
        self._on_progress = on_progress
        self._cancelled = threading.Event()
        self._dispatcher: Optional[Dispatcher] = None

    def cancel(self) -> None:
        self._cancelled.set()
        dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.cancel()

    def run(self) -> Outcome:
        """Never raises: every path ends in an Outcome with an exit code."""
        redactor = Redactor(_raw_secrets(self._raw))
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
        redactor = Redactor(_config_secrets(config), pairs=_config_pairs(config))
        return self._send(config, SafeLog(self._logger, redactor), redactor)

    def _send(self, config: TaskConfig, log: SafeLog, redactor: Redactor) -> Outcome:
        for notice in config.notices:
            log.warning(notice)
        client = TwilioClient(
            config.account_sid,
            config.auth_token,
            self._settings,
            proxy=config.proxy,
            pool_size=config.max_concurrent,
            log=log,
        )
        resource, build = request_builder(config)
        dispatcher = Dispatcher(
            lambda to: client.create(resource, build(to)),
            config.recipients,
            config.max_concurrent,
            log,
            self._settings,
            self._on_progress,
        )
        self._dispatcher = dispatcher
        if self._cancelled.is_set():
            dispatcher.cancel()
        try:
            results = dispatcher.run()
        finally:
            client.close()
        return _final_outcome(config, results, dispatcher, log, redactor)


def _final_outcome(config, results, dispatcher, log, redactor) -> Outcome:
    exit_code, status = verdict(results, dispatcher.error, dispatcher.cancelled)
    status = redactor(status)
    if exit_code != 0:
        _log_lists(results, log)
    result = {"stats": stats(results)}
    result.update(recipients_detail(results))
    output = scrub_tree(
        build_output(exit_code, status, echo_config(config), result), redactor
    )
    summary = summary_line(ACTION_LABELS[config.action], results, status)
    return Outcome(exit_code, status, output, summary)


def _log_lists(results: List[RecipientResult], log: SafeLog) -> None:
    for status, title in (
        (QUEUED, "Queued"),
        (FAILED, "Failed"),
        (NOT_SENT, "Not sent"),
    ):
        numbers = [r.to for r in results if r.status == status]
        shown = ", ".join(numbers[:LIST_LIMIT])
        if len(numbers) > LIST_LIMIT:
            shown += ", ... ({} more)".format(len(numbers) - LIST_LIMIT)
        log.info("%s (%d): %s", title, len(numbers), shown or "-")


def _early_outcome(error: TwilioTaskError, raw: Any, redactor: Redactor) -> Outcome:
    status = redactor(error.status_description)
    result = {"stats": stats([])}
    result["recipients"] = []
    output = scrub_tree(
        build_output(error.exit_code, status, echo_raw(raw), result), redactor
    )
    return Outcome(error.exit_code, status, output, status)


def _raw_secrets(raw: Any) -> List[str]:
    """Every string that might be a secret, before validation has run."""
    if not isinstance(raw, Mapping):
        return []
    secrets = []
    for name in ("twilio_credentials", "proxy_credentials"):
        nested = raw.get(name)
        values = [raw.get(name + ".password"), raw.get(name + ".token")]
        if isinstance(nested, Mapping):
            values += [nested.get("password"), nested.get("token")]
        secrets += [v for v in values if isinstance(v, str) and v]
    return secrets


def _config_pairs(config: TaskConfig) -> list:
    pairs = [(config.account_sid, config.auth_token)]
    if config.proxy is not None:
        pairs.append((config.proxy.user, config.proxy.password))
    return pairs


def _config_secrets(config: TaskConfig) -> List[str]:
    secrets = [config.auth_token]
    if config.proxy is not None and config.proxy.password:
        secrets.append(config.proxy.password)
    return secrets
