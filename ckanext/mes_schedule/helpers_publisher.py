"""Template helpers for publishers (all prefixed mes_schedule_), and the data behind "My deadlines".

Statuses and period outcomes come from `compliance.assess_datasets`; nothing here recomputes them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any, Optional

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, schedule, vocab

__all__ = [
    "mes_schedule_upload_outlook",
    "mes_schedule_deadline_status_label",
    "mes_schedule_period_label",
    "mes_schedule_long_date",
]

_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}
_QUARTER_RE = re.compile(r"^(\d{4}) Q([1-4])$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_RE = re.compile(r"^\d{4}$")


def ui_lang() -> str:
    # The same reduction as helpers.mes_schedule_lang (kk, ru or en), without importing the shared module.
    lang = (tk.h.lang() or "en").split("_")[0]
    return lang if lang in vocab.LANGS else "en"


def long_date(day: Optional[dt.date], lang: str) -> str:
    """A date written out in `lang` (e.g. "2026 ж. 31 желтоқсан", "31 декабря 2026 г.")."""
    if day is None:
        return ""
    from babel.dates import format_date

    return format_date(day, format="long", locale=lang)


def describe_period(period: schedule.Period, lang: str) -> str:
    """What a period is for, in words: "quarter III of 2026", "December 2026", "year 2026", ...
    Translated with the current (possibly forced) locale; month names in `lang`."""
    label = period.covers or period.label
    quarter = _QUARTER_RE.match(label)
    if quarter:
        return tk._("quarter {quarter} of {year}").format(quarter=_ROMAN[quarter.group(2)], year=quarter.group(1))
    month = _MONTH_RE.match(label)
    if month:
        from babel.dates import format_date

        first = dt.date(int(month.group(1)), int(month.group(2)), 1)
        return format_date(first, format="LLLL y", locale=lang)
    if _YEAR_RE.match(label):
        return tk._("year {year}").format(year=label)
    try:
        event_day = dt.date.fromisoformat(label)
    except ValueError:
        return label
    return tk._("the event of {date}").format(date=long_date(event_day, lang))


def mes_schedule_long_date(day: Optional[dt.date]) -> str:
    return long_date(day, ui_lang())


def mes_schedule_period_label(period: Optional[schedule.Period]) -> str:
    return describe_period(period, ui_lang()) if period is not None else ""


def mes_schedule_deadline_status_label(status: Optional[str]) -> str:
    """A compliance status (schedule.STATUSES) in the UI language, in the words of the badges and the
    compliance pages (badge.STATUS_LABELS): one wording per status across the portal."""
    from ckanext.mes_schedule import badge

    return badge.status_label(status or "", ui_lang())


# ------------------------------------------------------------------------------------------- upload outlook


def upload_outlook(
    package_id: str, as_of: Optional[dt.date] = None, lang: str = "en"
) -> Optional[dict[str, Any]]:
    """For a scheduled dataset: the next deadline, the period an upload made on `as_of` counts for, and
    whether it would be on time. None for a dataset outside the order.

    ``case`` is one of: ``no_deadline`` (no fixed term), ``awaiting_event`` (event-driven, no event recorded:
    no deadline until one is), ``not_started`` (the schedule's first window has not opened), ``period``.
    """
    rows = compliance.assess_datasets(as_of=as_of, package_ids=[package_id])
    if not rows:
        return None
    row = rows[0]
    a = row.assessment
    today = a.as_of or compliance.today()
    out: dict[str, Any] = {
        "status": a.status,
        "as_of": today,
        "next_due": a.next_due,
        "rule_in_words": schedule.describe(row.rule, lang) if row.rule else "",
        "period": None,
        "counts_for": "",
        "due": None,
        "days": None,
        "on_time": None,
        "published": None,
        "first_published": None,
    }
    if row.rule is None or row.rule.kind == "as-established":
        return {**out, "case": "no_deadline"}
    if a.current is None:
        if row.rule.kind == "event" and a.next_due is None:
            return {**out, "case": "awaiting_event"}
        return {**out, "case": "not_started"}
    current = a.periods[-1]  # the period containing `today`: an upload now is dated in it
    return {
        **out,
        "case": "period",
        "period": current.period,
        "counts_for": describe_period(current.period, lang),
        "due": current.period.due,
        "days": (current.period.due - today).days,
        "on_time": today <= current.period.due,
        # Already published in this period: a new upload adds to it and does not change how it went.
        "published": current.outcome if current.outcome in ("on_time", "late") else None,
        "first_published": current.first_published,
    }


def mes_schedule_upload_outlook(pkg: dict[str, Any]) -> Optional[dict[str, Any]]:
    """See `upload_outlook`; for the dataset page (its editors only: the caller checks package_update)."""
    if not isinstance(pkg, dict) or not pkg.get("id") or pkg.get("mes_schedule_item") in (None, ""):
        return None
    return upload_outlook(pkg["id"], lang=ui_lang())


# ------------------------------------------------------------------------------------------- my deadlines


@dataclasses.dataclass(frozen=True)
class DeadlineRow:
    row: compliance.ComplianceRow
    title: str
    # The deadline to act on: the current period's due date while it has nothing published (in the past for an
    # overdue dataset), else the next due date. None: nothing to act on.
    act_by: Optional[dt.date]

    @property
    def dataset(self) -> compliance.ScheduledDataset:
        return self.row.dataset

    @property
    def status(self) -> str:
        return self.row.status

    @property
    def next_due(self) -> Optional[dt.date]:
        return self.row.assessment.next_due


def _act_by(row: compliance.ComplianceRow) -> Optional[dt.date]:
    a = row.assessment
    if a.periods and a.periods[-1].outcome in ("open", "missed"):
        return a.periods[-1].period.due
    return a.next_due


def deadline_rows(user_name: str, lang: str, as_of: Optional[dt.date] = None) -> list[DeadlineRow]:
    """The scheduled datasets `user_name` may edit, soonest deadline first (overdue ones, whose deadline is
    past, at the top); datasets with no deadline last."""
    visibility = compliance.visibility_for(user_name)
    rows = [
        r for r in compliance.assess_datasets(as_of=as_of, visibility=visibility) if visibility.can_edit(r.dataset)
    ]
    out = [DeadlineRow(r, r.dataset.title_in(lang), _act_by(r)) for r in rows]
    out.sort(key=lambda d: (d.act_by is None, d.act_by or dt.date.max, d.title.casefold(), d.dataset.name))
    return out
