"""TEST DOUBLE bookkeeping (not agent API): what reached the "Controller".

Both ways an extension pushes Output Only field values are recorded here:
``ui.update_output_fields`` (``updates``) and
``UniversalExtension.update_extension_status`` (``status_updates``, API
1.0.0).  Kept apart from ``ui`` so that a variant of the double without
``ui.py`` (an older agent) still records the second way.  Values must be
``str``, ``int``, ``bool`` or ``None`` (Output Only exists for Text, Integer
and Boolean fields); anything else raises ``TypeError`` here.
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


def record(kind, fields):
    """Check and keep a copy of one push; ``kind`` is "ui" or "status"."""
    check_output_fields(fields)
    target = updates if kind == "ui" else status_updates
    with _lock:
        target.append((time.monotonic(), dict(fields)))


def reset():
    """Forget earlier calls (the runner does this before each run)."""
    with _lock:
        del updates[:]
        del status_updates[:]


def calls():
    """The dicts passed to ``ui.update_output_fields``, in order."""
    with _lock:
        return [fields for _, fields in updates]


def status_calls():
    """The dicts passed to ``update_extension_status``, in order."""
    with _lock:
        return [fields for _, fields in status_updates]


def latest():
    """Every field's last value, merging both update paths in time order."""
    with _lock:
        merged = sorted(updates + status_updates, key=lambda item: item[0])
    result = {}
    for _, fields in merged:
        result.update(fields)
    return result
