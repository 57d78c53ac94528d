"""Anonymous views of the record served from the shared cache (page_cache): `shared_for_anonymous`.

Only a request that any anonymous reader could have made the same way uses the cache: a GET or HEAD, without a
login or an API token, without a flash message waiting in its session, and with no query parameter but the
known filters (a text search `q` or a past date `as_of` is rendered each time: their values are endless, and
storing each would let a crawler fill Redis; page_cache.put keeps a byte budget besides). Everything else is
rendered as before. The key holds the record's version (page_cache.version), the address, its filters, the host
and the UI language.

A stored page carries the CSRF token of the session it was rendered for (CKAN's base template and its language
form hold one): it is stored with a placeholder and each reader gets a token of their own session. An answer
has an ETag (the view's own, or one naming the key), so browsers and nginx revalidate with a 304, and the
header `X-Mes-Schedule-Cache: hit|miss` says where it came from.
"""
from __future__ import annotations

import functools
import hashlib
from typing import Any, Callable, Optional

from flask import Response, current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from werkzeug.http import http_date, parse_date

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import localization, page_cache
from ckanext.mes_schedule.views.common import OwnCachingResponse, conditional

__all__ = ["shared_for_anonymous", "CACHE_HEADER"]

CACHE_HEADER = "X-Mes-Schedule-Cache"
# Query parameters that select what the record's pages show; any other one sends the request past the cache.
_KEYED_PARAMS = frozenset({"organization", "status", "frequency", "sort", "page", "lang", "measure", "by"})
# What an entry keeps of the view's answer (CKAN's own hook sets the caching fields of pages).
_KEPT = ("Content-Type", "Content-Disposition", "ETag", "Last-Modified", "Cache-Control")
_CSRF_PLACEHOLDER = b"\0mes-schedule-csrf\0"
# Kept with the fields: whether the view set its own Cache-Control (badges, charts); never sent.
_OWN = "mes-schedule-own-caching"


def _cacheable() -> bool:
    if request.method not in ("GET", "HEAD") or not page_cache.enabled():
        return False
    if not tk.current_user.is_anonymous:
        return False
    header = tk.config.get("apitoken_header_name") or "Authorization"
    if request.headers.get(header) or session.get("_flashes"):
        return False
    # A text search or a past date: endless values, rarely asked twice (and each entry would take memory).
    if request.args.get("q") or request.args.get("as_of"):
        return False
    return set(request.args.keys()) <= _KEYED_PARAMS


def _key() -> str:
    parts = (
        request.endpoint,
        sorted((request.view_args or {}).items()),
        sorted(request.args.items(multi=True)),
        request.host,
        request.script_root,
        tk.h.lang(),
        page_cache.version(),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _csrf_field() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token")


def _entry(response: Response, key: str) -> Optional[page_cache.Entry]:
    """What to store of a fresh answer (None when it must not be stored)."""
    if response.status_code != 200:
        return None
    body = response.get_data()
    token = g.get(_csrf_field())
    if token:
        body = body.replace(str(token).encode(), _CSRF_PLACEHOLDER)
    headers = {name: response.headers[name] for name in _KEPT if name in response.headers}
    # A page without validators of its own gets an ETag naming its key (weak: each reader's copy holds their own
    # CSRF token) and the moment it was rendered, the same on every node.
    headers.setdefault("ETag", f'W/"{key[:32]}"')
    headers.setdefault("Last-Modified", http_date(localization.utcnow()))
    headers[_OWN] = "1" if isinstance(response, OwnCachingResponse) else ""
    return page_cache.Entry(body, headers)


def _serve(entry: page_cache.Entry, state: str) -> Response:
    headers = dict(entry.headers)
    own = bool(headers.pop(_OWN, ""))
    cls: type[Response] = OwnCachingResponse if own else Response
    etag = headers.pop("ETag")
    last_modified = parse_date(headers.pop("Last-Modified", None))
    caching = {"Cache-Control": headers.pop("Cache-Control")} if own and "Cache-Control" in headers else {}
    caching[CACHE_HEADER] = state

    def build() -> Response:
        body = entry.body
        if _CSRF_PLACEHOLDER in body:
            body = body.replace(_CSRF_PLACEHOLDER, generate_csrf().encode())
        return cls(body, headers=headers)

    return conditional(build, etag, last_modified, caching, cls)


def shared_for_anonymous(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve `view`'s answers to anonymous readers from the shared cache, and store the ones it renders."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _cacheable():
            return view(*args, **kwargs)
        key = _key()
        entry = page_cache.get(key)
        if entry is not None:
            return _serve(entry, "hit")
        response = current_app.make_response(view(*args, **kwargs))
        entry = _entry(response, key)
        if entry is None or not page_cache.put(key, entry):
            return response
        response.close()
        return _serve(entry, "miss")

    return wrapper
