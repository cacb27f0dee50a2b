"""Universal Agent entry point: a thin adapter over ``ue_twilio.Task``.

The agent imports this module from the extension archive and calls
``Extension().extension_start(fields)``; ``extension_cancel`` arrives on
another thread. Everything else lives in the ``ue_twilio`` package.
"""

import threading

from universal_extension import ExtensionResult, UniversalExtension, logger

from ue_twilio import Settings, Task
from ue_twilio.outcome import crash_outcome


class Extension(UniversalExtension):
    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._task = None
        self._cancel_requested = False

    def extension_start(self, fields):
        try:
            task = Task(fields, Settings.from_env(), logger)
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
