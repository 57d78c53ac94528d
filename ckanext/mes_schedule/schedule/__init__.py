"""The deadline engine for Order No. 120: rules, working-day calendar, periods and statuses.

This package implements the compliance model (``docs/rules.md`` and the compliance-model note) and
nothing else. It imports no CKAN code so that it can be tested on its own and shared by the CLI, the
API, the pages, the badges, the reminders and the calendar feed. Import from the package
(``from ckanext.mes_schedule import schedule``); the modules below are its parts.

Reading guide:

1. Rules (``rules``, ``kinds``, ``windows``, ``words``): ``parse_rule`` turns an item's machine-readable
   rule ("annual quarter=4") into a ``Rule``; ``describe`` puts it back into words (kk/ru/en);
   ``frequencies_for`` gives the EU frequency codes that fit it. Each rule kind is one ``RuleKind``
   record in ``KINDS``.
2. Calendar (``calendar``): ``WorkCalendar`` knows which days are working days in Kazakhstan
   (weekends, public holidays with their moved days, plus configured exceptions). ``local_date`` turns
   timestamps into Kazakhstan (Asia/Almaty) dates.
3. Periods (``periods``): ``periods`` lists the windows a rule imposes, each with the date it opens,
   its due date (moved off non-working days) and the date it closes.
4. Amendments (``versions``): a rule may change; each period is judged by the version in force when
   its window opened. ``assess`` and ``periods`` take one rule or ``(effective_from, rule)`` pairs.
5. Status (``assessment``, ``publications``): ``assess`` sorts a dataset's publications into those
   periods and derives its status. A publication is a date, a timestamp or a ``Publication``, which may
   declare the period it covers (by its label); a declared publication counts for that period only.
6. The order itself (``order``): ``load_order`` reads the list of items from YAML and validates it.
"""

from __future__ import annotations

from .assessment import OUTCOMES, STATUSES, Assessment, PeriodOutcome, assess
from .calendar import TZ, WorkCalendar, local_date, today
from .kinds import FREQUENCY_CODES, KINDS, RULE_KINDS, RuleKind
from .order import DEFAULT_ORDER_PATH, Item, Order, load_order
from .periods import DEFAULT_START, Period, periods
from .publications import Publication
from .rules import Rule, describe, frequencies_for, frequency_fits, parse_rule
from .versions import RuleVersion, rule_versions
from .words import LANGUAGES, ROMAN

__all__ = [
    "DEFAULT_ORDER_PATH",
    "DEFAULT_START",
    "FREQUENCY_CODES",
    "KINDS",
    "LANGUAGES",
    "OUTCOMES",
    "ROMAN",
    "RULE_KINDS",
    "STATUSES",
    "TZ",
    "Assessment",
    "Item",
    "Order",
    "Period",
    "PeriodOutcome",
    "Publication",
    "Rule",
    "RuleKind",
    "RuleVersion",
    "WorkCalendar",
    "assess",
    "describe",
    "frequencies_for",
    "frequency_fits",
    "load_order",
    "local_date",
    "parse_rule",
    "periods",
    "rule_versions",
    "today",
]
