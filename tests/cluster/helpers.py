"""What the cluster tests share: the cluster's facts (scripts/cluster.sh writes them to cluster.json) and ways to
reach its parts, over HTTP, through `ckan` subprocesses with a node's ini, and through the script's verbs."""
from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests

__all__ = ["TIMEOUT", "Cluster", "wait_until", "whole", "csrf_token"]

TIMEOUT = 60  # seconds for one HTTP request: a cold gunicorn worker renders /compliance in well under that


@dataclass(frozen=True)
class Cluster:
    facts: dict[str, Any]

    @property
    def url(self) -> str:
        """nginx: the portal's address."""
        return str(self.facts["url"])

    def node(self, n: int) -> str:
        """CKAN node n (1 or 2) directly, bypassing nginx."""
        return str(self.facts["nodes"][n - 1])

    def ini(self, n: int) -> str:
        return str(self.facts["inis"][n - 1])

    def solr(self, n: int) -> str:
        return str(self.facts["solr"][n - 1])

    @property
    def token(self) -> str:
        return Path(self.facts["token_file"]).read_text().strip()

    @property
    def maildir(self) -> Path:
        return Path(self.facts["maildir"])

    def script(self, *args: str) -> None:
        """scripts/cluster.sh VERB N (stop-node, start-node, stop-solr, start-solr); fails the test on failure."""
        done = subprocess.run(["bash", self.facts["script"], *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"cluster.sh {' '.join(args)}: {done.stdout}\n{done.stderr}"

    def ckan(self, n: int, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        """`ckan -c <node n's ini> ARGS...`, as cron would run it on that node."""
        return subprocess.run(
            [f"{self.facts['venv']}/bin/ckan", "-c", self.ini(n), *args],
            capture_output=True, text=True, timeout=timeout,
        )

    def ckan_popen(self, n: int, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [f"{self.facts['venv']}/bin/ckan", "-c", self.ini(n), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def action(self, base: str, name: str, token: str | None = None, **params: Any) -> Any:
        """GET an action at `base` (nginx or a node) and return its result; fails the test on an error."""
        headers = {"Authorization": token} if token else {}
        response = requests.get(f"{base}/api/3/action/{name}", params=params, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 200, f"{name} at {base}: {response.status_code} {response.text[:500]}"
        return response.json()["result"]

    def post_action(self, base: str, name: str, data: dict[str, Any], files: Any = None) -> Any:
        """POST an action as the sysadmin (JSON, or multipart with `files`)."""
        headers = {"Authorization": self.token}
        if files is None:
            response = requests.post(f"{base}/api/3/action/{name}", json=data, headers=headers, timeout=TIMEOUT)
        else:
            response = requests.post(
                f"{base}/api/3/action/{name}", data=data, files=files, headers=headers, timeout=TIMEOUT
            )
        assert response.status_code == 200, f"{name} at {base}: {response.status_code} {response.text[:500]}"
        return response.json()["result"]

    def cluster_status(self) -> dict[str, Any]:
        """Solr's CLUSTERSTATUS, through whichever Solr node answers."""
        for n in (1, 2):
            try:
                response = requests.get(
                    f"{self.solr(n)}/admin/collections", params={"action": "CLUSTERSTATUS", "wt": "json"}, timeout=10
                )
            except requests.ConnectionError:
                continue
            if response.ok:
                return response.json()["cluster"]
        raise AssertionError("no Solr node answers CLUSTERSTATUS")

    def replicas(self) -> dict[str, dict[str, Any]]:
        """node name -> its replica of the collection (state, leader)."""
        status = self.cluster_status()
        shards = status["collections"][self.facts["collection"]]["shards"]
        return {r["node_name"]: r for shard in shards.values() for r in shard["replicas"].values()}

    def solr_node_name(self, n: int) -> str:
        port = self.solr(n).rsplit(":", 1)[1].split("/")[0]
        return f"127.0.0.1:{port}_solr"


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def whole(cluster: Cluster) -> bool:
    try:
        for n in (1, 2):
            if not requests.get(f"{cluster.node(n)}/api/3/action/status_show", timeout=10).ok:
                return False
        replicas = cluster.replicas()
    except (requests.RequestException, AssertionError, KeyError):
        return False
    return len(replicas) == 2 and all(r["state"] == "active" for r in replicas.values())


def csrf_token(body: str) -> tuple[str, str]:
    """The CSRF field name and token of a CKAN form page."""
    field = re.search(r'<meta name="csrf_field_name" content="([^"]+)"', body)
    assert field, "no csrf_field_name on the page"
    token = re.search(rf'name="{re.escape(field.group(1))}" value="([^"]+)"', body)
    assert token, "no CSRF token in the page's forms"
    return field.group(1), token.group(1)
