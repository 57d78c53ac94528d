"""Calendar: which days are working days in Kazakhstan, and the Kazakhstan date of a timestamp."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Hashable, Iterable, TypeVar
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "TZ",
    "WorkCalendar",
    "default_calendar",
    "local_date",
    "today",
]

#: Dates in the model are local dates in Kazakhstan.
TZ = ZoneInfo("Asia/Almaty")

_T = TypeVar("_T")

# A bound on each calendar's cache of period schedules; real use needs a handful of entries.
_MAX_CACHED = 256


def _as_calendar_date(value: object) -> date:
    """A configured day: a date, a datetime (its date part) or an ISO string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise TypeError(f"expected a date, got {type(value).__name__}")


class WorkCalendar:
    """Working days in Kazakhstan.

    Saturdays, Sundays and the public holidays of ``holidays.KZ`` (including the days they are
    moved to) are non-working. The government decrees further day-off transfers each year, which
    the package may not know yet: ``extra_non_working`` and ``extra_working`` override it day by
    day.
    """

    def __init__(self, extra_non_working: Iterable[Any] = (), extra_working: Iterable[Any] = ()) -> None:
        self.extra_non_working = frozenset(map(_as_calendar_date, extra_non_working))
        self.extra_working = frozenset(map(_as_calendar_date, extra_working))
        both = self.extra_non_working & self.extra_working
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"days configured both as working and non-working: {days}")
        # One holidays object per calendar; it fills in years lazily as they are looked up.
        self._holidays = holidays.country_holidays("KZ", years=())
        self._holidays_by_year: dict[int, frozenset[date]] = {}
        self._lock = threading.RLock()  # re-entrant: a cached build may look up holidays
        # Values derived from this calendar (the period schedules of calendar rules), shared by all
        # assessments using it.
        self._cache: dict[Hashable, Any] = {}

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(extra_non_working={sorted(self.extra_non_working)!r}, "
            f"extra_working={sorted(self.extra_working)!r})"
        )

    def _public_holidays(self, year: int) -> frozenset[date]:
        cached = self._holidays_by_year.get(year)
        if cached is not None:
            return cached
        with self._lock:
            # A holiday late in one year may be observed early in the next: load the neighbours too.
            for neighbour in (year - 1, year, year + 1):
                if 1 <= neighbour <= 9999:
                    self._holidays.get(date(neighbour, 1, 1))  # a lookup loads the whole year
            days = frozenset(d for d in self._holidays if d.year == year)
            self._holidays_by_year[year] = days
        return days

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a public holiday (or an observed/moved day off) per holidays.KZ."""
        return day in self._public_holidays(day.year)

    def is_working(self, day: date) -> bool:
        """Whether ``day`` is a working day."""
        if day in self.extra_working:
            return True
        if day in self.extra_non_working or day.weekday() >= 5:
            return False
        return day not in self._public_holidays(day.year)

    def roll_forward(self, day: date) -> date:
        """``day`` if it is a working day, else the next working day (a term ending on a day off
        ends on the next working day)."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        while count > 0:
            day += timedelta(days=1)
            if self.is_working(day):
                count -= 1
        return day

    def cached(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """The value cached under ``key`` for this calendar, built once by ``build()`` (thread-safe).

        For values that depend on the calendar, such as the periods of a rule: every dataset with the
        same rule shares them. The cache is bounded; when full it starts again.
        """
        value = self._cache.get(key)
        if value is None:
            with self._lock:
                value = self._cache.get(key)
                if value is None:
                    if len(self._cache) >= _MAX_CACHED:
                        self._cache.clear()
                    value = self._cache[key] = build()
        result: _T = value
        return result


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The calendar used when none is given: holidays.KZ with no configured exceptions."""
    return WorkCalendar()


def local_date(value: datetime | date) -> date:
    """The Kazakhstan (Asia/Almaty) date of a timestamp.

    Aware datetimes are converted; naive datetimes are taken as UTC (CKAN stores naive UTC);
    dates are returned as they are.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(TZ).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a datetime or a date, got {type(value).__name__}")


def today() -> date:
    """Today in Kazakhstan (Asia/Almaty), whatever the server's time zone."""
    return datetime.now(TZ).date()
