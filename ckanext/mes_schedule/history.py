"""Publication history: every publication of a dataset's data, recorded from CKAN's hooks into our own table.

A publication is a resource created, a data file uploaded or replaced, or a resource URL changed; editing only
metadata (name, description, format...) is not one. Rows are never deleted with the resources, so the history
survives their deletion or replacement.

How changes are detected: a SQLAlchemy `after_flush` listener notes, for every flushed `Resource`, whether it is
new, whether its URL changed and whether a file was uploaded (`last_modified` of an upload changed). This is
exact whatever action made the change (resource_create/update/patch/delete, package_create/update/patch/revise,
reordering): it is the database rows that changed, not the dictionaries the actions pass around. CKAN's
package_create/package_update flush and then call `after_dataset_create/update` before they commit, so
`record_package` writes the rows in the action's own transaction: a rolled back action leaves no publication,
and a committed one always has its publications. The resource hooks (which run after resource_create's and
resource_update's inner package_update committed) only fill a gap if the dataset hook did not record the change,
so one change never gives two rows.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import event

import ckan.model as model
from ckan.types import Context

from ckanext.mes_schedule.model import Publication

__all__ = [
    "remember_before_update",
    "record_resource",
    "record_package",
    "KINDS",
    "BackfillReport",
    "backfill",
]

log = logging.getLogger(__name__)

#: Kinds of publication rows.
KINDS = ("created", "uploaded", "url_changed", "backfill")

# When one flush (or several in one transaction) sees more than one kind of change for a resource, one row is
# written with the most telling kind.
_PRIORITY = {"url_changed": 1, "created": 2, "uploaded": 3}

# session.info keys: changes seen in flushes and not yet recorded; what the resource hooks need to know.
_PENDING = "mes_schedule_pending_publications"
_BEFORE = "mes_schedule_before"

# Backfill: a recorded publication this close to a candidate timestamp is the same change (the hook records
# a few milliseconds after CKAN stamps `created` / `last_modified`).
_SAME_CHANGE = dt.timedelta(minutes=5)


def _utcnow() -> dt.datetime:
    # CKAN stores naive UTC timestamps; so does our table.
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclasses.dataclass
class _Change:
    package_id: str
    kind: str
    url: str


# ------------------------------------------------------------------------------------------ change detection


def _changed(state: Any, attr: str) -> bool:
    # A loaded attribute whose old value was None has no `deleted` entry in SQLAlchemy's history.
    history = state.attrs[attr].history
    if not history.added:
        return False
    old = history.deleted[0] if history.deleted else None
    return history.added[0] != old


def _after_flush(session: Any, flush_context: Any) -> None:
    """Note the publications among the resources this flush wrote (`new` and `dirty` still show the pre-flush
    state and the attribute histories here, and new rows already have their ids)."""
    found: list[tuple[Any, str]] = []
    for obj in session.new:
        if isinstance(obj, model.Resource):
            found.append((obj, "uploaded" if obj.url_type == "upload" else "created"))
    for obj in session.dirty:
        if not isinstance(obj, model.Resource) or obj in session.new:
            continue
        state = sa.inspect(obj)
        if obj.url_type == "upload" and obj.last_modified is not None and _changed(state, "last_modified"):
            found.append((obj, "uploaded"))
        elif _changed(state, "url"):
            found.append((obj, "url_changed"))
    if not found:
        return
    pending: dict[str, _Change] = session.info.setdefault(_PENDING, {})
    for obj, kind in found:
        if not obj.url:
            continue  # a resource without data (or whose link was cleared) publishes nothing
        previous = pending.get(obj.id)
        if previous is None or _PRIORITY[kind] > _PRIORITY[previous.kind]:
            pending[obj.id] = _Change(obj.package_id, kind, obj.url)
        else:
            previous.url = obj.url


def _forget_pending(session: Any, *args: Any) -> None:
    session.info.pop(_PENDING, None)


def _listen() -> None:
    # Registered once per process, on the scoped session CKAN's actions use (as CKAN does in model/meta.py).
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _forget_pending),
        ("after_soft_rollback", _forget_pending),
    ):
        if not event.contains(model.Session, name, listener):
            event.listen(model.Session, name, listener)


_listen()


# ---------------------------------------------------------------------------------------------- recording


def _user_id(context: Context) -> Optional[str]:
    user_obj = context.get("auth_user_obj")
    if user_obj is not None and getattr(user_obj, "id", None):
        return user_obj.id
    name = context.get("user")
    if not name:
        return None
    user = model.User.get(name)
    return user.id if user is not None else None


def _write(changes: dict[str, _Change], context: Context) -> int:
    """Add one row per changed resource, all with one timestamp, to the current transaction."""
    if not changes:
        return 0
    now = _utcnow()
    user_id = _user_id(context)
    for resource_id, change in changes.items():
        model.Session.add(
            Publication(
                package_id=change.package_id,
                resource_id=resource_id,
                kind=change.kind,
                url=change.url,
                published_at=now,
                user_id=user_id,
            )
        )
    # Flushed now so that what runs later in the action (the search index, the compliance of the dataset)
    # sees the new publications: the session does not autoflush.
    model.Session.flush()
    return len(changes)


def record_package(context: Context, pkg_dict: dict[str, Any]) -> None:
    """From after_dataset_create/update: record the publications among this dataset's flushed resource changes,
    in the action's transaction (CKAN commits after this hook)."""
    package_id = pkg_dict.get("id")
    if not package_id:
        return
    pending: dict[str, _Change] = model.Session().info.get(_PENDING) or {}
    mine = {rid: change for rid, change in pending.items() if change.package_id == package_id}
    for rid in mine:
        del pending[rid]
    _write(mine, context)


def remember_before_update(context: Context, current: dict[str, Any], resource: dict[str, Any]) -> None:
    """From before_resource_update: what the resource was, so that `record_resource` can tell what changed if
    the dataset hook did not record it."""
    rid = current.get("id")
    if not rid:
        return
    context.setdefault(_BEFORE, {})[rid] = {  # type: ignore[typeddict-unknown-key]
        "url": current.get("url") or "",
        "url_type": current.get("url_type") or "",
        "last_modified": current.get("last_modified") or "",
        "since": _utcnow(),
    }


def _recorded_since(resource_id: str, since: Optional[dt.datetime]) -> bool:
    query = sa.select(sa.func.count(Publication.id)).where(Publication.resource_id == resource_id)
    if since is not None:
        query = query.where(Publication.published_at >= since)
    return bool(model.Session.execute(query).scalar())


def _stored_resource(resource_id: str) -> Optional[model.Resource]:
    return model.Session.get(model.Resource, resource_id)


def record_resource(context: Context, resource: dict[str, Any]) -> None:
    """From after_resource_create/update. The dataset hook inside the action has normally recorded the change
    already (the check below finds its row); otherwise the change is recorded here and committed, since the
    action committed before calling this hook."""
    rid = resource.get("id")
    if not rid:
        return
    before = (context.get(_BEFORE) or {}).pop(rid, None)  # type: ignore[union-attr]
    stored = _stored_resource(rid)
    if stored is None or not stored.url:
        return
    if before is None:  # created
        if _recorded_since(rid, None):
            return
        kind = "uploaded" if stored.url_type == "upload" else "created"
    else:
        # Compared with the stored row, not with `resource`: package_show may answer from the search index.
        before_url = before["url"]
        if stored.url_type == "upload":
            before_url = before_url.rsplit("/")[-1]  # package_show gives uploads a full download URL
        uploaded = (
            stored.url_type == "upload"
            and stored.last_modified is not None
            and stored.last_modified.isoformat() != before["last_modified"]
        )
        url_changed = stored.url != before_url
        if not (uploaded or url_changed) or _recorded_since(rid, before["since"]):
            return
        kind = "uploaded" if uploaded else "url_changed"
    log.info("publication of resource %s recorded by the resource hook (%s)", rid, kind)
    _write({rid: _Change(stored.package_id, kind, stored.url)}, context)
    if not context.get("defer_commit"):
        model.repo.commit()


# ----------------------------------------------------------------------------------------------- backfill


@dataclasses.dataclass
class BackfillReport:
    resources: int = 0
    added: int = 0
    already_recorded: int = 0
    packages: set[str] = dataclasses.field(default_factory=set)


def backfill(dry_run: bool = False) -> BackfillReport:
    """Fill the history of a portal that ran without it, from its resources (active and deleted): one 'backfill'
    publication at each resource's `created`, and another at its `last_modified` when that is later. A candidate
    already covered by a recorded publication of that resource (within a few minutes) is skipped, so a second run
    adds nothing and the hooks' own rows are not doubled."""
    report = BackfillReport()
    r = model.resource_table
    resources = model.Session.execute(
        sa.select(r.c.id, r.c.package_id, r.c.url, r.c.created, r.c.last_modified).where(
            r.c.url.is_not(None), r.c.url != ""
        )
    ).all()
    recorded: dict[str, list[dt.datetime]] = {}
    for rid, when in model.Session.execute(sa.select(Publication.resource_id, Publication.published_at)):
        recorded.setdefault(rid, []).append(when)
    for row in resources:
        report.resources += 1
        candidates = [row.created] if row.created else []
        if row.last_modified and (not row.created or row.last_modified > row.created):
            candidates.append(row.last_modified)
        for when in candidates:
            seen = recorded.setdefault(row.id, [])
            if any(abs(other - when) <= _SAME_CHANGE for other in seen):
                report.already_recorded += 1
                continue
            seen.append(when)
            report.added += 1
            report.packages.add(row.package_id)
            if not dry_run:
                model.Session.add(
                    Publication(
                        package_id=row.package_id,
                        resource_id=row.id,
                        kind="backfill",
                        url=row.url,
                        published_at=when,
                        user_id=None,
                    )
                )
    if dry_run:
        model.Session.rollback()
    else:
        model.repo.commit()
    return report
