"""Template helpers of compliance over time: each dataset's period strip, the portal's and each organisation's
charts with the rows of their table fallback, and the missed deadlines the summaries count.

Everything is for the current user (what they may see) in the UI language. The datasets' assessments are read
once per request and per date (the whole portal's are cached by compliance.py), however many strips a page
draws: a compliance table draws one per row.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional, Union

from flask import g
from markupsafe import Markup

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import charts, compliance, localization, schedule, strip, vocab

__all__ = [
    "mes_schedule_period_strip",
    "mes_schedule_period_rows",
    "mes_schedule_period_strip_url",
    "mes_schedule_period_legend",
    "mes_schedule_chart",
    "mes_schedule_chart_series",
    "mes_schedule_chart_url",
    "mes_schedule_chart_title",
    "mes_schedule_missed_in_last",
    "mes_schedule_missed_summary",
]

Organization = Union[None, str, dict[str, Any]]


def _user_name() -> str:
    user = tk.current_user
    return "" if user.is_anonymous else user.name


def _visibility() -> compliance.Visibility:
    cached: Optional[compliance.Visibility] = getattr(g, "_mes_schedule_visibility", None)
    if cached is None:
        cached = g._mes_schedule_visibility = compliance.visibility_for(_user_name())
    return cached


def _date(as_of: Union[None, str, dt.date]) -> dt.date:
    if isinstance(as_of, dt.date):
        return as_of
    if as_of:
        try:
            return dt.date.fromisoformat(str(as_of)[:10])
        except ValueError:
            pass  # the page has already refused a bad date; a helper shows today's picture rather than fail
    return localization.today()


def _visible_rows(as_of: dt.date) -> list[compliance.ComplianceRow]:
    """The assessments the user may see on `as_of`, read once per request (a compliance page asks for them for
    every strip, chart, table and count it shows)."""
    memo: dict[dt.date, list[compliance.ComplianceRow]] = g.setdefault("_mes_schedule_visible_rows", {})
    if as_of not in memo:
        memo[as_of] = compliance.assess_datasets(as_of=as_of, visibility=_visibility())
    return memo[as_of]


def _rows_of(group: Optional[model.Group], as_of: dt.date) -> list[compliance.ComplianceRow]:
    rows = _visible_rows(as_of)
    return rows if group is None else [row for row in rows if row.dataset.owner_org == group.id]


def _rows_by_key(as_of: dt.date) -> dict[str, compliance.ComplianceRow]:
    """The same, by dataset id and by name."""
    memo: dict[dt.date, dict[str, compliance.ComplianceRow]] = g.setdefault("_mes_schedule_rows_by_key", {})
    if as_of not in memo:
        rows = _visible_rows(as_of)
        memo[as_of] = {**{r.dataset.name: r for r in rows}, **{r.dataset.id: r for r in rows}}
    return memo[as_of]


def _row_of(pkg_or_row: Any, as_of: Union[None, str, dt.date]) -> Optional[compliance.ComplianceRow]:
    """The assessment of a dataset (its dict, a compliance row's dict, or its id or name), if the user may see
    it and it is on the schedule."""
    if isinstance(pkg_or_row, dict):
        keys = [pkg_or_row.get("id"), pkg_or_row.get("name")]
    else:
        keys = [pkg_or_row]
    found = _rows_by_key(_date(as_of))
    return next((found[key] for key in keys if key and key in found), None)


def mes_schedule_period_strip(
    pkg_or_row: Any, small: bool = False, limit: Optional[int] = None, as_of: Union[None, str, dt.date] = None
) -> Markup:
    """The dataset's period strip as inline SVG (empty for a dataset outside the schedule or hidden from the
    user). `small`: the compact strip of a table's row (the last 12 periods unless `limit` says otherwise)."""
    row = _row_of(pkg_or_row, as_of)
    if row is None or (small and not row.assessment.periods):
        # A table's row without periods shows none: its status says why, and the strip's sentence would widen
        # the column.
        return Markup("")
    limit = limit or (strip.SMALL_PERIODS if small else strip.MAX_PERIODS)
    lang = localization.ui_lang()
    words: dict[str, strip.Words] = g.setdefault("_mes_schedule_strip_words", {})
    if lang not in words:
        words[lang] = strip.Words(lang)
    # Built by strip.render, which escapes every text it writes.
    return Markup(strip.render(row.assessment.periods, lang, limit=limit, small=small, words=words[lang]))


def mes_schedule_period_rows(pkg_or_row: Any, as_of: Union[None, str, dt.date] = None) -> list[dict[str, Any]]:
    """The strip's periods as the rows of its table fallback, newest first (as the history page lists them):
    period in words, outcome, due date and first publication in words."""
    row = _row_of(pkg_or_row, as_of)
    if row is None:
        return []
    lang = localization.ui_lang()
    return [
        {
            "label": o.period.label,
            "period": localization.period_in_words(o.period, lang),
            "outcome": o.outcome,
            "outcome_label": vocab.outcome_label(o.outcome, lang),
            "due": localization.long_date(o.period.due, lang),
            "first_published": localization.long_date(o.first_published, lang),
        }
        for o in reversed(row.assessment.periods)
    ]


def mes_schedule_period_legend() -> list[dict[str, Any]]:
    """What the strips' cells mean: each outcome's cell (SVG, hidden from screen readers) and its words."""
    lang = localization.ui_lang()
    return [
        {"outcome": outcome, "label": vocab.outcome_label(outcome, lang), "swatch": Markup(strip.swatch(outcome))}
        for outcome in schedule.OUTCOMES
    ]


def mes_schedule_period_strip_url(pkg: dict[str, Any], qualified: bool = False, lang: Optional[str] = None) -> str:
    """The address of the dataset's period strip as an SVG image (for an <img>, or to embed elsewhere)."""
    params = {"lang": lang} if lang else {}
    return tk.h.url_for(
        "mes_schedule_charts.period_strip", id=pkg.get("name") or pkg["id"], qualified=qualified, **params
    )


def _organization(organization: Organization) -> Optional[model.Group]:
    """The organisation named by an id, a name or an organisation's dict; None for the whole portal."""
    if not organization:
        return None
    key = organization.get("id") or organization.get("name") if isinstance(organization, dict) else organization
    group = model.Group.get(key) if key else None
    if group is None or not group.is_organization or group.state != "active":
        raise tk.ObjectNotFound(tk._("Organization not found"))
    return group


def _series(by: str, group: Optional[model.Group], as_of: Union[None, str, dt.date]) -> list[charts.Bucket]:
    day = _date(as_of)
    memo: dict[Any, list[charts.Bucket]] = g.setdefault("_mes_schedule_series", {})
    key = (by, group.id if group else None, day)
    if key not in memo:
        memo[key] = charts.series(_rows_of(group, day), by, day)
    return memo[key]


def mes_schedule_chart(
    measure: str, by: str = "year", organization_id: Organization = None, as_of: Union[None, str, dt.date] = None
) -> Markup:
    """The chart of `measure` ("on_time_rate" or "missed") per `by` ("year" or "quarter") as inline SVG, for the
    portal or one organisation (id, name or dict), of the datasets the user may see."""
    group = _organization(organization_id)
    svg = charts.render(_series(by, group, as_of), measure, by, charts.scope_text(group, localization.ui_lang()))
    return Markup(svg)  # drawn by pygal, which escapes its texts


def mes_schedule_chart_series(
    by: str = "year", organization_id: Organization = None, as_of: Union[None, str, dt.date] = None
) -> list[dict[str, Any]]:
    """The charts' numbers for their table fallback: per year or quarter, the periods due, on time, the
    on-time rate and the missed deadlines."""
    return charts.series_dicts(_series(by, _organization(organization_id), as_of))


def mes_schedule_chart_url(
    measure: str, by: str = "year", organization_id: Organization = None, qualified: bool = False,
    lang: Optional[str] = None, as_of: Optional[str] = None,
) -> str:
    """The stable address of a chart as an SVG image (the portal's, or an organisation's)."""
    params: dict[str, Any] = {"measure": measure, "by": by, "qualified": qualified}
    if lang:
        params["lang"] = lang
    if as_of:
        params["as_of"] = as_of
    group = _organization(organization_id)
    if group is None:
        return tk.h.url_for("mes_schedule_charts.portal_chart", **params)
    return tk.h.url_for("mes_schedule_charts.organization_chart", id=group.name, **params)


def mes_schedule_chart_title(measure: str, by: str = "year") -> str:
    """A chart's title ("On-time rate by year"), e.g. the alt text of its image."""
    return charts.title(measure, by)


def mes_schedule_missed_in_last(months: int = 12, organization_id: Organization = None) -> int:
    """Missed deadlines of the datasets the user may see (of one organisation, or all) whose due date fell in
    the last `months` months up to today: periods not published by their due date (missed, or late)."""
    day = localization.today()
    return charts.missed_counts(_rows_of(_organization(organization_id), day), day, months)[0]


def mes_schedule_missed_summary(
    organization_id: Organization = None,
    as_of: Union[None, str, dt.date] = None,
    frequency: Optional[str] = None,
    q: Optional[str] = None,
    months: int = 12,
) -> dict[str, int]:
    """The missed deadlines a compliance page's summary counts, with the page's organisation, date and filters:
    ``{"recent": in the last `months` months, "total": in all, "months": months}``."""
    day = _date(as_of)
    rows = charts.matching(_rows_of(_organization(organization_id), day), frequency, q)
    recent, total = charts.missed_counts(rows, day, months)
    return {"recent": recent, "total": total, "months": months}
