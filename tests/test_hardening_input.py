"""Bad input, generated: whatever the parameters of the actions, pages, downloads and the dataset schema's legal
fields hold, the outcome is a normal answer or a clear refusal (ValidationError naming a real parameter,
ObjectNotFound, NotAuthorized; over HTTP a 4xx with a message), never another exception or a 5xx, and a
refused write writes nothing.

Hypothesis generates the values; each test keeps its example count modest so the suite stays quick
(MES_SCHEDULE_HYPOTHESIS_EXAMPLES=1000 in the environment searches deeper). The fixtures are function-scoped
on purpose: every example of one test runs against the same small portal, and what an example writes (an event
recorded by a valid call) is part of the state the next one sees. Inputs that once failed are kept as fixed
examples at the end of the module.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings, strategies as st

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
from ckan.lib.navl.dictization_functions import DataError

from ckanext.mes_schedule import schedule, vocab
from ckanext.mes_schedule.logic import validators_api
from ckanext.mes_schedule.logic.validators import ACT_FIELDS
from tests.fixtures import events_in_force, legal, publish, staffed_organization

FREQ = "http://publications.europa.eu/resource/authority/frequency/"

HYPOTHESIS = settings(
    max_examples=int(os.environ.get("MES_SCHEDULE_HYPOTHESIS_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Every parameter each action documents.
ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "mes_schedule_compliance_list": (
        "status", "sort", "limit", "offset", "as_of", "organization", "frequency", "q", "lang",
    ),
    "mes_schedule_compliance_show": ("id", "package_id", "as_of", "lang"),
    "mes_schedule_publication_list": ("id", "package_id", "limit", "offset"),
    "mes_schedule_event_create": ("id", "package_id", "event_date", "note"),
    "mes_schedule_event_list": ("id", "package_id"),
    "mes_schedule_event_delete": ("id",),
}

#: The dataset schema's fields this extension adds (schemas/dataset.yaml).
LEGAL_FIELDS = (
    *ACT_FIELDS,
    "title_ru",
    "title_en",
    "notes_ru",
    "notes_en",
)


# ------------------------------------------------------------------------------------------- the portal


@pytest.fixture
def portal(with_plugins, clean_db, clean_index) -> dict[str, Any]:
    """Two organisations, a user of each role that matters, scheduled datasets (one private, one event-driven,
    with an event and a publication), and a dataset outside the order."""
    sysadmin = factories.SysadminWithToken()
    org, staff = staffed_organization("admin", "member", name="mes-rk")
    admin, member = staff["admin"], staff["member"]
    other_org, others = staffed_organization("admin", name="akimat")
    other_admin = others["admin"]
    annual = factories.Dataset(owner_org=org["id"], name="annual", title="Жылдық", **legal(5))
    private = factories.Dataset(owner_org=org["id"], name="secret", private=True, **legal(6))
    event = factories.Dataset(
        owner_org=org["id"], name="register", **legal(7, "event working-days=10 max-per-year=2", "IRREG")
    )
    factories.Dataset(owner_org=other_org["id"], name="elsewhere", **legal(8, "quarterly day=10", "QUARTERLY"))
    factories.Dataset(owner_org=org["id"], name="unscheduled")
    publish(annual, dt.datetime(2025, 11, 2, 6, 0), resource_id="r-annual")
    recorded = tk.get_action("mes_schedule_event_create")(
        {"user": sysadmin["name"]}, {"package_id": "register", "event_date": "2025-12-05", "note": "бекітілді"}
    )
    return {
        "users": {"anonymous": "", "sysadmin": sysadmin["name"], "admin": admin["name"],
                  "member": member["name"], "other_admin": other_admin["name"]},
        "tokens": {"sysadmin": sysadmin["token"], "admin": admin["token"], "other_admin": other_admin["token"]},
        "org": org,
        "datasets": {"annual": annual, "secret": private, "register": event},
        "event_id": recorded["id"],
    }


def _events() -> int:
    model.Session.expire_all()
    return len(events_in_force())


def _packages() -> int:
    model.Session.expire_all()
    return model.Session.query(model.Package).count()


# ------------------------------------------------------------------------------------------- strategies

# Text with everything a form or a URL can carry: control characters, NUL, markup, other scripts. The edge
# cases are a branch of their own so that every run meets them, not only the rare lucky one.
edge_text = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\r\n", "\t", "<script>alert(1)</script>", "'; drop table package; --", "%00",
     "../..", "null", "None", "-", "--item", "-item", ",", ",,,", "🙂", "Ә", "0", "-1", "1e3", "９", " 5 ",
     "10" * 30, "\ufeff", "\u202e"]
)
any_text = st.one_of(edge_text, st.text(max_size=40))
numbers = st.one_of(
    st.sampled_from([-1, 0, 1, 999, 1000, 1001, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(10**30)]), st.integers()
)
floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(st.none(), st.booleans(), numbers, floats, any_text)


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    # Lists and dicts as navl sees them in JSON bodies, lists of dicts included (navl flattens those).
    return st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)


anything = st.recursive(scalars, _containers, max_leaves=6)
iso_dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat)
near_dates = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2027, 12, 31)).map(dt.date.isoformat)


def _plausible(portal: dict[str, Any]) -> dict[str, st.SearchStrategy]:
    """Values close to valid ones for each parameter, so that the generated calls also pass validation and
    reach the code behind it."""
    ds = portal["datasets"]
    ids = st.sampled_from(
        [ds["annual"]["name"], ds["annual"]["id"], ds["secret"]["name"], ds["register"]["name"], ds["register"]["id"],
         "unscheduled", "elsewhere", "no-such-dataset", portal["event_id"], str(uuid.uuid4())]
    )
    statuses = st.lists(st.sampled_from([*schedule.STATUSES, "bogus", ""]), max_size=3)
    return {
        "status": st.one_of(statuses, statuses.map(",".join)),
        "sort": st.sampled_from(
            [*validators_api.SORT_FIELDS, *("-" + f for f in validators_api.SORT_FIELDS), "--item"]
        ),
        "limit": st.one_of(st.integers(min_value=-2, max_value=1002), st.integers(0, 1002).map(str)),
        "offset": st.one_of(st.integers(-2, 60), st.integers(0, 50).map(str), st.sampled_from([2**63, 10**20])),
        "as_of": st.one_of(iso_dates, near_dates),
        "organization": st.sampled_from(["mes-rk", "akimat", portal["org"]["id"], "no-such-org", "register"]),
        "frequency": st.sampled_from([*vocab.FREQUENCIES, *(FREQ + c for c in vocab.FREQUENCIES), "quarterly"]),
        "q": any_text,
        "lang": st.sampled_from([*vocab.LANGS, "fr", "KK", "en_GB"]),
        "id": ids,
        "package_id": ids,
        "event_date": st.one_of(near_dates, iso_dates),
        "note": st.one_of(any_text, st.text(min_size=990, max_size=1010)),
    }


def _values(portal: dict[str, Any], param: str) -> st.SearchStrategy:
    return st.one_of(_plausible(portal)[param], anything)


def _data_dicts(portal: dict[str, Any], action: str) -> st.SearchStrategy:
    params = ACTION_PARAMS[action]
    return st.fixed_dictionaries({}, optional={p: _values(portal, p) for p in params})


# ------------------------------------------------------------------------------------------- actions


def _call(action: str, user: str, data: dict[str, Any]) -> tuple[str, Any]:
    """Call the action as `user` (auth checked); ("ok", result) or (exception kind, exception)."""
    try:
        return "ok", tk.get_action(action)({"user": user}, dict(data))
    except tk.ValidationError as e:
        return "invalid", e
    except tk.ObjectNotFound as e:
        return "not_found", e
    except tk.NotAuthorized as e:
        return "not_authorized", e
    except Exception:
        # Leave the session usable for the examples Hypothesis runs while it shrinks this one.
        model.Session.rollback()
        raise


def _check_refusal(action: str, kind: str, error: Exception) -> None:
    if kind == "invalid":
        assert isinstance(error, tk.ValidationError)
        assert error.error_dict, "a ValidationError must say what is wrong"
        assert set(error.error_dict) <= set(ACTION_PARAMS[action]), (action, error.error_dict)
        for messages in error.error_dict.values():
            assert messages and all(isinstance(m, str) and m.strip() for m in messages), error.error_dict


@pytest.mark.parametrize("action", sorted(ACTION_PARAMS))
def test_actions_answer_or_refuse_cleanly(portal, action):
    users = st.sampled_from(sorted(portal["users"].values()))

    @HYPOTHESIS
    @given(user=users, data=_data_dicts(portal, action))
    def check(user: str, data: dict[str, Any]) -> None:
        before = _events()
        kind, outcome = _call(action, user, data)
        after = _events()
        if kind != "ok":
            _check_refusal(action, kind, outcome)
            assert after == before, f"{action} refused ({kind}) but the events changed"
            return
        if action == "mes_schedule_event_create":
            assert after == before + 1
            assert set(outcome) >= {"id", "package_id", "event_date"}
        elif action == "mes_schedule_event_delete":
            assert after == before - 1
        else:
            assert after == before, f"the read action {action} changed the events"
        if action == "mes_schedule_compliance_list":
            assert set(outcome) == {"count", "as_of", "summary", "results"}
            assert isinstance(outcome["results"], list)
        json.dumps(outcome)  # what the API will serialise

    check()


def test_refused_event_writes_leave_no_trace(portal):
    """A focused version for the writes: invalid input from an organisation's admin writes nothing, and the
    only events that appear are the valid ones."""

    @HYPOTHESIS
    @given(
        package_id=st.sampled_from(["register", "annual", "no-such", ""]),
        event_date=st.one_of(near_dates, any_text, numbers, st.none()),
        note=st.one_of(st.none(), any_text, st.text(min_size=1001, max_size=1003), st.just("a\x00b")),
    )
    def check(package_id: str, event_date: Any, note: Any) -> None:
        before = _events()
        kind, outcome = _call(
            "mes_schedule_event_create",
            portal["users"]["admin"],
            {"package_id": package_id, "event_date": event_date, "note": note},
        )
        if kind == "ok":
            assert _events() == before + 1
            # Clean up so the max-per-year rule keeps later examples exploring validation, not the quota.
            _call("mes_schedule_event_delete", portal["users"]["admin"], {"id": outcome["id"]})
            assert _events() == before
        else:
            _check_refusal("mes_schedule_event_create", kind, outcome)
            assert _events() == before

    check()


# ------------------------------------------------------------------------------------------- the API over HTTP

# Query-string values: strings, or lists of them (a repeated parameter).
query_values = st.one_of(any_text, st.lists(any_text, min_size=1, max_size=3))


def _api_error_has_message(response) -> None:
    body = response.json
    assert body["success"] is False
    error = body["error"]
    assert error.get("__type"), error
    fields = {k: v for k, v in error.items() if k not in ("__type", "message")}
    assert error.get("message") or fields, error


@pytest.mark.parametrize("action", sorted(a for a in ACTION_PARAMS if "event_create" not in a and "delete" not in a))
def test_api_get_never_fails_with_a_server_error(app, portal, action):
    params = ACTION_PARAMS[action]
    plausible = _plausible(portal)
    value_for = {p: st.one_of(query_values, plausible[p].map(lambda v: v if isinstance(v, (str, list)) else str(v)))
                 for p in params}
    roles = st.sampled_from(["anonymous", "sysadmin", "admin", "other_admin"])

    @HYPOTHESIS
    @given(role=roles, query=st.fixed_dictionaries({}, optional=value_for))
    def check(role: str, query: dict[str, Any]) -> None:
        headers = {"Authorization": portal["tokens"][role]} if role in portal["tokens"] else {}
        response = app.get(f"/api/3/action/{action}", query_string=query, headers=headers)
        assert response.status_code < 500, (query, response.body[:500])
        if response.status_code >= 400:
            _api_error_has_message(response)

    check()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.floats(allow_nan=False, allow_infinity=False), any_text),
    _containers,
    max_leaves=6,
)


@pytest.mark.parametrize("action", ["mes_schedule_event_create", "mes_schedule_event_delete"])
def test_api_post_of_writes_never_fails_with_a_server_error(app, portal, action):
    params = ACTION_PARAMS[action]
    plausible = _plausible(portal)
    value_for = {p: st.one_of(json_values, plausible[p]) for p in params}
    roles = st.sampled_from(["sysadmin", "admin", "other_admin"])

    @HYPOTHESIS
    @given(role=roles, body=st.fixed_dictionaries({}, optional=value_for))
    def check(role: str, body: dict[str, Any]) -> None:
        before = _events()
        response = app.post(
            f"/api/3/action/{action}", json=body, headers={"Authorization": portal["tokens"][role]}
        )
        assert response.status_code < 500, (body, response.body[:500])
        if response.status_code >= 400:
            _api_error_has_message(response)
            assert _events() == before
            if response.status_code == 409:  # CKAN's status for a ValidationError
                fields = set(response.json["error"]) - {"__type", "message"}
                assert fields <= set(params), response.json

    check()


# ------------------------------------------------------------------------------------------- pages over HTTP

# The pages and downloads, each with the query parameters it reads.
PAGE_PARAMS = ("status", "sort", "q", "as_of", "organization", "frequency", "page", "lang")
PAGES = (
    "/compliance",
    "/compliance.csv",
    "/compliance.json",
    "/organization/compliance/{org}",
    "/organization/compliance/{org}.csv",
    "/dataset/{id}/compliance",
    "/dataset/{id}/compliance.svg",
    "/compliance/calendar.ics",
    "/organization/{org}/calendar.ics",
    "/dataset/{id}/calendar.ics",
)


def _error_message(body: str) -> str:
    """The message of CKAN's error page (error_document_template.html), without its heading."""
    soup = BeautifulSoup(body, "html.parser")
    # CKAN 2.12 marks the message's box with an id; 2.11 has the same box without it.
    content = soup.select_one("#error-content") or soup.select_one("article.module .module-content")
    assert content is not None, body[:500]
    heading = content.find("h1")
    if heading:
        heading.extract()
    return content.get_text(" ", strip=True)


def _segment(text: str) -> str:
    return quote(text, safe="")


@pytest.mark.parametrize("page", PAGES)
def test_pages_never_fail_with_a_server_error(app, portal, page):
    plausible = _plausible(portal)
    value_for = {
        p: st.one_of(query_values, plausible[p].map(lambda v: v if isinstance(v, (str, list)) else str(v)))
        if p in plausible else st.one_of(query_values, st.integers(-2, 10**25).map(str))
        for p in PAGE_PARAMS
    }
    orgs = st.one_of(st.sampled_from(["mes-rk", "akimat", "no-such-org", portal["org"]["id"]]), any_text)
    ids = st.one_of(plausible["id"], any_text)
    prefixes = st.sampled_from(["", "/ru", "/kk"])
    roles = st.sampled_from(["anonymous", "admin", "other_admin"])

    @HYPOTHESIS
    @given(
        prefix=prefixes, role=roles, org=orgs, id_=ids,
        query=st.fixed_dictionaries({}, optional=value_for),
    )
    def check(prefix: str, role: str, org: str, id_: str, query: dict[str, Any]) -> None:
        path = prefix + page.format(org=_segment(org), id=_segment(id_))
        headers = {"Authorization": portal["tokens"][role]} if role in portal["tokens"] else {}
        response = app.get(path, query_string=query, headers=headers)
        status = response.status_code
        assert status < 500, (path, query, response.body[:800])
        if 400 <= status < 500:
            assert _error_message(response.body), (path, query, status)

    check()


# ------------------------------------------------------------------------------------------- the dataset schema

_rule_words = st.one_of(
    st.sampled_from(["annual", "quarterly", "every-n-years", "twice-yearly", "event", "as-established", "ANNUAL",
                     "weekly"]),
    st.builds(
        "{}={}".format,
        st.sampled_from(["quarter", "month", "day", "years", "from", "working-days", "max-per-year", "colour"]),
        st.one_of(st.integers(-3, 2200).map(str), st.sampled_from(["", "x", "1.5", "+2", "0004", "9" * 30])),
    ),
)
rules = st.lists(_rule_words, min_size=0, max_size=5).map(" ".join)
frequencies = st.sampled_from([*(FREQ + c for c in vocab.FREQUENCIES), *vocab.FREQUENCIES, FREQ, "ANNUAL "])


def _legal_values() -> dict[str, st.SearchStrategy]:
    plain = st.one_of(anything, iso_dates)
    return {
        "mes_schedule_item": st.one_of(st.integers(-5, 1005), st.integers(-5, 1005).map(str), plain),
        "mes_schedule_act_number": plain,
        "mes_schedule_act_date": st.one_of(iso_dates, st.just("2016-01-29T10:00:00"), plain),
        "mes_schedule_act_registration": plain,
        "mes_schedule_frequency": st.one_of(frequencies, plain),
        "mes_schedule_rule": st.one_of(rules, plain),
        "mes_schedule_deadline_kk": plain,
        "title_ru": plain,
        "title_en": plain,
        "notes_ru": plain,
        "notes_en": plain,
    }


def test_legal_fields_through_package_create(portal):
    sysadmin = portal["users"]["sysadmin"]
    values = _legal_values()

    @HYPOTHESIS
    @given(
        base=st.sampled_from([{}, legal(20)]),
        fields=st.fixed_dictionaries({}, optional=values),
    )
    def check(base: dict[str, Any], fields: dict[str, Any]) -> None:
        data = {
            "name": f"h-{uuid.uuid4().hex[:12]}",
            "title": "Тексеру",
            "owner_org": portal["org"]["id"],
            **base,
            **fields,
        }
        before = _packages()
        try:
            created = tk.get_action("package_create")({"user": sysadmin}, data)
        except tk.ValidationError as e:
            assert e.error_dict, data
            # CKAN 2.11 reports a nested structure in a plain field as "__junk" (2.12 names the field).
            named = set(LEGAL_FIELDS) | (set() if tk.check_ckan_version(min_version="2.12") else {"__junk"})
            assert set(e.error_dict) <= named, (data, e.error_dict)
            assert _packages() == before, "a refused dataset was written"
            return
        except DataError:
            # CKAN 2.11's own flattening refuses a list of plain values before any field validator runs (the
            # API answers 400 for it); 2.12 validates such a list field by field.
            model.Session.rollback()
            assert not tk.check_ckan_version(min_version="2.12"), data
            assert _packages() == before, "a refused dataset was written"
            return
        except Exception:
            model.Session.rollback()
            raise
        assert _packages() == before + 1
        shown = tk.get_action("package_show")({"user": sysadmin}, {"id": created["id"]})
        if shown.get("mes_schedule_rule"):
            # What is stored is the engine's canonical text: it parses again.
            schedule.parse_rule(shown["mes_schedule_rule"])

    check()


# ------------------------------------------------------------------------------------------- found by generation

# Inputs the generated tests above found failing with server errors, kept as fixed examples so that every run
# checks them whatever Hypothesis happens to draw.


@pytest.mark.parametrize(
    "action, data, field",
    [
        ("mes_schedule_compliance_show", {"id": "a\x00b"}, "id"),
        ("mes_schedule_publication_list", {"id": "\x00"}, "id"),
        ("mes_schedule_event_list", {"package_id": "register\x00"}, "package_id"),
        ("mes_schedule_event_delete", {"id": "\x00"}, "id"),
        ("mes_schedule_compliance_list", {"organization": "mes-rk\x00"}, "organization"),
        ("mes_schedule_event_create", {"package_id": "register", "event_date": "2025-06-02", "note": "a\x00b"}, "note"),
        ("mes_schedule_publication_list", {"id": "annual", "offset": 2**63}, "offset"),
        ("mes_schedule_publication_list", {"id": "annual", "offset": str(10**30)}, "offset"),
        ("mes_schedule_compliance_list", {"offset": 10**30}, "offset"),
    ],
)
def test_regressions_of_actions(portal, action, data, field):
    before = _events()
    kind, error = _call(action, portal["users"]["sysadmin"], data)
    assert kind == "invalid", (kind, error)
    assert field in error.error_dict
    assert _events() == before


@pytest.mark.parametrize("value", [" ", "\t", " 7 "])
def test_blank_paging_values_count_as_missing(portal, value):
    for action, data in (("mes_schedule_compliance_list", {}), ("mes_schedule_publication_list", {"id": "annual"})):
        kind, result = _call(action, "", {**data, "limit": value, "offset": value})
        assert kind == "ok", result


@pytest.mark.parametrize(
    "path, query, status",
    [
        ("/organization/compliance/%00", {}, 404),
        ("/organization/compliance/mes-rk%00.csv", {}, 404),
        ("/dataset/%00/compliance", {}, 404),
        ("/dataset/a%00b/compliance.svg", {}, 404),
        ("/organization/%00/calendar.ics", {}, 404),
        ("/dataset/%00/calendar.ics", {}, 404),
        ("/compliance", {"organization": "\x00"}, 400),
        ("/compliance.json", {"organization": "mes-rk\x00"}, 400),
        ("/compliance", {"page": "²"}, 400),
        ("/compliance.csv", {"page": "١"}, 400),
        ("/organization/compliance/mes-rk", {"page": "²"}, 400),
        ("/compliance", {"page": str(10**25)}, 200),
        ("/api/3/action/mes_schedule_compliance_show", {"id": "\x00"}, 409),
        ("/api/3/action/mes_schedule_publication_list", {"id": "annual", "offset": str(2**63)}, 409),
        ("/api/3/action/mes_schedule_compliance_list", {"limit": " "}, 200),
        ("/api/3/action/mes_schedule_publication_list", {"id": "annual", "offset": " "}, 200),
    ],
)
def test_regressions_over_http(app, portal, path, query, status):
    response = app.get(path, query_string=query)
    assert response.status_code == status, response.body[:500]
    if status >= 400:
        if path.startswith("/api/"):
            _api_error_has_message(response)
        else:
            assert _error_message(response.body)


def test_regressions_of_the_schema(portal):
    for field in ("title_ru", "title_en", "notes_ru", "notes_en", "mes_schedule_act_number",
                  "mes_schedule_act_registration", "mes_schedule_deadline_kk"):
        before = _packages()
        with pytest.raises(tk.ValidationError) as error:
            tk.get_action("package_create")(
                {"user": portal["users"]["sysadmin"]},
                {"name": f"nul-{uuid.uuid4().hex[:8]}", "owner_org": portal["org"]["id"], **legal(30),
                 field: "a\x00b"},
            )
        assert set(error.value.error_dict) == {field}
        assert _packages() == before
    # Not text where text is expected: the field's own validator names it.
    for value in ([None], ["ANNUAL"], {"a": 1}, 5):
        with pytest.raises(tk.ValidationError) as error:
            tk.get_action("package_create")(
                {"user": portal["users"]["sysadmin"]},
                {"name": f"freq-{uuid.uuid4().hex[:8]}", "owner_org": portal["org"]["id"], **legal(31),
                 "mes_schedule_frequency": value},
            )
        assert set(error.value.error_dict) == {"mes_schedule_frequency"}, error.value.error_dict
