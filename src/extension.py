"""Universal Agent entry point: a thin adapter over ``ue_twilio.Task``.

The agent imports this module from the extension archive (from the zip, or
from the folder it extracted it to) and calls
``Extension().extension_start(fields)``; ``extension_cancel`` arrives on
another thread. Everything else lives in the ``ue_twilio`` package. What this
adapter adds: live Output Only fields, the resend ledger keyed by the
task instance id (in a directory only the agent's user can use), and the
Test Connection and List Senders commands.

``extension.yml`` asks for API level 1.1.0 (agents 7.1 and later), so every
call newer than that is optional here: without ``universal_extension.ui`` the
live fields go through ``update_extension_status`` (API 1.0.0) or not at all;
without ``universal_extension.deco`` there are no template commands; the
task itself runs the same (see docs/decisions.md, "Agent API level").
"""

import logging
import os
import re
import threading

from universal_extension import ExtensionResult, UniversalExtension

from ue_twilio import (
    LIST_SENDERS,
    TEST_CONNECTION,
    Settings,
    Task,
    check_connection,
    crash_outcome,
    default_state_directory,
    list_senders,
)

try:
    from universal_extension import logger
except ImportError:  # an agent without the module logger: STDERR all the same
    logger = logging.getLogger("ue_twilio.extension")
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
        logger.propagate = False
        logger.setLevel(logging.INFO)

try:
    from universal_extension import ui
except ImportError:  # an agent without ui: update_extension_status instead
    ui = None

try:
    from universal_extension.deco import dynamic_command
except ImportError:  # an agent without dynamic commands: no Test Connection

    def dynamic_command(name):
        return lambda method: method


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# The fallback file is used because of this field: messages about it name it.
STATE_FILE_LABEL = "Resend Policy"


class Extension(UniversalExtension):
    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._task = None
        self._cancel_requested = False

    def extension_start(self, fields):
        try:
            settings = Settings.from_env(
                state_file=self._state_file(),
                state_file_label=STATE_FILE_LABEL,
                state_file_private=True,
            )
            task = Task(fields, settings, logger, on_progress=self._push_output_fields)
            with self._lock:
                self._task = task
                if self._cancel_requested:
                    task.cancel()
            outcome = task.run()
        except Exception as exc:  # noqa: BLE001 - an escaped error shows nothing
            outcome = crash_outcome(exc)
        print(outcome.summary)
        return ExtensionResult(
            rc=outcome.exit_code,
            message=outcome.status_description,
            unv_output=outcome.output_json(),
        )

    def extension_cancel(self):
        with self._lock:
            self._cancel_requested = True
            task = self._task
        if task is not None:
            task.cancel()

    @dynamic_command(TEST_CONNECTION)
    def test_connection(self, fields):
        """Template command: fetch the Account with these credentials and proxy."""
        return _command_result(check_connection, fields, TEST_CONNECTION)

    @dynamic_command(LIST_SENDERS)
    def list_senders(self, fields):
        """Template command: the account's phone numbers and Messaging Services."""
        return _command_result(list_senders, fields, LIST_SENDERS)

    def _push_output_fields(self, snapshot):
        """Live progress: Output Only fields, at most once a second (output.live)."""
        if ui is not None:
            ui.update_output_fields(snapshot.output_fields())
            return
        update = getattr(self, "update_extension_status", None)
        if update is not None:
            update(snapshot.output_fields())

    def _state_file(self):
        """The resend ledger of this task instance, in a directory only the
        agent's user can use (ue_twilio.ledger.place: created 0700, checked)."""
        instance = getattr(getattr(self, "uip", None), "instance_id", None)
        if not isinstance(instance, str):
            return None
        safe = _UNSAFE.sub("", instance)[:64]
        if not safe:
            return None
        name = "resend-{}.ledger".format(safe)
        return os.path.join(default_state_directory(), name)


def _command_result(command, fields, name):
    try:
        outcome = command(fields, Settings.from_env(), logger)
    except Exception as exc:  # noqa: BLE001 - a command must always answer
        outcome = crash_outcome(exc)
    print(outcome.summary)
    return ExtensionResult(
        rc=outcome.exit_code,
        message=outcome.status_description,
        output=True,
        output_data=outcome.output_json(),
        output_name="{}.json".format(name),
    )
