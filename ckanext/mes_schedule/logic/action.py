"""API actions of ckanext-mes_schedule: compliance of the scheduled datasets, their publication history, and the
triggering events of event-driven items.

Statuses always come from `compliance.assess_datasets` (the engine), read in a few queries for any number of
datasets. Actions that take an id validate that id before checking access (a missing id is a ValidationError
naming the field, an unknown one ObjectNotFound, rather than a 403), and their other input after it.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any, Callable, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.lib.navl.dictization_functions import DataError
from ckan.types import Context, DataDict

from ckanext.mes_schedule import compliance, schedule, settings, vocab
from ckanext.mes_schedule.logic import schema
from ckanext.mes_schedule.model import Event, Publication

__all__ = [
    "mes_schedule_compliance_list",
    "mes_schedule_compliance_show",
    "mes_schedule_publication_list",
    "mes_schedule_event_create",
    "mes_schedule_event_list",
    "mes_schedule_event_delete",
]

_ = tk._

#: How many publications `mes_schedule_compliance_show` includes.
SHOW_PUBLICATIONS = 50


# ------------------------------------------------------------------------------------------------- helpers


def _navl(data_dict: DataDict, action_schema: dict[str, Any], context: Context) -> tuple[Any, Any]:
    try:
        return tk.navl_validate(data_dict, action_schema, context)
    except DataError:
        # CKAN 2.11's flattening refuses a list of plain values (2.12 validates it field by field): a list of
        # texts becomes the comma-separated form the validators accept, anything else is the caller's error.
        cleaned: dict[str, Any] = {}
        for key, value in data_dict.items():
            if isinstance(value, (list, tuple)) and not all(isinstance(v, dict) for v in value):
                if not all(isinstance(v, str) for v in value):
                    raise tk.ValidationError({key: [_("Must be text, or a list of texts")]})
                value = ",".join(value)
            cleaned[key] = value
        return tk.navl_validate(cleaned, action_schema, context)


def _validate(data_dict: DataDict, action_schema: dict[str, Any], context: Context) -> dict[str, Any]:
    data, errors = _navl(data_dict, action_schema, context)
    if errors:
        raise tk.ValidationError(errors)
    return data


def _validate_id_first(
    data_dict: DataDict, action_schema: dict[str, Any], context: Context, key: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate; a bad `key` (the id the access check needs) is raised at once, the other errors are returned
    to be raised after the access check (who may not act at all learns nothing about their input)."""
    data, errors = _navl(data_dict, action_schema, context)
    if key in errors:
        raise tk.ValidationError({key: errors[key]})
    return data, errors


def _raise(errors: dict[str, Any]) -> None:
    if errors:
        raise tk.ValidationError(errors)


def _request_lang() -> str:
    """The UI language reduced to kk, ru or en (others read English, as on the pages)."""
    try:
        lang = tk.h.lang() or ""
    except (RuntimeError, AttributeError, KeyError):  # no request: the CLI, jobs, tests
        lang = ""
    lang = (lang or tk.config.get("ckan.locale_default") or "en").split("_")[0].split("-")[0]
    return lang if lang in vocab.LANGS else "en"


def _iso(day: Optional[dt.date]) -> Optional[str]:
    return day.isoformat() if day else None


def _package(name_or_id: str) -> model.Package:
    """The dataset (by id or name); deleted ones are not found."""
    pkg = model.Package.get(name_or_id)
    if pkg is None or pkg.state == "deleted":
        raise tk.ObjectNotFound(_("Dataset not found: {id}").format(id=name_or_id))
    return pkg


def _commit(context: Context) -> None:
    if not context.get("defer_commit"):
        model.repo.commit()


def _user_id(context: Context) -> Optional[str]:
    user = context.get("auth_user_obj") or (model.User.get(context["user"]) if context.get("user") else None)
    return getattr(user, "id", None)


def _group_extras_column() -> bool:
    # CKAN 2.12 keeps group extras in a JSONB column of the group table; 2.11 in the group_extra table.
    return "extras" in model.group_table.c


def _organizations(ids: Iterable[Optional[str]], lang: str) -> dict[str, tuple[str, str]]:
    """id -> (name, title in `lang`), for the organisations given, in one or two queries."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    g = model.group_table
    title_key = f"title_{lang}" if lang in ("ru", "en") else None
    if _group_extras_column():
        rows = model.Session.execute(sa.select(g.c.id, g.c.name, g.c.title, g.c.extras).where(g.c.id.in_(wanted)))
        found = {r.id: (r.name, r.title, (r.extras or {}).get(title_key) if title_key else None) for r in rows}
    else:
        rows = model.Session.execute(sa.select(g.c.id, g.c.name, g.c.title).where(g.c.id.in_(wanted))).all()
        translated: dict[str, str] = {}
        if title_key:
            e = model.group_extra_table
            translated = dict(
                model.Session.execute(
                    sa.select(e.c.group_id, e.c.value).where(
                        e.c.group_id.in_(wanted), e.c.key == title_key, e.c.state == "active"
                    )
                ).all()
            )
        found = {r.id: (r.name, r.title, translated.get(r.id)) for r in rows}
    return {gid: (name, local or title or name) for gid, (name, title, local) in found.items()}


def _organization_id(name_or_id: str) -> str:
    group = model.Group.get(name_or_id)
    if group is None or not group.is_organization or group.state != "active":
        raise tk.ValidationError({"organization": [_("Organization not found: {id}").format(id=name_or_id[:100])]})
    return group.id


# Kazakh Cyrillic alphabet order; Russian's is the same with the Kazakh letters left out. Code points would put
# Ә, Ғ, Қ, Ң, Ө, Ұ, Ү, Һ, І after Я.
_CYRILLIC_ORDER = {
    letter: position
    for position, letter in enumerate("аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя")
}


def _title_key(text: str) -> tuple[int, ...]:
    out = []
    for char in unicodedata.normalize("NFC", text.casefold()):
        position = _CYRILLIC_ORDER.get(char)
        out.append(0x10000 + position if position is not None else ord(char))
    return tuple(out)


# --------------------------------------------------------------------------------------------- compliance


def _row(row: compliance.ComplianceRow, lang: str, orgs: dict[str, tuple[str, str]]) -> dict[str, Any]:
    ds, a = row.dataset, row.assessment
    org_name, org_title = orgs.get(ds.owner_org or "", (None, None))
    return {
        "id": ds.id,
        "name": ds.name,
        "title": ds.title_in(lang),
        "title_kk": ds.title,
        "title_ru": ds.title_ru,
        "title_en": ds.title_en,
        "organization": org_name,
        "organization_title": org_title,
        "private": ds.private,
        "item": ds.item,
        "status": a.status,
        "previous_due": _iso(a.previous_due),
        "next_due": _iso(a.next_due),
        "last_published": _iso(a.last_published),
        "on_time_rate": a.on_time_rate,
        "frequency": ds.frequency,
        "rule": str(row.rule) if row.rule else ds.rule_text,
        "rule_in_words": schedule.describe(row.rule, lang) if row.rule else "",
        "deadline_kk": ds.deadline_kk,
    }


def _sort_key(field: str, lang: str) -> Callable[[compliance.ComplianceRow], Any]:
    severity = {status: position for position, status in enumerate(schedule.STATUSES)}
    keys: dict[str, Callable[[compliance.ComplianceRow], Any]] = {
        "item": lambda r: r.dataset.item,
        "title": lambda r: _title_key(r.dataset.title_in(lang)),
        "status": lambda r: severity.get(r.status, len(severity)),
        "next_due": lambda r: r.assessment.next_due,
        "previous_due": lambda r: r.assessment.previous_due,
        "last_published": lambda r: r.assessment.last_published,
        "on_time_rate": lambda r: r.assessment.on_time_rate,
    }
    return keys[field]


def _sorted(rows: list[compliance.ComplianceRow], sort: str, lang: str) -> list[compliance.ComplianceRow]:
    """Sorted by `sort` ("-" first: descending); rows without a value last either way; ties by item, then name."""
    descending, field = sort.startswith("-"), sort.lstrip("-")
    key = _sort_key(field, lang)
    ordered = sorted(rows, key=lambda r: (r.dataset.item is None, r.dataset.item or 0, r.dataset.name))
    present = [r for r in ordered if key(r) is not None]
    absent = [r for r in ordered if key(r) is None]
    present.sort(key=key, reverse=descending)  # stable: ties keep the item order
    return present + absent


def _matches(row: compliance.ComplianceRow, q: Optional[str], frequency: Optional[str]) -> bool:
    ds = row.dataset
    if frequency and vocab.frequency_code(ds.frequency) != frequency:
        return False
    if q:
        needle = q.casefold()
        if not any(needle in (text or "").casefold() for text in (ds.title, ds.title_ru, ds.title_en, ds.name)):
            return False
    return True


def _summary(rows: list[compliance.ComplianceRow]) -> dict[str, Any]:
    by_status = {status: 0 for status in schedule.STATUSES}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    rates = [row.assessment.on_time_rate for row in rows if row.assessment.on_time_rate is not None]
    return {
        "total": len(rows),
        "by_status": by_status,
        "on_time_rate": sum(rates) / len(rates) if rates else None,
    }


@tk.side_effect_free
def mes_schedule_compliance_list(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """The compliance of the scheduled datasets (those with an item number of Order No. 120) that the user may
    see, filtered, sorted and paged, with a summary.

    The summary counts the rows that pass the organization, frequency and q filters, before the status filter,
    so that it stays whole while one status is shown.

    :param organization: only this organization's datasets (id or name; optional). An unknown organization is
        a ValidationError on ``organization``.
    :type organization: string
    :param status: only these statuses (one of ``overdue``, ``never_published``, ``late``, ``due_soon``,
        ``on_time``, ``not_yet_due``, ``no_deadline``; a list or a comma-separated string; optional)
    :type status: string or list of strings
    :param frequency: only this frequency: an EU frequency code (``QUARTERLY``) or its full URI (optional)
    :type frequency: string
    :param q: only datasets whose Kazakh, Russian or English title or name contains this text, ignoring case
        (optional)
    :type q: string
    :param sort: ``item`` (default), ``title``, ``status`` (most severe first), ``next_due``, ``previous_due``,
        ``last_published`` or ``on_time_rate``; a leading ``-`` sorts descending. Rows without a value come
        last either way.
    :type sort: string
    :param limit: rows to return (default: ``ckanext.mes_schedule.page_size``; at most 1000; 0 returns the
        count and summary only)
    :type limit: int
    :param offset: rows to skip (default 0)
    :type offset: int
    :param as_of: the date to assess on (YYYY-MM-DD; default: today in Asia/Almaty); publications after it
        are ignored
    :type as_of: string
    :param lang: ``kk``, ``ru`` or ``en``: the language of ``title``, ``organization_title`` and
        ``rule_in_words``, and of title sorting (default: the request's language)
    :type lang: string

    :returns: ``{"count", "as_of", "summary": {"total", "by_status", "on_time_rate"}, "results": [...]}``;
        each result has id, name, title, title_kk, title_ru, title_en, organization, organization_title,
        private, item, status, previous_due, next_due, last_published, on_time_rate, frequency, rule,
        rule_in_words, deadline_kk
    :rtype: dictionary
    """
    tk.check_access("mes_schedule_compliance_list", context, data_dict)
    data = _validate(data_dict, schema.mes_schedule_compliance_list(), context)
    as_of: dt.date = data.get("as_of") or compliance.today()
    lang: str = data.get("lang") or _request_lang()
    organization_id = _organization_id(data["organization"]) if data.get("organization") else None

    # The whole portal's assessment is cached between requests (compliance.py); one organisation is a filter
    # on it rather than a separate, uncached read.
    rows = compliance.assess_datasets(as_of=as_of, visibility=compliance.visibility_for(context.get("user")))
    rows = [
        r
        for r in rows
        if (organization_id is None or r.dataset.owner_org == organization_id)
        and _matches(r, data.get("q"), data.get("frequency"))
    ]
    summary = _summary(rows)
    statuses = data.get("status")
    if statuses:
        rows = [r for r in rows if r.status in statuses]
    rows = _sorted(rows, data["sort"], lang)
    page = rows[data["offset"] : data["offset"] + data["limit"]]
    orgs = _organizations((r.dataset.owner_org for r in page), lang)
    return {
        "count": len(rows),
        "as_of": as_of.isoformat(),
        "summary": summary,
        "results": [_row(r, lang, orgs) for r in page],
    }


def _period(outcome: schedule.PeriodOutcome) -> dict[str, Any]:
    period = outcome.period
    return {
        "label": period.label,
        "covers": period.covers,
        "opens": _iso(period.opens),
        "due": _iso(period.due),
        "closes": _iso(period.closes),
        "outcome": outcome.outcome,
        "published": [day.isoformat() for day in outcome.published],
        "first_published": _iso(outcome.first_published),
    }


@tk.side_effect_free
def mes_schedule_compliance_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """The compliance of one scheduled dataset, with its periods, events and latest publications.

    Who may read the dataset (package_show) may read this. A dataset that is not in the schedule (no item
    number of the order) is not found.

    :param id: the dataset's id or name
    :type id: string
    :param as_of: the date to assess on (YYYY-MM-DD; default: today in Asia/Almaty)
    :type as_of: string
    :param lang: ``kk``, ``ru`` or ``en`` (default: the request's language)
    :type lang: string

    :returns: the row of ``mes_schedule_compliance_list`` plus ``periods`` (newest first: label, covers, opens,
        due, closes, outcome, published, first_published), ``current_period`` (the label of the period
        containing as_of, or null), ``events`` (oldest first) and ``publications`` (the latest 50, newest
        first)
    :rtype: dictionary
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_compliance_show(), context, "id")
    pkg = _package(data["id"])
    tk.check_access("mes_schedule_compliance_show", context, {"id": pkg.id})
    _raise(errors)
    as_of: dt.date = data.get("as_of") or compliance.today()
    lang: str = data.get("lang") or _request_lang()
    rows = compliance.assess_datasets(as_of=as_of, package_ids=[pkg.id])
    if not rows or rows[0].dataset.item is None:
        raise tk.ObjectNotFound(
            _("The dataset {name} is not in the publication schedule (it has no item of the order)").format(
                name=pkg.name
            )
        )
    row = rows[0]
    result = _row(row, lang, _organizations([row.dataset.owner_org], lang))
    result["as_of"] = as_of.isoformat()
    result["periods"] = [_period(o) for o in reversed(row.assessment.periods)]
    result["current_period"] = row.assessment.current.label if row.assessment.current else None
    result["events"] = _events(pkg.id)
    result["publications"] = _publications(pkg.id, SHOW_PUBLICATIONS, 0)
    return result


# ------------------------------------------------------------------------------------------- publications


def _publication(p: Publication) -> dict[str, Any]:
    return {
        "id": p.id,
        "resource_id": p.resource_id,
        "kind": p.kind,
        "url": p.url,
        "published_at": p.published_at.isoformat() + "Z",
        "published_on": schedule.local_date(p.published_at).isoformat(),
    }


def _publications(package_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    query = (
        sa.select(Publication)
        .where(Publication.package_id == package_id)
        .order_by(Publication.published_at.desc(), Publication.id)
        .limit(limit)
        .offset(offset)
    )
    return [_publication(p) for p in model.Session.scalars(query)]


@tk.side_effect_free
def mes_schedule_publication_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """The publication history of a dataset, newest first: every resource created, file uploaded and URL
    changed (and the ``backfill`` rows of the history filled from existing resources). Rows stay after their
    resource is deleted.

    :param id: the dataset's id or name
    :type id: string
    :param limit: how many (default 100, at most 1000)
    :type limit: int
    :param offset: how many to skip (default 0)
    :type offset: int

    :returns: ``[{"id", "resource_id", "kind", "url", "published_at" (UTC, ISO with Z), "published_on" (the
        Asia/Almaty date)}]``
    :rtype: list of dictionaries
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_publication_list(), context, "id")
    pkg = _package(data["id"])
    tk.check_access("mes_schedule_publication_list", context, {"id": pkg.id})
    _raise(errors)
    return _publications(pkg.id, data["limit"], data["offset"])


# ------------------------------------------------------------------------------------------------- events


def _event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "package_id": e.package_id,
        "event_date": e.event_date.isoformat(),
        "note": e.note or "",
        "created_by": e.created_by,
        "created_at": e.created_at.isoformat() + "Z" if e.created_at else None,
    }


def _events(package_id: str) -> list[dict[str, Any]]:
    query = sa.select(Event).where(Event.package_id == package_id).order_by(Event.event_date, Event.created_at)
    return [_event(e) for e in model.Session.scalars(query)]


def _event_rule(pkg: model.Package) -> schedule.Rule:
    datasets = compliance.scheduled_datasets(package_ids=[pkg.id])
    rule: Optional[schedule.Rule] = None
    if datasets and datasets[0].rule_text:
        try:
            rule = schedule.parse_rule(datasets[0].rule_text)
        except ValueError:
            rule = None
    if rule is None or rule.kind != "event":
        raise tk.ValidationError(
            {
                "package_id": [
                    _("The deadline rule of {name} is not event-driven: events are recorded for event rules only").format(
                        name=pkg.name
                    )
                ]
            }
        )
    return rule


def mes_schedule_event_create(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Record a triggering event of an event-driven dataset (e.g. the approval of the register of public
    services): its publication is then due within the rule's working days.

    Only administrators of the dataset's organization (and sysadmins) may record events.

    :param package_id: the dataset's id or name; its rule must be event-driven
        (``event working-days=N ...``)
    :type package_id: string
    :param event_date: the date the event happened (YYYY-MM-DD): not in the future, not before the schedule's
        start, not twice for one dataset, and no more than the rule's ``max-per-year`` in one calendar year
    :type event_date: string
    :param note: what happened, e.g. the act that approved the register (optional, at most 1000 characters)
    :type note: string

    :returns: the event: id, package_id, event_date, note, created_by (user id), created_at (UTC)
    :rtype: dictionary
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_event_create(), context, "package_id")
    pkg = _package(data["package_id"])
    tk.check_access("mes_schedule_event_create", context, {"package_id": pkg.id})
    _raise(errors)
    rule = _event_rule(pkg)
    day: dt.date = data["event_date"]
    start = settings.start_date()
    if day < start:
        raise tk.ValidationError(
            {"event_date": [_("The date is before the schedule starts ({start})").format(start=start.isoformat())]}
        )
    existing = [d for (d,) in model.Session.execute(sa.select(Event.event_date).where(Event.package_id == pkg.id))]
    if day in existing:
        raise tk.ValidationError(
            {"event_date": [_("An event on {date} is already recorded for this dataset").format(date=day.isoformat())]}
        )
    if rule.max_per_year is not None and sum(d.year == day.year for d in existing) >= rule.max_per_year:
        raise tk.ValidationError(
            {
                "event_date": [
                    _("The rule allows at most {n} events a year, and {year} has them already").format(
                        n=rule.max_per_year, year=day.year
                    )
                ]
            }
        )
    event = Event(package_id=pkg.id, event_date=day, note=data.get("note") or None, created_by=_user_id(context))
    model.Session.add(event)
    try:
        model.Session.flush()
    except IntegrityError:
        # Another request recorded the same date in the meantime.
        model.Session.rollback()
        raise tk.ValidationError(
            {"event_date": [_("An event on {date} is already recorded for this dataset").format(date=day.isoformat())]}
        )
    result = _event(event)
    _commit(context)
    return result


@tk.side_effect_free
def mes_schedule_event_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """The recorded triggering events of a dataset, oldest first.

    :param package_id: the dataset's id or name
    :type package_id: string

    :returns: ``[{"id", "package_id", "event_date", "note", "created_by", "created_at"}]``
    :rtype: list of dictionaries
    """
    data = _validate(data_dict, schema.mes_schedule_event_list(), context)
    pkg = _package(data["package_id"])
    tk.check_access("mes_schedule_event_list", context, {"package_id": pkg.id})
    return _events(pkg.id)


def mes_schedule_event_delete(context: Context, data_dict: DataDict) -> None:
    """Delete a recorded event (e.g. one entered with a wrong date).

    Only administrators of the dataset's organization (and sysadmins) may delete events.

    :param id: the event's id
    :type id: string
    """
    data = _validate(data_dict, schema.mes_schedule_event_delete(), context)
    event = model.Session.get(Event, data["id"])
    if event is None:
        raise tk.ObjectNotFound(_("Event not found: {id}").format(id=data["id"][:100]))
    tk.check_access("mes_schedule_event_delete", context, {"id": event.id})
    model.Session.delete(event)
    _commit(context)
