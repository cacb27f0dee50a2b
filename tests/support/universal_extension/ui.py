"""TEST DOUBLE of ``universal_extension.ui``: records what would reach the Controller.

``update_output_fields`` is the only call an extension makes; everything else
here (``updates``, ``status_updates``, ``reset``, ``latest``) is for tests.
Output Only fields exist for Text, Integer and Boolean template fields, so
values must be ``str``, ``int``, ``bool`` or ``None``; anything else raises
``TypeError`` here (an agent may be more lenient, we want the bug found).
"""

import threading
import time

_lock = threading.Lock()
updates = []
status_updates = []


def check_output_fields(fields):
    """Reject what no Output Only field could hold."""
    if not isinstance(fields, dict):
        raise TypeError(
            "output fields must be a dict, got {}".format(type(fields).__name__)
        )
    for name, value in fields.items():
        if not isinstance(name, str):
            raise TypeError("output field names must be str, got {!r}".format(name))
        if value is not None and not isinstance(value, (str, int, bool)):
            raise TypeError(
                "output field {}: {} is not Text, Integer or Boolean".format(
                    name, type(value).__name__
                )
            )


def update_output_fields(fields):
    """Push Output Only field values to the Controller (recorded, copied)."""
    check_output_fields(fields)
    with _lock:
        updates.append((time.monotonic(), dict(fields)))


def record_extension_status(fields):
    """What ``UniversalExtension.update_extension_status`` sends."""
    check_output_fields(fields)
    with _lock:
        status_updates.append((time.monotonic(), dict(fields)))


def reset():
    """Forget earlier calls (the runner does this before each run)."""
    with _lock:
        del updates[:]
        del status_updates[:]


def calls():
    """The dicts passed to ``update_output_fields``, in order."""
    with _lock:
        return [fields for _, fields in updates]


def latest():
    """Every field's last value, merging both update paths in time order."""
    with _lock:
        merged = sorted(updates + status_updates, key=lambda item: item[0])
    result = {}
    for _, fields in merged:
        result.update(fields)
    return result
