"""Send SMS, WhatsApp messages and voice calls through Twilio to a recipient list.

The core knows nothing about the Universal Agent: ``extension.py`` and the
``ue-twilio`` command are thin front ends over :class:`Task`.
"""

from ._version import EXTENSION_NAME, __version__
from .exceptions import (
    AuthenticationError,
    AuthorizationError,
    TwilioConnectionError,
    TwilioTaskError,
    ValidationError,
)
from .outcome import Outcome
from .settings import Settings
from .task import Task

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
]
