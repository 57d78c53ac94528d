"""Amendments apply forward: which version of an item's rule is in force on which dates.

The list of the order can be amended; a rule then carries the date from which it applies. A period is judged
by the rule in force on the date its window opened, so changing a rule never rewrites earlier periods
(compliance model, section 7). ``assess`` and ``periods`` take either one rule or ``(effective_from, rule)``
pairs; ``rule_versions`` normalises both to a sorted tuple of ``RuleVersion``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import NamedTuple, TypeAlias

from .calendar import local_date
from .rules import Rule, coerce_rule

__all__ = [
    "RuleVersion",
    "Rules",
    "Span",
    "in_force",
    "rule_versions",
    "spans",
]


class RuleVersion(NamedTuple):
    """One version of an item's rule and the date from which it applies."""

    effective_from: date
    rule: Rule


#: What ``assess`` and ``periods`` accept: one rule (a Rule or its text), or ``(effective_from, rule)`` pairs
#: (or a mapping of effective dates to rules).
Rules: TypeAlias = "Rule | str | Iterable[tuple[date, Rule | str]] | Mapping[date, Rule | str]"


def _version(entry: object) -> RuleVersion:
    if not isinstance(entry, (tuple, list)) or len(entry) != 2:
        raise TypeError(f"expected an (effective_from, rule) pair, got {entry!r:.80}")
    when, rule = entry
    if isinstance(when, datetime):
        when = local_date(when)
    elif not isinstance(when, date):
        raise TypeError(f"effective_from must be a date, got {type(when).__name__}")
    return RuleVersion(when, coerce_rule(rule))


def rule_versions(rules: Rules) -> tuple[RuleVersion, ...]:
    """The versions of a rule, sorted by the date they take effect.

    One rule (a ``Rule`` or its text) is one version in force since ``date.min``. Pairs may come in any order;
    there must be at least one and no two on the same date (ValueError). A wrong type raises TypeError, an
    invalid rule text ValueError, as ``parse_rule`` does.
    """
    if isinstance(rules, (Rule, str)):
        return (RuleVersion(date.min, coerce_rule(rules)),)
    if isinstance(rules, Mapping):
        rules = rules.items()
    if not isinstance(rules, Iterable):
        raise TypeError(f"expected a Rule, rule text or (effective_from, rule) pairs, got {type(rules).__name__}")
    versions = sorted(map(_version, rules), key=lambda version: version.effective_from)
    if not versions:
        raise ValueError("expected at least one (effective_from, rule) pair")
    for earlier, later in pairwise(versions):
        if earlier.effective_from == later.effective_from:
            raise ValueError(f"two rule versions take effect on {later.effective_from.isoformat()}")
    return tuple(versions)


class Span(NamedTuple):
    """The dates on which one version is in force, from the schedule start on."""

    begins: date
    ends: date | None  # exclusive; None: still in force
    rule: Rule


def spans(versions: Sequence[RuleVersion], start: date) -> list[Span]:
    """When each version is in force, from ``start`` on.

    The first version applies from ``start`` whatever its own date (the schedule starts with it); a version
    replaced on or before ``start`` is never in force and is left out.
    """
    if len(versions) == 1:
        return [Span(start, None, versions[0].rule)]
    result = []
    for position, version in enumerate(versions):
        begins = start if position == 0 else max(version.effective_from, start)
        ends = versions[position + 1].effective_from if position + 1 < len(versions) else None
        if ends is None or begins < ends:
            result.append(Span(begins, ends, version.rule))
    return result


def in_force(versions: Sequence[RuleVersion], day: date) -> Rule:
    """The rule in force on ``day``: the latest version effective on or before it (else the first)."""
    current = versions[0].rule
    for version in versions[1:]:
        if version.effective_from > day:
            break
        current = version.rule
    return current
