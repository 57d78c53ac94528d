"""The extension's own tables (created by its alembic migrations: `ckan db upgrade -p mes_schedule`).

Publications and events are kept apart from CKAN's resource rows on purpose: the history of what was
published when must survive the deletion or replacement of a resource.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from typing import Any, Iterable, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, Text, UniqueConstraint

import ckan.model as core_model
from ckan.model.base import BaseModel

from ckanext.mes_schedule.localization import utcnow as _utcnow

__all__ = [
    "Publication",
    "Event",
    "Reminder",
    "RuleVersionRow",
    "FeedToken",
    "RULE_SOURCES",
    "LEVELS",
    "RETRACTION",
    "GENESIS",
    "CHAIN_FIELDS",
    "row_hash",
    "user_id",
    "extras_in_column",
    "package_items",
]

#: Evidence levels of a publication (section 5 of the compliance model).
LEVELS = ("file", "datastore", "link", "declared")

#: The kind of a row that supersedes another (publication or event): it does not count itself.
RETRACTION = "retraction"

#: The `prev_hash` of the first row of a chain.
GENESIS = "0" * 64

#: The fields each table's `row_hash` covers, in this order; `row_hash` itself is the only column left out.
#: A field whose value is NULL is left out of the serialisation, so adding a nullable field here later keeps the
#: hashes of the rows written before it valid.
CHAIN_FIELDS: dict[str, tuple[str, ...]] = {
    "mes_schedule_publication": (
        "id", "item", "seq", "package_id", "resource_id", "kind", "level", "sha256", "size", "url",
        "published_at", "user_id", "supersedes", "reason", "prev_hash", "rows", "covers", "note",
    ),
    "mes_schedule_event": (
        "id", "item", "seq", "package_id", "kind", "event_date", "note", "created_by", "created_at",
        "supersedes", "reason", "prev_hash",
    ),
}


def _uuid() -> str:
    return str(uuid.uuid4())



class Publication(BaseModel):
    """Dated evidence that an item's data were published (section 5 of the compliance model): a data file
    uploaded or replaced (`level` file: its SHA-256 and size), rows written to the DataStore (`level` datastore:
    `rows` and a SHA-256 of what was written), a resource created with, or changed to, a URL (`level` link: the
    URL), or an editor's declaration that the data behind an unchanged link were updated (`level` declared: who,
    and an optional `note`). `covers` is the reporting period the publication declares it covers, if any.

    The row belongs to the item of the act (`item`), not to the dataset that carried it (`package_id` is kept as
    a fact of the row): it outlives a purged dataset. Append-only, hash-chained per item (see `chain_fields`).
    """

    __tablename__ = "mes_schedule_publication"
    __table_args__ = (
        UniqueConstraint("resource_id", "published_at", name="mes_schedule_publication_resource_time"),
        UniqueConstraint("item", "seq", name="mes_schedule_publication_item_seq"),
        Index("mes_schedule_publication_package", "package_id", "published_at"),
        Index("mes_schedule_publication_item", "item", "published_at"),
        Index("mes_schedule_publication_resource", "resource_id", "level", "published_at"),
    )

    id = Column(Text, primary_key=True, default=_uuid)
    package_id = Column(Text, nullable=False)
    resource_id = Column(Text, nullable=False)
    # created | uploaded | url_changed | backfill | retraction
    kind = Column(Text, nullable=False)
    url = Column(Text)
    published_at = Column(DateTime, nullable=False)  # naive UTC
    user_id = Column(Text)
    item = Column(Integer)
    # file | link | datastore | declared (see LEVELS)
    level = Column(Text, nullable=False, default="link")
    sha256 = Column(Text)
    size = Column(BigInteger)
    # A retraction names the row it supersedes and says why; the superseded row no longer counts.
    supersedes = Column(Text)
    reason = Column(Text)
    seq = Column(Integer, nullable=False)
    prev_hash = Column(Text, nullable=False)
    row_hash = Column(Text, nullable=False)
    rows = Column(BigInteger)  # datastore: rows written (or deleted)
    covers = Column(Text)  # the period it declares it covers ("2026 Q2"), as the engine labels periods
    note = Column(Text)  # declared: what the editor said


class Event(BaseModel):
    """A triggering event of an event-driven item (e.g. the approval of the register of public services).

    Append-only and hash-chained per item like publications: deleting an event adds a `retraction` row that
    names it (`supersedes`), who (`created_by`) and why (`reason`)."""

    __tablename__ = "mes_schedule_event"
    __table_args__ = (
        UniqueConstraint("item", "seq", name="mes_schedule_event_item_seq"),
        Index("mes_schedule_event_item", "item", "event_date"),
    )

    id = Column(Text, primary_key=True, default=_uuid)
    package_id = Column(Text, nullable=False, index=True)
    event_date = Column(Date, nullable=False)
    note = Column(Text)
    created_by = Column(Text)
    created_at = Column(DateTime, nullable=False, default=_utcnow)
    item = Column(Integer)
    # event | retraction
    kind = Column(Text, nullable=False, default="event")
    supersedes = Column(Text)
    reason = Column(Text)
    seq = Column(Integer, nullable=False)
    prev_hash = Column(Text, nullable=False)
    row_hash = Column(Text, nullable=False)
    source = Column(Text)  # "act": an event the act itself names (recorded by seed); NULL: recorded by a user


class Reminder(BaseModel):
    """A reminder sent, so that the same one is never sent twice across restarts."""

    __tablename__ = "mes_schedule_reminder"
    __table_args__ = (
        UniqueConstraint("package_id", "period_due", "kind", "recipient", name="mes_schedule_reminder_once"),
    )

    id = Column(Text, primary_key=True, default=_uuid)
    package_id = Column(Text, nullable=False, index=True)
    period_due = Column(Date, nullable=False)
    # due_soon_<days> | overdue | escalation
    kind = Column(Text, nullable=False)
    recipient = Column(Text, nullable=False)
    days_before = Column(Integer)
    sent_at = Column(DateTime, nullable=False, default=_utcnow)


def _canonical(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def row_hash(table: str, values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a row's canonical serialisation: JSON of its chained fields (NULLs left out), keys
    sorted, no whitespace, UTF-8. `values` maps column names to Python values (a row mapping or a dict)."""
    content = {
        name: _canonical(values[name]) for name in CHAIN_FIELDS[table] if values.get(name) is not None
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def user_id(context: Mapping[str, Any]) -> Optional[str]:
    """The id of the user an action runs as (None for the site user without a name, or an unknown name)."""
    user_obj = context.get("auth_user_obj")
    if user_obj is not None and getattr(user_obj, "id", None):
        return user_obj.id
    name = context.get("user")
    if not name:
        return None
    user = core_model.User.get(name)
    return user.id if user is not None else None


def extras_in_column(table: sa.Table) -> bool:
    """CKAN 2.12 keeps extras in a JSONB column of the package and group tables; 2.11 in separate
    package_extra / group_extra tables."""
    return "extras" in table.c


def package_items(
    package_ids: Optional[Iterable[str]], states: Optional[Iterable[str]] = ("active",)
) -> dict[str, int]:
    """The item number each of these datasets (all datasets when None; only those in `states` unless it is
    None) holds; datasets holding none are left out. One query."""
    p = core_model.package_table
    conditions = [p.c.type == "dataset"]
    if package_ids is not None:
        ids = list(package_ids)
        if not ids:
            return {}
        conditions.append(p.c.id.in_(ids))
    if states is not None:
        conditions.append(p.c.state.in_(list(states)))
    if extras_in_column(p):
        rows = core_model.Session.execute(
            sa.select(p.c.id, p.c.extras["mes_schedule_item"].astext).where(
                *conditions, p.c.extras.has_key("mes_schedule_item")  # noqa: W601 (JSONB ? operator)
            )
        ).all()
    else:
        e = core_model.package_extra_table
        rows = core_model.Session.execute(
            sa.select(p.c.id, e.c.value)
            .join(e, e.c.package_id == p.c.id)
            .where(*conditions, e.c.key == "mes_schedule_item", e.c.state == "active")
        ).all()
    out = {}
    for package_id, value in rows:
        text = str(value or "").strip()
        if text.isdigit():
            out[package_id] = int(text)
    return out


#: Where a stored rule version comes from: the order's data file (applied by `seed`) or a sysadmin's change.
RULE_SOURCES = ("act", "sysadmin")


class RuleVersionRow(BaseModel):
    """One version of an item's rule and the date from which it applies (compliance model, section 7).

    Append-only: an amendment is a new row; periods that opened before its `effective_from` keep the earlier
    version."""

    __tablename__ = "mes_schedule_rule_version"
    __table_args__ = (
        Index("mes_schedule_rule_version_item", "item", "effective_from", "created_at"),
    )

    id = Column(Text, primary_key=True, default=_uuid)
    item = Column(Integer, nullable=False)
    effective_from = Column(Date, nullable=False)
    rule = Column(Text, nullable=False)
    deadline_kk = Column(Text)
    # act | sysadmin (see RULE_SOURCES)
    source = Column(Text, nullable=False)
    created_by = Column(Text)
    created_at = Column(DateTime, nullable=False, default=_utcnow)


class FeedToken(BaseModel):
    """A user's personal calendar address (`/compliance/calendar/<token>.ics`) for calendar programs that cannot
    send an API token. Only the SHA-256 (hex) of the secret is stored: the address is shown once, when made.
    A revoked address keeps its row (`revoked_at`), so it can never be handed out again."""

    __tablename__ = "mes_schedule_feed_token"
    __table_args__ = (
        UniqueConstraint("token_hash", name="mes_schedule_feed_token_hash"),
        Index("mes_schedule_feed_token_user", "user_id"),
    )

    id = Column(Text, primary_key=True, default=_uuid)
    user_id = Column(Text, nullable=False)
    token_hash = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=_utcnow)  # naive UTC
    revoked_at = Column(DateTime)  # naive UTC; NULL while the address works

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode("ascii")).hexdigest()

    @classmethod
    def new_secret(cls) -> tuple[str, str]:
        """A new secret and the hash to store."""
        token = secrets.token_urlsafe(32)
        return token, cls.hash(token)
