"""Integrity scan benchmark: ``python -m bench.integrity [--sizes 10000,100000,1000000] [--write]``.

Runs on the database DATABASE_URL points to, in a throwaway database of its own
(``bench_integrity_<size>``, created and dropped here). For each size, in a fresh
process (so peak memory is per size): build the store in SQL, then alternate the
full scan (``run_integrity_check``) with hand-written reference SQL for the same
checks (the findings fetched, and the cheapest exact count), report medians, the ratios, each check's time and
query count, whether every planted finding was found (exactly), and peak memory.
``--write`` renders every vendor's latest results into docs/BENCHMARKS.md.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

import django

REPEATS = 5
ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "var" / "bench"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atocore_project.settings")
    os.environ.setdefault("ATOCORE_LOG_LEVEL", "WARNING")
    # Production settings: DEBUG would keep a log of every query.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-for-anything-else-0123456789")
    os.environ.setdefault("ATOCORE_ALERT_LOG", str(RESULTS_DIR / "alerts.log"))
    django.setup()


# -- reference SQL --------------------------------------------------------------------


def reference_queries() -> dict[str, dict[str, str]]:
    """The same checks, hand-written, two ways: the findings themselves (ids and the
    dangling reference, fetched: the same information the scan records) and the cheapest
    exact count. One statement each."""
    from django.db import connection

    from memories.models import Memory, Project, ProjectState, SourceChunk, SourceDocument
    from observability.models import MemoryAudit

    def t(model):
        return connection.ops.quote_name(model._meta.db_table)

    m, c, d, p, s, a = (
        t(x) for x in (Memory, SourceChunk, SourceDocument, Project, ProjectState, MemoryAudit)
    )
    # SQLite, without statistics, needs the same hints as the checks (see Sql.unindexed).
    action, status = ("+y.action", "+status") if connection.vendor == "sqlite" else ("y.action", "status")
    found = {
        "memory_missing_source_chunk": (
            "x.id, x.source_chunk_id",
            f"{m} x WHERE x.source_chunk_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {c} y WHERE y.id = x.source_chunk_id)",
        ),
        "duplicate_active_memories": (
            "memory_type, project, content_hash, COUNT(*)",
            f"{m} WHERE {status} = 'active' GROUP BY memory_type, project, status, content_hash "
            "HAVING COUNT(*) > 1",
        ),
        "project_state_missing_project": (
            "x.id, x.project",
            f"{s} x WHERE NOT EXISTS (SELECT 1 FROM {p} y WHERE y.name = x.project)",
        ),
        "orphan_source_chunks": (
            "x.id, x.document_id",
            f"{c} x WHERE NOT EXISTS (SELECT 1 FROM {d} y WHERE y.id = x.document_id)",
        ),
        "memory_missing_project": (
            "x.id, x.project",
            f"{m} x WHERE NOT EXISTS (SELECT 1 FROM {p} y WHERE y.name = x.project)",
        ),
        "superseded_without_successor": (
            "x.id, x.superseded_by",
            f"{m} x WHERE x.status = 'superseded' AND (x.superseded_by IS NULL "
            f"OR NOT EXISTS (SELECT 1 FROM {m} y WHERE y.id = x.superseded_by))",
        ),
        "memory_without_audit": (
            "x.id, x.status",
            f"{m} x WHERE NOT EXISTS (SELECT 1 FROM {a} y WHERE y.memory_id = x.id AND {action} = 'created')",
        ),
    }
    return {
        name: {
            "findings": f"SELECT {columns} FROM {rest}",
            "count": f"SELECT COUNT(*) FROM (SELECT 1 FROM {rest}) q",
        }
        for name, (columns, rest) in found.items()
    }


def run_reference(kind: str = "findings") -> dict[str, float]:
    """Each reference query once: its time in ms, and ``<name>:count`` its exact count."""
    from django.db import connection

    times = {}
    with connection.cursor() as cursor:
        for name, queries in reference_queries().items():
            started = time.perf_counter()
            cursor.execute(queries[kind])
            rows = cursor.fetchall()
            times[name] = (time.perf_counter() - started) * 1000
            times[f"{name}:count"] = int(rows[0][0]) if kind == "count" else len(rows)
    return times


def total_ms(times: dict[str, float]) -> float:
    return sum(v for k, v in times.items() if ":" not in k)


# -- one size, in a child process -----------------------------------------------------


def expected_subjects(layout) -> dict[str, set]:
    from bench.integrity_store import PLANTED

    def uuids(r):
        return {str(uuid.UUID(int=i)) for i in r}

    base = layout.duplicate_base
    keeps = {str(uuid.UUID(int=base + 4 * g + (0 if g % 3 == 0 else 1 + g % 2))) for g in range(PLANTED)}
    return {
        "memory_missing_source_chunk": uuids(layout.missing_chunk()),
        "memory_missing_project": uuids(layout.missing_project()),
        "superseded_without_successor": uuids(layout.superseded_broken()),
        "memory_without_audit": uuids(layout.without_audit()),
        "orphan_source_chunks": {f"c{n}" for n in range(layout.chunks - PLANTED + 1, layout.chunks + 1)},
        "duplicate_active_memories": keeps,
    }


def verify(run_id: int, layout) -> dict[str, str]:
    """Each check's findings against the planted ones: 'exact' or what differs."""
    from bench.integrity_store import PLANTED
    from integrity.execution import present_id
    from integrity.models import IntegrityFinding

    verdict = {}
    expected = expected_subjects(layout)
    for name, wanted in expected.items():
        found = {
            present_id("uuid" if name not in {"orphan_source_chunks"} else "text", s)
            for s in IntegrityFinding.objects.filter(run_id=run_id, check_name=name).values_list(
                "subject", flat=True
            )
        }
        verdict[name] = (
            "exact" if found == wanted else f"missed {len(wanted - found)}, extra {len(found - wanted)}"
        )
    ghosts = IntegrityFinding.objects.filter(run_id=run_id, check_name="project_state_missing_project")
    ok = ghosts.count() == PLANTED and not ghosts.exclude(detail__startswith="ghost/").exists()
    verdict["project_state_missing_project"] = "exact" if ok else f"found {ghosts.count()}"
    extras = sum(
        IntegrityFinding.objects.filter(run_id=run_id, check_name="duplicate_active_memories").values_list(
            "extra", flat=True
        )
    )
    if extras != sum(1 + g % 2 for g in range(PLANTED)):
        verdict["duplicate_active_memories"] += f" (extra members {extras})"
    return verdict


def query_counts() -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrity.checks import all_checks
    from integrity.execution import run_check
    from integrity.models import IntegrityRun

    run = IntegrityRun.objects.create()
    counts = {}
    for check in all_checks():
        with CaptureQueriesContext(connection) as captured:
            run_check(check, run_id=run.pk, sample=20)
        counts[check.name] = len(captured.captured_queries)
    return counts


def measure_one(size: int) -> dict:
    setup_django()
    from django.conf import settings
    from django.db import connection

    from bench.integrity_store import Layout, build_store
    from integrity.runner import run_integrity_check

    name = f"bench_integrity_{size}"
    test_name = str(RESULTS_DIR / f"{name}.sqlite3") if connection.vendor == "sqlite" else name
    connection.settings_dict["TEST"]["NAME"] = test_name
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = test_name
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        layout = Layout(size)
        started = time.perf_counter()
        build_store(layout)
        build_s = time.perf_counter() - started
        run_integrity_check()  # warm-up: caches, and a previous run for the trend
        run_reference()
        run_reference("count")
        scans, refs, counts = [], [], []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            report = run_integrity_check()
            scans.append(((time.perf_counter() - t0) * 1000, report.document))
            refs.append(run_reference())
            counts.append(run_reference("count"))
        rss_before_traced_scan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        run_integrity_check()
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        document = scans[-1][1]
        checks = document["checks"]
        reference_ms = {n: statistics.median(r[n] for r in refs) for n in checks}
        count_ms = {n: statistics.median(r[n] for r in counts) for n in checks}
        return {
            "vendor": connection.vendor,
            "size": size,
            "layout": {
                "memories": size,
                "chunks": layout.chunks,
                "documents": layout.documents,
                "states": layout.states,
                "audit_rows": size,
            },
            "build_s": round(build_s, 1),
            "scan_ms": round(statistics.median(s[0] for s in scans), 1),
            "reference_ms": round(statistics.median(total_ms(r) for r in refs), 1),
            "count_only_ms": round(statistics.median(total_ms(r) for r in counts), 1),
            "checks": {
                n: {
                    "ms": round(statistics.median(s[1]["checks"][n]["duration_ms"] for s in scans), 1),
                    "reference_ms": round(reference_ms[n], 1),
                    "count_only_ms": round(count_ms[n], 1),
                    "count": c["count"],
                    "reference_count": counts[-1][f"{n}:count"],
                }
                for n, c in checks.items()
            },
            "planted": verify(document["run_id"], layout),
            "queries": query_counts(),
            "peak_rss_mb": round(rss_before_traced_scan / 1024, 1),
            "scan_python_peak_kb": round(traced_peak / 1024, 1),
        }
    finally:
        connection.creation.destroy_test_db(test_name, verbosity=0)


# -- the parent: sizes, table, docs ---------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"


def render_table(results: list[dict]) -> list[str]:
    names = list(results[0]["checks"])
    lines = [
        "| memories | scan ms | reference ms (findings) | ratio | count-only ms | ratio | planted found "
        "| queries | peak RSS MB | scan Python peak KB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in results:
        exact = all(v == "exact" for v in r["planted"].values())
        lines.append(
            f"| {r['size']:,} | {r['scan_ms']:,.0f} | {r['reference_ms']:,.0f} | "
            f"{r['scan_ms'] / r['reference_ms']:.2f}x | {r['count_only_ms']:,.0f} | "
            f"{r['scan_ms'] / r['count_only_ms']:.2f}x | {'all, exact' if exact else r['planted']} | "
            f"{sum(r['queries'].values())} | {r['peak_rss_mb']:.0f} | {r['scan_python_peak_kb']:.0f} |"
        )
    lines += ["", "Per check, ms: scan / reference (findings) / count-only; queries per check:", ""]
    lines.append("| check | " + " | ".join(f"{r['size']:,}" for r in results) + " | queries |")
    lines.append("| --- | " + " | ".join("---:" for _ in results) + " | ---: |")
    for n in names:
        cells = " | ".join(
            f"{r['checks'][n]['ms']:,.1f} / {r['checks'][n]['reference_ms']:,.1f} / "
            f"{r['checks'][n]['count_only_ms']:,.1f}"
            for r in results
        )
        queries = sorted({r["queries"][n] for r in results})
        lines.append(f"| {n} | {cells} | {', '.join(map(str, queries))} |")
    return lines


def write_docs() -> Path:
    path = ROOT / "docs" / "BENCHMARKS.md"
    section = ["## Integrity scan", ""]
    section += [
        "`python -m bench.integrity --sizes ... --write` (bench/integrity.py), in a throwaway database per",
        "size. A store of N memories, N chunks, N/10 documents, max(1000, N/100) state rows and N audit",
        "rows, built in SQL, with 500 planted findings of every kind (duplicates: 500 groups, 750 extra",
        "members) and decoys that must not be found; VACUUM ANALYZE on PostgreSQL (autovacuum's job in",
        "production), no statistics on SQLite (nothing runs ANALYZE there). The scan is",
        "`run_integrity_check()` in full: per check its own transaction, the findings written in SQL",
        "(CREATE TEMPORARY TABLE ... AS on PostgreSQL, which may run in parallel, then INSERT), samples,",
        "the trend against the previous run; then the run row, the result state and one alert. It runs",
        "against hand-written SQL for the same checks in the same process, two ways: the findings",
        "themselves (ids and the dangling reference, fetched: what the scan records) and the cheapest",
        "exact count. Medians of 5 alternating runs after a warm-up, one process per size; DEBUG off.",
        "Peak RSS is the process's high-water mark (Django included); the Python peak is tracemalloc",
        "during one scan. A shared 2-core machine: single figures vary by up to ~1.5x with its load.",
        "",
        "Reading it: at 1,000,000 memories the scan is within the 1.2x target of the hand-written",
        "findings queries; the count-only queries are cheaper still where an index-only scan answers",
        "them (`memory_missing_project`), which a scan that must name the memories cannot use. At",
        "10,000 rows a fixed ~10 ms per check on PostgreSQL (~2 ms on SQLite: transaction, scratch",
        "table, samples, trend, commit) dominates. Every planted finding is found, exactly, at every",
        "size; queries per check and peak memory are the same at 10,000 and 1,000,000 rows.",
        "",
    ]
    for vendor in ("postgresql", "sqlite"):
        file = RESULTS_DIR / f"integrity-{vendor}.json"
        if not file.exists():
            continue
        data = json.loads(file.read_text())
        section += [f"### {data['database']}", "", f"{data['machine']}; {data['date']}.", ""]
        section += render_table(data["results"]) + [""]
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find("## Integrity scan")
    if start == -1:
        text = text.rstrip() + "\n\n" + "\n".join(section)
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + "\n".join(section) + (text[end:] if end != -1 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help="Update docs/BENCHMARKS.md.")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one)))
        return
    setup_django()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"size {size:,}: building and scanning ...", file=sys.stderr, flush=True)
        child = subprocess.run(
            [sys.executable, "-m", "bench.integrity", "--one", str(size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if child.returncode:
            sys.exit(f"size {size}: the measuring process failed:\n{child.stderr[-3000:]}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1], indent=1), file=sys.stderr)
    from django.db import connection

    vendor = connection.vendor
    payload = {
        "database": database_version(),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"integrity-{vendor}.json").write_text(json.dumps(payload, indent=1))
    print("\n".join(render_table(results)))
    if args.write:
        print(f"wrote {write_docs()}", file=sys.stderr)


if __name__ == "__main__":
    main()
