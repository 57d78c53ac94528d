"""Reminders to publishers: who gets what, one digest per recipient per run, each reminder sent once.

Kinds of reminder, for one dataset and one period (the statuses behind them come from
`compliance.assess_datasets`; this module only reads the period outcomes of those assessments):

- ``due_soon_<N>``: the period is open (nothing published yet), its due date is 0 < d <= N days away, for the
  N of ``ckanext.mes_schedule.remind_days``. Only the tightest N that applies is sent: when the job did not run
  for weeks and both 30 and 7 apply, only ``due_soon_7`` is sent, and ``due_soon_30`` is recorded with it (the
  recipient has been told; a looser reminder later would say less than the one they already have).
  Periods whose window has not opened yet get no reminder: nothing published now would count for them.
- ``overdue``: the period's due date has passed with nothing published, an upload now would still count for it
  (it is the period containing today), and today is on or after the first working day after the due date.
  Older missed periods are history that no upload can mend: they are not reminded.
- ``escalation``: the same, overdue for ``ckanext.mes_schedule.escalate_after_days`` days or more; to the
  organisation's admins only. An admin who gets the escalation does not also get the plain overdue reminder
  (it is recorded as sent with it).

Recipients: the dataset's maintainer e-mail(s) and the active editors and admins (with an e-mail) of its
organisation; escalations go to the admins only. Nobody else hears about a dataset, so private datasets do not
leak. The language of a recipient is the ``mes_schedule_language`` key of their user's plugin extras (kk, ru
or en), else ``ckanext.mes_schedule.default_language``; a maintainer e-mail that belongs to a user takes that
user's language.

Every (dataset, period due date, kind, recipient) sent is recorded in ``mes_schedule_reminder`` right after
the message was accepted by the SMTP server, so it is never sent twice, across runs and restarts. A recipient
whose message fails is not recorded (the next run tries again); the others go on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections import defaultdict
from typing import Any, Iterable, Iterator, Optional

import flask
import sqlalchemy as sa

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib import mailer

from ckanext.mes_schedule import compliance, schedule, settings, vocab
from ckanext.mes_schedule.model import Reminder

__all__ = [
    "option",
    "remind_days",
    "escalate_after_days",
    "default_language",
    "calendar_months",
    "Due",
    "Recipient",
    "DigestEntry",
    "Digest",
    "RemindReport",
    "RemindError",
    "reminders_due",
    "Plan",
    "plan",
    "pending_digests",
    "render_digest",
    "send_reminders",
    "request_context",
    "forced_locale",
    "mes_schedule_remind_job",
]

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------- settings

def option(key: str) -> Any:
    """The configured value of one of the publishers' options (config_declaration.yaml gives the defaults)."""
    return tk.config.get(key)


def _config_error(key: str, message: str) -> tk.ValidationError:
    return tk.ValidationError({key: [message]})


def _whole_number(key: str, value: Any, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _config_error(key, f"'{value}' is not a whole number")
    if number < minimum:
        raise _config_error(key, f"{number} is less than {minimum}")
    return number


def remind_days() -> tuple[int, ...]:
    """Days before a deadline at which "due soon" reminders go out, largest first, without repeats."""
    key = "ckanext.mes_schedule.remind_days"
    value = option(key)
    # An undeclared option arrives as the ini's raw string; a declared one as a list.
    values = value.split() if isinstance(value, str) else list(value or [])
    return tuple(sorted({_whole_number(key, v, 1) for v in values}, reverse=True))


def escalate_after_days() -> int:
    key = "ckanext.mes_schedule.escalate_after_days"
    return _whole_number(key, option(key), 0)


def default_language() -> str:
    key = "ckanext.mes_schedule.default_language"
    lang = str(option(key) or "").strip()
    if lang not in vocab.LANGS:
        raise _config_error(key, f"'{lang}' is not one of {', '.join(vocab.LANGS)}")
    return lang


def calendar_months() -> int:
    key = "ckanext.mes_schedule.calendar_months"
    return _whole_number(key, option(key), 1)


# ------------------------------------------------------------------------------------------- contexts


def request_context() -> contextlib.AbstractContextManager[Any]:
    """A Flask request context for rendering templates and translating, outside a web request.

    The CLI and the background worker both build CKAN's app (`make_app`) before running our code; CKAN keeps
    a test request context of that app for `url_for` outside requests, and we open a fresh one on the same
    app rather than pushing CKAN's shared one.
    """
    if flask.has_request_context():
        return contextlib.nullcontext()
    if flask.has_app_context():
        return flask.current_app.test_request_context()
    from ckan.config import middleware

    internal = middleware._internal_test_request_context
    if internal is None:
        raise RuntimeError("CKAN's web application has not been created: run this through the `ckan` command")
    return internal.app.test_request_context()


@contextlib.contextmanager
def forced_locale(lang: str) -> Iterator[None]:
    """Translate with `lang` (kk, ru or en) whatever the request's language."""
    from flask_babel import force_locale

    with force_locale(lang):
        yield


# ------------------------------------------------------------------------------------------- what is due

_DUE_SOON = "due_soon_"
OVERDUE = "overdue"
ESCALATION = "escalation"


def _severity(kind: str) -> int:
    return {ESCALATION: 3, OVERDUE: 2}.get(kind, 1)


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
                out.append(
                    Due(
                        f"{_DUE_SOON}{applicable[0]}",
                        period,
                        days,
                        covers=tuple(f"{_DUE_SOON}{n}" for n in applicable[1:]),
                    )
                )
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

_EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def _emails(text: str) -> list[str]:
    """The valid addresses in a maintainer e-mail field (publishers sometimes list several)."""
    return [e.lower() for e in re.split(r"[,;\s]+", text or "") if _EMAIL_RE.match(e)]


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


_ROLE_RANK = {"admin": 3, "editor": 2, "maintainer": 1}


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


@dataclasses.dataclass
class Plan:
    digests: list[Digest]
    # Datasets with a reminder due and nobody to send it to (no maintainer e-mail, no editor or admin with an
    # e-mail in their organisation; for an escalation, no admin with an e-mail), with the kinds nobody gets:
    # reported so that someone fixes the addresses.
    unreachable: list[tuple[compliance.ComplianceRow, tuple[str, ...]]]


def pending_digests(
    as_of: Optional[dt.date] = None, rows: Optional[list[compliance.ComplianceRow]] = None
) -> list[Digest]:
    """The digests a run on `as_of` would send: what applies, to whom, less what was already sent."""
    return plan(as_of, rows).digests


def plan(as_of: Optional[dt.date] = None, rows: Optional[list[compliance.ComplianceRow]] = None) -> Plan:
    """What a run on `as_of` would do: the digests, and the datasets it cannot tell anyone about."""
    as_of = as_of or compliance.today()
    if rows is None:
        # The job is not a user: it sees every dataset and tells each only to the people allowed to see it.
        rows = compliance.assess_datasets(as_of=as_of, visibility=None)
    calendar = settings.calendar()
    thresholds, escalate_after, default_lang = remind_days(), escalate_after_days(), default_language()

    dues = {r.dataset.id: reminders_due(r, as_of, calendar, thresholds, escalate_after) for r in rows}
    rows = [r for r in rows if dues[r.dataset.id]]
    if not rows:
        return Plan([], [])
    staff = _organization_staff((r.dataset.owner_org for r in rows if r.dataset.owner_org), default_lang)
    maintainer_users = _users_by_email(
        (e for r in rows for e in _emails(r.dataset.maintainer_email)), default_lang
    )
    sent = _sent_keys(r.dataset.id for r in rows)

    by_email: dict[str, Digest] = {}
    unreachable: list[tuple[compliance.ComplianceRow, tuple[str, ...]]] = []
    for row in sorted(rows, key=lambda r: (r.dataset.title_in(default_lang), r.dataset.name)):
        ds = row.dataset
        # Who may hear about this dataset, with the strongest role each has.
        audience: dict[str, tuple[str, Recipient]] = {}

        def add(recipient: Recipient, role: str) -> None:
            known = audience.get(recipient.email)
            if known is None or _ROLE_RANK[role] > _ROLE_RANK[known[0]]:
                # A user's own record (name, language) beats a bare maintainer address.
                keep = recipient if known is None or recipient.user_name else known[1]
                audience[recipient.email] = (role, keep)

        for email in _emails(ds.maintainer_email):
            add(maintainer_users.get(email) or Recipient(email, "", default_lang), "maintainer")
        org_staff = staff.get(ds.owner_org or "", {})
        for capacity in ("editor", "admin"):
            for recipient in org_staff.get(capacity, []):
                add(recipient, capacity)

        roles = {role for role, _ in audience.values()}
        untold = {d.kind for d in dues[ds.id] if not (roles if not d.admins_only else roles & {"admin"})}
        if untold:
            unreachable.append((row, tuple(sorted(untold))))
        for email, (role, recipient) in audience.items():
            by_period: dict[dt.date, list[Due]] = defaultdict(list)
            for due in dues[ds.id]:
                if due.admins_only and role != "admin":
                    continue
                by_period[due.period.due].append(due)
            for period_due, applicable in by_period.items():
                applicable.sort(key=lambda d: _severity(d.kind), reverse=True)
                primary = applicable[0]
                if (ds.id, period_due, primary.kind, email) in sent:
                    continue
                kinds = {primary.kind, *primary.covers, *(d.kind for d in applicable[1:])}
                record = tuple(sorted(k for k in kinds if (ds.id, period_due, k, email) not in sent))
                digest = by_email.setdefault(email, Digest(recipient, []))
                digest.entries.append(DigestEntry(row, primary, role, record))

    digests = sorted(by_email.values(), key=lambda d: d.recipient.email)
    for digest in digests:
        digest.entries.sort(key=lambda e: (-_severity(e.kind), e.due.period.due, e.row.dataset.name))
    return Plan(digests, unreachable)


# ------------------------------------------------------------------------------------------- rendering


def _site_url() -> str:
    return (tk.config.get("ckan.site_url") or "").rstrip("/")


def dataset_link(name: str) -> str:
    return f"{_site_url()}/dataset/{name}"


def _format_date(day: dt.date, lang: str) -> str:
    from babel.dates import format_date

    return format_date(day, format="long", locale=lang)


def _subject(digest: Digest) -> str:
    kinds = [e.kind for e in digest.entries]
    site = tk.config.get("ckan.site_title") or "CKAN"
    if ESCALATION in kinds:
        n = kinds.count(ESCALATION)
        text = tk.ungettext(
            "Escalation: {n} dataset is overdue", "Escalation: {n} datasets are overdue", n
        ).format(n=n)
    elif OVERDUE in kinds:
        n = kinds.count(OVERDUE)
        text = tk.ungettext(
            "Overdue: {n} dataset has missed its deadline", "Overdue: {n} datasets have missed their deadline", n
        ).format(n=n)
    else:
        n = len(kinds)
        text = tk.ungettext(
            "Reminder: {n} dataset is due soon", "Reminder: {n} datasets are due soon", n
        ).format(n=n)
    return f"[{site}] {text}"


def _entry_vars(entry: DigestEntry, lang: str) -> dict[str, Any]:
    from ckanext.mes_schedule.helpers_publisher import describe_period

    ds, period = entry.row.dataset, entry.due.period
    return {
        "kind": "due_soon" if entry.kind.startswith(_DUE_SOON) else entry.kind,
        "days": entry.due.days,
        "title": ds.title_in(lang),
        "name": ds.name,
        "link": dataset_link(ds.name),
        "due": period.due.isoformat(),
        "due_long": _format_date(period.due, lang),
        "period": describe_period(period, lang),
        "rule_in_words": schedule.describe(entry.row.rule, lang) if entry.row.rule else "",
        "role": entry.role,
        "private": ds.private,
    }


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


def render_digest(digest: Digest) -> tuple[str, str, str]:
    """Subject, plain-text body and HTML body, in the recipient's language (needs a request context)."""
    lang = digest.recipient.language
    with forced_locale(lang):
        extra_vars = {
            "recipient": digest.recipient,
            "entries": [_entry_vars(e, lang) for e in digest.entries],
            "site_title": tk.config.get("ckan.site_title") or "CKAN",
            "site_url": _site_url(),
            "deadlines_url": f"{_site_url()}/dashboard/deadlines",
            "lang": lang,
        }
        subject = _subject(digest)
        text = tk.render("mes_schedule/publisher/email_digest_text.html", extra_vars)
        html = tk.render("mes_schedule/publisher/email_digest.html", extra_vars)
    return subject, text.strip() + "\n", html


# ------------------------------------------------------------------------------------------- sending


class RemindError(Exception):
    """The run could not start (mail not configured, another run in progress)."""


@dataclasses.dataclass
class RemindReport:
    as_of: dt.date
    dry_run: bool
    digests: list[Digest]
    unreachable: list[tuple[compliance.ComplianceRow, tuple[str, ...]]] = dataclasses.field(default_factory=list)
    sent: list[Digest] = dataclasses.field(default_factory=list)
    failures: list[tuple[Digest, str]] = dataclasses.field(default_factory=list)

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
        }


def _mail_configured() -> bool:
    # Without smtp.server CKAN's mailer silently sends nothing; recording reminders then would lose them.
    # INotifier (an extension sending by other means) exists from CKAN 2.12 on.
    notifier = getattr(p, "INotifier", None)
    return bool(tk.config.get("smtp.server")) or bool(notifier and any(True for _ in p.PluginImplementations(notifier)))


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
            days_before = int(kind[len(_DUE_SOON):]) if kind.startswith(_DUE_SOON) else None
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


def send_reminders(as_of: Optional[dt.date] = None, dry_run: bool = False) -> RemindReport:
    """Send today's digests (or, with `dry_run`, only work out what they would be: nothing is sent or
    recorded). Needs a request context (see `request_context`)."""
    as_of = as_of or compliance.today()
    if dry_run:
        planned = plan(as_of)
        return RemindReport(as_of, True, planned.digests, planned.unreachable)
    if not _mail_configured():
        raise RemindError("smtp.server is not configured: no reminder can be sent")
    with _run_lock():
        # Worked out under the lock, so a run that waited for another sees what that one recorded.
        planned = plan(as_of)
        report = RemindReport(as_of, False, planned.digests, planned.unreachable)
        for digest in report.digests:
            recipient = digest.recipient
            try:
                subject, body, body_html = render_digest(digest)
                mailer.mail_recipient(
                    recipient.name,
                    recipient.email,
                    _subject_value(subject),
                    body,
                    body_html=body_html,
                    headers={"Content-Language": recipient.language, "Auto-Submitted": "auto-generated"},
                )
            except Exception as error:  # noqa: BLE001 - one bad address or server hiccup must not stop the run
                log.warning("reminder to %s failed: %s", recipient.email, error)
                report.failures.append((digest, str(error) or error.__class__.__name__))
                continue
            try:
                _record(digest)
            except sa.exc.SQLAlchemyError as error:
                model.Session.rollback()
                log.error("reminder to %s was sent but could not be recorded: %s", recipient.email, error)
                report.failures.append((digest, f"sent, but not recorded: {error}"))
                continue
            report.sent.append(digest)
    return report


def mes_schedule_remind_job(as_of: Optional[str] = None) -> dict[str, Any]:
    """Background job: send today's reminders. Enqueue it with
    ``tk.enqueue_job(mes_schedule_remind_job, title="mes_schedule reminders")`` (or
    ``ckan mes-schedule remind --enqueue``); a `ckan jobs worker` runs it. Fails (and RQ shows the job as failed)
    when any reminder could not be sent."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    with request_context():
        report = send_reminders(as_of=day)
    summary = report.as_dict()
    log.info("reminders: %s", summary)
    if not report.ok:
        raise RemindError(f"{len(report.failures)} reminder digest(s) could not be sent: {summary['failed']}")
    return summary
