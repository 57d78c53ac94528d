"""Publications: when a dataset's data were published and, optionally, which period they cover.

A publication is sorted into a period by its date (compliance model, section 3) unless it declares the period
it covers (section 6). ``assess`` takes plain dates and timestamps as well as ``Publication`` values; a plain
one is a publication without a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

from .calendar import local_date

__all__ = [
    "Publication",
    "PublicationLike",
]


@dataclass(frozen=True, slots=True)
class Publication:
    """One publication: when it happened and, optionally, the label of the period it covers.

    ``at`` is a date or a timestamp (a naive datetime is UTC, an aware one is converted to Kazakhstan time).
    ``covers`` is None (the date decides) or a period label exactly as ``periods`` writes it (``Period.label``:
    "2026 Q2", "2026", "2026-12", or an event period's ISO date).
    """

    at: date | datetime
    covers: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.at, date):
            raise TypeError(f"at must be a date or a datetime, got {type(self.at).__name__}")
        if self.covers is None:
            return
        if not isinstance(self.covers, str):
            raise TypeError(f"covers must be a period label or None, got {type(self.covers).__name__}")
        # No label is empty or padded: such a value is a caller's slip (an empty form field, say) that would
        # otherwise silently count for no period.
        if not self.covers or self.covers != self.covers.strip():
            raise ValueError(f"covers must be a period label such as '2026 Q2', got {self.covers!r}")

    @property
    def day(self) -> date:
        """The Kazakhstan (Asia/Almaty) date of the publication."""
        return local_date(self.at)


#: What ``assess`` accepts as one publication.
PublicationLike: TypeAlias = "Publication | date | datetime"

