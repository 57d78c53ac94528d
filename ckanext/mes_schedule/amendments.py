"""Amendments apply forward: the stored versions of each item's rule, and the events the act itself names.

A period is judged by the rule in force when its window opened (compliance model, section 7). The versions live in
the append-only table `mes_schedule_rule_version`: `seed` records those of the order's data file (source `act`), a
sysadmin's change of a dataset's rule records a new version effective from today (source `sysadmin`).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any, Iterable, Mapping, Optional, cast

import sqlalchemy as sa

import ckan.authz as authz
import ckan.model as model

from ckanext.mes_schedule import history, schedule, settings
from ckanext.mes_schedule.localization import today
from ckanext.mes_schedule.model import RETRACTION, Event, RuleVersionRow, package_items, user_id

__all__ = [
    "stored_versions",
    "versions_for_engine",
    "record_version",
    "record_order_versions",
    "record_act_events",
    "after_dataset_change",
]

log = logging.getLogger(__name__)


#: A stored version as read: a read-only row of `mes_schedule_rule_version` with its columns as attributes
#: (item, effective_from, rule, deadline_kk, source, created_by, created_at, id).
StoredVersion = Any


def stored_versions(items: Optional[Iterable[int]] = None) -> dict[int, list[StoredVersion]]:
    """The stored versions per item, by effective date; of several on one date the latest written wins."""
    # Core rows, not ORM objects: the whole portal's read is one row per item (10^5 on a large portal), where
    # building ORM instances cost several times the query. The rows are append-only: nothing edits them.
    table = RuleVersionRow.__table__.c
    query = sa.select(RuleVersionRow.__table__).order_by(table.item, table.effective_from, table.created_at)
    if items is not None:
        query = query.where(table.item.in_(list(items)))
    by_date: dict[int, dict[dt.date, StoredVersion]] = defaultdict(dict)
    for row in model.Session.connection().execute(query):
        by_date[row.item][row.effective_from] = row
    return {item: [days[d] for d in sorted(days)] for item, days in by_date.items()}


def versions_for_engine(rows: Iterable[RuleVersionRow]) -> list[tuple[dt.date, schedule.Rule]]:
    """`(effective_from, rule)` pairs for `schedule.assess`; a stored rule that does not parse is skipped."""
    out = []
    for row in rows:
        try:
            out.append((cast(dt.date, row.effective_from), schedule.parse_rule(str(row.rule))))
        except ValueError:
            log.warning("item %s has an invalid stored rule %r (from %s)", row.item, row.rule, row.effective_from)
    return out


def _in_force_today(item: int) -> Optional[RuleVersionRow]:
    """The stored version in force today (a future one from the data file is not yet), or None."""
    rows = stored_versions([item]).get(item) or []
    if not rows:
        return None
    current = rows[0]
    for row in rows[1:]:
        if row.effective_from > today():
            break
        current = row
    return current


def record_version(
    item: int,
    effective_from: dt.date,
    rule: str,
    source: str,
    deadline_kk: Optional[str] = None,
    created_by: Optional[str] = None,
) -> bool:
    """Add a version unless the same rule is already stored for the item from that date; True when added."""
    exists = model.Session.execute(
        sa.select(RuleVersionRow.id).where(
            RuleVersionRow.item == item, RuleVersionRow.effective_from == effective_from, RuleVersionRow.rule == rule
        )
    ).first()
    if exists:
        return False
    model.Session.add(
        RuleVersionRow(
            item=item, effective_from=effective_from, rule=rule, deadline_kk=deadline_kk, source=source,
            created_by=created_by,
        )
    )
    return True


def record_order_versions(item: schedule.Item, created_by: Optional[str] = None) -> int:
    """Record the data file's versions of an item (missing ones only); the first applies from the schedule start."""
    added = 0
    for position, version in enumerate(item.rule_versions):
        day = settings.start_date() if position == 0 else version.effective_from
        deadline = item.deadline_kk if position == 0 else (item.deadline_versions_kk[position] or None)
        if _stored_as(item.number, day, version.rule):
            continue
        added += record_version(item.number, day, str(version.rule), "act", deadline, created_by)
    return added


def _stored_as(number: int, day: dt.date, rule: schedule.Rule) -> bool:
    """A version with this date and (equivalent) rule is stored already."""
    for row in stored_versions([number]).get(number, []):
        if row.effective_from == day and _same_rule(str(row.rule), rule):
            return True
    return False


def _same_rule(text: str, rule: schedule.Rule) -> bool:
    try:
        return schedule.parse_rule(text) == rule
    except ValueError:
        return False


def record_act_events(item: schedule.Item, package_id: str, created_by: Optional[str] = None) -> int:
    """Record the events the act names for the item (missing dates only), marked as coming from the act."""
    if not item.events:
        return 0
    history.lock_item(item.number)
    recorded = set(
        model.Session.scalars(
            sa.select(Event.event_date).where(
                Event.item == item.number, Event.kind != RETRACTION,
                Event.id.not_in(sa.select(Event.supersedes).where(Event.supersedes.is_not(None))),
            )
        )
    )
    added = 0
    for event in item.events:
        if event.date in recorded:
            continue
        model.Session.add(
            Event(
                package_id=package_id, item=item.number, event_date=event.date, note=event.note,
                created_by=created_by, source="act",
            )
        )
        added += 1
    if added:
        model.Session.flush()
    return added


def after_dataset_change(context: Mapping[str, Any], pkg_dict: Mapping[str, Any]) -> None:
    """After a dataset is created or updated: a rule that differs from the item's latest stored version is a
    sysadmin's amendment, effective from today (Almaty). The validators let only sysadmins change the rule."""
    rule_text = str(pkg_dict.get("mes_schedule_rule") or "").strip()
    item = package_items([pkg_dict["id"]]).get(pkg_dict["id"]) if pkg_dict.get("id") else None
    if item is None or not rule_text:
        return
    try:
        rule = schedule.parse_rule(rule_text)
    except ValueError:
        return
    latest = _in_force_today(item)
    if latest is not None and _same_rule(str(latest.rule), rule):
        return
    deadline = pkg_dict.get("mes_schedule_deadline_kk") or None
    if latest is None:
        # The item's first version: it applies from the schedule start.
        day, source = settings.start_date(), "act"
    else:
        day, source = today(), "sysadmin"
    if source == "sysadmin" and not authz.is_sysadmin(context.get("user")):
        log.warning("rule of item %s changed to %r by a non-sysadmin: not recorded", item, rule_text)
        return
    record_version(item, day, rule_text, source, deadline, user_id(context))
    model.Session.flush()
