"""What every view of the extension shares: the caller, error text, query parameters, and the guards each of
its blueprints runs around a request (views/__init__.py registers them). The CSRF check of cookie sessions
is app-wide, in ckanext/mes_schedule/csrf.py."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Optional, TypeVar

from flask import Response, current_app, request
from werkzeug.datastructures import MultiDict

import ckan.plugins.toolkit as tk
from ckan.common import current_user

__all__ = [
    "user_name",
    "context",
    "error_text",
    "page_number",
    "as_of_param",
    "refuse_nul_in_address",
    "token_identity_only",
    "cache_by_identity",
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
    badge sets its own header (views/compliance.py, `_OwnCachingResponse`) and keeps it.
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
