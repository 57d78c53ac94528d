"""The parameters of a rule as the per-kind functions (windows, words, frequencies) see them.

``Rule`` satisfies this protocol; the kind records depend on it rather than on ``Rule`` itself, so that the
registry sits below the rule class (``rules`` imports ``kinds``, never the reverse).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RuleParams"]


class RuleParams(Protocol):
    """A rule's kind and parameters (None: the parameter does not apply to the kind)."""

    @property
    def kind(self) -> str: ...

    @property
    def quarter(self) -> int | None: ...

    @property
    def month(self) -> int | None: ...

    @property
    def day(self) -> int | None: ...

    @property
    def years(self) -> int | None: ...

    @property
    def from_year(self) -> int | None: ...

    @property
    def working_days(self) -> int | None: ...

    @property
    def max_per_year(self) -> int | None: ...
