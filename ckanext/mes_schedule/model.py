"""The extension's own tables (created by its alembic migrations: `ckan db upgrade -p mes_schedule`).

Publications and events are kept apart from CKAN's resource rows on purpose: the history of what was
published when must survive the deletion or replacement of a resource.
"""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Column, Date, DateTime, Index, Integer, Text, UniqueConstraint

from ckan.model.base import BaseModel

__all__ = ["Publication", "Event", "Reminder"]


def _uuid() -> str:
    return str(uuid.uuid4())


def _utcnow() -> dt.datetime:
    # CKAN stores naive UTC timestamps; so do we.
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Publication(BaseModel):
    """Dated evidence that a dataset's data were published: a resource created, a file uploaded or
    replaced, a resource URL changed."""

    __tablename__ = "mes_schedule_publication"
    __table_args__ = (
        UniqueConstraint("resource_id", "published_at", name="mes_schedule_publication_resource_time"),
        Index("mes_schedule_publication_package", "package_id", "published_at"),
    )

    id = Column(Text, primary_key=True, default=_uuid)
    package_id = Column(Text, nullable=False)
    resource_id = Column(Text, nullable=False)
    # created | uploaded | url_changed | backfill
    kind = Column(Text, nullable=False)
    url = Column(Text)
    published_at = Column(DateTime, nullable=False)  # naive UTC
    user_id = Column(Text)


class Event(BaseModel):
    """A triggering event of an event-driven item (e.g. the approval of the register of public services)."""

    __tablename__ = "mes_schedule_event"
    __table_args__ = (UniqueConstraint("package_id", "event_date", name="mes_schedule_event_package_date"),)

    id = Column(Text, primary_key=True, default=_uuid)
    package_id = Column(Text, nullable=False, index=True)
    event_date = Column(Date, nullable=False)
    note = Column(Text)
    created_by = Column(Text)
    created_at = Column(DateTime, nullable=False, default=_utcnow)


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
