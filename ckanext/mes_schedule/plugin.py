"""ckanext-mes_schedule: Order No. 120's mandated datasets, their deadlines and publication compliance."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import DefaultTranslation
from ckan.types import Context

# Importing the model registers the extension's tables with CKAN's metadata (tests clean them between runs).
from ckanext.mes_schedule import (  # noqa: F401
    amendments,
    csrf,
    datastore_evidence,
    history,
    indexing,
    localization,
    model as _model,
)
from ckanext.mes_schedule.logic import DATASTORE_CHAINED, action as _action
from ckanext.mes_schedule.views import publisher as _publisher

try:  # XLoader is optional: with it, its loads are publications too
    from ckanext.xloader.interfaces import IXloader
except ImportError:  # pragma: no cover - the stack installs it
    IXloader = None


def _actions() -> dict[str, Any]:
    """The extension's actions, and CKAN's DataStore actions chained when the datastore plugin is loaded (CKAN
    refuses a chained action whose original does not exist)."""
    names = [name for name in _action.__all__ if name not in DATASTORE_CHAINED]
    if p.plugin_loaded("datastore"):
        names += DATASTORE_CHAINED
    return {name: getattr(_action, name) for name in names}


@tk.blanket.actions(_actions)
@tk.blanket.auth_functions
@tk.blanket.helpers
@tk.blanket.validators
@tk.blanket.blueprints
@tk.blanket.cli
@tk.blanket.config_declarations
class MesSchedulePlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)
    p.implements(p.IResourceController, inherit=True)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.IOrganizationController, inherit=True)
    p.implements(p.IFacets, inherit=True)
    p.implements(p.IMiddleware, inherit=True)
    if IXloader is not None:
        p.implements(IXloader, inherit=True)

    # IConfigurer

    def update_config(self, config_: tk.CKANConfig) -> None:
        tk.add_template_directory(config_, "templates")
        tk.add_public_directory(config_, "public")
        tk.add_resource("assets", "mes_schedule")
        # After login, editors of scheduled datasets land on "My deadlines" (unless the ini names another route).
        _publisher.route_after_login_default(config_)

    # IMiddleware: the CSRF check holds for every cookie session on every view (csrf.py).

    def make_middleware(self, app: Any, config: tk.CKANConfig) -> Any:
        return csrf.install(app)

    # IResourceController: every publication (resource created, file uploaded or replaced, URL changed)
    # goes into the extension's own history table.

    def before_resource_create(self, context: Context, resource: dict[str, Any]) -> None:
        history.prepare_coverage(context)

    def before_resource_update(self, context: Context, current: dict[str, Any], resource: dict[str, Any]) -> None:
        history.remember_before_update(context, current, resource)
        history.prepare_coverage(context)

    def after_resource_create(self, context: Context, resource: dict[str, Any]) -> None:
        history.record_resource(context, resource)

    def after_resource_update(self, context: Context, resource: dict[str, Any]) -> None:
        history.record_resource(context, resource)

    # IPackageController: resources added or changed through package_create/update/patch do not pass through
    # the resource hooks, so the dataset hooks record them too (the history deduplicates).

    def after_dataset_create(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        history.record_package(context, pkg_dict)
        amendments.after_dataset_change(context, pkg_dict)  # the item's first rule version, if none is stored

    def after_dataset_update(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        history.record_package(context, pkg_dict)
        amendments.after_dataset_change(context, pkg_dict)  # a sysadmin's rule change: a version from today

    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        return indexing.before_dataset_index(pkg_dict)

    def after_dataset_search(self, search_results: dict[str, Any], search_params: dict[str, Any]) -> dict[str, Any]:
        return localization.search_facets_view(indexing.after_dataset_search(search_results, search_params))

    # Pages show CKAN's records in the reader's language: a dataset's organisation and licence title, and
    # (IOrganizationController) organisations on their list, their pages and a dataset page's sidebar.

    def before_dataset_view(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        return localization.dataset_view(pkg_dict)

    def before_view(self, data_dict: dict[str, Any]) -> dict[str, Any]:
        return localization.organization_view(data_dict)

    # IXloader: a load into the DataStore that published new data is a publication (datastore_evidence).

    def after_upload(self, context: Context, resource_dict: dict[str, Any], dataset_dict: dict[str, Any]) -> None:
        datastore_evidence.after_load(context, resource_dict)

    # IFacets

    def dataset_facets(self, facets_dict: OrderedDict[str, Any], package_type: str) -> OrderedDict[str, Any]:
        return indexing.dataset_facets(facets_dict, package_type)

    def organization_facets(
        self, facets_dict: OrderedDict[str, Any], organization_type: str, package_type: str
    ) -> OrderedDict[str, Any]:
        return indexing.dataset_facets(facets_dict, package_type)
