"""The extension's API: actions (action.py), their auth functions (auth.py, one per action, same name) and
navl schemas (schema.py, one per action, same name), and the validators of the API and the scheming schema."""
from __future__ import annotations

#: The extension's actions; auth.py and schema.py name theirs the same (core's dataset_purge is only chained).
ACTIONS: tuple[str, ...] = (
    "mes_schedule_compliance_list",
    "mes_schedule_compliance_show",
    "mes_schedule_publication_list",
    "mes_schedule_event_create",
    "mes_schedule_event_list",
    "mes_schedule_event_delete",
    "mes_schedule_declare_update",
    "mes_schedule_feed_token_create",
    "mes_schedule_feed_token_revoke",
)

#: CKAN's DataStore actions, chained when the datastore plugin is loaded: their writes are publications.
DATASTORE_CHAINED: tuple[str, ...] = ("datastore_create", "datastore_upsert", "datastore_delete")
