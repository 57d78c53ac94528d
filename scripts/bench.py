"""Benchmark: the compliance page, action and badge against CKAN's own /dataset and package_search.

Run through `make bench` (it starts the services and prepares the benchmark's own database and ini):

    make bench                              # sizes 61, 1000, 10000
    make bench BENCH_ARGS="--sizes 61,1000 --requests 20"

For each size N it fills the benchmark portal (database `ckan_bench`, its own Solr site id) up to N scheduled
datasets with publication histories, serves it with gunicorn (2 workers, like a small production site), and
prints the median and p95 latency of each endpoint, and ratios against CKAN's own pages on the same portal.
Prints ratios, asserts nothing: performance is watched here, not in timed tests.
"""
from __future__ import annotations

import argparse
import configparser
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ckanext.mes_schedule import schedule, vocab  # noqa: E402  (pure modules: no CKAN import)

VENV_BIN = Path(sys.executable).parent
ORG_NAME = "mes-rk"


def ckan_cli(ini: Path, *args: str, quiet: bool = True) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "ckan"), "-c", str(ini), *args], capture_output=True, text=True, cwd=REPO
    )
    if result.returncode != 0:
        sys.exit(f"bench: `ckan {' '.join(args)}` failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def db_url(ini: Path) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    return parser["app:main"]["sqlalchemy.url"]


def load_datasets(engine: sa.Engine, target: int, rng: random.Random) -> int:
    """Bulk-insert scheduled datasets (and their publication histories) until the portal has `target`.

    Benchmark fixture data only: written straight to the tables for speed, then indexed by CKAN's own
    `search-index rebuild`. The real seed goes through CKAN's actions.
    """
    order = schedule.load_order()
    with engine.begin() as conn:
        existing = conn.execute(
            sa.text("select count(*) from package where state='active' and type='dataset'")
        ).scalar_one()
        if existing >= target:
            return 0
        org_id = conn.execute(sa.text("select id from \"group\" where name=:n"), {"n": ORG_NAME}).scalar_one()
        has_extras_column = bool(
            conn.execute(
                sa.text(
                    "select 1 from information_schema.columns where table_name='package' and column_name='extras'"
                )
            ).first()
        )
        now = dt.datetime.utcnow()
        packages, extras_rows, publications = [], [], []
        for n in range(existing, target):
            item = order.items[n % len(order.items)]
            pid = str(uuid.uuid4())
            extras = {
                "mes_schedule_item": str(item.number),
                "mes_schedule_act_number": order.number,
                "mes_schedule_act_date": order.date.isoformat(),
                "mes_schedule_act_registration": order.registration_number,
                "mes_schedule_frequency": vocab.frequency_uri(item.frequency),
                "mes_schedule_rule": item.rule_text,
                "mes_schedule_deadline_kk": item.deadline_kk,
                "title_ru": f"{item.title['ru']} ({n})",
                "title_en": f"{item.title['en']} ({n})",
            }
            packages.append(
                {
                    "id": pid,
                    "name": f"bench-{n:06d}",
                    "title": f"{item.title['kk']} ({n})",
                    "notes": "Benchmark dataset",
                    "state": "active",
                    "type": "dataset",
                    "owner_org": org_id,
                    "private": n % 10 == 0,  # one in ten private, so visibility filtering is exercised
                    "license_id": "cc-by",
                    "metadata_created": now,
                    "metadata_modified": now,
                    "extras": json.dumps(extras, ensure_ascii=False),
                }
            )
            if not has_extras_column:
                extras_rows.extend(
                    {"id": str(uuid.uuid4()), "package_id": pid, "key": k, "value": v, "state": "active"}
                    for k, v in extras.items()
                )
            # A realistic history: some datasets never published, others published once a year or so.
            for _ in range(rng.choice([0, 1, 3, 6, 10])):
                day = dt.datetime(2016, 4, 1) + dt.timedelta(days=rng.randrange(0, 3890), hours=rng.randrange(24))
                publications.append(
                    {
                        "id": str(uuid.uuid4()),
                        "package_id": pid,
                        "resource_id": str(uuid.uuid4()),
                        "kind": "backfill",
                        "url": "http://example.com/data.csv",
                        "published_at": day,
                    }
                )
        columns = (
            "id, name, title, notes, state, type, owner_org, private, license_id, metadata_created, metadata_modified"
        )
        if has_extras_column:
            conn.execute(
                sa.text(f"insert into package ({columns}, extras) values ("
                        + ", ".join(f":{c.strip()}" for c in columns.split(","))
                        + ", cast(:extras as jsonb))"),
                packages,
            )
        else:
            conn.execute(
                sa.text(f"insert into package ({columns}) values ("
                        + ", ".join(f":{c.strip()}" for c in columns.split(",")) + ")"),
                [{k: v for k, v in p.items() if k != "extras"} for p in packages],
            )
            conn.execute(
                sa.text("insert into package_extra (id, package_id, key, value, state) "
                        "values (:id, :package_id, :key, :value, :state)"),
                extras_rows,
            )
        if publications:
            conn.execute(
                sa.text("insert into mes_schedule_publication (id, package_id, resource_id, kind, url, published_at) "
                        "values (:id, :package_id, :resource_id, :kind, :url, :published_at)"),
                publications,
            )
    return target - existing


class Server:
    """gunicorn serving the benchmark portal."""

    def __init__(self, ini: Path, port: int, log: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "CKAN_INI": str(ini)}
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "300",
             "--chdir", str(REPO / "deploy"), "wsgi:application"],
            env=env, stdout=log.open("a"), stderr=subprocess.STDOUT,
        )
        for _ in range(120):
            try:
                if requests.get(self.base + "/api/3/action/status_show", timeout=5).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        self.stop()
        sys.exit(f"bench: gunicorn did not start; see {log}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def measure(fn: Callable[[], requests.Response], count: int) -> dict[str, float]:
    cold = timed(fn)
    samples = [timed(fn) for _ in range(count)]
    samples.sort()
    return {
        "cold": cold,
        "median": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))],
    }


def timed(fn: Callable[[], requests.Response]) -> float:
    start = time.perf_counter()
    response = fn()
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        sys.exit(f"bench: {response.request.method} {response.url} answered {response.status_code}")
    return elapsed * 1000


def run_wrk(url: str, seconds: int) -> dict[str, Any]:
    """wrk, 16 connections on 2 threads, for `seconds`: throughput, latency percentiles, non-2xx/3xx count."""
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    result: dict[str, Any] = {"url": url, "non_2xx_3xx": 0, "socket_errors": ""}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["requests_per_sec"] = float(words[1])
        elif line.strip().startswith(("50%", "75%", "90%", "99%")):
            result[f"p{words[0].rstrip('%')}"] = words[1]
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx_3xx"] = int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            result["socket_errors"] = line.strip()
        elif "requests in" in line:
            result["requests"] = int(words[0])
    return result


def run_size(ini: Path, engine: sa.Engine, size: int, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """Fill the portal up to `size` datasets, serve it, time every endpoint (and load it with wrk if asked)."""
    added = load_datasets(engine, size, rng)
    if added:
        t = time.perf_counter()
        ckan_cli(ini, "search-index", "rebuild", "--only-missing", "--quiet")
        print(f"  loaded {added} datasets, indexed in {time.perf_counter() - t:.0f}s", flush=True)
    server = Server(ini, args.port, Path(args.log))
    try:
        s = requests.Session()
        base = server.base
        with engine.connect() as conn:
            name = conn.execute(
                sa.text("select name from package where state='active' and private=false"
                        " and extras ? 'mes_schedule_item' limit 1")
                if args.extras_column else
                sa.text("select name from package where state='active' and private=false"
                        " and name like 'mes-order-%' limit 1")
            ).scalar_one()
        endpoints = {
            "/compliance": lambda: s.get(base + "/compliance"),
            "compliance_list (limit=1000)": lambda: s.get(
                base + "/api/3/action/mes_schedule_compliance_list", params={"limit": 1000}
            ),
            "badge": lambda: s.get(f"{base}/dataset/{name}/compliance.svg"),
            "/dataset": lambda: s.get(base + "/dataset/"),
            "package_search (rows=1000)": lambda: s.get(base + "/api/3/action/package_search", params={"rows": 1000}),
        }
        # Warm both workers (templates, caches) before timing.
        for _ in range(4):
            for fn in endpoints.values():
                fn()
        results = {label: measure(fn, args.requests) for label, fn in endpoints.items()}
        if args.wrk and size == max(args.sizes_list):  # load only the largest portal
            for path in ("/compliance", f"/dataset/{name}/compliance.svg",
                         "/api/3/action/mes_schedule_compliance_list"):
                results[f"wrk {path}"] = run_wrk(base + path, args.wrk)
        return results
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ini", required=True, type=Path)
    parser.add_argument("--sizes", default="61,1000,10000")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--wrk", type=int, default=0, metavar="SECONDS",
                        help="after timing, load /compliance, a badge and the list action with wrk for SECONDS each")
    parser.add_argument("--log", default=str(REPO / ".state" / "log" / "bench-gunicorn.log"))
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    args.sizes_list = sizes
    rng = random.Random(120)

    ckan_cli(args.ini, "db", "upgrade")
    ckan_cli(args.ini, "db", "upgrade", "-p", "activity")
    ckan_cli(args.ini, "db", "upgrade", "-p", "mes_schedule")
    ckan_cli(args.ini, "mes-schedule", "seed")
    engine = sa.create_engine(db_url(args.ini))
    with engine.connect() as conn:
        args.extras_column = bool(conn.execute(sa.text(
            "select 1 from information_schema.columns where table_name='package' and column_name='extras'")).first())

    results = {}
    for size in sizes:
        print(f"size {size}:", flush=True)
        results[size] = run_size(args.ini, engine, size, args, rng)
        for label, r in results[size].items():
            if label.startswith("wrk "):
                print(f"  {label}: {r.get('requests', 0)} requests, {r.get('requests_per_sec', 0):.1f} req/s, "
                      f"latency p50 {r.get('p50')} p75 {r.get('p75')} p90 {r.get('p90')} p99 {r.get('p99')}, "
                      f"non-2xx/3xx {r['non_2xx_3xx']} {r['socket_errors']}")
            else:
                print(f"  {label:30} median {r['median']:8.1f} ms   p95 {r['p95']:8.1f} ms   first {r['cold']:8.1f} ms")
        r = results[size]
        print("  ratio /compliance ÷ /dataset (median):                 "
              f"{r['/compliance']['median'] / r['/dataset']['median']:.2f}")
        print("  ratio /compliance ÷ /dataset (p95):                    "
              f"{r['/compliance']['p95'] / r['/dataset']['p95']:.2f}")
        print(f"  ratio compliance_list ÷ package_search rows=1000 (median): "
              f"{r['compliance_list (limit=1000)']['median'] / r['package_search (rows=1000)']['median']:.2f}")
        print("  ratio badge ÷ /dataset (median):                       "
              f"{r['badge']['median'] / r['/dataset']['median']:.2f}", flush=True)


if __name__ == "__main__":
    main()
