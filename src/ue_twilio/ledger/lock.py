"""An exclusive lock between processes on one file: POSIX flock, Windows msvcrt.

The state file is replaced when it is compacted (a new inode), so the lock
lives on a sidecar file that is never replaced nor deleted (deleting a lock
file lets two processes each lock a different inode). Its path is made from
the state file's real path (symlinks resolved, ledger/state.py), so two paths
to one file take one lock.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Optional

from ..exceptions import Cancelled, StateFileBusy
from ..inputs.files import open_regular, show_path

POLL_SECONDS = 0.1

if sys.platform == "win32":  # pragma: no cover - mypy and the agent on Windows
    import msvcrt

    def _try_lock(descriptor: int) -> bool:
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process holds it
            return False
        return True

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


class FileLock:
    """Held from ``acquire`` to ``release``; the OS drops it if the process dies."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self._what = what
        self._descriptor: Optional[int] = None

    def acquire(
        self, timeout: float, cancelled: Optional[Callable[[], bool]] = None
    ) -> bool:
        """Wait at most ``timeout`` seconds (and not past a cancel) for the lock.

        The path is created if missing; anything but a regular file there is
        refused with ValidationError naming ``what``.
        """
        descriptor = open_regular(self.path, self._what, os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + timeout
        while not _try_lock(descriptor):
            stop = cancelled is not None and cancelled()
            if stop or time.monotonic() >= deadline:
                os.close(descriptor)
                return False
            time.sleep(POLL_SECONDS)  # another process: no event to wait on
        self._descriptor = descriptor
        return True

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None:
            return
        try:
            _unlock(descriptor)
        finally:
            os.close(descriptor)


def lock_state_file(
    path: str, label: str, timeout: float, cancelled: Optional[Callable[[], bool]]
) -> FileLock:
    """The lock of the state file at ``path`` (its real path), held; raises
    Cancelled on a cancel, StateFileBusy when another run keeps it."""
    lock = FileLock(path + ".lock", label)
    if not lock.acquire(timeout, cancelled):
        if cancelled is not None and cancelled():
            raise Cancelled()
        raise StateFileBusy(
            "Another run is using the state file {} ({}); waited {:g} s. "
            "Nothing was sent.".format(show_path(path), label, timeout)
        )
    return lock
