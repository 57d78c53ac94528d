"""Reminders to publishers: who gets what, one digest per recipient per run, each reminder sent once.

- planning.py: what is due and to whom (the digests of a run);
- rendering.py: what a digest says, in the recipient's language;
- delivery.py: sending through a `Channel` (e-mail by default), the run lock, recording what was sent.

Kinds of reminder, for one dataset and one period (the statuses behind them come from
`compliance.assess_datasets`; the reminders only read the period outcomes of those assessments):

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
organisation, at most ``ckanext.mes_schedule.max_recipients_per_dataset`` of them; escalations go to the admins
only. The language of a recipient is the ``mes_schedule_language`` key of their user's plugin extras (kk, ru
or en), else ``ckanext.mes_schedule.default_language``; a maintainer e-mail that belongs to a user takes that
user's language.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Optional

# Moved to settings and localization; still importable from here for the callers written against this module.
from ckanext.mes_schedule.localization import forced_locale, request_context
from ckanext.mes_schedule.reminders.delivery import (
    Channel,
    EmailChannel,
    RemindError,
    RemindReport,
    send_reminders,
)
from ckanext.mes_schedule.reminders.planning import (
    Digest,
    DigestEntry,
    Due,
    Plan,
    Recipient,
    pending_digests,
    plan,
    reminders_due,
)
from ckanext.mes_schedule.reminders.rendering import dataset_link, render_digest
from ckanext.mes_schedule.settings import (
    calendar_months,
    default_language,
    escalate_after_days,
    option,
    remind_days,
)

__all__ = [
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
    "dataset_link",
    "Channel",
    "EmailChannel",
    "send_reminders",
    "mes_schedule_remind_job",
    # moved: settings.*, localization.*
    "option",
    "remind_days",
    "escalate_after_days",
    "default_language",
    "calendar_months",
    "request_context",
    "forced_locale",
]

log = logging.getLogger(__name__)


# Defined here, not in a submodule: queued jobs name it by this import path.
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
