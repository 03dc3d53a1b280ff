"""The plugin's transactional key-value storage, with JSON values.

Keys are strings (at most 512 bytes), ordered by their UTF-8 bytes; values are any
JSON-serialisable Python value. Every write of a call commits with it or not at all.
Needs the ``storage`` capability in plugin.toml::

    storage.put("type/annual", {"name": "Annual leave", "days": 25})
    for key, value in storage.scan(prefix="type/"):
        ...
"""

import json
from typing import Any, Iterator, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import storage as _raw

from .errors import from_host

#: Entries fetched per host call while scanning (the host caps a page at 1000).
PAGE = 500


def get(key: str) -> Optional[Any]:
    """The value stored at ``key``, or ``None`` when the key is absent."""
    try:
        raw = _raw.get(key)
    except Err as e:
        raise from_host(e) from None
    return None if raw is None else json.loads(raw)


def put(key: str, value: Any) -> None:
    """Store ``value`` (JSON-encoded) at ``key``, replacing any previous value."""
    data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    try:
        _raw.put(key, data)
    except Err as e:
        raise from_host(e) from None


def delete(key: str) -> bool:
    """Delete ``key``; whether it existed."""
    try:
        return _raw.delete(key)
    except Err as e:
        raise from_host(e) from None


def scan(
    start: Optional[str] = None,
    end: Optional[str] = None,
    *,
    prefix: Optional[str] = None,
    reverse: bool = False,
    limit: Optional[int] = None,
) -> Iterator[Tuple[str, Any]]:
    """Keys and values of ``[start, end)`` (or of every key under ``prefix``) in key order.

    Follows the host's continuations, so it reads the whole range unless ``limit``
    stops it earlier; ``reverse=True`` walks from the last key down.
    """
    if prefix is not None:
        start, end = prefix, prefix_end(prefix)
    key_range = _raw.KeyRange(start=start, end=end)
    after: Optional[str] = None
    left = limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        try:
            page = _raw.scan(key_range, reverse, size, after)
        except Err as e:
            raise from_host(e) from None
        for entry in page.entries:
            yield entry.key, json.loads(entry.value)
        if left is not None:
            left -= len(page.entries)
        if page.next is None:
            return
        after = page.next


def prefix_end(prefix: str) -> Optional[str]:
    """The first key after every key that starts with ``prefix`` (``None``: no bound).

    Keys are compared by their UTF-8 bytes. Bumping a last ASCII character is exact;
    otherwise the bound is ``prefix`` followed by the highest code point, which
    excludes only keys that continue with that very code point.
    """
    if not prefix:
        return None
    last = prefix[-1]
    if ord(last) < 0x7F:
        return prefix[:-1] + chr(ord(last) + 1)
    return prefix + "\U0010ffff"
