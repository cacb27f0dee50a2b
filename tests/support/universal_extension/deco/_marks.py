"""Shared marking logic of the two decorators (test double)."""

import functools


def marker(attribute, kind, key):
    """Decorator factory: tag a method with ``attribute = key``."""
    if not isinstance(key, str) or not key:
        raise TypeError("{} needs a non-empty name, got {!r}".format(kind, key))

    def decorate(func):
        @functools.wraps(func)
        def wrapper(self, fields):
            return func(self, fields)

        setattr(wrapper, attribute, key)
        return wrapper

    return decorate


def find(obj, attribute, key):
    """The bound method of ``obj`` tagged with ``attribute == key``, or None."""
    for name in dir(type(obj)):
        member = getattr(type(obj), name, None)
        if callable(member) and getattr(member, attribute, None) == key:
            return getattr(obj, name)
    return None
