"""Auth functions, one per action, named as the action."""
from __future__ import annotations

__all__: list[str] = []
