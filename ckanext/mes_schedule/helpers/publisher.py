"""Template helpers for publishers, and the data behind "My deadlines" and the upload outlook.

Statuses and period outcomes come from `compliance.assess_datasets`; nothing here recomputes them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, localization, schedule, vocab

__all__ = [
    "mes_schedule_upload_outlook",
    "mes_schedule_deadline_status_label",
    "mes_schedule_period_label",
    "mes_schedule_long_date",
    "mes_schedule_covers_choices",
]

def mes_schedule_long_date(day: Optional[dt.date]) -> str:
    return localization.long_date(day, localization.ui_lang())


def mes_schedule_period_label(period: Optional[schedule.Period]) -> str:
    return localization.period_in_words(period, localization.ui_lang()) if period is not None else ""


def mes_schedule_deadline_status_label(status: Optional[str]) -> str:
    """A compliance status (schedule.STATUSES) in the UI language, in the words of the badges and the
    compliance pages (vocab.STATUS_LABELS): one wording per status across the portal."""
    return vocab.status_label(status or "", localization.ui_lang())


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
    today = a.as_of or localization.today()
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
    if row.rule is None or not row.rule.has_periods:
        return {**out, "case": "no_deadline"}
    if a.current is None:
        if row.rule.is_event and a.next_due is None:
            return {**out, "case": "awaiting_event"}
        return {**out, "case": "not_started"}
    current = a.periods[-1]  # the period containing `today`: an upload now is dated in it
    return {
        **out,
        "case": "period",
        "period": current.period,
        "counts_for": localization.period_in_words(current.period, lang),
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
    return upload_outlook(pkg["id"], lang=localization.ui_lang())


def mes_schedule_covers_choices(package_id: Any) -> list[dict[str, Any]]:
    """The periods an upload to this dataset may declare it covers, the current one first (and selected by
    default: an upload made now counts for it anyway), each with its outcome so far and due date, for the
    resource form's select. Empty for a dataset outside the order or without periods."""
    # (scheming's resource form knows the dataset by its name only)
    package = model.Package.get(package_id) if isinstance(package_id, str) and package_id else None
    if package is None:
        return []
    rows = compliance.assess_datasets(package_ids=[package.id])
    if not rows:
        return []
    lang = localization.ui_lang()
    choices = []
    for outcome in reversed(rows[0].assessment.periods):
        period = outcome.period
        choices.append({
            "value": period.label,
            "text": tk._("{period}, due {due}: {outcome}").format(
                period=localization.period_in_words(period, lang),
                due=localization.long_date(period.due, lang),
                outcome=vocab.outcome_label(outcome.outcome, lang).lower(),
            ),
        })
    return choices


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
