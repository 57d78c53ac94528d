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
    "change_version",
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


def _rows(query: Any) -> Any:
    """A Core query's rows, on the session's connection (its transaction: what it flushed is seen).

    The whole portal's reads return 10^5 rows and more: an ORM-enabled execution (model.Session.execute, ORM
    attributes) costs more than the query itself there, a Core one on the same connection does not."""
    return model.Session.connection().execute(query)


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
        # Only the extras needed, as text, extracted by PostgreSQL: decoding every dataset's whole extras
        # document in Python was most of this read's time on a large portal.
        extracted = [p.c.extras[key].astext for key in _EXTRA_KEYS]
        rows = _rows(sa.select(*_package_columns(), *extracted).where(*conditions)).all()
        width = len(_package_columns())
        extras_by_id: dict[str, dict[str, str]] = {
            r[0]: dict(zip(_EXTRA_KEYS, r[width:], strict=True)) for r in rows
        }
    else:
        e = model.package_extra_table
        rows = _rows(
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
            for pid, key, value in _rows(
                sa.select(e.c.package_id, e.c.key, e.c.value).where(
                    e.c.package_id.in_([r.id for r in rows]), e.c.key.in_(_EXTRA_KEYS), e.c.state == "active"
                )
            ):
                extras_by_id[pid][key] = value
    out = []
    for r in rows:
        # (by position: on 10^5 rows, attribute access on SQLAlchemy rows shows in the profile)
        pid, name, title, owner_org, private, maintainer_email = r[:6]
        extras = extras_by_id.get(pid, {})
        item = str(extras.get("mes_schedule_item") or "").strip()
        if not item.isdigit():
            continue  # not an item number (a legacy value): not on the record
        out.append(
            ScheduledDataset(
                id=pid,
                name=name,
                title=title or "",
                title_ru=extras.get("title_ru") or "",
                title_en=extras.get("title_en") or "",
                owner_org=owner_org,
                private=bool(private),
                maintainer_email=maintainer_email or "",
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
    table = column.class_.__table__.c  # Core columns (see _rows); they have the ORM attributes' names
    query = sa.select(table.item, table[column.key]).where(*_effective(table))
    if items is not None:
        query = query.where(table.item.in_(list(items)))
    out: dict[int, list[Any]] = defaultdict(list)
    for item, value in _rows(query):
        out[item].append(value)
    return out


Dated = Union[dt.datetime, schedule.Publication]


def publications_by_item(items: Optional[Iterable[int]] = None) -> dict[int, list[Dated]]:
    """Publication timestamps (naive UTC) per item of the order; a publication that declares the period it
    covers is given to the engine as a `schedule.Publication` carrying that period (model, section 6)."""
    table = Publication.__table__.c  # Core columns (see _rows)
    query = sa.select(table.item, table.published_at, table.covers).where(*_effective(table))
    if items is not None:
        query = query.where(table.item.in_(list(items)))
    out: dict[int, list[Dated]] = defaultdict(list)
    for item, at, covers in _rows(query):
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
_cache: dict[tuple[Any, ...], "_Kept"] = {}


def change_version() -> tuple[Any, ...]:
    """Moves at every commit that wrote to what the record is built from (datasets, organisations, runtime
    configuration, publications, events, rule versions): the trigger-kept change log of migration f6b8d0e2a4c6,
    read in one indexed query whatever the portal's size. What is cached (this process's assessments, the
    pages every node shares) is trusted while it holds, and checked against the record's own state when not."""
    return tuple(model.Session.execute(sa.text("SELECT max(id), count(*) FROM mes_schedule_change")).one())


def record_fingerprint() -> tuple[Any, ...]:
    """Changes whenever anything an assessment depends on changes: datasets (any edit moves
    metadata_modified), the publication and event records (append-only: their count and latest row), the
    stored rule versions, and the schedule's settings. Read only when change_version has moved: it says whether
    this process's assessments are still right, and its parts say what to read again (_refreshed). The
    downloads' ETags name it too."""
    p = model.package_table
    aggregates = [
        # Deleting a dataset changes its state, not its metadata_modified: the active ones are counted apart.
        (sa.func.count(), p), (sa.func.max(p.c.metadata_modified), p),
        (sa.func.count().filter(p.c.state == "active"), p),
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


def _assess_all(
    datasets: list[ScheduledDataset], whole_portal: bool, as_of: dt.date, start: dt.date,
    calendar: schedule.WorkCalendar, due_soon: int,
) -> list[ComplianceRow]:
    items = {d.item for d in datasets if d.item is not None}
    # One query each; on the whole portal no item list is sent at all. The record is the item's.
    pubs = publications_by_item(None if whole_portal else items)
    evs = events_by_item(None if whole_portal else items)
    stored = amendments.stored_versions(None if whole_portal else items)
    return [
        _assess(
            d, pubs.get(d.item or 0, ()), evs.get(d.item or 0, ()), as_of, start, calendar, due_soon,
            amendments.versions_for_engine(stored.get(d.item or 0, ())),
        )
        for d in datasets
    ]


# A dataset saved in a transaction that commits after a later one carries an earlier metadata_modified than the
# mark it falls behind: everything this close behind the mark is read again.
_MODIFIED_MARGIN = dt.timedelta(minutes=10)


def _record_positions() -> dict[str, dict[int, int]]:
    """Each item's position in the publication and event records (its last chain position) and in the stored
    rule versions (how many). All three are append-only, so an item whose position moved has new rows (ids are
    uuids and dates are the evidence's, not the write's: neither says what is new)."""
    out: dict[str, dict[int, int]] = {}
    for name, cls, position in (
        ("publication", Publication, sa.func.max(Publication.seq)),
        ("event", Event, sa.func.max(Event.seq)),
        ("rule_version", RuleVersionRow, sa.func.count(RuleVersionRow.id)),
    ):
        query = sa.select(cls.item, position).where(cls.item.is_not(None)).group_by(cls.item)
        out[name] = {item: value for item, value in model.Session.execute(query)}
    return out


@dataclasses.dataclass(frozen=True)
class _Kept:
    """The whole portal's assessments as of `fingerprint`, and the record's positions they were made from."""

    fingerprint: tuple[Any, ...]
    rows: list[ComplianceRow]
    positions: dict[str, dict[int, int]]
    change: tuple[Any, ...]


def _refreshed(
    kept: _Kept, fingerprint: tuple[Any, ...], positions: dict[str, dict[int, int]],
    as_of: dt.date, start: dt.date, calendar: schedule.WorkCalendar, due_soon: int,
) -> Optional[list[ComplianceRow]]:
    """`kept`'s rows brought up to `fingerprint` by assessing again only the datasets that changed (edited, or
    whose item has new publications or events), so that the first request after a publication costs what
    changed, not the whole portal. None when only a whole read is safe: a purge or a deletion, other settings,
    or more than half the portal changed."""
    count, modified, active, _, config = _fingerprint_parts(fingerprint)
    old_count, old_modified, old_active, _, old_config = _fingerprint_parts(kept.fingerprint)
    if config != old_config or old_modified is None or count < old_count:
        return None
    p = model.package_table
    new = p.c.metadata_created > old_modified
    created, created_active = model.Session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(p.c.state == "active")).select_from(p).where(new)
    ).one()
    # A purge, or a deletion (which moves no metadata_modified): which dataset is not known, so read all.
    if count - old_count != created or active - old_active != created_active:
        return None
    since = old_modified - _MODIFIED_MARGIN
    changed = set(model.Session.execute(sa.select(p.c.id).where(p.c.metadata_modified > since)).scalars())
    items = {
        item
        for name, now in positions.items()
        for item, seq in now.items()
        if kept.positions.get(name, {}).get(item) != seq
    }
    changed.update(row.dataset.id for row in kept.rows if row.dataset.item in items)
    if len(changed) > len(kept.rows) // 2 + 100:
        return None
    fresh: dict[str, ComplianceRow] = {}
    if changed:
        for row in _assess_all(scheduled_datasets(changed), False, as_of, start, calendar, due_soon):
            fresh[row.dataset.id] = row
    # Same order as before; a dataset no longer scheduled (deleted, item removed) drops out, new ones come last.
    rows = []
    for row in kept.rows:
        if row.dataset.id not in changed:
            rows.append(row)
        elif row.dataset.id in fresh:
            rows.append(fresh.pop(row.dataset.id))
    return rows + list(fresh.values())


def _fingerprint_parts(fingerprint: tuple[Any, ...]) -> tuple[Any, ...]:
    """record_fingerprint's datasets count, latest change and active count, its record part (publications,
    events, rule versions), and the settings (a change there means a whole read)."""
    return (fingerprint[0], fingerprint[1], fingerprint[2], fingerprint[3:9], fingerprint[9:])


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
    if package_ids is not None or organization_ids is not None:
        rows = _assess_all(scheduled_datasets(package_ids, organization_ids), False, as_of, start, calendar, due_soon)
    else:
        key = (as_of, start, id(calendar), due_soon)
        change = change_version()  # read before the data: a commit in between shows as a change next time
        with _cache_lock:
            kept = _cache.get(key)
        fingerprint = None if kept and kept.change == change else record_fingerprint()
        if kept and (fingerprint is None or kept.fingerprint == fingerprint):
            rows = kept.rows
            if fingerprint is not None:  # written, but nothing the assessments read (e.g. a resource)
                with _cache_lock:
                    _cache[key] = dataclasses.replace(kept, change=change)
        else:
            assert fingerprint is not None
            positions = _record_positions()
            refreshed = _refreshed(kept, fingerprint, positions, as_of, start, calendar, due_soon) if kept else None
            rows = refreshed if refreshed is not None else _assess_all(
                scheduled_datasets(), True, as_of, start, calendar, due_soon
            )
            with _cache_lock:
                if len(_cache) > 16:  # a few dates in use at once (today, and as_of queries)
                    _cache.clear()
                _cache[key] = _Kept(fingerprint, rows, positions, change)
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
