"""Rules: ``parse_rule`` turns an item's machine-readable rule ("annual quarter=4") into a ``Rule``;
``describe`` puts it back into words (kk/ru/en); ``frequencies_for`` gives the EU frequency codes that fit it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .kinds import KEYS, KINDS, RULE_KINDS, RuleKind
from .words import normalise_lang

__all__ = [
    "Rule",
    "coerce_rule",
    "describe",
    "frequencies_for",
    "frequency_fits",
    "parse_rule",
]


def _short(text: str, limit: int = 40) -> str:
    """Quote user text in an error message without letting it swamp the message."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _unknown_kind(text: str) -> ValueError:
    return ValueError(f"unknown kind {_short(text)} (expected one of: {', '.join(RULE_KINDS)})")


def _check_range(key: str, value: int) -> None:
    spec = KEYS[key]
    if not spec.low <= value <= spec.high:
        raise ValueError(f"{key} must be {spec.low}..{spec.high}, got {value}")


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
        spec = KINDS.get(self.kind) if isinstance(self.kind, str) else None
        if spec is None:
            raise _unknown_kind(str(self.kind))
        for key in KEYS.values():
            value = getattr(self, key.attr)
            if value is None:
                continue
            if key.name not in spec.keys:
                raise ValueError(f"unknown key {key.name!r} for {self.kind!r} ({spec.allowed()})")
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{key.name} must be an integer, got {value!r}")
            _check_range(key.name, value)
        self._check_presence(spec)

    def _check_presence(self, spec: RuleKind) -> None:
        for key in spec.required:
            if self._value(key) is None:
                raise ValueError(f"missing key {key!r} for {self.kind!r}")
        if spec.one_of:
            present = [key for key in spec.one_of if self._value(key) is not None]
            names = " or ".join(repr(key) for key in spec.one_of)
            if not present:
                raise ValueError(f"missing key {names} for {self.kind!r}")
            if len(present) > 1:
                raise ValueError(f"{self.kind!r} takes {names}, not both")

    def _value(self, key: str) -> int | None:
        value: int | None = getattr(self, KEYS[key].attr)
        return value

    def __str__(self) -> str:
        """The canonical text: kind, then the keys in the order of docs/rules.md."""
        words = [self.kind]
        for key in self.spec.keys:
            value = self._value(key)
            if value is not None:
                words.append(f"{key}={value}")
        return " ".join(words)

    @property
    def spec(self) -> RuleKind:
        """The kind's record in ``KINDS`` (keys, windows, frequencies, words)."""
        return KINDS[self.kind]

    @property
    def is_event(self) -> bool:
        """One period per recorded triggering event (kind "event")."""
        return self.spec.is_event

    @property
    def has_periods(self) -> bool:
        """The rule can impose periods: every kind but as-established."""
        return self.spec.has_periods

    @property
    def has_calendar_windows(self) -> bool:
        """True for rules whose windows follow the calendar (not event-driven, not open-ended)."""
        return self.spec.has_calendar_windows


# "key = value" is tolerated: spaces around "=" are squeezed out before splitting into words.
_EQUALS_RE = re.compile(r"\s*=\s*")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _parse_word(word: str, kind: str, spec: RuleKind, values: dict[str, int]) -> None:
    """Parse one ``key=value`` word of a rule of ``kind`` into ``values``."""
    key, sep, raw = word.partition("=")
    key = key.lower()
    if not sep or not key or not raw or "=" in raw:
        raise ValueError(f"expected key=value, got {_short(word)}")
    if key not in spec.keys:
        raise ValueError(f"unknown key {_short(key)} for {kind!r} ({spec.allowed()})")
    if key in values:
        raise ValueError(f"repeated key {key!r}")
    if not _INTEGER_RE.fullmatch(raw):
        raise ValueError(f"{key} must be an integer, got {_short(raw)}")
    if len(raw.lstrip("+-").lstrip("0")) > 6:  # far out of every range; skip huge int()
        raise ValueError(f"{key} must be {KEYS[key].low}..{KEYS[key].high}, got {_short(raw)}")
    values[key] = int(raw)


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
    spec = KINDS.get(kind)
    if spec is None:
        raise _unknown_kind(words[0])
    values: dict[str, int] = {}
    for word in words[1:]:
        _parse_word(word, kind, spec, values)
    return Rule(kind, **{KEYS[key].attr: value for key, value in values.items()})


def coerce_rule(rule: Rule | str) -> Rule:
    """Accept a Rule or its text (callers often hold the text from YAML or the database)."""
    if isinstance(rule, Rule):
        return rule
    if isinstance(rule, str):
        return parse_rule(rule)
    raise TypeError(f"expected a Rule or rule text, got {type(rule).__name__}")


def frequencies_for(rule: Rule | str) -> tuple[str, ...]:
    """EU frequency codes that fit the rule; the first is the canonical one (docs/rules.md)."""
    rule = coerce_rule(rule)
    return rule.spec.frequencies(rule)


def frequency_fits(rule: Rule | str, code: str | None) -> bool:
    """Whether an EU frequency code fits the rule.

    Accepts the bare code ("ANNUAL", any case) or the full authority URI ending in it.
    """
    if not isinstance(code, str) or not code.strip():
        return False
    bare = code.strip().rstrip("/").rsplit("/", 1)[-1].upper()
    return bare in frequencies_for(rule)


def describe(rule: Rule | str, lang: str = "en") -> str:
    """The rule in words, in Kazakh ("kk"), Russian ("ru") or English (anything else)."""
    rule = coerce_rule(rule)
    return rule.spec.words(rule, normalise_lang(lang))
