"""What anonymous readers get of the record, rendered once and shared by every web node (Redis).

For an anonymous reader the compliance page, an organisation's tab, a badge, a chart or a download is the same
for everyone until the record changes: at a publication, an event, a dataset edit, a rule amendment, a change
of the schedule's settings or of the portal's runtime configuration, or at midnight in Almaty (statuses change
then without any write). `version()` names that state; an entry is stored under a key that holds it, so a
change makes every old entry unreachable at once, on every node, with nothing to invalidate (old entries
expire after `ckanext.mes_schedule.page_cache.ttl`).

This module stores and reads entries; views/cached.py decides which requests may use them. Redis being down is
never an error: the page is rendered as if there were no cache.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from typing import Any, Optional

import redis

import ckan.plugins.toolkit as tk
from ckan import __version__ as ckan_version
from ckan.lib.redis import connect_to_redis

from ckanext.mes_schedule import compliance, localization

__all__ = [
    "Entry", "enabled", "version", "get", "put", "get_value", "put_value", "key_for", "first_seen", "clear",
]

log = logging.getLogger(__name__)

# Bump when what an entry holds changes for the same record (templates, formats): old entries stop matching.
_FORMAT = "1"


@dataclasses.dataclass(frozen=True)
class Entry:
    """A stored answer: its body and the header fields that go with it (Content-Type, ETag, ...)."""

    body: bytes
    headers: dict[str, str]


def _prefix() -> str:
    # Several portals may share one Redis: CKAN's own keys are prefixed by the site id too.
    return f"{tk.config.get('ckan.site_id')}:mes_schedule:page:"


def ttl() -> int:
    return max(0, int(tk.config.get("ckanext.mes_schedule.page_cache.ttl")))


def max_bytes() -> int:
    return max(0, int(tk.config.get("ckanext.mes_schedule.page_cache.max_bytes")))


def max_total_bytes() -> int:
    return max(0, int(tk.config.get("ckanext.mes_schedule.page_cache.max_total_bytes")))


def enabled() -> bool:
    return ttl() > 0


# Where each node's configuration was read from: nodes with the same settings in files of their own must still
# share their entries.
_PER_NODE = frozenset({"__file__", "here", "CKAN_INI"})


def _settings() -> str:
    """The configuration the pages were rendered with (a restart with a new site title must not serve the old
    one). Values that are objects rather than settings (their repr names an address) are left out."""
    items = sorted((str(k), repr(v)) for k, v in tk.config.items() if k not in _PER_NODE)
    return hashlib.sha256(repr([item for item in items if " at 0x" not in item[1]]).encode()).hexdigest()


def version() -> str:
    """The state of everything an anonymous page of the record shows, and today's date in Almaty."""
    parts = (
        _FORMAT,
        ckan_version,
        _settings(),
        # datasets, organisations, runtime configuration (system_info) and the record, in one indexed read
        compliance.change_version(),
        localization.today(),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _connection() -> redis.Redis:
    return connect_to_redis()


def get(key: str) -> Optional[Entry]:
    """The entry stored under `key`, or None (also when Redis does not answer)."""
    try:
        raw = _connection().get(_prefix() + key)
    except (redis.RedisError, OSError) as error:
        log.warning("page cache: Redis unavailable (%s); rendering without it", error)
        return None
    if not isinstance(raw, bytes):  # nothing stored (CKAN's connection returns bytes)
        return None
    # A JSON head (never holds a raw NUL: JSON escapes it), a NUL, then the body.
    head, _, body = raw.partition(b"\0")
    try:
        headers = json.loads(head)
    except ValueError:
        return None
    return Entry(body, {str(k): str(v) for k, v in headers.items()})


def put(key: str, entry: Entry) -> bool:
    """Store `entry` unless it is larger than `max_bytes`, or the entries stored in this TTL window already
    reach `max_total_bytes`; whether it was stored.

    Keys follow what readers ask for (filters, pages, languages), so crawlers could otherwise fill Redis, which
    CKAN also uses for its jobs queue: an entry lives at most one TTL, so what is held stays under twice the
    budget whatever is asked."""
    if len(entry.body) > max_bytes():
        return False
    value = json.dumps(entry.headers, separators=(",", ":")).encode() + b"\0" + entry.body
    seconds = ttl()
    budget = f"{_prefix()}budget:{int(time.time()) // seconds}"
    try:
        connection = _connection()
        used = int(connection.incrby(budget, len(value)))
        connection.expire(budget, 2 * seconds)
        if used > max_total_bytes():
            return False
        connection.set(_prefix() + key, value, ex=seconds)
    except (redis.RedisError, OSError) as error:
        log.warning("page cache: Redis unavailable (%s); not stored", error)
        return False
    return True


def key_for(*parts: Any) -> str:
    """A key naming `parts` (e.g. an action's name and its validated input) at the record's current version."""
    return hashlib.sha256(repr((*parts, version())).encode()).hexdigest()


def get_value(key: str) -> Optional[Any]:
    """A JSON value stored with `put_value` (an action's result), or None."""
    entry = get("value:" + key)
    return None if entry is None else json.loads(entry.body)


def put_value(key: str, value: Any) -> None:
    put("value:" + key, Entry(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), {}))


def first_seen(name: str, now: dt.datetime) -> Optional[dt.datetime]:
    """The moment the first web node noted `name` (e.g. a state of the record), `now` if this is the first;
    None when Redis does not answer. Every node then gives the same Last-Modified for the same data."""
    key = _prefix() + "seen:" + hashlib.sha256(name.encode()).hexdigest()
    try:
        connection = _connection()
        connection.set(key, now.isoformat(), nx=True, ex=max(ttl(), 86400))
        stored = connection.get(key)
    except (redis.RedisError, OSError) as error:
        log.warning("page cache: Redis unavailable (%s)", error)
        return None
    try:
        return dt.datetime.fromisoformat(stored.decode()) if isinstance(stored, bytes) else None
    except ValueError:
        return None


def clear() -> int:
    """Drop every entry of this portal (e.g. after a deployment that changed templates); how many."""
    connection = _connection()
    removed = 0
    batch: list[bytes] = []
    for name in connection.scan_iter(match=_prefix() + "*", count=500):
        batch.append(name)
        if len(batch) >= 500:
            removed += int(connection.delete(*batch))
            batch = []
    if batch:
        removed += int(connection.delete(*batch))
    return removed
