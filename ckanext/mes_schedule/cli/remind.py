"""`ckan mes-schedule remind`: e-mail the publishers today's reminders (for cron, or as a background job)."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Optional

import click

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule.cli.options import parse_iso_date

if TYPE_CHECKING:
    from ckanext.mes_schedule.reminders import RemindReport

__all__ = ["remind"]


@click.command("remind", short_help="E-mail publishers their due-soon, overdue and escalation reminders.")
@click.option("--dry-run", is_flag=True, help="Print the digests that would be sent; send and record nothing.")
@click.option("--as-of", callback=parse_iso_date, help="The date to remind for (YYYY-MM-DD); default: today in Almaty.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue the run as a background job for `ckan jobs worker` instead of running it here.",
)
def remind(dry_run: bool, as_of: Optional[dt.date], enqueue: bool) -> None:
    """Send each recipient one digest of their datasets that are due soon, overdue or escalated, in their
    language; a reminder already sent (recorded in the database) is never sent again.

    Run it daily from cron, e.g. `0 9 * * * ckan -c /etc/ckan/ckan.ini mes-schedule remind`. Exits non-zero
    when a message could not be sent (that recipient is tried again on the next run).
    """
    from ckanext.mes_schedule import localization, reminders

    if enqueue:
        if dry_run:
            raise click.UsageError("--enqueue and --dry-run do not go together: a dry run prints here")
        job = tk.enqueue_job(
            reminders.mes_schedule_remind_job,
            kwargs={"as_of": as_of.isoformat() if as_of else None},
            title="mes_schedule reminders",
        )
        click.echo(f"queued job {job.id}")
        return

    try:
        with localization.request_context():
            report = reminders.send_reminders(as_of=as_of, dry_run=dry_run)
    except reminders.RemindError as error:
        raise click.ClickException(str(error)) from error
    except tk.ValidationError as error:  # a bad configuration value, named, rather than a traceback
        raise click.ClickException(f"configuration: {error.error_dict}") from error

    _print_digests(report)
    _print_problems(report)
    if not report.digests:
        click.echo("Nothing to send: no reminder is due today that has not been sent already.")
    if report.failures:
        raise click.exceptions.Exit(1)


def _print_digests(report: RemindReport) -> None:
    """One line per digest (sent, failed or, in a dry run, planned), then the totals."""
    failed = {d.recipient.email: problem for d, problem in report.failures}
    for digest in report.digests:
        problem = failed.get(digest.recipient.email)
        if problem is None:
            click.echo(f"{'would send' if report.dry_run else 'sent'} to {digest.summary()}")
        else:
            click.echo(f"FAILED not sent to {digest.summary()}")
            click.echo(f"  error: {problem}", err=True)
    datasets = len({e.row.dataset.id for d in report.digests for e in d.entries})
    if report.dry_run:
        click.echo(
            f"dry run as of {report.as_of.isoformat()}: {len(report.digests)} digest(s), "
            f"{report.reminder_count} reminder(s) about {datasets} dataset(s) would be sent; nothing sent or recorded"
        )
    else:
        sent_reminders = sum(d.reminder_count for d in report.sent)
        click.echo(
            f"as of {report.as_of.isoformat()}: {len(report.sent)} digest(s) sent with {sent_reminders} reminder(s) "
            f"about {datasets} dataset(s); {len(report.failures)} failed"
        )


def _print_problems(report: RemindReport) -> None:
    """The addresses someone should fix: datasets nobody can be told about, and those with too many people."""
    for row, kinds in report.unreachable:
        click.echo(
            f"nobody to tell about {row.dataset.name} [{' '.join(kinds)}]: no maintainer e-mail and no editor "
            "or admin (admin, for an escalation) with an e-mail in its organisation"
        )
    if report.unreachable:
        click.echo(f"{len(report.unreachable)} dataset(s) with a reminder due have nobody to send it to")
    for row, cut in report.capped:
        click.echo(
            f"{row.dataset.name}: more people to tell than ckanext.mes_schedule.max_recipients_per_dataset "
            f"allows; left out: {' '.join(cut)}"
        )
