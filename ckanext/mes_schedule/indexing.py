"""The compliance status in the search index, and its facet (stub, filled in next)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

__all__ = ["before_dataset_index", "dataset_facets"]


def before_dataset_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    return pkg_dict


def dataset_facets(facets_dict: OrderedDict[str, Any], package_type: str) -> OrderedDict[str, Any]:
    return facets_dict
