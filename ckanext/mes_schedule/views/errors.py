"""503 instead of 500 while Solr or PostgreSQL is unreachable, on every page of the portal.

CKAN answers "Internal server error" when its search or database connection fails; for a citizen or an
administrator "temporarily unavailable, try again" is the truthful message, and a monitoring system can tell
an outage from a bug. Registered app-wide by the extension's blueprint.
"""
from __future__ import annotations

import html
import json
import logging

from flask import Blueprint, Response, request
from sqlalchemy import exc as sa_exc

from ckan.lib.search.common import SearchIndexError, SolrConnectionError

__all__ = ["register"]

log = logging.getLogger(__name__)

_RETRY_AFTER = "30"


def _unavailable(what: str, message: str) -> Response:
    if request.path.startswith("/api/"):
        body = '{"success": false, "error": {"__type": "Service Unavailable", "message": %s}}' % (
            json.dumps(message, ensure_ascii=False)
        )
        response = Response(body, status=503, mimetype="application/json")
    else:
        # Plain markup: rendering CKAN's templates could need the very service that is down (the user's row).
        body = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>503</title></head>'
            f"<body><h1>503 Service Unavailable</h1><p>{html.escape(message)}</p></body></html>"
        )
        response = Response(body, status=503, mimetype="text/html")
    response.headers["Retry-After"] = _RETRY_AFTER
    log.error("%s unavailable while serving %s", what, request.path)
    return response


def _search_down(error: Exception) -> Response:
    return _unavailable("Solr", "Search is temporarily unavailable. Please try again in a minute.")


def _database_down(error: Exception) -> Response:
    return _unavailable("PostgreSQL", "The portal's database is temporarily unavailable. Please try again in a minute.")


def register(blueprint: Blueprint) -> None:
    blueprint.app_errorhandler(SolrConnectionError)(_search_down)
    blueprint.app_errorhandler(SearchIndexError)(_search_down)
    # A connection refused or dropped; not a programming error in SQL (those stay 500).
    blueprint.app_errorhandler(sa_exc.OperationalError)(_database_down)
    blueprint.app_errorhandler(sa_exc.InterfaceError)(_database_down)
