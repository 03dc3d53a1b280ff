"""Expected failures of an operation, mapped by the host to HTTP statuses and exit codes.

Raise one of these from an operation; the SDK returns it to the host as the WIT
``error`` variant, and the host rolls back everything the call wrote::

    raise InvalidInput("'days' must be a positive whole number, for example 3")
"""

from componentize_py_types import Err
from wit_world.imports import types


class PluginError(Exception):
    """Base of the expected failures; ``message`` should say how to fix the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wit(self) -> types.Error:
        return types.Error_Internal(self.message)


class InvalidInput(PluginError):
    """The input is malformed or breaks a business rule (HTTP 400, exit code 2)."""

    def to_wit(self) -> types.Error:
        return types.Error_InvalidInput(self.message)


class NotFound(PluginError):
    """A record the call refers to does not exist (HTTP 404, exit code 3)."""

    def to_wit(self) -> types.Error:
        return types.Error_NotFound(self.message)


class Conflict(PluginError):
    """The call conflicts with the current state (HTTP 409, exit code 4)."""

    def to_wit(self) -> types.Error:
        return types.Error_Conflict(self.message)


class Forbidden(PluginError):
    """The caller lacks a permission or the plugin a capability (HTTP 403)."""

    def to_wit(self) -> types.Error:
        return types.Error_Forbidden(self.message)


class Internal(PluginError):
    """Something went wrong that the caller cannot fix (HTTP 500)."""


_FROM_WIT = {
    types.Error_InvalidInput: InvalidInput,
    types.Error_NotFound: NotFound,
    types.Error_Conflict: Conflict,
    types.Error_Forbidden: Forbidden,
    types.Error_Internal: Internal,
}


def from_host(err: Err) -> PluginError:
    """The exception for an error a host import returned (``componentize_py_types.Err``)."""
    value = err.value
    kind = _FROM_WIT.get(type(value), Internal)
    return kind(getattr(value, "value", str(value)))
