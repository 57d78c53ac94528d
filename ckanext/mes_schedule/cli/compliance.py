"""`ckan mes-schedule compliance`: the compliance table as the portal's downloads write it.

The output is the same bytes as `/compliance.csv` (or `.json`) for the same filters and language: the command
calls the same action and the same writer (downloads.py `export_chunks`), so it has the same headers,
the byte order mark, formula protection and every row, streamed.
"""
from __future__ import annotations

import datetime as dt
from typing import IO, Any, Optional

import click

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import exports, localization
from ckanext.mes_schedule.cli.options import parse_iso_date

__all__ = ["compliance"]


def _default_lang() -> str:
    return localization.reduce_lang(tk.config.get("ckan.locale_default"))


def _failure(error: tk.ValidationError) -> click.UsageError:
    """The action's refusal as a usage error naming the option (exit status 2)."""
    parts = []
    for field, messages in (error.error_dict or {}).items():
        text = "; ".join(map(str, messages)) if isinstance(messages, (list, tuple)) else str(messages)
        parts.append(f"--{field.replace('_', '-')}: {text}")
    return click.UsageError(" ".join(parts) or str(error))


@click.command()
@click.option("--format", "fmt", type=click.Choice(list(exports.FORMATS)), default="csv", show_default=True)
@click.option("--lang", type=click.Choice(list(localization.LANGS)), default=None,
              help="Language of the titles and cells; default: the portal's (ckan.locale_default).")
@click.option("--as-of", callback=parse_iso_date, help="The date to assess on (YYYY-MM-DD); default: today in Almaty.")
@click.option("--organization", help="Only this organisation's datasets (name or id).")
@click.option("--status", help="Only these statuses (comma-separated, e.g. overdue,late).")
@click.option("--frequency", help="Only this frequency (an EU frequency code, e.g. QUARTERLY).")
@click.option("-q", "--q", "q", help="Only datasets whose title or name contains this text.")
@click.option(
    "--sort", help="item (default), title, status, next_due, last_published or on_time_rate; '-' first: descending."
)
@click.option("--user", default="", help="List what this user may see; default: anonymous (public datasets only).")
@click.option("-o", "--output", type=click.File("wb"), default="-", show_default=True, help="File to write.")
@click.pass_context
def compliance(
    ctx: click.Context, fmt: str, lang: Optional[str], as_of: Optional[dt.date], output: IO[bytes], user: str,
    **filters: Optional[str],
) -> None:
    """Every scheduled dataset's compliance, as /compliance.csv or .json would give it."""
    from ckanext.mes_schedule.downloads import export_chunks, export_data

    data: dict[str, Any] = {"lang": lang or _default_lang()}
    data.update({key: value for key, value in filters.items() if value})
    if as_of:
        data["as_of"] = as_of.isoformat()
    # A request of the portal's own address, so that dataset addresses are the ones the web pages write.
    app = ctx.meta["flask_app"]
    with app.test_request_context(base_url=tk.config.get("ckan.site_url") or None):
        try:
            first = tk.get_action("mes_schedule_compliance_list")({"user": user}, export_data(data))
        except tk.ValidationError as e:
            raise _failure(e) from None
        except tk.ObjectNotFound:
            raise click.UsageError(f"--organization: not found: {filters.get('organization')}") from None
        except tk.NotAuthorized:
            raise click.ClickException(f"user '{user}' may not list the compliance of these datasets") from None
        data["as_of"] = first["as_of"]
        for chunk in export_chunks(fmt, data, user, first):
            output.write(chunk)
    output.flush()
