"""TEST DOUBLE of ``universal_extension.deco.choice``."""

from ._marks import find, marker

_ATTRIBUTE = "_ue_dynamic_choice_command"


def dynamic_choice_command(field_name):
    """Mark ``method(self, fields) -> ExtensionResult(values=[...])`` for a field."""
    return marker(_ATTRIBUTE, "dynamic_choice_command", field_name)


def find_choice_command(extension, field_name):
    """Test helper: the bound method an agent would call to fill ``field_name``."""
    return find(extension, _ATTRIBUTE, field_name)
