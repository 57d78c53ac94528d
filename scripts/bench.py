"""Benchmark: the record's pages against CKAN's own /dataset/ and package_search, side by side, and its growth.

Run through `make bench` / `make load` (scripts/stack.sh prepares the benchmark's own database `ckan_bench` and ini):

    make bench                                        # single requests at 1,000 and 10,000 datasets, growth
    make load                                         # + wrk at 10,000, growth to 100,000, profile (scripts/load.sh)
    bash scripts/stack.sh bench --sizes 1000,10000 --wrk 20 --cluster-url http://127.0.0.1:8080 \
        --node-url http://127.0.0.1:5001             # + /compliance through nginx against one node

What the portal holds. `mes-schedule seed` creates the order's datasets (items 5-61, organisation mes-rk). An item
number is held by one dataset in a portal and the record (publications, events, rule versions) is the item's, so
the N scheduled datasets of a size are the seeded ones plus synthetic ones holding item numbers 1000, 1001, ...
Each synthetic dataset copies the extras (rule, frequency, deadline, titles) of a seeded dataset (round robin) and
its item gets a copy of that item's stored rule versions, so the engine assesses it exactly as it assesses the
order's item. One in ten is private (visibility filtering runs). Publication histories (0, 1, 3, 6 or 10 rows per
item, 2016-2026) are written with their hash chains (`model.row_hash`), so `mes-schedule verify` holds. Everything
is bulk-loaded with COPY; Solr indexes the datasets (`search-index rebuild --only-missing`) up to --index-max
(10,000 by default: /dataset/ and package_search are compared there only), larger portals are not indexed.

Per size it serves the portal with gunicorn (2 workers), and prints:
- growth: the first /compliance after a change (one publication recorded, then the first anonymous request; again,
  then the first request of a logged-in sysadmin) and the steady-state medians;
- at --table-size (10,000): the single-request median of every endpoint, with --wrk SECONDS also wrk's throughput,
  p50, p99 and non-2xx/3xx count (16 connections, 2 threads), and the ratios against the targets of issue 15;
- at --profile-size (100,000): cProfile of the first /compliance after a change, in-process (Flask test client).
Prints figures, asserts nothing: performance is watched here, not in timed tests.
"""
from __future__ import annotations

import argparse
import configparser
import csv
import datetime as dt
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VENV_BIN = Path(sys.executable).parent
ORG_NAME = "mes-rk"
SYNTHETIC_BASE = 1000  # first synthetic item number (the order's are 5-61)
SYSADMIN = "bench_admin"
BADGE_BASELINE = 105.9  # req/s, issue 15's measurement of the badge before the shared cache
# The extras a scheduled dataset carries that a synthetic one copies from its seeded model.
COPIED_EXTRAS = (
    "mes_schedule_item", "mes_schedule_act_number", "mes_schedule_act_date", "mes_schedule_act_registration",
    "mes_schedule_frequency", "mes_schedule_rule", "mes_schedule_deadline_kk", "title_ru", "title_en",
)


# ------------------------------------------------------------------------------------------------- helpers


def ckan_cli(ini: Path, *args: str) -> str:
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


def extras_in_column(conn: sa.Connection) -> bool:
    """CKAN 2.12 keeps extras in a JSONB column of the package table; 2.11 in package_extra."""
    return bool(conn.execute(sa.text(
        "select 1 from information_schema.columns where table_name='package' and column_name='extras'")).first())


def copy_rows(conn: sa.Connection, table: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> int:
    """COPY rows into a table (CSV; None is NULL, so no value may be an empty string); how many."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        count += 1
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
    return count


def scheduled_count(conn: sa.Connection, in_column: bool) -> int:
    if in_column:
        query = "select count(*) from package where state='active' and extras ? 'mes_schedule_item'"
    else:
        query = ("select count(*) from package p join package_extra e on e.package_id=p.id and "
                 "e.key='mes_schedule_item' and e.state='active' where p.state='active'")
    return int(conn.execute(sa.text(query)).scalar_one())


# ------------------------------------------------------------------------------------------------- loading


def _models(conn: sa.Connection, in_column: bool) -> list[dict[str, str]]:
    """The seeded datasets' extras (what a synthetic dataset copies), by item number."""
    if in_column:
        rows = conn.execute(sa.text(
            "select extras from package where state='active' and name like 'mes-order-%' "
            "and extras ? 'mes_schedule_item'")).scalars()
        models = [{k: str(v) for k, v in extras.items() if k in COPIED_EXTRAS} for extras in rows]
    else:
        by_pkg: dict[str, dict[str, str]] = {}
        for pid, key, value in conn.execute(sa.text(
                "select p.id, e.key, e.value from package p join package_extra e on e.package_id=p.id "
                "where p.state='active' and p.name like 'mes-order-%' and e.state='active'")):
            if key in COPIED_EXTRAS:
                by_pkg.setdefault(pid, {})[key] = value
        models = [m for m in by_pkg.values() if "mes_schedule_item" in m]
    return sorted(models, key=lambda m: int(m["mes_schedule_item"]))


def _chain(rows: list[dict[str, Any]]) -> None:
    """Give one item's new publication rows their place in its chain (as history's before_flush does)."""
    from ckanext.mes_schedule.model import GENESIS, row_hash  # CKAN's model: imported only where needed

    prev = GENESIS
    for seq, row in enumerate(sorted(rows, key=lambda r: (r["published_at"], r["id"])), start=1):
        row["seq"], row["prev_hash"] = seq, prev
        row["row_hash"] = prev = row_hash("mes_schedule_publication", row)


PUBLICATION_COLUMNS = (
    "id", "item", "seq", "package_id", "resource_id", "kind", "level", "url", "published_at", "prev_hash",
    "row_hash",
)


def load_datasets(engine: sa.Engine, target: int, rng: random.Random) -> int:
    """Bulk-load synthetic scheduled datasets until the portal holds `target`; how many were added.

    Benchmark fixture data only, written straight to the tables (COPY) for speed; the real seed goes through
    CKAN's actions."""
    with engine.begin() as conn:
        in_column = extras_in_column(conn)
        existing = scheduled_count(conn, in_column)
        if existing >= target:
            return 0
        models = _models(conn, in_column)
        org_id = conn.execute(sa.text('select id from "group" where name=:n'), {"n": ORG_NAME}).scalar_one()
        versions: dict[int, list[Any]] = {}
        for row in conn.execute(sa.text(
                "select item, effective_from, rule, deadline_kk, source from mes_schedule_rule_version")):
            versions.setdefault(row.item, []).append(row)
        next_item = int(conn.execute(sa.text(
            "select coalesce(max(item), :b - 1) + 1 from mes_schedule_rule_version where item >= :b"),
            {"b": SYNTHETIC_BASE}).scalar_one())
        now = dt.datetime.utcnow()
        first_day, span = dt.datetime(2016, 4, 1), (now - dt.datetime(2016, 4, 1)).days - 2
        packages, extras_rows, version_rows, publications = [], [], [], []
        for n in range(target - existing):
            item = next_item + n
            model = models[item % len(models)]
            source_item = int(model["mes_schedule_item"])
            pid = str(uuid.uuid4())
            extras = {**model, "mes_schedule_item": str(item), "title_ru": f"{model.get('title_ru', '')} ({item})",
                      "title_en": f"{model.get('title_en', '')} ({item})"}
            private = item % 10 == 0  # one in ten private, so visibility filtering is exercised
            # Created and last edited over the years, as on a real portal (not all "just now": the compliance
            # cache re-reads what changed recently after a change, and would then re-read everything).
            created = first_day + dt.timedelta(days=rng.randrange(span), seconds=rng.randrange(86400))
            modified = created + dt.timedelta(days=rng.randrange((now - created).days - 1 or 1))
            packages.append((pid, f"bench-{item:06d}", f"Бенчмарк {item}", "Benchmark dataset", "active", "dataset",
                             org_id, private, "cc-by", created, modified, json.dumps(extras, ensure_ascii=False)))
            if not in_column:
                extras_rows.extend((str(uuid.uuid4()), pid, k, v, "active") for k, v in extras.items() if v)
            for v in versions.get(source_item, []):
                version_rows.append((str(uuid.uuid4()), item, v.effective_from, v.rule, v.deadline_kk or None,
                                     v.source, now))
            # A realistic history: some items never published, others once a year or so.
            chain = [
                {"id": str(uuid.uuid4()), "item": item, "package_id": pid, "resource_id": str(uuid.uuid4()),
                 "kind": "backfill", "level": "link", "url": f"http://example.com/{item}/{k}.csv",
                 "published_at": dt.datetime(2016, 4, 1) + dt.timedelta(days=rng.randrange(0, 3890),
                                                                          seconds=rng.randrange(86400))}
                for k in range(rng.choice([0, 1, 3, 6, 10]))
            ]
            _chain(chain)
            publications.extend(tuple(r[c] for c in PUBLICATION_COLUMNS) for r in chain)
        package_columns = ["id", "name", "title", "notes", "state", "type", "owner_org", "private", "license_id",
                           "metadata_created", "metadata_modified"]
        if in_column:
            copy_rows(conn, "package", [*package_columns, "extras"], packages)
        else:
            copy_rows(conn, "package", package_columns, (p[:-1] for p in packages))
            copy_rows(conn, "package_extra", ["id", "package_id", "key", "value", "state"], extras_rows)
        copy_rows(conn, "mes_schedule_rule_version",
                  ["id", "item", "effective_from", "rule", "deadline_kk", "source", "created_at"], version_rows)
        copy_rows(conn, "mes_schedule_publication", PUBLICATION_COLUMNS, publications)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("analyze"))
    return target - existing


def record_change(engine: sa.Engine, item: int) -> None:
    """Record one publication of `item` (a declared update, chained after the item's last row): a change of
    the record, as a publisher's upload would make."""
    from ckanext.mes_schedule.model import GENESIS, row_hash

    with engine.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(:c, :i)"), {"c": 0x6D657331, "i": item})
        tail = conn.execute(sa.text(
            "select seq, row_hash from mes_schedule_publication where item=:i order by seq desc limit 1"),
            {"i": item}).first()
        package_id = conn.execute(sa.text(
            "select id from package where name like 'mes-order-%' and state='active' "
            "and extras->>'mes_schedule_item' = :i" if extras_in_column(conn) else
            "select p.id from package p join package_extra e on e.package_id=p.id and e.key='mes_schedule_item' "
            "where p.state='active' and e.value = :i"), {"i": str(item)}).scalar_one()
        row = {"id": str(uuid.uuid4()), "item": item, "package_id": package_id, "resource_id": str(uuid.uuid4()),
               "kind": "declared", "level": "declared", "url": "http://example.com/bench.csv",
               "published_at": dt.datetime.utcnow(), "seq": (tail.seq if tail else 0) + 1,
               "prev_hash": tail.row_hash if tail else GENESIS}
        row["row_hash"] = row_hash("mes_schedule_publication", row)
        conn.execute(sa.text(f"insert into mes_schedule_publication ({', '.join(PUBLICATION_COLUMNS)}) values ("
                             + ", ".join(f":{c}" for c in PUBLICATION_COLUMNS) + ")"), row)


def sysadmin_token(ini: Path) -> str:
    """An API token of the benchmark's sysadmin (created on first use)."""
    if SYSADMIN not in ckan_cli(ini, "user", "list"):
        ckan_cli(ini, "user", "add", SYSADMIN, f"email={SYSADMIN}@localhost", "password=bench-Passw0rd-123")
        ckan_cli(ini, "sysadmin", "add", SYSADMIN)
    return ckan_cli(ini, "user", "token", "add", SYSADMIN, "bench").strip().splitlines()[-1].strip()


# ------------------------------------------------------------------------------------------------- serving


class Server:
    """gunicorn (2 workers, like a small production site) serving the benchmark portal."""

    def __init__(self, ini: Path, port: int, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "300",
             "--chdir", str(REPO / "deploy"), "wsgi:application"],
            env={**os.environ, "CKAN_INI": str(ini)}, stdout=log.open("a"), stderr=subprocess.STDOUT,
        )
        for _ in range(120):
            try:
                if requests.get(self.base + "/api/3/action/status_show", timeout=5).ok:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(1)
        self.stop()
        sys.exit(f"bench: gunicorn did not start; see {log}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def timed(fn: Callable[[], requests.Response], expect: int = 200) -> float:
    """Milliseconds one request took (exits when it does not answer `expect`)."""
    start = time.perf_counter()
    response = fn()
    elapsed = time.perf_counter() - start
    if response.status_code != expect:
        sys.exit(f"bench: {response.request.method} {response.url} answered {response.status_code}")
    return elapsed * 1000


def warm(fn: Callable[[], requests.Response], rounds: int = 3, parallel: int = 4) -> None:
    """Requests in parallel, so that every gunicorn worker (not just the one that happens to accept sequential
    requests) has answered before anything is timed: templates compiled, caches filled."""
    with ThreadPoolExecutor(parallel) as pool:
        for _ in range(rounds):
            list(pool.map(lambda _: fn(), range(parallel)))


def median_of(fn: Callable[[], requests.Response], count: int, expect: int = 200) -> float:
    return statistics.median(timed(fn, expect) for _ in range(count))


def _ms(text: str) -> float:
    """wrk's latency ("983.00ms", "1.52s", "870.00us", "1.10m") in milliseconds."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def run_wrk(url: str, seconds: int, headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """wrk, 16 connections on 2 threads, for `seconds`: throughput, p50, p99 (ms), non-2xx/3xx count."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "bad": 0, "errors": ""}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(words[1])
        elif line.strip().startswith(("50%", "99%")):
            result["p" + words[0].rstrip("%")] = _ms(words[1])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["bad"] = int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            result["errors"] = line.strip()
    return result


# ------------------------------------------------------------------------------------------------- measuring


def sample_dataset(engine: sa.Engine) -> tuple[str, int]:
    """A public seeded dataset (name, item) for the dataset page and the badge."""
    with engine.connect() as conn:
        in_column = extras_in_column(conn)
        row = conn.execute(sa.text(
            "select name, extras->>'mes_schedule_item' as item from package where state='active' and not private "
            "and name like 'mes-order-%' order by name limit 1" if in_column else
            "select p.name, e.value as item from package p join package_extra e on e.package_id=p.id and "
            "e.key='mes_schedule_item' where p.state='active' and not p.private and p.name like 'mes-order-%' "
            "order by p.name limit 1")).one()
    return row.name, int(row.item)


def growth(base: str, engine: sa.Engine, item: int, token: str, count: int) -> dict[str, float]:
    """The first /compliance after a restart (a sysadmin's: not from the shared cache, so a whole read of the
    record, as after midnight), after a change (anonymous; a sysadmin) and the steady-state medians, in ms."""
    anonymous = requests.Session()
    admin = requests.Session()
    admin.headers["Authorization"] = token
    out = {"first_restart": timed(lambda: admin.get(base + "/compliance"))}
    # (requests.Session is not thread-safe: the warm-up uses plain requests)
    warm(lambda: requests.get(base + "/compliance"))
    warm(lambda: requests.get(base + "/compliance", headers={"Authorization": token}))
    record_change(engine, item)
    out["first_anonymous"] = timed(lambda: anonymous.get(base + "/compliance"))
    record_change(engine, item)
    out["first_sysadmin"] = timed(lambda: admin.get(base + "/compliance"))
    # The other worker catches up with the change.
    warm(lambda: requests.get(base + "/compliance"))
    warm(lambda: requests.get(base + "/compliance", headers={"Authorization": token}))
    out["steady_anonymous"] = median_of(lambda: anonymous.get(base + "/compliance"), count)
    out["steady_sysadmin"] = median_of(lambda: admin.get(base + "/compliance"), count)
    return out


def endpoints(name: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The side-by-side table's rows: label -> (path, extra request headers)."""
    return {
        "/compliance": ("/compliance", {}),
        "/dataset/": ("/dataset/", {}),
        "dataset page": (f"/dataset/{name}", {}),
        "badge": (f"/dataset/{name}/compliance.svg", {}),
        "badge, If-None-Match (304)": (f"/dataset/{name}/compliance.svg", {"If-None-Match": "<etag>"}),
        "compliance_list limit=50": ("/api/3/action/mes_schedule_compliance_list?limit=50", {}),
        "package_search rows=50": ("/api/3/action/package_search?rows=50", {}),
        "package_search (rows 10)": ("/api/3/action/package_search", {}),
    }


def side_by_side(base: str, name: str, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every endpoint's single-request median and (with --wrk) its wrk figures, measured back to back."""
    session = requests.Session()
    etag = session.get(f"{base}/dataset/{name}/compliance.svg").headers.get("ETag", "")
    results: dict[str, dict[str, Any]] = {}
    for label, (path, headers) in endpoints(name).items():
        headers = {k: (etag if v == "<etag>" else v) for k, v in headers.items()}
        expect = 304 if "If-None-Match" in headers else 200

        def fn(path: str = path, headers: dict[str, str] = headers) -> requests.Response:
            return session.get(base + path, headers=headers)

        warm(lambda path=path, headers=headers: requests.get(base + path, headers=headers))
        results[label] = {"median": median_of(fn, args.requests, expect)}
        if args.wrk:
            results[label].update(run_wrk(base + path, args.wrk, headers))
    return results


def cluster_comparison(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """/compliance through nginx (two nodes) and on one node, back to back (the cluster's own portal)."""
    out = {}
    for label, base in (("one node", args.node_url), ("nginx, two nodes", args.cluster_url)):
        base = base.rstrip("/")
        for _ in range(4):
            requests.get(base + "/compliance", timeout=60).raise_for_status()
        out[label] = {"median": median_of(lambda base=base: requests.get(base + "/compliance"), args.requests)}
        out[label].update(run_wrk(base + "/compliance", args.wrk or 20))
    return out


# ------------------------------------------------------------------------------------------------- printing


def fmt_ms(value: float) -> str:
    if value != value:  # NaN: not measured
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def print_table(size: int, results: dict[str, dict[str, Any]], wrk_seconds: int) -> None:
    print(f"\n### Side by side at {size:,} scheduled datasets (gunicorn, 2 workers"
          + (f"; wrk 2 threads, 16 connections, {wrk_seconds} s each)" if wrk_seconds else ")") + "\n")
    print("| endpoint | median (one request) | wrk throughput | wrk p50 | wrk p99 | non-2xx/3xx |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, r in results.items():
        if "rps" in r:
            print(f"| {label} | {fmt_ms(r['median'])} | {r['rps']:.1f} req/s | {fmt_ms(r['p50'])} | "
                  f"{fmt_ms(r['p99'])} | {r['bad']}{' ' + r['errors'] if r['errors'] else ''} |")
        else:
            print(f"| {label} | {fmt_ms(r['median'])} | - | - | - | - |")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_targets(r: dict[str, dict[str, Any]], cluster: Optional[dict[str, dict[str, Any]]]) -> None:
    """Issue 15's targets at 10,000 scheduled datasets, from figures measured back to back."""
    comp, ds = r["/compliance"], r["/dataset/"]
    lst, ps50 = r["compliance_list limit=50"], r["package_search rows=50"]
    badge, b304 = r["badge"], r["badge, If-None-Match (304)"]
    print("\n### Targets (issue 15, item 3)\n")
    print("| target | measured | result |")
    print("| --- | --- | --- |")
    if "rps" in comp:
        ratio = comp["rps"] / ds["rps"] if ds["rps"] else float("inf")
        print(f"| /compliance throughput >= 3x /dataset/ | {ratio:.2f}x ({comp['rps']:.1f} / {ds['rps']:.1f} req/s)"
              f" | {verdict(ratio >= 3)} |")
    half = comp["median"] / ds["median"]
    print(f"| /compliance median <= 0.5x /dataset/'s | {half:.2f}x ({fmt_ms(comp['median'])} / "
          f"{fmt_ms(ds['median'])}) | {verdict(half <= 0.5)} |")
    if "rps" in lst:
        ratio = lst["rps"] / ps50["rps"] if ps50["rps"] else float("inf")
        print(f"| list action (50) throughput >= package_search rows=50 | {ratio:.2f}x ({lst['rps']:.1f} / "
              f"{ps50['rps']:.1f} req/s; median {lst['median'] / ps50['median']:.2f}x) | {verdict(ratio >= 1)} |")
        for label, b in (("badge", badge), ("badge 304 (If-None-Match)", b304)):
            print(f"| {label} throughput >= 2x {BADGE_BASELINE} req/s | {b['rps']:.1f} req/s "
                  f"({b['rps'] / BADGE_BASELINE:.2f}x; {b['rps'] / ds['rps']:.1f}x /dataset/ here, "
                  f"{BADGE_BASELINE / 13.4:.1f}x in the issue) | {verdict(b['rps'] >= 2 * BADGE_BASELINE)} |")
    else:
        print(f"| list action (50) median <= package_search rows=50 (no wrk) | "
              f"{lst['median'] / ps50['median']:.2f}x | {verdict(lst['median'] <= ps50['median'])} |")
    if cluster:
        one, two = cluster["one node"], cluster["nginx, two nodes"]
        ratio = two["rps"] / one["rps"] if one["rps"] else float("inf")
        print(f"| /compliance through nginx >= 1.6x one node | {ratio:.2f}x ({two['rps']:.1f} / {one['rps']:.1f}"
              f" req/s) | {verdict(ratio >= 1.6)} |")
    else:
        print("| /compliance through nginx >= 1.6x one node | not measured (no --cluster-url) | - |")


def print_cluster(cluster: dict[str, dict[str, Any]], wrk_seconds: int) -> None:
    print(f"\n### /compliance through the cluster (wrk 2 threads, 16 connections, {wrk_seconds or 20} s each)\n")
    print("| where | median (one request) | wrk throughput | wrk p50 | wrk p99 | non-2xx/3xx |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, r in cluster.items():
        print(f"| {label} | {fmt_ms(r['median'])} | {r['rps']:.1f} req/s | {fmt_ms(r['p50'])} | {fmt_ms(r['p99'])}"
              f" | {r['bad']} |")


def print_growth(rows: dict[int, dict[str, float]]) -> None:
    print("\n### Growth: /compliance (gunicorn, 2 workers)\n")
    print("| scheduled datasets | first after a restart, sysadmin (whole read) | first after a change, anonymous |"
          " first after a change, sysadmin | steady median, anonymous | steady median, sysadmin |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size, g in sorted(rows.items()):
        print(f"| {size:,} | {fmt_ms(g['first_restart'])} | {fmt_ms(g['first_anonymous'])} | "
              f"{fmt_ms(g['first_sysadmin'])} | "
              f"{fmt_ms(g['steady_anonymous'])} | {fmt_ms(g['steady_sysadmin'])} |")
    largest = max(rows)
    if largest >= 100_000:
        worst = max(rows[largest]["first_anonymous"], rows[largest]["first_sysadmin"])
        print(f"\nTarget: first request after a change at {largest:,} under 2 s: {fmt_ms(worst)}, "
              f"{verdict(worst < 2000)}")


# ------------------------------------------------------------------------------------------------- profiling


def _profiled(label: str, request: Callable[[], Any], top: int) -> None:
    """Run one request under cProfile and print its top entries."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    response = request()
    profiler.disable()
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.status_code
    print(f"\n### Profile: {label}, in-process (cProfile adds overhead): {elapsed:.2f} s\n")
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    # The extension's own functions by cumulative time (what to make faster), then everything by own time.
    stats.sort_stats("cumulative").print_stats("mes_schedule", top)
    stats.sort_stats("tottime").print_stats(top)
    # The tables, with the repository's and the venv's paths shortened.
    for line in stream.getvalue().splitlines():
        if line.strip():
            print(line.replace(str(REPO) + "/", "").replace(str(VENV_BIN.parent) + "/lib/", ""))


def profile_child(ini: Path, item: int, token: str, top: int) -> None:
    """In this process, on CKAN's app (werkzeug's test client): the first /compliance of a sysadmin (a whole
    read of the record, as after a restart or at midnight), then, warmed, one publication recorded and the next
    anonymous /compliance (the first request after a change)."""
    from werkzeug.test import Client

    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    client = Client(make_app(load_config(str(ini))))
    engine = sa.create_engine(db_url(ini))
    assert client.get("/api/3/action/status_show").status_code == 200  # the app's own first-request work
    _profiled("a sysadmin's first /compliance in a new process (whole read)",
              lambda: client.get("/compliance", headers={"Authorization": token}), top)
    for _ in range(2):
        assert client.get("/compliance").status_code == 200
    record_change(engine, item)
    _profiled("the first anonymous /compliance after a change", lambda: client.get("/compliance"), top)


# ------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ini", required=True, type=Path)
    parser.add_argument("--sizes", default="1000,10000", help="scheduled datasets, comma separated (ascending)")
    parser.add_argument("--requests", type=int, default=20, help="single requests per median")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--wrk", type=int, default=0, metavar="SECONDS",
                        help="load every endpoint of the side-by-side table with wrk for SECONDS")
    parser.add_argument("--table-size", type=int, default=10000, help="the size the side-by-side table runs at")
    parser.add_argument("--index-max", type=int, default=10000, help="index in Solr only up to this size")
    parser.add_argument("--profile-size", type=int, default=100000,
                        help="profile the first /compliance after a change at this size (when it is measured)")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--cluster-url", help="nginx in front of two nodes, e.g. http://127.0.0.1:8080")
    parser.add_argument("--node-url", help="one node of that cluster, e.g. http://127.0.0.1:5001")
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--item", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--log", default=str(REPO / ".state" / "log" / "bench-gunicorn.log"))
    args = parser.parse_args()
    if args.profile_child:
        profile_child(args.ini, args.item, os.environ.get("BENCH_TOKEN", ""), args.profile_top)
        return
    if bool(args.cluster_url) != bool(args.node_url):
        parser.error("--cluster-url and --node-url go together")
    run(args)


def run(args: argparse.Namespace) -> None:
    """Load, serve and measure every size in turn, then print the summary."""
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(120)

    # The database is new (stack.sh drops it), the Solr core is not: a previous run's documents of this site go.
    for step in (("db", "upgrade"), ("db", "upgrade", "-p", "activity"), ("db", "upgrade", "-p", "mes_schedule"),
                 ("search-index", "clear"), ("mes-schedule", "seed")):
        ckan_cli(args.ini, *step)
    token = sysadmin_token(args.ini)
    engine = sa.create_engine(db_url(args.ini))
    name, item = sample_dataset(engine)
    started = time.perf_counter()
    load = os.getloadavg()
    growth_rows: dict[int, dict[str, float]] = {}
    table: Optional[dict[str, dict[str, Any]]] = None
    table_size = 0
    indexed = 0
    for size in sizes:
        t = time.perf_counter()
        added = load_datasets(engine, size, rng)
        line = f"size {size:,}: loaded {added:,} datasets in {time.perf_counter() - t:.0f} s"
        if added and size <= args.index_max:
            t = time.perf_counter()
            ckan_cli(args.ini, "search-index", "rebuild", "--only-missing", "--quiet")
            indexed = size
            line += f", indexed in {time.perf_counter() - t:.0f} s"
        elif added:
            line += f" (not indexed in Solr: the index holds {indexed:,})"
        print(line, flush=True)
        server = Server(args.ini, args.port, Path(args.log))
        try:
            growth_rows[size] = growth(server.base, engine, item, token, args.requests)
            print(f"  /compliance: first after a restart {fmt_ms(growth_rows[size]['first_restart'])} (sysadmin); "
                  f"first after a change {fmt_ms(growth_rows[size]['first_anonymous'])} anonymous, "
                  f"{fmt_ms(growth_rows[size]['first_sysadmin'])} sysadmin; steady "
                  f"{fmt_ms(growth_rows[size]['steady_anonymous'])}", flush=True)
            if size == args.table_size or (table is None and size == sizes[-1] and args.table_size not in sizes):
                table, table_size = side_by_side(server.base, name, args), size
                print_table(size, table, args.wrk)
        finally:
            server.stop()
        if size == args.profile_size:
            with Path(args.log).open("a") as log:  # CKAN's own log lines go to the log, the profile to stdout
                subprocess.run([sys.executable, __file__, "--ini", str(args.ini), "--profile-child",
                                "--item", str(item), "--profile-top", str(args.profile_top)],
                               check=True, stderr=log, env={**os.environ, "BENCH_TOKEN": token})
    cluster = cluster_comparison(args) if args.cluster_url else None

    print(f"\n## Summary ({dt.date.today()}; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{os.cpu_count()} cores; {time.perf_counter() - started:.0f} s)")
    if table is not None:
        print_table(table_size, table, args.wrk)
        if cluster:
            print_cluster(cluster, args.wrk)
        print_targets(table, cluster)
    print_growth(growth_rows)


if __name__ == "__main__":
    main()
