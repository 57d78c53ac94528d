"""The one home of the reader's language and of the dates we write for people.

Everything that decides which of the portal's three languages (kk, ru, en) a page, a badge, a feed or an
e-mail speaks, how a date or a period is written in it, and what "today" is in Kazakhstan, lives here; the
rest of the package calls these functions instead of reducing locales or formatting dates itself. So do the
words CKAN itself shows from its own records: the site title, organisations' titles and descriptions (their
`_ru` / `_en` fields of the organisation schema) and licence titles (`*_view` functions below, called from
the plugin's view hooks).
"""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Iterable, Iterator, Mapping, Optional

import flask
from babel.dates import format_date

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import schedule, settings, vocab

__all__ = [
    "LANGS",
    "reduce_lang",
    "ui_lang",
    "lang_param",
    "forced_locale",
    "request_context",
    "long_date",
    "period_in_words",
    "today",
    "utcnow",
    "site_title",
    "act_url",
    "act_text_lang",
    "organization_view",
    "dataset_view",
    "search_facets_view",
]

LANGS = vocab.LANGS


def reduce_lang(value: Optional[str], default: str = "en") -> str:
    """A locale code ("ru", "ru_RU", "en-GB", "kk") reduced to one of the portal's languages."""
    lang = (value or "").split("_")[0].split("-")[0].lower()
    return lang if lang in LANGS else default


def ui_lang() -> str:
    """The language of the current request's UI; outside a request (CLI, jobs) the portal's default.
    Languages other than ours read English, as CKAN's own pages do."""
    try:
        lang = tk.h.lang() or ""
    except (RuntimeError, AttributeError, KeyError, TypeError):  # no request: the CLI, jobs, tests
        lang = ""
    return reduce_lang(lang or tk.config.get("ckan.locale_default"))


def lang_param(args: Mapping[str, Any]) -> str:
    """The `?lang=` of a page, a badge, an export or a feed: absent or empty means the UI language; anything
    but kk, ru or en is a 400 that names the parameter."""
    raw = args.get("lang")
    if raw in (None, ""):
        return ui_lang()
    if raw not in LANGS:
        tk.abort(
            400,
            tk._("lang: must be one of {choices}, not '{value}'").format(choices=", ".join(LANGS), value=raw),
        )
    return str(raw)


@contextlib.contextmanager
def forced_locale(lang: str) -> Iterator[None]:
    """Translate with `lang` (kk, ru or en) whatever the request's language (e-mails, feeds)."""
    from flask_babel import force_locale

    with force_locale(lang):
        yield


def request_context() -> contextlib.AbstractContextManager[Any]:
    """A Flask request context for rendering templates and translating outside a web request.

    The CLI and the background worker both build CKAN's app (`make_app`) before running our code; CKAN keeps
    a test request context of that app for `url_for` outside requests, and we open a fresh one on the same
    app rather than pushing CKAN's shared one.
    """
    if flask.has_request_context():
        return contextlib.nullcontext()
    if flask.has_app_context():
        return flask.current_app.test_request_context()
    from ckan.config import middleware

    internal = middleware._internal_test_request_context
    if internal is None:
        raise RuntimeError("CKAN's web application has not been created: run this through the `ckan` command")
    return internal.app.test_request_context()


# CLDR's long Russian date ends in the abbreviation "г.", which doubles the full stop of every sentence that
# ends with a date ("... 30 ноября 2026 г.."); the word in full is what Kazakhstan's legal texts write.
_LONG_DATE_PATTERNS = {"ru": "d MMMM y 'года'"}


def long_date(day: Optional[dt.date], lang: str) -> str:
    """A date written out in `lang` (e.g. "2026 ж. 31 желтоқсан", "31 декабря 2026 года", "December 31, 2026");
    never ends in a full stop, so a sentence may end with it."""
    if day is None:
        return ""
    return format_date(day, format=_LONG_DATE_PATTERNS.get(lang, "long"), locale=lang)


def period_in_words(period: schedule.Period, lang: str) -> str:
    """What a period is for: "quarter III of 2026", "December 2026", "year 2026", "the event of ...".
    Translated with the current (possibly forced) locale; month names in `lang`."""
    year, quarter, month = period.covers_year, period.covers_quarter, period.covers_month
    if year is not None and quarter is not None:
        return tk._("quarter {quarter} of {year}").format(quarter=schedule.ROMAN[quarter], year=year)
    if year is not None and month is not None:
        return format_date(dt.date(year, month, 1), format="LLLL y", locale=lang)
    if year is not None:
        return tk._("year {year}").format(year=year)
    return tk._("the event of {date}").format(date=long_date(period.opens, lang))


def today() -> dt.date:
    """Today in Kazakhstan (Asia/Almaty), whatever the server's time zone."""
    return schedule.local_date(dt.datetime.now(dt.timezone.utc))


def utcnow() -> dt.datetime:
    """Now as CKAN stores timestamps: naive UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def day_start_utc(day: dt.date) -> dt.datetime:
    """The instant a local (Asia/Almaty) day begins, as the naive UTC timestamps CKAN and the record store."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=schedule.TZ)
    return start.astimezone(dt.timezone.utc).replace(tzinfo=None)


def local_time(moment: dt.datetime) -> str:
    """A naive UTC timestamp as the local (Asia/Almaty) time of day, HH:MM."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(schedule.TZ).strftime("%H:%M")


# ------------------------------------------------------------------------ words CKAN shows from its own records


def site_title(lang: str) -> str:
    """The portal's name in `lang`: `ckanext.mes_schedule.site_title_ru` / `_en` when set, else CKAN's site
    title (the Kazakh name, which a sysadmin may also change at /ckan-admin/config)."""
    from ckan.lib.app_globals import app_globals

    return settings.site_title(lang) or str(app_globals.site_title or tk.config.get("ckan.site_title") or "")


# adilet.zan.kz serves an act's text under a language folder (/kaz/, /rus/); its English folder holds only some
# acts, so English readers get the Russian text, the official language they are likelier to read.
_ADILET_FOLDERS = {"kk": "/kaz/", "ru": "/rus/"}
_ACT_TEXT_LANGS = {"kk": "kk", "ru": "ru", "en": "ru"}


def act_text_lang(lang: str) -> str:
    """The language of the act's text that a reader of `lang` gets (kk or ru; the link's `hreflang`)."""
    return _ACT_TEXT_LANGS.get(lang, "ru")


def act_url(url: str, lang: str) -> str:
    """The address of an act's text on adilet.zan.kz for a reader of `lang` (other addresses unchanged)."""
    if "adilet.zan.kz/" not in url:
        return url
    wanted = _ADILET_FOLDERS[act_text_lang(lang)]
    for folder in _ADILET_FOLDERS.values():
        if folder in url:
            return url.replace(folder, wanted, 1)
    return url


# Fields of the organisation schema (schemas/organization.yaml) with _ru / _en companions.
_ORGANIZATION_FIELDS = ("title", "description")


def _stored_texts(org: Mapping[str, Any]) -> Mapping[str, Any]:
    """The _ru / _en fields of an organisation dict: top-level (after the schema), in its `extras` list (as
    dictized), or, for the bare organisation a dataset or a facet carries, from the database."""
    if any(f"{field}_{lang}" in org for field in _ORGANIZATION_FIELDS for lang in LANGS):
        return org
    extras = org.get("extras")
    if isinstance(extras, dict) and extras:
        return extras
    if isinstance(extras, list) and extras:
        return {str(e.get("key")): e.get("value") for e in extras if isinstance(e, dict)}
    group = model.Group.get(org.get("id") or org.get("name") or "")
    return dict(group.extras or {}) if group is not None else {}


def organization_view(org: dict[str, Any], lang: Optional[str] = None) -> dict[str, Any]:
    """An organisation dict about to be shown: title, display name and description in the UI language (the
    Kazakh originals stay when the translation is empty). Changes `org` in place and returns it."""
    lang = lang or ui_lang()
    if lang == "kk" or not isinstance(org, dict):
        return org
    texts = _stored_texts(org)
    title, description = texts.get(f"title_{lang}"), texts.get(f"description_{lang}")
    if title:
        org["title"] = org["display_name"] = title
    if description:
        org["description"] = description
    return org


def dataset_view(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """A dataset dict about to be shown: its organisation in the UI language, and its licence title translated
    now (the dict may come from the search index, written in whatever language the last save spoke)."""
    if isinstance(pkg_dict.get("organization"), dict):
        organization_view(pkg_dict["organization"])
    license_id = pkg_dict.get("license_id")
    found = model.Package.get_license_register().get(license_id) if license_id else None
    if found is not None:
        pkg_dict["license_title"] = found.title
    return pkg_dict


def _titles_by_name(names: Iterable[str], lang: str) -> dict[str, str]:
    groups = model.Session.query(model.Group).filter(model.Group.name.in_(list(names))).all()
    titles = {g.name: str((g.extras or {}).get(f"title_{lang}") or "") for g in groups}
    return {name: title for name, title in titles.items() if title}


def search_facets_view(search_results: dict[str, Any]) -> dict[str, Any]:
    """Search results about to be shown or returned: the organisation facet's items (the facet list and the
    "filtered by" pills read `display_name`) named in the UI language."""
    lang = ui_lang()
    items = ((search_results.get("search_facets") or {}).get("organization") or {}).get("items") or []
    if lang == "kk" or not items:
        return search_results
    titles = _titles_by_name((item["name"] for item in items), lang)
    for item in items:
        item["display_name"] = titles.get(item["name"], item["display_name"])
    return search_results
