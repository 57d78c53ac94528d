"""The extension's pages, downloads, badges, feeds and charts, as three blueprints (registered by the plugin's
`tk.blanket.blueprints`, which reads `__all__`):

- ``mes_schedule`` (views/compliance.py): the compliance page, each organisation's tab, each dataset's history
  and events, the CSV/JSON downloads and the SVG badges;
- ``mes_schedule_publisher`` (views/publisher.py): calendar feeds and "My deadlines";
- ``mes_schedule_charts`` (views/charts.py): compliance over time as SVG images (charts, period strips).

All run the same guards around every request, registered here in one place. (The CSRF check of cookie
sessions holds for every view of the portal, core's too: ckanext/mes_schedule/csrf.py.)
"""
from __future__ import annotations

from ckanext.mes_schedule.views import common, errors
from ckanext.mes_schedule.views.charts import mes_schedule_charts
from ckanext.mes_schedule.views.compliance import mes_schedule
from ckanext.mes_schedule.views.publisher import mes_schedule_publisher

__all__ = ["mes_schedule", "mes_schedule_publisher", "mes_schedule_charts"]

for _blueprint in (mes_schedule, mes_schedule_publisher, mes_schedule_charts):
    _blueprint.before_request(common.refuse_nul_in_address)
    # Responses that depend on who asks: private to an identified caller, and varying on the credentials.
    _blueprint.after_request(common.cache_by_identity)
    # Solr or PostgreSQL unreachable: 503 with a clear message on every page, not 500.
    errors.register(_blueprint)
