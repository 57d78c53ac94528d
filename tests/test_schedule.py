"""Unit tests of the deadline engine (the package ckanext/mes_schedule/schedule/).

The engine is pure Python: these tests never import CKAN. Dates in comments are checked against the
``holidays`` package's Kazakhstan calendar (holidays.KZ).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import holidays
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from ckanext.mes_schedule import schedule
from ckanext.mes_schedule.schedule import (
    DEFAULT_START,
    OUTCOMES,
    STATUSES,
    TZ,
    Rule,
    WorkCalendar,
    assess,
    describe,
    frequencies_for,
    frequency_fits,
    load_order,
    local_date,
    parse_rule,
    periods,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
UTC = timezone.utc

# One calendar shared by the tests, as the application shares one: holiday tables are built once.
CAL = WorkCalendar()

ANNUAL_Q4 = parse_rule("annual quarter=4")
QUARTERLY_10 = parse_rule("quarterly day=10")
EVENT_10 = parse_rule("event working-days=10 max-per-year=2")
AS_ESTABLISHED = parse_rule("as-established")


def utc(local: datetime) -> datetime:
    """A local (Asia/Almaty) wall-clock time, expressed as an aware UTC datetime."""
    return local.replace(tzinfo=TZ).astimezone(UTC)


def status(rule: Rule | str, pubs, as_of: date, **kwargs) -> str:
    return assess(rule, pubs, as_of=as_of, calendar=CAL, **kwargs).status


def labels(found) -> list[str]:
    return [p.label for p in found]


# ==================================================================================================
# Worked examples of the compliance model
# ==================================================================================================


class TestWorkedExamples:
    """Each example of compliance-model.md, verbatim."""

    def test_annual_q4_published_in_window_is_on_time(self):
        assert status(ANNUAL_Q4, [date(2026, 11, 2)], date(2027, 2, 15)) == "on_time"

    def test_annual_q4_published_after_due_date_is_late(self):
        result = assess(ANNUAL_Q4, [date(2027, 1, 5)], as_of=date(2027, 2, 15), calendar=CAL)
        assert result.status == "late"
        assert result.current.label == "2026"
        assert result.current.due == date(2026, 12, 31)

    def test_annual_q4_never_published(self):
        assert status(ANNUAL_Q4, [], date(2027, 2, 15)) == "never_published"

    def test_annual_q4_due_soon(self):
        result = assess(ANNUAL_Q4, [date(2025, 10, 10)], as_of=date(2026, 12, 5), calendar=CAL)
        assert result.status == "due_soon"
        assert (result.current.due - date(2026, 12, 5)).days == 26

    def test_quarterly_due_date_on_saturday_moves_to_monday(self):
        # 2027-04-10 is a Saturday: Q1 2027 is due on Monday 2027-04-12.
        result = assess(QUARTERLY_10, [date(2027, 4, 12)], as_of=date(2027, 5, 1), calendar=CAL)
        assert result.status == "on_time"
        assert result.current.covers == "2027 Q1"
        assert result.current.due == date(2027, 4, 12)

    def test_q3_2026_quarterly_deadline_rolls_to_2026_10_12(self):
        assert date(2026, 10, 10).weekday() == 5  # Saturday
        (period,) = periods(QUARTERLY_10, date(2026, 10, 1), date(2026, 10, 1), calendar=CAL)
        assert period.covers == "2026 Q3"
        assert period.due == date(2026, 10, 12)

    def test_working_days_across_may_holidays(self):
        # 1 May, 7 May and 11 May (Victory Day observed) 2026 are not working days.
        assert CAL.add_working_days(date(2026, 4, 27), 10) == date(2026, 5, 14)

    def test_working_days_across_independence_day(self):
        # 16 December 2025 is Independence Day.
        assert CAL.add_working_days(date(2025, 12, 5), 10) == date(2025, 12, 22)

    def test_event_period_uses_working_days(self):
        (period,) = periods(EVENT_10, DEFAULT_START, date(2030, 1, 1),
                            events=[date(2026, 4, 27)], calendar=CAL)
        assert (period.opens, period.due, period.closes) == (
            date(2026, 4, 27), date(2026, 5, 14), None)


# ==================================================================================================
# Calendar
# ==================================================================================================


class TestWorkCalendar:
    @pytest.mark.parametrize(
        "day, working",
        [
            (date(2026, 12, 15), True),  # Tuesday
            (date(2026, 10, 10), False),  # Saturday
            (date(2026, 10, 11), False),  # Sunday
            (date(2026, 12, 16), False),  # Independence Day
            (date(2026, 5, 11), False),  # Victory Day (9 May, a Saturday) observed on Monday
            (date(2026, 3, 24), False),  # Nauryz observed
            (date(2027, 1, 4), False),  # New Year (2 January, a Saturday) observed on Monday
            (date(2026, 12, 31), True),  # the last day of the year is an ordinary working day
        ],
    )
    def test_is_working(self, day, working):
        assert CAL.is_working(day) is working

    def test_roll_forward_keeps_a_working_day(self):
        assert CAL.roll_forward(date(2026, 12, 31)) == date(2026, 12, 31)

    def test_roll_forward_over_a_weekend(self):
        assert CAL.roll_forward(date(2026, 10, 10)) == date(2026, 10, 12)

    def test_roll_forward_over_new_year_holidays(self):
        # Sat 31 Dec 2016, Sun 1 Jan, Mon 2 Jan (holiday), Tue 3 Jan (1 January observed).
        assert CAL.roll_forward(date(2016, 12, 31)) == date(2017, 1, 4)

    def test_add_working_days_counts_after_the_day(self):
        assert CAL.add_working_days(date(2026, 12, 14), 1) == date(2026, 12, 15)
        assert CAL.add_working_days(date(2026, 12, 15), 1) == date(2026, 12, 17)  # skips the 16th
        assert CAL.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 12)  # Fri -> Mon

    def test_add_zero_working_days(self):
        assert CAL.add_working_days(date(2026, 10, 10), 0) == date(2026, 10, 10)

    def test_add_negative_working_days_is_an_error(self):
        with pytest.raises(ValueError):
            CAL.add_working_days(date(2026, 10, 10), -1)

    def test_extra_non_working_day(self):
        calendar = WorkCalendar(extra_non_working=[date(2026, 12, 31)])
        assert not calendar.is_working(date(2026, 12, 31))
        # Fri 1 Jan and Sat 2 Jan 2027 are New Year, Mon 4 Jan its observed day off.
        assert calendar.roll_forward(date(2026, 12, 31)) == date(2027, 1, 5)

    def test_extra_working_day_overrides_weekend_and_holiday(self):
        calendar = WorkCalendar(extra_working=[date(2026, 10, 10), date(2025, 12, 16)])
        assert calendar.is_working(date(2026, 10, 10))
        assert calendar.is_working(date(2025, 12, 16))
        assert calendar.add_working_days(date(2025, 12, 5), 10) == date(2025, 12, 19)

    def test_config_days_may_be_iso_strings(self):
        calendar = WorkCalendar(extra_non_working=["2026-12-31"], extra_working=["2026-10-10"])
        assert not calendar.is_working(date(2026, 12, 31))
        assert calendar.is_working(date(2026, 10, 10))

    def test_a_day_cannot_be_both_working_and_non_working(self):
        with pytest.raises(ValueError, match="2026-12-31"):
            WorkCalendar(extra_non_working=[date(2026, 12, 31)], extra_working=[date(2026, 12, 31)])

    def test_holidays_object_is_built_once_per_calendar(self, monkeypatch):
        built = []
        original = holidays.country_holidays

        def counting(*args, **kwargs):
            built.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(holidays, "country_holidays", counting)
        calendar = WorkCalendar()
        for offset in range(0, 3 * 366, 7):
            calendar.is_working(date(2025, 1, 1) + timedelta(days=offset))
        for _ in range(50):
            assess(QUARTERLY_10, [date(2020, 1, 15)], as_of=date(2026, 11, 26), calendar=calendar)
        assert len(built) == 1


# ==================================================================================================
# Local dates and the due-date boundary in Asia/Almaty
# ==================================================================================================


class TestLocalDate:
    def test_aware_datetime_is_converted_to_almaty(self):
        # 19:30 UTC on 31 December is already 1 January in Kazakhstan.
        assert local_date(utc(datetime(2027, 1, 1, 0, 30))) == date(2027, 1, 1)
        assert utc(datetime(2027, 1, 1, 0, 30)).date() == date(2026, 12, 31)

    def test_naive_datetime_is_taken_as_utc(self):
        naive_utc = utc(datetime(2027, 1, 1, 0, 30)).replace(tzinfo=None)
        assert local_date(naive_utc) == date(2027, 1, 1)

    def test_date_is_returned_unchanged(self):
        assert local_date(date(2026, 2, 28)) == date(2026, 2, 28)

    @pytest.mark.parametrize("value", ["2026-01-01", 1767225600, None])
    def test_other_types_are_rejected(self, value):
        with pytest.raises(TypeError):
            local_date(value)


class TestDueDateBoundaryInLocalTime:
    """Annual Q4 2026 is due 2026-12-31; the check is on the Kazakhstan date, not the UTC date."""

    AS_OF = date(2027, 2, 15)

    @pytest.mark.parametrize("minute", [(23, 30), (23, 59)])
    def test_late_evening_local_on_the_due_date_is_on_time(self, minute):
        pub = utc(datetime(2026, 12, 31, *minute))
        assert status(ANNUAL_Q4, [pub], self.AS_OF) == "on_time"
        assert status(ANNUAL_Q4, [pub.replace(tzinfo=None)], self.AS_OF) == "on_time"  # naive UTC

    @pytest.mark.parametrize("minute", [(0, 1), (0, 30)])
    def test_just_after_local_midnight_is_late_although_utc_date_is_the_due_date(self, minute):
        pub = utc(datetime(2027, 1, 1, *minute))
        assert pub.date() == date(2026, 12, 31)
        assert status(ANNUAL_Q4, [pub], self.AS_OF) == "late"
        assert status(ANNUAL_Q4, [pub.replace(tzinfo=None)], self.AS_OF) == "late"

    def test_quarterly_boundary_on_the_rolled_due_date(self):
        as_of = date(2026, 11, 1)
        on_time = utc(datetime(2026, 10, 12, 23, 59))
        late = utc(datetime(2026, 10, 13, 0, 1))
        assert status(QUARTERLY_10, [on_time], as_of) == "on_time"
        assert status(QUARTERLY_10, [late], as_of) == "late"

    def test_as_of_may_be_a_datetime(self):
        result = assess(ANNUAL_Q4, [], as_of=utc(datetime(2027, 1, 1, 0, 30)), calendar=CAL)
        assert result.as_of == date(2027, 1, 1)
        assert result.status == "never_published"


# ==================================================================================================
# Periods, rule kind by rule kind
# ==================================================================================================


def contiguous(found) -> None:
    """Periods are numbered 1.. and each closes when the next opens."""
    assert [p.index for p in found] == list(range(1, len(found) + 1))
    for before, after in pairwise(found):
        assert before.closes == after.opens


class TestAnnual:
    def test_first_period_relative_to_default_start(self):
        found = periods(ANNUAL_Q4, DEFAULT_START, date(2018, 12, 31), calendar=CAL)
        assert labels(found) == ["2016", "2017", "2018"]
        assert found[0].opens == date(2016, 10, 1)
        contiguous(found)

    def test_window_opening_after_start_is_skipped(self):
        # Quarter I of 2016 opened before the start: the first quarter-I window is 2017's.
        found = periods("annual quarter=1", DEFAULT_START, date(2017, 12, 31), calendar=CAL)
        assert labels(found) == ["2017"]
        # Quarter II of 2016 opens exactly on the start date: it is included.
        found = periods("annual quarter=2", DEFAULT_START, date(2016, 12, 31), calendar=CAL)
        assert [(p.label, p.opens) for p in found] == [("2016", date(2016, 4, 1))]

    def test_start_one_day_after_a_window_opens(self):
        found = periods(ANNUAL_Q4, date(2016, 10, 2), date(2017, 12, 31), calendar=CAL)
        assert labels(found) == ["2017"]
        assert found[0].index == 1

    def test_end_is_inclusive_on_opens(self):
        assert labels(periods(ANNUAL_Q4, DEFAULT_START, date(2017, 10, 1), calendar=CAL)) == [
            "2016", "2017"]
        assert labels(periods(ANNUAL_Q4, DEFAULT_START, date(2017, 9, 30), calendar=CAL)) == [
            "2016"]

    def test_q4_due_on_31_december(self):
        (period,) = periods(ANNUAL_Q4, date(2026, 1, 1), date(2026, 12, 31), calendar=CAL)
        assert (period.opens, period.due, period.closes) == (
            date(2026, 10, 1), date(2026, 12, 31), date(2027, 10, 1))

    def test_q4_due_rolls_across_new_year(self):
        # Sat 31 Dec 2022 -> Sun, Mon 2 Jan (holiday), Tue 3 Jan (1 January observed) -> Wed 4 Jan.
        (period,) = periods(ANNUAL_Q4, date(2022, 1, 1), date(2022, 12, 31), calendar=CAL)
        assert period.due == date(2023, 1, 4)

    def test_q3_due_on_saturday(self):
        (period,) = periods("annual quarter=3", date(2023, 1, 1), date(2023, 12, 31), calendar=CAL)
        assert period.due == date(2023, 10, 2)

    def test_q1_in_leap_year(self):
        (period,) = periods("annual quarter=1", date(2028, 1, 1), date(2028, 1, 1), calendar=CAL)
        assert (period.opens, period.due) == (date(2028, 1, 1), date(2028, 3, 31))
        assert status("annual quarter=1", [date(2028, 2, 29)], date(2028, 6, 1)) == "on_time"

    def test_month_rule_in_leap_and_common_years(self):
        found = periods("annual month=2", date(2027, 1, 1), date(2028, 12, 31), calendar=CAL)
        assert [(p.label, p.due) for p in found] == [
            ("2027-02", date(2027, 3, 1)),  # Sun 28 Feb 2027 -> Mon 1 Mar
            ("2028-02", date(2028, 2, 29)),
        ]
        assert status("annual month=2", [date(2028, 2, 29)], date(2028, 3, 15)) == "on_time"
        assert status("annual month=2", [date(2028, 3, 1)], date(2028, 3, 15)) == "late"

    def test_month_rule_december_and_september(self):
        (december,) = periods("annual month=12", date(2026, 1, 1), date(2026, 12, 31), calendar=CAL)
        assert (december.label, december.opens, december.due, december.closes) == (
            "2026-12", date(2026, 12, 1), date(2026, 12, 31), date(2027, 12, 1))
        (september,) = periods("annual month=9", date(2026, 1, 1), date(2026, 12, 31), calendar=CAL)
        assert (september.opens, september.due) == (date(2026, 9, 1), date(2026, 9, 30))

    def test_publication_on_the_opening_day_belongs_to_the_new_period(self):
        result = assess(ANNUAL_Q4, [date(2026, 9, 30), date(2026, 10, 1)],
                        as_of=date(2026, 10, 5), calendar=CAL)
        by_label = {o.period.label: o for o in result.periods}
        assert by_label["2025"].published == (date(2026, 9, 30),)
        assert by_label["2025"].outcome == "late"
        assert by_label["2026"].published == (date(2026, 10, 1),)
        assert by_label["2026"].outcome == "on_time"

    def test_publication_on_the_day_before_closing_still_belongs_to_the_old_period(self):
        # Published 30 Sep 2027, one day before the 2027 window opens: late for 2026.
        result = assess(ANNUAL_Q4, [date(2027, 9, 30)], as_of=date(2027, 9, 30), calendar=CAL)
        assert result.current.label == "2026"
        assert result.status == "late"


class TestQuarterly:
    def test_first_period_relative_to_default_start(self):
        found = periods(QUARTERLY_10, DEFAULT_START, date(2016, 12, 31), calendar=CAL)
        assert [(p.covers, p.opens, p.due) for p in found] == [
            ("2016 Q1", date(2016, 4, 1), date(2016, 4, 11)),  # 10 April 2016 was a Sunday
            ("2016 Q2", date(2016, 7, 1), date(2016, 7, 11)),  # 10 July 2016 was a Sunday
            ("2016 Q3", date(2016, 10, 1), date(2016, 10, 10)),
        ]
        contiguous(found)
        assert all(p.label == p.covers for p in found)

    def test_q4_is_due_in_january_of_next_year(self):
        found = periods(QUARTERLY_10, date(2026, 1, 1), date(2027, 1, 1), calendar=CAL)
        q4 = found[-1]
        assert (q4.covers, q4.opens, q4.due, q4.closes) == (
            "2026 Q4", date(2027, 1, 1), date(2027, 1, 11), date(2027, 4, 1))  # 10 Jan: Sunday

    def test_due_day_on_a_holiday(self):
        # Day 7 after Q4 2025 is Orthodox Christmas (Wed 7 Jan 2026).
        (q4,) = periods("quarterly day=7", date(2026, 1, 1), date(2026, 1, 1), calendar=CAL)
        assert (q4.covers, q4.due) == ("2025 Q4", date(2026, 1, 8))
        # Day 6 after Q2 2026 is Capital Day (Mon 6 Jul 2026).
        (q2,) = periods("quarterly day=6", date(2026, 7, 1), date(2026, 7, 1), calendar=CAL)
        assert (q2.covers, q2.due) == ("2026 Q2", date(2026, 7, 7))

    def test_window_edges(self):
        # The Q3 2026 period runs 2026-10-01 .. 2026-12-31; a publication on 30 September belongs to
        # the Q2 period (late), one on 1 October to Q3 (on time).
        result = assess(QUARTERLY_10, [date(2026, 9, 30), date(2026, 10, 1)],
                        as_of=date(2026, 10, 20), calendar=CAL)
        by_cover = {o.period.covers: o for o in result.periods}
        assert by_cover["2026 Q2"].outcome == "late"
        assert by_cover["2026 Q3"].outcome == "on_time"
        assert result.status == "on_time"

    def test_statuses_through_a_quarter(self):
        on_time_q2 = [date(2026, 7, 8)]
        assert status(QUARTERLY_10, on_time_q2, date(2026, 10, 1)) == "due_soon"
        assert status(QUARTERLY_10, on_time_q2, date(2026, 10, 12)) == "due_soon"
        assert status(QUARTERLY_10, on_time_q2, date(2026, 10, 13)) == "overdue"
        assert status(QUARTERLY_10, on_time_q2 + [date(2026, 10, 13)], date(2026, 10, 14)) == "late"


class TestEveryNYears:
    RULE = "every-n-years years=3 quarter=4 from=2016"

    def test_years_for_a_three_year_cycle(self):
        found = periods(self.RULE, DEFAULT_START, date(2026, 12, 31), calendar=CAL)
        assert [(p.label, p.opens, p.due) for p in found] == [
            ("2016", date(2016, 10, 1), date(2017, 1, 4)),  # Sat 31 Dec 2016, New Year holidays
            ("2019", date(2019, 10, 1), date(2019, 12, 31)),
            ("2022", date(2022, 10, 1), date(2023, 1, 4)),
            ("2025", date(2025, 10, 1), date(2025, 12, 31)),
        ]
        contiguous(found)
        assert found[-1].closes == date(2028, 10, 1)

    def test_four_year_cycle(self):
        found = periods("every-n-years years=4 quarter=4 from=2016", DEFAULT_START,
                        date(2028, 12, 31), calendar=CAL)
        assert labels(found) == ["2016", "2020", "2024", "2028"]

    def test_start_in_the_middle_of_a_cycle(self):
        found = periods(self.RULE, date(2020, 1, 1), date(2026, 12, 31), calendar=CAL)
        assert labels(found) == ["2022", "2025"]
        assert found[0].index == 1

    def test_nothing_before_the_from_year(self):
        found = periods(self.RULE, date(2010, 1, 1), date(2019, 12, 31), calendar=CAL)
        assert labels(found) == ["2016", "2019"]

    def test_statuses(self):
        assert status(self.RULE, [date(2022, 11, 15)], date(2024, 6, 1)) == "on_time"
        assert status(self.RULE, [date(2022, 11, 15)], date(2025, 12, 10)) == "due_soon"
        assert status(self.RULE, [date(2022, 11, 15)], date(2026, 1, 5)) == "overdue"
        result = assess(self.RULE, [], as_of=date(2024, 6, 1), calendar=CAL)
        assert (result.previous_due, result.next_due) == (date(2023, 1, 4), date(2025, 12, 31))


class TestTwiceYearly:
    def test_quarters_i_and_iii_from_2017(self):
        found = periods("twice-yearly quarter=1 from=2017", DEFAULT_START, date(2018, 12, 31),
                        calendar=CAL)
        assert [(p.label, p.opens, p.due) for p in found] == [
            ("2017 Q1", date(2017, 1, 1), date(2017, 3, 31)),
            ("2017 Q3", date(2017, 7, 1), date(2017, 10, 2)),  # Sat 30 Sep 2017
            ("2018 Q1", date(2018, 1, 1), date(2018, 4, 2)),  # Sat 31 Mar 2018
            ("2018 Q3", date(2018, 7, 1), date(2018, 10, 1)),  # Sun 30 Sep 2018
        ]
        contiguous(found)

    def test_first_window_is_quarter_n_of_the_from_year(self):
        found = periods("twice-yearly quarter=3 from=2017", DEFAULT_START, date(2018, 12, 31),
                        calendar=CAL)
        assert labels(found) == ["2017 Q3", "2018 Q1", "2018 Q3"]
        found = periods("twice-yearly quarter=4 from=2017", DEFAULT_START, date(2018, 12, 31),
                        calendar=CAL)
        assert labels(found) == ["2017 Q4", "2018 Q2", "2018 Q4"]
        # 31 Dec 2018 was a decreed day off (moved from Sat 29 Dec), then the New Year holidays.
        assert found[-1].due == date(2019, 1, 3)

    def test_leap_year_window(self):
        (period,) = periods("twice-yearly quarter=1 from=2017", date(2028, 1, 1), date(2028, 1, 1),
                            calendar=CAL)
        assert period.due == date(2028, 3, 31)
        result = assess("twice-yearly quarter=1 from=2017", [date(2028, 2, 29)],
                        as_of=date(2028, 4, 15), calendar=CAL)
        assert result.status == "on_time"
        assert result.periods[-1].published == (date(2028, 2, 29),)

    def test_due_on_sunday_in_a_leap_year(self):
        (period,) = periods("twice-yearly quarter=1 from=2017", date(2024, 1, 1), date(2024, 1, 1),
                            calendar=CAL)
        assert period.due == date(2024, 4, 1)  # Sun 31 Mar 2024

    def test_not_yet_due_before_the_from_year(self):
        result = assess("twice-yearly quarter=1 from=2017", [], as_of=date(2016, 6, 1),
                        calendar=CAL)
        assert result.status == "not_yet_due"
        assert result.current is None
        assert result.next_due == date(2017, 3, 31)


class TestEvent:
    def test_no_event_means_no_deadline(self):
        result = assess(EVENT_10, [date(2026, 1, 1)], as_of=date(2026, 11, 26), calendar=CAL)
        assert result.status == "no_deadline"
        assert result.periods == ()
        assert (result.previous_due, result.next_due, result.current) == (None, None, None)
        assert result.last_published == date(2026, 1, 1)
        assert periods(EVENT_10, DEFAULT_START, date(2030, 1, 1), calendar=CAL) == []

    def test_events_are_sorted_deduplicated_and_limited_to_the_start(self):
        events = [date(2025, 12, 5), date(2026, 4, 27), date(2015, 5, 5), date(2025, 12, 5)]
        found = periods(EVENT_10, DEFAULT_START, date(2030, 1, 1), events=events, calendar=CAL)
        assert [(p.index, p.label, p.opens, p.due, p.closes) for p in found] == [
            (1, "2025-12-05", date(2025, 12, 5), date(2025, 12, 22), date(2026, 4, 27)),
            (2, "2026-04-27", date(2026, 4, 27), date(2026, 5, 14), None),
        ]

    def test_max_per_year_is_not_enforced_by_the_engine(self):
        events = [date(2026, 2, 2), date(2026, 6, 1), date(2026, 9, 1)]
        assert len(periods(EVENT_10, DEFAULT_START, date(2026, 12, 31), events=events,
                           calendar=CAL)) == 3

    @pytest.mark.parametrize(
        "pubs, as_of, expected",
        [
            ([], date(2026, 4, 26), "not_yet_due"),  # the event lies ahead
            ([], date(2026, 5, 5), "due_soon"),
            ([], date(2026, 5, 14), "due_soon"),
            ([], date(2026, 5, 15), "never_published"),
            ([date(2026, 5, 14)], date(2026, 6, 1), "on_time"),
            ([date(2026, 5, 15)], date(2026, 6, 1), "late"),
            ([date(2026, 1, 10)], date(2026, 5, 15), "overdue"),
        ],
    )
    def test_statuses(self, pubs, as_of, expected):
        assert status(EVENT_10, pubs, as_of, events=[date(2026, 4, 27)]) == expected

    def test_future_event_gives_the_next_due_date(self):
        result = assess(EVENT_10, [], as_of=date(2026, 4, 1), events=[date(2026, 4, 27)],
                        calendar=CAL)
        assert (result.status, result.previous_due, result.next_due) == (
            "not_yet_due", None, date(2026, 5, 14))

    def test_events_closer_than_the_term(self):
        # The second event comes before the first one's due date: the first period stays open,
        # so the status is decided by the term of the second.
        events = [date(2026, 4, 27), date(2026, 4, 29)]
        result = assess(EVENT_10, [], as_of=date(2026, 4, 30), events=events, calendar=CAL)
        assert [o.outcome for o in result.periods] == ["open", "open"]
        assert result.status == "due_soon"
        # A long term with a previous period still open and nothing settled: not yet due.
        long_rule = "event working-days=100"
        result = assess(long_rule, [], as_of=date(2026, 5, 4), events=events, calendar=CAL)
        assert result.status == "not_yet_due"
        result = assess(long_rule, [date(2026, 4, 28)], as_of=date(2026, 5, 4), events=events,
                        calendar=CAL)
        assert [o.outcome for o in result.periods] == ["on_time", "open"]
        assert result.status == "on_time"

    def test_event_on_a_weekend(self):
        # Sat 10 Oct 2026: counting starts on Monday.
        (period,) = periods("event working-days=1", DEFAULT_START, date(2027, 1, 1),
                            events=[date(2026, 10, 10)], calendar=CAL)
        assert period.due == date(2026, 10, 12)


class TestAsEstablished:
    def test_no_deadline(self):
        result = assess(AS_ESTABLISHED, [date(2020, 5, 5)], as_of=date(2026, 11, 26),
                        events=[date(2026, 1, 1)], calendar=CAL)
        assert result.status == "no_deadline"
        assert (result.previous_due, result.next_due, result.current) == (None, None, None)
        assert result.periods == ()
        assert result.on_time_rate is None
        assert result.last_published == date(2020, 5, 5)
        assert periods(AS_ESTABLISHED, DEFAULT_START, date(2030, 1, 1), calendar=CAL) == []


class TestStructuredPeriodFields:
    """What a period is for, without parsing its label (Period.kind, covers_*, year/quarter/month)."""

    def fields(self, period):
        return (period.kind, period.covers_year, period.covers_quarter, period.covers_month,
                period.year, period.quarter, period.month)

    def test_annual_in_a_quarter(self):
        (period,) = periods(ANNUAL_Q4, date(2026, 1, 1), date(2026, 12, 31), calendar=CAL)
        assert (period.label, period.covers) == ("2026", None)
        assert self.fields(period) == ("year", 2026, None, None, 2026, 4, None)
        assert period.rule == ANNUAL_Q4

    def test_annual_in_a_month(self):
        (period,) = periods("annual month=9", date(2026, 1, 1), date(2026, 12, 31), calendar=CAL)
        assert period.label == "2026-09"
        assert self.fields(period) == ("month", 2026, None, 9, 2026, None, 9)

    def test_quarterly_covers_the_reporting_quarter_in_the_next_quarters_window(self):
        q3, q4 = periods(QUARTERLY_10, date(2026, 10, 1), date(2027, 1, 1), calendar=CAL)
        assert (q3.label, q3.covers) == ("2026 Q3", "2026 Q3")
        assert self.fields(q3) == ("quarter", 2026, 3, None, 2026, 4, None)
        assert self.fields(q4) == ("quarter", 2026, 4, None, 2027, 1, None)

    def test_every_n_years_and_twice_yearly(self):
        (cycle,) = periods("every-n-years years=3 quarter=4 from=2016", date(2025, 1, 1), date(2025, 12, 31),
                           calendar=CAL)
        assert (cycle.label, self.fields(cycle)) == ("2025", ("year", 2025, None, None, 2025, 4, None))
        first, second = periods("twice-yearly quarter=1 from=2017", date(2026, 1, 1), date(2026, 12, 31),
                                calendar=CAL)
        assert (first.label, self.fields(first)) == ("2026 Q1", ("quarter", 2026, 1, None, 2026, 1, None))
        assert (second.label, second.covers_quarter) == ("2026 Q3", 3)

    def test_event_periods_have_none(self):
        (period,) = periods(EVENT_10, date(2026, 1, 1), date(2026, 12, 31), events=[date(2026, 4, 27)],
                            calendar=CAL)
        assert self.fields(period) == ("event", None, None, None, None, None, None)
        assert period.rule == EVENT_10

    def test_labels_and_fields_agree(self):
        for rule in ("annual quarter=2", "annual month=12", "quarterly day=5", "twice-yearly quarter=4 from=2016",
                     "every-n-years years=2 quarter=1 from=2016"):
            for period in periods(rule, DEFAULT_START, date(2030, 12, 31), calendar=CAL):
                quarter = f" Q{period.covers_quarter}" if period.covers_quarter else ""
                month = f"-{period.covers_month:02d}" if period.covers_month else ""
                assert period.label == f"{period.covers_year}{quarter}{month}"
                assert schedule.ROMAN[period.quarter or 1] in ("I", "II", "III", "IV")

    def test_roman_numerals(self):
        assert dict(schedule.ROMAN) == {1: "I", 2: "II", 3: "III", 4: "IV"}


class TestRuleKindRecords:
    def test_rule_properties(self):
        assert (EVENT_10.is_event, EVENT_10.has_periods, EVENT_10.has_calendar_windows) == (True, True, False)
        assert (AS_ESTABLISHED.is_event, AS_ESTABLISHED.has_periods) == (False, False)
        assert (ANNUAL_Q4.is_event, ANNUAL_Q4.has_periods, ANNUAL_Q4.has_calendar_windows) == (False, True, True)
        assert QUARTERLY_10.spec is schedule.KINDS["quarterly"]

    def test_each_kind_record(self):
        kinds = schedule.KINDS
        assert [k for k, v in kinds.items() if v.has_calendar_windows] == [
            "annual", "quarterly", "every-n-years", "twice-yearly"]
        assert [k for k, v in kinds.items() if v.is_event] == ["event"]
        assert kinds["annual"].one_of == ("quarter", "month")
        assert kinds["every-n-years"].required == ("years", "quarter", "from")
        assert kinds["as-established"].frequencies(AS_ESTABLISHED) == ("IRREG", "UNKNOWN", "OTHER")

    def test_assessment_names_the_rule(self):
        result = assess("annual quarter=4", [], as_of=date(2026, 1, 1), calendar=CAL)
        assert result.rule == ANNUAL_Q4

    def test_today_is_in_almaty(self):
        assert schedule.today() in {datetime.now(TZ).date(), (datetime.now(TZ) - timedelta(minutes=1)).date()}


# ==================================================================================================
# Statuses, due dates and the on-time rate
# ==================================================================================================


class TestStatuses:
    # Annual Q4: the 2026 window opens 2026-10-01, due 2026-12-31 (77 days after 2026-10-15).
    @pytest.mark.parametrize(
        "pubs, as_of, expected",
        [
            # C published on time.
            ([date(2026, 11, 2)], date(2026, 11, 5), "on_time"),
            # C open and far from due: the previous period decides.
            ([date(2025, 11, 1)], date(2026, 10, 15), "on_time"),
            ([date(2026, 1, 15)], date(2026, 10, 15), "late"),
            ([date(2024, 11, 1)], date(2026, 10, 15), "overdue"),
            ([], date(2026, 10, 15), "never_published"),
            # C open and within 30 days of due.
            ([date(2025, 11, 1)], date(2026, 12, 1), "due_soon"),
            ([date(2024, 11, 1)], date(2026, 12, 1), "overdue"),
            # C unpublished after its due date.
            ([date(2025, 11, 1)], date(2027, 1, 1), "overdue"),
            ([], date(2027, 1, 1), "never_published"),
            # C published only after due.
            ([date(2025, 11, 1), date(2027, 1, 4)], date(2027, 1, 5), "late"),
            # Before the first window; first period far from due.
            ([], date(2016, 5, 1), "not_yet_due"),
            ([], date(2016, 10, 15), "not_yet_due"),
            ([], date(2016, 12, 20), "due_soon"),
        ],
    )
    def test_status_table(self, pubs, as_of, expected):
        assert status(ANNUAL_Q4, pubs, as_of) == expected

    def test_every_status_is_reachable(self):
        reached = {
            status(ANNUAL_Q4, [date(2026, 11, 2)], date(2026, 11, 5)),
            status(ANNUAL_Q4, [date(2026, 1, 15)], date(2026, 10, 15)),
            status(ANNUAL_Q4, [date(2024, 11, 1)], date(2026, 10, 15)),
            status(ANNUAL_Q4, [], date(2026, 10, 15)),
            status(ANNUAL_Q4, [date(2025, 11, 1)], date(2026, 12, 1)),
            status(ANNUAL_Q4, [], date(2016, 5, 1)),
            status(AS_ESTABLISHED, [], date(2016, 5, 1)),
        }
        assert reached == set(STATUSES)

    def test_status_and_outcome_constants(self):
        assert STATUSES == ("overdue", "never_published", "late", "due_soon", "on_time",
                            "not_yet_due", "no_deadline")
        assert set(OUTCOMES) == {"on_time", "late", "missed", "open"}

    def test_due_soon_horizon_edges(self):
        due = date(2017, 1, 4)  # 2016's due date: Sat 31 Dec 2016 rolled over the New Year
        assert status(ANNUAL_Q4, [], due - timedelta(days=30)) == "due_soon"
        assert status(ANNUAL_Q4, [], due - timedelta(days=31)) == "not_yet_due"
        assert status(ANNUAL_Q4, [], due - timedelta(days=31), due_soon_days=31) == "due_soon"
        assert status(ANNUAL_Q4, [], due, due_soon_days=0) == "due_soon"
        assert status(ANNUAL_Q4, [], due + timedelta(days=1)) == "never_published"

    def test_negative_horizon_is_an_error(self):
        with pytest.raises(ValueError):
            assess(ANNUAL_Q4, [], as_of=date(2026, 1, 1), due_soon_days=-1, calendar=CAL)

    def test_publications_after_as_of_are_ignored(self):
        result = assess(ANNUAL_Q4, [date(2026, 11, 2)], as_of=date(2026, 11, 1), calendar=CAL)
        assert result.last_published is None
        assert result.status == "never_published"

    def test_publication_before_the_first_period_counts_as_a_publication(self):
        result = assess(ANNUAL_Q4, [date(2016, 2, 1)], as_of=date(2017, 2, 1), calendar=CAL)
        assert result.status == "overdue"
        assert result.last_published == date(2016, 2, 1)
        assert all(o.published == () for o in result.periods)

    def test_previous_and_next_due(self):
        result = assess(ANNUAL_Q4, [], as_of=date(2026, 11, 26), calendar=CAL)
        assert (result.previous_due, result.next_due) == (date(2025, 12, 31), date(2026, 12, 31))
        on_due_date = assess(ANNUAL_Q4, [], as_of=date(2026, 12, 31), calendar=CAL)
        assert (on_due_date.previous_due, on_due_date.next_due) == (
            date(2026, 12, 31), date(2027, 12, 31))
        before_start = assess(ANNUAL_Q4, [], as_of=date(2016, 5, 1), calendar=CAL)
        assert (before_start.previous_due, before_start.next_due) == (None, date(2017, 1, 4))
        quarterly = assess(QUARTERLY_10, [], as_of=date(2026, 11, 26), calendar=CAL)
        assert (quarterly.previous_due, quarterly.next_due) == (
            date(2026, 10, 12), date(2027, 1, 11))

    def test_on_time_rate(self):
        # Periods 2016..2025 are past due on 2026-11-26; five of them were published on time,
        # one late, four missed.
        pubs = [date(y, 11, 1) for y in range(2016, 2021)] + [date(2022, 2, 1)]
        result = assess(ANNUAL_Q4, pubs, as_of=date(2026, 11, 26), calendar=CAL)
        assert result.on_time_rate == pytest.approx(0.5)
        outcomes = [o.outcome for o in result.periods]
        assert outcomes == ["on_time"] * 5 + ["late"] + ["missed"] * 4 + ["open"]

    def test_on_time_rate_is_none_before_any_due_date(self):
        assert assess(ANNUAL_Q4, [], as_of=date(2016, 11, 1), calendar=CAL).on_time_rate is None
        # An early publication of a period not yet due does not count yet.
        early = assess(ANNUAL_Q4, [date(2016, 10, 5)], as_of=date(2016, 11, 1), calendar=CAL)
        assert early.on_time_rate is None
        assert early.status == "on_time"

    def test_period_outcomes(self):
        result = assess(QUARTERLY_10, [date(2026, 7, 3), date(2026, 7, 3), date(2026, 8, 1)],
                        as_of=date(2026, 10, 5), calendar=CAL)
        q2, q3 = result.periods[-2:]
        assert (q2.period.covers, q2.outcome, q2.published, q2.first_published) == (
            "2026 Q2", "on_time", (date(2026, 7, 3), date(2026, 8, 1)), date(2026, 7, 3))
        assert (q3.period.covers, q3.outcome, q3.published, q3.first_published) == (
            "2026 Q3", "open", (), None)
        assert result.current == q3.period
        assert result.periods[0].period.covers == "2016 Q1"
        assert result.periods[0].outcome == "missed"

    def test_default_as_of_is_today_in_almaty(self):
        result = assess(ANNUAL_Q4, [], calendar=CAL)
        assert result.as_of in {
            datetime.now(TZ).date(), (datetime.now(TZ) - timedelta(minutes=1)).date()}

    def test_default_calendar_and_start(self):
        result = assess("annual quarter=4", [date(2026, 11, 2)], as_of=date(2027, 2, 15))
        assert result.status == "on_time"
        assert result.periods[0].period.label == "2016"

    def test_custom_start(self):
        result = assess(ANNUAL_Q4, [], as_of=date(2026, 11, 26), start=date(2025, 1, 1),
                        calendar=CAL)
        assert [o.period.label for o in result.periods] == ["2025", "2026"]
        assert result.periods[0].period.index == 1

    def test_config_day_changes_a_status(self):
        # With 31 Dec 2026 decreed a day off, the term ends on Tue 5 Jan 2027 (1, 2 and 4 January
        # are New Year days off), so a publication on 5 January becomes on time.
        calendar = WorkCalendar(extra_non_working=[date(2026, 12, 31)])
        pubs = [date(2027, 1, 5)]
        assert status(ANNUAL_Q4, pubs, date(2027, 2, 1)) == "late"
        result = assess(ANNUAL_Q4, pubs, as_of=date(2027, 2, 1), calendar=calendar)
        assert result.status == "on_time"

    def test_many_assessments_are_cheap(self):
        import time

        rules = [parse_rule(text) for text in (
            "annual quarter=4", "quarterly day=10", "twice-yearly quarter=1 from=2017",
            "every-n-years years=3 quarter=4 from=2016")]
        pubs = [utc(datetime(2016 + k % 10, 1 + k % 12, 1 + k % 28, 12)) for k in range(8)]
        began = time.perf_counter()
        for k in range(10_000):
            assess(rules[k % 4], pubs, as_of=date(2026, 11, 26), calendar=CAL)
        # About 0.3 s on a laptop; the bound only catches accidental per-call rebuilding.
        assert time.perf_counter() - began < 10


# ==================================================================================================
# parse_rule, str(rule), frequencies, describe
# ==================================================================================================

VALID_RULES = [
    "annual quarter=4",
    "annual month=12",
    "quarterly day=10",
    "every-n-years years=3 quarter=4 from=2016",
    "twice-yearly quarter=1 from=2017",
    "event working-days=10 max-per-year=2",
    "as-established",
]


class TestParseRule:
    @pytest.mark.parametrize("text", VALID_RULES)
    def test_examples_round_trip(self, text):
        rule = parse_rule(text)
        assert str(rule) == text
        assert parse_rule(str(rule)) == rule

    def test_parameters(self):
        assert parse_rule("every-n-years years=3 quarter=4 from=2016") == Rule(
            "every-n-years", quarter=4, years=3, from_year=2016)
        rule = parse_rule("event working-days=10")
        assert (rule.kind, rule.working_days, rule.max_per_year, rule.quarter) == (
            "event", 10, None, None)
        assert parse_rule("as-established") == Rule("as-established")

    @pytest.mark.parametrize(
        "text, canonical",
        [
            ("  annual   quarter=4  ", "annual quarter=4"),
            ("ANNUAL Quarter=4", "annual quarter=4"),
            ("annual\tquarter=4\n", "annual quarter=4"),
            ("annual quarter = 4", "annual quarter=4"),
            ("annual quarter=04", "annual quarter=4"),
            ("every-n-years from=2016 quarter=4 years=3",
             "every-n-years years=3 quarter=4 from=2016"),
            ("Event MAX-PER-YEAR=2 Working-Days=10", "event working-days=10 max-per-year=2"),
            ("AS-ESTABLISHED", "as-established"),
        ],
    )
    def test_tolerant_input_gives_canonical_text(self, text, canonical):
        assert str(parse_rule(text)) == canonical

    @pytest.mark.parametrize(
        "text, message",
        [
            ("", "empty"),
            ("   \t ", "empty"),
            (None, "must be a str"),
            (42, "must be a str"),
            (b"annual quarter=4", "must be a str"),
            ("yearly quarter=4", "unknown kind 'yearly'"),
            ("quarter=4 annual", "must start with its kind"),
            ("annual", "missing key 'quarter'"),
            ("annual quarter=4 month=12", "not both"),
            ("annual quarter=7", "quarter must be 1..4, got 7"),
            ("annual quarter=0", "quarter must be 1..4, got 0"),
            ("annual quarter=-1", "quarter must be 1..4, got -1"),
            ("annual quarter=99999999999999999999", "quarter must be 1..4"),
            ("annual month=13", "month must be 1..12, got 13"),
            ("annual quarter=4 quarter=4", "repeated key 'quarter'"),
            ("annual Quarter=4 QUARTER=3", "repeated key 'quarter'"),
            ("annual day=10", "unknown key 'day' for 'annual'"),
            ("annual colour=red", "unknown key 'colour'"),
            ("annual quarter", "expected key=value"),
            ("annual quarter=", "expected key=value"),
            ("annual quarter=4=4", "expected key=value"),
            ("annual quarter=IV", "quarter must be an integer, got 'IV'"),
            ("quarterly", "missing key 'day' for 'quarterly'"),
            ("quarterly day=29", "day must be 1..28, got 29"),
            ("quarterly day=1.5", "must be an integer"),
            ("quarterly day=ten", "must be an integer"),
            ("every-n-years years=1 quarter=4 from=2016", "years must be 2..10, got 1"),
            ("every-n-years years=11 quarter=4 from=2016", "years must be 2..10, got 11"),
            ("every-n-years years=3 quarter=4", "missing key 'from'"),
            ("every-n-years years=3 quarter=5 from=2016", "quarter must be 1..4, got 5"),
            ("every-n-years years=3 quarter=4 from=16", "from must be 1900..2100, got 16"),
            ("twice-yearly quarter=1", "missing key 'from' for 'twice-yearly'"),
            ("twice-yearly from=2017", "missing key 'quarter' for 'twice-yearly'"),
            ("event", "missing key 'working-days' for 'event'"),
            ("event working-days=0", "working-days must be 1..366, got 0"),
            ("event working-days=10 max-per-year=13", "max-per-year must be 1..12, got 13"),
            ("as-established quarter=1", "unknown key 'quarter' for 'as-established'"),
        ],
    )
    def test_invalid_rules(self, text, message):
        with pytest.raises(ValueError) as caught:
            parse_rule(text)
        assert message in str(caught.value)

    def test_rule_constructor_validates_too(self):
        with pytest.raises(ValueError, match="missing key"):
            Rule("annual")
        with pytest.raises(ValueError, match="integer"):
            Rule("annual", quarter=True)
        with pytest.raises(ValueError, match="unknown kind"):
            Rule("weekly")

    def test_rules_are_hashable_and_immutable(self):
        rule = parse_rule("annual quarter=4")
        assert {rule: 1}[parse_rule(" annual  QUARTER=4")] == 1
        with pytest.raises(AttributeError):
            rule.quarter = 3  # type: ignore[misc]


class TestFrequencies:
    @pytest.mark.parametrize(
        "text, codes",
        [
            ("annual quarter=4", ("ANNUAL",)),
            ("annual month=9", ("ANNUAL",)),
            ("quarterly day=10", ("QUARTERLY",)),
            ("every-n-years years=2 quarter=4 from=2016", ("BIENNIAL",)),
            ("every-n-years years=3 quarter=4 from=2016", ("TRIENNIAL",)),
            ("every-n-years years=4 quarter=4 from=2016", ("QUADRENNIAL",)),
            ("every-n-years years=5 quarter=4 from=2016", ("QUINQUENNIAL",)),
            ("every-n-years years=6 quarter=4 from=2016", ("OTHER",)),
            ("twice-yearly quarter=1 from=2017", ("ANNUAL_2",)),
            ("event working-days=10", ("IRREG",)),
            ("as-established", ("IRREG", "UNKNOWN", "OTHER")),
        ],
    )
    def test_table(self, text, codes):
        assert frequencies_for(parse_rule(text)) == codes
        assert all(frequency_fits(text, code) for code in codes)

    def test_fits(self):
        assert frequency_fits(ANNUAL_Q4, "annual")
        assert frequency_fits(ANNUAL_Q4,
                              "http://publications.europa.eu/resource/authority/frequency/ANNUAL")
        assert not frequency_fits(ANNUAL_Q4, "QUARTERLY")
        assert not frequency_fits(ANNUAL_Q4, "")
        assert not frequency_fits(ANNUAL_Q4, None)
        assert frequency_fits(AS_ESTABLISHED, "UNKNOWN")
        assert not frequency_fits(EVENT_10, "UNKNOWN")


class TestDescribe:
    @pytest.mark.parametrize(
        "text, english",
        [
            ("annual quarter=4", "Once a year, in quarter IV"),
            ("annual month=12", "Once a year, in December"),
            ("quarterly day=10",
             "Every quarter, by day 10 of the month after the reporting quarter"),
            ("every-n-years years=3 quarter=4 from=2016",
             "Once every 3 years, in quarter IV, from 2016"),
            ("twice-yearly quarter=1 from=2017", "Twice a year, in quarters I and III, from 2017"),
            ("event working-days=10 max-per-year=2",
             "Within 10 working days after each triggering event (at most 2 a year)"),
            ("event working-days=1", "Within 1 working day after each triggering event"),
            ("as-established", "As established (no fixed term)"),
        ],
    )
    def test_english(self, text, english):
        assert describe(parse_rule(text)) == english
        assert describe(text, "en") == english

    @pytest.mark.parametrize(
        "text, kazakh, russian",
        [
            ("annual quarter=4", "Жылына 1 рет, IV тоқсан", "Один раз в год, IV квартал"),
            ("annual month=12", "Жылына 1 рет (желтоқсан айы)", "Один раз в год (декабрь)"),
            ("annual month=9", "Жылына 1 рет (қыркүйек айы)", "Один раз в год (сентябрь)"),
            ("quarterly day=10",
             "Тоқсан сайын, есепті тоқсаннан кейінгі айдың 10 күніне дейін",
             "Ежеквартально, до 10-го числа месяца, следующего за отчётным кварталом"),
            ("every-n-years years=3 quarter=4 from=2016",
             "3 жылда 1 рет, IV тоқсан, 2016 жылдан бастап",
             "Один раз в 3 года, IV квартал, начиная с 2016 года"),
            ("every-n-years years=5 quarter=4 from=2016",
             "5 жылда 1 рет, IV тоқсан, 2016 жылдан бастап",
             "Один раз в 5 лет, IV квартал, начиная с 2016 года"),
            ("twice-yearly quarter=1 from=2017",
             "Жылына 2 рет, I және III тоқсандар, 2017 жылдан бастап",
             "Два раза в год, I и III кварталы, начиная с 2017 года"),
            ("as-established", "Белгіленген мерзімде (тұрақты мерзімі жоқ)",
             "В установленный срок (без фиксированной даты)"),
        ],
    )
    def test_kazakh_and_russian(self, text, kazakh, russian):
        assert describe(text, "kk") == kazakh
        assert describe(text, "ru") == russian

    def test_event_in_russian_and_kazakh(self):
        assert describe(EVENT_10, "ru") == (
            "В течение 10 рабочих дней со дня каждого события, влекущего публикацию "
            "(не более 2 раз в год)")
        assert describe("event working-days=21 max-per-year=1", "ru").startswith(
            "В течение 21 рабочего дня")
        assert describe(EVENT_10, "kk").endswith(
            "10 жұмыс күні ішінде (жылына 2 реттен артық емес)")

    def test_twice_yearly_starting_with_the_later_quarter(self):
        assert describe("twice-yearly quarter=3 from=2017") == (
            "Twice a year, in quarters I and III, from quarter III of 2017")

    @pytest.mark.parametrize("lang", ["de", "", None, "xx_YY"])
    def test_unknown_language_falls_back_to_english(self, lang):
        assert describe(ANNUAL_Q4, lang) == "Once a year, in quarter IV"

    def test_locale_forms(self):
        assert describe(ANNUAL_Q4, "ru_RU") == "Один раз в год, IV квартал"
        assert describe(ANNUAL_Q4, "kk-KZ") == "Жылына 1 рет, IV тоқсан"


# ==================================================================================================
# Property tests
# ==================================================================================================

years_in_range = st.integers(2016, 2031)

calendar_rules = st.one_of(
    st.builds(lambda q: Rule("annual", quarter=q), st.integers(1, 4)),
    st.builds(lambda m: Rule("annual", month=m), st.integers(1, 12)),
    st.builds(lambda d: Rule("quarterly", day=d), st.integers(1, 28)),
    st.builds(lambda n, q, y: Rule("every-n-years", years=n, quarter=q, from_year=y),
              st.integers(2, 10), st.integers(1, 4), years_in_range),
    st.builds(lambda q, y: Rule("twice-yearly", quarter=q, from_year=y),
              st.integers(1, 4), years_in_range),
)
event_rules = st.builds(
    lambda w, k: Rule("event", working_days=w, max_per_year=k),
    st.integers(1, 60), st.none() | st.integers(1, 12),
)
all_rules = st.one_of(
    calendar_rules,
    st.builds(lambda w, k: Rule("event", working_days=w, max_per_year=k),
              st.integers(1, 366), st.none() | st.integers(1, 12)),
    st.builds(lambda q: Rule("annual", quarter=q), st.integers(1, 4)),
    st.just(Rule("as-established")),
    st.builds(lambda n, q, y: Rule("every-n-years", years=n, quarter=q, from_year=y),
              st.integers(2, 10), st.integers(1, 4), st.integers(1900, 2100)),
)
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2032, 12, 31))
timestamps = st.one_of(
    days,
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2032, 12, 31),
                 timezones=st.none() | st.just(UTC) | st.just(TZ)),
)
publication_lists = st.lists(timestamps, max_size=12)
event_lists = st.lists(days, max_size=6)
rule_and_events = st.one_of(
    st.tuples(calendar_rules, st.just([])),
    st.tuples(event_rules, event_lists),
)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


class TestProperties:
    @PROPERTY
    @given(rule_and_events, publication_lists, days)
    def test_previous_due_not_after_as_of_and_next_due_after_it(self, rule_events, pubs, as_of):
        rule, events = rule_events
        result = assess(rule, pubs, as_of=as_of, events=events, calendar=CAL)
        assert result.status in STATUSES
        if result.previous_due is not None:
            assert result.previous_due <= as_of
        if result.next_due is not None:
            assert as_of < result.next_due
        if result.on_time_rate is not None:
            assert 0.0 <= result.on_time_rate <= 1.0
        for outcome in result.periods:
            assert outcome.outcome in OUTCOMES
            assert outcome.period.opens <= as_of

    @PROPERTY
    @given(rule_and_events, publication_lists, days)
    def test_each_publication_falls_into_exactly_one_period(self, rule_events, pubs, as_of):
        rule, events = rule_events
        result = assess(rule, pubs, as_of=as_of, events=events, calendar=CAL)
        assume(result.periods)
        first_opens = result.periods[0].period.opens
        for day in {local_date(p) for p in pubs}:
            holders = [o for o in result.periods if day in o.published]
            if first_opens <= day <= as_of:
                assert len(holders) == 1
                assert holders[0].period.contains(day)
            else:
                assert holders == []

    @PROPERTY
    @given(rule_and_events, publication_lists, timestamps, days)
    def test_adding_a_publication_never_worsens_an_outcome(self, rule_events, pubs, extra, as_of):
        rank = {"missed": 0, "open": 0, "late": 1, "on_time": 2}
        rule, events = rule_events
        before = assess(rule, pubs, as_of=as_of, events=events, calendar=CAL)
        after = assess(rule, pubs + [extra], as_of=as_of, events=events, calendar=CAL)
        assert [o.period for o in before.periods] == [o.period for o in after.periods]
        for old, new in zip(before.periods, after.periods, strict=True):
            assert rank[new.outcome] >= rank[old.outcome]
            if old.outcome == "open" and new.published:
                assert new.outcome == "on_time"
        if before.on_time_rate is not None:
            assert after.on_time_rate >= before.on_time_rate

    @PROPERTY
    @given(rule_and_events, publication_lists, st.lists(timestamps, max_size=4), days)
    def test_publications_after_as_of_change_nothing(self, rule_events, pubs, later, as_of):
        rule, events = rule_events
        later = [p for p in later if local_date(p) > as_of]
        assert assess(rule, pubs, as_of=as_of, events=events, calendar=CAL) == assess(
            rule, pubs + later, as_of=as_of, events=events, calendar=CAL)

    @PROPERTY
    @given(rule_and_events, days, st.integers(0, 3000))
    def test_periods_are_contiguous_and_due_on_working_days(self, rule_events, start, span):
        rule, events = rule_events
        end = start + timedelta(days=span)
        found = periods(rule, start, end, events=events, calendar=CAL)
        contiguous(found)
        for period in found:
            assert start <= period.opens <= end
            assert period.opens <= period.due
            assert CAL.is_working(period.due)
            assert period.closes is None or period.due < period.closes or rule.kind == "event"

    @PROPERTY
    @given(all_rules)
    def test_canonical_text_round_trips(self, rule):
        assert parse_rule(str(rule)) == rule
        assert str(parse_rule(str(rule))) == str(rule)
        for lang in ("kk", "ru", "en"):
            assert describe(rule, lang)

    @PROPERTY
    @given(all_rules, st.randoms(use_true_random=False))
    def test_case_and_spacing_do_not_matter(self, rule, rnd):
        kind, *keys = str(rule).split(" ")
        rnd.shuffle(keys)
        words = [kind] + keys
        noisy = "".join(
            (rnd.choice([" ", "  ", "\t"]) if i else rnd.choice(["", " "]))
            + "".join(c.upper() if rnd.random() < 0.5 else c for c in word)
            for i, word in enumerate(words)
        )
        assert parse_rule(noisy) == rule

    @PROPERTY
    @given(st.one_of(
        st.text(),
        st.text(alphabet="annualquterlyvy-ds=0123456789 \t", max_size=40),
        st.lists(st.sampled_from(["annual", "quarterly", "every-n-years", "twice-yearly", "event",
                                  "as-established", "quarter=4", "month=13", "day=10", "years=3",
                                  "from=2016", "working-days=10", "max-per-year=2", "=", "x=1",
                                  "quarter=-0", "day=+5", "  "]), max_size=6).map(" ".join),
    ))
    def test_arbitrary_text_only_raises_value_error(self, text):
        try:
            rule = parse_rule(text)
        except ValueError as error:
            assert str(error)
        else:
            assert parse_rule(str(rule)) == rule


# ==================================================================================================
# load_order
# ==================================================================================================

REAL_ORDER = REPO_ROOT / "ckanext" / "mes_schedule" / "data" / "order-120.yaml"
needs_real_order = pytest.mark.skipif(not REAL_ORDER.exists(),
                                      reason="order-120.yaml not written yet")


@needs_real_order
class TestRealOrder:
    def test_default_path_is_the_shipped_file(self):
        assert schedule.DEFAULT_ORDER_PATH == REAL_ORDER.resolve()
        assert load_order() == load_order(REAL_ORDER)

    def test_order_facts(self):
        order = load_order()
        assert (order.number, order.date, order.registration_number, order.registration_date) == (
            "120", date(2016, 1, 29), "13381", date(2016, 3, 3))
        assert set(order.title) >= {"kk", "ru", "en"}
        assert order.url.startswith("https://")

    def test_57_items_numbered_5_to_61(self):
        order = load_order()
        assert [item.number for item in order.items] == list(range(5, 62))
        assert order.item(30).number == 30
        with pytest.raises(KeyError):
            order.item(4)

    def test_every_item_has_a_valid_rule_and_fitting_frequency(self):
        for item in load_order().items:
            assert parse_rule(item.rule_text) == item.rule
            assert frequency_fits(item.rule, item.frequency)
            assert all(item.title[lang] for lang in ("kk", "ru", "en"))

    def test_every_scheduled_item_has_a_next_due_date(self):
        as_of = date(2026, 11, 26)
        for item in load_order().items:
            result = assess(item.rule, [], as_of=as_of, calendar=CAL)
            if item.rule.kind in ("event", "as-established"):
                assert result.status == "no_deadline"
            else:
                assert result.next_due is not None and result.next_due > as_of, item.number


ORDER_HEAD = """\
order:
  number: "120"
  date: 2016-01-29
  registration_number: "13381"
  registration_date: 2016-03-03
  url: https://adilet.zan.kz/kaz/docs/V1600013381
  title: {kk: "Бұйрық", ru: "Приказ", en: "Order"}
  entry_into_force: {kk: "к", ru: "р", en: "e"}
  missing_items: [1, 2, 3, 4]
items:
"""


def item_yaml(number, rule="annual quarter=4", frequency="ANNUAL", **overrides) -> str:
    fields = {
        "number": number,
        "title": '{kk: "Тізілім", ru: "Реестр", en: "Register"}',
        "title_ru_official": "true",
        "portal_dataset": '"rdsog_mp/v4"',
        "frequency_kk": '"жылына 1 рет"',
        "deadline_kk": '"жылына 1 рет IV тоқсан"',
        "channel_kk": '"ашық деректер интернет-порталының АЖО арқылы"',
        "rule": None if rule is None else f'"{rule}"',
        "frequency": frequency,
    }
    fields.update(overrides)
    lines = [f"{key}: {value}" for key, value in fields.items() if value is not None]
    return "  - " + "\n    ".join(lines) + "\n"


@pytest.fixture
def write_order(tmp_path):
    def write(*items: str, head: str = ORDER_HEAD) -> Path:
        path = tmp_path / "order.yaml"
        path.write_text(head + "".join(items), encoding="utf-8")
        return path

    return write


class TestLoadOrderFixture:
    def test_loads_and_sorts_items(self, write_order):
        path = write_order(
            item_yaml(30, "event working-days=10 max-per-year=2", "IRREG", portal_dataset="null"),
            item_yaml(5),
            item_yaml(50, "as-established", "UNKNOWN", title_ru_official="false"),
        )
        order = load_order(path)
        assert (order.number, order.date, order.registration_number, order.registration_date) == (
            "120", date(2016, 1, 29), "13381", date(2016, 3, 3))
        assert order.title == {"kk": "Бұйрық", "ru": "Приказ", "en": "Order"}
        assert order.missing_items == (1, 2, 3, 4)
        assert [item.number for item in order.items] == [5, 30, 50]
        five = order.item(5)
        assert five.rule == ANNUAL_Q4
        assert five.rule_text == "annual quarter=4"
        assert five.title["en"] == "Register"
        assert five.title_ru_official is True
        assert five.portal_dataset == "rdsog_mp/v4"
        assert (five.frequency_kk, five.deadline_kk) == ("жылына 1 рет", "жылына 1 рет IV тоқсан")
        assert five.channel_kk.endswith("арқылы")
        assert five.frequency == "ANNUAL"
        assert order.item(30).portal_dataset is None
        assert order.item(50).title_ru_official is False
        with pytest.raises(KeyError):
            order.item(6)

    def test_items_are_frozen(self, write_order):
        order = load_order(write_order(item_yaml(5)))
        with pytest.raises(AttributeError):
            order.items[0].number = 6  # type: ignore[misc]

    def test_dates_and_numbers_as_strings_or_plain_values(self, write_order):
        head = (ORDER_HEAD.replace("date: 2016-01-29", 'date: "2016-01-29"')
                .replace('number: "120"', "number: 120"))
        order = load_order(write_order(item_yaml(5), head=head))
        assert (order.number, order.date) == ("120", date(2016, 1, 29))

    def test_optional_fields_default(self, write_order):
        order = load_order(write_order(item_yaml(5, title_ru_official=None, portal_dataset=None)))
        assert (order.items[0].title_ru_official, order.items[0].portal_dataset) == (False, None)

    def test_invalid_rule_names_the_item(self, write_order):
        with pytest.raises(ValueError, match=r"item 7: .*quarter must be 1\.\.4, got 7"):
            load_order(write_order(item_yaml(5), item_yaml(7, "annual quarter=7")))

    def test_duplicate_number(self, write_order):
        with pytest.raises(ValueError, match="item 5 appears more than once"):
            load_order(write_order(item_yaml(5), item_yaml(5)))

    def test_frequency_must_fit_the_rule(self, write_order):
        with pytest.raises(ValueError, match="item 5: frequency 'QUARTERLY' does not fit"):
            load_order(write_order(item_yaml(5, frequency="QUARTERLY")))

    @pytest.mark.parametrize("missing", ["title", "frequency_kk", "deadline_kk", "channel_kk",
                                         "rule", "frequency"])
    def test_required_item_fields(self, write_order, missing):
        with pytest.raises(ValueError, match=f"item 5: missing required field '{missing}'"):
            load_order(write_order(item_yaml(5, **{missing: None})))

    def test_title_needs_all_three_languages(self, write_order):
        with pytest.raises(ValueError, match="item 5, title: missing required field 'en'"):
            load_order(write_order(item_yaml(5, title='{kk: "Тізілім", ru: "Реестр"}')))

    @pytest.mark.parametrize("field", ["number", "date", "registration_number",
                                       "registration_date", "title", "url"])
    def test_required_order_fields(self, write_order, field):
        head = "\n".join(line for line in ORDER_HEAD.splitlines()
                         if not line.startswith(f"  {field}:")) + "\n"
        with pytest.raises(ValueError, match=f"order: missing required field '{field}'"):
            load_order(write_order(item_yaml(5), head=head))

    def test_bad_item_number(self, write_order):
        with pytest.raises(ValueError, match="'number' must be a positive integer"):
            load_order(write_order(item_yaml("five")))

    def test_not_a_mapping(self, write_order, tmp_path):
        path = tmp_path / "list.yaml"
        path.write_text("- 1\n- 2\n", encoding="utf-8")
        with pytest.raises(ValueError, match="expected a mapping"):
            load_order(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            load_order(tmp_path / "absent.yaml")


class TestOrderAmendmentsAndEvents:
    """The data file's `rules:` (amendments) and `events:` (events the act names) keys."""

    def _write(self, tmp_path, extra: str) -> str:
        from ckanext.mes_schedule.schedule import DEFAULT_ORDER_PATH

        text = DEFAULT_ORDER_PATH.read_text(encoding="utf-8")
        head, block = text.split("  - number: 5\n", 1)
        path = tmp_path / "order.yaml"
        path.write_text(head + "  - number: 5\n" + extra + block, encoding="utf-8")
        return str(path)

    def test_item_30_names_the_approval_of_the_register(self):
        from datetime import date

        from ckanext.mes_schedule.schedule import load_order

        item = load_order().item(30)
        assert [event.date for event in item.events] == [date(2020, 1, 31)]
        assert "39/НҚ" in item.events[0].note
        assert [str(v.rule) for v in item.rule_versions] == [str(item.rule)]

    def test_rules_list_adds_versions(self, tmp_path):
        from datetime import date

        from ckanext.mes_schedule.schedule import load_order

        path = self._write(tmp_path, '    rules:\n      - {from: 2021-01-01, rule: "annual quarter=2"}\n')
        item = load_order(path).item(5)
        assert [(v.effective_from, str(v.rule)) for v in item.rule_versions][1:] == [
            (date(2021, 1, 1), "annual quarter=2")
        ]
        assert str(item.rule) == str(item.rule_versions[0].rule)

    @pytest.mark.parametrize(
        "extra",
        [
            '    rules:\n      - {from: "not a date", rule: "annual quarter=2"}\n',
            '    rules:\n      - {from: 2021-01-01, rule: "sometimes"}\n',
            '    rules:\n      - {from: 2010-01-01, rule: "annual quarter=2"}\n',
            "    events: oops\n",
        ],
    )
    def test_bad_entries_are_refused(self, tmp_path, extra):
        from ckanext.mes_schedule.schedule import load_order

        with pytest.raises(ValueError, match="item 5"):
            load_order(self._write(tmp_path, extra))
