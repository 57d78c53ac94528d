"""Compliance pages: the portal's table, each organisation's tab, each dataset's history, downloads, badges.

Views stay thin: they read query parameters, call the extension's actions as the current user (the actions
decide what the user may see), and map NotAuthorized / ObjectNotFound / ValidationError to 403 / 404 / 400.
The HTML table and the downloads are built from the same action and the same cells (exports.cells); a
download holds every row that matches the page's filters, whatever the page, streamed page by page of the
action (so the same visibility rules hold, by construction), with the dataset's name, address and
organisation besides. `downloads.export_chunks` is also what `ckan mes-schedule compliance` writes, so the command's
output and a download are the same bytes. Downloads and badges carry an ETag and a Last-Modified and answer
conditional requests with 304 (views/common.py `conditional`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from typing import Any, Iterator, Optional, Union

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.lib.dictization import model_dictize
from ckan.lib.pagination import Page

from ckanext.mes_schedule import (
    badge,
    compliance as compliance_record,
    downloads,
    exports,
    localization,
    page_cache,
    schedule,
    settings,
    vocab,
)
from ckanext.mes_schedule.helpers import mes_schedule_localized
from ckanext.mes_schedule.logic.validators_api import MAX_OFFSET
from ckanext.mes_schedule.views.cached import shared_for_anonymous
from ckanext.mes_schedule.views.common import (
    OwnCachingResponse,
    as_of_param,
    conditional,
    context,
    error_text,
    page_number,
    user_name,
)

__all__ = ["mes_schedule"]

mes_schedule = Blueprint("mes_schedule", __name__)

# Filters a compliance table understands (besides the organisation, which the org tab takes from its URL).
_FILTERS = ("status", "frequency", "q", "as_of", "sort")
# The download formats, in a route converter: /compliance.csv, /compliance.json, ...
_FORMATS = "<any({}):fmt>".format(", ".join(exports.FORMATS))


# ------------------------------------------------------------------------------------------ helpers


# Query parameters a link keeps; anything else in the address is dropped (and cannot collide with the
# route's own arguments, or url_for's like `qualified` or `locale`).
_KEPT_PARAMS = ("organization", *_FILTERS, "page")


def _query(args: MultiDict) -> dict[str, Any]:
    """The query parameters worth keeping in a link (empty form fields dropped)."""
    out: dict[str, Any] = {}
    for key in _KEPT_PARAMS:
        values = [v for v in args.getlist(key) if v != ""]
        if values:
            out[key] = values if len(values) > 1 else values[0]
    return out


def _url(endpoint: str, args: MultiDict, route: dict[str, Any], **changes: Any) -> str:
    """The current view's address with some query parameters changed (None removes one)."""
    params = _query(args)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    return tk.h.url_for(endpoint, **route, **params)


# ------------------------------------------------------------------------------------------ the table


@dataclasses.dataclass(frozen=True)
class _Column:
    key: str
    title: str
    sort: Optional[str]  # the action's sort key, or None when the column cannot be sorted


# The action's sort key of each of the table's columns (None: the column cannot be sorted).
_SORTS = {"item": "item", "title": "title", "next_due": "next_due", "last_published": "last_published",
          "on_time_rate": "on_time_rate", "status": "status"}


def _columns() -> list[_Column]:
    # Titles are translated per request; the downloads' header row starts with the same titles.
    titles = exports.headers(tk._)[: len(exports.TABLE_COLUMNS)]
    return [_Column(key, title, _SORTS.get(key)) for key, title in zip(exports.TABLE_COLUMNS, titles, strict=True)]


def _display_row(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """What a row of the table shows, cell by cell (`cells`, the downloads' cells of the table's columns),
    and what the HTML needs besides (link, status code, private flag)."""
    shown = exports.cells(row, lang)
    return {
        "cells": {key: shown[key] for key in exports.TABLE_COLUMNS},
        "name": row.get("name"),
        "status": row.get("status"),
        "private": bool(row.get("private")),
        "organization": row.get("organization") or "",
        "organization_title": row.get("organization_title") or "",
    }


def _list_data(args: MultiDict, lang: str, page: int, organization: Optional[str]) -> dict[str, Any]:
    limit = settings.page_size()
    # A page far beyond the last row is empty, as any page after the last: the offset stays within what the
    # action accepts.
    data: dict[str, Any] = {"limit": limit, "offset": min((page - 1) * limit, MAX_OFFSET), "lang": lang}
    for key in _FILTERS:
        values = [v.strip() for v in args.getlist(key) if v.strip()]
        if values:
            data[key] = ",".join(values)
    if organization:
        data["organization"] = organization
    elif args.get("organization"):
        data["organization"] = args["organization"].strip()
    return data


def _compliance_list(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return tk.get_action("mes_schedule_compliance_list")(context(), data)
    except tk.ValidationError as e:
        return tk.abort(400, error_text(e))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Organization not found"))
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Not authorized to see the compliance of these datasets"))


# ------------------------------------------------------------------------------------------ downloads

# Bump when what a download holds changes for the same data (columns, formats): old ETags stop matching.
_EXPORT_VERSION = "2"


_changes_lock = threading.Lock()
_changes: dict[str, tuple[Any, dt.datetime]] = {}


def _changed_at(kind: str, fingerprint: Any) -> dt.datetime:
    """When a web node first saw the data as they are now (`fingerprint` of `kind`): the Last-Modified of
    what is built from them. Publications carry the date they were published, not when they were recorded
    (a backfill records old ones), so the record has no write time to read; this time is never earlier than
    the change itself, only later (e.g. when nobody asked for a while), which costs a 200 rather than serving
    a stale copy."""
    now = localization.utcnow().replace(microsecond=0)
    # Shared by every web node (behind a load balancer a client must not see the time flip between nodes);
    # this process's own memory when Redis does not answer.
    shared = page_cache.first_seen(f"{kind}:{fingerprint!r}", now)
    if shared is not None:
        return shared
    with _changes_lock:
        seen = _changes.get(kind)
        if seen is None or seen[0] != fingerprint:
            seen = _changes[kind] = (fingerprint, now)
    return seen[1]


def _last_modified(kind: str, fingerprint: Any, explicit_as_of: bool) -> dt.datetime:
    """The data's change time; for today's statuses, also the last midnight in Almaty (statuses change then
    without any write)."""
    changed = _changed_at(kind, fingerprint)
    if explicit_as_of:
        return changed
    midnight = dt.datetime.combine(localization.today(), dt.time(), tzinfo=schedule.TZ)
    return max(changed, midnight.astimezone(dt.timezone.utc).replace(tzinfo=None))


def _visibility_key(user: str) -> tuple[Any, ...]:
    """What decides which rows a user sees (not who they are: readers who see the same share the ETag)."""
    seen = compliance_record.visibility_for(user)
    return (seen.sysadmin, sorted(seen.organization_ids), sorted(seen.collaborations))


def _export_validators(fmt: str, data: dict[str, Any], user: str, explicit_as_of: bool) -> tuple[str, dt.datetime]:
    records = compliance_record.record_fingerprint()
    fingerprint = (records, compliance_record.organizations_fingerprint())
    parts = (
        _EXPORT_VERSION, fmt, sorted((k, str(v)) for k, v in data.items() if k not in ("limit", "offset")),
        _visibility_key(user), fingerprint, downloads.dataset_url()(""),
    )
    etag = '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'
    return etag, _last_modified("export", fingerprint, explicit_as_of)


def _download(fmt: str, args: MultiDict, organization: Optional[str], base_name: str) -> Response:
    """Every row that matches the filters (not only a page), streamed, with its ETag and Last-Modified; a
    304 when the caller's copy is current. `?lang=` chooses the language as on the badges."""
    lang = localization.lang_param(args)
    data = downloads.export_data(_list_data(args, lang, 1, organization))
    first = _compliance_list(data)  # validates the filters (400 / 404 / 403 before anything is sent)
    data["as_of"] = first["as_of"]  # every page of the download on the same date, even across midnight
    user = user_name()
    etag, last_modified = _export_validators(fmt, data, user, bool(args.get("as_of")))
    export = exports.FORMATS[fmt]
    name = exports.filename(base_name, first.get("as_of") or "", export.extension)

    def build() -> Response:
        headers = {"Content-Type": export.mimetype, "Content-Disposition": f'attachment; filename="{name}"'}
        # The body is written after the view has returned, outside the request: the later pages are read with
        # the caller's name, not the request's context (CKAN's actions need none).
        return Response(_closing(downloads.export_chunks(fmt, data, user, first)), headers=headers)

    # Private rows in it for an identified caller: private, varying on the credentials (common.cache_by_identity).
    return conditional(build, etag, last_modified)


def _closing(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks, then the database session given back: CKAN's after-request hook removed the request's
    session before the body is written, and the later pages open a new one (Werkzeug closes the stream after
    the last chunk, or unread: a HEAD, a client that went away)."""
    try:
        yield from chunks
    finally:
        model.Session.remove()


def _table_vars(
    endpoint: str, route: dict[str, Any], args: MultiDict, result: dict[str, Any], rows: list[dict[str, Any]],
    page: int, data: dict[str, Any], lang: str,
) -> dict[str, Any]:
    """Everything the table snippets need: links that keep the other filters, sort links, the pager."""
    sort = data.get("sort") or "item"
    columns = []
    for column in _columns():
        entry: dict[str, Any] = {"key": column.key, "title": column.title, "sort_url": None, "direction": None}
        if column.sort:
            if sort == column.sort:
                entry["direction"] = "ascending"
                entry["sort_url"] = _url(endpoint, args, route, sort="-" + column.sort, page=None)
            else:
                if sort == "-" + column.sort:
                    entry["direction"] = "descending"
                entry["sort_url"] = _url(endpoint, args, route, sort=column.sort, page=None)
        columns.append(entry)

    active_statuses = set((data.get("status") or "").split(",")) - {""}
    summary = result.get("summary") or {}
    by_status = summary.get("by_status") or {}
    status_links = [
        {
            "status": status,
            "label": badge.status_label(status, lang),
            "count": by_status.get(status, 0),
            "active": status in active_statuses,
            "url": _url(endpoint, args, route, status=None if active_statuses == {status} else status, page=None),
        }
        for status in schedule.STATUSES
    ]

    def pager_url(q: Any = None, page: Optional[int] = None) -> str:  # noqa: ARG001 (h.Page's signature)
        return _url(endpoint, args, route, page=page)

    pager = Page(
        collection=rows,
        page=page,
        url=pager_url,
        item_count=result.get("count", 0),
        items_per_page=data["limit"],
        presliced_list=True,
    )
    # A download holds every row whatever the page: its link keeps the filters, not the page.
    kept = {key: value for key, value in _query(args).items() if key != "page"}
    downloads = {fmt: tk.h.url_for(endpoint, fmt=fmt, **route, **kept) for fmt in exports.FORMATS}
    return {
        "columns": columns,
        "rows": rows,
        # Each title names its organisation only when the rows come from more than one.
        "show_organization": len({r["organization"] for r in rows}) > 1,
        "result": result,
        "summary": summary,
        "summary_total": summary.get("total", 0),
        "summary_rate": exports.rate_text(summary.get("on_time_rate")),
        "status_links": status_links,
        "all_statuses_url": _url(endpoint, args, route, status=None, page=None),
        "active_statuses": active_statuses,
        "page": pager,
        "downloads": downloads,
        "as_of": data.get("as_of"),
        "today_url": _url(endpoint, args, route, as_of=None, page=None),
        "filters": {key: args.get(key, "") for key in _FILTERS},
        "frequency_options": [
            {"value": code, "label": labels.get(lang) or labels["en"]} for code, labels in vocab.FREQUENCIES.items()
        ],
        "status_options": [{"value": s, "label": badge.status_label(s, lang)} for s in schedule.STATUSES],
        "lang": lang,
    }


def _organization_options(lang: str) -> list[dict[str, str]]:
    """Every active organisation, for the filter. Read from the database: organization_list with all_fields
    asks Solr for dataset counts, and the compliance page must keep working while Solr is down."""
    options: list[dict[str, str]] = []
    query = model.Session.query(model.Group).filter_by(is_organization=True, state="active")
    for org in query.limit(2000):  # a bound: a portal with more organisations types the name instead
        data = {"title": org.title, **{k: v for k, v in (org.extras or {}).items() if k.startswith("title_")}}
        options.append({"value": org.name, "label": mes_schedule_localized(data, "title") or org.name})
    return sorted(options, key=lambda o: o["label"].lower())


def _organization_dict(id: str) -> dict[str, Any]:
    """organization_show's dict without the dataset count (which needs Solr): the tab keeps working while
    Solr is down. Same permission check as organization_show."""
    group = model.Group.get(id)
    if group is None or not group.is_organization or group.state != "active":
        raise tk.ObjectNotFound()
    tk.check_access("organization_show", context(), {"id": group.id})
    group_dict = model_dictize.group_dictize(
        group, {"model": model, "session": model.Session}, include_groups=False, include_users=False,
        packages_field=None,
    )
    # The header's dataset count, from the database: public datasets, and private ones for members.
    datasets = model.Session.query(model.Package).filter_by(owner_org=group.id, state="active", type="dataset")
    user = context().get("user")
    if not (user and authz.has_user_permission_for_group_or_org(group.id, user, "read")):
        datasets = datasets.filter_by(private=False)
    group_dict["package_count"] = datasets.count()
    return group_dict


# ------------------------------------------------------------------------------------------ pages


@mes_schedule.route("/compliance", defaults={"fmt": "html"})
@mes_schedule.route(f"/compliance.{_FORMATS}")
@shared_for_anonymous
def compliance(fmt: str) -> Union[str, Response]:
    """The portal's compliance table (everything the viewer may see), or its CSV / JSON download."""
    args = request.args
    page = page_number(args)
    as_of_param(args)
    lang = localization.ui_lang()
    if fmt in exports.FORMATS:
        organization = (args.get("organization") or "").strip()
        return _download(fmt, args, None, "compliance-" + organization if organization else "compliance")
    data = _list_data(args, lang, page, None)
    result = _compliance_list(data)
    rows = [_display_row(r, lang) for r in result.get("results", [])]
    extra_vars = _table_vars("mes_schedule.compliance", {}, args, result, rows, page, data, lang)
    extra_vars["organization_options"] = _organization_options(lang)
    extra_vars["filters"]["organization"] = args.get("organization", "")
    return tk.render("mes_schedule/compliance.html", extra_vars)


@mes_schedule.route("/organization/compliance/<id>", defaults={"fmt": "html"})
@mes_schedule.route(f"/organization/compliance/<id>.{_FORMATS}")
@shared_for_anonymous
def organization_compliance(id: str, fmt: str) -> Union[str, Response]:
    """An organisation's compliance tab: the same table, only the organisation's datasets."""
    args = request.args
    page = page_number(args)
    as_of_param(args)
    lang = localization.ui_lang()
    try:
        group_dict = _organization_dict(id)
    except (tk.ObjectNotFound, tk.NotAuthorized):
        tk.abort(404, tk._("Organization not found"))
    if fmt in exports.FORMATS:
        return _download(fmt, args, group_dict["id"], "compliance-" + group_dict["name"])
    data = _list_data(args, lang, page, group_dict["id"])
    result = _compliance_list(data)
    rows = [_display_row(r, lang) for r in result.get("results", [])]
    route = {"id": group_dict["name"]}
    extra_vars = _table_vars("mes_schedule.organization_compliance", route, args, result, rows, page, data, lang)
    extra_vars.update(
        group_dict=group_dict,
        group_type=group_dict.get("type") or "organization",
        am_following=False,
    )
    return tk.render("mes_schedule/organization_compliance.html", extra_vars)


# ------------------------------------------------------------------------------------------ badge


@mes_schedule.route("/dataset/<id>/compliance.svg", endpoint="badge")
@shared_for_anonymous
def badge_svg(id: str) -> Response:
    """The dataset's status as a small SVG. 404 (never 403) for what the viewer may not see, for unknown
    datasets and for datasets outside the order: a badge must not reveal that a private dataset exists."""
    args = request.args
    lang = localization.lang_param(args)
    as_of = as_of_param(args)
    data: dict[str, Any] = {"id": id, "lang": lang}
    if as_of:
        data["as_of"] = as_of.isoformat()
    try:
        row = tk.get_action("mes_schedule_compliance_show")(context(), data)
    except (tk.ObjectNotFound, tk.NotAuthorized):
        tk.abort(404, tk._("Dataset not found or you have no permission to view it"))
    except tk.ValidationError as e:
        tk.abort(400, error_text(e))
    status = row["status"]
    day_text = exports.day_text(row.get("as_of")) or exports.day_text(data.get("as_of"))
    day = dt.date.fromisoformat(day_text or localization.today().isoformat())
    # The ETag names exactly what the badge draws (status, language, date); Last-Modified is when the data
    # behind any status last changed (or midnight), so it may be later than this badge's change, never earlier.
    last_modified = _last_modified("badge", compliance_record.record_fingerprint(), as_of is not None)
    # Revalidated at every use (a cheap 304 while the ETag holds): the dataset page shows the badge beside the
    # status it computes live, and the two must never disagree, not even for a few minutes after an upload.
    # Embeds elsewhere are kept by browsers and shared caches too, and revalidated the same way.
    cache = {"Cache-Control": "private, no-store" if row.get("private") else "public, no-cache"}

    def build() -> Response:
        return OwnCachingResponse(
            badge.status_badge(status, lang), headers={**cache, "Content-Type": "image/svg+xml; charset=utf-8"}
        )

    return conditional(build, badge.etag(status, lang, day), last_modified, cache, OwnCachingResponse)


# ------------------------------------------------------------------------------------------ dataset history


def _is_event_rule(text: Optional[str]) -> bool:
    try:
        return bool(text) and schedule.parse_rule(str(text)).is_event
    except ValueError:
        return False


def _run(action: str, data: dict[str, Any], not_found: str, refused: tuple[int, str]) -> Any:
    """The action's result; its refusals become error pages (not found: 404, not authorised: `refused`)."""
    try:
        return tk.get_action(action)(context(), data)
    except tk.ObjectNotFound:
        tk.abort(404, not_found)
    except tk.NotAuthorized:
        tk.abort(*refused)
    except tk.ValidationError as e:
        tk.abort(400, error_text(e))


def _dataset_vars(id: str, as_of: Optional[dt.date]) -> dict[str, Any]:
    show_context = {**context(), "for_view": True}
    try:
        pkg_dict = tk.get_action("package_show")(show_context, {"id": id})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        # Like CKAN's own dataset page: a private dataset is "not found" to those who may not see it.
        tk.abort(404, tk._("Dataset not found or you have no permission to view it"))
    data: dict[str, Any] = {"id": pkg_dict["id"], "lang": localization.ui_lang()}
    if as_of:
        data["as_of"] = as_of.isoformat()
    row = _run(
        "mes_schedule_compliance_show",
        data,
        tk._("This dataset has no publication schedule"),
        (404, tk._("Dataset not found or you have no permission to view it")),
    )
    tk.g.pkg_dict = pkg_dict
    can_record = tk.h.check_access("mes_schedule_event_create", {"package_id": pkg_dict["id"]})
    return {
        "pkg_dict": pkg_dict,
        "pkg": pkg_dict,
        "dataset_type": pkg_dict.get("type") or "dataset",
        "compliance": row,
        "is_event_rule": _is_event_rule(row.get("rule")),
        "can_record_events": can_record,
        "as_of": as_of.isoformat() if as_of else None,
        "lang": localization.ui_lang(),
        "am_following": False,
        "errors": {},
        "form": {},
    }


@mes_schedule.route("/dataset/<id>/compliance")
def dataset_compliance(id: str) -> str:
    """The dataset's history period by period, its publications and its events."""
    as_of = as_of_param(request.args)
    return tk.render("mes_schedule/dataset_compliance.html", _dataset_vars(id, as_of))


@mes_schedule.route("/dataset/<id>/compliance/events", methods=["POST"])
def event_create(id: str) -> Union[str, Response]:
    """Record the date of a triggering event (org admins and sysadmins; the action checks)."""
    extra_vars = _dataset_vars(id, None)
    pkg_id = extra_vars["pkg_dict"]["id"]
    form = {"event_date": (request.form.get("event_date") or "").strip(), "note": request.form.get("note") or ""}
    try:
        tk.get_action("mes_schedule_event_create")(context(), {"package_id": pkg_id, **form})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only the organization's administrators may record events"))
    except tk.ObjectNotFound:
        tk.abort(404, tk._("This dataset has no publication schedule"))
    except tk.ValidationError as e:
        if "package_id" in e.error_dict:
            # The dataset itself cannot take events (its rule is not event-driven): there is no form to show.
            tk.abort(400, error_text(e))
        extra_vars.update(errors=e.error_dict, form=form)
        return tk.render("mes_schedule/dataset_compliance.html", extra_vars)
    tk.h.flash_success(tk._("Event of {date} recorded.").format(date=form["event_date"]))
    return tk.redirect_to("mes_schedule.dataset_compliance", id=extra_vars["pkg_dict"]["name"])


@mes_schedule.route("/dataset/<id>/compliance/events/<event_id>/delete", methods=["POST"])
def event_delete(id: str, event_id: str) -> Response:
    extra_vars = _dataset_vars(id, None)
    events = extra_vars["compliance"].get("events") or []
    if not any(str(e.get("id")) == event_id for e in events):
        tk.abort(404, tk._("Event not found"))
    _run(
        "mes_schedule_event_delete",
        {"id": event_id},
        tk._("Event not found"),
        (403, tk._("Only the organization's administrators may delete events")),
    )
    tk.h.flash_success(tk._("Event withdrawn. The history keeps a record of the withdrawal."))
    return tk.redirect_to("mes_schedule.dataset_compliance", id=extra_vars["pkg_dict"]["name"])
