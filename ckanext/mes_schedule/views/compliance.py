"""Compliance pages: the portal's table, each organisation's tab, each dataset's history, downloads, badges.

Views stay thin: they read query parameters, call the extension's actions as the current user (the actions
decide what the user may see), and map NotAuthorized / ObjectNotFound / ValidationError to 403 / 404 / 400.
The HTML table, the CSV and the JSON are built from the same call and the same rows, so a download holds
exactly what the page shows.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional, Union

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict, ResponseCacheControl

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.lib.dictization import model_dictize
from ckan.lib.pagination import Page

from ckanext.mes_schedule import badge, exports, localization, schedule, settings, vocab
from ckanext.mes_schedule.helpers import mes_schedule_localized
from ckanext.mes_schedule.logic.validators_api import MAX_OFFSET
from ckanext.mes_schedule.views.common import as_of_param, context, error_text, page_number

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


def _columns() -> list[_Column]:
    # Titles are translated per request (they are also the CSV's header row).
    return [
        _Column("item", tk._("Item"), "item"),
        _Column("title", tk._("Dataset"), "title"),
        _Column("frequency", tk._("Frequency"), None),
        _Column("deadline", tk._("Deadline"), None),
        _Column("next_due", tk._("Next due"), "next_due"),
        _Column("last_published", tk._("Last published"), "last_published"),
        _Column("on_time_rate", tk._("On-time rate"), "on_time_rate"),
        _Column("status", tk._("Status"), "status"),
    ]


def _rate(value: Optional[float]) -> str:
    return "" if value is None else f"{round(value * 100)}%"


def _day(value: Any) -> str:
    if value in (None, ""):
        return ""
    return str(value)[:10]  # an ISO date, or the date part of an ISO timestamp


def _display_row(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """What a row of the table shows, cell by cell (`cells`, in the columns' order), and what the HTML needs
    besides (link, status code, private flag)."""
    cells = {
        "item": "" if row.get("item") is None else str(row["item"]),
        "title": row.get("title") or row.get("name") or "",
        "frequency": vocab.frequency_label(row.get("frequency"), lang),
        "deadline": row.get("rule_in_words") or "",
        "next_due": _day(row.get("next_due")),
        "last_published": _day(row.get("last_published")),
        "on_time_rate": _rate(row.get("on_time_rate")),
        "status": badge.status_label(row.get("status") or "", lang),
    }
    return {
        "cells": cells,
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


def _download(fmt: str, result: dict[str, Any], rows: list[dict[str, Any]], base_name: str) -> Response:
    export = exports.FORMATS[fmt]
    name = exports.filename(base_name, result.get("as_of") or "", export.extension)
    columns = _columns()
    table = exports.ExportTable(
        [c.title for c in columns], ([r["cells"][c.key] for c in columns] for r in rows), result
    )
    body = export.render(table)
    mimetype = export.mimetype
    response = Response(body, headers={"Content-Type": mimetype})
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Private rows in it for an identified caller: private, varying on the credentials (common.cache_by_identity).
    return response


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
    downloads = {fmt: tk.h.url_for(endpoint, fmt=fmt, **route, **_query(args)) for fmt in exports.FORMATS}
    return {
        "columns": columns,
        "rows": rows,
        # Each title names its organisation only when the rows come from more than one.
        "show_organization": len({r["organization"] for r in rows}) > 1,
        "result": result,
        "summary": summary,
        "summary_total": summary.get("total", 0),
        "summary_rate": _rate(summary.get("on_time_rate")),
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
def compliance(fmt: str) -> Union[str, Response]:
    """The portal's compliance table (everything the viewer may see), or its CSV / JSON download."""
    args = request.args
    page = page_number(args)
    as_of_param(args)
    lang = localization.ui_lang()
    data = _list_data(args, lang, page, None)
    result = _compliance_list(data)
    rows = [_display_row(r, lang) for r in result.get("results", [])]
    if fmt in exports.FORMATS:
        base = "compliance-" + data["organization"] if data.get("organization") else "compliance"
        return _download(fmt, result, rows, base)
    extra_vars = _table_vars("mes_schedule.compliance", {}, args, result, rows, page, data, lang)
    extra_vars["organization_options"] = _organization_options(lang)
    extra_vars["filters"]["organization"] = args.get("organization", "")
    return tk.render("mes_schedule/compliance.html", extra_vars)


@mes_schedule.route("/organization/compliance/<id>", defaults={"fmt": "html"})
@mes_schedule.route(f"/organization/compliance/<id>.{_FORMATS}")
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
    data = _list_data(args, lang, page, group_dict["id"])
    result = _compliance_list(data)
    rows = [_display_row(r, lang) for r in result.get("results", [])]
    if fmt in exports.FORMATS:
        return _download(fmt, result, rows, "compliance-" + group_dict["name"])
    route = {"id": group_dict["name"]}
    extra_vars = _table_vars("mes_schedule.organization_compliance", route, args, result, rows, page, data, lang)
    extra_vars.update(
        group_dict=group_dict,
        group_type=group_dict.get("type") or "organization",
        am_following=False,
    )
    return tk.render("mes_schedule/organization_compliance.html", extra_vars)


# ------------------------------------------------------------------------------------------ badge


class _OwnCachingResponse(Response):
    """A response whose Cache-Control header the view sets itself.

    CKAN's after-request hook rewrites every response's caching from `ckan.cache_expires` (by default
    "public, max-age=0, must-revalidate", or "private" for logged-in users). A badge is embedded on other
    sites and decides for itself: public for five minutes, or private and never stored. The hook's changes go
    to a detached copy of the directives, so the header set by the view stands.
    """

    @property
    def cache_control(self) -> ResponseCacheControl:  # type: ignore[override]
        return ResponseCacheControl()


@mes_schedule.route("/dataset/<id>/compliance.svg", endpoint="badge")
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
    day = dt.date.fromisoformat(_day(row.get("as_of")) or _day(data.get("as_of")) or localization.today().isoformat())
    etag = badge.etag(status, lang, day)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-store" if row.get("private") else "public, max-age=300",
    }
    if etag in _if_none_match():
        return _OwnCachingResponse(status=304, headers=headers)
    return _OwnCachingResponse(
        badge.status_badge(status, lang),
        headers={**headers, "Content-Type": "image/svg+xml; charset=utf-8"},
    )


def _if_none_match() -> set[str]:
    raw = request.headers.get("If-None-Match", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


# ------------------------------------------------------------------------------------------ dataset history


def _is_event_rule(text: Optional[str]) -> bool:
    try:
        return bool(text) and schedule.parse_rule(str(text)).is_event
    except ValueError:
        return False


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
    try:
        row = tk.get_action("mes_schedule_compliance_show")(context(), data)
    except tk.ObjectNotFound:
        tk.abort(404, tk._("This dataset has no publication schedule"))
    except tk.NotAuthorized:
        tk.abort(404, tk._("Dataset not found or you have no permission to view it"))
    except tk.ValidationError as e:
        tk.abort(400, error_text(e))
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
    try:
        tk.get_action("mes_schedule_event_delete")(context(), {"id": event_id})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only the organization's administrators may delete events"))
    except tk.ObjectNotFound:
        tk.abort(404, tk._("Event not found"))
    except tk.ValidationError as e:
        tk.abort(400, error_text(e))
    tk.h.flash_success(tk._("Event withdrawn. The history keeps a record of the withdrawal."))
    return tk.redirect_to("mes_schedule.dataset_compliance", id=extra_vars["pkg_dict"]["name"])
