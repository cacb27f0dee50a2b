"""TEST DOUBLE of ``universal_extension.deco``: the dynamic command decorators.

Importable as ``universal_extension.deco`` and, as some public extensions do,
from ``universal_extension.deco.command`` / ``universal_extension.deco.choice``.
The decorators only mark the method; :func:`find_command` and
:func:`find_choice_command` (test helpers, not agent API) look the marks up
the way an agent dispatches a command to the running ``Extension`` instance.
"""

from .choice import dynamic_choice_command, find_choice_command
from .command import dynamic_command, find_command

__all__ = [
    "dynamic_choice_command",
    "dynamic_command",
    "find_choice_command",
    "find_command",
]
