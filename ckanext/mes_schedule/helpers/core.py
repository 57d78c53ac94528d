"""Template helpers of the schema and the dataset pages: language, the site title, frequencies, the legal basis,
and the chained core helpers that show titles and descriptions in the UI language."""
from __future__ import annotations

import datetime as dt
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
    "mes_schedule_site_title",
    "mes_schedule_error_text",
    "mes_schedule_activity_type_label",
    "mes_schedule_organization_view",
    # Chained core helpers: CKAN's own pages then show titles and descriptions in the UI language.
    "get_translated",
    "dataset_display_name",
    "organizations_available",
    "get_organization",
    "format_resource_items",
]


def N_(message: str) -> str:  # noqa: N802 (gettext's name for the marker)
    """Mark a string for extraction only: it is translated where it is used, at run time."""
    return message


# Strings CKAN and scheming pass to _() at run time that no catalog holds, marked so they are extracted into ours
# (Flask-Babel merges it over CKAN's): the keys of the registration form's errors (ValidationError's summary
# prettifies "password1") and a dataset's state (scheming's additional info shows `_(pkg.state)` to editors).
CKAN_RUNTIME_MSGIDS = (N_("Password1"), N_("Password2"), N_("active"), N_("draft"))

# Error pages: names of the HTTP errors (werkzeug's are English) and, for a mistyped address, a text instead of
# werkzeug's English description. Other codes show their number and CKAN's own (translated) message only.
_ERROR_NAMES = {
    400: N_("Bad request"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    500: N_("Internal server error"),
}
_ERROR_TEXTS = {404: N_("There is no page at this address. Check the address, or search the portal.")}


def mes_schedule_error_text(code: Any, content: Any) -> dict[str, Any]:
    """The status, name and text of an error page in the UI language: {"code", "name", "content"}. `code` is the
    status (CKAN passes [500] for an unexpected error), `content` CKAN's message or werkzeug's default text."""
    from werkzeug.exceptions import default_exceptions

    status = code[0] if isinstance(code, (list, tuple)) and code else code
    default = default_exceptions.get(status)
    generic = content in ("Internal server error", getattr(default, "description", None))
    if generic:
        content = tk._(_ERROR_TEXTS[status]) if status in _ERROR_TEXTS else ""
    return {"code": status, "name": tk._(_ERROR_NAMES[status]) if status in _ERROR_NAMES else "", "content": content}


# The activity stream's filter names each type by its code ("new package"); these are its words.
_ACTIVITY_TYPES = {
    "new package": N_("New dataset"),
    "changed package": N_("Dataset changed"),
    "deleted package": N_("Dataset deleted"),
    "follow dataset": N_("Dataset followed"),
    "new resource view": N_("New resource view"),
    "changed resource view": N_("Resource view changed"),
    "deleted resource view": N_("Resource view deleted"),
    "new organization": N_("New organisation"),
    "changed organization": N_("Organisation changed"),
    "deleted organization": N_("Organisation deleted"),
    "follow organization": N_("Organisation followed"),
    "new group": N_("New group"),
    "changed group": N_("Group changed"),
    "deleted group": N_("Group deleted"),
    "follow group": N_("Group followed"),
    "new user": N_("New user"),
    "changed user": N_("User changed"),
    "follow user": N_("User followed"),
}


def mes_schedule_activity_type_label(activity_type: str) -> str:
    """An activity type ("new package") in words in the UI language (unknown types: the code, capitalised)."""
    known = _ACTIVITY_TYPES.get(activity_type)
    return tk._(known) if known else activity_type.capitalize()


def mes_schedule_user_name(user_id: str | None) -> str:
    """Who a row of the record names, as CKAN shows users (full name, else user name); "-" when unknown."""
    user = model.User.get(user_id) if user_id else None
    return user.display_name if user is not None else "-"


# Fields that have _ru / _en companions in our schemas.
_LOCALIZED_FIELDS = ("title", "notes", "description")


def mes_schedule_lang() -> str:
    """The UI language reduced to one of the portal's three (kk, ru, en); others fall back to en."""
    return localization.ui_lang()


def mes_schedule_site_title() -> str:
    """The portal's name in the UI language (page titles, the header, the footer)."""
    return localization.site_title(mes_schedule_lang())


def mes_schedule_organization_view(org: dict[str, Any]) -> dict[str, Any]:
    """An organisation dict named and described in the UI language, for the pages whose view did not ask CKAN
    for a dict "for view" (an organisation's members page)."""
    return localization.organization_view(dict(org)) if isinstance(org, dict) else org


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


def _in_words(iso: str, lang: str) -> str:
    try:
        return localization.long_date(dt.date.fromisoformat(str(iso)[:10]), lang)
    except ValueError:
        return str(iso)


def mes_schedule_legal_basis(pkg: dict[str, Any]) -> dict[str, Any] | None:
    """The legal basis of a scheduled dataset, for the dataset page; None for datasets outside the order.
    Dates are ISO and in words (`*_in_words`); the act's link opens its text in the UI language."""
    item = pkg.get("mes_schedule_item")
    if item in (None, ""):
        return None
    order, lang = settings.order(), mes_schedule_lang()
    act_date = pkg.get("mes_schedule_act_date") or order.date.isoformat()
    return {
        "item": item,
        "act_number": pkg.get("mes_schedule_act_number") or order.number,
        "act_date": act_date,
        "act_date_in_words": _in_words(act_date, lang),
        "registration": pkg.get("mes_schedule_act_registration") or order.registration_number,
        "registration_date": order.registration_date.isoformat(),
        "registration_date_in_words": localization.long_date(order.registration_date, lang),
        "act_title": order.title.get(lang) or order.title["kk"],
        "act_title_lang": lang if order.title.get(lang) else "kk",
        "url": localization.act_url(order.url, lang),
        "url_lang": localization.act_text_lang(lang),
        "frequency": mes_schedule_frequency_label(pkg.get("mes_schedule_frequency")),
        "rule_in_words": mes_schedule_rule_in_words(pkg.get("mes_schedule_rule")),
        "deadline_kk": pkg.get("mes_schedule_deadline_kk") or "",
    }


@tk.chained_helper
def get_translated(next_helper: Any, data_dict: dict[str, Any], field: str) -> Any:
    if field in _LOCALIZED_FIELDS and isinstance(data_dict, dict):
        if data_dict.get("is_organization"):
            # A dataset's organisation carries no _ru / _en fields (the dataset form's breadcrumb).
            data_dict = localization.organization_view(dict(data_dict))
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


@tk.chained_helper
def organizations_available(next_helper: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """The organisations of the dataset form's select and of the dashboard, named in the UI language."""
    return [localization.organization_view(org) for org in next_helper(*args, **kwargs)]


@tk.chained_helper
def get_organization(next_helper: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The organisation of a dataset page's sidebar, named and described in the UI language."""
    return localization.organization_view(next_helper(*args, **kwargs))


# The fields of a resource's "more" rows that mean something to a reader, with CKAN's own words for them (the
# format and the dates have rows of their own). The rest are bookkeeping of CKAN and its plugins (ids, position,
# state, views, hashes, queue names), which showed as raw English field names in every language.
_RESOURCE_ITEMS = {"size": "File Size"}


@tk.chained_helper
def format_resource_items(next_helper: Any, items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """A resource page's extra rows: only those of _RESOURCE_ITEMS, labelled in the UI language."""
    wanted = [(key, value) for key, value in items if key in _RESOURCE_ITEMS]
    return [(tk._(_RESOURCE_ITEMS[key.replace(" ", "_")]), value) for key, value in next_helper(wanted)]
