"""The cost of the audit trail (issue 2), measured side by side in one run.

1. An audited service mutation (update_memory) against the same mutation with the
   audit recorder switched off: ratio, and queries per operation.
2. expire_stale_candidates over 10,000 candidates against a bare QuerySet.update of
   the same rows: ratio, and queries per 1,000 rows.

Run: ``python -m bench`` (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL).
"""

import argparse
import contextlib
import datetime
import statistics
import time

from bench import harness

TARGET_AUDITED_RATIO = 1.5
TARGET_EXPIRY_RATIO = 3.0
TARGET_EXPIRY_QUERIES_PER_1000 = 10


@contextlib.contextmanager
def auditing_off():
    """The same code path with the recorder and its snapshots replaced by no-ops."""
    from memories import services
    from observability import audit

    saved = audit.record, audit.snapshot
    audit.record = lambda *a, **k: None
    audit.snapshot = lambda instance: None
    try:
        yield
    finally:
        audit.record, audit.snapshot = saved
        del services  # imported only to make sure the module is loaded before patching


def bench_mutation(ops: int) -> dict:
    from memories import services
    from memories.models import Project

    Project.objects.get_or_create(name="bench")
    memory = services.create_memory(memory_type="fact", content="bench", project="bench", actor="bench")
    values = [0.25, 0.75]

    def run(n):
        start = time.perf_counter()
        for i in range(n):
            services.update_memory(memory, actor="bench", confidence=values[i % 2])
        return (time.perf_counter() - start) / n

    run(20)  # warm up
    audited, bare = [], []
    for _ in range(5):  # interleaved, so drift on a noisy machine hits both sides alike
        audited.append(run(ops))
        with auditing_off():
            bare.append(run(ops))
    q_audited = harness.count_queries(lambda: services.update_memory(memory, actor="bench", confidence=0.5))
    with auditing_off():
        q_bare = harness.count_queries(lambda: services.update_memory(memory, actor="bench", confidence=0.6))
    a, b = statistics.median(audited), statistics.median(bare)
    return {
        "audited_ms": a * 1e3,
        "bare_ms": b * 1e3,
        "ratio": a / b,
        "queries_audited": q_audited,
        "queries_bare": q_bare,
    }


def _stale_candidates(n: int) -> None:
    from memories.models import Memory
    from observability.models import MemoryAudit

    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    rows = [
        Memory(memory_type="knowledge", content=f"stale candidate {i}", project="bench", created_at=long_ago)
        for i in range(n)
    ]
    Memory.objects.bulk_create(rows, batch_size=2000)
    del MemoryAudit  # the bulk_create above is audited too; the counts below exclude it


def bench_expiry(rows: int, repeat: int) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from memories import services
    from memories.models import Memory

    _stale_candidates(rows)

    def bare_expiry():
        """The same rows and values as expire_stale_candidates, without the audit trail."""
        now = timezone.now()
        cutoff = now - datetime.timedelta(days=settings.ATOCORE_CANDIDATE_MAX_AGE_DAYS)
        stale = Memory.objects.alias(last=Coalesce("last_referenced_at", "created_at"))
        stale.filter(status="candidate", last__lt=cutoff)._raw_update(status="rejected", updated_at=now)

    reset = lambda: Memory.objects.filter(project="bench")._raw_update(status="candidate")  # noqa: E731
    expiry, bare, queries = [], [], []
    for _ in range(repeat):
        reset()
        start = time.perf_counter()
        n = services.expire_stale_candidates()
        expiry.append(time.perf_counter() - start)
        assert n == rows, n
        reset()
        start = time.perf_counter()
        bare_expiry()
        bare.append(time.perf_counter() - start)
    reset()
    queries = harness.count_queries(services.expire_stale_candidates)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE") if not connection.in_atomic_block else None
    e, b = statistics.median(expiry), statistics.median(bare)
    return {
        "rows": rows,
        "expiry_s": e,
        "bare_s": b,
        "ratio": e / b,
        "queries": queries,
        "queries_per_1000": queries / (rows / 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200, help="mutations per timed round")
    parser.add_argument("--rows", type=int, default=10_000, help="stale candidates to expire")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    harness.setup()
    with harness.scratch_database():
        print(f"machine: {harness.machine()}")
        m = bench_mutation(args.ops)
        print(
            f"audited update_memory: {m['audited_ms']:.3f} ms/op vs {m['bare_ms']:.3f} ms/op unaudited "
            f"= {m['ratio']:.2f}x (target <= {TARGET_AUDITED_RATIO}x); "
            f"queries/op {m['queries_audited']} vs {m['queries_bare']}"
        )
        x = bench_expiry(args.rows, args.repeat)
        print(
            f"expire_stale_candidates over {x['rows']:,} candidates: {x['expiry_s'] * 1e3:.1f} ms vs bare update "
            f"{x['bare_s'] * 1e3:.1f} ms = {x['ratio']:.2f}x (target <= {TARGET_EXPIRY_RATIO}x); "
            f"{x['queries']} queries = {x['queries_per_1000']:.1f} per 1,000 rows "
            f"(target <= {TARGET_EXPIRY_QUERIES_PER_1000})"
        )


if __name__ == "__main__":
    main()
