"""TEST DOUBLE of ``universal_extension.ui``: records what would reach the Controller.

``update_output_fields`` is the only call an extension makes.  The recording
lives in :mod:`universal_extension.journal`; ``updates``, ``status_updates``,
``reset``, ``calls`` and ``latest`` are re-exported here for the tests.
Delete this file from a copy of the double to stand in for an agent whose
API has no ``ui`` (see tests/packaging/test_agent_api_levels.py).
"""

from .journal import (  # noqa: F401  (test helpers, re-exported)
    calls,
    check_output_fields,
    latest,
    record,
    reset,
    status_updates,
    updates,
)


def update_output_fields(fields):
    """Push Output Only field values to the Controller (recorded, copied)."""
    record("ui", fields)


def record_extension_status(fields):
    """What ``UniversalExtension.update_extension_status`` sends."""
    record("status", fields)
