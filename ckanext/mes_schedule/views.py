"""Blueprint of the compliance pages."""
from __future__ import annotations

from flask import Blueprint

mes_schedule = Blueprint("mes_schedule", __name__)

__all__ = ["mes_schedule"]
