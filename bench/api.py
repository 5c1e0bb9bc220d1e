"""API benchmark: a large PostgreSQL store against a small one, served by gunicorn.

    python -m bench.api [--large-memories 100000] [--small-memories 100] [--samples 200]

Two databases are built with generate_series (10 audit rows per memory, so 100,000
memories make 1,000,000 audit rows and 100 memories 1,000), migrated, and served in
turn by gunicorn; this process drives them over HTTP. It prints, per request, the
median latency on each store and their ratio (target: at most 1.5), the queries per
request, and requests per second at 1 and 8 concurrent clients. Needs PostgreSQL
(BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres, is the admin
connection; the databases atocore_bench_api_small/_large are dropped and rebuilt,
or reused with --reuse when their row counts already match).
"""

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
AUDIT_PER_MEMORY = 10
PROJECT = "bench"
CONCURRENCY = (1, 8)


# -- building a store ---------------------------------------------------------------

SEED_SQL = """
INSERT INTO memories_project (name, description, created_at) VALUES (%(project)s, 'benchmark', now());

INSERT INTO memories_memory (id, memory_type, content, content_hash, project, status, confidence,
    source_chunk_id, reference_count, last_referenced_at, superseded_by, external_key, created_at, updated_at)
SELECT gen_random_uuid(), (ARRAY['fact','decision','preference','knowledge'])[1 + i %% 4], c.content,
       encode(sha256(convert_to(c.content, 'UTF8')), 'hex'), %(project)s,
       (ARRAY['candidate','active','rejected'])[1 + i %% 3], 0.5, NULL, 9, NULL, NULL, NULL,
       now() - make_interval(secs => (%(n)s - i) * 10), now() - make_interval(secs => (%(n)s - i) * 10)
FROM generate_series(1, %(n)s) AS i,
     LATERAL (SELECT 'benchmark memory ' || i || ' about topic ' || (i %% 97) || ' with some detail' AS content) c;

INSERT INTO observability_memoryaudit (memory_id, action, actor, "user", request_id, before, after, note, timestamp)
SELECT m.id,
       CASE WHEN k = 0 THEN 'created' ELSE 'reinforced' END,
       CASE WHEN k = 0 THEN 'import' ELSE 'reinforcement' END,
       '', '',
       CASE WHEN k = 0 THEN NULL ELSE jsonb_build_object('id', m.id, 'memory_type', m.memory_type,
            'content', m.content, 'project', m.project, 'status', 'candidate', 'confidence', 0.5,
            'reference_count', k - 1) END,
       jsonb_build_object('id', m.id, 'memory_type', m.memory_type, 'content', m.content,
            'project', m.project, 'status', 'candidate', 'confidence', 0.5, 'reference_count', k),
       '', m.created_at + make_interval(secs => k)
FROM memories_memory m, generate_series(0, %(per)s - 1) AS k
ORDER BY m.created_at, k;
"""


def _db_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _counts(url: str) -> tuple[int, int] | None:
    try:
        with psycopg.connect(url) as conn:
            memories = conn.execute("SELECT count(*) FROM memories_memory").fetchone()[0]
            audit = conn.execute("SELECT count(*) FROM observability_memoryaudit").fetchone()[0]
            return memories, audit
    except psycopg.Error:
        return None


def build_store(admin_url: str, name: str, memories: int, *, reuse: bool) -> str:
    url = _db_url(admin_url, name)
    counts = _counts(url) if reuse else None
    # The runs add a few rows (the bench user's creates and promotes); the seed is what counts.
    if counts and memories <= counts[0] < memories * 1.1 and counts[1] >= memories * AUDIT_PER_MEMORY:
        _migrate(url)
        print(f"  reusing {name}: {memories:,} memories, {memories * AUDIT_PER_MEMORY:,} audit rows")
        return url
    started = time.perf_counter()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    _migrate(url)
    params = {"n": memories, "per": AUDIT_PER_MEMORY, "project": PROJECT}
    with psycopg.connect(url) as conn:
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, params)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    elapsed = time.perf_counter() - started
    print(
        f"  built {name}: {memories:,} memories, {memories * AUDIT_PER_MEMORY:,} audit rows in {elapsed:.0f} s"
    )
    return url


def _migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=_env(url), check=True
    )


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        # Persistent connections, as production should run (no connect per request).
        "DATABASE_URL": f"{database_url}?conn_max_age=600",
        "DEBUG": "False",
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "False",
        "ATOCORE_LOG_LEVEL": "ERROR",
        "ATOCORE_API_THROTTLE_USER": "100000000/minute",
        "ATOCORE_ALERT_LOG": "/dev/null",
    }


# -- preparing (runs inside Django, in a subprocess, against one store) -------------


def prepare() -> None:
    """Create the bench user and token; count the queries of each request; print JSON."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atocore_project.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from memories.models import Memory
    from observability.access import issue_token

    user_model = get_user_model()
    if not user_model.objects.filter(username="bench").exists():
        user_model.objects.create_user("bench", is_staff=True)
    token, _ = issue_token("bench")
    memory_id = str(
        Memory.objects.filter(project=PROJECT).order_by("created_at").values_list("id", flat=True)[0]
    )
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    queries = {}
    for label, method, path in _requests(memory_id):
        if method == "promote":
            path = _fresh_candidate_path(client)
        with CaptureQueriesContext(connection) as ctx:
            response = (
                client.post(path, content_type="application/json")
                if method == "promote"
                else client.get(path)
            )
        assert response.status_code == 200, (label, response.status_code, response.content[:300])
        queries[label] = len(ctx.captured_queries)
    print(json.dumps({"token": token, "memory_id": memory_id, "queries": queries}))


def _requests(memory_id: str) -> list[tuple[str, str, str]]:
    return [
        ("GET /memory/{id}/audit", "get", f"/memory/{memory_id}/audit"),
        ("GET /admin/audit/recent", "get", "/admin/audit/recent"),
        ("GET /api/v1/memories/?status=candidate", "get", "/api/v1/memories/?status=candidate"),
        ("POST /api/v1/memories/{id}/promote/", "promote", ""),
        ("GET /api/v1/memories/", "get", "/api/v1/memories/"),
        ("GET /api/v1/audit/", "get", "/api/v1/audit/"),
    ]


def _fresh_candidate_path(client) -> str:
    """A new candidate made through the API (not timed); its promote path."""
    response = client.post(
        "/api/v1/memories/",
        {"memory_type": "fact", "content": f"bench candidate {time.perf_counter_ns()}", "project": PROJECT},
        content_type="application/json",
    )
    return f"/api/v1/memories/{response.json()['id']}/promote/"


# -- serving and driving ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, *, workers: int, threads: int):
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "atocore_project.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=_env(database_url))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


class Driver:
    """One HTTP client per thread, keep-alive, bounded by count and time."""

    def __init__(self, base: str, token: str):
        self.base, self.headers = base, {"Authorization": f"Token {token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.headers, timeout=30)

    def once(self, client: httpx.Client, method: str, path: str) -> float:
        if method == "promote":
            path = self._fresh_candidate(client)
        started = time.perf_counter()
        response = client.post(path) if method == "promote" else client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return elapsed

    @staticmethod
    def _fresh_candidate(client: httpx.Client) -> str:
        response = client.post(
            "/api/v1/memories/",
            json={
                "memory_type": "fact",
                "content": f"bench candidate {time.perf_counter_ns()}",
                "project": PROJECT,
            },
        )
        return f"/api/v1/memories/{response.json()['id']}/promote/"

    def latencies(self, method: str, path: str, samples: int, warmup: int = 20) -> list[float]:
        with self.client() as client:
            for _ in range(warmup):
                self.once(client, method, path)
            return [self.once(client, method, path) for _ in range(samples)]

    def throughput(self, method: str, path: str, clients: int, seconds: float) -> float:
        """Requests per second with ``clients`` threads for ``seconds`` (a promote counts with its create)."""
        done, stop_at = [], time.monotonic() + seconds

        def loop():
            count = 0
            with self.client() as client:
                while time.monotonic() < stop_at:
                    self.once(client, method, path)
                    count += 1
            done.append(count)

        started = time.monotonic()
        threads = [threading.Thread(target=loop) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(done) / (time.monotonic() - started)


def _prepare_store(url: str) -> dict:
    prepared = subprocess.run(
        [sys.executable, "-m", "bench.api", "prepare"],
        cwd=ROOT, env=_env(url), check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(prepared.stdout.strip().splitlines()[-1])


def measure(urls: dict[str, str], args) -> dict[str, dict]:
    """Latency with the stores interleaved request by request (the machine's load hits both alike),
    then throughput store by store."""
    info = {name: _prepare_store(url) for name, url in urls.items()}
    results = {
        name: {"queries": info[name]["queries"], "median_ms": {}, "p95_ms": {}, "rps": {}} for name in urls
    }
    with contextlib.ExitStack() as stack:
        drivers = {
            name: Driver(
                stack.enter_context(gunicorn(url, workers=args.workers, threads=args.threads)),
                info[name]["token"],
            )
            for name, url in urls.items()
        }
        clients = {name: stack.enter_context(driver.client()) for name, driver in drivers.items()}
        for index, (label, method, _) in enumerate(_requests("")):
            paths = {name: _requests(info[name]["memory_id"])[index][2] for name in urls}
            samples = {name: [] for name in urls}
            for i in range(args.samples + 20):
                order = list(urls) if i % 2 else list(reversed(urls))
                for name in order:
                    elapsed = drivers[name].once(clients[name], method, paths[name])
                    if i >= 20:
                        samples[name].append(elapsed)
            for name, values in samples.items():
                values.sort()
                results[name]["median_ms"][label] = statistics.median(values) * 1000
                results[name]["p95_ms"][label] = values[int(len(values) * 0.95) - 1] * 1000
        for name, driver in drivers.items():
            for label, method, path in _requests(info[name]["memory_id"]):
                results[name]["rps"][label] = {
                    c: driver.throughput(method, path, c, args.seconds) for c in CONCURRENCY
                }
    return results


# -- report -------------------------------------------------------------------------


def report(small: dict, large: dict, args) -> str:
    lines = [
        f"API benchmark, {time.strftime('%Y-%m-%d')}, {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {_pg_version(args.admin_url)}",
        f"gunicorn gthread, {args.workers} workers x {args.threads} threads, persistent database connections; "
        f"driver: httpx in a second process, keep-alive, {args.samples} samples per median (small and large "
        f"interleaved), {args.seconds:.0f} s per throughput figure",
        f"load average (1 min) {args.load[0]:.1f} before, {args.load[1]:.1f} after, on a machine shared with "
        "other work: absolute figures vary with it; the ratios are measured interleaved, so both stores see "
        "the same load",
        f"large store: {args.large_memories:,} memories, {args.large_memories * AUDIT_PER_MEMORY:,} audit rows; "
        f"small store: {args.small_memories:,} memories, {args.small_memories * AUDIT_PER_MEMORY:,} audit rows",
        "",
        "| request | median small (ms) | median large (ms) | ratio | p95 large (ms) | queries | "
        "req/s large, 1 client | req/s large, 8 clients |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label in small["median_ms"]:
        s, lg = small["median_ms"][label], large["median_ms"][label]
        q = large["queries"][label]
        q_text = str(q) if q == small["queries"][label] else f"{small['queries'][label]} / {q}"
        lines.append(
            f"| `{label}` | {s:.1f} | {lg:.1f} | {lg / s:.2f}x | {large['p95_ms'][label]:.1f} | {q_text} | "
            f"{large['rps'][label][1]:.0f} | {large['rps'][label][8]:.0f} |"
        )
    lines += [
        "",
        "A promote's latency is the promote alone; its req/s counts create + promote pairs (each promote",
        "needs a fresh candidate, made through the API just before it).",
        "",
        "| request | req/s small, 1 client | req/s small, 8 clients |",
        "| --- | ---: | ---: |",
    ]
    for label in small["rps"]:
        lines.append(f"| `{label}` | {small['rps'][label][1]:.0f} | {small['rps'][label][8]:.0f} |")
    return "\n".join(lines)


def _pg_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "prepare"])
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--large-memories", type=int, default=100_000)
    parser.add_argument("--small-memories", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="Keep stores whose row counts already match.")
    args = parser.parse_args(argv)
    if args.mode == "prepare":
        prepare()
        return
    print("building stores")
    small_url = build_store(args.admin_url, "atocore_bench_api_small", args.small_memories, reuse=args.reuse)
    large_url = build_store(args.admin_url, "atocore_bench_api_large", args.large_memories, reuse=args.reuse)
    print("measuring (latency interleaved between the stores, then throughput)")
    load_before = os.getloadavg()[0]
    results = measure({"small": small_url, "large": large_url}, args)
    args.load = (load_before, os.getloadavg()[0])
    small, large = results["small"], results["large"]
    print()
    print(report(small, large, args))


if __name__ == "__main__":
    main()
