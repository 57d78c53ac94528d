"""Validators for the scheming dataset schema: the legal fields of Order No. 120."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

import sqlalchemy as sa

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.logic.validators import email_pattern
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.mes_schedule import compliance, history, schedule, settings, vocab
from ckanext.mes_schedule.model import extras_in_column

__all__ = [
    "mes_schedule_no_nul_character",
    "mes_schedule_rule_validator",
    "mes_schedule_item_validator",
    "mes_schedule_legal_fields_validator",
    "mes_schedule_set_by_act",
    "mes_schedule_item_in_order",
    "mes_schedule_maintainer_emails",
    "mes_schedule_covers_declared",
]

_ = tk._

# What an item of the list needs beside its number.
_REQUIRED_WITH_ITEM = (
    "mes_schedule_act_number",
    "mes_schedule_frequency",
    "mes_schedule_rule",
)


def mes_schedule_no_nul_character(value: Any, context: Context) -> Any:
    """Refuse text holding a NUL character: PostgreSQL cannot store or compare it, and would fail the request
    with a server error instead of a message."""
    if isinstance(value, str) and "\x00" in value:
        raise tk.Invalid(_("The text contains a NUL character (\\x00), which cannot be stored"))
    return value


_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


def split_addresses(text: str) -> list[str]:
    """The addresses of an e-mail field, in order: publishers list several, separated by commas, semicolons
    or spaces. Not a validator (not in `__all__`): the reminders read maintainer addresses with it too."""
    return [part for part in _ADDRESS_SEPARATORS.split(text or "") if part]


def is_address(text: str) -> bool:
    """CKAN's own e-mail check, plus a dot in the domain: a portal has no business mailing a bare host name."""
    return bool(email_pattern.match(text)) and "." in text.rpartition("@")[2]


def mes_schedule_maintainer_emails(value: Any, context: Context) -> Any:
    """A few valid addresses at most: every one of them gets the dataset's deadline reminders."""
    if value is tk.missing or value is None or value == "":
        return value
    if not isinstance(value, str):
        raise tk.Invalid(_("Give the e-mail addresses as text"))
    addresses = split_addresses(value)
    limit = settings.max_maintainer_emails()
    if len(addresses) > limit:
        raise tk.Invalid(
            tk.ungettext(
                "At most {limit} e-mail address is allowed here; you gave {count}",
                "At most {limit} e-mail addresses are allowed here; you gave {count}",
                limit,
            ).format(limit=limit, count=len(addresses))
        )
    invalid = [a for a in addresses if not is_address(a)]
    if invalid:
        raise tk.Invalid(_("Not a valid e-mail address: {addresses}").format(addresses=", ".join(invalid)))
    return value


def mes_schedule_rule_validator(value: Any, context: Context) -> Any:
    """Parse the rule with the engine and store its canonical text."""
    if value is tk.missing or value is None or value == "":
        return value
    try:
        return str(schedule.parse_rule(value))
    except ValueError as e:
        raise tk.Invalid(_("Invalid deadline rule: {problem}").format(problem=e)) from e


def mes_schedule_item_validator(value: Any, context: Context) -> Any:
    if value is tk.missing or value is None or value == "":
        return value
    try:
        number = int(str(value).strip())
    except ValueError as error:
        raise tk.Invalid(_("The item number must be a whole number")) from error
    if not 1 <= number <= 999:
        raise tk.Invalid(_("The item number must be between 1 and 999"))
    return number


def _blank(value: Any) -> bool:
    return value is tk.missing or value is None or (isinstance(value, str) and not value.strip())


def mes_schedule_legal_fields_validator(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """Once an item number is given, the legal fields are required and must agree with each other."""
    if _blank(data.get(key)) or errors.get(key):
        return
    if not _may_set_act_fields(context):
        return  # they can only be the stored ones, checked when a sysadmin set them (mes_schedule_set_by_act)
    for name in _REQUIRED_WITH_ITEM:
        if _blank(data.get((name,))):
            errors.setdefault((name,), []).append(_("Required for a dataset listed in the order"))
    rule_text = data.get(("mes_schedule_rule",))
    frequency = data.get(("mes_schedule_frequency",))
    if _blank(rule_text) or _blank(frequency):
        return
    try:
        rule = schedule.parse_rule(rule_text)
    except ValueError:
        return  # the rule field's own validator reports it
    # Not text (a list from a JSON body, say): scheming_choices reports it.
    code = vocab.frequency_code(frequency) if isinstance(frequency, str) else None
    if code is None:
        return  # scheming_choices reports an unknown frequency
    if not schedule.frequency_fits(rule, code):
        allowed = ", ".join(schedule.frequencies_for(rule))
        errors.setdefault(("mes_schedule_frequency",), []).append(
            _("Frequency {code} does not fit the rule '{rule}' (expected one of: {allowed})").format(
                code=code, rule=str(rule), allowed=allowed
            )
        )


# ------------------------------------------------------------------------------------ the act's own fields
# The legal fields belong to the act, not to the publisher: a publisher who could edit them would judge
# themselves (an editor turning "late" into "on time" by rewriting the rule). Only a sysadmin sets or changes
# them, and `ckan mes-schedule seed`, which runs as the site user (a sysadmin). `ignore_auth` grants nothing
# here: it skips authorisation, not the act.

#: The dataset fields the order decides (schemas/dataset.yaml wires `mes_schedule_set_by_act` on each).
ACT_FIELDS = (
    "mes_schedule_item",
    "mes_schedule_act_number",
    "mes_schedule_act_date",
    "mes_schedule_act_registration",
    "mes_schedule_frequency",
    "mes_schedule_rule",
    "mes_schedule_deadline_kk",
)


def _stored_package(data: FlattenDataDict, context: Context) -> Optional[model.Package]:
    """The dataset as stored before this request, or None when the request creates one.

    `package_update` (and `package_patch`, the form, `resource_*`) sets the data's id to the stored package's
    id; `package_create` empties an id given by a non-sysadmin, and refuses one that is already taken."""
    package_id = data.get(("id",))
    if not isinstance(package_id, str) or not package_id:
        return None
    package = context.get("package")
    if isinstance(package, model.Package) and package.id == package_id:
        return package
    return model.Package.get(package_id)


def _stored_value(package: Optional[model.Package], field: str) -> Any:
    if package is None:
        return None
    return (package.extras or {}).get(field)


def _comparable(field: str, value: Any) -> str:
    """The value as the schema would store it, so that posting back the stored value is never a change."""
    if value is tk.missing or value is None:
        return ""
    if isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
    else:
        return repr(value)  # a list or a mapping is never what was stored
    if not text:
        return ""
    try:
        if field == "mes_schedule_item":
            return str(int(text))
        if field == "mes_schedule_rule":
            return str(schedule.parse_rule(text))
        if field == "mes_schedule_act_date":
            when = dt.datetime.fromisoformat(text)
            return when.date().isoformat() if when.time() == dt.time() and when.tzinfo is None else when.isoformat()
    except ValueError:
        pass  # not valid: the field's own validators report it; compared as given
    return text


def _may_set_act_fields(context: Context) -> bool:
    return authz.is_sysadmin(context.get("user"))


def mes_schedule_set_by_act(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """First validator of every act field: anyone but a sysadmin may only send back the stored value.

    A new dataset has no stored value, so a non-sysadmin creates datasets without legal fields; leaving a field
    out of a `package_update` would delete it, so that is a change too."""
    if _may_set_act_fields(context):
        return
    field = str(key[-1])
    stored = _stored_value(_stored_package(data, context), field)
    if _comparable(field, data.get(key)) == _comparable(field, stored):
        return
    errors.setdefault(key, []).append(_("Set by the act; only a system administrator can change it"))
    raise tk.StopOnError


def _holders_of(number: int, other_than: Optional[str]) -> list[tuple[str, str]]:
    """(name, title) of the active datasets that hold this item, except the one being saved."""
    p = model.package_table
    if extras_in_column(p):
        query = sa.select(p.c.name, p.c.title).where(p.c.extras["mes_schedule_item"].astext == str(number))
    else:
        e = model.package_extra_table
        query = (
            sa.select(p.c.name, p.c.title)
            .join(e, e.c.package_id == p.c.id)
            .where(e.c.key == "mes_schedule_item", e.c.value == str(number), e.c.state == "active")
        )
    query = query.where(p.c.state == "active")
    if other_than:
        query = query.where(p.c.id != other_than)
    return [(r.name, r.title or r.name) for r in model.Session.execute(query.order_by(p.c.name))]


def mes_schedule_item_in_order(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """A new item number (or one brought back to an active dataset) must be an item of the order's data file
    and held by no other active dataset, in any organisation: the record has one dataset per item."""
    number = data.get(key)
    if errors.get(key) or not isinstance(number, int):
        return
    stored = _stored_package(data, context)
    if (
        stored is not None
        and stored.state == "active"
        and data.get(("state",)) in (None, tk.missing, "active")
        and _comparable("mes_schedule_item", _stored_value(stored, "mes_schedule_item")) == str(number)
    ):
        return  # unchanged: checked when it was set
    order = settings.order()
    if number not in {item.number for item in order.items}:
        errors.setdefault(key, []).append(
            _("Order No. {order} has no item {item}").format(order=order.number, item=number)
        )
        raise tk.StopOnError
    holders = _holders_of(number, stored.id if stored is not None else None)
    if holders:
        name, title = holders[0]
        errors.setdefault(key, []).append(
            _("Item {item} is already held by the dataset \"{title}\" ({name})").format(
                item=number, title=title, name=name
            )
        )
        raise tk.StopOnError


def mes_schedule_covers_declared(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """The reporting period a resource's upload (or new link) declares it covers (compliance model, section 6).

    Checked against the dataset's periods, then taken out of the resource: it is handed to the history for the
    publication this action records (`history.declare_coverage`), never stored on the resource, so that a
    declaration made for one upload cannot silently carry over to the next one."""
    value = data.pop(key, None)
    if value is None or value is tk.missing or (isinstance(value, str) and not value.strip()):
        raise tk.StopOnError
    package = _stored_package(data, context)
    if package is None:
        errors[key].append(_("Declare the period once the dataset exists."))
        raise tk.StopOnError
    try:
        label = compliance.check_covers(package.id, value, "mes_schedule_covers")
    except tk.ValidationError as e:
        errors[key].extend(e.error_dict.get("mes_schedule_covers") or [])  # type: ignore[arg-type]
        raise tk.StopOnError from None
    resource_id = data.get(key[:-1] + ("id",))
    history.declare_coverage(context, resource_id if isinstance(resource_id, str) else None, str(label))
    raise tk.StopOnError
