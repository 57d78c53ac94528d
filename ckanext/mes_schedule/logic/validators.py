"""Validators for the scheming dataset schema: the legal fields of Order No. 120."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.mes_schedule import schedule, vocab

__all__ = [
    "mes_schedule_no_nul_character",
    "mes_schedule_rule_validator",
    "mes_schedule_item_validator",
    "mes_schedule_legal_fields_validator",
]

_ = tk._

# What an item of the list needs beside its number.
_REQUIRED_WITH_ITEM = (
    "mes_schedule_act_number",
    "mes_schedule_frequency",
    "mes_schedule_rule",
)


def mes_schedule_no_nul_character(value: Any, context: Context) -> Any:
    """Refuse text holding a NUL character: PostgreSQL cannot store or compare it, and would fail the request
    with a server error instead of a message."""
    if isinstance(value, str) and "\x00" in value:
        raise tk.Invalid(_("The text contains a NUL character (\\x00), which cannot be stored"))
    return value


def mes_schedule_rule_validator(value: Any, context: Context) -> Any:
    """Parse the rule with the engine and store its canonical text."""
    if value is tk.missing or value is None or value == "":
        return value
    try:
        return str(schedule.parse_rule(value))
    except ValueError as e:
        raise tk.Invalid(_("Invalid deadline rule: {problem}").format(problem=e))


def mes_schedule_item_validator(value: Any, context: Context) -> Any:
    if value is tk.missing or value is None or value == "":
        return value
    try:
        number = int(str(value).strip())
    except ValueError:
        raise tk.Invalid(_("The item number must be a whole number"))
    if not 1 <= number <= 999:
        raise tk.Invalid(_("The item number must be between 1 and 999"))
    return number


def _blank(value: Any) -> bool:
    return value is tk.missing or value is None or (isinstance(value, str) and not value.strip())


def mes_schedule_legal_fields_validator(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """Once an item number is given, the legal fields are required and must agree with each other."""
    if _blank(data.get(key)) or errors.get(key):
        return
    for name in _REQUIRED_WITH_ITEM:
        if _blank(data.get((name,))):
            errors.setdefault((name,), []).append(_("Required for a dataset listed in the order"))
    rule_text = data.get(("mes_schedule_rule",))
    frequency = data.get(("mes_schedule_frequency",))
    if _blank(rule_text) or _blank(frequency):
        return
    try:
        rule = schedule.parse_rule(rule_text)
    except ValueError:
        return  # the rule field's own validator reports it
    # Not text (a list from a JSON body, say): scheming_choices reports it.
    code = vocab.frequency_code(frequency) if isinstance(frequency, str) else None
    if code is None:
        return  # scheming_choices reports an unknown frequency
    if not schedule.frequency_fits(rule, code):
        allowed = ", ".join(schedule.frequencies_for(rule))
        errors.setdefault(("mes_schedule_frequency",), []).append(
            _("Frequency {code} does not fit the rule '{rule}' (expected one of: {allowed})").format(
                code=code, rule=str(rule), allowed=allowed
            )
        )
