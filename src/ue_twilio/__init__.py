"""Send SMS, WhatsApp messages and voice calls through Twilio to a recipient list.

The core knows nothing about the Universal Agent: ``extension.py`` and the
``ue-twilio`` command are thin front ends over :class:`Task` and the names
below, and import nothing else of the core (``tests/test_exports.py``).

The layers are packages, each with one rule about what it may import
(``tests/test_layers.py``): ``inputs`` (the fields, validated), ``output``
(what leaves a run), ``engine`` (concurrent sends, rate limits, tracking),
``ledger`` (reruns), ``transport`` (HTTP), ``commands`` (Test Connection, List
Senders), ``phases`` (one run of the task). The exported names are loaded on
first use (PEP 562), so importing ``ue_twilio.inputs`` to validate fields does
not import ``requests``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._version import EXTENSION_NAME, __version__
from .exceptions import (
    AuthenticationError,
    AuthorizationError,
    Cancelled,
    TwilioConnectionError,
    TwilioTaskError,
    ValidationError,
)

if _TYPE_CHECKING:  # pragma: no cover
    from .commands.check import COMMAND as TEST_CONNECTION
    from .commands.check import check_connection
    from .commands.senders import COMMAND as LIST_SENDERS
    from .commands.senders import list_senders
    from .engine.cancel import Cancel
    from .inputs.fields import SMS, VOICE, WHATSAPP
    from .inputs.files import read_descriptor, read_regular_file
    from .inputs.readers import is_empty, read_credential
    from .inputs.regions import EDGE_LABELS, REGION_LABELS
    from .inputs.settings import Settings, lock_wait_problem, timeout_problem
    from .ledger.place import default_directory as default_state_directory
    from .models import Snapshot
    from .output.outcome import Outcome, crash_outcome
    from .phases.task import Task, early_outcome
    from .redact import Redactor

# name -> (module that defines it, its name there), imported when first read
_LAZY = {
    "Cancel": ("engine.cancel", "Cancel"),
    "LIST_SENDERS": ("commands.senders", "COMMAND"),
    "EDGE_LABELS": ("inputs.regions", "EDGE_LABELS"),
    "Outcome": ("output.outcome", "Outcome"),
    "REGION_LABELS": ("inputs.regions", "REGION_LABELS"),
    "Redactor": ("redact", "Redactor"),
    "SMS": ("inputs.fields", "SMS"),
    "Settings": ("inputs.settings", "Settings"),
    "Snapshot": ("models", "Snapshot"),
    "TEST_CONNECTION": ("commands.check", "COMMAND"),
    "Task": ("phases.task", "Task"),
    "VOICE": ("inputs.fields", "VOICE"),
    "WHATSAPP": ("inputs.fields", "WHATSAPP"),
    "check_connection": ("commands.check", "check_connection"),
    "crash_outcome": ("output.outcome", "crash_outcome"),
    "default_state_directory": ("ledger.place", "default_directory"),
    "early_outcome": ("phases.task", "early_outcome"),
    "is_empty": ("inputs.readers", "is_empty"),
    "lock_wait_problem": ("inputs.settings", "lock_wait_problem"),
    "list_senders": ("commands.senders", "list_senders"),
    "read_credential": ("inputs.readers", "read_credential"),
    "read_descriptor": ("inputs.files", "read_descriptor"),
    "read_regular_file": ("inputs.files", "read_regular_file"),
    "timeout_problem": ("inputs.settings", "timeout_problem"),
}

__all__ = [
    "EDGE_LABELS",
    "EXTENSION_NAME",
    "LIST_SENDERS",
    "REGION_LABELS",
    "SMS",
    "TEST_CONNECTION",
    "VOICE",
    "WHATSAPP",
    "AuthenticationError",
    "AuthorizationError",
    "Cancel",
    "Cancelled",
    "Outcome",
    "Redactor",
    "Settings",
    "Snapshot",
    "Task",
    "TwilioConnectionError",
    "TwilioTaskError",
    "ValidationError",
    "__version__",
    "check_connection",
    "crash_outcome",
    "default_state_directory",
    "early_outcome",
    "is_empty",
    "list_senders",
    "lock_wait_problem",
    "read_credential",
    "read_descriptor",
    "read_regular_file",
    "timeout_problem",
]


def __getattr__(name: str) -> _Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError("module 'ue_twilio' has no attribute {!r}".format(name))
    import importlib

    value = getattr(importlib.import_module("." + where[0], __name__), where[1])
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
