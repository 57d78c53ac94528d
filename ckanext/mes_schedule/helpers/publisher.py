"""Template helpers for publishers, and the data behind "My deadlines" and the upload outlook.

Statuses and period outcomes come from `compliance.assess_datasets`; nothing here recomputes them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from flask import has_request_context, request

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, localization, schedule, vocab
from ckanext.mes_schedule.model import RETRACTION, Publication, package_items

__all__ = [
    "mes_schedule_upload_outlook",
    "mes_schedule_deadline_status_label",
    "mes_schedule_period_label",
    "mes_schedule_long_date",
    "mes_schedule_covers_choices",
    "mes_schedule_upload_url",
    "mes_schedule_resource_form_data",
]

# The query argument of the new-resource form that pre-selects the period an upload is for (the resource
# field of the same name: logic/validators.py, mes_schedule_covers_declared).
COVERS_ARG = "mes_schedule_covers"

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
    package_id: str, as_of: Optional[dt.date] = None, lang: str = "en", covers: Optional[str] = None
) -> Optional[dict[str, Any]]:
    """For a scheduled dataset: the next deadline, the period an upload made on `as_of` counts for, and
    whether it would be on time. None for a dataset outside the order. `covers`: the label of the period the
    upload declares (the resource form's choice), when it is one of the dataset's opened periods; by default
    the current period, which an undeclared upload counts for.

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
    # The declared period, else the one containing `today` (an upload now is dated in it).
    current = next((o for o in reversed(a.periods) if o.period.label == covers), a.periods[-1])
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


def mes_schedule_upload_outlook(pkg: dict[str, Any], covers: Optional[str] = None) -> Optional[dict[str, Any]]:
    """See `upload_outlook`; for the dataset page and the new-resource form (their editors only: the caller
    checks package_update or resource_create)."""
    if not isinstance(pkg, dict) or not pkg.get("id") or pkg.get("mes_schedule_item") in (None, ""):
        return None
    return upload_outlook(pkg["id"], lang=localization.ui_lang(), covers=covers or None)


def mes_schedule_upload_url(pkg: Any, period: Optional[schedule.Period] = None) -> str:
    """The new-resource form of a dataset (its dict, or its name), with `period` pre-selected and the name
    pre-filled (`mes_schedule_resource_form_data`)."""
    name = pkg.get("name") if isinstance(pkg, dict) else str(pkg)
    package_type = (pkg.get("type") if isinstance(pkg, dict) else None) or "dataset"
    args = {COVERS_ARG: period.label} if period is not None else {}
    return tk.h.url_for(f"{package_type}_resource.new", id=name, **args)


def mes_schedule_resource_form_data(pkg: Any, data: Optional[dict[str, Any]]) -> dict[str, Any]:
    """What the new-resource form shows. A form sent back (with errors) keeps what was typed; a fresh form
    opened from an "Upload data for ..." link pre-selects the period of its `mes_schedule_covers` argument and
    names the resource after it, in the page's language. An argument that is not one of the dataset's
    periods is ignored (the form then selects the current period, as without it)."""
    if data:
        return data
    label = (request.args.get(COVERS_ARG) or "").strip() if has_request_context() else ""
    package_id = pkg.get("id") if isinstance(pkg, dict) else None
    if not label or not package_id:
        return {}
    period = next((p for p in compliance.coverable_periods(package_id) if p.label == label), None)
    if period is None:
        return {}
    words = localization.period_in_words(period, localization.ui_lang())
    return {COVERS_ARG: period.label, "name": words[:1].upper() + words[1:]}  # a name: "Quarter III of 2026"


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

    @property
    def upload_period(self) -> Optional[schedule.Period]:
        """The period an upload made now counts for (None: the schedule has none now)."""
        a = self.row.assessment
        return a.periods[-1].period if a.current is not None and a.periods else None


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


def deadline_filter_options(rows: list[DeadlineRow], lang: str) -> dict[str, list[dict[str, Any]]]:
    """The statuses and organisations of `rows` with how many rows each has, for the filters of "My
    deadlines" (only values that select something; statuses in their order of severity)."""
    statuses: dict[str, int] = {}
    organizations: dict[str, int] = {}
    for d in rows:
        statuses[d.status] = statuses.get(d.status, 0) + 1
        if d.dataset.owner_org:
            organizations[d.dataset.owner_org] = organizations.get(d.dataset.owner_org, 0) + 1
    groups = model.Session.query(model.Group).filter(model.Group.id.in_(list(organizations))).all()
    org_options = []
    for group in groups:
        extras = group.extras or {}
        title = (extras.get(f"title_{lang}") if lang != "kk" else None) or group.title or group.name
        org_options.append({"value": group.name, "id": group.id, "label": title, "count": organizations[group.id]})
    return {
        "statuses": [
            {"value": s, "label": vocab.status_label(s, lang), "count": statuses[s]}
            for s in schedule.STATUSES if s in statuses
        ],
        "organizations": sorted(org_options, key=lambda o: str(o["label"]).casefold()),
    }


# ------------------------------------------------------------------------------------------- after login


def edits_scheduled_datasets(user_name: str) -> bool:
    """Whether the user is an editor or admin of an organisation that holds a scheduled dataset, or an editor
    of one as a collaborator: those land on "My deadlines" after login. Being a sysadmin is not enough (a
    sysadmin may edit every dataset, but publishing is the organisations' work)."""
    user = model.User.get(user_name) if user_name else None
    if user is None:
        return False
    m, g = model.member_table, model.group_table
    organization_ids = [
        group_id for (group_id,) in model.Session.execute(
            sa.select(m.c.group_id).join(g, g.c.id == m.c.group_id).where(
                m.c.table_name == "user", m.c.table_id == user.id, m.c.state == "active",
                m.c.capacity.in_(("editor", "admin")), g.c.is_organization.is_(True), g.c.state == "active",
            )
        )
    ]
    if organization_ids and compliance.scheduled_datasets(organization_ids=organization_ids):
        return True
    if not authz.check_config_permission("allow_dataset_collaborators"):
        return False
    pm = model.PackageMember
    collaborations = [
        package_id for (package_id,) in model.Session.execute(
            sa.select(pm.package_id).where(pm.user_id == user.id, pm.capacity.in_(("editor", "admin")))
        )
    ]
    return bool(collaborations) and bool(compliance.scheduled_datasets(package_ids=collaborations))


# ------------------------------------------------------------------------------------ what an upload recorded


def publication_mark(package_id: str) -> Optional[tuple[int, int]]:
    """The dataset's item and the last place in its publication chain, before a form is saved (None for a
    dataset outside the order): `recorded_since` then finds what the save recorded."""
    package = model.Package.get(package_id)
    if package is None:
        return None
    item = package_items([package.id], states=None).get(package.id)
    if item is None:
        return None
    last = model.Session.execute(sa.select(sa.func.max(Publication.seq)).where(Publication.item == item)).scalar()
    return item, int(last or 0)


@dataclasses.dataclass(frozen=True)
class Recorded:
    """How a publication counts: for `period` (None: the dataset has no period for it), on time or `late_by`
    days, or as an update of a period first published on `first_published`."""

    day: dt.date
    period: Optional[schedule.Period]
    late_by: int = 0
    first_published: Optional[dt.date] = None


def recorded_since(package_id: str, mark: tuple[int, int], user_id: Optional[str]) -> Optional[Recorded]:
    """What the first publication of the item recorded after `mark` by `user_id` counts for, as the engine now
    assesses the dataset (so the message agrees with the status the dataset page shows); None if none."""
    item, last = mark
    conditions = [Publication.item == item, Publication.seq > last, Publication.kind != RETRACTION]
    if user_id:
        conditions.append(Publication.user_id == user_id)
    row = model.Session.execute(
        sa.select(Publication.published_at, Publication.covers).where(*conditions).order_by(Publication.seq).limit(1)
    ).first()
    if row is None:
        return None
    day = schedule.local_date(row.published_at)
    rows = compliance.assess_datasets(package_ids=[package_id])
    periods = rows[0].assessment.periods if rows else ()
    if row.covers:
        outcome = next((o for o in reversed(periods) if o.period.label == row.covers), None)
    else:
        outcome = next((o for o in reversed(periods) if o.period.contains(day)), None)
    if outcome is None:
        return Recorded(day, None)
    period = outcome.period
    if outcome.first_published is not None and outcome.first_published < day:
        return Recorded(day, period, first_published=outcome.first_published)
    return Recorded(day, period, late_by=max(0, (day - period.due).days))
