"""Template helpers, all registered by the plugin's `tk.blanket.helpers` from `__all__` below:

- core.py: language, frequencies, the legal basis; chained `get_translated` and `dataset_display_name`;
- compliance.py: statuses, badges and the facet;
- publisher.py: the upload outlook, periods and dates for publishers;
- home.py: the home page's record at a glance, the act's link in the page's language;
- charts.py: compliance over time (period strips, charts, missed deadlines).
"""
from __future__ import annotations

from ckanext.mes_schedule.helpers import charts, compliance, core, home, publisher
from ckanext.mes_schedule.helpers.charts import *  # noqa: F403
from ckanext.mes_schedule.helpers.compliance import *  # noqa: F403
from ckanext.mes_schedule.helpers.core import *  # noqa: F403
from ckanext.mes_schedule.helpers.home import *  # noqa: F403
from ckanext.mes_schedule.helpers.publisher import *  # noqa: F403

# Each module's __all__ names its helpers; CKAN's blanket registration reads this one.
__all__ = [*core.__all__, *compliance.__all__, *publisher.__all__, *home.__all__, *charts.__all__]
