"""Template helpers of the home and About pages: the record at a glance, for what the reader may see.

The counts and the on-time rate are those of the compliance page (the same action, as the same user), the
deadlines and publications those of `compliance.assess_datasets`; nothing here recomputes a status.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask import g

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, exports, localization, schedule, settings, vocab

__all__ = ["mes_schedule_home", "mes_schedule_act_link"]

# How many deadlines and publications the home page lists.
_LISTED = 5


def _user_name() -> str:
    user = tk.current_user
    return "" if user.is_anonymous else user.name


def _summary(user: str, lang: str) -> dict[str, Any]:
    """The compliance page's summary (counts before any filter, and the rate), as `user` sees it."""
    result = tk.get_action("mes_schedule_compliance_list")({"user": user}, {"limit": 0, "lang": lang})
    return result["summary"]


def _status_links(by_status: dict[str, int], lang: str) -> list[dict[str, Any]]:
    return [
        {
            "status": status,
            "label": vocab.status_label(status, lang),
            "count": by_status.get(status, 0),
            "url": tk.h.url_for("mes_schedule.compliance", status=status),
        }
        for status in schedule.STATUSES
    ]


def _dataset_link(row: compliance.ComplianceRow, lang: str) -> dict[str, Any]:
    ds = row.dataset
    return {
        "name": ds.name,
        "title": ds.title_in(lang),
        "url": tk.h.url_for("dataset.read", id=ds.name),
        "private": ds.private,
    }


def next_deadlines(rows: list[compliance.ComplianceRow], lang: str, today: dt.date) -> list[dict[str, Any]]:
    """The soonest coming deadlines, one per dataset, soonest first (ties by title)."""
    coming = [(r.assessment.next_due, r) for r in rows if r.assessment.next_due is not None]
    coming.sort(key=lambda pair: (pair[0], pair[1].dataset.title_in(lang).casefold(), pair[1].dataset.name))
    return [
        {
            **_dataset_link(row, lang),
            "due": due.isoformat(),
            "due_in_words": localization.long_date(due, lang),
            "days": (due - today).days,
            "status": row.status,
            "status_label": vocab.status_label(row.status, lang),
        }
        for due, row in coming[:_LISTED]
    ]


def latest_publications(rows: list[compliance.ComplianceRow], lang: str) -> list[dict[str, Any]]:
    """The datasets published most recently, with the date of their latest publication, latest first."""
    published = [(r.assessment.last_published, r) for r in rows if r.assessment.last_published is not None]
    published.sort(key=lambda pair: (pair[0], pair[1].dataset.name), reverse=True)
    return [
        {
            **_dataset_link(row, lang),
            "published": day.isoformat(),
            "published_in_words": localization.long_date(day, lang),
        }
        for day, row in published[:_LISTED]
    ]


def home_data(user: str, lang: str, as_of: Optional[dt.date] = None) -> dict[str, Any]:
    """What the home page shows to `user`, in `lang`, on `as_of` (default today in Almaty)."""
    today = as_of or localization.today()
    summary = _summary(user, lang)
    rows = compliance.assess_datasets(as_of=today, visibility=compliance.visibility_for(user))
    return {
        "as_of": today.isoformat(),
        "as_of_in_words": localization.long_date(today, lang),
        "total": summary["total"],
        "on_time_rate": exports.rate_text(summary["on_time_rate"]),
        "status_links": _status_links(summary["by_status"], lang),
        "next_deadlines": next_deadlines(rows, lang, today),
        "latest_publications": latest_publications(rows, lang),
    }


def mes_schedule_home() -> dict[str, Any]:
    """The home page's figures and lists for the current user in the UI language (once per request)."""
    data: Optional[dict[str, Any]] = getattr(g, "_mes_schedule_home", None)
    if data is None:
        data = home_data(_user_name(), localization.ui_lang())
        g._mes_schedule_home = data
    return data


def mes_schedule_act_link(lang: Optional[str] = None) -> dict[str, str]:
    """The order's text on adilet.zan.kz for a reader of `lang` (default the UI language): its `url` and the
    language of the text there (`lang`: English readers get the Russian text)."""
    lang = lang or localization.ui_lang()
    return {"url": localization.act_url(settings.order().url, lang), "lang": localization.act_text_lang(lang)}
