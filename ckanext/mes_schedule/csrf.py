"""CSRF protection for every request a browser's cookie authenticates, on every view of the portal.

CKAN exempts a request from the CSRF check when no session authenticates it (an API token header, or nobody)
by calling flask-wtf's ``csrf.exempt(view)`` (CKAN 2.12; 2.11 marks only the request). That adds the view to
a set held by a module-level object for the life of the process: after one such request (an API client's
POST, or any anonymous visit, even a GET) the view is exempt for everyone, and a cross-site form drives it
with a logged-in user's cookie. See docs/csrf-exempt-defect.md.

``install`` registers, on the Flask app, a hook that runs after CKAN's own and checks the CSRF token again for
any request a cookie authenticates (the session, or flask-login's remember-me cookie), whatever the set holds.
Requests that carry an API token, anonymous requests (the login form among them), safe methods, and views or
blueprints that were exempt on purpose (before the portal served any request) are left as CKAN leaves them.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from flask import Flask, current_app, g, request

from ckan.common import current_user

__all__ = ["install", "check_cookie_sessions"]

log = logging.getLogger(__name__)

# The extension's own blueprints: their forms all carry the token, so they are checked even where an operator
# exempts the extensions' blueprints (CKAN 2.11's `ckan.csrf_protection.ignore_extensions`).
_OWN_BLUEPRINTS = frozenset({"mes_schedule", "mes_schedule_publisher"})

# Views found exempt while serving a request, not before: CKAN's doing (the defect), never on purpose. Kept
# for the process, like flask-wtf's set, so an app built later in the same process (tests build many) does
# not take them for deliberate exemptions.
_exempted_while_serving: set[str] = set()

_DELIBERATE = "mes_schedule_csrf_deliberately_exempt_views"


def install(app: Any) -> Any:
    """Register the check on the Flask app (from `IMiddleware.make_middleware`); returns the app unchanged."""
    flask_app: Optional[Flask] = app if isinstance(app, Flask) else getattr(app, "_wsgi_app", None)
    if flask_app is None:
        log.error("mes_schedule: no Flask app to register the CSRF check for cookie sessions on")
        return app
    csrf = flask_app.extensions.get("csrf")
    # What is exempt now, as the app is built, was exempted on purpose (at import or by the blueprints).
    deliberate = set(getattr(csrf, "_exempt_views", ())) - _exempted_while_serving
    flask_app.extensions[_DELIBERATE] = frozenset(deliberate)
    flask_app.before_request(check_cookie_sessions)
    return app


def _view_location() -> Optional[str]:
    """The view's name as flask-wtf keeps it in its set of exempt views."""
    view = current_app.view_functions.get(request.endpoint or "")
    return f"{view.__module__}.{view.__name__}" if view is not None else None


def _cookie_session() -> bool:
    """The request is authenticated by a cookie: the session, or the remember-me cookie.

    CKAN sets `g.login_via_auth_header` when the API token header authenticates the request (it wins over a
    cookie) and when nothing does (anonymous).
    """
    return bool(current_user.is_authenticated) and not g.get("login_via_auth_header")


def _exempt_on_purpose(csrf: Any, location: Optional[str]) -> bool:
    if g.get("_csrf_exempt_view"):
        return True  # CKAN 2.11's per-request exemption, set for this request only
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if blueprint is not None and blueprint in csrf._exempt_blueprints:
        return request.blueprint not in _OWN_BLUEPRINTS
    return location is not None and location in current_app.extensions.get(_DELIBERATE, ())


def check_cookie_sessions() -> None:
    """Refuse (400) a state-changing request authenticated by a cookie without a valid CSRF token.

    Runs after CKAN's hooks: a request CKAN already checked (`g.csrf_valid`) is not checked twice.
    """
    csrf = current_app.extensions.get("csrf")
    flask_config = current_app.config
    if csrf is None or not flask_config.get("WTF_CSRF_ENABLED", True):
        return
    location = _view_location()
    if location is not None and location in csrf._exempt_views:
        if location not in current_app.extensions.get(_DELIBERATE, ()):
            _exempted_while_serving.add(location)
    if request.method not in flask_config.get("WTF_CSRF_METHODS", ()) or not flask_config.get(
        "WTF_CSRF_CHECK_DEFAULT", True
    ):
        return
    if g.get("csrf_valid") or not _cookie_session() or _exempt_on_purpose(csrf, location):
        return
    csrf.protect()  # raises CSRFError (400) without a valid token of this session
