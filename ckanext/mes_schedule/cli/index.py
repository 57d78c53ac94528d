"""`ckan mes-schedule reindex`: refresh the compliance status in the search index.

A dataset turns overdue at midnight without anyone touching it, but its search document (and so the
"Compliance" facet) only changes when the dataset is indexed again. Run this once a day from cron, e.g.

    15 0 * * *  ckan -c /etc/ckan/ckan.ini mes-schedule reindex --quiet
"""
from __future__ import annotations

import logging
import sys

import click

__all__ = ["reindex"]

log = logging.getLogger(__name__)


@click.command("reindex", short_help="Re-index the scheduled datasets so the compliance facet is fresh.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def reindex(quiet: bool) -> None:
    """Re-index every active dataset of the order (their statuses change with the calendar)."""
    import ckan.lib.search as search

    from ckanext.mes_schedule import compliance

    ids = [d.id for d in compliance.scheduled_datasets()]
    failed = []
    for package_id in ids:
        try:
            # CKAN's own indexing (2.11 and 2.12 alike); deferred commits: one Solr commit at the end.
            search.rebuild(package_ids=[package_id], defer_commit=True, quiet=True)
        except Exception as e:  # noqa: BLE001 - one broken dataset must not stop the others
            log.exception("could not re-index dataset %s", package_id)
            failed.append((package_id, e))
    search.commit()
    if not quiet:
        click.echo(f"Re-indexed {len(ids) - len(failed)} scheduled dataset(s).")
    for package_id, error in failed:
        click.secho(f"failed: {package_id}: {error}", fg="red", err=True)
    if failed:
        sys.exit(1)
