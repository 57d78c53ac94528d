"""Typed access to the extension's configuration (declared in config_declaration.yaml)."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Iterable

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import schedule, vocab

__all__ = [
    "start_date",
    "due_soon_days",
    "calendar",
    "organization_name",
    "order",
    "page_size",
    "option",
    "remind_days",
    "escalate_after_days",
    "default_language",
    "calendar_months",
    "max_maintainer_emails",
    "max_recipients_per_dataset",
    "dcat_contact_email",
    "dcat_theme",
    "site_title",
]


def _iso_dates(key: str, values: Iterable[str]) -> tuple[dt.date, ...]:
    out = []
    for value in values:
        try:
            out.append(dt.date.fromisoformat(str(value).strip()))
        except ValueError as error:
            raise tk.ValidationError({key: [f"'{value}' is not an ISO date (YYYY-MM-DD)"]}) from error
    return tuple(out)


def start_date() -> dt.date:
    key = "ckanext.mes_schedule.start_date"
    (value,) = _iso_dates(key, [tk.config.get(key)])
    return value


def due_soon_days() -> int:
    return tk.config.get("ckanext.mes_schedule.due_soon_days")


def page_size() -> int:
    return tk.config.get("ckanext.mes_schedule.page_size")


def organization_name() -> str:
    return tk.config.get("ckanext.mes_schedule.organization")


@functools.lru_cache(maxsize=8)
def _calendar(non_working: tuple[dt.date, ...], working: tuple[dt.date, ...]) -> schedule.WorkCalendar:
    # One calendar per distinct configuration: its holiday tables are built once and reused per request.
    return schedule.WorkCalendar(extra_non_working=non_working, extra_working=working)


def calendar() -> schedule.WorkCalendar:
    non_key, work_key = "ckanext.mes_schedule.extra_non_working_days", "ckanext.mes_schedule.extra_working_days"
    return _calendar(_iso_dates(non_key, tk.config.get(non_key)), _iso_dates(work_key, tk.config.get(work_key)))


@functools.lru_cache(maxsize=4)
def _order(path: str) -> schedule.Order:
    return schedule.load_order(path or None)


def order() -> schedule.Order:
    return _order(tk.config.get("ckanext.mes_schedule.order_file") or "")


# ------------------------------------------------------------------------------ reminders, feeds, mail limits
# These options are also set from tests and from ini files that skipped normalisation: a value may arrive as
# the raw string, so they are parsed here, and a bad one is refused with the option's name.


def option(key: str) -> Any:
    """The configured value of one of the publishers' options (config_declaration.yaml gives the defaults)."""
    return tk.config.get(key)


def _config_error(key: str, message: str) -> tk.ValidationError:
    return tk.ValidationError({key: [message]})


def _whole_number(key: str, value: Any, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError as error:
        raise _config_error(key, f"'{value}' is not a whole number") from error
    if number < minimum:
        raise _config_error(key, f"{number} is less than {minimum}")
    return number


def remind_days() -> tuple[int, ...]:
    """Days before a deadline at which "due soon" reminders go out, largest first, without repeats."""
    key = "ckanext.mes_schedule.remind_days"
    value = option(key)
    # An undeclared option arrives as the ini's raw string; a declared one as a list.
    values = value.split() if isinstance(value, str) else list(value or [])
    return tuple(sorted({_whole_number(key, v, 1) for v in values}, reverse=True))


def escalate_after_days() -> int:
    key = "ckanext.mes_schedule.escalate_after_days"
    return _whole_number(key, option(key), 0)


def default_language() -> str:
    key = "ckanext.mes_schedule.default_language"
    lang = str(option(key) or "").strip()
    if lang not in vocab.LANGS:
        raise _config_error(key, f"'{lang}' is not one of {', '.join(vocab.LANGS)}")
    return lang


def calendar_months() -> int:
    key = "ckanext.mes_schedule.calendar_months"
    return _whole_number(key, option(key), 1)


def max_maintainer_emails() -> int:
    """How many addresses a dataset's maintainer e-mail field may hold."""
    key = "ckanext.mes_schedule.max_maintainer_emails"
    return _whole_number(key, option(key), 1)


def max_recipients_per_dataset() -> int:
    """How many people a reminder run tells about one dataset, at most."""
    key = "ckanext.mes_schedule.max_recipients_per_dataset"
    return _whole_number(key, option(key), 1)


def site_title(lang: str) -> str:
    """The portal's name configured for `lang` (ru, en; kk is CKAN's own `ckan.site_title`); "" when unset."""
    return str(tk.config.get(f"ckanext.mes_schedule.site_title_{lang}") or "").strip() if lang != "kk" else ""


# ------------------------------------------------------------------------------ DCAT (ckanext-dcat profile)
DATA_THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"


def dcat_contact_email() -> str:
    """The address in the contact point of the ministry's datasets (none: the contact point names the ministry
    and its page on the portal only)."""
    return str(tk.config.get("ckanext.mes_schedule.contact_email") or "").strip().removeprefix("mailto:")


def dcat_theme() -> str:
    """The EU data theme of the ministry's datasets as an IRI; a bare code ("EDUC") means the EU table's."""
    value = str(tk.config.get("ckanext.mes_schedule.theme") or "").strip()
    return value if not value or "://" in value else DATA_THEME_BASE + value.upper()
