"""The compliance status in the search index, and its facet.

CKAN's Solr schema indexes an unknown key through its catch-all dynamic field `*` (type `string`, indexed,
single-valued, not stored), so `mes_schedule_status` is filterable (fq=mes_schedule_status:overdue) and
facetable as an exact value without any schema change. Search applies its permission labels to facet
counts as to results, so private datasets are counted only for those who may see them.

A status changes with the calendar while the index does not: `ckan mes-schedule reindex` (cli/index.py),
run daily, keeps the facet fresh. The pages never read the status from the index: they assess live.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.mes_schedule import compliance, localization, vocab

__all__ = ["STATUS_FIELD", "before_dataset_index", "dataset_facets", "after_dataset_search"]

log = logging.getLogger(__name__)

STATUS_FIELD = "mes_schedule_status"


def before_dataset_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Add the dataset's status today to the document of a scheduled dataset."""
    pkg_dict.pop(STATUS_FIELD, None)  # never trust a value that came in with the dataset itself
    if pkg_dict.get("mes_schedule_item") in (None, "") or not pkg_dict.get("id"):
        return pkg_dict
    try:
        rows = compliance.assess_datasets(package_ids=[pkg_dict["id"]])
    except Exception:  # noqa: BLE001
        # A failure here must not stop the dataset from being saved or indexed: it only loses the facet
        # value until the next reindex.
        log.exception("could not assess dataset %s for the search index", pkg_dict.get("name"))
        return pkg_dict
    if rows:
        pkg_dict[STATUS_FIELD] = rows[0].status
    return pkg_dict


def dataset_facets(facets_dict: OrderedDict[str, Any], package_type: str) -> OrderedDict[str, Any]:
    if package_type == "dataset":
        facets_dict[STATUS_FIELD] = tk._("Compliance")
    return facets_dict


def after_dataset_search(search_results: dict[str, Any], search_params: dict[str, Any]) -> dict[str, Any]:
    """Name the compliance facet's items in the UI language (the facet list and the "filtered by" pill of
    the search page show `display_name`; the API's search_facets get the words too)."""
    facet = (search_results.get("search_facets") or {}).get(STATUS_FIELD)
    if facet:
        lang = localization.ui_lang()
        for item in facet.get("items") or []:
            item["display_name"] = vocab.status_label(item.get("name") or "", lang)
    return search_results
