"""Rule kinds as data: one ``RuleKind`` record per kind, in the ``KINDS`` registry.

A record holds everything the engine knows about a kind: the keys it takes, how its windows fall in the
calendar, the EU frequency codes that fit it and its words in kk/ru/en. Adding a kind means adding a record
here (and its window generator and words), not editing branches across the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

from . import windows, words
from .params import RuleParams
from .windows import WindowGenerator
from .words import Words

__all__ = [
    "FREQUENCY_CODES",
    "KEYS",
    "KINDS",
    "RULE_KINDS",
    "RuleKey",
    "RuleKind",
]

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


@dataclass(frozen=True, slots=True)
class RuleKey:
    """A ``key=value`` word of the rule text and the ``Rule`` attribute it sets."""

    name: str  # as written in the text
    attr: str  # the Rule attribute ("from" is a Python keyword, hence from_year)
    low: int  # inclusive range from docs/rules.md
    high: int


#: Every key, in the canonical order of the rule text.
KEYS: Mapping[str, RuleKey] = MappingProxyType(
    {
        key.name: key
        for key in (
            RuleKey("quarter", "quarter", 1, 4),
            RuleKey("month", "month", 1, 12),
            RuleKey("day", "day", 1, 28),
            RuleKey("years", "years", 2, 10),
            RuleKey("from", "from_year", 1900, 2100),  # a calendar year: a generous but finite range
            RuleKey("working-days", "working_days", 1, 366),
            RuleKey("max-per-year", "max_per_year", 1, 12),
        )
    }
)


@dataclass(frozen=True, slots=True)
class RuleKind:
    """What the engine knows about one rule kind."""

    name: str
    keys: tuple[str, ...]  # allowed keys, in canonical order
    required: tuple[str, ...]  # keys that must be present
    one_of: tuple[str, ...]  # exactly one of these must be present (empty: no such constraint)
    frequencies: Callable[[RuleParams], tuple[str, ...]]  # EU codes that fit; the first is the canonical one
    words: Words  # the rule in kk/ru/en
    windows: WindowGenerator | None = None  # calendar windows; None: not calendar-driven
    is_event: bool = False  # one period per recorded triggering event

    @property
    def has_calendar_windows(self) -> bool:
        """Windows follow the calendar (annual, quarterly, every-n-years, twice-yearly)."""
        return self.windows is not None

    @property
    def has_periods(self) -> bool:
        """The kind can impose periods at all (every kind but as-established)."""
        return self.windows is not None or self.is_event

    def allowed(self) -> str:
        """The allowed keys, for error messages."""
        return "allowed: " + ", ".join(self.keys) if self.keys else "it takes no keys"


def _fixed(*codes: str) -> Callable[[RuleParams], tuple[str, ...]]:
    def frequencies(rule: RuleParams) -> tuple[str, ...]:
        return codes

    return frequencies


_EVERY_N_YEARS_CODES: Mapping[int, str] = MappingProxyType(
    {2: "BIENNIAL", 3: "TRIENNIAL", 4: "QUADRENNIAL", 5: "QUINQUENNIAL"}
)


def _every_n_years_frequencies(rule: RuleParams) -> tuple[str, ...]:
    return (_EVERY_N_YEARS_CODES.get(rule.years or 0, "OTHER"),)


#: The registry, in the order of docs/rules.md.
KINDS: Mapping[str, RuleKind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            RuleKind(
                name="annual",
                keys=("quarter", "month"),
                required=(),
                one_of=("quarter", "month"),
                frequencies=_fixed("ANNUAL"),
                words=words.annual_words,
                windows=windows.annual_windows,
            ),
            RuleKind(
                name="quarterly",
                keys=("day",),
                required=("day",),
                one_of=(),
                frequencies=_fixed("QUARTERLY"),
                words=words.quarterly_words,
                windows=windows.quarterly_windows,
            ),
            RuleKind(
                name="every-n-years",
                keys=("years", "quarter", "from"),
                required=("years", "quarter", "from"),
                one_of=(),
                frequencies=_every_n_years_frequencies,
                words=words.every_n_years_words,
                windows=windows.every_n_years_windows,
            ),
            RuleKind(
                name="twice-yearly",
                keys=("quarter", "from"),
                required=("quarter", "from"),
                one_of=(),
                frequencies=_fixed("ANNUAL_2"),
                words=words.twice_yearly_words,
                windows=windows.twice_yearly_windows,
            ),
            RuleKind(
                name="event",
                keys=("working-days", "max-per-year"),
                required=("working-days",),
                one_of=(),
                frequencies=_fixed("IRREG"),
                words=words.event_words,
                is_event=True,
            ),
            RuleKind(
                name="as-established",
                keys=(),
                required=(),
                one_of=(),
                frequencies=_fixed("IRREG", "UNKNOWN", "OTHER"),
                words=words.as_established_words,
            ),
        )
    }
)

#: Rule kinds, in the order of docs/rules.md.
RULE_KINDS: tuple[str, ...] = tuple(KINDS)
