"""`ckan mes-schedule clear-cache`: drop the shared cache of anonymous pages (page_cache).

Entries are keyed by the record's version, the configuration and the extension's format, so a publication, a
new day or a restart with new settings never serves an old page. A deployment that changes templates without
changing any of those is the one case to clear by hand (or wait `ckanext.mes_schedule.page_cache.ttl`):

    ckan -c /etc/ckan/ckan.ini mes-schedule clear-cache
"""
from __future__ import annotations

import sys

import click

__all__ = ["clear_cache"]


@click.command("clear-cache", short_help="Drop the shared cache of anonymous compliance pages, badges and charts.")
def clear_cache() -> None:
    """Drop every entry of this portal's shared page cache (in CKAN's Redis)."""
    import redis

    from ckanext.mes_schedule import page_cache

    try:
        removed = page_cache.clear()
    except (redis.RedisError, OSError) as error:
        click.secho(f"Redis did not answer ({error}); nothing cleared.", fg="red", err=True)
        sys.exit(1)
    click.echo(f"Removed {removed} cached page(s).")
