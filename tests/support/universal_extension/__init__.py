"""TEST DOUBLE of the Universal Agent's ``universal_extension`` package.

The real package ships only inside the Universal Agent
(``uext/universal_extension.zip``) and is not on PyPI.  This stand-in follows
the public contract collected in ``universal-extension-contract.md``
(sections 1-3) closely enough that
``src/extension.py`` runs under it exactly as it would under an agent:

* ``UniversalExtension``: base class; ``self.log`` is the extension logger,
  ``self.uip`` carries ``task_variables``, ``instance_id``, ``is_triggered``,
  ``trigger_id``, ``monitor_id`` and ``request_type``;
  ``update_extension_status(dict)`` pushes Output Only field values.
* ``ExtensionResult(rc=0, message='', output_fields=None, unv_output=None, **kwargs)``:
  every keyword is kept as an attribute (dynamic commands pass ``output``,
  ``output_data``, ``output_name``; choice commands pass ``values``).
* ``logger``: module-level ``logging.Logger`` writing to STDERR (looked up at
  each record, so captured streams work); the level is set by the agent from
  the task's Log Level, here by :func:`set_log_level` or ``UE_LOG_LEVEL``.
* ``ui.update_output_fields(dict)``: records every call for the tests.
* ``deco.dynamic_command(name)`` / ``deco.dynamic_choice_command(field_name)``,
  also importable as ``deco.command`` / ``deco.choice``.
* ``journal`` (test bookkeeping, not agent API): every Output Only push, by
  either path.

``ui`` and ``deco`` are optional: a copy of this package without ``ui.py`` or
without ``deco/`` stands in for an agent of an older API level, and
``from universal_extension import ui`` then fails as it would there.

Where the contract is silent the double is *stricter* than an agent is likely
to be (type checks on results and output fields) so that mistakes show up in
tests, never on a customer's agent.  It is not the agent's code and makes no
claim to be; it must stay importable on Python 3.7.
"""

import logging
import os
import sys
import threading

from . import journal

try:  # public submodules, as on the agent; absent in "older agent" copies
    from . import ui  # noqa: F401
except ImportError:
    pass
try:
    from . import deco  # noqa: F401
except ImportError:
    pass

__all__ = [
    "ExtensionResult",
    "UniversalExtension",
    "journal",
    "logger",
    "set_log_level",
    "set_uip_context",
]

IS_TEST_DOUBLE = True


class _StderrHandler(logging.StreamHandler):
    """A StreamHandler bound to whatever ``sys.stderr`` is when a record is emitted."""

    def __init__(self):
        logging.StreamHandler.__init__(self, sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; ignore.
        pass


_LOGGER_NAME = "universal_extension.extension"


def _make_logger():
    log = logging.getLogger(_LOGGER_NAME)
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    log.propagate = False
    log.setLevel(os.environ.get("UE_LOG_LEVEL", "INFO").upper())
    return log


logger = _make_logger()


def set_log_level(level):
    """What the agent does with the task's Log Level (not passed in ``fields``)."""
    logging.getLogger(_LOGGER_NAME).setLevel(
        level.upper() if isinstance(level, str) else level
    )


class ExtensionResult:
    """The value ``extension_start`` and dynamic commands return to the agent."""

    def __init__(self, rc=0, message="", output_fields=None, unv_output=None, **kwargs):
        if isinstance(rc, bool) or not isinstance(rc, int):
            raise TypeError("ExtensionResult rc must be an int, got {!r}".format(rc))
        if message is not None and not isinstance(message, str):
            raise TypeError("ExtensionResult message must be a str")
        if unv_output is not None and not isinstance(unv_output, str):
            raise TypeError("ExtensionResult unv_output must be a str")
        if output_fields is not None:
            journal.check_output_fields(output_fields)
        self.rc = rc
        self.message = message
        self.output_fields = output_fields
        self.unv_output = unv_output
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.extra = dict(kwargs)

    def __repr__(self):
        return "ExtensionResult(rc={!r}, message={!r})".format(self.rc, self.message)


class _Uip:
    """``self.uip``: facts about the task instance the agent runs."""

    def __init__(
        self,
        task_variables=None,
        instance_id="0f3a6b1c2d4e4f5a8b9c0d1e2f3a4b5c",
        is_triggered=False,
        trigger_id=None,
        monitor_id=None,
        request_type="task_launch",
        **extra,
    ):
        self.task_variables = dict(task_variables or {})
        self.instance_id = instance_id
        self.is_triggered = is_triggered
        self.trigger_id = trigger_id
        self.monitor_id = monitor_id
        self.request_type = request_type
        for key, value in extra.items():
            setattr(self, key, value)


_context_lock = threading.Lock()
_uip_context = {}


def set_uip_context(**values):
    """Test hook: what the next ``UniversalExtension()`` sees in ``self.uip``."""
    with _context_lock:
        _uip_context.clear()
        _uip_context.update(values)


class UniversalExtension:
    """Base class of ``extension.Extension``."""

    def __init__(self):
        with _context_lock:
            context = dict(_uip_context)
        self.log = logging.getLogger(_LOGGER_NAME)
        self.uip = _Uip(**context)

    def update_extension_status(self, fields):
        """Push Output Only field values to the Controller while the task runs."""
        journal.record("status", fields)

    def extension_cancel(self):
        """Default: nothing to stop.  Extensions override it (agent 7.1+)."""
