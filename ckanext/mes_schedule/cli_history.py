"""`ckan mes-schedule backfill`: the publication history of a portal that ran without the extension."""
from __future__ import annotations

import click

__all__ = ["backfill"]


@click.command("backfill", short_help="Fill the publication history from the existing resources.")
@click.option("--dry-run", is_flag=True, help="Count what would be added and write nothing.")
def backfill(dry_run: bool) -> None:
    """Record a publication at each resource's creation date, and at its last file upload when later.

    Deleted resources count too (their past publications stay evidence). Idempotent: a second run adds nothing.
    """
    from ckanext.mes_schedule import history

    report = history.backfill(dry_run=dry_run)
    verb = "would be added" if dry_run else "added"
    click.echo(
        f"{'dry run: ' if dry_run else ''}{report.resources} resources examined, "
        f"{report.added} publications {verb} for {len(report.packages)} datasets, "
        f"{report.already_recorded} already recorded"
    )
    if not report.added:
        click.echo("Nothing to do: the history already covers every resource.")
