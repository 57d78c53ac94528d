"""The one home of the reader's language and of the dates we write for people.

Everything that decides which of the portal's three languages (kk, ru, en) a page, a badge, a feed or an
e-mail speaks, how a date or a period is written in it, and what "today" is in Kazakhstan, lives here; the
rest of the package calls these functions instead of reducing locales or formatting dates itself.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Iterator, Mapping, Optional

import flask
from babel.dates import format_date

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import schedule, vocab

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


def long_date(day: Optional[dt.date], lang: str) -> str:
    """A date written out in `lang` (e.g. "2026 ж. 31 желтоқсан", "31 декабря 2026 г.")."""
    if day is None:
        return ""
    return format_date(day, format="long", locale=lang)


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
