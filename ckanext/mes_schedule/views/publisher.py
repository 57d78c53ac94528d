"""Publisher pages: calendar feeds of the due dates, and "My deadlines" on the dashboard.

Routes (blueprint ``mes_schedule_publisher``):

- ``/compliance/calendar.ics``: every scheduled dataset of the portal;
- ``/organization/<id>/calendar.ics``: one organisation's (id or name);
- ``/dataset/<id>/calendar.ics``: one dataset's (id or name);
- ``/compliance/calendar/<token>.ics``: a user's personal address: what that user may see, private datasets
  included, without any header (404 once revoked, or when the user is no longer active);
- ``/dashboard/deadlines``: the logged-in user's editable scheduled datasets, soonest deadline first (overdue ones
  at the top), filtered by ``?status=`` (repeatable) and ``?organization=<name>``, each with a link "Upload data
  for <period>" to the dataset's new-resource form, and their personal calendar address (made and revoked by the
  two POST forms of the page);
- ``/dashboard/after-login``: where CKAN sends a user after login when ``ckan.auth.route_after_login`` names
  ``mes_schedule_publisher.after_login`` (the plugin sets it unless the operator chose another route): editors of
  scheduled datasets go on to "My deadlines", everyone else to CKAN's default, the dashboard's datasets;
- ``/dataset/<id>/declare-update`` (POST, from the dataset page's form): an editor declares that the data at one
  of the dataset's links were updated (action ``mes_schedule_declare_update``).

Feeds list private datasets only to a caller who sends an API token (``Authorization`` header, as for the
API) of a user who may see them, or through a personal address. A browser session (cookie) is not enough: a
feed URL is pasted into calendar programs and shared, so what it shows must not depend on who happened to open
it. ``?lang=kk|ru|en`` chooses the language of the titles, categories and calendar name; the default is the
page's language (``/ru/compliance/calendar.ics``). Every feed has an ETag and a Last-Modified and answers
conditional requests with 304 (views/common.py, ``conditional``).

Around CKAN's own resource forms (``<type>_resource.new`` / ``.edit``; app-wide request hooks registered on this
blueprint, so API calls are untouched): a new-resource form on a scheduled dataset that carries no file and no
link is refused with a message instead of creating an empty resource, and after a saved form a flash message
says what the history recorded ("Recorded: counted for quarter III of 2026, late by 49 days").
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional, cast
from urllib.parse import urlencode, urlparse

from flask import Blueprint, Response, g, make_response, request

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.common import current_user

from ckanext.mes_schedule import calendar_feed, compliance, localization, schedule, settings
from ckanext.mes_schedule.helpers import publisher as publisher_helpers
from ckanext.mes_schedule.helpers.publisher import deadline_rows
from ckanext.mes_schedule.model import FeedToken
from ckanext.mes_schedule.views.common import conditional, context, token_identity_only

mes_schedule_publisher = Blueprint("mes_schedule_publisher", __name__)

__all__ = ["mes_schedule_publisher", "AFTER_LOGIN_ENDPOINT", "route_after_login_default"]

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


def _ics(feed: calendar_feed.Feed, filename: str, headers: Optional[dict[str, str]] = None) -> Response:
    response = Response(feed.body, status=200, content_type=calendar_feed.CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return conditional(response, feed.etag, feed.last_modified, headers=headers)


def _localized_title(data: dict[str, Any], lang: str) -> str:
    return (data.get(f"title_{lang}") if lang != "kk" else None) or data.get("title") or data.get("name") or ""


def _site_name(lang: str) -> str:
    """The portal's name in a calendar's name: its title in the portal's default language, or in the feed's
    language when the portal names itself in it (`ckanext.mes_schedule.site_title_ru/_en`); otherwise the portal
    is named by its host, so that the whole name reads in the feed's language."""
    if lang == localization.reduce_lang(tk.config.get("ckan.locale_default")):
        return tk.config.get("ckan.site_title") or "CKAN"
    if settings.site_title(lang):
        return settings.site_title(lang)  # the portal's own name in that language
    return urlparse(tk.config.get("ckan.site_url") or "").hostname or tk.config.get("ckan.site_title") or "CKAN"


# The answer depends on the token only: private with one, public without (views/common.py).
@token_identity_only
def portal_calendar() -> Response:
    _, visibility = _token_caller()
    lang = localization.lang_param(request.args)
    with localization.forced_locale(lang):
        name = tk._("{site}: Order No. 120 deadlines").format(site=_site_name(lang))
        feed = calendar_feed.feed(visibility, name, lang)
    return _ics(feed, "deadlines.ics")


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
        feed = calendar_feed.feed(visibility, name, lang, organization_ids=[org["id"]])
    return _ics(feed, f"{org['name']}-deadlines.ics")


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
        feed = calendar_feed.feed(visibility, name, lang, package_ids=[pkg["id"]])
    return _ics(feed, f"{pkg['name']}-deadlines.ics")


# The address is the credential (an Authorization header or a cookie changes nothing).
@token_identity_only
def personal_calendar(token: str) -> Response:
    user = calendar_feed.user_for_token(token)
    if user is None:
        # Unknown, revoked, or its user deleted or not active: the same answer, which tells nothing.
        return tk.abort(404, tk._("Calendar not found"))
    # What one user may see: never kept by a shared cache (CKAN then sends "private"), nor indexed.
    request.environ["__no_cache__"] = True
    lang = localization.lang_param(request.args)
    with localization.forced_locale(lang):
        name = tk._("{site}: my Order No. 120 deadlines").format(site=_site_name(lang))
        feed = calendar_feed.feed(compliance.visibility_for(user.name), name, lang)
    return _ics(feed, "my-deadlines.ics", {"X-Robots-Tag": "noindex, nofollow"})


def _made_on(token: Optional[FeedToken]) -> Optional[dt.date]:
    """The day (in Almaty) a personal address was made."""
    if token is None:
        return None
    return schedule.local_date(cast(dt.datetime, token.created_at).replace(tzinfo=dt.timezone.utc))


def _filters() -> dict[str, Any]:
    """The filters of "My deadlines" from the query: statuses (repeatable) and one organisation (its name)."""
    statuses = [s for s in request.args.getlist("status") if s]
    unknown = [s for s in statuses if s not in schedule.STATUSES]
    if unknown:
        tk.abort(400, tk._("Unknown status: {status} (expected one of: {allowed})").format(
            status=unknown[0], allowed=", ".join(schedule.STATUSES)))
    return {"status": statuses, "organization": (request.args.get("organization") or "").strip()}


def _dashboard(new_feed_url: Optional[str] = None) -> Any:
    if current_user.is_anonymous:
        # CKAN's dashboard convention: a message and the login page.
        tk.h.flash_error(tk._("Not authorized to see this page"))
        return tk.h.redirect_to("user.login")
    try:
        user_dict = tk.get_action("user_show")({"user": current_user.name}, {"id": current_user.id})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return tk.abort(403, tk._("Not authorized to see this page"))
    lang = localization.ui_lang()
    filters = _filters()
    every_row = deadline_rows(current_user.name, lang)
    options = publisher_helpers.deadline_filter_options(every_row, lang)
    organization_id = next(
        (o["id"] for o in options["organizations"] if o["value"] == filters["organization"]), None
    )
    rows = [
        d for d in every_row
        if (not filters["status"] or d.status in filters["status"])
        and (not filters["organization"] or (organization_id is not None and d.dataset.owner_org == organization_id))
    ]
    return tk.render(
        "mes_schedule/publisher/dashboard_deadlines.html",
        {
            "user_dict": user_dict,
            "rows": rows,
            "total": len(every_row),
            "filters": filters,
            "status_options": options["statuses"],
            "organization_options": options["organizations"],
            "today": localization.today(),
            "lang": lang,
            "feed_token_date": _made_on(calendar_feed.active_token(current_user.id)),
            "new_feed_url": new_feed_url,
        },
    )


def dashboard_deadlines() -> Any:
    return _dashboard()


# ------------------------------------------------------------------------------------------- after login

#: The endpoint the plugin makes CKAN's `ckan.auth.route_after_login` when the operator left it at CKAN's default.
AFTER_LOGIN_ENDPOINT = "mes_schedule_publisher.after_login"
_CKAN_AFTER_LOGIN = "dashboard.datasets"  # CKAN's declared default of ckan.auth.route_after_login


def route_after_login_default(config_: Any) -> None:
    """From IConfigurer.update_config: send users to `after_login` after login, unless the operator chose a
    route of their own (CKAN has filled in its default by then, so the default is what "not chosen" looks
    like)."""
    if config_.get("ckan.auth.route_after_login") in (None, "", _CKAN_AFTER_LOGIN):
        config_["ckan.auth.route_after_login"] = AFTER_LOGIN_ENDPOINT


def after_login() -> Response:
    """Editors of scheduled datasets start on "My deadlines"; everyone else where CKAN sends them. A local
    `next` or `came_from` address wins, as on CKAN's login form."""
    if current_user.is_anonymous:
        return tk.redirect_to("user.login")
    target = request.args.get("next") or request.args.get("came_from")
    if target and tk.h.url_is_local(target):
        return tk.redirect_to(target)
    if publisher_helpers.edits_scheduled_datasets(current_user.name):
        return tk.redirect_to("mes_schedule_publisher.dashboard_deadlines")
    return tk.redirect_to(_CKAN_AFTER_LOGIN)


def _feed_token_action(action: str) -> dict[str, Any]:
    if current_user.is_anonymous:
        return tk.abort(403, tk._("Not authorized to see this page"))
    try:
        return tk.get_action(action)(context(), {})
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Only the user themself or a sysadmin may manage a personal calendar address"))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("User not found"))


def feed_token_create() -> Response:
    """Make the user's personal address (any earlier one stops working) and show it, this once."""
    result = _feed_token_action("mes_schedule_feed_token_create")
    # In the page's language, so that the calendar program keeps reading the user's language.
    url = f"{result['url']}?{urlencode({'lang': localization.ui_lang()})}"
    response = make_response(_dashboard(new_feed_url=url))
    # The page holds the secret: nothing may keep it (no cache, no back-button copy).
    request.environ["__no_cache__"] = True
    response.cache_control.no_store = True
    return response


def feed_token_revoke() -> Response:
    _feed_token_action("mes_schedule_feed_token_revoke")
    tk.h.flash_success(tk._("Your personal calendar address is revoked: calendars subscribed to it no longer update."))
    return tk.redirect_to("mes_schedule_publisher.dashboard_deadlines")


def declare_update(id: str) -> Response:
    """The dataset page's declaration form: record it, say what was recorded, back to the dataset page."""
    pkg = model.Package.get(id)
    resource_id = request.form.get("resource_id", "")
    resource = model.Session.get(model.Resource, resource_id) if resource_id else None
    if pkg is None or pkg.state != "active" or (resource is not None and resource.package_id != pkg.id):
        return tk.abort(404, tk._("Dataset not found"))
    data = {"id": resource_id, "note": request.form.get("note", ""), "covers": request.form.get("covers", "")}
    try:
        row = tk.get_action("mes_schedule_declare_update")(context(), data)
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Unauthorized to update dataset"))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Resource not found"))
    except tk.ValidationError as e:
        messages = [str(m) for field in e.error_dict.values() for m in (field if isinstance(field, list) else [field])]
        tk.h.flash_error(" ".join(messages) or tk._("The update could not be recorded."))
        return tk.redirect_to("dataset.read", id=pkg.name)
    when = localization.long_date(schedule.local_date(dt.datetime.fromisoformat(row["published_at"][:-1])),
                                  localization.ui_lang())
    if row.get("covers"):
        message = tk._("Recorded: the data at this link were declared updated on {date}, for {period}.")
    else:
        message = tk._("Recorded: the data at this link were declared updated on {date}.")
    tk.h.flash_success(message.format(date=when, period=row.get("covers")))
    return tk.redirect_to("dataset.read", id=pkg.name)


# ------------------------------------------------------------------------------------------- resource forms

# Where the request hooks keep what the form's POST needs after CKAN's view ran.
_MARK = "mes_schedule_publication_mark"
# The buttons that finish a draft dataset from its first resource's form: CKAN finishes it without a resource
# when that form is empty.
_FINISH = ("go-metadata", "go-metadata-preview", "go-metadata-publish")
# Form fields that do not make a resource: the data's kind, and what the form fills in itself.
_NOT_TYPED = ("resource_type", "url_type", "upload", publisher_helpers.COVERS_ARG)


def _resource_form() -> Optional[str]:
    """"new" or "edit" for a POST of one of CKAN's resource forms (any dataset type), else None."""
    if request.method != "POST" or not request.endpoint:
        return None
    blueprint, _, view = request.endpoint.rpartition(".")
    return view if blueprint.endswith("_resource") and view in ("new", "edit") else None


def _form_data() -> dict[str, Any]:
    """The form as CKAN's resource view reads it: files included; the CSRF token, `save` and `id` left out."""
    from ckan.lib.navl import dictization_functions as dict_fns
    from ckan.logic import clean_dict, parse_params, tuplize_dict

    data = clean_dict(dict_fns.unflatten(tuplize_dict(parse_params(request.form))))
    data.update(clean_dict(dict_fns.unflatten(tuplize_dict(parse_params(request.files)))))
    data.pop("save", None)
    data.pop("id", None)
    return data


def _carries_data(data: dict[str, Any]) -> bool:
    """A file chosen (an empty file field has no name) or a link given."""
    return bool(str(data.get("url") or "").strip()) or bool(getattr(data.get("upload"), "filename", None))


def _refuse_empty(package: model.Package, data: dict[str, Any]) -> Optional[Any]:
    """The answer to a new-resource form on a scheduled dataset with neither a file nor a link (None: let
    CKAN's view answer). CKAN would create a resource without data ("Unnamed resource"), which publishes
    nothing and reads as if something was published."""
    save = request.form.get("save")
    view_args = request.view_args or {}
    package_type = view_args.get("package_type") or package.type
    if save == "go-dataset":  # "Previous" on a draft's resource step: back to its fields, nothing to add
        return tk.redirect_to(f"{package_type}.edit", id=package.name)
    typed = [key for key, value in data.items() if value and key not in _NOT_TYPED]
    if package.state.startswith("draft") and save in _FINISH and not typed:
        return None  # CKAN finishes the draft without a resource: its own case of an empty form
    from ckan.views.resource import CreateView

    message = tk._("Choose a file to upload or give a link to the data: a resource without data publishes nothing.")
    data.pop("upload", None)
    return CreateView().get(package_type, view_args.get("id", package.name), data, {"url": [message]},
                            {tk._("File"): message})


def before_resource_form() -> Optional[Any]:
    """Before CKAN's resource form view: refuse an empty new resource of a scheduled dataset; note where the
    item's publication chain stands, so that `after_resource_form` can say what the save recorded."""
    form = _resource_form()
    if form is None or current_user.is_anonymous:
        return None
    package = model.Package.get((request.view_args or {}).get("id") or "")
    mark = publisher_helpers.publication_mark(package.id) if package is not None else None
    if package is None or mark is None:
        return None  # unknown (CKAN answers 404) or outside the order
    carries_data = True
    if form == "new":
        data = _form_data()
        carries_data = _carries_data(data)
        refused = None if carries_data else _refuse_empty(package, data)
        if refused is not None:
            return refused
    setattr(g, _MARK, (package.id, mark, form == "new" and carries_data))
    return None


def _recorded_message(recorded: publisher_helpers.Recorded) -> str:
    lang = localization.ui_lang()
    if recorded.period is None:
        return tk._("Recorded: a publication on {date}.").format(date=localization.long_date(recorded.day, lang))
    period = localization.period_in_words(recorded.period, lang)
    if recorded.first_published is not None:
        return tk._("Recorded: an update of {period}, first published on {date}.").format(
            period=period, date=localization.long_date(recorded.first_published, lang))
    if recorded.late_by == 0:
        return tk._("Recorded: counted for {period}, on time.").format(period=period)
    return tk.ungettext(
        "Recorded: counted for {period}, late by {n} day.", "Recorded: counted for {period}, late by {n} days.",
        recorded.late_by,
    ).format(period=period, n=recorded.late_by)


def after_resource_form(response: Response) -> Response:
    """After a resource form was saved (CKAN redirects): a flash message with what the history recorded, in
    the words of the dataset page's status. A new resource whose data were published before records nothing,
    and says so."""
    noted = getattr(g, _MARK, None)
    if noted is None or response.status_code not in (301, 302, 303):
        return response
    delattr(g, _MARK)
    package_id, mark, created_with_data = noted
    recorded = publisher_helpers.recorded_since(package_id, mark, current_user.id)
    if recorded is not None:
        tk.h.flash_success(_recorded_message(recorded))
    elif created_with_data:
        tk.h.flash_notice(tk._("Saved. Nothing new was recorded for the schedule: these data were published before."))
    return response


# -------------------------------------------------------------------------------------------------- routes

mes_schedule_publisher.add_url_rule("/compliance/calendar.ics", view_func=portal_calendar, endpoint="calendar")
mes_schedule_publisher.add_url_rule(
    "/organization/<id>/calendar.ics", view_func=organization_calendar, endpoint="organization_calendar"
)
mes_schedule_publisher.add_url_rule(
    "/dataset/<id>/calendar.ics", view_func=dataset_calendar, endpoint="dataset_calendar"
)
mes_schedule_publisher.add_url_rule(
    "/compliance/calendar/<token>.ics", view_func=personal_calendar, endpoint="personal_calendar"
)
mes_schedule_publisher.add_url_rule(
    "/dashboard/deadlines", view_func=dashboard_deadlines, endpoint="dashboard_deadlines"
)
mes_schedule_publisher.add_url_rule("/dashboard/after-login", view_func=after_login, endpoint="after_login")
mes_schedule_publisher.add_url_rule(
    "/dashboard/deadlines/calendar-address", view_func=feed_token_create, endpoint="feed_token_create",
    methods=["POST"],
)
mes_schedule_publisher.add_url_rule(
    "/dashboard/deadlines/calendar-address/revoke", view_func=feed_token_revoke, endpoint="feed_token_revoke",
    methods=["POST"],
)
mes_schedule_publisher.add_url_rule(
    "/dataset/<id>/declare-update", view_func=declare_update, endpoint="declare_update", methods=["POST"]
)

# CKAN's resource forms (not a route of this blueprint: hooks on every request of the app).
mes_schedule_publisher.before_app_request(before_resource_form)
mes_schedule_publisher.after_app_request(after_resource_form)
