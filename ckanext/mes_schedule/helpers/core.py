"""Template helpers of the schema and the dataset pages: language, frequencies, the legal basis, and the
chained core helpers that show titles and descriptions in the UI language."""
from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import localization, schedule, settings, vocab

__all__ = [
    "mes_schedule_frequency_choices",
    "mes_schedule_frequency_label",
    "mes_schedule_lang",
    "mes_schedule_localized",
    "mes_schedule_rule_in_words",
    "mes_schedule_order",
    "mes_schedule_legal_basis",
    "mes_schedule_user_name",
    # Chained core helpers: CKAN's own pages then show titles and descriptions in the UI language.
    "get_translated",
    "dataset_display_name",
]

def mes_schedule_user_name(user_id: str | None) -> str:
    """Who a row of the record names, as CKAN shows users (full name, else user name); "-" when unknown."""
    user = model.User.get(user_id) if user_id else None
    return user.display_name if user is not None else "-"


# Fields that have _ru / _en companions in our schemas.
_LOCALIZED_FIELDS = ("title", "notes", "description")


def mes_schedule_lang() -> str:
    """The UI language reduced to one of the portal's three (kk, ru, en); others fall back to en."""
    return localization.ui_lang()


def mes_schedule_frequency_choices(field: dict[str, Any]) -> list[dict[str, Any]]:
    """Choices for the frequency select: stored values are EU URIs, labels in all three languages."""
    return [{"value": vocab.frequency_uri(code), "label": labels} for code, labels in vocab.FREQUENCIES.items()]


def mes_schedule_frequency_label(value: str | None) -> str:
    return vocab.frequency_label(value, mes_schedule_lang())


def mes_schedule_localized(data: dict[str, Any], field: str) -> str:
    """`title` / `notes` / `description` in the UI language: the _ru or _en field when the UI is Russian or
    English and the field is filled, else the Kazakh original."""
    lang = mes_schedule_lang()
    if lang != "kk":
        value = data.get(f"{field}_{lang}")
        if value:
            return value
    return data.get(field) or ""


def mes_schedule_rule_in_words(rule_text: str | None) -> str:
    if not rule_text:
        return ""
    try:
        return schedule.describe(schedule.parse_rule(rule_text), mes_schedule_lang())
    except ValueError:
        return rule_text


def mes_schedule_order() -> schedule.Order:
    return settings.order()


def mes_schedule_legal_basis(pkg: dict[str, Any]) -> dict[str, Any] | None:
    """The legal basis of a scheduled dataset, for the dataset page; None for datasets outside the order."""
    item = pkg.get("mes_schedule_item")
    if item in (None, ""):
        return None
    order = settings.order()
    return {
        "item": item,
        "act_number": pkg.get("mes_schedule_act_number") or order.number,
        "act_date": pkg.get("mes_schedule_act_date") or order.date.isoformat(),
        "registration": pkg.get("mes_schedule_act_registration") or order.registration_number,
        "registration_date": order.registration_date.isoformat(),
        "act_title": order.title.get(mes_schedule_lang()) or order.title["kk"],
        "url": order.url,
        "frequency": mes_schedule_frequency_label(pkg.get("mes_schedule_frequency")),
        "rule_in_words": mes_schedule_rule_in_words(pkg.get("mes_schedule_rule")),
        "deadline_kk": pkg.get("mes_schedule_deadline_kk") or "",
    }


@tk.chained_helper
def get_translated(next_helper: Any, data_dict: dict[str, Any], field: str) -> Any:
    if field in _LOCALIZED_FIELDS and isinstance(data_dict, dict):
        value = mes_schedule_localized(data_dict, field)
        if value:
            return value
    return next_helper(data_dict, field)


@tk.chained_helper
def dataset_display_name(next_helper: Any, package_or_package_dict: Any) -> str:
    if isinstance(package_or_package_dict, dict):
        value = mes_schedule_localized(package_or_package_dict, "title")
        if value:
            return value
    return next_helper(package_or_package_dict)
