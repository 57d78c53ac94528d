"""Template helpers of the compliance pages, badges and facet."""
from __future__ import annotations

from typing import Any, Optional

from dominate import tags
from flask import g
from markupsafe import Markup

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, localization, vocab

__all__ = [
    "mes_schedule_pager",
    "mes_schedule_status_label",
    "mes_schedule_outcome_label",
    "mes_schedule_status_facet_label",
    "mes_schedule_status_of",
    "mes_schedule_compliance_of",
    "mes_schedule_badge_url",
    "mes_schedule_badge_embed",
]


def mes_schedule_status_label(status: str, lang: Optional[str] = None) -> str:
    """A compliance status (on_time, overdue, ...) in words, in the UI language unless `lang` is given."""
    return vocab.status_label(status, lang or localization.ui_lang())


def mes_schedule_outcome_label(outcome: str, lang: Optional[str] = None) -> str:
    """A period's outcome (on_time, late, missed, open) in words."""
    return vocab.outcome_label(outcome, lang or localization.ui_lang())


def mes_schedule_status_facet_label(facet_item: dict[str, Any]) -> str:
    """label_function of snippets/facet_list.html for the compliance facet: the status in words."""
    return mes_schedule_status_label(facet_item.get("name") or "")


def _current_user_name() -> str:
    user = tk.current_user
    return "" if user.is_anonymous else user.name


def _is_scheduled(pkg: Any) -> bool:
    return isinstance(pkg, dict) and pkg.get("mes_schedule_item") not in (None, "") and bool(pkg.get("id"))


def mes_schedule_status_of(pkg: dict[str, Any]) -> Optional[str]:
    """Today's status of a scheduled dataset the page already shows (a search result), else None.

    A search page shows many datasets: the statuses of everything the user may see are assessed once per
    request (the whole portal's assessments are cached by the compliance module) instead of once per row.
    """
    if not _is_scheduled(pkg):
        return None
    statuses: Optional[dict[str, str]] = getattr(g, "_mes_schedule_statuses", None)
    if statuses is None:
        rows = compliance.assess_datasets(visibility=compliance.visibility_for(_current_user_name()))
        statuses = {row.dataset.id: row.status for row in rows}
        g._mes_schedule_statuses = statuses
    return statuses.get(pkg["id"])


def mes_schedule_compliance_of(pkg: dict[str, Any], as_of: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The dataset's compliance (mes_schedule_compliance_show, as the current user), or None when the
    dataset is outside the order or the user may not see it."""
    if not _is_scheduled(pkg):
        return None
    data: dict[str, Any] = {"id": pkg["id"], "lang": localization.ui_lang()}
    if as_of:
        data["as_of"] = as_of
    try:
        return tk.get_action("mes_schedule_compliance_show")({"user": _current_user_name()}, data)
    except (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError):
        return None


def mes_schedule_badge_url(pkg: dict[str, Any], qualified: bool = False, lang: Optional[str] = None) -> str:
    """The address of the dataset's SVG badge (qualified: with the site URL, for embedding elsewhere)."""
    params = {"lang": lang} if lang else {}
    return tk.h.url_for("mes_schedule.badge", id=pkg.get("name") or pkg["id"], qualified=qualified, **params)


def mes_schedule_badge_embed(pkg: dict[str, Any], lang: Optional[str] = None) -> str:
    """An <img> tag to embed the badge on another site (plain text: the template escapes it)."""
    lang = lang or localization.ui_lang()
    alt = "{}: {}".format(vocab.order_label(lang), tk.h.dataset_display_name(pkg))
    src = mes_schedule_badge_url(pkg, qualified=True, lang=lang)
    return '<img src="{}" alt="{}">'.format(_attr(src), _attr(alt))


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )



def _arrow(icon: str, text: str) -> Any:
    return tags.span(tags.i(cls=f"fa-solid {icon}", aria_hidden="true"), tags.span(text, cls="visually-hidden"))


def mes_schedule_pager(page: Any) -> Markup:
    """CKAN's pager, with a name for each arrow link: an icon alone gives a screen reader nothing to say."""
    return page.pager(
        symbol_previous=_arrow("fa-chevron-left", tk._("Previous page")),
        symbol_next=_arrow("fa-chevron-right", tk._("Next page")),
    )
