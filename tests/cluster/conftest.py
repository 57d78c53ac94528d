"""Fixtures of the cluster tests: what scripts/cluster.sh started (its cluster.json), HTTP sessions against nginx
and against each CKAN node, `ckan` subprocesses with a node's ini, and the script's stop/start verbs.

No CKAN app runs in this process (tests/cluster/pytest.ini turns CKAN's pytest plugins off): everything goes
through the cluster's own front doors, as on a real deployment.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from .helpers import Cluster, wait_until, whole


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    path = os.environ.get("MES_CLUSTER_FACTS")
    if not path or not Path(path).is_file():
        pytest.exit("run the cluster tests with `make cluster-test` (scripts/cluster.sh writes cluster.json)", 2)
    facts = json.loads(Path(path).read_text())
    return Cluster(facts)


@pytest.fixture(autouse=True)
def healthy_cluster(cluster: Cluster) -> Iterator[None]:
    """Every test starts on a whole cluster and must leave it whole (it restarts what it stopped)."""
    assert whole(cluster), "the cluster is not whole before the test: see `make cluster-status`"
    yield
    wait_until(lambda: whole(cluster), 120, "the cluster to be whole again after the test")


@pytest.fixture
def unique() -> str:
    """A short name no earlier run used (the cluster keeps its data between runs)."""
    return uuid.uuid4().hex[:10]
