"""Option parsing shared by the extension's commands."""
from __future__ import annotations

import datetime as dt
from typing import Optional

import click

__all__ = ["parse_iso_date"]


def parse_iso_date(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[dt.date]:
    """click callback: an ISO date (YYYY-MM-DD), or a usage error that says the expected form."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date in the form YYYY-MM-DD") from None
