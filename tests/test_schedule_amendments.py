"""Amendments apply forward (compliance model, section 7): each period is judged by the version of the rule in
force when its window opened; changing a rule never rewrites earlier periods.

Pure engine tests: no CKAN import.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ckanext.mes_schedule.schedule import (
    DEFAULT_START,
    Rule,
    RuleVersion,
    WorkCalendar,
    assess,
    parse_rule,
    periods,
    rule_versions,
)

CAL = WorkCalendar()
START = DEFAULT_START  # 2016-04-01

QUARTERLY_10 = parse_rule("quarterly day=10")
ANNUAL_Q4 = parse_rule("annual quarter=4")
EVENT_10 = parse_rule("event working-days=10")
AS_ESTABLISHED = parse_rule("as-established")


def labels(found) -> list[str]:
    return [p.label for p in found]


def outcomes(result) -> list[tuple[str, str]]:
    return [(o.period.label, o.outcome) for o in result.periods]


# ==================================================================================================
# rule_versions
# ==================================================================================================


class TestRuleVersions:
    def test_one_rule_is_one_version_in_force_since_forever(self):
        assert rule_versions("annual quarter=4") == (RuleVersion(date.min, ANNUAL_Q4),)
        assert rule_versions(ANNUAL_Q4) == (RuleVersion(date.min, ANNUAL_Q4),)

    def test_pairs_are_sorted_and_parsed(self):
        versions = rule_versions([(date(2020, 1, 1), "annual quarter=4"), (START, QUARTERLY_10)])
        assert versions == (RuleVersion(START, QUARTERLY_10), RuleVersion(date(2020, 1, 1), ANNUAL_Q4))
        assert versions[1].effective_from == date(2020, 1, 1) and versions[1].rule == ANNUAL_Q4

    def test_a_mapping_of_dates_to_rules(self):
        assert rule_versions({date(2020, 1, 1): ANNUAL_Q4, START: QUARTERLY_10}) == rule_versions(
            [(START, QUARTERLY_10), (date(2020, 1, 1), ANNUAL_Q4)])

    def test_a_datetime_is_taken_as_its_kazakhstan_date(self):
        late_evening_utc = datetime(2019, 12, 31, 20, 0, tzinfo=timezone.utc)  # 2020-01-01 01:00 in Almaty
        assert rule_versions([(late_evening_utc, ANNUAL_Q4)])[0].effective_from == date(2020, 1, 1)

    def test_at_least_one_version(self):
        with pytest.raises(ValueError, match="at least one"):
            rule_versions([])
        with pytest.raises(ValueError, match="at least one"):
            assess([], [], as_of=date(2026, 1, 1), calendar=CAL)

    def test_no_two_versions_on_the_same_date(self):
        with pytest.raises(ValueError, match="2020-01-01"):
            rule_versions([(date(2020, 1, 1), ANNUAL_Q4), (START, QUARTERLY_10), (date(2020, 1, 1), EVENT_10)])
        with pytest.raises(ValueError, match="2020-01-01"):
            periods([(date(2020, 1, 1), ANNUAL_Q4), (date(2020, 1, 1), ANNUAL_Q4)], START, date(2026, 1, 1))

    @pytest.mark.parametrize("bad", [
        [ANNUAL_Q4],  # not a pair
        [(START,)],
        [(START, ANNUAL_Q4, "extra")],
        (START, ANNUAL_Q4),  # one pair, not a list of pairs
        [("2016-04-01", ANNUAL_Q4)],  # the date must be a date
        [(START, 42)],  # the rule must be a Rule or its text
        42,
        None,
    ])
    def test_wrong_types_raise_type_error(self, bad):
        with pytest.raises(TypeError):
            rule_versions(bad)

    def test_an_invalid_rule_text_raises_value_error(self):
        with pytest.raises(ValueError, match="unknown kind"):
            rule_versions([(START, ANNUAL_Q4), (date(2020, 1, 1), "monthly day=5")])


# ==================================================================================================
# quarterly -> annual
# ==================================================================================================

# Quarterly until 30 June 2019, annual (quarter IV) from 1 July 2019.
Q_THEN_A = [(START, QUARTERLY_10), (date(2019, 7, 1), ANNUAL_Q4)]


class TestQuarterlyToAnnual:
    def test_periods_switch_at_the_first_window_on_or_after_the_change(self):
        found = periods(Q_THEN_A, START, date(2021, 1, 1), calendar=CAL)
        # The Q2 2019 window would open on 1 July 2019, the day of the change: it belongs to the new rule,
        # whose first window opens on 1 October 2019.
        assert labels(found)[-5:] == ["2018 Q3", "2018 Q4", "2019 Q1", "2019", "2020"]
        q1, annual_2019 = found[-3], found[-2]
        assert (q1.opens, q1.due, q1.closes, q1.rule) == (
            date(2019, 4, 1), date(2019, 4, 10), date(2019, 10, 1), QUARTERLY_10)
        assert (annual_2019.opens, annual_2019.due, annual_2019.closes, annual_2019.rule) == (
            date(2019, 10, 1), date(2019, 12, 31), date(2020, 10, 1), ANNUAL_Q4)
        assert [p.index for p in found] == list(range(1, len(found) + 1))
        for before, after in pairwise(found):
            assert before.closes == after.opens

    def test_the_earlier_late_period_stays_late(self):
        pubs = [date(2019, 5, 2), date(2019, 11, 1)]  # Q1 2019 (due 10 April) late; annual 2019 on time
        before_change = assess(QUARTERLY_10, pubs, as_of=date(2019, 6, 1), calendar=CAL)
        assert before_change.status == "late"
        after_change = assess(Q_THEN_A, pubs, as_of=date(2020, 2, 1), calendar=CAL)
        assert outcomes(after_change)[-3:] == [("2018 Q4", "missed"), ("2019 Q1", "late"), ("2019", "on_time")]
        assert after_change.status == "on_time"
        assert (after_change.previous_due, after_change.next_due) == (date(2019, 12, 31), date(2020, 12, 31))
        assert after_change.rule == ANNUAL_Q4
        # Every period opened before the change is judged exactly as the quarterly rule alone judged it.
        quarterly_alone = assess(QUARTERLY_10, pubs, as_of=date(2019, 6, 30), calendar=CAL)
        assert outcomes(after_change)[:-1] == outcomes(quarterly_alone)
        # The on-time rate counts both kinds of period: 1 on time out of 13 quarters and 1 year.
        assert after_change.on_time_rate == pytest.approx(1 / 14)

    def test_the_old_period_runs_until_the_new_window_opens(self):
        # Q1 2019 was missed; a publication on 2 September 2019 (after the change, before the annual window
        # opens) still belongs to it, late.
        result = assess(Q_THEN_A, [date(2019, 9, 2)], as_of=date(2019, 9, 10), calendar=CAL)
        assert result.current.label == "2019 Q1"
        assert outcomes(result)[-1] == ("2019 Q1", "late")
        assert result.status == "late"
        assert result.next_due == date(2019, 12, 31)  # the annual period's, not Q2 2019's
        assert result.rule == ANNUAL_Q4  # in force, though no period of it has opened yet

    def test_nothing_before_the_change_moves(self):
        pubs = [date(2017, 1, 5), date(2018, 7, 20)]
        for as_of in (date(2017, 3, 1), date(2018, 12, 1), date(2019, 6, 30)):
            alone = assess(QUARTERLY_10, pubs, as_of=as_of, calendar=CAL)
            amended = assess(Q_THEN_A, pubs, as_of=as_of, calendar=CAL)
            assert (amended.status, amended.previous_due, amended.on_time_rate, outcomes(amended)) == (
                alone.status, alone.previous_due, alone.on_time_rate, outcomes(alone))

    def test_versions_may_come_in_any_order(self):
        pubs = [date(2019, 5, 2), date(2019, 11, 1)]
        assert assess(list(reversed(Q_THEN_A)), pubs, as_of=date(2020, 2, 1), calendar=CAL) == assess(
            Q_THEN_A, pubs, as_of=date(2020, 2, 1), calendar=CAL)


# ==================================================================================================
# annual -> as-established (and back)
# ==================================================================================================

A_THEN_AS = [(START, ANNUAL_Q4), (date(2021, 1, 1), AS_ESTABLISHED)]


class TestAnnualToAsEstablished:
    def test_no_periods_after_the_change(self):
        found = periods(A_THEN_AS, START, date(2030, 12, 31), calendar=CAL)
        assert labels(found) == ["2016", "2017", "2018", "2019", "2020"]
        assert found[-1].closes is None  # no later window: the last period never closes
        assert all(p.rule == ANNUAL_Q4 for p in found)

    def test_the_last_period_keeps_its_outcome(self):
        on_time = assess(A_THEN_AS, [date(2020, 11, 2)], as_of=date(2025, 6, 1), calendar=CAL)
        assert (on_time.status, on_time.current.label, on_time.next_due) == ("on_time", "2020", None)
        assert on_time.previous_due == date(2020, 12, 31)
        assert on_time.rule == AS_ESTABLISHED
        assert on_time.on_time_rate == pytest.approx(1 / 5)

    def test_a_missed_period_stays_open_to_a_late_publication(self):
        pubs = [date(2019, 11, 4)]
        missed = assess(A_THEN_AS, pubs, as_of=date(2022, 3, 1), calendar=CAL)
        assert (missed.status, outcomes(missed)[-1]) == ("overdue", ("2020", "missed"))
        late = assess(A_THEN_AS, pubs + [date(2022, 2, 1)], as_of=date(2022, 3, 1), calendar=CAL)
        assert (late.status, outcomes(late)[-1]) == ("late", ("2020", "late"))

    def test_as_established_first_then_annual(self):
        versions = [(START, AS_ESTABLISHED), (date(2021, 1, 1), ANNUAL_Q4)]
        assert labels(periods(versions, START, date(2022, 12, 31), calendar=CAL)) == ["2021", "2022"]
        before = assess(versions, [], as_of=date(2020, 6, 1), calendar=CAL)
        assert (before.status, before.periods, before.next_due) == ("not_yet_due", (), date(2021, 12, 31))
        assert before.rule == AS_ESTABLISHED
        after = assess(versions, [date(2021, 11, 1)], as_of=date(2022, 2, 1), calendar=CAL)
        assert (after.status, outcomes(after)) == ("on_time", [("2021", "on_time")])

    def test_only_as_established_has_no_deadline(self):
        versions = [(START, AS_ESTABLISHED), (date(2021, 1, 1), EVENT_10)]
        result = assess(versions, [date(2022, 1, 1)], as_of=date(2023, 1, 1), calendar=CAL)
        assert (result.status, result.periods, result.last_published) == ("no_deadline", (), date(2022, 1, 1))


# ==================================================================================================
# changes to and from an event rule
# ==================================================================================================

A_THEN_EVENT = [(START, ANNUAL_Q4), (date(2020, 1, 1), EVENT_10)]
EVENTS = [date(2019, 6, 3), date(2020, 1, 31), date(2020, 6, 15)]


class TestEventChanges:
    def test_the_event_version_uses_the_events_in_its_span(self):
        found = periods(A_THEN_EVENT, START, date(2021, 1, 1), events=EVENTS, calendar=CAL)
        # 3 June 2019 falls before the change: the annual rule ignored it, and so does the event rule.
        assert labels(found) == ["2016", "2017", "2018", "2019", "2020-01-31", "2020-06-15"]
        annual_2019, first_event = found[3], found[4]
        assert annual_2019.closes == date(2020, 1, 31)  # ends where the first event opens its window
        assert (first_event.index, first_event.due, first_event.closes, first_event.kind) == (
            5, date(2020, 2, 14), date(2020, 6, 15), "event")

    def test_assessment_across_the_change(self):
        result = assess(A_THEN_EVENT, [date(2019, 11, 4), date(2020, 2, 20)], as_of=date(2020, 3, 1),
                        events=EVENTS, calendar=CAL)
        assert outcomes(result)[-2:] == [("2019", "on_time"), ("2020-01-31", "late")]
        assert (result.status, result.previous_due, result.next_due) == (
            "late", date(2020, 2, 14), date(2020, 6, 29))
        assert result.rule == EVENT_10

    def test_no_event_yet_keeps_the_last_calendar_period(self):
        result = assess(A_THEN_EVENT, [date(2019, 11, 4)], as_of=date(2020, 12, 1), calendar=CAL)
        assert result.current.label == "2019" and result.current.closes is None
        assert result.status == "on_time"

    def test_event_then_calendar_ignores_later_events(self):
        versions = [(START, EVENT_10), (date(2021, 1, 1), ANNUAL_Q4)]
        found = periods(versions, START, date(2021, 12, 31), events=[date(2020, 1, 31), date(2021, 3, 1)],
                        calendar=CAL)
        assert labels(found) == ["2020-01-31", "2021"]
        assert found[0].closes == date(2021, 10, 1)

    def test_events_before_the_schedule_start_are_ignored(self):
        found = periods([(START, EVENT_10)], START, date(2017, 1, 1), events=[date(2016, 1, 5)], calendar=CAL)
        assert found == []


# ==================================================================================================
# the first version and the schedule start
# ==================================================================================================


class TestFirstVersion:
    def test_the_first_version_applies_from_the_schedule_start(self):
        pubs = [date(2016, 11, 2), date(2018, 1, 5)]
        expected = assess(ANNUAL_Q4, pubs, as_of=date(2019, 2, 1), calendar=CAL)
        for effective in (date(2000, 1, 1), START, date(2018, 6, 1)):
            assert assess([(effective, ANNUAL_Q4)], pubs, as_of=date(2019, 2, 1), calendar=CAL) == expected

    def test_a_version_replaced_before_the_start_never_applies(self):
        versions = [(date(2010, 1, 1), QUARTERLY_10), (date(2015, 1, 1), ANNUAL_Q4)]
        assert periods(versions, START, date(2020, 1, 1), calendar=CAL) == periods(
            ANNUAL_Q4, START, date(2020, 1, 1), calendar=CAL)

    def test_three_versions(self):
        versions = [(START, ANNUAL_Q4), (date(2018, 1, 1), QUARTERLY_10), (date(2019, 1, 1), "annual month=6")]
        found = periods(versions, START, date(2019, 12, 31), calendar=CAL)
        assert labels(found) == ["2016", "2017", "2017 Q4", "2018 Q1", "2018 Q2", "2018 Q3", "2019-06"]
        assert [p.rule.kind for p in found] == ["annual"] * 2 + ["quarterly"] * 4 + ["annual"]
        assert found[-2].closes == date(2019, 6, 1)
        assert [p.index for p in found] == list(range(1, 8))


# ==================================================================================================
# Properties
# ==================================================================================================

calendar_rules = st.one_of(
    st.builds(lambda q: Rule("annual", quarter=q), st.integers(1, 4)),
    st.builds(lambda m: Rule("annual", month=m), st.integers(1, 12)),
    st.builds(lambda d: Rule("quarterly", day=d), st.integers(1, 28)),
    st.builds(lambda n, q, y: Rule("every-n-years", years=n, quarter=q, from_year=y),
              st.integers(2, 5), st.integers(1, 4), st.integers(2010, 2025)),
    st.builds(lambda q, y: Rule("twice-yearly", quarter=q, from_year=y), st.integers(1, 4), st.integers(2010, 2025)),
)
any_rules = st.one_of(
    calendar_rules,
    st.builds(lambda w: Rule("event", working_days=w), st.integers(1, 30)),
    st.just(AS_ESTABLISHED),
)
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))
timestamps = st.one_of(
    days,
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 12, 31),
                 timezones=st.none() | st.just(timezone.utc)),
)
changes = st.dates(min_value=START + timedelta(days=1), max_value=date(2030, 12, 31))  # after the start
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestProperties:
    @PROPERTY
    @given(any_rules, st.lists(timestamps, max_size=10), days, st.lists(days, max_size=5), st.none() | days,
           days)
    def test_one_version_is_the_rule_itself(self, rule, pubs, as_of, events, start, effective):
        expected = assess(rule, pubs, as_of=as_of, events=events, start=start, calendar=CAL)
        schedule_start = start or START
        assert assess([(schedule_start, rule)], pubs, as_of=as_of, events=events, start=start,
                      calendar=CAL) == expected
        # The first version applies from the schedule start whatever its own date.
        assert assess([(effective, str(rule))], pubs, as_of=as_of, events=events, start=start,
                      calendar=CAL) == expected
        end = as_of + timedelta(days=400)
        assert periods([(effective, rule)], schedule_start, end, events=events, calendar=CAL) == periods(
            rule, schedule_start, end, events=events, calendar=CAL)

    @PROPERTY
    @given(any_rules, any_rules, changes, st.lists(timestamps, max_size=10), days, st.lists(days, max_size=5))
    def test_an_amendment_changes_nothing_before_it(self, old, new, change, pubs, as_of, events):
        as_of = min(as_of, change - timedelta(days=1))
        alone = assess(old, pubs, as_of=as_of, events=events, calendar=CAL)
        amended = assess([(START, old), (change, new)], pubs, as_of=as_of, events=events, calendar=CAL)
        assert (amended.previous_due, amended.on_time_rate, amended.rule) == (
            alone.previous_due, alone.on_time_rate, alone.rule)
        if alone.periods:
            assert amended.status == alone.status
        else:  # before the first window: whether one will ever open depends on the amendment
            assert {alone.status, amended.status} <= {"not_yet_due", "no_deadline"}
        assert [(o.period.opens, o.period.due, o.period.label, o.outcome, o.published) for o in amended.periods] == [
            (o.period.opens, o.period.due, o.period.label, o.outcome, o.published) for o in alone.periods]

    @PROPERTY
    @given(any_rules, any_rules, changes, st.lists(days, max_size=5), st.integers(0, 3000))
    def test_each_period_follows_the_version_in_force_when_it_opened(self, old, new, change, events, span):
        end = START + timedelta(days=span)
        found = periods([(START, old), (change, new)], START, end, events=events, calendar=CAL)
        assert [p.index for p in found] == list(range(1, len(found) + 1))
        for period in found:
            assert START <= period.opens <= end
            assert period.rule == (old if period.opens < change else new)
            assert CAL.is_working(period.due)
        for before, after in pairwise(found):
            assert before.closes == after.opens
        # After the change: exactly the new rule's own periods from the change.
        after_change = [p for p in found if p.opens >= change]
        own = periods(new, change, end, events=events, calendar=CAL)
        assert [(p.opens, p.due, p.label) for p in after_change] == [(p.opens, p.due, p.label) for p in own]
