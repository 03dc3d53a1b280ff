"""Leveled logs, attributed by the host to the plugin, its version and the tenant."""

from wit_world.imports import log as _raw


def trace(message: str) -> None:
    _raw.write(_raw.Level.TRACE, message)


def debug(message: str) -> None:
    _raw.write(_raw.Level.DEBUG, message)


def info(message: str) -> None:
    _raw.write(_raw.Level.INFO, message)


def warn(message: str) -> None:
    _raw.write(_raw.Level.WARN, message)


def error(message: str) -> None:
    _raw.write(_raw.Level.ERROR, message)
