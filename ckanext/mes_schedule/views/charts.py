"""Compliance over time as SVG images at stable addresses (blueprint ``mes_schedule_charts``), to embed like the
badge: the portal's and each organisation's charts, and each dataset's period strip.

- ``/compliance/chart.svg?measure=on_time_rate|missed&by=year|quarter&lang=kk|ru|en`` (``portal_chart``)
- ``/organization/<id>/compliance/chart.svg?...`` (``organization_chart``)
- ``/dataset/<id>/periods.svg?lang=`` (``period_strip``)

They count what the caller may see: anonymous callers, public datasets only; a private dataset's strip is a 404
to those who may not see it (never a 403: it must not reveal that the dataset exists). A bad parameter is a 400
that names it. Each answer has a strong ETag naming exactly the picture, and a conditional request is a 304
(views/common.py `conditional`).
"""
from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import charts, compliance, localization, strip
from ckanext.mes_schedule.views.cached import shared_for_anonymous
from ckanext.mes_schedule.views.common import OwnCachingResponse, as_of_param, conditional, user_name

__all__ = ["mes_schedule_charts"]

mes_schedule_charts = Blueprint("mes_schedule_charts", __name__)

_SVG = "image/svg+xml; charset=utf-8"
# As the badge: revalidated at every use (a cheap 304 while the ETag holds), so that a picture on a page never
# disagrees with the statuses beside it after an upload; what only an identified caller may see is theirs alone.
_PUBLIC = "public, no-cache"
_IDENTIFIED = "private, no-cache"
_PRIVATE_DATASET = "private, no-store"


def _choice(args: MultiDict, name: str, choices: tuple[str, ...], default: str) -> str:
    """A query parameter that must be one of `choices` (absent or empty: `default`); anything else is a 400
    that names the parameter."""
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if raw not in choices:
        tk.abort(
            400,
            tk._("{parameter}: must be one of {choices}, not '{value}'").format(
                parameter=name, choices=", ".join(choices), value=raw
            ),
        )
    return str(raw)


def _svg(svg: str, etag: str, cache: str) -> Response:
    headers = {"Cache-Control": cache}

    def build() -> Response:
        return OwnCachingResponse(svg, headers={**headers, "Content-Type": _SVG})

    return conditional(build, etag, None, headers, OwnCachingResponse)


def _chart(organization: Optional[model.Group]) -> Response:
    args = request.args
    measure = _choice(args, "measure", charts.MEASURES, "on_time_rate")
    by = _choice(args, "by", charts.BUCKETS, "year")
    lang = localization.lang_param(args)
    as_of = as_of_param(args) or localization.today()
    visibility = compliance.visibility_for(user_name())
    rows = charts.rows_for(visibility, organization.id if organization else None, as_of)
    with localization.forced_locale(lang):
        svg = charts.render(charts.series(rows, by, as_of), measure, by, charts.scope_text(organization, lang))
    return _svg(svg, charts.etag(svg), _IDENTIFIED if tk.current_user.is_authenticated else _PUBLIC)


@mes_schedule_charts.route("/compliance/chart.svg", endpoint="portal_chart")
@shared_for_anonymous
def portal_chart() -> Response:
    """The on-time rate or the missed deadlines of every dataset the caller may see, per year or quarter."""
    return _chart(None)


@mes_schedule_charts.route("/organization/<id>/compliance/chart.svg", endpoint="organization_chart")
@shared_for_anonymous
def organization_chart(id: str) -> Response:
    """The same, of one organisation's datasets."""
    group = model.Group.get(id)
    if group is None or not group.is_organization or group.state != "active":
        tk.abort(404, tk._("Organization not found"))
    try:
        tk.check_access("organization_show", {"user": user_name()}, {"id": group.id})
    except tk.NotAuthorized:
        tk.abort(404, tk._("Organization not found"))
    return _chart(group)


def _visible_row(id: str, as_of: Any) -> compliance.ComplianceRow:
    """The dataset's assessment if the caller may see it and it is on the schedule; else a 404."""
    package = model.Package.get(id)
    rows = []
    if package is not None and package.state == "active":
        rows = compliance.assess_datasets(
            as_of=as_of, package_ids=[package.id], visibility=compliance.visibility_for(user_name())
        )
    if not rows:
        tk.abort(404, tk._("Dataset not found or you have no permission to view it"))
    return rows[0]


@mes_schedule_charts.route("/dataset/<id>/periods.svg", endpoint="period_strip")
@shared_for_anonymous
def period_strip(id: str) -> Response:
    """The dataset's period strip: its latest periods (at most 40), oldest left, coloured by outcome."""
    args = request.args
    lang = localization.lang_param(args)
    row = _visible_row(id, as_of_param(args))
    with localization.forced_locale(lang):
        svg = strip.render(row.assessment.periods, lang)
    cache = _PRIVATE_DATASET if row.dataset.private else _PUBLIC
    return _svg(svg, strip.etag(svg), cache)
