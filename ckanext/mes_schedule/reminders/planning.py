"""What is due: which reminders apply to which dataset, who may hear about it, and the digests of a run."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from typing import Any, Iterable, Optional

import sqlalchemy as sa

import ckan.model as model

from ckanext.mes_schedule import compliance, localization, schedule, settings, vocab
from ckanext.mes_schedule.logic.validators import is_address, split_addresses
from ckanext.mes_schedule.model import Reminder

__all__ = [
    "DUE_SOON",
    "OVERDUE",
    "ESCALATION",
    "severity",
    "Due",
    "reminders_due",
    "Recipient",
    "Directory",
    "recipients",
    "DigestEntry",
    "Digest",
    "Capped",
    "Unreachable",
    "Plan",
    "plan",
    "pending_digests",
]

log = logging.getLogger(__name__)

DUE_SOON = "due_soon_"  # + the number of days of the threshold: due_soon_30
OVERDUE = "overdue"
ESCALATION = "escalation"


def severity(kind: str) -> int:
    return {ESCALATION: 3, OVERDUE: 2}.get(kind, 1)


# ------------------------------------------------------------------------------------------- what is due


@dataclasses.dataclass(frozen=True)
class Due:
    """A reminder that applies to one dataset's period on a date, before deciding who gets it."""

    kind: str  # due_soon_<N> | overdue | escalation
    period: schedule.Period
    days: int  # days until the due date (due soon) or since it (overdue, escalation)
    covers: tuple[str, ...] = ()  # looser kinds this one makes pointless (recorded with it)
    admins_only: bool = False


def reminders_due(
    row: compliance.ComplianceRow,
    as_of: dt.date,
    calendar: schedule.WorkCalendar,
    days_before: Iterable[int],
    escalate_after: int,
) -> list[Due]:
    """Which reminders apply to one assessed dataset on `as_of` (whoever has already received them)."""
    assessment = row.assessment
    if row.rule is None or not assessment.periods:
        return []
    thresholds = sorted(set(days_before))
    out: list[Due] = []
    for outcome in assessment.periods:
        period = outcome.period
        if outcome.outcome == "open" and period.due > as_of:
            days = (period.due - as_of).days
            applicable = [n for n in thresholds if days <= n]
            if applicable:
                looser = tuple(f"{DUE_SOON}{n}" for n in applicable[1:])
                out.append(Due(f"{DUE_SOON}{applicable[0]}", period, days, covers=looser))
        elif outcome.outcome == "missed" and period == assessment.current:
            # An upload now lands in the current period, so only its deadline can still be caught up with.
            if as_of < calendar.add_working_days(period.due, 1):
                continue
            days = (as_of - period.due).days
            out.append(Due(OVERDUE, period, days))
            if days >= escalate_after:
                out.append(Due(ESCALATION, period, days, covers=(OVERDUE,), admins_only=True))
    return out


# ------------------------------------------------------------------------------------------- recipients


def _emails(text: str) -> list[str]:
    """The valid addresses of a maintainer e-mail field, lower case (older datasets may hold invalid ones)."""
    return [e.lower() for e in split_addresses(text) if is_address(e)]


@dataclasses.dataclass(frozen=True)
class Recipient:
    email: str  # lower case: the identity recorded in mes_schedule_reminder
    name: str
    language: str
    user_name: Optional[str] = None


def _language(plugin_extras: Optional[dict[str, Any]], default: str) -> str:
    lang = (plugin_extras or {}).get("mes_schedule_language")
    return lang if lang in vocab.LANGS else default


def _user_recipient(row: Any, default_lang: str) -> Recipient:
    return Recipient(
        email=row.email.strip().lower(),
        # On one line: the name goes into the To header, which refuses line breaks (the message would fail).
        name=" ".join((row.fullname or row.name).split()),
        language=_language(row.plugin_extras, default_lang),
        user_name=row.name,
    )


def _organization_staff(org_ids: Iterable[str], default_lang: str) -> dict[str, dict[str, list[Recipient]]]:
    """org id -> capacity (editor/admin) -> active users with an e-mail, in one query."""
    ids = list(set(org_ids))
    out: dict[str, dict[str, list[Recipient]]] = defaultdict(lambda: defaultdict(list))
    if not ids:
        return out
    m, g, u = model.member_table, model.group_table, model.user_table
    rows = model.Session.execute(
        sa.select(m.c.group_id, m.c.capacity, u.c.name, u.c.fullname, u.c.email, u.c.plugin_extras)
        .join(u, u.c.id == m.c.table_id)
        .join(g, g.c.id == m.c.group_id)
        .where(
            m.c.table_name == "user",
            m.c.state == "active",
            m.c.capacity.in_(("editor", "admin")),
            m.c.group_id.in_(ids),
            g.c.is_organization.is_(True),
            g.c.state == "active",
            u.c.state == "active",
            sa.func.coalesce(u.c.email, "") != "",
        )
        .order_by(u.c.name)
    ).all()
    for r in rows:
        out[r.group_id][r.capacity].append(_user_recipient(r, default_lang))
    return out


def _users_by_email(emails: Iterable[str], default_lang: str) -> dict[str, Recipient]:
    wanted = list(set(emails))
    if not wanted:
        return {}
    u = model.user_table
    rows = model.Session.execute(
        sa.select(u.c.name, u.c.fullname, u.c.email, u.c.plugin_extras)
        .where(sa.func.lower(u.c.email).in_(wanted), u.c.state == "active")
        .order_by(u.c.name)
    ).all()
    out: dict[str, Recipient] = {}
    for r in rows:
        out.setdefault(r.email.strip().lower(), _user_recipient(r, default_lang))
    return out


# A person with several roles keeps the strongest (an admin who is also the maintainer gets escalations).
_ROLE_RANK = {"admin": 3, "editor": 2, "maintainer": 1}


@dataclasses.dataclass
class Directory:
    """Who can be told, looked up once per run for all the datasets that have something due."""

    staff: dict[str, dict[str, list[Recipient]]]
    maintainer_users: dict[str, Recipient]
    default_lang: str


def recipients(
    dataset: compliance.ScheduledDataset, directory: Directory, limit: Optional[int] = None
) -> tuple[dict[str, tuple[str, Recipient]], list[str]]:
    """Who may hear about `dataset`: e-mail -> (strongest role, recipient), and the addresses cut by `limit`.

    Only the dataset's maintainer addresses and its organisation's editors and admins: nobody else hears about
    a dataset, so private ones do not leak. Under the limit the maintainer addresses come first (the publisher
    named them for this dataset), then admins, then editors.
    """
    audience: dict[str, tuple[str, Recipient]] = {}

    def add(recipient: Recipient, role: str) -> None:
        known = audience.get(recipient.email)
        if known is None or _ROLE_RANK[role] > _ROLE_RANK[known[0]]:
            # A user's own record (name, language) beats a bare maintainer address.
            keep = recipient if known is None or recipient.user_name else known[1]
            audience[recipient.email] = (role, keep)

    maintainers = _emails(dataset.maintainer_email)
    for email in maintainers:
        add(directory.maintainer_users.get(email) or Recipient(email, "", directory.default_lang), "maintainer")
    org_staff = directory.staff.get(dataset.owner_org or "", {})
    for capacity in ("editor", "admin"):
        for recipient in org_staff.get(capacity, []):
            add(recipient, capacity)
    if limit is None or len(audience) <= limit:
        return audience, []

    def priority(email: str) -> tuple[int, int]:
        listed = maintainers.index(email) if email in maintainers else len(maintainers)
        return (listed, -_ROLE_RANK[audience[email][0]])

    # sorted() is stable: people of the same role keep the order of their user names.
    ranked = sorted(audience, key=priority)
    return {e: audience[e] for e in ranked[:limit]}, ranked[limit:]


# ------------------------------------------------------------------------------------------- digests


@dataclasses.dataclass(frozen=True)
class DigestEntry:
    row: compliance.ComplianceRow
    due: Due
    role: str  # maintainer | editor | admin: why this recipient hears about the dataset
    record: tuple[str, ...]  # kinds recorded as sent when the digest goes out

    @property
    def kind(self) -> str:
        return self.due.kind


@dataclasses.dataclass
class Digest:
    recipient: Recipient
    entries: list[DigestEntry]

    @property
    def reminder_count(self) -> int:
        return len(self.entries)

    def summary(self) -> str:
        """One line for the CLI: recipient, language, datasets and kinds."""
        items = ", ".join(f"{e.row.dataset.name} [{e.kind} {e.due.period.due.isoformat()}]" for e in self.entries)
        return f"{self.recipient.email} ({self.recipient.language}): {items}"


def _sent_keys(package_ids: Iterable[str]) -> set[tuple[str, dt.date, str, str]]:
    ids = list(set(package_ids))
    if not ids:
        return set()
    rows = model.Session.execute(
        sa.select(Reminder.package_id, Reminder.period_due, Reminder.kind, Reminder.recipient).where(
            Reminder.package_id.in_(ids)
        )
    )
    return {(r.package_id, r.period_due, r.kind, r.recipient) for r in rows}


# A dataset with a reminder due and nobody to send it to (no maintainer e-mail, no editor or admin with an
# e-mail in its organisation; for an escalation, no admin with an e-mail), with the kinds nobody gets.
Unreachable = tuple[compliance.ComplianceRow, tuple[str, ...]]
# A dataset with more people to tell than max_recipients_per_dataset, with the addresses left out.
Capped = tuple[compliance.ComplianceRow, tuple[str, ...]]


@dataclasses.dataclass
class Plan:
    digests: list[Digest]
    # Both reported so that someone fixes the addresses.
    unreachable: list[Unreachable]
    capped: list[Capped] = dataclasses.field(default_factory=list)


def pending_digests(
    as_of: Optional[dt.date] = None, rows: Optional[list[compliance.ComplianceRow]] = None
) -> list[Digest]:
    """The digests a run on `as_of` would send: what applies, to whom, less what was already sent."""
    return plan(as_of, rows).digests


def _entries(
    row: compliance.ComplianceRow,
    dues: list[Due],
    role: str,
    email: str,
    sent: set[tuple[str, dt.date, str, str]],
) -> list[DigestEntry]:
    """What one recipient is told about one dataset: per period the most severe reminder not yet sent."""
    ds_id = row.dataset.id
    by_period: dict[dt.date, list[Due]] = defaultdict(list)
    for due in dues:
        if not due.admins_only or role == "admin":
            by_period[due.period.due].append(due)
    out = []
    for period_due, applicable in by_period.items():
        applicable.sort(key=lambda d: severity(d.kind), reverse=True)
        primary = applicable[0]
        if (ds_id, period_due, primary.kind, email) in sent:
            continue
        kinds = {primary.kind, *primary.covers, *(d.kind for d in applicable[1:])}
        record = tuple(sorted(k for k in kinds if (ds_id, period_due, k, email) not in sent))
        out.append(DigestEntry(row, primary, role, record))
    return out


def _untold(dues: list[Due], audience: dict[str, tuple[str, Recipient]]) -> set[str]:
    roles = {role for role, _ in audience.values()}
    return {d.kind for d in dues if not (roles & {"admin"} if d.admins_only else roles)}


def plan(as_of: Optional[dt.date] = None, rows: Optional[list[compliance.ComplianceRow]] = None) -> Plan:
    """What a run on `as_of` would do: the digests, and the datasets it cannot tell anyone about."""
    as_of = as_of or localization.today()
    if rows is None:
        # The job is not a user: it sees every dataset and tells each only to the people allowed to see it.
        rows = compliance.assess_datasets(as_of=as_of, visibility=None)
    calendar = settings.calendar()
    thresholds, escalate_after = settings.remind_days(), settings.escalate_after_days()
    default_lang, limit = settings.default_language(), settings.max_recipients_per_dataset()

    dues = {r.dataset.id: reminders_due(r, as_of, calendar, thresholds, escalate_after) for r in rows}
    rows = [r for r in rows if dues[r.dataset.id]]
    if not rows:
        return Plan([], [])
    directory = Directory(
        staff=_organization_staff((r.dataset.owner_org for r in rows if r.dataset.owner_org), default_lang),
        maintainer_users=_users_by_email(
            (e for r in rows for e in _emails(r.dataset.maintainer_email)), default_lang
        ),
        default_lang=default_lang,
    )
    sent = _sent_keys(r.dataset.id for r in rows)

    result = Plan([], [])
    by_email: dict[str, Digest] = {}
    for row in sorted(rows, key=lambda r: (r.dataset.title_in(default_lang), r.dataset.name)):
        audience, cut = recipients(row.dataset, directory, limit)
        if cut:
            log.warning("reminders about %s: %d recipient(s) over the limit of %d left out: %s",
                        row.dataset.name, len(cut), limit, ", ".join(cut))
            result.capped.append((row, tuple(cut)))
        untold = _untold(dues[row.dataset.id], audience)
        if untold:
            result.unreachable.append((row, tuple(sorted(untold))))
        for email, (role, recipient) in audience.items():
            entries = _entries(row, dues[row.dataset.id], role, email, sent)
            if entries:
                by_email.setdefault(email, Digest(recipient, [])).entries.extend(entries)

    result.digests = sorted(by_email.values(), key=lambda d: d.recipient.email)
    for digest in result.digests:
        digest.entries.sort(key=lambda e: (-severity(e.kind), e.due.period.due, e.row.dataset.name))
    return result
