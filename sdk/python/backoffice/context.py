"""Who is calling and what time it is for the business.

``now()`` is the call's business time: fixed when the call starts, identical for every
read within it, so plugin code is deterministic.
"""

import datetime
from typing import List, Optional

from wit_world.imports import context as _raw


def tenant() -> str:
    """The tenant (company) the call belongs to."""
    return _raw.caller().tenant


def caller_id() -> Optional[str]:
    """The user or token id of the caller; ``None`` for the host itself (jobs, events)."""
    return _raw.caller().id


def caller_kind() -> str:
    """``"user"``, ``"token"`` or ``"system"``."""
    return _raw.caller().kind.name.lower()


def roles() -> List[str]:
    """Role names the caller holds in this tenant."""
    return list(_raw.caller().roles)


def has_permission(permission: str) -> bool:
    """Whether the caller holds ``permission`` (for example ``leave.approve``)."""
    return _raw.has_permission(permission)


def now() -> datetime.datetime:
    """The call's business time, timezone-aware UTC."""
    instant = _raw.now()
    return datetime.datetime.fromtimestamp(instant.seconds, tz=datetime.timezone.utc) + datetime.timedelta(
        microseconds=instant.nanoseconds // 1000
    )


def today() -> datetime.date:
    """The UTC date of :func:`now`."""
    return now().date()


def time_zone() -> str:
    """The tenant's IANA time zone name, for example ``Europe/Berlin``."""
    return _raw.time_zone()


def setting(name: str) -> Optional[str]:
    """A tenant setting by name, or ``None`` when unset."""
    return _raw.setting(name)


def invocation_id() -> str:
    """A unique id of this call, for correlating logs."""
    return _raw.invocation_id()
