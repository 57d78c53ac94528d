"""Periods: the windows a rule imposes, each with the date it opens, its due date (moved off non-working days)
and the date it closes; across amendments, the periods of each version in its own span, joined.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Iterable, Iterator, NamedTuple, Sequence

from .calendar import WorkCalendar, default_calendar, local_date
from .rules import Rule
from .versions import Rules, RuleVersion, Span, rule_versions, spans
from .windows import Window

__all__ = [
    "DEFAULT_START",
    "Period",
    "Timeline",
    "periods",
    "start_date",
    "timeline",
]

#: Default schedule start. The order took effect in March 2016 (ten calendar days after its first
#: official publication, which followed its registration on 3 March). Every window opens on the
#: first day of a month, so the first window on or after the exact entry-into-force date is also the
#: first one on or after 1 April 2016: a round date is used.
DEFAULT_START = date(2016, 4, 1)


def start_date(start: date | None) -> date:
    """The schedule start: ``start`` as a Kazakhstan date, or ``DEFAULT_START``."""
    if start is None:
        return DEFAULT_START
    if isinstance(start, datetime):
        return local_date(start)
    if isinstance(start, date):
        return start
    raise TypeError(f"start must be a date, got {type(start).__name__}")


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a rule.

    A publication dated p belongs to the period when ``opens <= p < closes`` (``closes`` None:
    never closes). ``due`` is already moved off non-working days.

    The structured fields say the same as ``label`` without parsing it. ``covers_year``,
    ``covers_quarter`` and ``covers_month`` name what the period is for ("2026 Q3": 2026 and 3;
    "2026-12": 2026 and 12; "2026": 2026), ``kind`` which of them applies. ``year``, ``quarter`` and
    ``month`` place the window itself: the same as the covers fields except for quarterly rules,
    whose window for the reporting quarter 2026 Q3 is the quarter 2026 Q4. Event periods have none
    of them (their label is the event's date, ``opens``).
    """

    index: int  # 1-based, counted from the first period on or after the schedule start
    opens: date
    due: date
    closes: date | None
    label: str  # "2026", "2026-12" (annual by month), "2026 Q3", or the event date
    covers: str | None = None  # quarterly rules: the reporting quarter, e.g. "2026 Q3"
    year: int | None = None  # the calendar year of the window
    quarter: int | None = None  # the calendar quarter the window spans (windows of a quarter)
    month: int | None = None  # the month the window spans (annual rules by month)
    covers_year: int | None = None
    covers_quarter: int | None = None
    covers_month: int | None = None
    rule: Rule | None = None  # the rule that imposes the period (the version in force when it opened)

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in this period."""
        return self.opens <= day and (self.closes is None or day < self.closes)

    @property
    def kind(self) -> str:
        """What the period is for: "quarter", "month", "year" or "event"."""
        if self.covers_quarter is not None:
            return "quarter"
        if self.covers_month is not None:
            return "month"
        if self.covers_year is not None:
            return "year"
        return "event"


class _Schedule:
    """The periods of one calendar rule from one start date, extended lazily and shared.

    Every dataset with the same rule has the same periods, so they are computed once per calendar
    instead of once per assessment.
    """

    def __init__(self, rule: Rule, start: date, calendar: WorkCalendar) -> None:
        generator = rule.spec.windows
        if generator is None:
            raise ValueError(f"{rule.kind!r} rules have no calendar windows")
        self._rule = rule
        self._calendar = calendar
        self._windows: Iterator[Window] = generator(rule, start)
        self._pending: Window | None = next(self._windows, None)
        self._lock = threading.Lock()
        self.periods: list[Period] = []
        self.opens: list[date] = []

    def extend_past(self, day: date) -> int:
        """Make sure the first period opening after ``day`` is known; return how many are known."""
        with self._lock:
            while self._pending is not None and (not self.opens or self.opens[-1] <= day):
                window, self._pending = self._pending, next(self._windows, None)
                self.periods.append(self._period(window, self._pending))
                self.opens.append(window.opens)
            return len(self.periods)

    def _period(self, window: Window, following: Window | None) -> Period:
        return Period(
            index=len(self.periods) + 1,
            opens=window.opens,
            due=self._calendar.roll_forward(window.last_day),
            closes=following.opens if following is not None else None,
            label=window.label,
            covers=window.label if window.reporting else None,
            year=window.year,
            quarter=window.quarter,
            month=window.month,
            covers_year=window.covers_year,
            covers_quarter=window.covers_quarter,
            covers_month=window.covers_month,
            rule=self._rule,
        )


def _schedule(rule: Rule, start: date, calendar: WorkCalendar) -> _Schedule:
    return calendar.cached(("schedule", rule, start), lambda: _Schedule(rule, start, calendar))


def _event_periods(rule: Rule, days: Sequence[date], calendar: WorkCalendar) -> list[Period]:
    """One period per event day (sorted, distinct); max-per-year is not enforced here."""
    return [
        Period(
            index=number,
            opens=day,
            due=calendar.add_working_days(day, rule.working_days or 0),
            closes=days[number] if number < len(days) else None,
            label=day.isoformat(),
            rule=rule,
        )
        for number, day in enumerate(days, start=1)
    ]


def _span_periods(span: Span, horizon: date, events: Sequence[date], calendar: WorkCalendar) -> _Found:
    """The periods of ``span.rule`` opening within the span: all of those opening on or before
    ``horizon``, then the first one after it (if any)."""
    rule = span.rule
    if rule.has_calendar_windows:
        schedule = _schedule(rule, span.begins, calendar)
        known = schedule.extend_past(horizon if span.ends is None else min(horizon, span.ends))
        limit = known if span.ends is None else bisect_left(schedule.opens, span.ends, 0, known)
        count = min(bisect_right(schedule.opens, horizon, 0, limit) + 1, limit)
        return _Found(schedule.periods[:count], schedule.opens[:count])
    if rule.is_event:
        low = bisect_left(events, span.begins)
        high = len(events) if span.ends is None else bisect_left(events, span.ends)
        return _Found(_event_periods(rule, events[low:high], calendar), list(events[low:high]))
    return _Found([], [])  # as-established: no periods


class _Found(NamedTuple):
    periods: list[Period]
    opens: list[date]


class Timeline(NamedTuple):
    """The periods of a rule's versions, joined, up to a horizon date."""

    periods: list[Period]  # every period opening on or before the horizon, then the next one (if any)
    opens: list[date]  # their opening dates
    spans: list[Span]  # when each version is in force (the last one: the latest version)


def _join(parts: list[list[Period]], complete: bool) -> list[Period]:
    """The periods of successive spans as one list: each period ends where the next one opens.

    A version's last period ends where the first window of a later version opens; if no later
    version opens a window (as-established, or no event recorded) it never ends. ``complete``: every
    span was looked at (otherwise the last period found opens after the horizon and is left as it is).
    """
    joined: list[Period] = []
    for found in parts:
        if joined and found:
            joined[-1] = replace(joined[-1], closes=found[0].opens)
        joined.extend(found)
    if complete and joined and not parts[-1]:
        joined[-1] = replace(joined[-1], closes=None)  # nothing opens after it
    return [period if period.index == number else replace(period, index=number)
            for number, period in enumerate(joined, start=1)]


def timeline(
    versions: Sequence[RuleVersion],
    start: date,
    horizon: date,
    events: Iterable[date | datetime],
    calendar: WorkCalendar,
) -> Timeline:
    """The joined periods of ``versions`` from ``start``: each version's windows opening in its span.

    With one version these are the rule's own periods, unchanged.
    """
    in_force = spans(versions, start)
    event_days: list[date] = []
    if any(span.rule.is_event for span in in_force):
        event_days = sorted({day for day in map(local_date, events) if day >= start})
    parts: list[_Found] = []
    for span in in_force:
        found = _span_periods(span, horizon, event_days, calendar)
        parts.append(found)
        if found.opens and found.opens[-1] > horizon:
            break
    if len(parts) == 1:
        return Timeline(parts[0].periods, parts[0].opens, in_force)
    joined = _join([found.periods for found in parts], complete=len(parts) == len(in_force))
    return Timeline(joined, [period.opens for period in joined], in_force)


def periods(
    rule: Rules,
    start: date,
    end: date,
    events: Iterable[date] = (),
    calendar: WorkCalendar | None = None,
) -> list[Period]:
    """All periods of ``rule`` whose window opens on or after ``start`` and on or before ``end``.

    ``rule`` is one rule (a Rule or its text) or ``(effective_from, rule)`` pairs: each version
    imposes its windows from the date it takes effect (the first one from ``start``).
    ``events`` are used by event rules only. An as-established rule has no periods.
    """
    versions = rule_versions(rule)
    start, end = start_date(start), local_date(end)
    line = timeline(versions, start, end, events, calendar or default_calendar())
    return line.periods[: bisect_right(line.opens, end)]
