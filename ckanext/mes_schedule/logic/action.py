"""API actions of ckanext-mes_schedule."""
from __future__ import annotations

__all__: list[str] = []
