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

from typing import TYPE_CHECKING, Any

from ._version import EXTENSION_NAME, __version__
from .exceptions import (
    AuthenticationError,
    AuthorizationError,
    TwilioConnectionError,
    TwilioTaskError,
    ValidationError,
)

if TYPE_CHECKING:  # pragma: no cover
    from .commands.check import check_connection
    from .commands.senders import list_senders
    from .inputs.settings import Settings
    from .output.outcome import Outcome, crash_outcome
    from .phases.task import Task, early_outcome

# name -> module that defines it, imported when the name is first read
_LAZY = {
    "Outcome": "output.outcome",
    "crash_outcome": "output.outcome",
    "Settings": "inputs.settings",
    "Task": "phases.task",
    "early_outcome": "phases.task",
    "check_connection": "commands.check",
    "list_senders": "commands.senders",
}

__all__ = [
    "EXTENSION_NAME",
    "AuthenticationError",
    "AuthorizationError",
    "Outcome",
    "Settings",
    "Task",
    "TwilioConnectionError",
    "TwilioTaskError",
    "ValidationError",
    "__version__",
    "check_connection",
    "crash_outcome",
    "early_outcome",
    "list_senders",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'ue_twilio' has no attribute {!r}".format(name))
    import importlib

    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
