"""Validators for the parameters of the extension's API actions (dates, statuses, frequencies, sorting, limits)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.mes_schedule import localization, schedule, vocab

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
    "mes_schedule_dataset_id",
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
            raise tk.Invalid(_("Not a date in the form YYYY-MM-DD: {value}").format(value=str(value)[:40])) from None
    if not _EARLIEST <= value <= _LATEST:
        raise tk.Invalid(
            _("The date must be between {earliest} and {latest}").format(
                earliest=_EARLIEST.isoformat(), latest=_LATEST.isoformat()
            )
        )
    return value


def mes_schedule_not_in_future(value: Any, context: Context) -> Any:
    """A date that is today or earlier in Kazakhstan (events are recorded once they happened)."""
    if isinstance(value, dt.date) and value > localization.today():
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
    """One sort key, as CKAN core writes it (``next_due desc``, ``title asc``) or with a leading ``-`` for
    descending (``-next_due``); returned in the second form, which the action sorts by."""
    words = str(value).split()
    field, direction = (words[0], words[1].lower()) if len(words) == 2 else ("".join(words), "")
    descending = direction == "desc"
    if direction in ("", "asc", "desc") and not (descending and field.startswith("-")):
        name = field[1:] if field.startswith("-") and not direction else field
        if name in SORT_FIELDS:
            return f"-{name}" if descending or name != field else name
    raise tk.Invalid(
        _("Cannot sort by {value} (expected one of: {allowed}, followed by asc or desc; or a leading - to sort "
          "descending)").format(value=str(value).strip()[:40], allowed=", ".join(SORT_FIELDS))
    )


def _blank(value: Any) -> bool:
    return value is tk.missing or value is None or value == ""


def _same_dataset(first: str, second: str) -> bool:
    if first == second:
        return True
    one, other = model.Package.get(first), model.Package.get(second)
    return one is not None and other is not None and one.id == other.id


def mes_schedule_dataset_id(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """The dataset of an action, given as ``id`` (CKAN's name for it) or as ``package_id`` (the alias the event
    actions took first): one of them is required, and both may be given only for the same dataset (its id and
    its name, say). Runs after the fields' own validators (``__after``); leaves the dataset in ``id``."""
    ident, alias = data.get(("id",)), data.get(("package_id",))
    if errors.get(("id",)) or errors.get(("package_id",)):
        return
    if _blank(ident) and _blank(alias):
        # Named as the caller named it: an empty package_id is that parameter's error.
        # (ignore_missing drops an absent or null parameter from the data.)
        key_given = "package_id" if ("id",) not in data and ("package_id",) in data else "id"
        errors[(key_given,)] = [_("Missing value: give the dataset's id or name")]
    elif not _blank(ident) and not _blank(alias) and not _same_dataset(str(ident), str(alias)):
        message = _("id and package_id name different datasets: give one of them")
        errors[("id",)] = [message]
        errors[("package_id",)] = [message]
    elif _blank(ident):
        data[("id",)] = alias
    data.pop(("package_id",), None)


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
