"""`ckan mes-schedule backfill` and `verify-history`: fill the publication history from what the server wrote,
and check that nobody edited it outside the application."""
from __future__ import annotations

import sys

import click

__all__ = ["backfill", "verify_history"]


@click.command("backfill", short_help="Fill the publication history from the activity stream and stored files.")
@click.option("--dry-run", is_flag=True, help="Print what would be added, and why; write nothing.")
def backfill(dry_run: bool) -> None:
    """Record the publications the activity stream shows (resources created, URLs changed, files uploaded), at
    the server's timestamps of those activities, with the same evidence rules as the live history: a URL, or the
    SHA-256 of the stored file; evidence the item already published is not added again.

    Never reads `created` / `last_modified`, which an editor can set. Idempotent: a second run adds nothing.
    """
    from ckanext.mes_schedule import history

    try:
        report = history.backfill(dry_run=dry_run)
    except RuntimeError as e:
        raise click.ClickException(str(e)) from e
    if dry_run:
        for candidate in report.candidates:
            click.echo(f"would add: {candidate.line()}")
    verb = "would be added" if dry_run else "added"
    click.echo(
        f"{'dry run: ' if dry_run else ''}{report.activities} activities, {report.resources} resources examined, "
        f"{report.added} publications {verb} for {len(report.packages)} datasets, "
        f"{report.already_recorded} already recorded, {report.without_evidence} without evidence"
    )
    if not report.added:
        click.echo("Nothing to do: the history already covers every publication the activity stream shows.")


@click.command("verify-history", short_help="Check the hash chains of the publication and event history.")
def verify_history() -> None:
    """Recompute every item's hash chain of publications and events. Exits 0 when all hold; otherwise prints the
    first row of each broken chain (a row edited, removed or inserted outside the application) and exits 1."""
    from ckanext.mes_schedule import history

    breaks = list(history.verify_chains())
    for chain_break in breaks:
        click.echo(f"BROKEN: {chain_break}")
    if breaks:
        click.echo(f"{len(breaks)} broken chain(s)")
        sys.exit(1)
    click.echo("All history chains hold.")
