"""API actions of ckanext-mes_schedule: compliance of the scheduled datasets, their publication history, and the
triggering events of event-driven items.

Statuses always come from `compliance.assess_datasets` (the engine), read in a few queries for any number of
datasets. Actions that take an id validate that id before checking access (a missing id is a ValidationError
naming the field, an unknown one ObjectNotFound, rather than a 403), and their other input after it.

Conventions of CKAN core: a dataset is given as ``id`` (``package_id``, which the event actions took first, is
its alias); ``sort`` reads ``field desc`` as ``package_search`` does; a parameter an action does not know is a
ValidationError naming it, as ``package_search`` refuses its unknown parameters.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any, Callable, Iterable, Optional, cast

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.lib.navl.dictization_functions import DataError
from ckan.types import Context, DataDict

from ckanext.mes_schedule import (
    amendments,
    compliance,
    datastore_evidence,
    history,
    localization,
    page_cache,
    schedule,
    settings,
)
from ckanext.mes_schedule.logic import ACTIONS, DATASTORE_CHAINED, schema
from ckanext.mes_schedule.model import (
    RETRACTION,
    Event,
    FeedToken,
    Publication,
    Reminder,
    extras_in_column,
    package_items,
    user_id,
)

__all__ = [*ACTIONS, "dataset_purge", *DATASTORE_CHAINED]

_ = tk._

#: How many publications `mes_schedule_compliance_show` includes.
SHOW_PUBLICATIONS = 50


# ------------------------------------------------------------------------------------------------- helpers


def _ignored_keys() -> set[str]:
    """Keys a client adds to any call that are no parameter of an action: jQuery's cache-busting ``_`` on a GET,
    and the CSRF token of a form posted by a logged-in browser (core's package_* actions ignore both)."""
    return {"_", tk.config.get("WTF_CSRF_FIELD_NAME") or "_csrf_token"}


def _unknown_parameters(data: dict[str, Any], known: Iterable[str]) -> dict[str, list[str]]:
    """Errors naming the parameters the action's schema does not know (navl leaves them in ``__extras``, or in
    ``__junk`` when they hold lists of mappings), as ``package_search`` refuses its unknown parameters: a
    misspelt filter must not silently return everything. A known parameter holding mappings is junk too."""
    names = {str(key) for key in data.pop("__extras", None) or {}}
    names |= {str(key[0] if isinstance(key, tuple) else key) for key in data.pop("__junk", None) or {}}
    # navl hands a list of mappings under a known key back untouched, past the key's validators.
    names |= {key for key in known if isinstance(data.get(key), list) and any(isinstance(v, dict) for v in data[key])}
    return {
        name[:100]: [_("Must be text, or a list of texts") if name in known else _("Unknown parameter")]
        for name in sorted(names - _ignored_keys())
    }


def _navl(data_dict: DataDict, action_schema: dict[str, Any], context: Context) -> tuple[Any, Any]:
    data, errors = _navl_flat(data_dict, action_schema, context)
    unknown = _unknown_parameters(data, action_schema)
    return data, {**unknown, **errors} if unknown else errors


def _navl_flat(data_dict: DataDict, action_schema: dict[str, Any], context: Context) -> tuple[Any, Any]:
    try:
        return tk.navl_validate(data_dict, action_schema, context)
    except DataError:
        # CKAN 2.11's flattening refuses a list of plain values (2.12 validates it field by field): a list of
        # texts becomes the comma-separated form the validators accept, anything else is the caller's error.
        cleaned: dict[str, Any] = {}
        for key, value in data_dict.items():
            if isinstance(value, (list, tuple)) and not all(isinstance(v, dict) for v in value):
                if not all(isinstance(v, str) for v in value):
                    raise tk.ValidationError({key: [_("Must be text, or a list of texts")]}) from None
                value = ",".join(value)
            cleaned[key] = value
        return tk.navl_validate(cleaned, action_schema, context)


def _validate(data_dict: DataDict, action_schema: dict[str, Any], context: Context) -> dict[str, Any]:
    data, errors = _navl(data_dict, action_schema, context)
    if errors:
        raise tk.ValidationError(errors)
    return data


#: The keys naming the dataset of an action (``package_id`` is the alias of ``id``; schema._dataset_id).
DATASET_KEYS = ("id", "package_id")


def _validate_id_first(
    data_dict: DataDict, action_schema: dict[str, Any], context: Context, keys: str | tuple[str, ...] = "id"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate; a bad id among `keys` (the id the access check needs) is raised at once, the other errors are
    returned to be raised after the access check (who may not act at all learns nothing about their input)."""
    data, errors = _navl(data_dict, action_schema, context)
    bad = {key: errors[key] for key in ((keys,) if isinstance(keys, str) else keys) if key in errors}
    if bad:
        raise tk.ValidationError(bad)
    return data, errors


def _given_key(data_dict: DataDict) -> str:
    """The key the caller named the dataset with, for errors about that dataset."""
    return "package_id" if "id" not in data_dict and "package_id" in data_dict else "id"


def _raise(errors: dict[str, Any]) -> None:
    if errors:
        raise tk.ValidationError(errors)


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


def _organizations(ids: Iterable[Optional[str]], lang: str) -> dict[str, tuple[str, str]]:
    """id -> (name, title in `lang`), for the organisations given, in one or two queries."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    g = model.group_table
    title_key = f"title_{lang}" if lang in ("ru", "en") else None
    if extras_in_column(model.group_table):
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
        ``last_published`` or ``on_time_rate``, optionally followed by ``asc`` or ``desc`` as in
        ``package_search`` (``next_due desc``); a leading ``-`` sorts descending too (``-next_due``). One key;
        rows without a value come last either way.
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
    as_of: dt.date = data.get("as_of") or localization.today()
    lang: str = data.get("lang") or localization.ui_lang()
    organization_id = _organization_id(data["organization"]) if data.get("organization") else None
    # What anonymous callers get is the same for all of them until the record changes: kept in the page cache
    # that every web node shares (a text search or a past date is computed each time, as on the page).
    shared = not context.get("user") and not data.get("q") and not data.get("as_of") and page_cache.enabled()
    if shared:
        key = page_cache.key_for("compliance_list", sorted((k, repr(v)) for k, v in data.items()), as_of, lang)
        result = page_cache.get_value(key)
        if result is None:
            result = _compliance_list(data, as_of, lang, organization_id, context)
            page_cache.put_value(key, result)
        return cast(dict[str, Any], result)
    return _compliance_list(data, as_of, lang, organization_id, context)


def _compliance_list(
    data: dict[str, Any], as_of: dt.date, lang: str, organization_id: Optional[str], context: Context
) -> dict[str, Any]:

    # The whole portal's assessment is cached between requests (compliance.py); one organisation is a filter
    # on it rather than a separate, uncached read.
    rows = compliance.assess_datasets(as_of=as_of, visibility=compliance.visibility_for(context.get("user")))
    rows = [
        r
        for r in rows
        if (organization_id is None or r.dataset.owner_org == organization_id)
        and compliance.matches(r, data.get("frequency"), data.get("q"))
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

    :param id: the dataset's id or name (``package_id`` is accepted as its alias)
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
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_compliance_show(), context, DATASET_KEYS)
    pkg = _package(data["id"])
    tk.check_access("mes_schedule_compliance_show", context, {"id": pkg.id})
    _raise(errors)
    as_of: dt.date = data.get("as_of") or localization.today()
    lang: str = data.get("lang") or localization.ui_lang()
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
    result["publications"] = _publications(row.dataset.item, SHOW_PUBLICATIONS, 0)
    result["rule_versions"] = _rule_versions(row.dataset.item, lang)
    return result


def _rule_versions(item: Optional[int], lang: str) -> list[dict[str, Any]]:
    """The item's stored rule versions, oldest first (amendments apply forward)."""
    out = []
    for version in amendments.stored_versions([item]).get(item, []) if item is not None else []:
        try:
            words = schedule.describe(schedule.parse_rule(str(version.rule)), lang)
        except ValueError:
            words = ""
        out.append(
            {
                "effective_from": version.effective_from.isoformat(),
                "rule": version.rule,
                "rule_in_words": words,
                "deadline_kk": version.deadline_kk or "",
                "source": version.source,
            }
        )
    return out


# ------------------------------------------------------------------------------------------- publications


def _item(pkg: model.Package) -> Optional[int]:
    """The item the dataset holds now (its record), or None: a dataset that holds no item has no record."""
    return package_items([pkg.id], states=None).get(pkg.id)


def _publication(p: Publication) -> dict[str, Any]:
    return {
        "id": p.id,
        "item": p.item,
        "package_id": p.package_id,
        "resource_id": p.resource_id,
        "kind": p.kind,
        "level": p.level,
        "url": p.url,
        "sha256": p.sha256,
        "size": p.size,
        "rows": p.rows,
        "covers": p.covers,
        "note": p.note,
        "user_id": p.user_id,
        "published_at": p.published_at.isoformat() + "Z",
        "published_on": schedule.local_date(cast(dt.datetime, p.published_at)).isoformat(),
        "row_hash": p.row_hash,
    }


def _publications(item: Optional[int], limit: int, offset: int) -> list[dict[str, Any]]:
    if item is None:
        return []
    query = (
        sa.select(Publication)
        .where(Publication.item == item, *compliance._effective(Publication))
        .order_by(Publication.published_at.desc(), Publication.id)
        .limit(limit)
        .offset(offset)
    )
    return [_publication(p) for p in model.Session.scalars(query)]


@tk.side_effect_free
def mes_schedule_publication_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """The publication history of the item of the order a dataset holds, newest first: every resource created
    with a new URL, file with new content uploaded and URL changed to one not published before (and the
    ``backfill`` rows filled from the activity stream). The record belongs to the item: rows stay after their
    resource or dataset is deleted, and the item's next dataset shows them. Retracted rows are left out.

    :param id: the dataset's id or name (``package_id`` is accepted as its alias)
    :type id: string
    :param limit: how many (default 100, at most 1000)
    :type limit: int
    :param offset: how many to skip (default 0)
    :type offset: int

    :returns: ``[{"id", "item", "package_id", "resource_id", "kind", "level" (``file``, ``link``, ``datastore``
        or ``declared``), "url", "sha256" and "size" (of a stored file, or of what a DataStore write wrote),
        "rows" (DataStore rows written), "covers" (the period it declares it covers, or null), "note" (of a
        declaration), "user_id" (who), "published_at" (UTC, ISO with Z),
        "published_on" (the Asia/Almaty date), "row_hash" (its link in the item's hash chain)}]``
    :rtype: list of dictionaries
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_publication_list(), context, DATASET_KEYS)
    pkg = _package(data["id"])
    tk.check_access("mes_schedule_publication_list", context, {"id": pkg.id})
    _raise(errors)
    return _publications(_item(pkg), data["limit"], data["offset"])


# ------------------------------------------------------------------------------------------------- events


def _event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "package_id": e.package_id,
        "item": e.item,
        "event_date": e.event_date.isoformat(),
        "note": e.note or "",
        "created_by": e.created_by,
        "created_at": e.created_at.isoformat() + "Z" if e.created_at else None,
        "source": e.source,
    }


def _effective_events(item: Optional[int]) -> list[Event]:
    if item is None:
        return []
    query = (
        sa.select(Event)
        .where(Event.item == item, *compliance._effective(Event))
        .order_by(Event.event_date, Event.created_at)
    )
    return list(model.Session.scalars(query))


def _events(package_id: str) -> list[dict[str, Any]]:
    return [_event(e) for e in _effective_events(package_items([package_id], states=None).get(package_id))]


def _event_rule(pkg: model.Package, key: str) -> tuple[int, schedule.Rule]:
    datasets = compliance.scheduled_datasets(package_ids=[pkg.id])
    rule: Optional[schedule.Rule] = None
    if datasets and datasets[0].rule_text and datasets[0].item is not None:
        try:
            rule = schedule.parse_rule(datasets[0].rule_text)
        except ValueError:
            rule = None
    if rule is None or rule.kind != "event":
        message = _("The deadline rule of {name} is not event-driven: events are recorded for event rules only")
        raise tk.ValidationError({key: [message.format(name=pkg.name)]})
    return datasets[0].item, rule  # type: ignore[return-value]


def _check_event_date(day: dt.date, existing: list[dt.date], rule: schedule.Rule) -> None:
    start = settings.start_date()
    if day < start:
        raise tk.ValidationError(
            {"event_date": [_("The date is before the schedule starts ({start})").format(start=start.isoformat())]}
        )
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


def mes_schedule_event_create(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Record a triggering event of an event-driven dataset (e.g. the approval of the register of public
    services): its publication is then due within the rule's working days. The event belongs to the item of the
    order the dataset holds.

    Only administrators of the dataset's organization (and sysadmins) may record events.

    :param id: the dataset's id or name; its rule must be event-driven (``event working-days=N ...``).
        ``package_id`` is accepted as its alias (both given: they must name the same dataset)
    :type id: string
    :param event_date: the date the event happened (YYYY-MM-DD): not in the future, not before the schedule's
        start, not twice for one item, and no more than the rule's ``max-per-year`` in one calendar year
    :type event_date: string
    :param note: what happened, e.g. the act that approved the register (optional, at most 1000 characters)
    :type note: string

    :returns: the event: id, package_id, item, event_date, note, created_by (user id), created_at (UTC)
    :rtype: dictionary
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_event_create(), context, DATASET_KEYS)
    pkg = _package(data["id"])
    tk.check_access("mes_schedule_event_create", context, {"id": pkg.id})
    _raise(errors)
    item, rule = _event_rule(pkg, _given_key(data_dict))
    day: dt.date = data["event_date"]
    # Under the item's lock: a concurrent request recording the same date waits, then sees this one.
    history.lock_item(item)
    try:
        _check_event_date(day, [cast(dt.date, e.event_date) for e in _effective_events(item)], rule)
    except tk.ValidationError:
        _end_transaction(context)
        raise
    event = Event(
        package_id=pkg.id, item=item, event_date=day, note=data.get("note") or None, created_by=user_id(context)
    )
    model.Session.add(event)
    model.Session.flush()
    result = _event(event)
    _commit(context)
    return result


@tk.side_effect_free
def mes_schedule_event_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """The recorded triggering events of the item a dataset holds, oldest first (retracted ones left out).

    :param id: the dataset's id or name (``package_id`` is accepted as its alias)
    :type id: string

    :returns: ``[{"id", "package_id", "item", "event_date", "note", "created_by", "created_at"}]``
    :rtype: list of dictionaries
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_event_list(), context, DATASET_KEYS)
    pkg = _package(data["id"])
    tk.check_access("mes_schedule_event_list", context, {"id": pkg.id})
    _raise(errors)
    return _events(pkg.id)


def mes_schedule_event_delete(context: Context, data_dict: DataDict) -> None:
    """Retract a recorded event (e.g. one entered with a wrong date). The record is append-only: the event stays,
    superseded by a retraction row that names it, who retracted it and why; it no longer counts.

    Only administrators of the organization of the dataset holding the event's item (and sysadmins) may.

    :param id: the event's id
    :type id: string
    :param reason: why it is retracted (optional, at most 1000 characters)
    :type reason: string
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_event_delete(), context, "id")
    event = model.Session.get(Event, data["id"])
    if event is None or event.kind == RETRACTION:
        raise tk.ObjectNotFound(_("Event not found: {id}").format(id=data["id"][:100]))
    tk.check_access("mes_schedule_event_delete", context, {"id": event.id})
    _raise(errors)
    history.lock_item(event.item)
    if event.id not in {e.id for e in _effective_events(event.item)}:  # retracted meanwhile
        _end_transaction(context)
        raise tk.ObjectNotFound(_("Event not found: {id}").format(id=data["id"][:100]))
    holder = _item_holder(event.item)
    model.Session.add(
        Event(
            package_id=holder or event.package_id,
            item=event.item,
            kind=RETRACTION,
            event_date=event.event_date,
            supersedes=event.id,
            reason=data.get("reason") or None,
            created_by=user_id(context),
        )
    )
    model.Session.flush()
    _commit(context)


def _end_transaction(context: Context) -> None:
    """Release the item's lock on a refusal (a caller that defers the commit ends its transaction itself)."""
    if not context.get("defer_commit"):
        model.Session.rollback()


def _item_holder(item: Optional[int]) -> Optional[str]:
    """The active dataset that holds this item now, if any."""
    if item is None:
        return None
    return next((pid for pid, held in package_items(None).items() if held == item), None)


# ------------------------------------------------------------------------------------------ declared updates

#: What a declaration may be about: a link (an upload is recorded when its file is uploaded, the DataStore when
#: it is written).
_LINK_URL_TYPES = ("", None)


def _declared_today(resource_id: str) -> Optional[dt.datetime]:
    """When this resource's update was declared today (Asia/Almaty), if it was."""
    start = localization.day_start_utc(localization.today())
    return model.Session.scalar(
        sa.select(sa.func.min(Publication.published_at)).where(
            Publication.resource_id == resource_id,
            Publication.level == "declared",
            Publication.published_at >= start,
            *compliance._effective(Publication),
        )
    )


def mes_schedule_declare_update(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Declare that the data at a link resource's unchanged address were updated (e.g. an API or a file the
    ministry's own server overwrites). The publication is recorded as ``declared``, by the caller, at the server's
    time; its evidence level shows it is the editor's word, not data the portal saw change. Once per resource per
    day (Asia/Almaty).

    Who may edit the resource's dataset may declare.

    :param id: the resource's id; it must be a link (not an upload) of a dataset that holds an item of the order
    :type id: string
    :param note: what was updated (optional, at most 500 characters)
    :type note: string
    :param covers: the reporting period the update covers, one of the dataset's periods as
        ``mes_schedule_compliance_show`` labels them (optional; without it the date decides)
    :type covers: string

    :returns: the publication, as ``mes_schedule_publication_list`` shows it
    :rtype: dictionary
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_declare_update(), context, "id")
    resource = model.Session.get(model.Resource, data["id"])
    if resource is None or resource.state != "active":
        raise tk.ObjectNotFound(_("Resource not found"))
    tk.check_access("mes_schedule_declare_update", context, {"id": resource.id})
    _raise(errors)
    if resource.url_type not in _LINK_URL_TYPES or not resource.url:
        raise tk.ValidationError(
            {"id": [_("Only a link's update can be declared: an upload is recorded when its file is uploaded.")]}
        )
    if package_items([resource.package_id]).get(resource.package_id) is None:
        raise tk.ValidationError({"id": [_("This dataset holds no item of the order: nothing to declare.")]})
    covers = compliance.check_covers(resource.package_id, data.get("covers"), "covers")
    history.lock_item(package_items([resource.package_id]).get(resource.package_id))
    earlier = _declared_today(resource.id)
    if earlier is not None:
        _end_transaction(context)
        raise tk.ValidationError(
            {"id": [_("An update of this link was already declared today at {time}; once a day is enough.").format(
                time=localization.local_time(earlier))]}
        )
    evidence = history.Evidence("declared", resource.url)
    row = history.record_publication(
        context, resource.id, "declared", evidence, covers=covers, note=data.get("note") or None
    )
    if row is None:  # pragma: no cover - checked above; a dataset emptied meanwhile
        _end_transaction(context)
        raise tk.ValidationError({"id": [_("This dataset holds no item of the order: nothing to declare.")]})
    result = _publication(row)
    _commit(context)
    return result


# ---------------------------------------------------------------------------------------- DataStore writes


@tk.chained_action
def datastore_create(original_action: Callable[..., Any], context: Context, data_dict: DataDict) -> Any:
    """CKAN's datastore_create; records written with it are a publication (datastore_evidence)."""
    return datastore_evidence.chained_create(original_action, context, data_dict)


@tk.chained_action
def datastore_upsert(original_action: Callable[..., Any], context: Context, data_dict: DataDict) -> Any:
    """CKAN's datastore_upsert; the records it writes are a publication (datastore_evidence)."""
    return datastore_evidence.chained_upsert(original_action, context, data_dict)


@tk.chained_action
def datastore_delete(original_action: Callable[..., Any], context: Context, data_dict: DataDict) -> Any:
    """CKAN's datastore_delete; rows it removes are a publication (datastore_evidence)."""
    return datastore_evidence.chained_delete(original_action, context, data_dict)


# -------------------------------------------------------------------------------------------------- purge


@tk.chained_action
def dataset_purge(original_action: Callable[..., Any], context: Context, data_dict: DataDict) -> Any:
    """CKAN's dataset_purge, then the dataset's reminder rows go too (they are operational, not the record).

    Publication and event rows are kept: they belong to the item of the order (`item`), and the item's next
    dataset shows them; a dataset later created with the purged id holds no item through it and sees nothing.
    """
    name_or_id = data_dict.get("id") if isinstance(data_dict, dict) else None
    pkg = model.Package.get(name_or_id) if isinstance(name_or_id, str) and name_or_id else None
    package_id = pkg.id if pkg is not None else None
    result = original_action(context, data_dict)
    if package_id:
        model.Session.execute(sa.delete(Reminder).where(Reminder.package_id == package_id))
        model.repo.commit()
    return result


# ------------------------------------------------------------------------------------- personal calendars


def _feed_user(context: Context, name_or_id: Optional[str]) -> model.User:
    """The user whose address is managed: the one named, else the caller; a deleted one is not found."""
    user = model.User.get(name_or_id or context.get("user") or "")
    if user is None or user.state == "deleted":
        raise tk.ObjectNotFound(_("User not found"))
    return user


def _revoke_feed_tokens(user: model.User) -> int:
    result = model.Session.execute(
        sa.update(FeedToken)
        .where(FeedToken.user_id == user.id, FeedToken.revoked_at.is_(None))
        .values(revoked_at=localization.utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mes_schedule_feed_token_create(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Make a user's personal calendar address: an iCalendar feed of the deadlines of the datasets that user may
    see, private ones included, for calendar programs that cannot send an API token. Whoever has the address sees
    what the user sees. The address is returned only here (only a hash of its secret is stored); any address the
    user had stops working.

    Only the user themself (and sysadmins) may.

    :param user: the user's id or name (optional; default: the caller)
    :type user: string

    :returns: ``{"id", "user_id", "created_at", "token", "url"}``: ``url`` is the address
        (``/compliance/calendar/<token>.ics``)
    :rtype: dictionary
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_feed_token_create(), context, "user")
    tk.check_access("mes_schedule_feed_token_create", context, {"user": data.get("user")})
    _raise(errors)
    user = _feed_user(context, data.get("user"))
    _revoke_feed_tokens(user)
    token, digest = FeedToken.new_secret()
    row = FeedToken(user_id=user.id, token_hash=digest, created_at=localization.utcnow())
    model.Session.add(row)
    model.Session.flush()
    result = {
        "id": row.id,
        "user_id": user.id,
        "created_at": row.created_at.isoformat(),
        "token": token,
        # Without a language prefix (whatever the page it is made from): `?lang=` chooses the feed's language.
        "url": tk.url_for("mes_schedule_publisher.personal_calendar", token=token, _external=True, locale="default"),
    }
    _commit(context)
    return result


def mes_schedule_feed_token_revoke(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Revoke a user's personal calendar address: it answers 404 from now on.

    Only the user themself (and sysadmins) may.

    :param user: the user's id or name (optional; default: the caller)
    :type user: string

    :returns: ``{"revoked": n}``, how many addresses stopped working (0 when the user had none)
    :rtype: dictionary
    """
    data, errors = _validate_id_first(data_dict, schema.mes_schedule_feed_token_revoke(), context, "user")
    tk.check_access("mes_schedule_feed_token_revoke", context, {"user": data.get("user")})
    _raise(errors)
    revoked = _revoke_feed_tokens(_feed_user(context, data.get("user")))
    _commit(context)
    return {"revoked": revoked}
