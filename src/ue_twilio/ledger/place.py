"""Where the agent keeps its state files: a directory only its user can use.

The shared temporary directory is writable by every local user: a state
file directly in it could be pre-created by another user (a FIFO that makes
every run fail, a crafted record that makes recipients be skipped). So the
agent's default state files live in ``<temp>/ue-twilio-<uid>``, created 0700;
before use its owner and mode are checked (POSIX: owned by the agent's user,
no access for group or others, not a symlink), and a state file there owned
by another user is refused (exit 20). Windows gives each user a temporary
directory of their own and has no such modes; there only the kind is checked.
"""

from __future__ import annotations

import os
import stat
import tempfile

from ..exceptions import ValidationError
from ..inputs.files import show_path


def default_directory() -> str:
    """``<temp>/ue-twilio-<uid>`` (``ue-twilio`` where there are no uids)."""
    uid = getattr(os, "geteuid", None)
    name = "ue-twilio-{}".format(uid()) if uid is not None else "ue-twilio"
    return os.path.join(tempfile.gettempdir(), name)


def ensure_private(path: str, label: str) -> None:
    """Make sure the directory holding ``path`` is ours alone; create it 0700."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ValidationError(
            label,
            "cannot create the directory {} ({}).".format(
                show_path(folder), type(exc).__name__
            ),
        ) from None
    _check(folder, label, directory=True)
    if os.path.lexists(path):
        _check(path, label, directory=False)


def _check(path: str, label: str, directory: bool) -> None:
    info = os.lstat(path)
    if directory and not stat.S_ISDIR(info.st_mode):
        raise ValidationError(
            label, "{} is not a directory of this user's.".format(show_path(path))
        )
    uid = getattr(os, "geteuid", None)
    if uid is None:
        return
    if info.st_uid != uid():
        raise ValidationError(
            label,
            "{} belongs to another user; it is not used (remove it).".format(
                show_path(path)
            ),
        )
    if directory and info.st_mode & 0o077:
        raise ValidationError(
            label,
            "{} is open to other users (mode {:o}); it is not used "
            "(chmod 700 it, or remove it).".format(
                show_path(path), stat.S_IMODE(info.st_mode)
            ),
        )
