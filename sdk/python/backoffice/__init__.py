"""Typed helpers for backoffice plugins written in Python and built with componentize-py.

A plugin module registers its operations and exposes the SDK's ``Handler``, the class
componentize-py exports as ``backoffice:host/handler``::

    from backoffice import Handler, operation, InvalidInput, storage

    @operation("greet")
    def greet(input):
        name = input.get("name") or ""
        if not name:
            raise InvalidInput("'name' is required, for example {\\"name\\": \\"Ann\\"}")
        storage.put(f"greeted/{name}", True)
        return {"greeting": f"Hello, {name}"}

Operations take the parsed JSON input and return a JSON-serialisable value. Raising a
:class:`PluginError` subclass returns that error to the caller; any other exception
becomes an ``internal`` error (logged with its type), and the call rolls back either way.
"""

import json
import traceback
from typing import Any, Callable, Dict, Optional

from componentize_py_types import Err
from wit_world import exports

from . import context, events, log, storage
from .errors import Conflict, Forbidden, Internal, InvalidInput, NotFound, PluginError

__all__ = [
    "Handler",
    "operation",
    "on_event",
    "job",
    "migration",
    "PluginError",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "Forbidden",
    "Internal",
    "context",
    "events",
    "log",
    "storage",
]

_operations: Dict[str, Callable[[Any], Any]] = {}
_event_handlers: Dict[str, Callable[[Any], None]] = {}
_jobs: Dict[str, Callable[[Any], None]] = {}
_migration: Optional[Callable[[Optional[str]], None]] = None


def operation(name: str) -> Callable:
    """Register the decorated function as operation ``name`` (declared in plugin.toml)."""

    def register(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
        _operations[name] = f
        return f

    return register


def on_event(topic: str) -> Callable:
    """Register the decorated function for events of ``topic`` (subscribed in plugin.toml)."""

    def register(f: Callable[[Any], None]) -> Callable[[Any], None]:
        _event_handlers[topic] = f
        return f

    return register


def job(name: str) -> Callable:
    """Register the decorated function as job ``name`` (declared in plugin.toml)."""

    def register(f: Callable[[Any], None]) -> Callable[[Any], None]:
        _jobs[name] = f
        return f

    return register


def migration(f: Callable[[Optional[str]], None]) -> Callable[[Optional[str]], None]:
    """Register the function that brings a tenant's data up to this version."""
    global _migration
    _migration = f
    return f


def _run(what: str, f: Callable[[], Any]) -> Any:
    """Run ``f``, turning exceptions into the WIT error the host expects."""
    try:
        return f()
    except Err:
        raise
    except PluginError as e:
        raise Err(e.to_wit()) from None
    except Exception as e:  # noqa: BLE001 - every other failure is a plugin bug
        log.error(f"{what} failed: {type(e).__name__}: {e}\n{traceback.format_exc()}")
        raise Err(Internal(f"{what} failed: {type(e).__name__}").to_wit()) from None


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise InvalidInput(f"the input is not JSON: {e}") from None


class Handler(exports.Handler):
    """``backoffice:host/handler``, dispatching to the registered functions."""

    def invoke(self, operation: str, input: str) -> str:
        def call() -> str:
            f = _operations.get(operation)
            if f is None:
                raise NotFound(f"this plugin has no operation '{operation}'")
            return json.dumps(f(_parse(input)), separators=(",", ":"))

        return _run(f"operation '{operation}'", call)

    def on_event(self, topic: str, payload: str) -> None:
        def call() -> None:
            f = _event_handlers.get(topic)
            if f is not None:
                f(_parse(payload))

        _run(f"event '{topic}'", call)

    def run_job(self, job: str, payload: str) -> None:
        def call() -> None:
            f = _jobs.get(job)
            if f is None:
                raise NotFound(f"this plugin has no job '{job}'")
            f(_parse(payload))

        _run(f"job '{job}'", call)

    def migrate(self, from_: Optional[str]) -> None:
        if _migration is not None:
            _run("migration", lambda: _migration(from_))
