"""The deadline engine for Order No. 120: rules, working-day calendar, periods and statuses.

This module implements the compliance model (``docs/rules.md`` and the compliance-model note) and
nothing else. It imports no CKAN code so that it can be tested on its own and shared by the CLI, the
API, the pages, the badges, the reminders and the calendar feed.

Reading guide:

1. Rules: ``parse_rule`` turns an item's machine-readable rule ("annual quarter=4") into a ``Rule``;
   ``describe`` puts it back into words (kk/ru/en); ``frequencies_for`` gives the EU frequency codes
   that fit it.
2. Calendar: ``WorkCalendar`` knows which days are working days in Kazakhstan (weekends, public
   holidays with their moved days, plus configured exceptions). ``local_date`` turns timestamps into
   Kazakhstan (Asia/Almaty) dates.
3. Periods: ``periods`` lists the windows a rule imposes, each with the date it opens, its due date
   (moved off non-working days) and the date it closes.
4. Status: ``assess`` sorts a dataset's publications into those periods and derives its status.
5. The order itself: ``load_order`` reads the list of items from YAML and validates it.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, NamedTuple
from zoneinfo import ZoneInfo

import holidays
import yaml

__all__ = [
    "DEFAULT_ORDER_PATH",
    "DEFAULT_START",
    "FREQUENCY_CODES",
    "LANGUAGES",
    "OUTCOMES",
    "RULE_KINDS",
    "STATUSES",
    "TZ",
    "Assessment",
    "Item",
    "Order",
    "Period",
    "PeriodOutcome",
    "Rule",
    "WorkCalendar",
    "assess",
    "describe",
    "frequencies_for",
    "frequency_fits",
    "load_order",
    "local_date",
    "parse_rule",
    "periods",
]

# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------

#: Dates in the model are local dates in Kazakhstan.
TZ = ZoneInfo("Asia/Almaty")

#: Default schedule start. The order took effect in March 2016 (ten calendar days after its first
#: official publication, which followed its registration on 3 March). Every window opens on the
#: first day of a month, so the first window on or after the exact entry-into-force date is also the
#: first one on or after 1 April 2016: a round date is used.
DEFAULT_START = date(2016, 4, 1)

#: Statuses, most severe first (the order used when listing datasets).
STATUSES: tuple[str, ...] = (
    "overdue",
    "never_published",
    "late",
    "due_soon",
    "on_time",
    "not_yet_due",
    "no_deadline",
)

#: Outcomes of one period (see ``PeriodOutcome``).
OUTCOMES: tuple[str, ...] = ("on_time", "late", "missed", "open")

#: Rule kinds, in the order of docs/rules.md.
RULE_KINDS: tuple[str, ...] = (
    "annual",
    "quarterly",
    "every-n-years",
    "twice-yearly",
    "event",
    "as-established",
)

#: EU frequency codes used by the rule table (docs/rules.md).
FREQUENCY_CODES: tuple[str, ...] = (
    "ANNUAL",
    "QUARTERLY",
    "BIENNIAL",
    "TRIENNIAL",
    "QUADRENNIAL",
    "QUINQUENNIAL",
    "ANNUAL_2",
    "IRREG",
    "UNKNOWN",
    "OTHER",
)

#: Languages ``describe`` writes in.
LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")

#: The list of items shipped with the extension.
DEFAULT_ORDER_PATH = Path(__file__).resolve().parent / "data" / "order-120.yaml"

# Periods are never generated past this year: it keeps date arithmetic far from date.max.
_MAX_YEAR = 9000

# --------------------------------------------------------------------------------------------------
# 1. Rules
# --------------------------------------------------------------------------------------------------

# Text key -> Rule attribute. "from" is a Python keyword, hence from_year.
_KEY_ATTRS: dict[str, str] = {
    "quarter": "quarter",
    "month": "month",
    "day": "day",
    "years": "years",
    "from": "from_year",
    "working-days": "working_days",
    "max-per-year": "max_per_year",
}

# Inclusive ranges from docs/rules.md. "from" is a calendar year: a generous but finite range.
_KEY_RANGES: dict[str, tuple[int, int]] = {
    "quarter": (1, 4),
    "month": (1, 12),
    "day": (1, 28),
    "years": (2, 10),
    "from": (1900, 2100),
    "working-days": (1, 366),
    "max-per-year": (1, 12),
}


class _KindSpec(NamedTuple):
    keys: tuple[str, ...]  # allowed keys, in canonical order
    required: tuple[str, ...]  # keys that must be present
    one_of: tuple[str, ...] = ()  # exactly one of these must be present


_KIND_SPECS: dict[str, _KindSpec] = {
    "annual": _KindSpec(keys=("quarter", "month"), required=(), one_of=("quarter", "month")),
    "quarterly": _KindSpec(keys=("day",), required=("day",)),
    "every-n-years": _KindSpec(
        keys=("years", "quarter", "from"), required=("years", "quarter", "from")
    ),
    "twice-yearly": _KindSpec(keys=("quarter", "from"), required=("quarter", "from")),
    "event": _KindSpec(keys=("working-days", "max-per-year"), required=("working-days",)),
    "as-established": _KindSpec(keys=(), required=()),
}


def _short(text: str, limit: int = 40) -> str:
    """Quote user text in an error message without letting it swamp the message."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed deadline rule. Parameters that do not apply to the kind are None.

    Construction validates the rule, so an invalid Rule cannot exist.
    """

    kind: str
    quarter: int | None = None
    month: int | None = None
    day: int | None = None
    years: int | None = None
    from_year: int | None = None
    working_days: int | None = None
    max_per_year: int | None = None

    def __post_init__(self) -> None:
        spec = _KIND_SPECS.get(self.kind) if isinstance(self.kind, str) else None
        if spec is None:
            raise ValueError(
                f"unknown kind {_short(str(self.kind))} (expected one of: {', '.join(RULE_KINDS)})"
            )
        for key, attr in _KEY_ATTRS.items():
            value = getattr(self, attr)
            if value is None:
                continue
            if key not in spec.keys:
                raise ValueError(f"unknown key {key!r} for {self.kind!r} ({_allowed(spec)})")
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{key} must be an integer, got {value!r}")
            low, high = _KEY_RANGES[key]
            if not low <= value <= high:
                raise ValueError(f"{key} must be {low}..{high}, got {value}")
        for key in spec.required:
            if getattr(self, _KEY_ATTRS[key]) is None:
                raise ValueError(f"missing key {key!r} for {self.kind!r}")
        if spec.one_of:
            present = [key for key in spec.one_of if getattr(self, _KEY_ATTRS[key]) is not None]
            names = " or ".join(repr(key) for key in spec.one_of)
            if not present:
                raise ValueError(f"missing key {names} for {self.kind!r}")
            if len(present) > 1:
                raise ValueError(f"{self.kind!r} takes {names}, not both")

    def __str__(self) -> str:
        """The canonical text: kind, then the keys in the order of docs/rules.md."""
        words = [self.kind]
        for key in _KIND_SPECS[self.kind].keys:
            value = getattr(self, _KEY_ATTRS[key])
            if value is not None:
                words.append(f"{key}={value}")
        return " ".join(words)

    @property
    def has_calendar_windows(self) -> bool:
        """True for rules whose windows follow the calendar (not event-driven, not open-ended)."""
        return self.kind not in ("event", "as-established")


def _allowed(spec: _KindSpec) -> str:
    return "allowed: " + ", ".join(spec.keys) if spec.keys else "it takes no keys"


# "key = value" is tolerated: spaces around "=" are squeezed out before splitting into words.
_EQUALS_RE = re.compile(r"\s*=\s*")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)


def parse_rule(text: str) -> Rule:
    """Parse a rule such as ``"every-n-years years=3 quarter=4 from=2016"``.

    Kind and keys are case-insensitive; surrounding and repeated whitespace is ignored.
    Any problem raises ValueError with a message naming it; nothing else is raised.
    """
    if not isinstance(text, str):
        raise ValueError(f"rule must be a str, got {type(text).__name__}")
    words = _EQUALS_RE.sub("=", text.strip()).split()
    if not words:
        raise ValueError("empty rule text")
    kind = words[0].lower()
    if "=" in kind:
        raise ValueError(f"rule must start with its kind, got {_short(words[0])}")
    spec = _KIND_SPECS.get(kind)
    if spec is None:
        raise ValueError(
            f"unknown kind {_short(words[0])} (expected one of: {', '.join(RULE_KINDS)})"
        )
    values: dict[str, int] = {}
    for word in words[1:]:
        key, sep, raw = word.partition("=")
        key = key.lower()
        if not sep or not key or not raw or "=" in raw:
            raise ValueError(f"expected key=value, got {_short(word)}")
        if key not in spec.keys:
            raise ValueError(f"unknown key {_short(key)} for {kind!r} ({_allowed(spec)})")
        if key in values:
            raise ValueError(f"repeated key {key!r}")
        if not _INTEGER_RE.fullmatch(raw):
            raise ValueError(f"{key} must be an integer, got {_short(raw)}")
        low, high = _KEY_RANGES[key]
        if len(raw.lstrip("+-").lstrip("0")) > 6:  # far out of every range; skip huge int()
            raise ValueError(f"{key} must be {low}..{high}, got {_short(raw)}")
        values[key] = int(raw)
    return Rule(kind, **{_KEY_ATTRS[key]: value for key, value in values.items()})


def _coerce_rule(rule: Rule | str) -> Rule:
    """Accept a Rule or its text (callers often hold the text from YAML or the database)."""
    if isinstance(rule, Rule):
        return rule
    if isinstance(rule, str):
        return parse_rule(rule)
    raise TypeError(f"expected a Rule or rule text, got {type(rule).__name__}")


_EVERY_N_YEARS_CODES: dict[int, str] = {
    2: "BIENNIAL",
    3: "TRIENNIAL",
    4: "QUADRENNIAL",
    5: "QUINQUENNIAL",
}


def frequencies_for(rule: Rule | str) -> tuple[str, ...]:
    """EU frequency codes that fit the rule; the first is the canonical one (docs/rules.md)."""
    rule = _coerce_rule(rule)
    if rule.kind == "annual":
        return ("ANNUAL",)
    if rule.kind == "quarterly":
        return ("QUARTERLY",)
    if rule.kind == "every-n-years":
        return (_EVERY_N_YEARS_CODES.get(rule.years or 0, "OTHER"),)
    if rule.kind == "twice-yearly":
        return ("ANNUAL_2",)
    if rule.kind == "event":
        return ("IRREG",)
    return ("IRREG", "UNKNOWN", "OTHER")


def frequency_fits(rule: Rule | str, code: str | None) -> bool:
    """Whether an EU frequency code fits the rule.

    Accepts the bare code ("ANNUAL", any case) or the full authority URI ending in it.
    """
    if not isinstance(code, str) or not code.strip():
        return False
    bare = code.strip().rstrip("/").rsplit("/", 1)[-1].upper()
    return bare in frequencies_for(rule)


# --- describe() ---------------------------------------------------------------------------------

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

_MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "ru": (
        "январь", "февраль", "март", "апрель", "май", "июнь",
        "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
    ),
    "kk": (
        "қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым",
        "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан",
    ),
}


def _ru_plural(n: int, one: str, few: str, many: str) -> str:
    """Russian noun form after a number: 1 год, 2 года, 5 лет (11-14 take the 'many' form)."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _twice_yearly_quarters(quarter: int) -> tuple[int, int]:
    """The two quarters of a twice-yearly rule: n and n+2 (or n-2), in calendar order."""
    other = quarter + 2 if quarter <= 2 else quarter - 2
    return (min(quarter, other), max(quarter, other))


def _normalise_lang(lang: object) -> str:
    if not isinstance(lang, str):
        return "en"
    prefix = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]  # "ru_RU", "kk-KZ"
    return prefix if prefix in LANGUAGES else "en"


def describe(rule: Rule | str, lang: str = "en") -> str:
    """The rule in words, in Kazakh ("kk"), Russian ("ru") or English (anything else)."""
    rule = _coerce_rule(rule)
    lang = _normalise_lang(lang)
    kind = rule.kind

    if kind == "annual":
        if rule.quarter is not None:
            roman = _ROMAN[rule.quarter]
            return {
                "en": f"Once a year, in quarter {roman}",
                "ru": f"Один раз в год, {roman} квартал",
                "kk": f"Жылына 1 рет, {roman} тоқсан",
            }[lang]
        month = _MONTH_NAMES[lang][(rule.month or 1) - 1]
        return {
            "en": f"Once a year, in {month}",
            "ru": f"Один раз в год ({month})",
            "kk": f"Жылына 1 рет ({month} айы)",
        }[lang]

    if kind == "quarterly":
        day = rule.day
        return {
            "en": f"Every quarter, by day {day} of the month after the reporting quarter",
            "ru": f"Ежеквартально, до {day}-го числа месяца, следующего за отчётным кварталом",
            "kk": f"Тоқсан сайын, есепті тоқсаннан кейінгі айдың {day} күніне дейін",
        }[lang]

    if kind == "every-n-years":
        years, roman, start = rule.years or 0, _ROMAN[rule.quarter or 1], rule.from_year
        ru_years = _ru_plural(years, "год", "года", "лет")
        return {
            "en": f"Once every {years} years, in quarter {roman}, from {start}",
            "ru": f"Один раз в {years} {ru_years}, {roman} квартал, начиная с {start} года",
            "kk": f"{years} жылда 1 рет, {roman} тоқсан, {start} жылдан бастап",
        }[lang]

    if kind == "twice-yearly":
        quarter, start = rule.quarter or 1, rule.from_year
        first, second = (_ROMAN[q] for q in _twice_yearly_quarters(quarter))
        # When the first window is the later quarter of the pair, the year alone would be ambiguous.
        if quarter <= 2:
            since = {
                "en": f"from {start}",
                "ru": f"начиная с {start} года",
                "kk": f"{start} жылдан бастап",
            }
        else:
            roman = _ROMAN[quarter]
            since = {
                "en": f"from quarter {roman} of {start}",
                "ru": f"начиная с {roman} квартала {start} года",
                "kk": f"{start} жылғы {roman} тоқсаннан бастап",
            }
        return {
            "en": f"Twice a year, in quarters {first} and {second}, {since['en']}",
            "ru": f"Два раза в год, {first} и {second} кварталы, {since['ru']}",
            "kk": f"Жылына 2 рет, {first} және {second} тоқсандар, {since['kk']}",
        }[lang]

    if kind == "event":
        days, cap = rule.working_days or 0, rule.max_per_year
        if lang == "en":
            unit = "working day" if days == 1 else "working days"
            text = f"Within {days} {unit} after each triggering event"
            return text + (f" (at most {cap} a year)" if cap else "")
        if lang == "ru":
            ru_days = _ru_plural(days, "рабочего дня", "рабочих дней", "рабочих дней")
            text = f"В течение {days} {ru_days} со дня каждого события, влекущего публикацию"
            if cap:
                text += f" (не более {cap} {_ru_plural(cap, 'раза', 'раз', 'раз')} в год)"
            return text
        text = f"Жариялауға негіз болатын әрбір оқиға күнінен бастап {days} жұмыс күні ішінде"
        return text + (f" (жылына {cap} реттен артық емес)" if cap else "")

    return {
        "en": "As established (no fixed term)",
        "ru": "В установленный срок (без фиксированной даты)",
        "kk": "Белгіленген мерзімде (тұрақты мерзімі жоқ)",
    }[lang]


# --------------------------------------------------------------------------------------------------
# 2. Calendar and local dates
# --------------------------------------------------------------------------------------------------


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

    def __init__(
        self, extra_non_working: Iterable[Any] = (), extra_working: Iterable[Any] = ()
    ) -> None:
        self.extra_non_working = frozenset(map(_as_calendar_date, extra_non_working))
        self.extra_working = frozenset(map(_as_calendar_date, extra_working))
        both = self.extra_non_working & self.extra_working
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"days configured both as working and non-working: {days}")
        # One holidays object per calendar; it fills in years lazily as they are looked up.
        self._holidays = holidays.country_holidays("KZ", years=())
        self._holidays_by_year: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()
        # Period schedules of calendar rules, shared by all assessments using this calendar.
        self._schedules: dict[tuple[Rule, date], _Schedule] = {}

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


@lru_cache(maxsize=1)
def _default_calendar() -> WorkCalendar:
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


def _today() -> date:
    return datetime.now(TZ).date()


def _start_date(start: date | None) -> date:
    if start is None:
        return DEFAULT_START
    if isinstance(start, datetime):
        return local_date(start)
    if isinstance(start, date):
        return start
    raise TypeError(f"start must be a date, got {type(start).__name__}")


# --------------------------------------------------------------------------------------------------
# 3. Periods
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a rule.

    A publication dated p belongs to the period when ``opens <= p < closes`` (``closes`` None:
    never closes). ``due`` is already moved off non-working days.
    """

    index: int  # 1-based, counted from the first period on or after the schedule start
    opens: date
    due: date
    closes: date | None
    label: str  # "2026", "2026-12" (annual by month), "2026 Q3", or the event date
    covers: str | None = None  # quarterly rules: the reporting quarter, e.g. "2026 Q3"

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in this period."""
        return self.opens <= day and (self.closes is None or day < self.closes)


class _Window(NamedTuple):
    """A period before the calendar is applied."""

    opens: date
    last_day: date  # the statutory last day, before moving off non-working days
    label: str
    covers: str | None = None


def _quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * quarter - 2, 1)


def _quarter_end(year: int, quarter: int) -> date:
    return _month_end(year, 3 * quarter)


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def _annual_windows(rule: Rule, start: date) -> Iterator[_Window]:
    for year in range(start.year, _MAX_YEAR + 1):
        if rule.quarter is not None:
            window = _Window(
                _quarter_start(year, rule.quarter), _quarter_end(year, rule.quarter), str(year)
            )
        else:
            month = rule.month or 1
            window = _Window(date(year, month, 1), _month_end(year, month), f"{year}-{month:02d}")
        if window.opens >= start:
            yield window


def _quarterly_windows(rule: Rule, start: date) -> Iterator[_Window]:
    # The period for reporting quarter Q opens the day after Q ends; its due date is day d of the
    # month after Q. Start from the quarter whose period opens on 1 January of the start year.
    year, quarter = start.year - 1, 4
    while year <= _MAX_YEAR:
        next_year, next_quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
        opens = _quarter_start(next_year, next_quarter)
        last_day = date(next_year, 3 * next_quarter - 2, rule.day or 1)
        label = f"{year} Q{quarter}"
        if opens >= start:
            yield _Window(opens, last_day, label, covers=label)
        year, quarter = next_year, next_quarter


def _every_n_years_windows(rule: Rule, start: date) -> Iterator[_Window]:
    step, quarter, year = rule.years or 1, rule.quarter or 1, rule.from_year or start.year
    if year < start.year:  # skip whole cycles that end before the start
        year += -(-(start.year - year) // step) * step
    while year <= _MAX_YEAR:
        window = _Window(_quarter_start(year, quarter), _quarter_end(year, quarter), str(year))
        if window.opens >= start:
            yield window
        year += step


def _twice_yearly_windows(rule: Rule, start: date) -> Iterator[_Window]:
    first_quarter, first_year = rule.quarter or 1, rule.from_year or start.year
    quarters = _twice_yearly_quarters(first_quarter)
    for year in range(max(first_year, start.year), _MAX_YEAR + 1):
        for quarter in quarters:
            if year == first_year and quarter < first_quarter:
                continue  # the schedule begins with quarter n of the year `from`
            window = _Window(
                _quarter_start(year, quarter), _quarter_end(year, quarter), f"{year} Q{quarter}"
            )
            if window.opens >= start:
                yield window


_WINDOW_GENERATORS = {
    "annual": _annual_windows,
    "quarterly": _quarterly_windows,
    "every-n-years": _every_n_years_windows,
    "twice-yearly": _twice_yearly_windows,
}


class _Schedule:
    """The periods of one calendar rule from one start date, extended lazily and shared.

    Every dataset with the same rule has the same periods, so they are computed once per calendar
    instead of once per assessment.
    """

    def __init__(self, rule: Rule, start: date, calendar: WorkCalendar) -> None:
        self._calendar = calendar
        self._windows = _WINDOW_GENERATORS[rule.kind](rule, start)
        self._pending: _Window | None = next(self._windows, None)
        self._lock = threading.Lock()
        self.periods: list[Period] = []
        self.opens: list[date] = []

    def extend_past(self, day: date) -> int:
        """Make sure the first period opening after ``day`` is known; return how many are known."""
        with self._lock:
            while self._pending is not None and (not self.opens or self.opens[-1] <= day):
                window, self._pending = self._pending, next(self._windows, None)
                self.periods.append(
                    Period(
                        index=len(self.periods) + 1,
                        opens=window.opens,
                        due=self._calendar.roll_forward(window.last_day),
                        closes=self._pending.opens if self._pending is not None else None,
                        label=window.label,
                        covers=window.covers,
                    )
                )
                self.opens.append(window.opens)
            return len(self.periods)


_MAX_SCHEDULES = 256  # a bound on the per-calendar cache; real use needs a handful of entries


def _schedule(rule: Rule, start: date, calendar: WorkCalendar) -> _Schedule:
    key = (rule, start)
    schedule = calendar._schedules.get(key)
    if schedule is None:
        with calendar._lock:
            schedule = calendar._schedules.get(key)
            if schedule is None:
                if len(calendar._schedules) >= _MAX_SCHEDULES:
                    calendar._schedules.clear()
                schedule = calendar._schedules[key] = _Schedule(rule, start, calendar)
    return schedule


def _event_periods(
    rule: Rule, events: Iterable[date], start: date, calendar: WorkCalendar
) -> list[Period]:
    """One period per recorded event on or after ``start``; max-per-year is not enforced here."""
    days = sorted({local_date(event) for event in events})
    days = [day for day in days if day >= start]
    result = []
    for number, day in enumerate(days, start=1):
        result.append(
            Period(
                index=number,
                opens=day,
                due=calendar.add_working_days(day, rule.working_days or 0),
                closes=days[number] if number < len(days) else None,
                label=day.isoformat(),
            )
        )
    return result


def periods(
    rule: Rule | str,
    start: date,
    end: date,
    events: Iterable[date] = (),
    calendar: WorkCalendar | None = None,
) -> list[Period]:
    """All periods of ``rule`` whose window opens on or after ``start`` and on or before ``end``.

    ``events`` are used by event rules only. An as-established rule has no periods.
    """
    rule = _coerce_rule(rule)
    start, end = _start_date(start), local_date(end)
    calendar = calendar or _default_calendar()
    if rule.kind == "as-established":
        return []
    if rule.kind == "event":
        return [p for p in _event_periods(rule, events, start, calendar) if p.opens <= end]
    schedule = _schedule(rule, start, calendar)
    known = schedule.extend_past(end)
    return schedule.periods[: bisect_right(schedule.opens, end, 0, known)]


# --------------------------------------------------------------------------------------------------
# 4. Status
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """How one period went, as of the assessment date.

    ``outcome``: "on_time" (a publication on or before the due date), "late" (publications, all
    after the due date), "missed" (none, due date passed), "open" (none, due date not passed).
    """

    period: Period
    outcome: str
    published: tuple[date, ...] = ()  # distinct publication dates in the period, up to as_of
    first_published: date | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """A dataset's compliance with its rule on the date ``as_of``."""

    status: str
    previous_due: date | None  # latest due date on or before as_of
    next_due: date | None  # earliest due date after as_of
    last_published: date | None  # latest publication on or before as_of
    on_time_rate: float | None  # on-time share of the periods whose due date has passed
    current: Period | None  # the period containing as_of
    periods: tuple[PeriodOutcome, ...]  # every period opened on or before as_of
    as_of: date | None = None


def _outcome(period: Period, published: list[date], as_of: date) -> str:
    if published:
        return "on_time" if published[0] <= period.due else "late"
    return "missed" if period.due < as_of else "open"


def _status(outcomes: list[PeriodOutcome], as_of: date, due_soon_days: int) -> str:
    """The status table of the compliance model, for a rule that has at least one period opened."""
    current = outcomes[-1]
    if current.outcome == "on_time":
        return "on_time"
    if current.outcome == "late":
        return "late"
    if current.outcome == "missed":
        return "overdue"
    # The current period is open: the previous period decides. Only event periods can still be
    # open when the next one opens (events closer together than W working days); skip those and
    # look at the latest settled period.
    previous = next((o for o in reversed(outcomes[:-1]) if o.outcome != "open"), None)
    if previous is not None and previous.outcome == "missed":
        return "overdue"
    if (current.period.due - as_of).days <= due_soon_days:
        return "due_soon"
    if previous is None:
        return "not_yet_due"
    return previous.outcome  # "on_time" or "late"


def assess(
    rule: Rule | str,
    publications: Iterable[datetime | date],
    as_of: date | datetime | None = None,
    events: Iterable[date] = (),
    due_soon_days: int = 30,
    start: date | None = None,
    calendar: WorkCalendar | None = None,
) -> Assessment:
    """Assess a dataset's publications against ``rule`` on the date ``as_of`` (default: today in
    Kazakhstan). Publications dated after ``as_of`` are ignored, so a past date gives the status
    the dataset had on that date.
    """
    rule = _coerce_rule(rule)
    as_of = _today() if as_of is None else local_date(as_of)
    start = _start_date(start)
    calendar = calendar or _default_calendar()
    if due_soon_days < 0:
        raise ValueError(f"due_soon_days must be >= 0, got {due_soon_days}")

    published = sorted({day for day in map(local_date, publications) if day <= as_of})
    last_published = published[-1] if published else None

    def no_deadline() -> Assessment:
        return Assessment("no_deadline", None, None, last_published, None, None, (), as_of)

    if rule.kind == "as-established":
        return no_deadline()
    if rule.kind == "event":
        all_periods = _event_periods(rule, events, start, calendar)
        if not all_periods:
            return no_deadline()
        opens = [p.opens for p in all_periods]
        known = len(all_periods)
    else:
        schedule = _schedule(rule, start, calendar)
        known = schedule.extend_past(as_of)
        all_periods, opens = schedule.periods, schedule.opens

    opened = bisect_right(opens, as_of, 0, known)  # periods opened on or before as_of

    # Sort publications into periods; each period runs up to the next one's opening.
    buckets: dict[int, list[date]] = {}
    for day in published:
        if opened and day >= opens[0]:
            buckets.setdefault(bisect_right(opens, day, 0, opened) - 1, []).append(day)

    outcomes: list[PeriodOutcome] = []
    previous_due: date | None = None
    next_due: date | None = None
    due_count = on_time_count = 0
    for position in range(opened):
        period = all_periods[position]
        days = buckets.get(position, [])
        outcome = _outcome(period, days, as_of)
        outcomes.append(
            PeriodOutcome(period, outcome, tuple(days), days[0] if days else None)
        )
        if period.due <= as_of:
            previous_due = period.due
        elif next_due is None:
            next_due = period.due
        if period.due < as_of:
            due_count += 1
            on_time_count += outcome == "on_time"
    if next_due is None and opened < known:
        next_due = all_periods[opened].due  # it opens after as_of, so it is due after as_of

    if outcomes:
        status = _status(outcomes, as_of, due_soon_days)
        if status == "overdue" and not published:
            status = "never_published"
    else:
        status = "not_yet_due"  # as_of is before the first window opens

    return Assessment(
        status=status,
        previous_due=previous_due,
        next_due=next_due,
        last_published=last_published,
        on_time_rate=on_time_count / due_count if due_count else None,
        current=outcomes[-1].period if outcomes else None,
        periods=tuple(outcomes),
        as_of=as_of,
    )


# --------------------------------------------------------------------------------------------------
# 5. The order
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One item of the order's list: a dataset the ministry must publish, and its rule."""

    number: int
    rule: Rule
    rule_text: str  # the rule as written in the data file
    title: dict[str, str]  # kk / ru / en
    title_ru_official: bool  # True: the Russian title is the one listed on the open data portal
    frequency_kk: str  # the order's words, verbatim
    deadline_kk: str
    channel_kk: str
    frequency: str  # EU frequency code, e.g. "ANNUAL"
    portal_dataset: str | None = None  # the dataset's id on the open data portal, if known


@dataclass(frozen=True)
class Order:
    """Order No. 120 and its list of items (sorted by number)."""

    number: str
    date: _dt.date  # the module prefix: the field name shadows the type inside the class
    registration_number: str
    registration_date: _dt.date
    title: dict[str, str]
    url: str
    items: tuple[Item, ...]
    entry_into_force: dict[str, str] | None = None
    missing_items: tuple[int, ...] = ()  # numbers absent from the published list

    @cached_property
    def _by_number(self) -> dict[int, Item]:
        return {item.number: item for item in self.items}

    def item(self, number: int) -> Item:
        """The item with this number; KeyError if the list has none."""
        try:
            return self._by_number[number]
        except (KeyError, TypeError):
            raise KeyError(f"Order {self.number} has no item {number!r}") from None


def _field(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] is None:
        raise ValueError(f"{where}: missing required field {key!r}")
    return data[key]


def _text_field(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(data, key, where)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # e.g. number: 120 written without quotes
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _lang_field(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = _field(data, key, where)
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: {key!r} must be a mapping with kk, ru and en")
    # kk, ru and en are required; any further language given as text is kept as it is.
    texts = {str(lang): text for lang, text in value.items() if isinstance(text, str)}
    texts.update({lang: _text_field(value, lang, f"{where}, {key}") for lang in LANGUAGES})
    return texts


def _date_field(data: Mapping[str, Any], key: str, where: str) -> date:
    value = _field(data, key, where)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: {key!r} must be a date (YYYY-MM-DD), got {value!r}")


def _item_number(data: Mapping[str, Any], where: str) -> int:
    value = _field(data, "number", where)
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: 'number' must be a positive integer, got {value!r}")
    return value


def _parse_item(data: Any, position: int) -> Item:
    if not isinstance(data, Mapping):
        raise ValueError(f"item #{position} of the list must be a mapping")
    number = _item_number(data, f"item #{position}")
    where = f"item {number}"
    rule_text = _text_field(data, "rule", where)
    try:
        rule = parse_rule(rule_text)
    except ValueError as error:
        raise ValueError(f"item {number}: invalid rule {rule_text!r}: {error}") from None
    frequency = _text_field(data, "frequency", where).upper()
    if not frequency_fits(rule, frequency):
        raise ValueError(
            f"item {number}: frequency {frequency!r} does not fit rule {str(rule)!r} "
            f"(expected {' or '.join(frequencies_for(rule))})"
        )
    official = data.get("title_ru_official", False)
    if not isinstance(official, bool):
        raise ValueError(f"{where}: 'title_ru_official' must be true or false")
    portal = data.get("portal_dataset")
    if portal is not None and not isinstance(portal, str):
        raise ValueError(f"{where}: 'portal_dataset' must be a string or null")
    return Item(
        number=number,
        rule=rule,
        rule_text=rule_text,
        title=_lang_field(data, "title", where),
        title_ru_official=official,
        frequency_kk=_text_field(data, "frequency_kk", where),
        deadline_kk=_text_field(data, "deadline_kk", where),
        channel_kk=_text_field(data, "channel_kk", where),
        frequency=frequency,
        portal_dataset=(portal.strip() or None) if portal is not None else None,
    )


def load_order(path: str | Path | None = None) -> Order:
    """Read and validate the order's YAML file (default: the one shipped in ``data/``).

    Raises ValueError naming the item and the problem: an unparsable rule, a frequency that does
    not fit its rule, a repeated item number or a missing field.
    """
    source = Path(path) if path is not None else DEFAULT_ORDER_PATH
    with source.open(encoding="utf-8") as handle:
        try:
            # The C loader (same safe subset) when PyYAML was built with libyaml: much faster.
            document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as error:
            raise ValueError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(document, Mapping):
        raise ValueError(f"{source}: expected a mapping with 'order' and 'items'")
    head = _field(document, "order", str(source))
    if not isinstance(head, Mapping):
        raise ValueError(f"{source}: 'order' must be a mapping")
    raw_items = _field(document, "items", str(source))
    if not isinstance(raw_items, list):
        raise ValueError(f"{source}: 'items' must be a list")

    items: dict[int, Item] = {}
    for position, raw in enumerate(raw_items, start=1):
        item = _parse_item(raw, position)
        if item.number in items:
            raise ValueError(f"item {item.number} appears more than once")
        items[item.number] = item

    entry = head.get("entry_into_force")
    missing = head.get("missing_items") or ()
    if not isinstance(missing, (list, tuple)) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in missing
    ):
        raise ValueError("order: 'missing_items' must be a list of item numbers")
    return Order(
        number=_text_field(head, "number", "order"),
        date=_date_field(head, "date", "order"),
        registration_number=_text_field(head, "registration_number", "order"),
        registration_date=_date_field(head, "registration_date", "order"),
        title=_lang_field(head, "title", "order"),
        url=_text_field(head, "url", "order"),
        items=tuple(items[number] for number in sorted(items)),
        entry_into_force=_lang_field(head, "entry_into_force", "order") if entry else None,
        missing_items=tuple(missing),
    )
