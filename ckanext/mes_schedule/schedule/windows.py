"""Windows: when each period of a calendar rule opens and its statutory last day, before the working-day
calendar is applied (``periods`` does that).

One generator per calendar rule kind; ``kinds.KINDS`` refers to them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Callable, Iterator, NamedTuple

from .params import RuleParams

__all__ = [
    "MAX_YEAR",
    "Window",
    "WindowGenerator",
    "annual_windows",
    "every_n_years_windows",
    "month_end",
    "period_label",
    "quarter_end",
    "quarter_start",
    "quarterly_windows",
    "twice_yearly_quarters",
    "twice_yearly_windows",
]

#: Periods are never generated past this year: it keeps date arithmetic far from date.max.
MAX_YEAR = 9000


def period_label(year: int, quarter: int | None = None, month: int | None = None) -> str:
    """The label of what a period is for: "2026 Q3", "2026-12" or "2026"."""
    if quarter is not None:
        return f"{year} Q{quarter}"
    if month is not None:
        return f"{year}-{month:02d}"
    return str(year)


class Window(NamedTuple):
    """A period before the calendar is applied.

    ``year``/``quarter``/``month`` place the window itself in the calendar (the quarter or month it spans);
    ``covers_*`` name what the period is for, which its label spells out. They differ for quarterly rules
    only: the window for the reporting quarter 2026 Q3 is the quarter 2026 Q4.
    """

    opens: date
    last_day: date  # the statutory last day, before moving off non-working days
    year: int
    quarter: int | None
    month: int | None
    covers_year: int
    covers_quarter: int | None = None
    covers_month: int | None = None
    reporting: bool = False  # the label names a reporting period (Period.covers is set)

    @property
    def label(self) -> str:
        return period_label(self.covers_year, self.covers_quarter, self.covers_month)


#: A window generator: the windows of a rule that open on or after a start date, in order.
WindowGenerator = Callable[[RuleParams, date], Iterator[Window]]


def quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * quarter - 2, 1)


def quarter_end(year: int, quarter: int) -> date:
    return month_end(year, 3 * quarter)


def month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def twice_yearly_quarters(quarter: int) -> tuple[int, int]:
    """The two quarters of a twice-yearly rule: n and n+2 (or n-2), in calendar order."""
    other = quarter + 2 if quarter <= 2 else quarter - 2
    return (min(quarter, other), max(quarter, other))


def _quarter_window(year: int, quarter: int, *, label_quarter: bool) -> Window:
    """A window spanning a calendar quarter, due on its last day."""
    return Window(
        opens=quarter_start(year, quarter),
        last_day=quarter_end(year, quarter),
        year=year,
        quarter=quarter,
        month=None,
        covers_year=year,
        covers_quarter=quarter if label_quarter else None,
    )


def annual_windows(rule: RuleParams, start: date) -> Iterator[Window]:
    for year in range(start.year, MAX_YEAR + 1):
        if rule.quarter is not None:
            window = _quarter_window(year, rule.quarter, label_quarter=False)
        else:
            month = rule.month or 1
            window = Window(
                opens=date(year, month, 1),
                last_day=month_end(year, month),
                year=year,
                quarter=None,
                month=month,
                covers_year=year,
                covers_month=month,
            )
        if window.opens >= start:
            yield window


def quarterly_windows(rule: RuleParams, start: date) -> Iterator[Window]:
    # The period for reporting quarter Q opens the day after Q ends; its due date is day d of the
    # month after Q. Start from the quarter whose period opens on 1 January of the start year.
    year, quarter = start.year - 1, 4
    while year <= MAX_YEAR:
        next_year, next_quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
        opens = quarter_start(next_year, next_quarter)
        if opens >= start:
            yield Window(
                opens=opens,
                last_day=date(next_year, 3 * next_quarter - 2, rule.day or 1),
                year=next_year,
                quarter=next_quarter,
                month=None,
                covers_year=year,
                covers_quarter=quarter,
                reporting=True,
            )
        year, quarter = next_year, next_quarter


def every_n_years_windows(rule: RuleParams, start: date) -> Iterator[Window]:
    step, quarter, year = rule.years or 1, rule.quarter or 1, rule.from_year or start.year
    if year < start.year:  # skip whole cycles that end before the start
        year += -(-(start.year - year) // step) * step
    while year <= MAX_YEAR:
        window = _quarter_window(year, quarter, label_quarter=False)
        if window.opens >= start:
            yield window
        year += step


def twice_yearly_windows(rule: RuleParams, start: date) -> Iterator[Window]:
    first_quarter, first_year = rule.quarter or 1, rule.from_year or start.year
    quarters = twice_yearly_quarters(first_quarter)
    for year in range(max(first_year, start.year), MAX_YEAR + 1):
        for quarter in quarters:
            if year == first_year and quarter < first_quarter:
                continue  # the schedule begins with quarter n of the year `from`
            window = _quarter_window(year, quarter, label_quarter=True)
            if window.opens >= start:
                yield window
