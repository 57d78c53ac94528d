"""Publisher pages: calendar feeds of the due dates, and "My deadlines" on the dashboard.

Routes (blueprint ``mes_schedule_publisher``):

- ``/compliance/calendar.ics``: every scheduled dataset of the portal;
- ``/organization/<id>/calendar.ics``: one organisation's (id or name);
- ``/dataset/<id>/calendar.ics``: one dataset's (id or name);
- ``/dashboard/deadlines``: the logged-in user's editable scheduled datasets, soonest deadline first.

Feeds list private datasets only to a caller who sends an API token (``Authorization`` header, as for the
API) of a user who may see them. A browser session (cookie) is not enough: a feed URL is pasted into calendar
programs and shared, so what it shows must not depend on who happened to open it. ``?lang=kk|ru|en`` chooses
the language of the titles; the default is the page's language (``/ru/compliance/calendar.ics``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

import ckan.plugins.toolkit as tk
from ckan.common import current_user

from ckanext.mes_schedule import calendar_feed, compliance, localization
from ckanext.mes_schedule.helpers.publisher import deadline_rows
from ckanext.mes_schedule.views.common import token_identity_only

mes_schedule_publisher = Blueprint("mes_schedule_publisher", __name__)

__all__ = ["mes_schedule_publisher"]

_ANONYMOUS = compliance.Visibility(False, frozenset(), frozenset())


def _token_caller() -> tuple[str, compliance.Visibility]:
    """The user of the request's API token (name, visibility); anonymous without a token, whatever the cookie."""
    from ckan.lib import api_token

    header = tk.config.get("apitoken_header_name") or "Authorization"
    token = (request.headers.get(header) or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        return "", _ANONYMOUS
    user = api_token.get_user_from_token(token, update_access_time=False)
    if user is None or user.state != "active":
        tk.abort(403, tk._("The API token is not valid."))
    return user.name, compliance.visibility_for(user.name)


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, status=200, content_type=calendar_feed.CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _localized_title(data: dict[str, Any], lang: str) -> str:
    return (data.get(f"title_{lang}") if lang != "kk" else None) or data.get("title") or data.get("name") or ""


# The answer depends on the token only: private with one, public without (views/common.py).
@token_identity_only
def portal_calendar() -> Response:
    _, visibility = _token_caller()
    lang = localization.lang_param(request.args)
    with localization.forced_locale(lang):
        site = tk.config.get("ckan.site_title") or "CKAN"
        name = tk._("{site}: Order No. 120 deadlines").format(site=site)
        body = calendar_feed.feed(visibility, name, lang)
    return _ics(body, "deadlines.ics")


@token_identity_only
def organization_calendar(id: str) -> Response:
    user_name, visibility = _token_caller()
    lang = localization.lang_param(request.args)
    try:
        org = tk.get_action("organization_show")(
            {"user": user_name}, {"id": id, "include_datasets": False, "include_users": False}
        )
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return tk.abort(404, tk._("Organization not found"))
    if not org.get("is_organization") or org.get("state") != "active":
        return tk.abort(404, tk._("Organization not found"))
    with localization.forced_locale(lang):
        name = tk._("{organization}: deadlines").format(organization=_localized_title(org, lang))
        body = calendar_feed.feed(visibility, name, lang, organization_ids=[org["id"]])
    return _ics(body, f"{org['name']}-deadlines.ics")


@token_identity_only
def dataset_calendar(id: str) -> Response:
    user_name, visibility = _token_caller()
    lang = localization.lang_param(request.args)
    try:
        # Private datasets answer 404 like unknown ones, so their names do not leak.
        pkg = tk.get_action("package_show")({"user": user_name}, {"id": id})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return tk.abort(404, tk._("Dataset not found"))
    if pkg.get("state") != "active":
        return tk.abort(404, tk._("Dataset not found"))
    with localization.forced_locale(lang):
        name = tk._("{dataset}: deadlines").format(dataset=_localized_title(pkg, lang))
        body = calendar_feed.feed(visibility, name, lang, package_ids=[pkg["id"]])
    return _ics(body, f"{pkg['name']}-deadlines.ics")


def dashboard_deadlines() -> Any:
    if current_user.is_anonymous:
        # CKAN's dashboard convention: a message and the login page.
        tk.h.flash_error(tk._("Not authorized to see this page"))
        return tk.h.redirect_to("user.login")
    try:
        user_dict = tk.get_action("user_show")({"user": current_user.name}, {"id": current_user.id})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return tk.abort(403, tk._("Not authorized to see this page"))
    lang = localization.ui_lang()
    rows = deadline_rows(current_user.name, lang)
    return tk.render(
        "mes_schedule/publisher/dashboard_deadlines.html",
        {
            "user_dict": user_dict,
            "rows": rows,
            "today": localization.today(),
            "lang": lang,
        },
    )

# -------------------------------------------------------------------------------------------------- routes

mes_schedule_publisher.add_url_rule("/compliance/calendar.ics", view_func=portal_calendar, endpoint="calendar")
mes_schedule_publisher.add_url_rule(
    "/organization/<id>/calendar.ics", view_func=organization_calendar, endpoint="organization_calendar"
)
mes_schedule_publisher.add_url_rule(
    "/dataset/<id>/calendar.ics", view_func=dataset_calendar, endpoint="dataset_calendar"
)
mes_schedule_publisher.add_url_rule(
    "/dashboard/deadlines", view_func=dashboard_deadlines, endpoint="dashboard_deadlines"
)
