"""Seeding the ministry's organisation with every dataset the order lists, through CKAN actions.

Only the legal fields are the seed's to keep in step with the data file; everything a publisher edits
(tags, resources, maintainer, translated titles, other fields) is left as it is. Descriptions (`notes`,
`notes_ru`, `notes_en`) are generated from the order where empty and kept in step with the legal fields while they
still hold the seed's own words; a description a publisher wrote is theirs (`description_fields`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import exc as sa_exc

import ckan.lib.search as search
import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import amendments, localization, schedule, settings, vocab

__all__ = ["SeedReport", "seed", "dataset_name", "description", "description_fields", "ORGANIZATION"]

ORGANIZATION = {
    "title": "Қазақстан Республикасы Білім және ғылым министрлігі",
    "title_ru": "Министерство образования и науки Республики Казахстан",
    "title_en": "Ministry of Education and Science of the Republic of Kazakhstan",
    "description": (
        "Білім және ғылым министрінің 2016 жылғы 29 қаңтардағы № 120 бұйрығымен бекітілген "
        "ашық деректер тізбесіндегі деректер жиындары."
    ),
    "description_ru": (
        "Наборы данных из перечня открытых данных, утверждённого приказом Министра образования и науки "
        "от 29 января 2016 года № 120."
    ),
    "description_en": (
        "Datasets from the list of open data approved by Order No. 120 of the Minister of Education and "
        "Science of 29 January 2016."
    ),
}


def dataset_name(item: schedule.Item) -> str:
    return f"mes-order-120-item-{item.number:02d}"


def legal_fields(order: schedule.Order, item: schedule.Item) -> dict[str, Any]:
    """The fields the order decides; a change in the data file is carried to the portal by the next seed."""
    return {
        "title": item.title["kk"],
        "mes_schedule_item": item.number,
        "mes_schedule_act_number": order.number,
        "mes_schedule_act_date": order.date.isoformat(),
        "mes_schedule_act_registration": order.registration_number,
        "mes_schedule_frequency": vocab.frequency_uri(item.frequency),
        **_in_force(item),
    }


def _in_force(item: schedule.Item) -> dict[str, str]:
    """The rule (and deadline wording) of the data file's version in force today: a later amendment in `rules:`
    takes the dataset's fields over from its date on (the earlier versions stay stored for the past)."""
    rule, deadline = item.rule_text, item.deadline_kk
    for position, version in enumerate(item.rule_versions[1:], start=1):
        if version.effective_from > localization.today():
            break
        rule = str(version.rule)
        deadline = item.deadline_versions_kk[position] or deadline
    return {"mes_schedule_rule": rule, "mes_schedule_deadline_kk": deadline}


def initial_fields(item: schedule.Item) -> dict[str, Any]:
    """Set when the dataset is created and then the publishers'."""
    return {"title_ru": item.title["ru"], "title_en": item.title["en"]}


# ------------------------------------------------------------------------------------------- descriptions

# The field holding each language's description (the portal's primary language, Kazakh, is CKAN's `notes`).
DESCRIPTION_FIELDS = {"kk": "notes", "ru": "notes_ru", "en": "notes_en"}

# What the dataset is, the legal obligation, the frequency and the deadline. Data, like vocab's labels: written
# in the dataset's three languages whatever the language of the process that seeds.
_DESCRIPTIONS = {
    "kk": (
        "Қазақстан Республикасы Білім және ғылым министрлігінің ашық деректер жиыны: Білім және ғылым министрінің "
        "№ {number} бұйрығымен ({date}; мемлекеттік тіркеу № {registration}) бекітілген ашық деректер тізбесінің "
        "{item}-тармағы. Министрлік бұл деректер жиынын ашық деректердің интернет-порталында орналастыруға және "
        "жаңартып отыруға міндетті. Кезеңділігі: {frequency}. Мерзімі: {deadline}."
    ),
    "ru": (
        "Набор открытых данных Министерства образования и науки Республики Казахстан: пункт {item} перечня "
        "открытых данных, утверждённого приказом Министра образования и науки № {number} от {date} "
        "(государственная регистрация № {registration}). Министерство обязано размещать и актуализировать этот "
        "набор данных на интернет-портале открытых данных. Периодичность: {frequency}. Срок: {deadline}."
    ),
    "en": (
        "Open data of the Ministry of Education and Science of the Republic of Kazakhstan: item {item} of the list "
        "of open data approved by Order No. {number} of the Minister of Education and Science of {date} (state "
        "registration No. {registration}). The ministry is required to publish this dataset on the open data "
        "portal and keep it up to date. Frequency: {frequency}. Deadline: {deadline}."
    ),
}


def description(fields: Mapping[str, Any], lang: str) -> str | None:
    """A scheduled dataset's description in `lang` (kk, ru or en), from its legal fields: those `legal_fields`
    gives, or a stored dataset's. None when they make none (no item, an unreadable rule or act date)."""
    try:
        rule = schedule.parse_rule(str(fields.get("mes_schedule_rule") or ""))
        act_date = dt.date.fromisoformat(str(fields.get("mes_schedule_act_date") or "")[:10])
    except ValueError:
        return None
    if fields.get("mes_schedule_item") in (None, ""):
        return None
    return _DESCRIPTIONS[lang].format(
        item=fields["mes_schedule_item"],
        number=fields.get("mes_schedule_act_number") or "",
        date=localization.long_date(act_date, lang),
        registration=fields.get("mes_schedule_act_registration") or "",
        frequency=vocab.frequency_label(fields.get("mes_schedule_frequency"), lang),
        deadline=schedule.describe(rule, lang),
    )


def description_fields(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> dict[str, str]:
    """The description fields the seed writes for a dataset whose legal fields become `wanted`: each language's
    generated text where the field is empty, or where it still holds the seed's words for the dataset's stored
    legal fields (so a changed rule reaches the description too). Any other text is a publisher's and is kept;
    `current` None is a dataset about to be created."""
    out: dict[str, str] = {}
    for lang, field in DESCRIPTION_FIELDS.items():
        generated = description(wanted, lang)
        value = str((current or {}).get(field) or "")
        if generated and (not value.strip() or (current is not None and value == description(current, lang))):
            out[field] = generated
    return out


@dataclasses.dataclass
class SeedReport:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    organization: str = "unchanged"
    rule_versions_added: int = 0  # versions of the data file recorded (amendments apply forward)
    act_events_added: int = 0  # events the act itself names, recorded
    changes: dict[str, dict[str, tuple[Any, Any]]] = dataclasses.field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        return bool(self.created or self.updated) or self.organization != "unchanged"


def _same(current: Any, wanted: Any) -> bool:
    if current is None or current == "":
        return wanted is None or wanted == ""
    return str(current) == str(wanted)


def _existing_by_item(org_id: str) -> dict[int, str]:
    """Active datasets of the organisation by item number (read from the database, not the search index,
    so a seed right after another one sees what it wrote)."""
    found: dict[int, str] = {}
    query = model.Session.query(model.Package).filter(
        model.Package.owner_org == org_id, model.Package.state == "active", model.Package.type == "dataset"
    )
    for pkg in query:
        value = (pkg.extras or {}).get("mes_schedule_item")
        if value and str(value).isdigit():
            found.setdefault(int(value), pkg.name)
    return found


def _name_taken(error: tk.ValidationError) -> bool:
    return "name" in (error.error_dict or {})


def _lost_race(error: tk.ValidationError, name: str) -> bool:
    """A concurrent seed created the item's dataset first: its name is taken, or (when it committed before our
    checks ran) the item is held, by that very dataset. An item held by any other dataset is an error."""
    if _name_taken(error):
        return True
    errors = error.error_dict or {}
    if set(errors) != {"mes_schedule_item"}:
        return False
    holder = model.Package.get(name)
    return holder is not None and holder.state == "active"


def _create_dataset(
    context: Callable[[], dict], name: str, org_id: str | None, wanted: dict[str, Any], item: schedule.Item
) -> bool:
    """Create the item's dataset; False when a concurrent seed won the race for its name."""
    try:
        tk.get_action("package_create")(
            context(),
            {
                "name": name,
                "owner_org": org_id,
                "license_id": "cc-by",
                **wanted,
                **initial_fields(item),
                **description_fields(None, wanted),
            },
        )
        return True
    except tk.ValidationError as e:
        if not _lost_race(e, name):
            raise
    except sa_exc.IntegrityError:
        # Both seeds passed the name check and the database's unique index stopped the second insert.
        model.Session.rollback()
    return False


def _ensure_organization(context: Callable[[], dict], name: str, dry_run: bool, report: SeedReport) -> str | None:
    try:
        org = tk.get_action("organization_show")(context(), {"id": name, "include_datasets": False})
    except tk.ObjectNotFound:
        report.organization = "created"
        if dry_run:
            return None
        try:
            org = tk.get_action("organization_create")(context(), {"name": name, **ORGANIZATION})
            return org["id"]
        except (tk.ValidationError, sa_exc.IntegrityError) as e:
            # A concurrent seed created it first; use theirs.
            if isinstance(e, tk.ValidationError) and not _name_taken(e):
                raise
            model.Session.rollback()
            report.organization = "unchanged"
            org = tk.get_action("organization_show")(context(), {"id": name, "include_datasets": False})
    # The ministry's names are seeded once; an administrator may rename it afterwards.
    return org["id"]


def seed(
    dry_run: bool = False,
    order: schedule.Order | None = None,
    items: Iterable[schedule.Item] | None = None,
) -> SeedReport:
    order = order or settings.order()
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]

    def context() -> dict:
        # The site user is a sysadmin: the act's fields are a sysadmin's to set (`mes_schedule_set_by_act`).
        return {"user": site_user, "ignore_auth": False}

    report = SeedReport()
    org_id = _ensure_organization(context, settings.organization_name(), dry_run, report)
    existing = _existing_by_item(org_id) if org_id else {}
    items = list(items if items is not None else order.items)
    if not dry_run:
        _record_versions(items, report, site_user)
    for item in items:
        wanted = legal_fields(order, item)
        name = existing.get(item.number)
        if name is None:
            name = dataset_name(item)
            if dry_run or _create_dataset(context, name, org_id, wanted, item):
                report.created.append(name)
                continue
            # Another seed created it a moment ago: compare with what it wrote, like any existing dataset.
        current = tk.get_action("package_show")(context(), {"id": name})
        wanted.update(description_fields(current, wanted))
        diff = {k: (current.get(k), v) for k, v in wanted.items() if not _same(current.get(k), v)}
        if not diff:
            report.unchanged.append(name)
            continue
        report.changes[name] = diff
        if not dry_run:
            tk.get_action("package_patch")(context(), {"id": current["id"], **{k: v for k, (_, v) in diff.items()}})
        report.updated.append(name)
    if not dry_run and org_id:
        _record_act_events(items, _existing_by_item(org_id), report, site_user)
    return report


def _record_versions(items: list[schedule.Item], report: SeedReport, site_user: str) -> None:
    """The data file's rule versions of each item, before any dataset is touched (missing ones only)."""
    creator = model.User.get(site_user)
    for item in items:
        report.rule_versions_added += amendments.record_order_versions(item, creator.id if creator else None)
    model.repo.commit()


def _record_act_events(
    items: list[schedule.Item], holders: dict[int, str], report: SeedReport, site_user: str
) -> None:
    """The events the act names (item 30: the approval of the register on 2020-01-31), once each."""
    creator = model.User.get(site_user)
    for item in items:
        pkg = model.Package.get(holders[item.number]) if item.events and item.number in holders else None
        if pkg is not None:
            added = amendments.record_act_events(item, pkg.id, creator.id if creator else None)
            model.repo.commit()
            if added:
                # The dataset was indexed before its event existed: its status facet would say so until the
                # nightly reindex.
                search.rebuild(package_ids=[pkg.id], defer_commit=True)
                search.commit()
            report.act_events_added += added
