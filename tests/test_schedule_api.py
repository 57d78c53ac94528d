"""Guards on the public face of the deadline engine: the names it exports, and that it imports no CKAN.

The engine is a package (ckanext/mes_schedule/schedule/) whose ``__init__`` re-exports the public API; every
name other modules use must stay importable from the package itself.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ckanext.mes_schedule import schedule

REPO_ROOT = Path(__file__).resolve().parents[1]

# The names are written out (not read from the package) so that removing one fails here first.
PUBLIC_API = set(
    # constants
    "DEFAULT_ORDER_PATH DEFAULT_START FREQUENCY_CODES KINDS LANGUAGES OUTCOMES ROMAN RULE_KINDS STATUSES TZ "
    # types
    "Assessment Item Order Period PeriodOutcome Publication Rule RuleKind RuleVersion WorkCalendar "
    # functions
    "assess describe frequencies_for frequency_fits load_order local_date parse_rule periods rule_versions today"
    .split()
)


def test_all_is_exactly_the_public_api():
    assert len(schedule.__all__) == len(set(schedule.__all__)), "a name is listed twice"
    assert set(schedule.__all__) == PUBLIC_API


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_each_name_is_importable_from_the_package(name):
    module = importlib.import_module("ckanext.mes_schedule.schedule")
    assert getattr(module, name) is getattr(schedule, name)
    namespace: dict[str, object] = {}
    exec(f"from ckanext.mes_schedule.schedule import {name}", namespace)
    assert namespace[name] is getattr(schedule, name)


def test_star_import_gives_the_public_api_only():
    namespace: dict[str, object] = {}
    exec("from ckanext.mes_schedule.schedule import *", namespace)
    assert set(namespace) - {"__builtins__"} == PUBLIC_API


def test_the_registry_and_the_kind_names_agree():
    assert schedule.RULE_KINDS == tuple(schedule.KINDS)
    assert schedule.RULE_KINDS == ("annual", "quarterly", "every-n-years", "twice-yearly", "event", "as-established")
    for name, kind in schedule.KINDS.items():
        assert kind.name == name
        assert set(kind.required) <= set(kind.keys) and set(kind.one_of) <= set(kind.keys)


def test_the_default_order_is_the_shipped_file():
    assert schedule.DEFAULT_ORDER_PATH == (REPO_ROOT / "ckanext" / "mes_schedule" / "data" / "order-120.yaml").resolve()


def test_engine_imports_without_ckan():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["ckan"] = None  # any attempt to import ckan now fails loudly
        from ckanext.mes_schedule import schedule
        from ckanext.mes_schedule.schedule import assess, load_order
        load_order()
        print(schedule.assess("annual quarter=4", [], as_of=schedule.DEFAULT_START).status)
        loaded = [name for name in sys.modules if sys.modules[name] is not None
                  and name.split(".")[0] in ("ckan", "flask", "sqlalchemy")]
        assert not loaded, loaded
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "not_yet_due"
