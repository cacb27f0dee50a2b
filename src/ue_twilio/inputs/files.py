"""Read a file the user named, safely: regular files only, bounded, cancellable.

A path in a field or option may point anywhere: ``/dev/zero`` never ends, a
FIFO with no writer blocks ``open`` forever, a directory or a huge log is
the wrong file. Every file the task or the CLI reads goes through
:func:`read_regular_file`: it opens without blocking, refuses anything but a
regular file, reads in chunks up to a hard byte limit and checks a cancel
flag between chunks, so a cancel or SIGTERM is never kept waiting.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Callable, List, Optional

from ..exceptions import Cancelled, ValidationError

CHUNK_BYTES = 256 * 1024
# Polled between chunks: true once the task is cancelled.
Cancel = Optional[Callable[[], bool]]
MAX_SHOWN_PATH = 300
# The path is stat-ed first (Windows has no O_NONBLOCK, a socket cannot be
# opened), then opened with O_NONBLOCK, so a FIFO swapped in between cannot
# block open(), and the descriptor is checked again with fstat.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0)
_FLAGS |= getattr(os, "O_BINARY", 0)

# An OSError's errno in words (the OS's own text varies by platform and locale).
_REASONS = {
    errno.ELOOP: "its symbolic links form a loop",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENXIO: "no such device or address",
}

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_regular_file(
    path: str,
    what: str,
    limit: int,
    cancelled: Cancel = None,
) -> bytes:
    """The bytes of the regular file ``path``; ValidationError naming ``what``
    (a field label or an option) for anything else, Cancelled on cancel."""
    descriptor = open_regular(path, what)
    try:
        size = os.fstat(descriptor).st_size
        if size > limit:
            raise ValidationError(what, _too_big(path, limit, size))
        return read_descriptor(descriptor, path, what, limit, cancelled)
    finally:
        os.close(descriptor)


def open_regular(path: str, what: str, flags: int = 0, mode: int = 0o600) -> int:
    """A descriptor of the regular file ``path`` (opened read-only plus
    ``flags``, never blocking); ValidationError naming ``what`` otherwise."""
    if "\x00" in path:  # os.stat would raise ValueError, not OSError
        raise ValidationError(
            what, "{} contains a NUL character.".format(show_path(path))
        )
    try:
        _refuse_irregular(_mode_if_present(path), path, what)  # sockets: ENXIO
        descriptor = os.open(path, _FLAGS | flags, mode)
    except OSError as exc:
        raise ValidationError(what, unreadable(path, exc)) from None
    try:
        _refuse_irregular(os.fstat(descriptor).st_mode, path, what)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _mode_if_present(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None  # open() says so, or creates it (O_CREAT)


def _refuse_irregular(mode: Optional[int], path: str, what: str) -> None:
    if mode is None or stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
    problem = "{} is not a regular file (it is {}).".format(show_path(path), kind)
    raise ValidationError(what, problem)


def read_descriptor(
    descriptor: int,
    path: str,
    what: str,
    limit: int,
    cancelled: Cancel = None,
) -> bytes:
    """Read to the end, in chunks, at most ``limit`` bytes (also for STDIN)."""
    chunks: List[bytes] = []
    total = 0
    while True:
        if cancelled is not None and cancelled():
            raise Cancelled()
        chunk = os.read(descriptor, CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:  # the file grew, or its size was not reported
            raise ValidationError(what, _too_big(path, limit))
        chunks.append(chunk)


def _too_big(path: str, limit: int, size: Optional[int] = None) -> str:
    actual = " is {:,} bytes,".format(size) if size is not None else ""
    return "{}{} over the limit of {:,} bytes (is it the right file?)".format(
        show_path(path), actual, limit
    )


def unreadable(path: str, exc: OSError) -> str:
    """Why ``path`` could not be opened, in words (never the OS's raw text)."""
    if isinstance(exc, FileNotFoundError):
        return "{} does not exist.".format(show_path(path))
    if isinstance(exc, IsADirectoryError):
        return "{} is not a regular file (it is a directory).".format(show_path(path))
    if isinstance(exc, PermissionError):
        return "{} cannot be read: permission denied.".format(show_path(path))
    reason = _REASONS.get(exc.errno or 0)
    if reason is not None:
        return "{} cannot be read: {}.".format(show_path(path), reason)
    return "{} cannot be read ({}).".format(show_path(path), type(exc).__name__)


def show_path(path: str) -> str:
    """A path for a message: escaped, whole unless absurdly long."""
    return ascii(path if len(path) <= MAX_SHOWN_PATH else path[:MAX_SHOWN_PATH] + "...")
