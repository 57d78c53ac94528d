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

from ckanext.mes_schedule.logic import ACTIONS
from ckanext.mes_schedule.model import Event, package_items

__all__ = [*ACTIONS]

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
    return _can_read(context, data_dict.get("id") or data_dict.get("package_id"))


def mes_schedule_event_create(context: Context, data_dict: DataDict) -> AuthResult:
    return _org_admin(context, _package(data_dict.get("id") or data_dict.get("package_id")))


def mes_schedule_event_delete(context: Context, data_dict: DataDict) -> AuthResult:
    # The event belongs to its item: who administers the dataset holding the item now may retract it (the
    # dataset it was recorded on may have been purged since).
    event_id = data_dict.get("id")
    event = model.Session.get(Event, event_id) if isinstance(event_id, str) and event_id else None
    if event is None:
        return _org_admin(context, None)
    holders = [pid for pid, item in package_items(None).items() if item == event.item] if event.item else []
    return _org_admin(context, _package(holders[0] if holders else event.package_id))


def mes_schedule_declare_update(context: Context, data_dict: DataDict) -> AuthResult:
    # Who may change the resource (editors of its dataset, collaborators, sysadmins) may declare its link updated.
    resource_id = data_dict.get("id")
    resource = model.Session.get(model.Resource, resource_id) if isinstance(resource_id, str) and resource_id else None
    if resource is None:
        return {"success": False, "msg": _("Resource not found")}
    fresh: Context = {  # type: ignore[typeddict-item]
        key: value for key, value in context.items() if key not in ("package", "resource")
    }
    return authz.is_authorized("package_update", fresh, {"id": resource.package_id})


def _own_feed_token(context: Context, data_dict: DataDict) -> AuthResult:
    """A personal calendar address is its user's: only they manage it (and sysadmins, whom CKAN lets through
    before asking here). Anonymous callers are refused by CKAN (no `auth_allow_anonymous_access`)."""
    # By name: `auth_user_obj` of an anonymous request is CKAN's AnonymousUser, an object like any other.
    name = context.get("user")
    caller = model.User.get(name) if name else None
    target = data_dict.get("user")
    if caller is not None and (not target or target in (caller.id, caller.name)):
        return {"success": True}
    return {"success": False, "msg": _("Only the user themself or a sysadmin may manage a personal calendar address")}


def mes_schedule_feed_token_create(context: Context, data_dict: DataDict) -> AuthResult:
    return _own_feed_token(context, data_dict)


def mes_schedule_feed_token_revoke(context: Context, data_dict: DataDict) -> AuthResult:
    return _own_feed_token(context, data_dict)
