"""Admin pages on a big store against the same pages on a small one (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME python -m bench.admin [--keep]

Builds its own database (NAME_bench_admin) twice: a small store (1,000 memories,
1,000 audit rows) and a big one (100,000 memories, 1,000,000 audit rows), with
generate_series, so a run takes minutes, not hours. Both stores have the same last 30
days of audit rows (600), the rest being older history over 400 days; one memory with
exactly 25 audit rows (the timeline page), 30 integrity runs, the three kinds of state
and two alerts. So every page shows the same amount of data and only the table sizes
differ.

Per page: the median and the best of repeated renders through Django's test client
(session, middleware, template), taken in rounds that alternate between the two
stores so that load from other processes falls on both alike; the number of queries;
and the COUNT queries over the audit table (none on the lists and the timeline, and no
full one anywhere).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

import django

N_DAYS = 400
TIMELINE_ROWS = 25
# Both stores have the same recent traffic (20 mutations a day over the trend's 30 days);
# the big store's extra rows are older history. So the pages show the same data and only
# the table sizes differ.
RECENT_ROWS = 600
TIMELINE_MEMORY = uuid.UUID(int=0xA1)
ACTIONS = (
    "ARRAY['created','updated','promoted','rejected','invalidated','superseded','reinforced','reinforced']"
)
ACTORS = "ARRAY['import','api-http','human-triage','phase10-auto-promote','candidate-expiry','reinforcement','system','integrity-fix']"


def _snapshot(status: str) -> str:
    """SQL for a realistic JSON snapshot of memory ``m`` (an integer column)."""
    return f"""jsonb_build_object(
        'id', md5('m' || m)::uuid::text, 'memory_type', 'knowledge',
        'content', 'Benchmark memory number ' || m || '.', 'content_hash', md5('c' || m) || md5('d' || m),
        'project', 'alpha', 'status', '{status}', 'confidence', 0.5, 'source_chunk_id', md5('s' || m),
        'reference_count', m %% 5, 'last_referenced_at', NULL, 'superseded_by', NULL, 'external_key', NULL,
        'created_at', '2025-01-01T00:00:00.000000+00:00', 'updated_at', '2025-01-02T00:00:00.000000+00:00')"""


def build_store(n_memories: int, n_audit: int) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE memories_memory, observability_memoryaudit, integrity_integrityrun, "
            "observability_alertevent, django_session"
        )
        cur.execute("DELETE FROM memories_projectstate WHERE project = 'atocore'")
        cur.execute(
            """INSERT INTO memories_memory (id, memory_type, content, content_hash, project, status, confidence,
                   source_chunk_id, reference_count, last_referenced_at, superseded_by, external_key,
                   created_at, updated_at)
               SELECT md5('m' || i)::uuid,
                      (ARRAY['fact','decision','preference','knowledge'])[1 + i %% 4],
                      'Benchmark memory number ' || i || '.',
                      encode(sha256(convert_to('Benchmark memory number ' || i || '.', 'UTF8')), 'hex'),
                      (ARRAY['alpha','beta','gamma','delta','epsilon'])[1 + i %% 5],
                      CASE WHEN i %% 10 < 3 THEN 'candidate' WHEN i %% 10 < 8 THEN 'active'
                           WHEN i %% 10 = 8 THEN 'rejected' ELSE 'invalid' END,
                      0.5, md5('s' || i), i %% 5, NULL, NULL, NULL,
                      now() - make_interval(secs => %s * 86400.0 * i / %s), now()
               FROM generate_series(1, %s) AS i""",
            [N_DAYS, n_memories, n_memories],
        )
        generic = n_audit - TIMELINE_ROWS
        cur.execute(
            f"""INSERT INTO observability_memoryaudit
                   (memory_id, action, actor, "user", request_id, before, after, note, timestamp)
               SELECT md5('m' || m)::uuid, ({ACTIONS})[1 + i %% 8], ({ACTORS})[1 + i %% 8],
                      CASE WHEN i %% 3 = 0 THEN 'alice' ELSE '' END, md5('r' || i),
                      CASE WHEN i %% 8 = 0 THEN NULL ELSE {_snapshot("candidate")} END,
                      {_snapshot("active")}, 'benchmark row ' || i,
                      CASE WHEN i > %(old)s
                           THEN now() - make_interval(secs => 30 * 86400.0 * (%(n)s - i + 0.5) / %(recent)s)
                           ELSE now() - interval '30 days'
                                - make_interval(secs => %(old_days)s * 86400.0 * (%(old)s - i + 1) / %(old)s)
                      END
               FROM (SELECT i, 1 + (i::bigint * 7919) %% %(memories)s AS m
                     FROM generate_series(1, %(n)s) AS i) AS g""",
            {
                "n": generic,
                "old": generic - RECENT_ROWS,
                "recent": RECENT_ROWS,
                "old_days": N_DAYS - 30,
                "memories": n_memories,
            },
        )
        # The timeline memory: exactly TIMELINE_ROWS rows, whatever the store's size.
        cur.execute(
            """INSERT INTO memories_memory (id, memory_type, content, content_hash, project, status, confidence,
                   reference_count, created_at, updated_at)
               VALUES (%s, 'fact', 'The timeline memory.', md5('t') || md5('u'), 'alpha', 'active', 0.9,
                   24, now() - interval '30 days', now())""",
            [TIMELINE_MEMORY],
        )
        cur.execute(
            f"""INSERT INTO observability_memoryaudit
                   (memory_id, action, actor, "user", request_id, before, after, note, timestamp)
               SELECT %s, 'reinforced', 'reinforcement', '', '', {_snapshot("active")},
                      {_snapshot("active")}, '', now() - make_interval(days => 30 - i)
               FROM (SELECT i, i AS m FROM generate_series(1, %s) AS i) AS g""",
            [TIMELINE_MEMORY, TIMELINE_ROWS],
        )
        cur.execute("VACUUM ANALYZE")  # as autovacuum would have, on a store that grew over time
    _state()


def _state() -> None:
    import datetime

    from django.utils import timezone

    from integrity.models import IntegrityRun
    from memories.services import set_project_state
    from observability.alerts import emit_alert

    now = timezone.now()
    checks = {
        name: {"status": "findings" if i % 2 else "ok", "count": i, "samples": [str(uuid.UUID(int=i))]}
        for i, name in enumerate(
            [
                "memory_missing_source_chunk",
                "duplicate_active_memories",
                "orphan_source_chunks",
                "memory_missing_project",
            ]
        )
    }
    result = {
        "schema_version": 1,
        "run_id": "bench",
        "finished_at": now.isoformat(),
        "checks": checks,
        "new": 1,
    }
    for day in range(30):
        IntegrityRun.objects.create(
            started_at=now - datetime.timedelta(days=day), finished_at=now, total_findings=6, result=result
        )
    set_project_state(project="atocore", category="status", key="integrity_check_result", value=result)
    set_project_state(
        project="atocore", category="status", key="harness_result", value={"passed": 17, "total": 20}
    )
    emit_alert("warning", "Benchmark warning", "a warning for the dashboard")
    emit_alert("critical", "Benchmark critical", "a critical alert for the dashboard")


def _cursor_at(position: int) -> str:
    from observability.admin_paging import _encode
    from observability.models import MemoryAudit

    row = MemoryAudit.objects.order_by("-timestamp", "-id")[position]
    return f"o~{_encode(row)}"


def pages(n_audit: int) -> dict[str, str]:
    """The pages measured; the later audit page starts half way down the table."""
    return {
        "dashboard": "/admin/",
        "audit list, first page": "/admin/observability/memoryaudit/",
        "audit list, later page": f"/admin/observability/memoryaudit/?cursor={_cursor_at(n_audit // 2)}",
        "memory timeline": f"/admin/memories/memory/{TIMELINE_MEMORY}/change/",
        "memory list": "/admin/memories/memory/",
        "memory list, candidates": "/admin/memories/memory/?status__exact=candidate",
    }


def _use(database: str) -> None:
    """Point the default connection at one of the two stores (reconnects on the next query)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = database


def _client(store: dict):
    from django.test import Client

    _use(store["db"])
    client = Client()
    client.force_login(store["user"])
    return client


def _render_ms(client, url: str, n: int) -> list[float]:
    assert client.get(url).status_code == 200, url  # warm after the reconnect
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(stores: dict, page: str, rounds: int, per_round: int) -> dict:
    """Both stores in alternating rounds, so that load from other processes hits both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.admin_support import counts_over, full_counts_over

    times = {label: [] for label in stores}
    for _ in range(rounds):
        for label, store in stores.items():
            times[label] += _render_ms(_client(store), store["urls"][page], per_round)
    results = {}
    for label, store in stores.items():
        client = _client(store)
        client.get(store["urls"][page])
        with CaptureQueriesContext(connection) as captured:
            client.get(store["urls"][page])
        results[label] = {
            "median_ms": statistics.median(times[label]),
            "min_ms": min(times[label]),
            "queries": len(captured),
            "audit_counts": len(counts_over(captured)),
            "full_audit_counts": len(full_counts_over(captured)),
        }
    return results


def make_store(label: str, base: str, n_memories: int, n_audit: int, keep: bool) -> dict:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"{base}_bench_admin_{label}"
    connection.settings_dict["NAME"] = base
    database = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep)
    started = time.perf_counter()
    build_store(n_memories, n_audit)
    print(
        f"{label}: built {n_memories:,} memories, {n_audit:,} audit rows in {time.perf_counter() - started:.1f} s"
    )
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", password="x"
    )
    return {"db": database, "user": user, "urls": pages(n_audit)}


def cold_dashboard_ms(store: dict) -> float:
    """The first dashboard of the day: the closed days of the trend are not cached yet."""
    from django.core.cache import cache

    client = _client(store)
    client.get("/admin/")  # templates loaded and connection open
    cache.clear()
    start = time.perf_counter()
    client.get("/admin/")
    return (time.perf_counter() - start) * 1000


def report(results: dict, cold: dict, sizes: tuple) -> str:
    lines = [
        f"| page | {sizes[0]}: median (best) ms | {sizes[1]}: median (best) ms | big/small, medians (bests) "
        "| queries small/big | COUNT over audit small/big |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, by_store in results.items():
        s, b = by_store["small"], by_store["big"]
        lines.append(
            f"| {name} | {s['median_ms']:.1f} ({s['min_ms']:.1f}) | {b['median_ms']:.1f} ({b['min_ms']:.1f}) "
            f"| {b['median_ms'] / s['median_ms']:.2f}x ({b['min_ms'] / s['min_ms']:.2f}x) "
            f"| {s['queries']}/{b['queries']} | {s['audit_counts']}/{b['audit_counts']} "
            f"(full: {s['full_audit_counts']}/{b['full_audit_counts']}) |"
        )
    lines.append(
        f"\nDashboard, first load of the day (closed days not cached yet): "
        f"{cold['small']:.0f} ms small, {cold['big']:.0f} ms big."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000, help="memories and audit rows of the small store")
    parser.add_argument("--rounds", type=int, default=10, help="alternations between the two stores")
    parser.add_argument("--per-round", type=int, default=4, help="renders of a page per store and round")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atocore_project.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        print("bench.admin needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    settings.DEBUG = False  # no query log while timing
    scratch = tempfile.TemporaryDirectory(prefix="bench-admin-")  # the benchmark's alert log
    settings.ATOCORE_ALERT_LOG = os.path.join(scratch.name, "alerts.log")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    base = settings.DATABASES["default"]["NAME"]
    stores = {
        "small": make_store("small", base, args.small, args.small, args.keep),
        "big": make_store("big", base, args.memories, args.audit, args.keep),
    }
    try:
        cold = {label: cold_dashboard_ms(store) for label, store in stores.items()}
        results = {
            page: measure(stores, page, args.rounds, args.per_round) for page in stores["small"]["urls"]
        }
    finally:
        if not args.keep:
            for store in stores.values():
                _use(store["db"])
                connection.creation.destroy_test_db(base, verbosity=0)
        scratch.cleanup()
    sizes = (f"{args.small:,} rows", f"{args.audit:,} audit / {args.memories:,} memories")
    print()
    print(report(results, cold, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
