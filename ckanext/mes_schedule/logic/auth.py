"""Auth functions, one per action, named as the action.

Reads of one dataset delegate to CKAN's package_show (private datasets stay private, collaborators and
permission labels work as in core). Events are legal facts with consequences for compliance: only
administrators of the dataset's organization record or remove them (editors publish data, they do not decide
deadlines). Sysadmins pass every auth function (CKAN checks that before calling them).
"""
from __future__ import annotations

from typing import Any, Optional

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import AuthResult, Context, DataDict

from ckanext.mes_schedule.model import Event

__all__ = [
    "mes_schedule_compliance_list",
    "mes_schedule_compliance_show",
    "mes_schedule_publication_list",
    "mes_schedule_event_create",
    "mes_schedule_event_list",
    "mes_schedule_event_delete",
]

_ = tk._


def _package(name_or_id: Any) -> Optional[model.Package]:
    if not name_or_id or not isinstance(name_or_id, str):
        return None
    return model.Package.get(name_or_id)


def _can_read(context: Context, name_or_id: Any) -> AuthResult:
    pkg = _package(name_or_id)
    if pkg is None:
        # The action reports unknown ids (ObjectNotFound); a template asking here gets a plain "no".
        return {"success": False, "msg": _("Dataset not found")}
    # A fresh context: a "package" left in the caller's context would be checked instead of this one.
    show_context: Context = {  # type: ignore[typeddict-item]
        key: value for key, value in context.items() if key not in ("package", "resource")
    }
    return authz.is_authorized("package_show", show_context, {"id": pkg.id})


def _org_admin(context: Context, pkg: Optional[model.Package]) -> AuthResult:
    user = context.get("user")
    if pkg is not None and pkg.owner_org and authz.has_user_permission_for_group_or_org(pkg.owner_org, user, "admin"):
        return {"success": True}
    return {
        "success": False,
        "msg": _("Only administrators of the dataset's organization may record or remove its events"),
    }


@tk.auth_allow_anonymous_access
def mes_schedule_compliance_list(context: Context, data_dict: DataDict) -> AuthResult:
    # Everyone may ask; the action shows each user only the datasets they may see.
    return {"success": True}


@tk.auth_allow_anonymous_access
def mes_schedule_compliance_show(context: Context, data_dict: DataDict) -> AuthResult:
    return _can_read(context, data_dict.get("id"))


@tk.auth_allow_anonymous_access
def mes_schedule_publication_list(context: Context, data_dict: DataDict) -> AuthResult:
    return _can_read(context, data_dict.get("id"))


@tk.auth_allow_anonymous_access
def mes_schedule_event_list(context: Context, data_dict: DataDict) -> AuthResult:
    return _can_read(context, data_dict.get("package_id"))


def mes_schedule_event_create(context: Context, data_dict: DataDict) -> AuthResult:
    return _org_admin(context, _package(data_dict.get("package_id")))


def mes_schedule_event_delete(context: Context, data_dict: DataDict) -> AuthResult:
    event_id = data_dict.get("id")
    event = model.Session.get(Event, event_id) if isinstance(event_id, str) and event_id else None
    return _org_admin(context, _package(event.package_id) if event is not None else None)
