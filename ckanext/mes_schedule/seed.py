"""Seeding the ministry's organisation with every dataset the order lists, through CKAN actions.

Only the legal fields are the seed's to keep in step with the data file; everything a publisher edits
(descriptions, tags, resources, maintainer, translated titles, other fields) is left as it is.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Iterable

from sqlalchemy import exc as sa_exc

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import schedule, settings, vocab

__all__ = ["SeedReport", "seed", "dataset_name", "ORGANIZATION"]

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
        "mes_schedule_rule": item.rule_text,
        "mes_schedule_deadline_kk": item.deadline_kk,
    }


def initial_fields(item: schedule.Item) -> dict[str, Any]:
    """Set when the dataset is created and then the publishers'."""
    return {"title_ru": item.title["ru"], "title_en": item.title["en"]}


@dataclasses.dataclass
class SeedReport:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    organization: str = "unchanged"
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


def _create_dataset(
    context: Callable[[], dict], name: str, org_id: str | None, wanted: dict[str, Any], item: schedule.Item
) -> bool:
    """Create the item's dataset; False when a concurrent seed won the race for its name."""
    try:
        tk.get_action("package_create")(
            context(), {"name": name, "owner_org": org_id, "license_id": "cc-by", **wanted, **initial_fields(item)}
        )
        return True
    except tk.ValidationError as e:
        if not _name_taken(e):
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
        return {"user": site_user, "ignore_auth": False}

    report = SeedReport()
    org_id = _ensure_organization(context, settings.organization_name(), dry_run, report)
    existing = _existing_by_item(org_id) if org_id else {}
    for item in items if items is not None else order.items:
        wanted = legal_fields(order, item)
        name = existing.get(item.number)
        if name is None:
            name = dataset_name(item)
            if dry_run or _create_dataset(context, name, org_id, wanted, item):
                report.created.append(name)
                continue
            # Another seed created it a moment ago: compare with what it wrote, like any existing dataset.
        current = tk.get_action("package_show")(context(), {"id": name})
        diff = {k: (current.get(k), v) for k, v in wanted.items() if not _same(current.get(k), v)}
        if not diff:
            report.unchanged.append(name)
            continue
        report.changes[name] = diff
        if not dry_run:
            tk.get_action("package_patch")(context(), {"id": current["id"], **{k: v for k, (_, v) in diff.items()}})
        report.updated.append(name)
    return report
