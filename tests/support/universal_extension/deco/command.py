"""TEST DOUBLE of ``universal_extension.deco.command``."""

from ._marks import find, marker

_ATTRIBUTE = "_ue_dynamic_command"


def dynamic_command(name):
    """Mark ``method(self, fields) -> ExtensionResult`` as template command ``name``."""
    return marker(_ATTRIBUTE, "dynamic_command", name)


def find_command(extension, name):
    """Test helper: the bound method an agent would call for command ``name``."""
    return find(extension, _ATTRIBUTE, name)
