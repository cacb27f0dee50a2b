"""Universal Agent entry point: a thin adapter over ``ue_twilio.Task``.

The agent imports this module from the extension archive and calls
``Extension().extension_start(fields)``; ``extension_cancel`` arrives on
another thread. Everything else lives in the ``ue_twilio`` package. What this
adapter adds: live Output Only fields through ``ui.update_output_fields``,
the resend state file keyed by the task instance id, and the Test
Connection and List Senders commands.
"""

import os
import re
import tempfile
import threading

from universal_extension import ExtensionResult, UniversalExtension, logger
from universal_extension.deco import dynamic_command

from ue_twilio import Settings, Task
from ue_twilio.check import COMMAND, check_connection
from ue_twilio.outcome import crash_outcome
from ue_twilio.senders import COMMAND as LIST_SENDERS
from ue_twilio.senders import list_senders

try:
    from universal_extension import ui
except ImportError:  # an agent without Output Only support: no live progress
    ui = None

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
                state_file=self._state_file(), state_file_label=STATE_FILE_LABEL
            )
            task = Task(fields, settings, logger, on_progress=_push_output_fields)
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

    @dynamic_command(COMMAND)
    def test_connection(self, fields):
        """Template command: fetch the Account with these credentials and proxy."""
        return _command_result(check_connection, fields, COMMAND)

    @dynamic_command(LIST_SENDERS)
    def list_senders(self, fields):
        """Template command: the account's phone numbers and Messaging Services."""
        return _command_result(list_senders, fields, LIST_SENDERS)

    def _state_file(self):
        """Fallback resend record in the agent's temp dir, per task instance."""
        instance = getattr(getattr(self, "uip", None), "instance_id", None)
        if not isinstance(instance, str):
            return None
        safe = _UNSAFE.sub("", instance)[:64]
        if not safe:
            return None
        name = "ue-twilio-resend-{}.json".format(safe)
        return os.path.join(tempfile.gettempdir(), name)


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


def _push_output_fields(snapshot):
    """Live progress: Output Only fields, at most once a second (see ue_twilio.live)."""
    if ui is not None:
        ui.update_output_fields(snapshot.output_fields())
