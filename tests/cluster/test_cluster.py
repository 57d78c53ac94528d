"""The extension on the scale-out cluster (scripts/cluster.sh): two CKAN nodes behind nginx, SolrCloud with a
replica of `ckan` on each of two Solr nodes, one PostgreSQL, Redis and jobs worker.

- a publication written through one node is seen through the other on the next request;
- two reminder runs started at once, one per node, send each reminder once;
- a stopped CKAN node, or a stopped Solr node, is invisible to clients, and a Solr node catches up when back.

Each test leaves the cluster whole (the autouse fixture `healthy_cluster` checks it before and after).
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import requests

from .helpers import TIMEOUT, Cluster, csrf_token, wait_until

STATUS_FIELD = "mes_schedule_status"  # ckanext/mes_schedule/indexing.py
CSV = b"region,kindergartens\nAstana,1\nAlmaty,2\n"


# ------------------------------------------------------------------------------------------------ helpers


def _unpublished_dataset(cluster: Cluster) -> dict[str, Any]:
    """A seeded dataset of mes-rk never published yet, with a due date within the calendar feed's year (so its
    feed has an event). Each run publishes one: the seed has some fifty to spare."""
    result = cluster.action(cluster.url, "mes_schedule_compliance_list", status="never_published", limit=1000)
    horizon = (dt.date.today() + dt.timedelta(days=330)).isoformat()
    for row in result["results"]:
        if row["organization"] == "mes-rk" and row["next_due"] and row["next_due"] <= horizon:
            return row
    pytest.fail("no never-published dataset of mes-rk left: reset the cluster (cluster-down, rm -rf .state/cluster)")


def _login(cluster: Cluster, base: str) -> requests.Session:
    """A browser logged in as the sysadmin through CKAN's login form at `base` (one node)."""
    browser = requests.Session()
    page = browser.get(f"{base}/user/login", timeout=TIMEOUT)
    field, token = csrf_token(page.text)
    password = Path(cluster.facts["password_file"]).read_text().strip()
    response = browser.post(
        f"{base}/user/login", data={"login": cluster.facts["sysadmin"], "password": password, field: token},
        allow_redirects=False, timeout=TIMEOUT,
    )
    assert response.status_code in (302, 303), f"login at {base}: {response.status_code}"
    # CKAN sends its session cookie with an empty `Domain=`: browsers take it as a host-only cookie (RFC 6265
    # 5.2.3), http.cookiejar drops it. Keep it as a browser would (host-only: any port of 127.0.0.1).
    for header in response.raw.headers.getlist("Set-Cookie"):
        cookie_name, _, rest = header.partition("=")
        browser.cookies.set(cookie_name.strip(), rest.split(";", 1)[0])
    return browser


def _listed(body: str, name: str) -> bool:
    return f'href="/dataset/{name}"' in body


def _facet(cluster: Cluster, base: str, **params: Any) -> dict[str, int]:
    result = cluster.action(base, "package_search", rows=0, **{"facet.field": json.dumps([STATUS_FIELD])}, **params)
    return dict(result["facets"].get(STATUS_FIELD, {}))


def _maildir_messages(maildir: Path) -> dict[str, email.message.EmailMessage]:
    out = {}
    for sub in ("new", "cur"):
        for path in (maildir / sub).glob("*"):
            out[path.name.split(":")[0]] = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return out


# ------------------------------------------------------------------------------------ one record, two nodes


def test_publication_through_one_node_is_seen_through_the_other(cluster: Cluster, unique: str) -> None:
    row = _unpublished_dataset(cluster)
    name = row["name"]
    one, two = cluster.node(1), cluster.node(2)
    token = {"Authorization": cluster.token}
    browser = _login(cluster, one)  # logged in on node 1; the cookie must work on node 2 (shared secrets)
    assert browser.get(f"{two}/dashboard/datasets", allow_redirects=False, timeout=TIMEOUT).status_code == 200

    unpublished = {"status": "never_published", "q": name}
    readers = {
        "anonymous": lambda url, **kw: requests.get(url, timeout=TIMEOUT, **kw),
        "logged in": lambda url, **kw: browser.get(url, timeout=TIMEOUT, **kw),
        "API token": lambda url, **kw: requests.get(url, headers=token, timeout=TIMEOUT, **kw),
    }
    # Before, read through node 2 (its caches, per process or shared, now hold the old record).
    for who, get in readers.items():
        page = get(f"{two}/compliance", params=unpublished)
        assert page.status_code == 200 and _listed(page.text, name), f"/compliance ({who}) before"
    assert cluster.action(two, "mes_schedule_compliance_show", id=name)["status"] == "never_published"
    badge = requests.get(f"{two}/dataset/{name}/compliance.svg", timeout=TIMEOUT)
    assert badge.status_code == 200 and badge.headers.get("ETag")
    feed = requests.get(f"{two}/dataset/{name}/calendar.ics", timeout=TIMEOUT)
    assert feed.status_code == 200 and "BEGIN:VEVENT" in feed.text

    # A publication through node 1: an uploaded CSV file, as the sysadmin.
    cluster.post_action(
        one, "resource_create", {"package_id": name, "name": f"cluster test {unique}", "format": "CSV"},
        files={"upload": (f"cluster-{unique}.csv", CSV, "text/csv")},
    )

    # The very next requests through node 2 see it.
    shown = cluster.action(two, "mes_schedule_compliance_show", id=name)
    assert shown["status"] != "never_published" and shown["last_published"], shown["status"]
    listed = cluster.action(two, "mes_schedule_compliance_list", q=name)["results"]
    assert [(r["name"], r["status"]) for r in listed] == [(name, shown["status"])]
    for who, get in readers.items():
        page = get(f"{two}/compliance", params=unpublished)
        assert page.status_code == 200 and not _listed(page.text, name), f"/compliance ({who}) still unpublished"
        page = get(f"{two}/compliance", params={"q": name})
        assert page.status_code == 200 and _listed(page.text, name), f"/compliance ({who}) lost the dataset"
    after = requests.get(f"{two}/dataset/{name}/compliance.svg", timeout=TIMEOUT)
    assert after.status_code == 200 and after.headers.get("ETag") != badge.headers["ETag"]
    assert after.content != badge.content
    # a browser revalidating the old badge gets the new one, not a 304
    revalidated = requests.get(
        f"{two}/dataset/{name}/compliance.svg", headers={"If-None-Match": badge.headers["ETag"]}, timeout=TIMEOUT
    )
    assert revalidated.status_code == 200 and revalidated.content == after.content
    feed_after = requests.get(f"{two}/dataset/{name}/calendar.ics", timeout=TIMEOUT)
    assert feed_after.status_code == 200 and feed_after.text != feed.text
    # and node 1 agrees
    assert cluster.action(one, "mes_schedule_compliance_show", id=name)["status"] == shown["status"]

    # The facet, after the daily reindex run on node 2, counts the dataset under its new status (through nginx).
    done = cluster.ckan(2, "mes-schedule", "reindex", "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _facet(cluster, cluster.url, fq=f"name:{name}") == {shown["status"]: 1}
    # the whole facet agrees with the live record (nothing else changed the record meanwhile)
    live = cluster.action(cluster.url, "mes_schedule_compliance_list", limit=0)["summary"]["by_status"]
    facet = _facet(cluster, cluster.url, fq="organization:mes-rk")
    assert facet == {status: n for status, n in live.items() if n}


# ------------------------------------------------------------------------------------------------ reminders


def test_two_remind_runs_at_once_send_each_reminder_once(cluster: Cluster, unique: str) -> None:
    # A recipient no earlier run has told anything: an admin of the ministry, so every reminder due today is new.
    name, address = f"cluster-{unique}", f"cluster-{unique}@example.org"
    password = secrets.token_urlsafe(16)
    cluster.post_action(cluster.url, "user_create", {"name": name, "email": address, "password": password})
    cluster.post_action(cluster.url, "organization_member_create", {"id": "mes-rk", "username": name, "role": "admin"})
    try:
        dry = cluster.ckan(1, "mes-schedule", "remind", "--dry-run")
        assert dry.returncode == 0, dry.stderr[-2000:]
        planned = re.findall(r"^would send to (\S+) ", dry.stdout, re.MULTILINE)
        assert address in planned, dry.stdout[-2000:]
        before = set(_maildir_messages(cluster.maildir))

        runs = [cluster.ckan_popen(n, "mes-schedule", "remind") for n in (1, 2)]
        outputs = [run.communicate(timeout=300) for run in runs]
        for run, (out, err) in zip(runs, outputs, strict=True):
            # the other run either found the lock taken or, started after it, nothing left to send
            assert run.returncode == 0 or "another reminder run is in progress" in err, f"{out}\n{err[-2000:]}"
        assert any(run.returncode == 0 for run in runs)
        # (-s shows whether the runs overlapped: then one of them exits 1 on the lock)
        print("remind exit codes:", [run.returncode for run in runs])

        new = {k: m for k, m in _maildir_messages(cluster.maildir).items() if k not in before}
        sent_to = sorted(a.lower() for m in new.values() for _, a in email.utils.getaddresses(m.get_all("To", [])))
        assert sent_to == sorted(a.lower() for a in planned), (sent_to, planned)

        again = cluster.ckan(2, "mes-schedule", "remind")
        assert again.returncode == 0 and "Nothing to send" in again.stdout, again.stdout[-2000:]
    finally:
        cluster.post_action(cluster.url, "organization_member_delete", {"id": "mes-rk", "username": name})
        cluster.post_action(cluster.url, "user_delete", {"id": name})


# --------------------------------------------------------------------------------------------- failover


def test_nginx_hides_a_stopped_ckan_node(cluster: Cluster) -> None:
    name = cluster.action(cluster.url, "mes_schedule_compliance_list", limit=1)["results"][0]["name"]
    paths = ["/compliance", "/dataset/", "/api/3/action/package_search", f"/dataset/{name}/compliance.svg"]
    cluster.script("stop-node", "2")
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{cluster.node(2)}/api/3/action/status_show", timeout=5)
        for path in paths:
            codes = [requests.get(f"{cluster.url}{path}", timeout=TIMEOUT).status_code for _ in range(20)]
            assert codes == [200] * 20, f"{path}: {codes}"
    finally:
        cluster.script("start-node", "2")
    for path in paths:
        assert requests.get(f"{cluster.node(2)}{path}", timeout=TIMEOUT).status_code == 200, path
        codes = [requests.get(f"{cluster.url}{path}", timeout=TIMEOUT).status_code for _ in range(4)]
        assert codes == [200] * 4, f"{path} through nginx after the restart: {codes}"


def test_search_survives_a_stopped_solr_node_which_catches_up(cluster: Cluster, unique: str) -> None:
    one, two = cluster.solr_node_name(1), cluster.solr_node_name(2)
    name = f"cluster-solr-{unique}"
    created: dict[str, Any] | None = None
    cluster.script("stop-solr", "2")
    try:
        # ZooKeeper notices the node gone and node 1's replica leads the shard.
        wait_until(lambda: set(cluster.cluster_status()["live_nodes"]) == {one}, 60, "node 2 to leave live_nodes")
        wait_until(
            lambda: cluster.replicas()[one]["state"] == "active" and cluster.replicas()[one].get("leader") == "true",
            60, "node 1's replica to lead",
        )
        for _ in range(10):
            result = cluster.action(cluster.url, "package_search", rows=1)
            assert result["count"] > 0
            assert sum(_facet(cluster, cluster.url, fq="organization:mes-rk").values()) > 0
        page = requests.get(f"{cluster.url}/dataset/", params={STATUS_FIELD: "never_published"}, timeout=TIMEOUT)
        assert page.status_code == 200
        # Indexed while node 2 is down: on node 1's replica only.
        created = cluster.post_action(
            cluster.url, "package_create", {"name": name, "title": f"Cluster test {unique}", "owner_org": "mes-rk"}
        )
        assert cluster.action(cluster.url, "package_search", fq=f"name:{name}")["count"] == 1
    finally:
        cluster.script("start-solr", "2")  # waits until its replica is healthy (recovered) again
    try:
        wait_until(lambda: {n for n, r in cluster.replicas().items() if r["state"] == "active"} == {one, two}, 120,
                   "both replicas active (CLUSTERSTATUS)")

        def on_node_two() -> bool:
            response = requests.get(
                f"{cluster.solr(2)}/{cluster.facts['collection']}/select",
                params={"q": f"name:{name}", "distrib": "false", "wt": "json", "rows": 0}, timeout=10,
            )
            return response.ok and response.json()["response"]["numFound"] == 1

        wait_until(on_node_two, 60, f"{name} on Solr node 2's own replica")
    finally:
        if created:
            cluster.post_action(cluster.url, "dataset_purge", {"id": created["id"]})


def test_an_anonymous_page_rendered_by_one_node_is_served_by_both(cluster: Cluster) -> None:
    """The shared page cache is one for the cluster: behind nginx's round robin, the first request renders the
    page (a miss, unless an earlier run left it) and the next ones, on either node, are served from Redis with
    the same ETag."""
    url = f"{cluster.url}/ru/compliance?sort=title&status=overdue"
    answers = [requests.get(url, timeout=TIMEOUT) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    states = [a.headers.get("X-Mes-Schedule-Cache") for a in answers]
    assert states[0] in ("miss", "hit") and states[1:] == ["hit"] * 3, states
    assert len({a.headers["ETag"] for a in answers}) == 1
