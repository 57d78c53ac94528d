"""navl schemas of the extension's actions: one factory per action, validators fetched when it is called."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Schema

from ckanext.mes_schedule import settings, vocab
from ckanext.mes_schedule.logic import ACTIONS, validators_api as v

__all__ = [*ACTIONS]

NOTE_MAX_LENGTH = 1000
DECLARATION_NOTE_MAX_LENGTH = 500
PUBLICATIONS_DEFAULT_LIMIT = 100


def _as_of_and_lang() -> Schema:
    ignore_empty = tk.get_validator("ignore_empty")
    unicode_safe = tk.get_validator("unicode_safe")
    one_of = tk.get_validator("one_of")
    return {
        "as_of": [ignore_empty, v.mes_schedule_iso_date],
        "lang": [ignore_empty, unicode_safe, one_of(list(vocab.LANGS))],
    }


def _paging(default_limit: int) -> Schema:
    default = tk.get_validator("default")
    natural_number_validator = tk.get_validator("natural_number_validator")
    return {
        "limit": [
            v.mes_schedule_strip, default(default_limit), natural_number_validator, v.mes_schedule_at_most(v.MAX_LIMIT)
        ],
        "offset": [v.mes_schedule_strip, default(0), natural_number_validator, v.mes_schedule_at_most(v.MAX_OFFSET)],
    }


def _text(first: str) -> list[Any]:
    """The validator named `first`, then what every free-text field gets: unicode, stripped, no NUL character."""
    names = (first, "unicode_safe", "strip_value", "mes_schedule_no_nul_character")
    return [tk.get_validator(name) for name in names]


def _required_id(key: str) -> Schema:
    return {key: _text("not_empty")}


def _dataset_id() -> Schema:
    """The dataset an action is about: ``id`` as in CKAN core, ``package_id`` accepted as its alias."""
    return {
        "id": _text("ignore_missing"),
        "package_id": _text("ignore_missing"),
        "__after": [v.mes_schedule_dataset_id],
    }


def mes_schedule_compliance_list() -> Schema:
    ignore_empty = tk.get_validator("ignore_empty")
    unicode_safe = tk.get_validator("unicode_safe")
    strip_value = tk.get_validator("strip_value")
    default = tk.get_validator("default")
    return {
        "organization": _text("ignore_empty"),
        "status": [ignore_empty, v.mes_schedule_status_list],
        "frequency": [ignore_empty, v.mes_schedule_frequency_filter],
        "q": [ignore_empty, unicode_safe, strip_value],
        "sort": [default("item"), v.mes_schedule_compliance_sort],
        **_paging(min(settings.page_size(), v.MAX_LIMIT)),
        **_as_of_and_lang(),
    }


def mes_schedule_compliance_show() -> Schema:
    return {**_dataset_id(), **_as_of_and_lang()}


def mes_schedule_publication_list() -> Schema:
    return {**_dataset_id(), **_paging(PUBLICATIONS_DEFAULT_LIMIT)}


def mes_schedule_event_create() -> Schema:
    return {
        **_dataset_id(),
        "event_date": [tk.get_validator("not_empty"), v.mes_schedule_iso_date, v.mes_schedule_not_in_future],
        "note": [*_text("ignore_empty"), v.mes_schedule_max_length(NOTE_MAX_LENGTH)],
    }


def mes_schedule_event_list() -> Schema:
    return _dataset_id()


def mes_schedule_event_delete() -> Schema:
    return {**_required_id("id"), "reason": [*_text("ignore_empty"), v.mes_schedule_max_length(NOTE_MAX_LENGTH)]}


def mes_schedule_declare_update() -> Schema:
    return {
        **_required_id("id"),
        "note": [*_text("ignore_empty"), v.mes_schedule_max_length(DECLARATION_NOTE_MAX_LENGTH)],
        "covers": _text("ignore_empty"),
    }


def mes_schedule_feed_token_create() -> Schema:
    return {"user": _text("ignore_empty")}


def mes_schedule_feed_token_revoke() -> Schema:
    return {"user": _text("ignore_empty")}
