"""Declared coverage (compliance model, section 6): a publication may name the period it covers; it then counts
for that period only, on time if dated on or before that period's due date, late otherwise.

Pure engine tests: no CKAN import.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from ckanext.mes_schedule.schedule import (
    DEFAULT_START,
    TZ,
    Publication,
    Rule,
    WorkCalendar,
    assess,
    local_date,
)
from tests.test_schedule_amendments import calendar_rules  # the calendar rule kinds, drawn alike

CAL = WorkCalendar()
START = DEFAULT_START  # 2016-04-01
UTC = timezone.utc

QUARTERLY_10 = "quarterly day=10"
WORKED_AS_OF = date(2026, 10, 5)
RANK = {"missed": 0, "open": 0, "late": 1, "on_time": 2}


def run(rule, pubs, as_of, **kwargs):
    return assess(rule, pubs, as_of=as_of, calendar=CAL, **kwargs)


def by_label(result) -> dict[str, tuple[str, tuple[date, ...]]]:
    """Outcome and publication dates of each period, by label (the rules here have unique labels)."""
    return {o.period.label: (o.outcome, o.published) for o in result.periods}


def outcome(result, label: str) -> str:
    return by_label(result)[label][0]


# ==================================================================================================
# The type
# ==================================================================================================


class TestPublication:
    def test_a_frozen_slotted_value(self):
        publication = Publication(date(2026, 10, 5), covers="2026 Q2")
        assert (publication.at, publication.covers) == (date(2026, 10, 5), "2026 Q2")
        assert Publication(date(2026, 10, 5)).covers is None
        assert not hasattr(publication, "__dict__")
        with pytest.raises(dataclasses.FrozenInstanceError):
            publication.covers = "2026 Q3"  # type: ignore[misc]
        assert publication == Publication(date(2026, 10, 5), "2026 Q2")
        assert len({publication, Publication(date(2026, 10, 5), "2026 Q2")}) == 1

    def test_its_day_is_the_kazakhstan_date(self):
        assert Publication(datetime(2026, 6, 30, 20, 0)).day == date(2026, 7, 1)  # naive: UTC
        assert Publication(datetime(2026, 6, 30, 20, 0, tzinfo=TZ)).day == date(2026, 6, 30)
        assert Publication(date(2026, 6, 30)).day == date(2026, 6, 30)

    @pytest.mark.parametrize("at", ["2026-10-05", None, 20261005])
    def test_at_must_be_a_date(self, at):
        with pytest.raises(TypeError, match="at must be a date"):
            Publication(at)

    def test_covers_must_be_a_label_or_none(self):
        with pytest.raises(TypeError, match="covers"):
            Publication(date(2026, 10, 5), covers=2)  # type: ignore[arg-type]
        for blank in ("", "   ", " 2026 Q2", "2026 Q2\n"):
            with pytest.raises(ValueError, match="covers"):
                Publication(date(2026, 10, 5), covers=blank)

    def test_assess_still_rejects_what_is_not_a_publication(self):
        with pytest.raises(TypeError):
            run(QUARTERLY_10, ["2026-10-05"], WORKED_AS_OF)


# ==================================================================================================
# The model's example and the decisions
# ==================================================================================================


class TestWorkedExample:
    """Quarterly, day 10, on 2026-10-05: Q2 2026 (due 2026-07-10) was missed; Q3 2026 is due 2026-10-12."""

    def test_without_the_upload(self):
        result = run(QUARTERLY_10, [], WORKED_AS_OF)
        assert outcome(result, "2026 Q2") == "missed"
        assert outcome(result, "2026 Q3") == "open"
        assert result.periods[-1].period.due == date(2026, 10, 12)

    def test_declared_as_q2_it_makes_q2_late_and_leaves_q3_open(self):
        result = run(QUARTERLY_10, [Publication(date(2026, 10, 5), covers="2026 Q2")], WORKED_AS_OF)
        periods = by_label(result)
        assert periods["2026 Q2"] == ("late", (date(2026, 10, 5),))
        assert periods["2026 Q3"] == ("open", ())
        q2 = next(o for o in result.periods if o.period.label == "2026 Q2")
        assert q2.first_published == date(2026, 10, 5) and q2.period.due == date(2026, 7, 10)
        # Q3 is open, the latest settled period is late (not missed), due in 7 days.
        assert result.status == "due_soon"
        assert result.last_published == date(2026, 10, 5)
        # Still open on its due date; missed once it has passed.
        assert outcome(run(QUARTERLY_10, [Publication(date(2026, 10, 5), "2026 Q2")], date(2026, 10, 12)),
                       "2026 Q3") == "open"
        later = run(QUARTERLY_10, [Publication(date(2026, 10, 5), "2026 Q2")], date(2026, 11, 1))
        assert (outcome(later, "2026 Q2"), outcome(later, "2026 Q3"), later.status) == ("late", "missed", "overdue")

    @pytest.mark.parametrize("as_of", [WORKED_AS_OF, date(2026, 10, 12), date(2026, 11, 1), date(2027, 3, 1)])
    def test_undeclared_the_same_date_counts_for_q3_on_time(self, as_of):
        for publication in (date(2026, 10, 5), Publication(date(2026, 10, 5))):
            result = run(QUARTERLY_10, [publication], as_of)
            assert by_label(result)["2026 Q3"] == ("on_time", (date(2026, 10, 5),))
            assert outcome(result, "2026 Q2") == "missed"

    def test_the_on_time_rate_counts_a_late_declaration_as_late(self):
        as_of = date(2026, 11, 1)
        declared = run(QUARTERLY_10, [Publication(date(2026, 10, 5), "2026 Q2")], as_of)
        undeclared = run(QUARTERLY_10, [date(2026, 10, 5)], as_of)
        assert declared.on_time_rate == 0.0
        assert undeclared.on_time_rate is not None and undeclared.on_time_rate > 0.0


class TestDeclarations:
    def test_an_early_declaration_is_on_time_and_leaves_the_date_s_period_alone(self):
        # 2026-09-20 falls in the Q2 window (2026-07-01 to 2026-10-01); declared for Q3, whose window opens
        # on 2026-10-01: on time (dated before Q3's due date), and Q2 stays missed.
        result = run(QUARTERLY_10, [Publication(date(2026, 9, 20), "2026 Q3")], WORKED_AS_OF)
        assert by_label(result)["2026 Q3"] == ("on_time", (date(2026, 9, 20),))
        assert outcome(result, "2026 Q2") == "missed"
        assert result.status == "on_time"
        assert outcome(run(QUARTERLY_10, [date(2026, 9, 20)], WORKED_AS_OF), "2026 Q2") == "late"

    def test_mixed_inputs(self):
        as_of = date(2026, 11, 1)
        pubs: list[date | datetime | Publication] = [
            date(2026, 1, 5),  # 2025 Q4, on time
            datetime(2026, 4, 9, 12, 0),  # naive UTC: 2026 Q1, on time
            datetime(2026, 7, 15, 10, 0, tzinfo=TZ),  # 2026 Q2 by date, late
            Publication(date(2026, 10, 5), covers="2026 Q2"),  # also Q2, late
            Publication(datetime(2026, 10, 6, 3, 0)),  # undeclared: Q3, on time
        ]
        result = run(QUARTERLY_10, iter(pubs), as_of)  # any iterable, read once
        periods = by_label(result)
        assert periods["2025 Q4"] == ("on_time", (date(2026, 1, 5),))
        assert periods["2026 Q1"] == ("on_time", (date(2026, 4, 9),))
        assert periods["2026 Q2"] == ("late", (date(2026, 7, 15), date(2026, 10, 5)))
        assert periods["2026 Q3"] == ("on_time", (date(2026, 10, 6),))
        assert result.last_published == date(2026, 10, 6)
        # Plain values behave as undeclared Publications.
        wrapped = [p if isinstance(p, Publication) else Publication(p) for p in pubs]
        assert run(QUARTERLY_10, wrapped, as_of) == result

    def test_one_day_can_count_for_two_periods(self):
        pubs = [date(2026, 10, 5), Publication(date(2026, 10, 5), "2026 Q2")]
        periods = by_label(run(QUARTERLY_10, pubs, WORKED_AS_OF))
        assert periods["2026 Q2"] == ("late", (date(2026, 10, 5),))
        assert periods["2026 Q3"] == ("on_time", (date(2026, 10, 5),))

    def test_the_same_publication_twice_is_one_date(self):
        twice = [Publication(date(2026, 10, 5), "2026 Q2")] * 2 + [Publication(date(2026, 10, 5), "2026 Q2")]
        assert run(QUARTERLY_10, twice, WORKED_AS_OF) == run(QUARTERLY_10, twice[:1], WORKED_AS_OF)

    # Not a quarter, not written as the engine writes it, another rule's label, before the schedule start.
    @pytest.mark.parametrize("label", ["2026 Q5", "nonsense", "2026 q2", "2026-Q2", "2026", "2015 Q4"])
    def test_an_unknown_label_counts_for_no_period(self, label):
        result = run(QUARTERLY_10, [Publication(date(2026, 10, 5), label)], WORKED_AS_OF)
        assert all(o.published == () for o in result.periods)
        assert by_label(result) == by_label(run(QUARTERLY_10, [], WORKED_AS_OF))
        # It is still a publication: the dataset is not "never published", and it is the last publication.
        assert result.last_published == date(2026, 10, 5)
        assert result.status == "overdue"
        assert run(QUARTERLY_10, [], WORKED_AS_OF).status == "never_published"

    def test_a_future_label_counts_for_no_period_until_that_period_opens(self):
        declared = Publication(date(2026, 10, 5), covers="2026 Q4")  # its window opens on 2027-01-01
        now = run(QUARTERLY_10, [declared], WORKED_AS_OF)
        assert by_label(now) == by_label(run(QUARTERLY_10, [], WORKED_AS_OF))
        assert now.last_published == date(2026, 10, 5) and now.status == "overdue"  # Q2 missed; published
        later = run(QUARTERLY_10, [declared], date(2027, 1, 5))
        assert by_label(later)["2026 Q4"] == ("on_time", (date(2026, 10, 5),))  # due 2027-01-11
        assert outcome(later, "2026 Q3") == "missed"

    def test_publications_after_as_of_are_ignored_even_when_declared(self):
        later = Publication(date(2026, 10, 6), covers="2026 Q2")
        result = run(QUARTERLY_10, [later], WORKED_AS_OF)
        assert result == run(QUARTERLY_10, [], WORKED_AS_OF)

    def test_an_event_period_is_declared_by_its_date(self):
        rule, events = "event working-days=10", [date(2026, 4, 27), date(2026, 6, 1)]  # due 05-14 and 06-15
        as_of = date(2026, 6, 10)
        declared = run(rule, [Publication(date(2026, 6, 3), covers="2026-04-27")], as_of, events=events)
        assert by_label(declared) == {"2026-04-27": ("late", (date(2026, 6, 3),)), "2026-06-01": ("open", ())}
        undeclared = run(rule, [date(2026, 6, 3)], as_of, events=events)
        assert by_label(undeclared) == {"2026-04-27": ("missed", ()), "2026-06-01": ("on_time", (date(2026, 6, 3),))}
        # An event before the schedule start is no period: its date is an unknown label.
        early = run(rule, [Publication(date(2026, 6, 3), covers="2015-01-05")], as_of,
                    events=[date(2015, 1, 5), *events])
        assert by_label(early) == by_label(run(rule, [], as_of, events=events))

    def test_an_as_established_rule_has_nothing_to_declare(self):
        result = run("as-established", [Publication(date(2026, 10, 5), "2026")], WORKED_AS_OF)
        assert (result.status, result.periods, result.last_published) == ("no_deadline", (), date(2026, 10, 5))


class TestAlmatyDayBoundary:
    """Declared publications are dated like the others: by their Kazakhstan date."""

    Q1_DUE = date(2026, 4, 10)  # Friday

    @pytest.mark.parametrize(("local", "expected"), [
        (datetime(2026, 4, 10, 23, 30, tzinfo=TZ), "on_time"),
        (datetime(2026, 4, 11, 0, 30, tzinfo=TZ), "late"),
    ])
    def test_the_due_date_ends_at_local_midnight(self, local, expected):
        for at in (local, local.astimezone(UTC), local.astimezone(UTC).replace(tzinfo=None),
                   local.astimezone(ZoneInfo("America/New_York"))):
            result = run(QUARTERLY_10, [Publication(at, covers="2026 Q1")], WORKED_AS_OF)
            assert outcome(result, "2026 Q1") == expected, at
        assert run(QUARTERLY_10, [], WORKED_AS_OF).periods[-3].period.due == self.Q1_DUE

    def test_the_window_boundary_matters_only_without_a_declaration(self):
        # 23:30 on 30 June in Almaty is still in the Q1 window; 00:30 on 1 July is in the Q2 window.
        before = datetime(2026, 6, 30, 23, 30, tzinfo=TZ).astimezone(UTC)
        after = datetime(2026, 7, 1, 0, 30, tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)
        assert local_date(before) == date(2026, 6, 30) and local_date(after) == date(2026, 7, 1)
        assert outcome(run(QUARTERLY_10, [before], WORKED_AS_OF), "2026 Q1") == "late"
        assert outcome(run(QUARTERLY_10, [after], WORKED_AS_OF), "2026 Q2") == "on_time"
        for at in (before, after):
            declared = by_label(run(QUARTERLY_10, [Publication(at, covers="2026 Q2")], WORKED_AS_OF))
            assert declared["2026 Q2"] == ("on_time", (local_date(at),))
            assert declared["2026 Q1"] == ("missed", ())

    def test_as_of_is_a_kazakhstan_date_too(self):
        declared = Publication(datetime(2026, 10, 5, 0, 30, tzinfo=TZ), covers="2026 Q2")
        as_of = datetime(2026, 10, 4, 20, 0, tzinfo=UTC)  # 01:00 on 5 October in Almaty
        assert outcome(assess(QUARTERLY_10, [declared], as_of=as_of, calendar=CAL), "2026 Q2") == "late"
        as_of = datetime(2026, 10, 4, 18, 0, tzinfo=UTC)  # 23:00 on 4 October in Almaty: not yet published
        assert outcome(assess(QUARTERLY_10, [declared], as_of=as_of, calendar=CAL), "2026 Q2") == "missed"


class TestAmendments:
    # Annual in quarter IV until 2024, quarterly from 2025: the "2024" window (opened 2024-10-01) closes when
    # the first quarterly window ("2024 Q4", 2025-01-01) opens; the annual "2025" period never opens.
    AMENDED = [(START, "annual quarter=4"), (date(2025, 1, 1), QUARTERLY_10)]
    AS_OF = date(2025, 12, 1)

    def test_a_period_of_the_earlier_version_can_be_declared(self):
        result = run(self.AMENDED, [Publication(date(2025, 3, 3), covers="2024")], self.AS_OF)
        periods = by_label(result)
        assert periods["2024"] == ("late", (date(2025, 3, 3),))  # due 2024-12-31
        assert periods["2024 Q4"] == ("missed", ())
        assert by_label(run(self.AMENDED, [date(2025, 3, 3)], self.AS_OF))["2024 Q4"] == (
            "late", (date(2025, 3, 3),))  # by date: due 2025-01-10

    def test_a_label_of_the_replaced_rule_counts_for_no_period(self):
        result = run(self.AMENDED, [Publication(date(2025, 11, 3), covers="2025")], self.AS_OF)
        assert by_label(result) == by_label(run(self.AMENDED, [], self.AS_OF))
        assert result.last_published == date(2025, 11, 3)
        assert by_label(run(self.AMENDED, [date(2025, 11, 3)], self.AS_OF))["2025 Q3"][0] == "late"

    def test_a_label_repeated_by_an_amendment(self):
        # Annual in quarter I until February 2026, then annual in quarter IV: two periods labelled "2026",
        # one opened 2026-01-01 (due 2026-03-31), one opened 2026-10-01 (due 2026-12-31).
        amended = [(START, "annual quarter=1"), (date(2026, 2, 1), "annual quarter=4")]
        as_of = date(2027, 12, 1)
        labels = [o.period.label for o in run(amended, [], as_of).periods]
        assert labels[-3:] == ["2026", "2026", "2027"]

        def the_2026s(pubs):
            return [(o.outcome, o.published) for o in run(amended, pubs, as_of).periods if o.period.label == "2026"]

        # Dated within one of them: that one, exactly as undeclared.
        for day in (date(2026, 3, 15), date(2026, 11, 15), date(2027, 1, 15)):
            assert the_2026s([Publication(day, "2026")]) == the_2026s([day])
        # Dated in neither: the later one.
        assert the_2026s([Publication(date(2027, 11, 1), "2026")]) == [
            ("missed", ()), ("late", (date(2027, 11, 1),))]
        assert the_2026s([Publication(date(2025, 12, 20), "2026")]) == [
            ("missed", ()), ("on_time", (date(2025, 12, 20),))]


# ==================================================================================================
# Properties
# ==================================================================================================

event_rules = st.builds(lambda w: Rule("event", working_days=w), st.integers(1, 30))
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))
as_of_days = st.dates(min_value=START, max_value=date(2030, 12, 31))
zones: st.SearchStrategy[tzinfo | None] = st.sampled_from([None, UTC, TZ])  # None: naive, taken as UTC


def moments(first: date, last: date) -> st.SearchStrategy[date | datetime]:
    """A date or a timestamp (naive UTC, UTC or Almaty) whose Kazakhstan date is within a day of [first, last]."""
    day = st.dates(min_value=first, max_value=last)
    return day | st.builds(lambda d, t, zone: datetime.combine(d, t, tzinfo=zone),
                           day, st.times(), zones)


timestamps = moments(date(2015, 1, 1), date(2030, 12, 31))
# Labels shaped like the engine's (so that they often name a real period), and a few that never do.
labels = st.one_of(
    st.integers(2015, 2031).map(str),
    st.builds(lambda y, q: f"{y} Q{q}", st.integers(2015, 2031), st.integers(1, 4)),
    st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2015, 2031), st.integers(1, 12)),
    days.map(date.isoformat),
    st.sampled_from(["nonsense", "2026 Q5"]),
)
publications = st.lists(
    st.one_of(timestamps, st.builds(Publication, timestamps, st.none() | labels)), max_size=8)
changes = st.dates(min_value=START + timedelta(days=1), max_value=date(2030, 12, 31))
# One rule, or two versions.
rules = st.one_of(
    calendar_rules,
    event_rules,
    st.builds(lambda old, new, change: [(START, old), (change, new)],
              calendar_rules | event_rules, calendar_rules | event_rules, changes),
)


@st.composite
def repeated_labels(draw) -> tuple:
    """An annual rule moved mid-year to a later quarter, assessed after both windows of that year opened: two
    periods share the year's label (random amendments rarely give that)."""
    year = draw(st.integers(2017, 2029))
    change = draw(st.dates(min_value=date(year, 4, 2), max_value=date(year, 6, 30)))
    old, new = Rule("annual", quarter=draw(st.integers(1, 2))), Rule("annual", quarter=draw(st.integers(3, 4)))
    as_of = draw(st.dates(min_value=date(year, 10, 1), max_value=date(2030, 12, 31)))
    return [(START, old), (change, new)], [], draw(publications), as_of


scenarios = st.tuples(rules, st.lists(days, max_size=5), publications, as_of_days) | repeated_labels()
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def declared(data, as_of: date) -> date | datetime:
    """The declared publication's time: mostly on or before as_of (later ones are ignored; a few check that)."""
    return data.draw(moments(START - timedelta(days=400), as_of + timedelta(days=40)), label="at")


def declared_label(data, result) -> str:
    """A label to declare: mostly one of the opened periods', sometimes one shaped like them."""
    opened = [o.period.label for o in result.periods]
    return data.draw(st.sampled_from(opened) | labels if opened else labels, label="covers")


def with_and_without(scenario, data):
    """The scenario's assessment without and with one more publication that declares a period (drawn)."""
    rule, events, pubs, as_of = scenario
    without = run(rule, pubs, as_of, events=events)
    label, at = declared_label(data, without), declared(data, as_of)
    with_it = run(rule, pubs + [Publication(at, covers=label)], as_of, events=events)
    return without, with_it, label, at


def key(period_outcome):
    return period_outcome.outcome, period_outcome.published, period_outcome.first_published


class TestProperties:
    @PROPERTY
    @given(scenarios, st.data())
    def test_a_declaration_changes_no_other_period(self, scenario, data):
        as_of = scenario[3]
        without, with_it, label, at = with_and_without(scenario, data)
        assert [o.period for o in with_it.periods] == [o.period for o in without.periods]
        changed = [new.period for old, new in zip(without.periods, with_it.periods, strict=True)
                   if key(old) != key(new)]
        assert len(changed) <= 1  # the declared period, and nothing else
        assert all(period.label == label for period in changed)
        if label not in {o.period.label for o in without.periods} or local_date(at) > as_of:
            assert changed == []

    @PROPERTY
    @given(scenarios, st.data())
    def test_declaring_the_period_the_date_falls_in_changes_nothing(self, scenario, data):
        rule, events, pubs, as_of = scenario
        opened = [o.period for o in run(rule, pubs, as_of, events=events).periods]
        assume(opened)
        # A label two periods share is where declaring the date's own period could go wrong: favour those.
        shared = [p for p in opened if [q.label for q in opened].count(p.label) > 1]
        choices = st.sampled_from(shared) | st.sampled_from(opened) if shared else st.sampled_from(opened)
        period = data.draw(choices, label="period")
        last = as_of if period.closes is None else min(as_of, period.closes - timedelta(days=1))
        at = data.draw(moments(period.opens, last), label="at")
        assume(period.contains(local_date(at)))  # a timestamp's Kazakhstan date can be a day off its UTC one
        plain = run(rule, pubs + [at], as_of, events=events)
        assert run(rule, pubs + [Publication(at, covers=period.label)], as_of, events=events) == plain
        assert run(rule, pubs + [Publication(at)], as_of, events=events) == plain
        assert run(rule, [p if isinstance(p, Publication) else Publication(p) for p in pubs] + [at], as_of,
                   events=events) == plain

    @PROPERTY
    @given(scenarios, st.data())
    def test_a_declaration_never_worsens_the_declared_period(self, scenario, data):
        as_of = scenario[3]
        without, with_it, label, at = with_and_without(scenario, data)
        day = local_date(at)
        for old, new in zip(without.periods, with_it.periods, strict=True):
            if old.period.label != label:
                continue
            assert RANK[new.outcome] >= RANK[old.outcome]
            if new.published != old.published:  # this is the period it counted for: judged by its due date
                assert day in new.published and day <= as_of
                assert new.outcome == ("on_time" if old.outcome == "on_time" or day <= old.period.due else "late")
        if day <= as_of:
            assert with_it.last_published == max(day, without.last_published or day)
            assert with_it.status != "never_published"
