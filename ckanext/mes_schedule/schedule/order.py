"""The order itself: ``load_order`` reads the list of items of Order No. 120 from YAML and validates it."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import yaml

from .periods import DEFAULT_START
from .rules import Rule, frequencies_for, frequency_fits, parse_rule
from .versions import RuleVersion
from .words import LANGUAGES

__all__ = [
    "DEFAULT_ORDER_PATH",
    "ActEvent",
    "Item",
    "Order",
    "load_order",
]

#: The list of items shipped with the extension.
DEFAULT_ORDER_PATH = Path(__file__).resolve().parent.parent / "data" / "order-120.yaml"


@dataclass(frozen=True)
class ActEvent:
    """A triggering event the act itself names (e.g. the approval of a register by another order)."""

    date: date
    note: str


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
    # The versions of the rule: `rule` first (from the schedule start), then the data file's `rules:` list.
    rule_versions: tuple[RuleVersion, ...] = ()
    deadline_versions_kk: tuple[str | None, ...] = ()  # the order's deadline wording of each version, if given
    events: tuple[ActEvent, ...] = ()  # events the act itself names


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


def _list_field(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(entry, Mapping) for entry in value):
        raise ValueError(f"{where}: {key!r} must be a list of mappings")
    return value


def _rule_versions(
    data: Mapping[str, Any], first: Rule, deadline_kk: str, where: str
) -> tuple[tuple[RuleVersion, ...], tuple[str | None, ...]]:
    """The item's versions: its `rule` from the schedule start, then each `rules:` entry from its `from` date."""
    versions = [RuleVersion(DEFAULT_START, first)]
    deadlines: list[str | None] = [deadline_kk]
    for position, entry in enumerate(_list_field(data, "rules", where), start=1):
        here = f"{where}, rules #{position}"
        day = _date_field(entry, "from", here)
        text = _text_field(entry, "rule", here)
        try:
            rule = parse_rule(text)
        except ValueError as error:
            raise ValueError(f"{here}: invalid rule {text!r}: {error}") from None
        if day <= versions[-1].effective_from:
            raise ValueError(f"{here}: 'from' must be after {versions[-1].effective_from.isoformat()}")
        deadline = entry.get("deadline_kk")
        if deadline is not None and (not isinstance(deadline, str) or not deadline.strip()):
            raise ValueError(f"{here}: 'deadline_kk' must be a non-empty string")
        versions.append(RuleVersion(day, rule))
        deadlines.append(deadline.strip() if deadline else None)
    return tuple(versions), tuple(deadlines)


def _act_events(data: Mapping[str, Any], where: str) -> tuple[ActEvent, ...]:
    events = []
    for position, entry in enumerate(_list_field(data, "events", where), start=1):
        here = f"{where}, events #{position}"
        events.append(ActEvent(_date_field(entry, "date", here), _text_field(entry, "note", here)))
    if len({event.date for event in events}) != len(events):
        raise ValueError(f"{where}: two events on one date")
    return tuple(sorted(events, key=lambda event: event.date))


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
    versions, deadlines = _rule_versions(data, rule, _text_field(data, "deadline_kk", where), where)
    return Item(
        rule_versions=versions,
        deadline_versions_kk=deadlines,
        events=_act_events(data, where),
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
