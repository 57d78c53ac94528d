"""iCalendar (RFC 5545) feeds of the due dates: the whole portal, one organisation, one dataset.

One all-day VEVENT per due date from today to `calendar_months` ahead. The UID is the dataset's id and the
period's due date, so a calendar program that re-reads the feed updates events instead of duplicating them.
What a feed lists is decided by its caller's `compliance.Visibility` (the view gives anonymous visibility
unless the request carries an API token).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional
from urllib.parse import urlparse

import icalendar
from dateutil.relativedelta import relativedelta

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, localization, schedule, settings
from ckanext.mes_schedule.reminders.rendering import dataset_link

__all__ = ["PRODID", "CONTENT_TYPE", "window", "upcoming_due_dates", "build_calendar", "feed"]

PRODID = "-//ckanext-mes_schedule//Order No. 120 deadlines//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def window(today: dt.date, months: Optional[int] = None) -> tuple[dt.date, dt.date]:
    """The dates a feed covers: today to `months` (default: configured) months ahead, both included."""
    return today, today + relativedelta(months=months or settings.calendar_months())


def upcoming_due_dates(
    row: compliance.ComplianceRow, events: Iterable[dt.date], first: dt.date, last: dt.date
) -> list[schedule.Period]:
    """The periods of a dataset whose due date falls in [first, last]."""
    if row.rule is None or not row.rule.has_periods:
        return []
    # A period is due after it opens, so no period opening after `last` can be due by then.
    periods = schedule.periods(row.rule, settings.start_date(), last, events=events, calendar=settings.calendar())
    return [p for p in periods if first <= p.due <= last]


def _host() -> str:
    return urlparse(tk.config.get("ckan.site_url") or "").hostname or "ckan"


def _event(
    row: compliance.ComplianceRow, period: schedule.Period, lang: str, stamp: dt.datetime
) -> icalendar.Event:
    ds = row.dataset
    title = ds.title_in(lang)
    link = dataset_link(ds.name)
    outcome = next((o for o in row.assessment.periods if o.period == period), None)
    lines = [
        tk._("Deadline of {period} for the dataset “{title}”.").format(
            period=localization.period_in_words(period, lang), title=title
        ),
        tk._("Rule: {rule}").format(rule=schedule.describe(row.rule, lang)) if row.rule else "",
    ]
    if outcome is not None and outcome.first_published is not None:
        lines.append(tk._("Published on {date}.").format(date=localization.long_date(outcome.first_published, lang)))
    lines.append(link)

    event = icalendar.Event()
    event.add("uid", f"{ds.id}-{period.due.isoformat()}@{_host()}")
    event.add("dtstamp", stamp)
    event.add("dtstart", period.due)  # a date: an all-day event
    event.add("dtend", period.due + dt.timedelta(days=1))
    event.add("summary", tk._("Due: {title}").format(title=title))
    event.add("description", "\n".join(line for line in lines if line))
    event.add("url", link)
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    event.add("categories", ["Order No. 120"])
    return event


def build_calendar(
    rows: list[compliance.ComplianceRow],
    name: str,
    lang: str,
    today: Optional[dt.date] = None,
    months: Optional[int] = None,
) -> bytes:
    """The iCalendar text of `rows`' due dates in the window (translated with the current locale)."""
    today = today or localization.today()
    first, last = window(today, months)
    events = compliance.events_by_package([r.dataset.id for r in rows if r.rule and r.rule.is_event])
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # As text: icalendar writes an X- property's plain value unescaped, and fails on (or, with assertions off,
    # passes on) a newline from a dataset's or organisation's title.
    cal.add("x-wr-calname", icalendar.vText(name))
    cal.add("x-wr-timezone", str(schedule.TZ))
    upcoming = [
        (period, row)
        for row in rows
        for period in upcoming_due_dates(row, events.get(row.dataset.id, ()), first, last)
    ]
    upcoming.sort(key=lambda pr: (pr[0].due, pr[1].dataset.name))
    for period, row in upcoming:
        cal.add_component(_event(row, period, lang, stamp))
    return cal.to_ical()


def feed(
    visibility: compliance.Visibility,
    name: str,
    lang: str,
    package_ids: Optional[list[str]] = None,
    organization_ids: Optional[list[str]] = None,
    today: Optional[dt.date] = None,
) -> bytes:
    """The feed of the scheduled datasets `visibility` allows (optionally only some datasets or organisations)."""
    rows = compliance.assess_datasets(
        as_of=today, package_ids=package_ids, organization_ids=organization_ids, visibility=visibility
    )
    return build_calendar(rows, name, lang, today=today)
