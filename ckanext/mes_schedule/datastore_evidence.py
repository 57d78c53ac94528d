"""DataStore writes as publications (compliance model, section 5: level `datastore`).

Three ways data reach the DataStore, each recorded with the rows written and a SHA-256 of what was written:

- `datastore_create` with records and `datastore_upsert` (chained actions, see logic/action.py): the digest of the
  records the call wrote (canonical JSON, with the resource's id), so repeating the same write is not a new
  publication. A call that fails, or a `dry_run`, records nothing: the original action runs first.
- `datastore_delete`: the rows it removed (counted before and after); a delete that removed nothing records
  nothing.
- XLoader's load (`IXloader.after_upload`, which XLoader calls from its `xloader_hook` action when a job ends):
  for an uploaded file the digest of the stored file, the same as the upload's own publication, so an upload
  and its load count once; for a link, the digest of the table the load left. Neither is taken from what the
  caller says: `xloader_hook` may be called by any editor, and an unchanged table proves nothing new. The
  DataStore actions XLoader's worker calls while it loads are not recorded one by one.

A write may declare the period it covers (`mes_schedule_covers`, section 6); it is checked against the dataset's
periods before anything is written.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Callable, Iterable, Optional

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context, DataDict

from ckanext.mes_schedule import compliance, history

__all__ = [
    "COVERS_PARAM",
    "records_digest",
    "table_digest",
    "chained_create",
    "chained_upsert",
    "chained_delete",
    "after_load",
]

log = logging.getLogger(__name__)

#: The parameter of the DataStore actions (and of resource forms) that declares the period a write covers.
COVERS_PARAM = "mes_schedule_covers"

Action = Callable[[Context, DataDict], Any]


def records_digest(resource_id: str, records: Iterable[Any]) -> tuple[str, int]:
    """SHA-256 and count of the records a call writes: one canonical JSON line each (keys sorted), after the
    resource's id, so the same records written to another resource are other evidence."""
    digest = hashlib.sha256(resource_id.encode("utf-8") + b"\n")
    count = 0
    for record in records:
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        digest.update(line.encode("utf-8") + b"\n")
        count += 1
    return digest.hexdigest(), count


def table_digest(resource_id: str) -> tuple[str, int]:
    """SHA-256 and row count of a DataStore table's content, row by row in `_id` order, without the DataStore's
    own columns (`_id`, `_full_text`). Read through the DataStore's read-only connection."""
    from ckanext.datastore.backend.postgres import get_read_engine

    engine = get_read_engine()
    table = engine.dialect.identifier_preparer.quote(resource_id)
    query = sa.text(f"SELECT (to_jsonb(t) - '_id' - '_full_text')::text FROM {table} t ORDER BY t._id")
    digest = hashlib.sha256(resource_id.encode("utf-8") + b"\n")
    count = 0
    with engine.connect() as conn:
        for (line,) in conn.execution_options(stream_results=True).execute(query):
            digest.update(line.encode("utf-8") + b"\n")
            count += 1
    return digest.hexdigest(), count


def _in_loader_job() -> bool:
    """Whether this runs inside an XLoader job: its DataStore calls are one load, recorded when it ends."""
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover - rq comes with CKAN
        return False
    job = get_current_job()
    return job is not None and str(job.func_name or "").startswith("ckanext.xloader.")


def _package_of(resource_id: Any) -> Optional[str]:
    resource = model.Session.get(model.Resource, resource_id) if isinstance(resource_id, str) else None
    return resource.package_id if resource is not None else None


def _covers(action: str, context: Context, data_dict: DataDict, package_id: Optional[str]) -> Optional[str]:
    """The declared period of a write (taken out of `data_dict`: the DataStore does not know the parameter),
    checked before anything is written, and after the caller's right to write (who may not write learns
    nothing about the dataset's periods)."""
    label = data_dict.pop(COVERS_PARAM, None) if isinstance(data_dict, dict) else None
    if label in (None, ""):
        return None
    tk.check_access(action, context, data_dict)
    if package_id is None:
        raise tk.ValidationError({COVERS_PARAM: [tk._("Declare a period only for a resource of a dataset.")]})
    return compliance.check_covers(package_id, label, COVERS_PARAM)


def _record(
    context: Context, resource_id: str, kind: str, digest: tuple[str, int], covers: Optional[str], url: str = ""
) -> None:
    sha256, rows = digest
    evidence = history.Evidence("datastore", url, sha256=sha256, rows=rows)
    try:
        if history.record_publication(context, resource_id, kind, evidence, covers=covers):
            log.info("publication of resource %s recorded (%s, %d rows)", resource_id, kind, rows)
        model.repo.commit()
    except Exception:
        # The DataStore has committed the write already; failing the call now would make the client retry a
        # write that succeeded. The write is then simply not on the record, and the log says so.
        model.Session.rollback()
        log.exception("could not record the DataStore write to resource %s", resource_id)


def _dry_run(data_dict: DataDict) -> bool:
    return tk.asbool(data_dict.get("dry_run", False)) if isinstance(data_dict, dict) else False


def chained_create(original: Action, context: Context, data_dict: DataDict) -> Any:
    if _dry_run(data_dict) or _in_loader_job():
        return original(context, data_dict)
    resource = data_dict.get("resource") if isinstance(data_dict.get("resource"), dict) else None
    package_id = resource.get("package_id") if resource else _package_of(data_dict.get("resource_id"))
    covers = _covers("datastore_create", context, data_dict, package_id)
    records = data_dict.get("records") or []
    result = original(context, data_dict)
    resource_id = (result or {}).get("resource_id") or data_dict.get("resource_id")
    if records and isinstance(records, list) and resource_id:
        _record(context, resource_id, "datastore_create", records_digest(resource_id, records), covers)
    return result


def chained_upsert(original: Action, context: Context, data_dict: DataDict) -> Any:
    if _dry_run(data_dict) or _in_loader_job():
        return original(context, data_dict)
    resource_id = data_dict.get("resource_id")
    covers = _covers("datastore_upsert", context, data_dict, _package_of(resource_id))
    records = data_dict.get("records") or []
    result = original(context, data_dict)
    if records and isinstance(records, list) and isinstance(resource_id, str):
        _record(context, resource_id, "datastore_upsert", records_digest(resource_id, records), covers)
    return result


def _total(resource_id: str) -> int:
    try:
        found = tk.get_action("datastore_search")(
            {"ignore_auth": True}, {"resource_id": resource_id, "limit": 0, "include_total": True}
        )
    except (tk.ObjectNotFound, tk.ValidationError):
        return 0
    return int(found.get("total") or 0)


def chained_delete(original: Action, context: Context, data_dict: DataDict) -> Any:
    resource_id = data_dict.get("resource_id") if isinstance(data_dict, dict) else None
    if _in_loader_job() or not isinstance(resource_id, str):
        return original(context, data_dict)
    covers = _covers("datastore_delete", context, data_dict, _package_of(resource_id))
    before = _total(resource_id)
    result = original(context, data_dict)
    removed = before - _total(resource_id)
    if removed > 0:
        # What was deleted, identified by the filter and the counts: the same delete again removes nothing.
        filters = {"delete": data_dict.get("filters") or {}, "before": before, "removed": removed}
        sha256, _ = records_digest(resource_id, [filters])
        _record(context, resource_id, "datastore_delete", (sha256, removed), covers)
    return result


def after_load(context: Context, resource: dict[str, Any]) -> None:
    """From IXloader.after_upload: record XLoader's load of a resource, if it published data not yet on the
    record (see the module's docstring)."""
    resource_id = resource.get("id")
    if not isinstance(resource_id, str):
        return
    stored = model.Session.get(model.Resource, resource_id)
    if stored is None or not stored.url:
        return
    try:
        digest, rows = table_digest(resource_id)
    except sa.exc.SQLAlchemyError:  # no table (the load failed before creating it): nothing was loaded
        log.warning("XLoader reported a load of resource %s but its table cannot be read", resource_id)
        return
    if stored.url_type == "upload":
        stored_file = history.stored_file_digest(resource_id, stored.url)
        if stored_file is None:
            return  # no stored file: nothing to prove the load came from
        digest = stored_file[0]
    _record(context, resource_id, "loaded", (digest, rows), None, url=stored.url)
