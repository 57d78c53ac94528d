"""iCalendar (RFC 5545, RFC 7986) feeds of the due dates: the whole portal, one organisation, one dataset, and a
user's personal address.

One all-day VEVENT per due date from today to `calendar_months` ahead. What a feed lists is decided by its
caller's `compliance.Visibility` (the views give anonymous visibility unless the request carries an API token,
or comes through a personal address).

An event stays the same event when its due date moves, so a calendar program that re-reads the feed moves it
instead of adding another:

- UID: the dataset's id and the period (`<dataset id>-<period>@<host>`; the period is the year of an annual rule,
  the window's label otherwise ("2026-Q4"), the event's date for an event-driven rule), never the due date;
- SEQUENCE: the number of rows that can move the item's due dates, written after its first rule version: later
  rule versions (a sysadmin's change, an amendment of the act) and events recorded or retracted. Those tables
  are append-only, so the number only grows; it grows for every event of the item, moved or not, which RFC 5545
  allows (a client just re-reads the event);
- LAST-MODIFIED (and DTSTAMP, so the same data always give the same bytes, hence the same ETag): the latest of
  the dataset's `metadata_modified` and those rows' times.

Personal addresses (`/compliance/calendar/<token>.ics`): a secret made by `secrets.token_urlsafe(32)`, of which
only the SHA-256 is stored (`model.FeedToken`); the address lists what its user may see, for calendar programs
that cannot send an API token header.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from typing import Iterable, Optional
from urllib.parse import urlparse

import icalendar
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, localization, schedule, settings, vocab
from ckanext.mes_schedule.model import Event, FeedToken, Publication, RuleVersionRow
from ckanext.mes_schedule.reminders.rendering import dataset_link

__all__ = [
    "PRODID",
    "CONTENT_TYPE",
    "REFRESH",
    "Feed",
    "Revision",
    "window",
    "upcoming_due_dates",
    "revisions",
    "data_modified",
    "build_calendar",
    "feed",
    "etag_of",
    "user_for_token",
    "active_token",
]

PRODID = "-//ckanext-mes_schedule//Order No. 120 deadlines//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"

#: How often a subscribed calendar program should re-read a feed (RFC 7986 REFRESH-INTERVAL, and Outlook's
#: X-PUBLISHED-TTL): twice a day is enough for deadlines counted in days.
REFRESH = dt.timedelta(hours=12)

_UTC = dt.timezone.utc


@dataclasses.dataclass(frozen=True)
class Revision:
    """How far an event has been revised: its SEQUENCE and LAST-MODIFIED (aware UTC)."""

    sequence: int
    modified: dt.datetime


@dataclasses.dataclass(frozen=True)
class Feed:
    """A feed's bytes and its validators: a strong ETag (quoted) and the Last-Modified (aware UTC)."""

    body: bytes
    etag: str
    last_modified: dt.datetime


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


# --------------------------------------------------------------------------------------------- revisions


def _aware(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """CKAN stores naive UTC; HTTP and iCalendar want UTC said explicitly (whole seconds)."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)
    return aware.replace(microsecond=0)


_EPOCH = dt.datetime(2016, 1, 1, tzinfo=_UTC)  # before anything the extension records


def _latest(*moments: Optional[dt.datetime]) -> dt.datetime:
    return max([m for m in (_aware(x) for x in moments) if m is not None], default=_EPOCH)


def _per_item(column: sa.Column, items: set[int]) -> dict[int, tuple[int, Optional[dt.datetime]]]:
    table = column.table
    rows = model.Session.execute(
        sa.select(table.c.item, sa.func.count(), sa.func.max(column))
        .where(table.c.item.in_(sorted(items)))
        .group_by(table.c.item)
    ).all()
    return {item: (count, latest) for item, count, latest in rows}


def revisions(rows: list[compliance.ComplianceRow]) -> dict[str, Revision]:
    """Each dataset's revision (by dataset id), in three queries whatever the number of datasets."""
    items = {r.dataset.item for r in rows if r.dataset.item is not None}
    versions = _per_item(RuleVersionRow.__table__.c.created_at, items) if items else {}
    events = _per_item(Event.__table__.c.created_at, items) if items else {}
    p = model.package_table
    ids = [r.dataset.id for r in rows]
    modified = {
        pid: moment
        for pid, moment in model.Session.execute(sa.select(p.c.id, p.c.metadata_modified).where(p.c.id.in_(ids)))
    } if ids else {}
    out = {}
    for row in rows:
        item = row.dataset.item
        n_versions, versions_at = versions.get(item, (0, None)) if item is not None else (0, None)
        n_events, events_at = events.get(item, (0, None)) if item is not None else (0, None)
        out[row.dataset.id] = Revision(
            # The first version is the rule the dataset was published with: not a revision.
            sequence=max(n_versions - 1, 0) + n_events,
            modified=_latest(modified.get(row.dataset.id), versions_at, events_at),
        )
    return out


def data_modified(today: dt.date) -> dt.datetime:
    """A feed's Last-Modified: the latest change of anything a feed is made of (any dataset, publication, event or
    rule version: a dataset that went private or was deleted leaves the feed too), and no earlier than the start
    of `today` in Almaty, when the window moved and statuses may have changed. Changes of configuration or of a
    user's memberships are not seen here; the ETag (a digest of the bytes) sees them."""
    p = model.package_table
    latest = model.Session.execute(
        sa.select(
            sa.select(sa.func.max(p.c.metadata_modified)).scalar_subquery(),
            sa.select(sa.func.max(Publication.published_at)).scalar_subquery(),
            sa.select(sa.func.max(Event.created_at)).scalar_subquery(),
            sa.select(sa.func.max(RuleVersionRow.created_at)).scalar_subquery(),
        )
    ).one()
    start_of_day = dt.datetime.combine(today, dt.time(0), tzinfo=schedule.TZ)
    now = dt.datetime.now(_UTC).replace(microsecond=0)
    return min(_latest(*latest, start_of_day), now)


# --------------------------------------------------------------------------------------------- building


def _host() -> str:
    return urlparse(tk.config.get("ckan.site_url") or "").hostname or "ckan"


def _period_key(period: schedule.Period) -> str:
    """What the period is for, stable when its due date moves: the year of an annual rule (whether it names a
    quarter or a month), the event's date, else the window ("2026 Q4" -> "2026-Q4")."""
    if period.kind == "event":
        return f"event-{period.opens.isoformat()}"
    if period.rule is not None and period.rule.kind == "annual" and (period.covers_year or period.year):
        return str(period.covers_year or period.year)
    return re.sub(r"[^0-9A-Za-z]+", "-", period.covers or period.label).strip("-")


def _categories(row: compliance.ComplianceRow, lang: str) -> list[str]:
    """In the feed's language, in the words of the badges and the compliance pages: the order, the frequency."""
    frequency = vocab.frequency_label(row.dataset.frequency, lang) if row.dataset.frequency else ""
    return [c for c in (vocab.order_label(lang), frequency) if c]


def _event(
    row: compliance.ComplianceRow, period: schedule.Period, lang: str, revision: Revision
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
    event.add("uid", f"{ds.id}-{_period_key(period)}@{_host()}")
    event.add("dtstamp", revision.modified)
    event.add("last-modified", revision.modified)
    event.add("sequence", revision.sequence)
    event.add("dtstart", period.due)  # a date: an all-day event
    event.add("dtend", period.due + dt.timedelta(days=1))
    event.add("summary", tk._("Due: {title}").format(title=title))
    event.add("description", "\n".join(line for line in lines if line))
    event.add("url", link)
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    event.add("categories", _categories(row, lang))
    return event


def build_calendar(
    rows: list[compliance.ComplianceRow],
    name: str,
    lang: str,
    today: Optional[dt.date] = None,
    months: Optional[int] = None,
) -> bytes:
    """The iCalendar text of `rows`' due dates in the window (translated with the current locale). The same data
    on the same day give the same bytes."""
    today = today or localization.today()
    first, last = window(today, months)
    events = compliance.events_by_package([r.dataset.id for r in rows if r.rule and r.rule.is_event])

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # As text: icalendar writes an X- property's plain value unescaped, and fails on (or, with assertions off,
    # passes on) a newline from a dataset's or organisation's title.
    cal.add("name", icalendar.vText(name))  # RFC 7986
    cal.add("x-wr-calname", icalendar.vText(name))  # what Google Calendar, Outlook and Apple read
    cal.add("x-wr-timezone", str(schedule.TZ))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH))
    upcoming = [
        (period, row)
        for row in rows
        for period in upcoming_due_dates(row, events.get(row.dataset.id, ()), first, last)
    ]
    upcoming.sort(key=lambda pr: (pr[0].due, pr[1].dataset.name))
    revised = revisions([row for _, row in upcoming]) if upcoming else {}
    for period, row in upcoming:
        cal.add_component(_event(row, period, lang, revised[row.dataset.id]))
    return cal.to_ical()


def etag_of(body: bytes) -> str:
    """A strong ETag: the same bytes, the same tag (a gzip proxy may weaken it; the comparison is weak)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def feed(
    visibility: compliance.Visibility,
    name: str,
    lang: str,
    package_ids: Optional[list[str]] = None,
    organization_ids: Optional[list[str]] = None,
    today: Optional[dt.date] = None,
) -> Feed:
    """The feed of the scheduled datasets `visibility` allows (optionally only some datasets or organisations)."""
    today = today or localization.today()
    rows = compliance.assess_datasets(
        as_of=today, package_ids=package_ids, organization_ids=organization_ids, visibility=visibility
    )
    body = build_calendar(rows, name, lang, today=today)
    return Feed(body, etag_of(body), data_modified(today))


# --------------------------------------------------------------------------------------- personal addresses

# What `secrets.token_urlsafe(32)` gives (43 characters); anything else names no address and is not looked up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def user_for_token(token: str) -> Optional[model.User]:
    """The active user whose unrevoked personal address this is; None for anything else (unknown, revoked,
    malformed, or a user deleted or not yet active)."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    row = model.Session.execute(
        sa.select(FeedToken.user_id).where(
            FeedToken.token_hash == FeedToken.hash(token), FeedToken.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    user = model.Session.get(model.User, row.user_id)
    return user if user is not None and user.state == "active" else None


def active_token(user_id: str) -> Optional[FeedToken]:
    """The user's working personal address (its row: when it was made), if any."""
    return model.Session.scalars(
        sa.select(FeedToken)
        .where(FeedToken.user_id == user_id, FeedToken.revoked_at.is_(None))
        .order_by(FeedToken.created_at.desc())
        .limit(1)
    ).first()
