"""Events to other plugins, delivered only if the emitting call commits.

Needs the ``events`` capability; a plugin may emit only topics under its own id::

    events.emit("leave.approved", {"id": "req-1", "employee": "ann"})
"""

import json
from typing import Any

from componentize_py_types import Err
from wit_world.imports import events as _raw

from .errors import from_host


def emit(topic: str, payload: Any) -> None:
    """Queue ``payload`` (JSON-encoded) on ``topic``."""
    try:
        _raw.emit(topic, json.dumps(payload, separators=(",", ":")))
    except Err as e:
        raise from_host(e) from None
