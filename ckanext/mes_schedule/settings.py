"""Typed access to the extension's configuration (declared in config_declaration.yaml)."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Iterable

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import schedule

__all__ = ["start_date", "due_soon_days", "calendar", "organization_name", "order", "page_size"]


def _iso_dates(key: str, values: Iterable[str]) -> tuple[dt.date, ...]:
    out = []
    for value in values:
        try:
            out.append(dt.date.fromisoformat(str(value).strip()))
        except ValueError:
            raise tk.ValidationError({key: [f"'{value}' is not an ISO date (YYYY-MM-DD)"]})
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
