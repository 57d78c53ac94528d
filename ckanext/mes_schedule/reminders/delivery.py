"""Sending the digests: through a `Channel` (e-mail by default), under a run lock, each reminder recorded once.

Every (dataset, period due date, kind, recipient) sent is recorded in ``mes_schedule_reminder`` right after the
channel accepted the message, so it is never sent twice, across runs and restarts. A recipient whose message
fails is not recorded (the next run tries again); the others go on.
"""
from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime as dt
import logging
from typing import Any, Iterator, Optional

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib import mailer

from ckanext.mes_schedule import localization
from ckanext.mes_schedule.model import Reminder
from ckanext.mes_schedule.reminders.planning import DUE_SOON, Capped, Digest, Unreachable, plan
from ckanext.mes_schedule.reminders.rendering import Rendered, render_digest

__all__ = ["Channel", "EmailChannel", "RemindError", "RemindReport", "send_reminders"]

log = logging.getLogger(__name__)


class RemindError(Exception):
    """The run could not start (no way to send, another run in progress)."""


class Channel(abc.ABC):
    """Where digests go. A new channel (a webhook, a messenger) is one subclass with a `name` and `send`.

    `send` raises when the message was not accepted: that recipient is not recorded and is tried again on the
    next run.
    """

    name: str

    @abc.abstractmethod
    def send(self, digest: Digest, rendered: Rendered) -> None: ...

    def unavailable(self) -> Optional[str]:
        """Why nothing can be sent at all (checked before a run records anything), or None."""
        return None


class _EncodedSubject(str):
    """A non-ASCII subject that folds itself with the legacy `email.header.Header` encoder.

    Python 3.11's default e-mail policy loses the space between two words when it folds a long header into
    several encoded words (about one Russian subject in fifteen arrived as "набораданных"). CKAN's mailer
    assigns the subject to an `EmailMessage`; a value with a `name` and a `fold` method is kept and folded
    as it is (email.policy.EmailPolicy.header_store_parse / _fold), so the header arrives intact.
    """

    name = "Subject"

    def fold(self, *, policy: Any) -> str:
        from email.header import Header

        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


def _subject_value(subject: str) -> str:
    return subject if subject.isascii() else _EncodedSubject(subject)


class EmailChannel(Channel):
    """E-mail through CKAN's mailer (smtp.* settings, or an INotifier plugin from CKAN 2.12 on)."""

    name = "email"

    def unavailable(self) -> Optional[str]:
        # Without smtp.server CKAN's mailer silently sends nothing; recording reminders then would lose them.
        notifier = getattr(p, "INotifier", None)
        if tk.config.get("smtp.server") or (notifier and any(True for _ in p.PluginImplementations(notifier))):
            return None
        return "smtp.server is not configured: no reminder can be sent"

    def send(self, digest: Digest, rendered: Rendered) -> None:
        recipient = digest.recipient
        mailer.mail_recipient(
            recipient.name,
            recipient.email,
            _subject_value(rendered.subject),
            rendered.text,
            body_html=rendered.html,
            headers={"Content-Language": recipient.language, "Auto-Submitted": "auto-generated"},
        )


@dataclasses.dataclass
class RemindReport:
    as_of: dt.date
    dry_run: bool
    digests: list[Digest]
    unreachable: list[Unreachable] = dataclasses.field(default_factory=list)
    sent: list[Digest] = dataclasses.field(default_factory=list)
    failures: list[tuple[Digest, str]] = dataclasses.field(default_factory=list)
    capped: list[Capped] = dataclasses.field(default_factory=list)

    @property
    def reminder_count(self) -> int:
        return sum(d.reminder_count for d in self.digests)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "digests": len(self.digests),
            "reminders": self.reminder_count,
            "sent": [d.recipient.email for d in self.sent],
            "failed": {d.recipient.email: error for d, error in self.failures},
            "unreachable": [row.dataset.name for row, _ in self.unreachable],
            "capped": {row.dataset.name: list(cut) for row, cut in self.capped},
        }


# An arbitrary constant: the key of the PostgreSQL advisory lock that keeps two runs (cron and a queued job)
# from sending the same reminders at the same time.
_LOCK_KEY = 0x6D65735F72656D


@contextlib.contextmanager
def _run_lock() -> Iterator[None]:
    engine = model.Session.get_bind()
    # Autocommit: the lock belongs to the database session, and no transaction should sit idle meanwhile
    # (works alike on SQLAlchemy 1.4, CKAN 2.11, and 2.0, CKAN 2.12).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(_LOCK_KEY))).scalar():
            raise RemindError("another reminder run is in progress")
        try:
            yield
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(_LOCK_KEY)))


def _record(digest: Digest) -> None:
    email = digest.recipient.email
    for entry in digest.entries:
        for kind in entry.record:
            days_before = int(kind[len(DUE_SOON):]) if kind.startswith(DUE_SOON) else None
            model.Session.add(
                Reminder(
                    package_id=entry.row.dataset.id,
                    period_due=entry.due.period.due,
                    kind=kind,
                    recipient=email,
                    days_before=days_before,
                )
            )
    model.Session.commit()


def _deliver(digest: Digest, channel: Channel, report: RemindReport) -> None:
    """Send one digest and record it; a failure is reported and the run goes on."""
    email = digest.recipient.email
    try:
        channel.send(digest, render_digest(digest))
    except Exception as error:  # noqa: BLE001 - one bad address or server hiccup must not stop the run
        log.warning("reminder to %s by %s failed: %s", email, channel.name, error)
        report.failures.append((digest, str(error) or error.__class__.__name__))
        return
    try:
        _record(digest)
    except sa.exc.SQLAlchemyError as error:
        model.Session.rollback()
        log.error("reminder to %s was sent but could not be recorded: %s", email, error)
        report.failures.append((digest, f"sent, but not recorded: {error}"))
        return
    report.sent.append(digest)


def send_reminders(
    as_of: Optional[dt.date] = None, dry_run: bool = False, channel: Optional[Channel] = None
) -> RemindReport:
    """Send today's digests through `channel` (default: e-mail), or with `dry_run` only work out what they
    would be (nothing is sent or recorded). Needs a request context (`localization.request_context`)."""
    as_of = as_of or localization.today()
    if dry_run:
        planned = plan(as_of)
        return RemindReport(as_of, True, planned.digests, planned.unreachable, capped=planned.capped)
    channel = channel or EmailChannel()
    problem = channel.unavailable()
    if problem:
        raise RemindError(problem)
    with _run_lock():
        # Worked out under the lock, so a run that waited for another sees what that one recorded.
        planned = plan(as_of)
        report = RemindReport(as_of, False, planned.digests, planned.unreachable, capped=planned.capped)
        for digest in report.digests:
            _deliver(digest, channel, report)
    return report
