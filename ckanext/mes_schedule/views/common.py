"""What every view of the extension shares: the caller, error text, query parameters, and the guards each of
its blueprints runs around a request (views/__init__.py registers them). The CSRF check of cookie sessions
is app-wide, in ckanext/mes_schedule/csrf.py."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping, Optional, TypeVar, Union

from flask import Response, current_app, request
from werkzeug.datastructures import MultiDict, ResponseCacheControl
from werkzeug.http import http_date, unquote_etag

import ckan.plugins.toolkit as tk
from ckan.common import current_user

__all__ = [
    "OwnCachingResponse",
    "user_name",
    "context",
    "error_text",
    "page_number",
    "as_of_param",
    "refuse_nul_in_address",
    "token_identity_only",
    "cache_by_identity",
    "not_modified",
    "conditional",
]


def user_name() -> str:
    user = tk.current_user
    return "" if user.is_anonymous else user.name


def context() -> dict[str, Any]:
    return {"user": user_name()}


def error_text(error: tk.ValidationError) -> str:
    """One line naming each field and what is wrong with it."""
    parts = []
    for field, messages in (error.error_dict or {}).items():
        if isinstance(messages, (list, tuple)):
            text = "; ".join(str(m) for m in messages)
        else:
            text = str(messages)
        parts.append(f"{field}: {text}")
    return " ".join(parts) or str(error)


def page_number(args: MultiDict) -> int:
    raw = (args.get("page") or "1").strip()
    # ASCII digits only: str.isdigit() also accepts "²" and the like, which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        tk.abort(400, tk._("page: must be a whole number from 1 up, not '{value}'").format(value=raw))
    return int(raw)


def as_of_param(args: MultiDict) -> Optional[dt.date]:
    raw = (args.get("as_of") or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return tk.abort(400, tk._("as_of: '{value}' is not a date in the form YYYY-MM-DD").format(value=raw))


def refuse_nul_in_address() -> None:
    """An address whose dataset, organisation or event id holds a NUL character names nothing: a 404. Without
    this, CKAN's own lookups (package_show, organization_show) pass it to PostgreSQL, which fails with a
    server error."""
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            if key == "event_id":
                tk.abort(404, tk._("Event not found"))
            if "organization" in (request.endpoint or ""):
                tk.abort(404, tk._("Organization not found"))
            tk.abort(404, tk._("Dataset not found"))


_View = TypeVar("_View", bound=Callable[..., Any])


def token_identity_only(view: _View) -> _View:
    """Mark a view whose answer depends on the API token header only, never on the cookie (calendar feeds:
    a feed URL is shared, so a browser session must not change what it lists)."""
    view.mes_schedule_token_identity_only = True  # type: ignore[attr-defined]
    return view


def cache_by_identity(response: Response) -> Response:
    """Keep what one user may see out of shared caches, and what anyone may see cacheable.

    Every answer of the extension depends on who asks (private datasets and rows, the forms an admin sees),
    so every response varies on the credentials: the cookie and the API token header, or the header alone for
    views marked `token_identity_only`. An answer to a caller who is identified by them is `private`.

    Registered on the blueprints, this runs before CKAN's own after-request hook, which rewrites Cache-Control
    from `ckan.cache_expires` ("public") unless the request's environ holds `__no_cache__` ("private"); the
    badge sets its own header (`OwnCachingResponse` below) and keeps it.
    """
    header = tk.config.get("apitoken_header_name") or "Authorization"
    view = current_app.view_functions.get(request.endpoint or "")
    token_only = bool(getattr(view, "mes_schedule_token_identity_only", False))
    response.vary.add(header)
    if token_only:
        identified = bool((request.headers.get(header) or "").strip())
    else:
        response.vary.add("Cookie")
        identified = bool(current_user.is_authenticated)
    if identified:
        request.environ["__no_cache__"] = True
    return response


# ------------------------------------------------------------------------------------------ conditional requests

# What a 304 repeats of the 200 it stands for (RFC 9110 section 15.4.5): the validators and the caching fields.
_KEPT_BY_304 = ("ETag", "Last-Modified", "Cache-Control", "Vary", "Expires", "Content-Location")


def not_modified(etag: Optional[str], last_modified: Optional[dt.datetime]) -> bool:
    """Whether the request's preconditions say the client's copy of a GET/HEAD answer is current (RFC 9110
    section 13.2.2): `If-None-Match` when present, by weak comparison (`W/"x"` matches `"x"`; `*` matches any
    representation); otherwise `If-Modified-Since`, when the answer has a Last-Modified (an unparsable date or a
    list of dates is ignored, as the RFC says)."""
    if request.method not in ("GET", "HEAD"):
        return False
    if "If-None-Match" in request.headers:
        wanted = request.if_none_match
        if wanted.star_tag:
            return True
        if not etag:
            return False
        tag, _weak = unquote_etag(etag)
        return bool(tag) and wanted.contains_weak(tag)
    since = request.if_modified_since
    if since is None or last_modified is None:
        return False
    # HTTP dates have whole seconds: compare at that precision.
    return _utc(last_modified).replace(microsecond=0) <= _utc(since)


def _utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (naive ones are UTC, as CKAN stores them)."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def conditional(
    response_or_build: Union[Response, Callable[[], Response]],
    etag: Optional[str],
    last_modified: Optional[dt.datetime] = None,
    headers: Optional[Mapping[str, str]] = None,
    response_class: Optional[type[Response]] = None,
) -> Response:
    """A GET/HEAD answer with its validators, or a 304 Not Modified when the client's copy is current.

    `response_or_build` is the full response, or a function that builds it: then nothing is built (no query,
    no stream started) when the answer is a 304. `etag` is a quoted entity tag (`"..."`, or `W/"..."`),
    `last_modified` a datetime (naive: UTC; never later than now, RFC 9110 section 8.8.2.1), `headers` more
    fields for both answers (e.g. the badge's Cache-Control). The 304 is a `response_class` (default: the
    response's class, else flask's Response) and carries only the fields a 304 repeats.
    Shared by the badge, the downloads and the calendar feeds; `cache_by_identity` still adds Vary and marks
    identified callers' answers private afterwards.
    """
    validators: dict[str, str] = dict(headers or {})
    moment = None if last_modified is None else min(_utc(last_modified), dt.datetime.now(dt.timezone.utc))
    if etag:
        validators["ETag"] = etag
    if moment is not None:
        validators["Last-Modified"] = http_date(moment)
    if not_modified(etag, moment):
        if isinstance(response_or_build, Response):
            cls = response_class or type(response_or_build)
            kept = {k: v for k, v in response_or_build.headers.items() if k in _KEPT_BY_304}
            response_or_build.close()
            return cls(status=304, headers={**kept, **validators})
        return (response_class or Response)(status=304, headers=validators)
    response = response_or_build if isinstance(response_or_build, Response) else response_or_build()
    for key, value in validators.items():
        response.headers[key] = value
    return response


class OwnCachingResponse(Response):
    """A response whose Cache-Control header the view sets itself (badges, charts, period strips).

    CKAN's after-request hook rewrites every response's caching from `ckan.cache_expires` (by default
    "public, max-age=0, must-revalidate", or "private" for logged-in users). An image embedded on other sites
    decides for itself: revalidated at every use (public, no-cache), or private and never stored. The hook's
    changes go to a detached copy of the directives, so the header set by the view stands.
    """

    @property
    def cache_control(self) -> ResponseCacheControl:  # type: ignore[override]
        return ResponseCacheControl()
