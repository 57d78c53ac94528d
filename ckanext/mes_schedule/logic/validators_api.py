"""Validators for the parameters of the extension's API actions (dates, statuses, frequencies, sorting, limits)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.mes_schedule import compliance, schedule, vocab

__all__ = [
    "SORT_FIELDS",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "mes_schedule_strip",
    "mes_schedule_iso_date",
    "mes_schedule_not_in_future",
    "mes_schedule_status_list",
    "mes_schedule_frequency_filter",
    "mes_schedule_compliance_sort",
    "mes_schedule_at_most",
    "mes_schedule_max_length",
]

_ = tk._

#: Fields the compliance list sorts by (a leading "-" sorts descending).
SORT_FIELDS = ("item", "title", "status", "next_due", "previous_due", "last_published", "on_time_rate")

#: The most rows one call returns.
MAX_LIMIT = 1000

#: The most rows one call skips: far beyond any table here, and within PostgreSQL's bigint OFFSET (larger
#: values failed the query with a server error).
MAX_OFFSET = 1_000_000_000

# Dates outside this range are typing mistakes, and far-future dates would make the engine generate
# thousands of periods for nothing.
_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2100, 12, 31)


def mes_schedule_strip(value: Any, context: Context) -> Any:
    """Text without its surrounding whitespace (other values unchanged), so that a blank value counts as empty
    for the validators after it (CKAN's natural_number_validator fails on " " with a server error)."""
    return value.strip() if isinstance(value, str) else value


def mes_schedule_iso_date(value: Any, context: Context) -> dt.date:
    """An ISO date (YYYY-MM-DD), returned as a date."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise tk.Invalid(_("Not a date in the form YYYY-MM-DD: {value}").format(value=str(value)[:40]))
    if not _EARLIEST <= value <= _LATEST:
        raise tk.Invalid(
            _("The date must be between {earliest} and {latest}").format(
                earliest=_EARLIEST.isoformat(), latest=_LATEST.isoformat()
            )
        )
    return value


def mes_schedule_not_in_future(value: Any, context: Context) -> Any:
    """A date that is today or earlier in Kazakhstan (events are recorded once they happened)."""
    if isinstance(value, dt.date) and value > compliance.today():
        raise tk.Invalid(_("The date is in the future: record an event once it has happened"))
    return value


def mes_schedule_status_list(value: Any, context: Context) -> list[str]:
    """One status, a comma-separated list of them or a list; returned as a list of known statuses."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    statuses = []
    for item in items:
        status = str(item).strip()
        if not status:
            continue
        if status not in schedule.STATUSES:
            raise tk.Invalid(
                _("Unknown status: {status} (expected one of: {allowed})").format(
                    status=status[:40], allowed=", ".join(schedule.STATUSES)
                )
            )
        if status not in statuses:
            statuses.append(status)
    return statuses


def mes_schedule_frequency_filter(value: Any, context: Context) -> str:
    """An EU frequency code (QUARTERLY) or its full URI; returned as the code."""
    text = str(value).strip()
    code = vocab.frequency_code(text) or vocab.frequency_code(text.upper())
    if code is None:
        raise tk.Invalid(
            _("Unknown frequency: {value} (expected one of: {allowed}, or their URIs)").format(
                value=text[:80], allowed=", ".join(vocab.FREQUENCIES)
            )
        )
    return code


def mes_schedule_compliance_sort(value: Any, context: Context) -> str:
    text = str(value).strip()
    if text.lstrip("-") not in SORT_FIELDS or text.startswith("--"):
        raise tk.Invalid(
            _("Cannot sort by {value} (expected one of: {allowed}; a leading - sorts descending)").format(
                value=text[:40], allowed=", ".join(SORT_FIELDS)
            )
        )
    return text


def mes_schedule_at_most(maximum: int) -> Callable[[Any, Context], Any]:
    """A validator rejecting integers above `maximum` (use after an integer validator)."""

    def validator(value: Any, context: Context) -> Any:
        if isinstance(value, int) and value > maximum:
            raise tk.Invalid(_("Must be at most {maximum}").format(maximum=maximum))
        return value

    return validator


def mes_schedule_max_length(maximum: int) -> Callable[[Any, Context], Any]:
    def validator(value: Any, context: Context) -> Any:
        if isinstance(value, str) and len(value) > maximum:
            raise tk.Invalid(_("Must be at most {maximum} characters long").format(maximum=maximum))
        return value

    return validator
