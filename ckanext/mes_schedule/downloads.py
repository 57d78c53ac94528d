"""The whole compliance list as a file: the bytes of a CSV or JSON download of every row a user may see.

Shared by the web downloads (views/compliance.py) and `ckan mes-schedule compliance` (cli/compliance.py), so
that both give the same bytes. The formats themselves are the registry in exports.py.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator
from urllib.parse import quote

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import exports, localization
from ckanext.mes_schedule.logic.validators_api import MAX_LIMIT

__all__ = ["dataset_url", "export_chunks", "export_data"]

# Where the dataset's name goes in the address template of `_dataset_url` (names are lowercase).
_NAME_SLOT = "MESSCHEDULENAME"


def dataset_url() -> Callable[[str], str]:
    """The dataset page's full address by name, without a language prefix: the same for every reader and for
    the CLI. One url_for per download, not one per row."""
    template = tk.h.url_for("dataset.read", id=_NAME_SLOT, qualified=True, locale="default")
    return lambda name: template.replace(_NAME_SLOT, quote(name, safe=""))


def export_chunks(fmt: str, data: dict[str, Any], user: str, first: dict[str, Any]) -> Iterator[bytes]:
    """The bytes of a download in `fmt`: every row of the compliance list `data` (its filters, `lang` and
    `as_of`) that `user` may see, `first` being the action's first page for them. Later pages are read as the
    bytes are written. Needs a request context (translation, url_for): the CLI opens one."""
    lang = data["lang"]
    with localization.forced_locale(lang):
        header = exports.headers(tk._)

    def fetch(offset: int) -> dict[str, Any]:
        # A fresh context per call: actions keep things in the one they get.
        return tk.get_action("mes_schedule_compliance_list")({"user": user}, {**data, "offset": offset})

    head = {key: value for key, value in first.items() if key != "results"}
    table = exports.ExportTable(header, exports.all_rows(first, fetch, dataset_url()), head, lang)
    return exports.FORMATS[fmt].render(table)


def export_data(data: dict[str, Any]) -> dict[str, Any]:
    """The compliance list's parameters for a whole download: pages of the largest size the action allows."""
    return {**data, "limit": MAX_LIMIT, "offset": 0}
