"""Status: ``assess`` sorts a dataset's publications into the periods of its rule and derives its status
(compliance model, section 4). A publication counts for the period it declares, if any (section 6), else for
the period its date falls in (section 3).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Mapping, NamedTuple, Sequence

from .calendar import WorkCalendar, default_calendar, local_date, today
from .periods import Period, start_date, timeline
from .publications import Publication, PublicationLike
from .rules import Rule
from .versions import Rules, in_force, rule_versions

__all__ = [
    "OUTCOMES",
    "STATUSES",
    "Assessment",
    "PeriodOutcome",
    "assess",
]

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


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """How one period went, as of the assessment date.

    ``outcome``: "on_time" (a publication on or before the due date), "late" (publications, all
    after the due date), "missed" (none, due date passed), "open" (none, due date not passed).
    """

    period: Period
    outcome: str
    # distinct dates of the publications counted for the period (by date or by declaration), up to as_of
    published: tuple[date, ...] = ()
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
    rule: Rule | None = None  # the rule in force on as_of (with amendments: the version in force)


def _outcome(period: Period, published: set[date] | None, as_of: date) -> PeriodOutcome:
    if published:
        days = sorted(published)
        outcome = "on_time" if days[0] <= period.due else "late"
        return PeriodOutcome(period, outcome, tuple(days), days[0])
    return PeriodOutcome(period, "missed" if period.due < as_of else "open")


def _labelled(opened: Sequence[Period]) -> dict[str, list[int]]:
    """The positions of the opened periods by label (ascending; a label repeats only across amendments)."""
    positions: dict[str, list[int]] = {}
    for position, period in enumerate(opened):
        positions.setdefault(period.label, []).append(position)
    return positions


def _declared(by_date: int, covers: str, labelled: Mapping[str, list[int]]) -> int:
    """The position of the opened period a declaration names (-1: none); ``by_date``: that of the date's period.

    If an amendment left two opened periods with the label, the one holding the date (so declaring the date's
    own period changes nothing), else the later one.
    """
    candidates = labelled.get(covers)
    if not candidates:
        return -1  # unknown, not opened yet, or a label of a replaced rule version
    return by_date if by_date in candidates else candidates[-1]


class _Read(NamedTuple):
    undeclared: set[date]  # local dates of the publications without a declaration
    declared: set[tuple[date, str]]  # (local date, label) of those that declare the period they cover


def _read(publications: Iterable[PublicationLike], as_of: date) -> _Read:
    """The publications dated on or before as_of (later ones are ignored), undeclared and declared apart."""
    undeclared: set[date] = set()
    declared: set[tuple[date, str]] = set()
    for publication in publications:
        # Inline rather than a helper call: this loop runs for every publication of every dataset listed.
        if isinstance(publication, Publication):
            day, covers = publication.day, publication.covers
        else:
            day, covers = local_date(publication), None  # TypeError for anything else, as before
        if day > as_of:
            continue
        if covers is None:
            undeclared.add(day)
        else:
            declared.add((day, covers))
    return _Read(undeclared, declared)


def _outcomes(opened: Sequence[Period], opens: Sequence[date], read: _Read, as_of: date) -> list[PeriodOutcome]:
    """The outcome of each opened period; each period holds the undeclared publications dated from its opening to
    the next one's, and those declared for it."""
    count = len(opened)
    buckets: dict[int, set[date]] = {}
    for day in read.undeclared:
        position = bisect_right(opens, day, 0, count) - 1  # -1: before the first period (or none opened)
        if position >= 0:
            buckets.setdefault(position, set()).add(day)
    if read.declared:  # labels are only looked up for declarations; most datasets have none
        labelled = _labelled(opened)
        for day, covers in read.declared:
            position = _declared(bisect_right(opens, day, 0, count) - 1, covers, labelled)
            if position >= 0:
                buckets.setdefault(position, set()).add(day)
    return [_outcome(period, buckets.get(position), as_of) for position, period in enumerate(opened)]


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


class _Dues(NamedTuple):
    previous: date | None  # latest due date on or before as_of
    next: date | None  # earliest due date after as_of
    on_time_rate: float | None


def _dues(outcomes: list[PeriodOutcome], following: Period | None, as_of: date) -> _Dues:
    """Previous and next due dates and the on-time rate; ``following``: the first period opening after as_of."""
    previous_due: date | None = None
    next_due: date | None = None
    due_count = on_time_count = 0
    for outcome in outcomes:
        due = outcome.period.due
        if due <= as_of:
            previous_due = due
        elif next_due is None:
            next_due = due
        if due < as_of:
            due_count += 1
            on_time_count += outcome.outcome == "on_time"
    if next_due is None and following is not None:
        next_due = following.due  # it opens after as_of, so it is due after as_of
    return _Dues(previous_due, next_due, on_time_count / due_count if due_count else None)


def assess(
    rule: Rules,
    publications: Iterable[PublicationLike],
    as_of: date | datetime | None = None,
    events: Iterable[date] = (),
    due_soon_days: int = 30,
    start: date | None = None,
    calendar: WorkCalendar | None = None,
) -> Assessment:
    """Assess a dataset's publications against ``rule`` on the date ``as_of`` (default: today in
    Kazakhstan). Publications dated after ``as_of`` are ignored, so a past date gives the status
    the dataset had on that date.

    ``publications`` mixes dates, timestamps and ``Publication`` values. A ``Publication`` that declares
    the period it covers counts for that period whatever its date (on time if dated on or before its due
    date); one naming no period opened by ``as_of`` counts for none, but still as a publication for
    ``last_published`` and "never_published".

    ``rule`` is one rule (a Rule or its text) or ``(effective_from, rule)`` pairs: each period is
    judged by the version in force when its window opened (see ``versions``).
    """
    versions = rule_versions(rule)
    as_of = today() if as_of is None else local_date(as_of)
    start = start_date(start)
    calendar = calendar or default_calendar()
    if due_soon_days < 0:
        raise ValueError(f"due_soon_days must be >= 0, got {due_soon_days}")

    read = _read(publications, as_of)
    published = sorted(read.undeclared.union(day for day, _ in read.declared))
    line = timeline(versions, start, as_of, events, calendar)
    opened = bisect_right(line.opens, as_of)  # periods opened on or before as_of
    outcomes = _outcomes(line.periods[:opened], line.opens, read, as_of)
    dues = _dues(outcomes, line.periods[opened] if opened < len(line.periods) else None, as_of)

    if outcomes:
        status = _status(outcomes, as_of, due_soon_days)
        if status == "overdue" and not published:
            status = "never_published"
    elif line.periods or line.spans[-1].rule.has_calendar_windows:
        status = "not_yet_due"  # as_of is before the first window opens
    else:
        status = "no_deadline"  # no fixed term, or event-driven with no event recorded

    return Assessment(
        status=status,
        previous_due=dues.previous,
        next_due=dues.next,
        last_published=published[-1] if published else None,
        on_time_rate=dues.on_time_rate,
        current=outcomes[-1].period if outcomes else None,
        periods=tuple(outcomes),
        as_of=as_of,
        rule=in_force(versions, as_of),
    )
