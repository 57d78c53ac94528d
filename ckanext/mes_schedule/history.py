"""Publication history: every publication of an item's data, recorded from CKAN's hooks into our own table,
append-only and hash-chained per item.

What counts (section 5 of docs' compliance model): a resource created with, or changed to, a URL (evidence level
`link`: the URL) and a data file uploaded or replaced (level `file`: SHA-256 and size of the file as stored by
CKAN's uploader; no stored file, no publication). Evidence already published for the item (the same URL, the same
bytes) is not a new publication, so flipping a URL back or bumping `last_modified` records nothing. Editing only
metadata is not a publication either. Rows are kept when resources or datasets go: they belong to the item of the
act (`item`), and only the dataset that currently holds the item shows them.

How changes are detected: a SQLAlchemy `after_flush` listener notes, for every flushed `Resource`, whether it is
new, whether its URL changed and whether a file was uploaded (`last_modified` of an upload changed). This is
exact whatever action made the change (resource_create/update/patch/delete, package_create/update/patch/revise,
reordering): it is the database rows that changed, not the dictionaries the actions pass around. CKAN's
package_create/package_update flush, store uploaded files and then call `after_dataset_create/update` before they
commit, so `record_package` writes the rows in the action's own transaction: a rolled back action leaves no
publication. The resource hooks (which run after the action committed) fill the gaps: CKAN 2.11's resource_create
stores the file after that point. Evidence deduplication makes a second recording of one change impossible.

Integrity: a `before_flush` listener refuses updates and deletions of publication and event rows made through the
ORM, and gives every new row its place in its item's chain (`seq`, `prev_hash`, `row_hash`) under a per-item
advisory lock held until the transaction ends, so two writers cannot fork a chain. `verify_chains` recomputes them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
from typing import Any, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy import event

import ckan.model as model
from ckan.types import Context

from ckanext.mes_schedule import localization
from ckanext.mes_schedule.model import (
    CHAIN_FIELDS,
    GENESIS,
    RETRACTION,
    Event,
    Publication,
    package_items,
    row_hash,
    user_id,
)

__all__ = [
    "remember_before_update",
    "record_resource",
    "record_package",
    "KINDS",
    "Evidence",
    "evidence_of",
    "stored_file_digest",
    "record_publication",
    "declare_coverage",
    "prepare_coverage",
    "COVERS_KEY",
    "lock_item",
    "AppendOnlyError",
    "ChainBreak",
    "verify_chains",
    "BackfillCandidate",
    "BackfillReport",
    "backfill",
]

log = logging.getLogger(__name__)

#: Kinds of publication rows: resource changes (created, uploaded, url_changed), DataStore writes through the API
#: (datastore_create, datastore_upsert, datastore_delete), XLoader's load (loaded), an editor's declaration
#: (declared), rows filled from the activity stream (backfill) and retractions.
KINDS = (
    "created", "uploaded", "url_changed", "datastore_create", "datastore_upsert", "datastore_delete", "loaded",
    "declared", "backfill", RETRACTION,
)

# When one flush (or several in one transaction) sees more than one kind of change for a resource, one row is
# written with the most telling kind.
_PRIORITY = {"url_changed": 1, "created": 2, "uploaded": 3}

# session.info keys: changes seen in flushes and not yet recorded; what the resource hooks need to know.
_PENDING = "mes_schedule_pending_publications"
_BEFORE = "mes_schedule_before"

# First key of the two-key advisory lock that serialises the writers of one item's chains ("mes1").
_LOCK_CLASS = 0x6D657331

_CHAINED = (Publication, Event)

# Datasets whose resource changes are recorded: a draft being filled in is publishing already.
_RECORDED_STATES = ("active", "draft")


class AppendOnlyError(RuntimeError):
    """Publication and event rows are never updated or deleted by the application."""


@dataclasses.dataclass
class _Change:
    package_id: str
    kind: str
    url: str
    new: bool = False  # the resource is created by this action


# ------------------------------------------------------------------------------------------ change detection


def _changed(state: Any, attr: str) -> bool:
    # A loaded attribute whose old value was None has no `deleted` entry in SQLAlchemy's history.
    history = state.attrs[attr].history
    if not history.added:
        return False
    old = history.deleted[0] if history.deleted else None
    return history.added[0] != old


def _found_in(session: Any) -> list[tuple[Any, str]]:
    """The resources this flush writes that may publish something, with the kind of change."""
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
    return found


def _after_flush(session: Any, flush_context: Any) -> None:
    """Note the publications among the resources this flush wrote (`new` and `dirty` still show the pre-flush
    state and the attribute histories here, and new rows already have their ids). Whether they publish new
    evidence is decided when they are recorded."""
    found = _found_in(session)
    if not found:
        return
    pending: dict[str, _Change] = session.info.setdefault(_PENDING, {})
    for obj, kind in found:
        if not obj.url:
            continue  # a resource without data (or whose link was cleared) publishes nothing
        previous = pending.get(obj.id)
        if previous is None or _PRIORITY[kind] > _PRIORITY[previous.kind]:
            new = obj in session.new or (previous is not None and previous.new)
            pending[obj.id] = _Change(obj.package_id, kind, obj.url, new=new)
        else:
            previous.url = obj.url


def _forget_pending(session: Any, *args: Any) -> None:
    session.info.pop(_PENDING, None)


def _listen() -> None:
    # Registered once per process, on the scoped session CKAN's actions use (as CKAN does in model/meta.py).
    for name, listener in (
        ("before_flush", _before_flush),
        ("do_orm_execute", _refuse_bulk_writes),
        ("after_flush", _after_flush),
        ("after_commit", _forget_pending),
        ("after_soft_rollback", _forget_pending),
    ):
        if not event.contains(model.Session, name, listener):
            event.listen(model.Session, name, listener)


# -------------------------------------------------------------------------------------------- integrity


def lock_item(item: Optional[int]) -> None:
    """Take the item's chain lock for the rest of the transaction (re-entrant; rows without an item share 0)."""
    model.Session.execute(sa.text("SELECT pg_advisory_xact_lock(:c, :i)"), {"c": _LOCK_CLASS, "i": item or 0})


def _chain_tail(session: Any, cls: type, item: Optional[int]) -> tuple[int, str]:
    table = cls.__table__  # type: ignore[attr-defined]
    where = table.c.item.is_(None) if item is None else table.c.item == item
    row = session.execute(
        sa.select(table.c.seq, table.c.row_hash).where(where).order_by(table.c.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.row_hash) if row else (0, GENESIS)


def _fill_defaults(obj: Any) -> None:
    # Column defaults are applied at INSERT, after the hash is computed: the hashed values are set here.
    if obj.id is None:
        obj.id = model.types.make_uuid()
    if isinstance(obj, Publication):
        # (setattr: mypy reads the class attribute as the Column, not the row's value)
        setattr(obj, "level", obj.level or "link")  # noqa: B010
    else:
        obj.kind = obj.kind or "event"
        obj.created_at = obj.created_at or localization.utcnow()
    if obj.item is None and obj.package_id:
        obj.item = package_items([obj.package_id], states=None).get(obj.package_id)


def _order(obj: Any) -> tuple[Any, str]:
    return (obj.published_at if isinstance(obj, Publication) else obj.created_at, obj.id)


def _before_flush(session: Any, flush_context: Any, instances: Any) -> None:
    """Refuse edits and deletions of the record; chain the new rows (see the module's docstring)."""
    for obj in session.deleted:
        if isinstance(obj, _CHAINED):
            raise AppendOnlyError(f"{obj.__tablename__} rows are never deleted: add a superseding row")
    for obj in session.dirty:
        if isinstance(obj, _CHAINED) and session.is_modified(obj):
            raise AppendOnlyError(f"{obj.__tablename__} rows are never updated: add a superseding row")
    groups: dict[tuple[str, int], list[Any]] = {}
    for obj in session.new:
        if isinstance(obj, _CHAINED):
            _fill_defaults(obj)
            groups.setdefault((obj.__tablename__, int(obj.item or 0)), []).append(obj)
    # Locks in item order: two transactions writing the same items cannot deadlock.
    for table_name, item in sorted(groups):
        rows = sorted(groups[(table_name, item)], key=_order)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:c, :i)"), {"c": _LOCK_CLASS, "i": item})
        seq, prev = _chain_tail(session, type(rows[0]), rows[0].item)
        for obj in rows:
            seq += 1
            obj.seq, obj.prev_hash = seq, prev
            obj.row_hash = prev = row_hash(table_name, {name: getattr(obj, name) for name in CHAIN_FIELDS[table_name]})


def _refuse_bulk_writes(state: Any) -> None:
    """`session.execute(update(Publication)...)` / `delete(Event)` would bypass the flush check."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ in _CHAINED:
            raise AppendOnlyError("publication and event rows are never updated or deleted")


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    table: str
    row_id: str
    item: Optional[int]
    seq: Optional[int]
    problem: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row_id} (item {self.item}, seq {self.seq}): {self.problem}"


def _check_row(table: str, row: Any, expected_seq: int, prev: str) -> Optional[str]:
    if row.seq != expected_seq:
        return f"seq is {row.seq}, expected {expected_seq} (a row is missing or was inserted)"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous row's row_hash"
    if row.row_hash != row_hash(table, row._mapping):
        return "row_hash does not match the row's content (the row was changed)"
    return None


def verify_chains() -> Iterator[ChainBreak]:
    """Every broken chain, as its first row that does not hold (publications first, then events; by item)."""
    for cls in _CHAINED:
        table = cls.__table__  # type: ignore[attr-defined]
        name = table.name
        query = sa.select(table).order_by(table.c.item.nulls_first(), table.c.seq, table.c.id)
        current: Any = object()
        broken = False
        expected, prev = 1, GENESIS
        for row in model.Session.execute(query).yield_per(1000):
            if row.item != current:
                current, broken, expected, prev = row.item, False, 1, GENESIS
            if broken:
                continue
            problem = _check_row(name, row, expected, prev)
            if problem:
                broken = True
                yield ChainBreak(name, row.id, row.item, row.seq, problem)
            expected, prev = expected + 1, row.row_hash


# --------------------------------------------------------------------------------------------- evidence


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What a publication published: `file` (sha256, size; url is the stored file name), `datastore` (rows,
    sha256 of what was written), `link` (url) or `declared` (url: the link declared updated)."""

    level: str
    url: str
    sha256: Optional[str] = None
    size: Optional[int] = None
    rows: Optional[int] = None

    @property
    def key(self) -> tuple[str, Optional[str]]:
        """What makes it new: the content for files and DataStore writes (XLoader's load of an uploaded file
        is the same content as the upload), the URL for links. A declaration is never the same as another."""
        if self.level in ("file", "datastore"):
            return ("data", self.sha256)
        return (self.level, self.url)


def _stored_path(resource_id: str, url: str = "") -> Optional[str]:
    """The local path of the file CKAN's resource uploader stored for this resource, or None (no file, or a
    storage that is not a local directory)."""
    from ckan.lib import uploader

    try:
        upload = uploader.get_resource_uploader({"id": resource_id, "url": url, "url_type": "upload"})
        if not getattr(upload, "storage_path", True):
            return None
        path = str(upload.get_path(resource_id))
    except Exception:  # an uploader plugin that cannot say where the file is: no evidence
        log.warning("no stored file path for resource %s", resource_id, exc_info=True)
        return None
    return path if os.path.isfile(path) else None


def stored_file_digest(resource_id: str, url: str = "") -> Optional[tuple[str, int]]:
    """SHA-256 (hex) and size of the stored file of an uploaded resource, or None when there is none."""
    path = _stored_path(resource_id, url)
    if path is None:
        return None
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# Resources whose data live in the DataStore (a table written through its API, or one XLoader made the resource
# point at): their address is the DataStore's, not evidence; their writes are recorded by datastore_evidence.
_DATASTORE_URL_TYPES = ("datastore", "datapusher")
# The address CKAN gives a DataStore-only resource before (2.11) or instead of (2.12) a url_type: no data.
_DATASTORE_ONLY_URL = "_datastore_only_resource"


def evidence_of(resource: Any) -> Optional[Evidence]:
    """The evidence a resource (a `model.Resource` or a row with id, url, url_type) holds now, or None."""
    if not resource.url or resource.url_type in _DATASTORE_URL_TYPES or resource.url == _DATASTORE_ONLY_URL:
        return None
    if resource.url_type == "upload":
        digest = stored_file_digest(resource.id, resource.url)
        return Evidence("file", resource.url, *digest) if digest else None
    return Evidence("link", resource.url)


def _effective(cls: Any) -> list[Any]:
    superseded = sa.select(cls.supersedes).where(cls.supersedes.is_not(None))
    return [cls.kind != RETRACTION, cls.id.not_in(superseded)]


def _published_keys(item: int) -> set[tuple[str, Optional[str]]]:
    rows = model.Session.execute(
        sa.select(Publication.level, Publication.sha256, Publication.url).where(
            Publication.item == item, Publication.level != "declared", *_effective(Publication)
        )
    )
    return {Evidence(level, url or "", sha256).key for level, sha256, url in rows}


# ---------------------------------------------------------------------------------------------- recording


def _write(changes: dict[str, _Change], context: Context) -> int:
    """Add one row per change that publishes new evidence for its dataset's item, all with one timestamp, to the
    current transaction. Datasets that hold no item are not on the record."""
    if not changes:
        return 0
    items = package_items({c.package_id for c in changes.values()}, states=_RECORDED_STATES)
    now = localization.utcnow()
    created_by = user_id(context)
    written = 0
    for item in sorted(set(items.values())):
        lock_item(item)  # before reading what the item published: a concurrent writer waits
        published = _published_keys(item)
        for resource_id, change in sorted(changes.items()):
            if items.get(change.package_id) != item:
                continue
            resource = model.Session.get(model.Resource, resource_id)
            evidence = evidence_of(resource) if resource is not None else None
            if evidence is None or evidence.key in published:
                continue
            published.add(evidence.key)
            covers = _declared_coverage(context, resource_id, change.new)
            row = _publication(item, change.package_id, resource_id, change.kind, evidence, now, created_by,
                               covers=covers)
            model.Session.add(row)
            written += 1
    # Flushed now so that what runs later in the action (the search index, the compliance of the dataset)
    # sees the new publications: the session does not autoflush.
    model.Session.flush()
    return written


def _publication(
    item: int, package_id: str, resource_id: str, kind: str, evidence: Evidence, when: dt.datetime,
    created_by: Optional[str], reason: Optional[str] = None, covers: Optional[str] = None,
    note: Optional[str] = None,
) -> Publication:
    return Publication(
        item=item,
        package_id=package_id,
        resource_id=resource_id,
        kind=kind,
        level=evidence.level,
        url=evidence.url,
        sha256=evidence.sha256,
        size=evidence.size,
        rows=evidence.rows,
        published_at=when,
        user_id=created_by,
        reason=reason,
        covers=covers,
        note=note,
    )


#: Context key under which the resource validator leaves the periods an action's uploads declare they cover:
#: {resource id, or NEW for the resources the action creates: period label}. Never stored on the resource: a
#: declaration is about one upload, and a stale one must not carry over to the next.
COVERS_KEY = "mes_schedule_covers"
NEW = "new"


def prepare_coverage(context: Context) -> None:
    """From before_resource_create/update: CKAN 2.12's resource actions hand package_update a copy of their
    context; a dict made here first is shared by both, so the resource hook sees what the validator noted."""
    context.setdefault(COVERS_KEY, {})  # type: ignore[misc]


def declare_coverage(context: Context, resource_id: Optional[str], label: str) -> None:
    """Note that the upload an action makes to a resource (None: to the resources it creates) declares it covers
    the period `label`."""
    context.setdefault(COVERS_KEY, {})[resource_id or NEW] = label  # type: ignore[misc]


def _declared_coverage(context: Context, resource_id: str, new: bool) -> Optional[str]:
    declared: dict[str, str] = context.get(COVERS_KEY) or {}  # type: ignore[assignment]
    return declared.get(resource_id) or (declared.get(NEW) if new else None)


def record_publication(
    context: Context, resource_id: str, kind: str, evidence: Evidence,
    covers: Optional[str] = None, note: Optional[str] = None,
) -> Optional[Publication]:
    """Add one publication of a resource's data to the current transaction (the caller commits), or None when
    its dataset holds no item or the item already published this evidence. Used by the DataStore hooks and by
    declared updates; the resource changes of the core actions go through the flush listener."""
    resource = model.Session.get(model.Resource, resource_id)
    if resource is None:
        return None
    item = package_items([resource.package_id], states=_RECORDED_STATES).get(resource.package_id)
    if item is None:
        return None
    lock_item(item)  # before reading what the item published: a concurrent writer waits
    if evidence.level != "declared" and evidence.key in _published_keys(item):
        return None
    row = _publication(item, resource.package_id, resource_id, kind, evidence, localization.utcnow(),
                       user_id(context), covers=covers, note=note)
    model.Session.add(row)
    model.Session.flush()
    return row


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
    }


def _changed_kind(stored: model.Resource, before: Optional[dict[str, Any]]) -> Optional[str]:
    """The kind of publication the stored resource shows against what it was before the action, or None."""
    if before is None:  # created
        return "uploaded" if stored.url_type == "upload" else "created"
    # Compared with the stored row, not with `resource`: package_show may answer from the search index.
    before_url = before["url"]
    if stored.url_type == "upload":
        before_url = before_url.rsplit("/")[-1]  # package_show gives uploads a full download URL
    uploaded = (
        stored.url_type == "upload"
        and stored.last_modified is not None
        and stored.last_modified.isoformat() != before["last_modified"]
    )
    if uploaded:
        return "uploaded"
    return "url_changed" if stored.url != before_url else None


def record_resource(context: Context, resource: dict[str, Any]) -> None:
    """From after_resource_create/update. The dataset hook inside the action has normally recorded the change
    already (its evidence is then already published, and nothing is added); otherwise the change is recorded
    here and committed, since the action committed before calling this hook."""
    rid = resource.get("id")
    if not rid:
        return
    before = (context.get(_BEFORE) or {}).pop(rid, None)  # type: ignore[union-attr]
    stored = model.Session.get(model.Resource, rid)
    if stored is None or not stored.url:
        return
    kind = _changed_kind(stored, before)
    if kind is None:
        return
    if _write({rid: _Change(stored.package_id, kind, stored.url, new=before is None)}, context):
        log.info("publication of resource %s recorded by the resource hook (%s)", rid, kind)
    if not context.get("defer_commit"):
        model.repo.commit()  # also ends the transaction that holds the item's lock


# ----------------------------------------------------------------------------------------------- backfill

# The activity is created after the action stored the file and committed; a file written longer than this before
# an upload's activity was not written by it.
_FILE_BEFORE_ACTIVITY = dt.timedelta(minutes=1)


@dataclasses.dataclass
class BackfillCandidate:
    """A publication the activity stream shows: when the server recorded it, what, and from which activity."""

    activity_id: str
    when: dt.datetime
    package_id: str
    package_name: str
    resource_id: str
    item: int
    kind: str
    evidence: Optional[Evidence]
    user_id: Optional[str]
    why: str
    url: str = ""

    def line(self) -> str:
        ev = self.evidence
        assert ev is not None
        shown = f"sha256:{ev.sha256[:12]} ({ev.size} bytes)" if ev.level == "file" and ev.sha256 else ev.url
        return (
            f"{self.package_name} resource {self.resource_id} {self.when.isoformat(timespec='seconds')}Z "
            f"{ev.level} {shown} activity {self.activity_id}: {self.why}"
        )


@dataclasses.dataclass
class BackfillReport:
    activities: int = 0
    resources: int = 0
    added: int = 0
    already_recorded: int = 0
    without_evidence: int = 0
    packages: set[str] = dataclasses.field(default_factory=set)
    candidates: list[BackfillCandidate] = dataclasses.field(default_factory=list)


_WHY = {
    "created": "resource created",
    "uploaded": "file uploaded",
    "url_changed": "URL changed",
}


def _activity_kind(old: Optional[dict[str, Any]], new: dict[str, Any]) -> Optional[str]:
    """What a resource's change between two activity snapshots publishes (None: nothing)."""
    if not new.get("url"):
        return None
    upload = new.get("url_type") == "upload"
    if old is None:
        return "uploaded" if upload else "created"
    if upload and (new.get("last_modified") != old.get("last_modified") or new.get("url") != old.get("url")):
        return "uploaded"
    return "url_changed" if new.get("url") != old.get("url") else None


def _item_of(package: dict[str, Any], current: dict[str, int]) -> Optional[int]:
    text = str(package.get("mes_schedule_item") or "").strip()
    if not text:
        for extra in package.get("extras") or []:
            if isinstance(extra, dict) and extra.get("key") == "mes_schedule_item":
                text = str(extra.get("value") or "").strip()
    return int(text) if text.isdigit() else current.get(package.get("id") or "")


def _activities() -> Iterator[Any]:
    try:
        from ckanext.activity.model import Activity
    except ImportError as e:  # pragma: no cover - the activity plugin ships with CKAN
        raise RuntimeError("backfill reads the activity stream: enable the activity plugin") from e
    table = Activity.__table__
    query = (
        sa.select(table.c.id, table.c.timestamp, table.c.object_id, table.c.user_id, table.c.data)
        .where(table.c.activity_type.in_(("new package", "changed package")))
        .order_by(table.c.object_id, table.c.timestamp, table.c.id)
    )
    return iter(model.Session.execute(query).yield_per(200))


def _candidates(report: BackfillReport) -> list[BackfillCandidate]:
    """Every resource change the activity stream shows, with its link evidence (files are matched later)."""
    current = package_items(None, states=None)
    found: list[BackfillCandidate] = []
    snapshots: dict[str, dict[str, dict[str, Any]]] = {}
    resources: set[str] = set()
    for activity in _activities():
        report.activities += 1
        package = (activity.data or {}).get("package") or {}
        item = _item_of(package, current)
        before = snapshots.get(activity.object_id, {})
        now = {r["id"]: r for r in package.get("resources") or [] if isinstance(r, dict) and r.get("id")}
        snapshots[activity.object_id] = now
        if item is None:
            continue  # not on the record
        for rid, res in now.items():
            resources.add(rid)
            kind = _activity_kind(before.get(rid), res)
            if kind is None:
                continue
            evidence = None if kind == "uploaded" else Evidence("link", res["url"])
            found.append(
                BackfillCandidate(
                    activity.id, activity.timestamp, activity.object_id, package.get("name") or activity.object_id,
                    rid, item, kind, evidence, activity.user_id, _WHY[kind],
                    # package_show gives an upload its full download address; the row keeps the file name
                    url=res["url"].rsplit("/", 1)[-1] if kind == "uploaded" else res["url"],
                )
            )
    report.resources = len(resources)
    return found


def _match_files(candidates: list[BackfillCandidate]) -> None:
    """Give the stored file of each uploaded resource to the upload that wrote it: the first upload activity
    after the file's modification time (the server's), or the last one if the file looks newer than all of them.
    Earlier uploads of a file since replaced have no bytes left to prove what they published: none."""
    uploads: dict[str, list[BackfillCandidate]] = {}
    for c in candidates:
        if c.kind == "uploaded":
            uploads.setdefault(c.resource_id, []).append(c)
    for rid, group in uploads.items():
        path = _stored_path(rid)
        digest = stored_file_digest(rid) if path else None
        if path is None or digest is None:
            continue
        written = dt.datetime.fromtimestamp(os.path.getmtime(path), dt.timezone.utc).replace(tzinfo=None)
        group.sort(key=lambda c: (c.when, c.activity_id))
        chosen = next((c for c in group if c.when >= written - _FILE_BEFORE_ACTIVITY), group[-1])
        chosen.evidence = Evidence("file", chosen.url, *digest)


def backfill(dry_run: bool = False) -> BackfillReport:
    """Fill the history from what the server wrote: the activity stream (its timestamps are the server's; the
    `created` / `last_modified` fields of resources are not read, since an editor can set them) and the stored
    files. Same evidence rules as the hooks: evidence already published for the item is not added again, so a
    second run adds nothing and the hooks' own rows are not doubled. Rows are chained like any other."""
    report = BackfillReport()
    candidates = _candidates(report)
    _match_files(candidates)
    candidates.sort(key=lambda c: (c.item, c.when, c.activity_id, c.resource_id))
    published: dict[int, set[tuple[str, Optional[str]]]] = {}
    for c in candidates:
        if c.evidence is None:
            report.without_evidence += 1
            continue
        if c.item not in published:
            lock_item(c.item)
            published[c.item] = _published_keys(c.item)
        if c.evidence.key in published[c.item]:
            report.already_recorded += 1
            continue
        published[c.item].add(c.evidence.key)
        report.added += 1
        report.packages.add(c.package_id)
        report.candidates.append(c)
        if not dry_run:
            model.Session.add(
                _publication(
                    c.item, c.package_id, c.resource_id, "backfill", c.evidence, c.when, c.user_id,
                    reason=f"activity {c.activity_id}: {c.why}",  # where the date comes from
                )
            )
    if dry_run:
        model.Session.rollback()
    else:
        model.repo.commit()
    return report


_listen()
