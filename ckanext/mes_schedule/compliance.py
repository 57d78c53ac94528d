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
import hashlib
import logging
import threading
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional, Union

import sqlalchemy as sa

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import amendments, schedule, settings, vocab

# `today` is the compliance API's notion of the current date; its one home is localization.
from ckanext.mes_schedule.localization import today
from ckanext.mes_schedule.model import (
    RETRACTION,
    Event,
    Publication,
    RuleVersionRow,
    extras_in_column,
    package_items,
)

__all__ = [
    "ScheduledDataset",
    "ComplianceRow",
    "Visibility",
    "visibility_for",
    "scheduled_datasets",
    "publications_by_item",
    "events_by_item",
    "publications_by_package",
    "events_by_package",
    "assess_datasets",
    "matches",
    "record_fingerprint",
    "organizations_fingerprint",
    "coverable_periods",
    "check_covers",
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


def scheduled_datasets(
    package_ids: Optional[Iterable[str]] = None, organization_ids: Optional[Iterable[str]] = None
) -> list[ScheduledDataset]:
    """Active datasets that hold an item number of the order, in one or two queries.

    Only those are on the record: a dataset whose item field is empty (the form posts it so) is not."""
    p = model.package_table
    conditions = [p.c.state == "active", p.c.type == "dataset"]
    if package_ids is not None:
        conditions.append(p.c.id.in_(list(package_ids)))
    if organization_ids is not None:
        conditions.append(p.c.owner_org.in_(list(organization_ids)))
    if extras_in_column(model.package_table):
        conditions.append(p.c.extras.has_key("mes_schedule_item"))  # noqa: W601 (JSONB ? operator)
        conditions.append(sa.func.trim(p.c.extras["mes_schedule_item"].astext) != "")
        rows = model.Session.execute(sa.select(*_package_columns(), p.c.extras).where(*conditions)).all()
        extras_by_id: dict[str, dict[str, str]] = {r.id: (r.extras or {}) for r in rows}
    else:
        e = model.package_extra_table
        rows = model.Session.execute(
            sa.select(*_package_columns())
            .where(*conditions)
            .where(
                sa.exists().where(
                    e.c.package_id == p.c.id, e.c.key == "mes_schedule_item", e.c.state == "active",
                    sa.func.trim(e.c.value) != "",
                )
            )
        ).all()
        extras_by_id = defaultdict(dict)
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
        if not item.isdigit():
            continue  # not an item number (a legacy value): not on the record
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
                item=int(item),
                rule_text=extras.get("mes_schedule_rule") or "",
                frequency=extras.get("mes_schedule_frequency") or "",
                deadline_kk=extras.get("mes_schedule_deadline_kk") or "",
            )
        )
    return out


def _effective(cls: Any) -> list[Any]:
    """Rows that count: not a retraction, and not superseded by one (the record is append-only)."""
    superseded = sa.select(cls.supersedes).where(cls.supersedes.is_not(None))
    return [cls.kind != RETRACTION, cls.id.not_in(superseded), cls.item.is_not(None)]


def _dates_by_item(column: Any, items: Optional[Iterable[int]]) -> dict[int, list[Any]]:
    """The values of one date column of the record's rows that count, per item, in one query (all items when
    None). Publications and events are read the same way."""
    cls = column.class_
    query = sa.select(cls.item, column).where(*_effective(cls))
    if items is not None:
        query = query.where(cls.item.in_(list(items)))
    out: dict[int, list[Any]] = defaultdict(list)
    for item, value in model.Session.execute(query):
        out[item].append(value)
    return out


Dated = Union[dt.datetime, schedule.Publication]


def publications_by_item(items: Optional[Iterable[int]] = None) -> dict[int, list[Dated]]:
    """Publication timestamps (naive UTC) per item of the order; a publication that declares the period it
    covers is given to the engine as a `schedule.Publication` carrying that period (model, section 6)."""
    query = sa.select(Publication.item, Publication.published_at, Publication.covers).where(
        *_effective(Publication)
    )
    if items is not None:
        query = query.where(Publication.item.in_(list(items)))
    out: dict[int, list[Dated]] = defaultdict(list)
    for item, at, covers in model.Session.execute(query):
        out[item].append(schedule.Publication(at, covers) if covers else at)
    return out


def events_by_item(items: Optional[Iterable[int]] = None) -> dict[int, list[dt.date]]:
    """Dates of the recorded (not retracted) triggering events per item."""
    return _dates_by_item(Event.event_date, items)


def _by_package(read: Callable[[Optional[Iterable[int]]], dict[int, list[Any]]],
                package_ids: Optional[Iterable[str]]) -> dict[str, list[Any]]:
    # The record belongs to the item: a dataset sees the rows of the item it holds now, and a dataset that
    # holds none (or a new one that reuses a purged dataset's id) has no record.
    holders = package_items(package_ids)
    by_item = read(set(holders.values()) if package_ids is not None else None)
    return {pid: by_item[item] for pid, item in holders.items() if item in by_item}


def publications_by_package(package_ids: Optional[Iterable[str]] = None) -> dict[str, list[Dated]]:
    """Publication timestamps (naive UTC) per active dataset, from the item each holds."""
    return _by_package(publications_by_item, package_ids)


def events_by_package(package_ids: Optional[Iterable[str]] = None) -> dict[str, list[dt.date]]:
    """Event dates per active dataset, from the item each holds."""
    return _by_package(events_by_item, package_ids)


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
        member = model.PackageMember
        collaborations = frozenset(
            model.Session.scalars(sa.select(member.package_id).where(member.user_id == user.id))
        )
    return Visibility(False, orgs, collaborations, editable)


# ------------------------------------------------------------------------------------------- assessment


def _assess(
    ds: ScheduledDataset,
    publications: Iterable[Dated],
    events: Iterable[dt.date],
    as_of: dt.date,
    start: dt.date,
    calendar: schedule.WorkCalendar,
    due_soon_days: int,
    versions: Optional[list[tuple[dt.date, schedule.Rule]]] = None,
) -> ComplianceRow:
    if versions:
        # The item's stored versions (amendments apply forward); the row's rule is the one in force on as_of.
        assessment = schedule.assess(
            versions, publications, as_of=as_of, events=events, due_soon_days=due_soon_days, start=start,
            calendar=calendar,
        )
        return ComplianceRow(ds, assessment, assessment.rule)
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


def record_fingerprint() -> tuple[Any, ...]:
    """Changes whenever anything an assessment depends on changes: datasets (any edit moves
    metadata_modified), the publication and event records (append-only: their count and latest row), the
    stored rule versions, and the schedule's settings. Guards this process's cache of assessments and the
    pages every web node shares (page_cache)."""
    p = model.package_table
    aggregates = [
        (sa.func.count(), p), (sa.func.max(p.c.metadata_modified), p),
        (sa.func.count(Publication.id), None), (sa.func.max(Publication.id), None),
        (sa.func.count(Event.id), None), (sa.func.max(Event.id), None),
        (sa.func.count(RuleVersionRow.id), None), (sa.func.max(RuleVersionRow.created_at), None),
    ]
    # One round trip: every page of the record (and each hit of the shared page cache) asks this first.
    columns = [
        (sa.select(aggregate).select_from(table) if table is not None else sa.select(aggregate)).scalar_subquery()
        for aggregate, table in aggregates
    ]
    parts = [model.Session.execute(sa.select(*columns)).one()]
    calendar = settings.calendar()
    config = (
        settings.start_date(), settings.due_soon_days(), sorted(calendar.extra_non_working),
        sorted(calendar.extra_working),
    )
    return (*(value for part in parts for value in part), *config)


def organizations_fingerprint() -> str:
    """Changes whenever an organisation's name or title (in any language) changes: the downloads show them."""
    g = model.group_table
    in_column = extras_in_column(g)
    columns = [g.c.id, g.c.name, g.c.title, g.c.state, *([g.c.extras] if in_column else [])]
    digest = hashlib.sha256()
    for row in model.Session.execute(sa.select(*columns).where(g.c.is_organization.is_(True)).order_by(g.c.id)):
        digest.update(repr(tuple(row)).encode())
    if not in_column:
        e = model.group_extra_table
        query = sa.select(e.c.group_id, e.c.key, e.c.value, e.c.state).where(e.c.key.like("title_%"))
        for row in model.Session.execute(query.order_by(e.c.group_id, e.c.key)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


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
        fingerprint = record_fingerprint()
        with _cache_lock:
            cached = _cache.get(key)
        if cached and cached[0] == fingerprint:
            rows = cached[1]
    if rows is None:
        datasets = scheduled_datasets(package_ids, organization_ids)
        items = {d.item for d in datasets if d.item is not None}
        # One query each; on the whole portal no item list is sent at all. The record is the item's.
        pubs = publications_by_item(None if whole_portal else items)
        evs = events_by_item(None if whole_portal else items)
        stored = amendments.stored_versions(None if whole_portal else items)
        rows = [
            _assess(
                d, pubs.get(d.item or 0, ()), evs.get(d.item or 0, ()), as_of, start, calendar, due_soon,
                amendments.versions_for_engine(stored.get(d.item or 0, ())),
            )
            for d in datasets
        ]
        if whole_portal:
            with _cache_lock:
                if len(_cache) > 16:  # a few dates in use at once (today, and as_of queries)
                    _cache.clear()
                _cache[key] = (fingerprint, rows)
    if visibility is not None:
        rows = [r for r in rows if visibility.can_see(r.dataset)]
    return rows


def matches(row: ComplianceRow, frequency: Optional[str] = None, q: Optional[str] = None) -> bool:
    """Whether a row passes the compliance page's filters: its frequency (a code or URI) and a text found in
    any of its titles or its name (case-insensitive). The list action and the charts' counts share it."""
    ds = row.dataset
    if frequency and vocab.frequency_code(ds.frequency) != vocab.frequency_code(frequency):
        return False
    needle = (q or "").strip().casefold()
    titles = (ds.title, ds.title_ru, ds.title_en, ds.name)
    return not needle or any(needle in (text or "").casefold() for text in titles)


# ------------------------------------------------------------------------------------------ declared coverage


def coverable_periods(package_id: str, as_of: Optional[dt.date] = None) -> list[schedule.Period]:
    """The periods a publication of this dataset may declare it covers (model, section 6): those opened by
    `as_of` (default today), the current one first. Empty for a dataset without periods."""
    rows = assess_datasets(as_of, package_ids=[package_id])
    if not rows:
        return []
    return [outcome.period for outcome in reversed(rows[0].assessment.periods)]


def check_covers(package_id: str, label: Any, field: str) -> Optional[str]:
    """The declared period `label` if it is one of the dataset's coverable periods; None when nothing is
    declared; otherwise a ValidationError naming `field`."""
    if label is None or label == "":
        return None
    labels = [period.label for period in coverable_periods(package_id)]
    if isinstance(label, str) and label.strip() in labels:
        return label.strip()
    if not labels:
        message = tk._("This dataset has no reporting periods to declare.")
    else:
        message = tk._("Not one of this dataset's reporting periods: choose one of {periods}.").format(
            periods=", ".join(labels[:12])
        )
    raise tk.ValidationError({field: [message]})
