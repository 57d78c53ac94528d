"""Publication history: recording publications from CKAN's resource and dataset hooks (stub, filled in next)."""
from __future__ import annotations

from typing import Any

from ckan.types import Context

__all__ = ["remember_before_update", "record_resource", "record_package"]


def remember_before_update(context: Context, current: dict[str, Any], resource: dict[str, Any]) -> None:
    pass


def record_resource(context: Context, resource: dict[str, Any]) -> None:
    pass


def record_package(context: Context, pkg_dict: dict[str, Any]) -> None:
    pass
