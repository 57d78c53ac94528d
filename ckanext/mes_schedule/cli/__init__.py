"""`ckan mes-schedule ...`: the extension's command group (registered by the plugin's `tk.blanket.cli`).

- order.py: `deadlines` (the order's due dates) and `seed` (the ministry's datasets);
- compliance.py: `compliance` (the compliance table as the portal's CSV/JSON downloads);
- history.py: `backfill`, `verify-history`; index.py: `reindex`; remind.py: `remind`;
- cache.py: `clear-cache`; options.py: shared option parsing.
"""
from __future__ import annotations

import click

from ckanext.mes_schedule.cli import cache, compliance, history, i18n, index, order, remind

__all__ = ["mes_schedule"]


# `-h` as well as `--help`; the subcommands' contexts inherit the option names from the group's.
@click.group(
    name="mes-schedule",
    short_help="Order No. 120: deadlines, seeding and compliance.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def mes_schedule() -> None:
    """Order No. 120 of the Minister of Education and Science: mandated datasets, deadlines, compliance."""


# Each command lives in its own module; the group is assembled here, in one visible block.
for _command in (order.deadlines, order.seed, compliance.compliance, history.backfill, history.verify_history,
                 index.reindex, remind.remind, i18n.i18n_dir, cache.clear_cache):
    mes_schedule.add_command(_command)
