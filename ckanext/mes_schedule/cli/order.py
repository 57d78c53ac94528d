"""`ckan mes-schedule deadlines` and `seed`: the order's due dates, and the ministry's datasets."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sys

import click

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import localization, schedule, settings
from ckanext.mes_schedule.cli.options import parse_iso_date

__all__ = ["deadlines", "seed"]


@click.command()
@click.option(
    "--as-of", callback=parse_iso_date, help="The date to compute for (YYYY-MM-DD); default: today in Almaty."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option(
    "--lang",
    type=click.Choice(["kk", "ru", "en"]),
    default=lambda: localization.reduce_lang(tk.config.get("ckan.locale_default")),
    show_default="the portal's default language (ckan.locale_default)",
    help="The language of titles and rules in words.",
)
def deadlines(as_of: dt.date | None, fmt: str, lang: str) -> None:
    """Every item of the order with its rule in words and its previous and next due dates."""
    as_of = as_of or localization.today()
    calendar = settings.calendar()
    start = settings.start_date()
    rows = []
    for item in settings.order().items:
        # No publications: only the dates matter here, not the status.
        a = schedule.assess(item.rule, (), as_of=as_of, start=start, calendar=calendar)
        rows.append(
            {
                "item": item.number,
                "rule": item.rule_text,
                "rule_in_words": schedule.describe(item.rule, lang),
                "deadline_kk": item.deadline_kk,
                "previous_due": a.previous_due.isoformat() if a.previous_due else "",
                "next_due": a.next_due.isoformat() if a.next_due else "",
                "title": item.title.get(lang) or item.title["kk"],
            }
        )
    if fmt == "json":
        click.echo(json.dumps({"as_of": as_of.isoformat(), "items": rows}, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["item"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        click.echo(f"Deadlines of Order No. 120 as of {as_of.isoformat()} ({len(rows)} items)")
        click.echo(f"{'item':>4}  {'previous':10}  {'next':10}  rule")
        for r in rows:
            previous, following = r["previous_due"] or "-", r["next_due"] or "-"
            click.echo(f"{r['item']:>4}  {previous:10}  {following:10}  {r['rule_in_words']}")


@click.command()
@click.option("--dry-run", is_flag=True, help="Print what would change and change nothing.")
def seed(dry_run: bool) -> None:
    """Create or update the ministry's organisation and one dataset per item of the order (idempotent)."""
    from ckanext.mes_schedule import seed as seeding

    report = seeding.seed(dry_run=dry_run)
    prefix = "would be " if dry_run else ""
    if report.organization != "unchanged":
        click.echo(f"organization {settings.organization_name()}: {prefix}{report.organization}")
    for name in report.created:
        click.echo(f"  {prefix}created {name}")
    for name in report.updated:
        fields = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in report.changes[name].items())
        click.echo(f"  {prefix}updated {name} ({fields})")
    click.echo(
        f"{'dry run: ' if dry_run else ''}{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )
    if not report.changed_anything:
        click.echo("Nothing to do: the portal already matches the order.")
