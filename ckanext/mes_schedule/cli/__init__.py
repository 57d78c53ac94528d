"""`ckan mes-schedule ...`: the extension's command group (registered by the plugin's `tk.blanket.cli`).

- order.py: `deadlines` (the order's due dates) and `seed` (the ministry's datasets);
- history.py: `backfill`, `verify-history`; index.py: `reindex`; remind.py: `remind`; options.py: shared option parsing.
"""
from __future__ import annotations

import click

from ckanext.mes_schedule.cli import history, index, order, remind

__all__ = ["mes_schedule"]


@click.group(name="mes-schedule", short_help="Order No. 120: deadlines, seeding and compliance.")
def mes_schedule() -> None:
    """Order No. 120 of the Minister of Education and Science: mandated datasets, deadlines, compliance."""


# Each command lives in its own module; the group is assembled here, in one visible block.
for _command in (order.deadlines, order.seed, history.backfill, history.verify_history, index.reindex, remind.remind):
    mes_schedule.add_command(_command)
