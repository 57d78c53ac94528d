"""Compliance of the scheduled datasets: read in a few queries, assessed by the engine, filtered by visibility.

Everything that shows a status (the page, the actions, the exports, the badges, the facet, the calendar, the
reminders) goes through `assess_datasets`, so they all agree with each other and with the engine.
Statuses are computed live, not stored: a dataset becomes overdue at midnight without anyone touching it.
The assessments of the whole portal are cached per process and reused until the data change (a cheap
fingerprint query decides), which keeps a 10,000-dataset portal's compliance page fast.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import defaultdict
from typing import Any, Iterable, Optional

import sqlalchemy as sa

import ckan.authz as authz
import ckan.model as model

from ckanext.mes_schedule import schedule, settings
from ckanext.mes_schedule.model import Event, Publication

__all__ = [
    "ScheduledDataset",
    "ComplianceRow",
    "Visibility",
    "visibility_for",
    "scheduled_datasets",
    "publications_by_package",
    "events_by_package",
    "assess_datasets",
    "today",
]

log = logging.getLogger(__name__)

# Extras the compliance pages need, beside the package table's own columns.
_EXTRA_KEYS = (
    "mes_schedule_item",
    "mes_schedule_rule",
    "mes_schedule_frequency",
    "mes_schedule_deadline_kk",
    "title_ru",
    "title_en",
)


def today() -> dt.date:
    """Today in Kazakhstan (Asia/Almaty), whatever the server's time zone."""
    return schedule.local_date(dt.datetime.now(dt.timezone.utc))


@dataclasses.dataclass(frozen=True)
class ScheduledDataset:
    id: str
    name: str
    title: str
    title_ru: str
    title_en: str
    owner_org: Optional[str]
    private: bool
    maintainer_email: str
    item: Optional[int]
    rule_text: str
    frequency: str
    deadline_kk: str

    def title_in(self, lang: str) -> str:
        return {"ru": self.title_ru, "en": self.title_en}.get(lang) or self.title or self.name


@dataclasses.dataclass(frozen=True)
class ComplianceRow:
    dataset: ScheduledDataset
    assessment: schedule.Assessment
    rule: Optional[schedule.Rule]

    @property
    def status(self) -> str:
        return self.assessment.status


def _package_columns() -> list[Any]:
    p = model.package_table
    return [p.c.id, p.c.name, p.c.title, p.c.owner_org, p.c.private, p.c.maintainer_email]


def _has_extras_column() -> bool:
    # CKAN 2.12 keeps extras in a JSONB column of the package table; 2.11 in the package_extra table.
    return "extras" in model.package_table.c


def scheduled_datasets(
    package_ids: Optional[Iterable[str]] = None, organization_ids: Optional[Iterable[str]] = None
) -> list[ScheduledDataset]:
    """Active datasets that carry an item number of the order, in one or two queries."""
    p = model.package_table
    conditions = [p.c.state == "active", p.c.type == "dataset"]
    if package_ids is not None:
        conditions.append(p.c.id.in_(list(package_ids)))
    if organization_ids is not None:
        conditions.append(p.c.owner_org.in_(list(organization_ids)))
    if _has_extras_column():
        conditions.append(p.c.extras.has_key("mes_schedule_item"))  # noqa: W601 (JSONB ? operator)
        rows = model.Session.execute(sa.select(*_package_columns(), p.c.extras).where(*conditions)).all()
        extras_by_id = {r.id: (r.extras or {}) for r in rows}
    else:
        e = model.package_extra_table
        rows = model.Session.execute(
            sa.select(*_package_columns())
            .where(*conditions)
            .where(
                sa.exists().where(
                    e.c.package_id == p.c.id, e.c.key == "mes_schedule_item", e.c.state == "active"
                )
            )
        ).all()
        extras_by_id: dict[str, dict[str, str]] = defaultdict(dict)
        if rows:
            for pid, key, value in model.Session.execute(
                sa.select(e.c.package_id, e.c.key, e.c.value).where(
                    e.c.package_id.in_([r.id for r in rows]), e.c.key.in_(_EXTRA_KEYS), e.c.state == "active"
                )
            ):
                extras_by_id[pid][key] = value
    out = []
    for r in rows:
        extras = extras_by_id.get(r.id, {})
        item = str(extras.get("mes_schedule_item") or "").strip()
        out.append(
            ScheduledDataset(
                id=r.id,
                name=r.name,
                title=r.title or "",
                title_ru=extras.get("title_ru") or "",
                title_en=extras.get("title_en") or "",
                owner_org=r.owner_org,
                private=bool(r.private),
                maintainer_email=r.maintainer_email or "",
                item=int(item) if item.isdigit() else None,
                rule_text=extras.get("mes_schedule_rule") or "",
                frequency=extras.get("mes_schedule_frequency") or "",
                deadline_kk=extras.get("mes_schedule_deadline_kk") or "",
            )
        )
    return out


def publications_by_package(package_ids: Optional[Iterable[str]] = None) -> dict[str, list[dt.datetime]]:
    """Publication timestamps (naive UTC) per dataset, in one query."""
    query = sa.select(Publication.package_id, Publication.published_at)
    if package_ids is not None:
        query = query.where(Publication.package_id.in_(list(package_ids)))
    out: dict[str, list[dt.datetime]] = defaultdict(list)
    for pid, when in model.Session.execute(query):
        out[pid].append(when)
    return out


def events_by_package(package_ids: Optional[Iterable[str]] = None) -> dict[str, list[dt.date]]:
    query = sa.select(Event.package_id, Event.event_date)
    if package_ids is not None:
        query = query.where(Event.package_id.in_(list(package_ids)))
    out: dict[str, list[dt.date]] = defaultdict(list)
    for pid, day in model.Session.execute(query):
        out[pid].append(day)
    return out


# ------------------------------------------------------------------------------------------- visibility


@dataclasses.dataclass(frozen=True)
class Visibility:
    """What one user may see: public datasets, plus private ones of their organisations (or all, for a
    sysadmin), plus those they collaborate on."""

    sysadmin: bool
    organization_ids: frozenset[str]
    collaborations: frozenset[str]
    editable_organization_ids: frozenset[str] = frozenset()

    def can_see(self, ds: ScheduledDataset) -> bool:
        return (
            not ds.private
            or self.sysadmin
            or (ds.owner_org in self.organization_ids)
            or ds.id in self.collaborations
        )

    def can_edit(self, ds: ScheduledDataset) -> bool:
        return self.sysadmin or ds.owner_org in self.editable_organization_ids or ds.id in self.collaborations


def visibility_for(user_name: Optional[str]) -> Visibility:
    if not user_name:
        return Visibility(False, frozenset(), frozenset())
    user = model.User.get(user_name)
    if user is None:
        return Visibility(False, frozenset(), frozenset())
    if user.sysadmin:
        return Visibility(True, frozenset(), frozenset())
    m = model.member_table
    g = model.group_table
    memberships = model.Session.execute(
        sa.select(m.c.group_id, m.c.capacity)
        .join(g, g.c.id == m.c.group_id)
        .where(
            m.c.table_name == "user",
            m.c.table_id == user.id,
            m.c.state == "active",
            g.c.is_organization.is_(True),
            g.c.state == "active",
        )
    ).all()
    orgs = frozenset(r.group_id for r in memberships)
    editable = frozenset(r.group_id for r in memberships if r.capacity in ("editor", "admin"))
    collaborations: frozenset[str] = frozenset()
    if authz.check_config_permission("allow_dataset_collaborators"):
        pc = model.package_collaborator_table
        collaborations = frozenset(
            pid for (pid,) in model.Session.execute(sa.select(pc.c.package_id).where(pc.c.user_id == user.id))
        )
    return Visibility(False, orgs, collaborations, editable)


# ------------------------------------------------------------------------------------------- assessment


def _assess(
    ds: ScheduledDataset,
    publications: Iterable[dt.datetime],
    events: Iterable[dt.date],
    as_of: dt.date,
    start: dt.date,
    calendar: schedule.WorkCalendar,
    due_soon_days: int,
) -> ComplianceRow:
    try:
        rule: Optional[schedule.Rule] = schedule.parse_rule(ds.rule_text)
    except ValueError:
        # Validation keeps bad rules out; one written before it (or by hand in the database) has no deadline
        # we could defend, so it is reported as such rather than guessed.
        log.warning("dataset %s has an invalid deadline rule %r", ds.name, ds.rule_text)
        rule = None
    rule_for_engine = rule or schedule.parse_rule("as-established")
    assessment = schedule.assess(
        rule_for_engine,
        publications,
        as_of=as_of,
        events=events,
        due_soon_days=due_soon_days,
        start=start,
        calendar=calendar,
    )
    return ComplianceRow(ds, assessment, rule)


_cache_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[ComplianceRow]]] = {}


def _fingerprint_query() -> tuple[Any, ...]:
    """Changes whenever anything the assessments depend on changes: datasets, publications, events."""
    p = model.package_table
    package_part = model.Session.execute(sa.select(sa.func.count(), sa.func.max(p.c.metadata_modified))).one()
    publication_part = model.Session.execute(
        sa.select(sa.func.count(Publication.id), sa.func.max(Publication.published_at), sa.func.max(Publication.id))
    ).one()
    event_part = model.Session.execute(
        sa.select(sa.func.count(Event.id), sa.func.max(Event.created_at), sa.func.max(Event.id))
    ).one()
    return (*package_part, *publication_part, *event_part)


def assess_datasets(
    as_of: Optional[dt.date] = None,
    package_ids: Optional[Iterable[str]] = None,
    organization_ids: Optional[Iterable[str]] = None,
    visibility: Optional[Visibility] = None,
) -> list[ComplianceRow]:
    """Every active scheduled dataset (optionally only some), assessed on `as_of`, that `visibility` allows
    (all of them when it is None: callers that show anything to a user must pass one)."""
    as_of = as_of or today()
    start, calendar, due_soon = settings.start_date(), settings.calendar(), settings.due_soon_days()
    whole_portal = package_ids is None and organization_ids is None
    rows: Optional[list[ComplianceRow]] = None
    if whole_portal:
        key = (as_of, start, id(calendar), due_soon)
        fingerprint = _fingerprint_query()
        with _cache_lock:
            cached = _cache.get(key)
        if cached and cached[0] == fingerprint:
            rows = cached[1]
    if rows is None:
        datasets = scheduled_datasets(package_ids, organization_ids)
        ids = [d.id for d in datasets]
        # One query each; on the whole portal no id list is sent at all.
        pubs = publications_by_package(None if whole_portal else ids)
        evs = events_by_package(None if whole_portal else ids)
        rows = [_assess(d, pubs.get(d.id, ()), evs.get(d.id, ()), as_of, start, calendar, due_soon) for d in datasets]
        if whole_portal:
            with _cache_lock:
                if len(_cache) > 16:  # a few dates in use at once (today, and as_of queries)
                    _cache.clear()
                _cache[key] = (fingerprint, rows)
    if visibility is not None:
        rows = [r for r in rows if visibility.can_see(r.dataset)]
    return rows
