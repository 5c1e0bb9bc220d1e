"""Helpers for the admin and dashboard tests: users, state writers, SQL inspection."""

import datetime
import re
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.utils import timezone

from integrity.models import IntegrityRun
from memories.services import set_project_state
from observability.models import MemoryAudit

AUDIT_TABLE = MemoryAudit._meta.db_table


@pytest.fixture
def fresh_cache():
    """The dashboard caches closed days per database name; tests share one name."""
    cache.clear()
    yield
    cache.clear()


def staff(username: str = "alice", *perms: str) -> User:
    """A staff user holding exactly ``perms`` ("memories.view_memory", ...)."""
    user = User.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.clear()  # staff join the API group by default; "exactly" means without it
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def superuser(username: str = "root") -> User:
    return User.objects.create_superuser(username, password="pw-for-tests-only")


def integrity_result(*, finished_at=None, **overrides) -> dict:
    """A result as the integrity scan writes it (schema 1 of issue 4)."""
    finished_at = finished_at or timezone.now() - datetime.timedelta(hours=1)
    result = {
        "schema_version": 1,
        "run_id": "run-42",
        "started_at": (finished_at - datetime.timedelta(seconds=3)).isoformat(),
        "finished_at": finished_at.isoformat(),
        "checks": {
            "memory_missing_source_chunk": {
                "status": "findings",
                "count": 3,
                "samples": [str(uuid.UUID(int=i)) for i in (1, 2, 3)],
                "duration_ms": 12,
                "new": 1,
                "resolved": 0,
            },
            "duplicate_active_memories": {
                "status": "findings",
                "count": 1,
                "samples": [str(uuid.UUID(int=9))],
            },
            "project_state_missing_project": {"status": "ok", "count": 0, "samples": []},
            "orphan_source_chunks": {
                "status": "error",
                "count": 0,
                "samples": [],
                "error": "statement timeout",
            },
        },
        "new": 2,
        "resolved": 1,
        "persisting": 2,
    }
    result.update(overrides)
    return result


def write_integrity_result(value) -> None:
    set_project_state(project="atocore", category="status", key="integrity_check_result", value=value)


def add_integrity_run(result: dict, *, started_at=None) -> IntegrityRun:
    started_at = started_at or timezone.now()
    total = sum(c.get("count", 0) for c in result.get("checks", {}).values() if isinstance(c, dict))
    return IntegrityRun.objects.create(
        started_at=started_at,
        finished_at=started_at + datetime.timedelta(seconds=2),
        total_findings=total,
        result=result,
    )


_COUNT = re.compile(r"\bCOUNT\s*\(", re.IGNORECASE)


def counts_over(captured, table: str = AUDIT_TABLE) -> list[str]:
    """Captured SQL that counts rows of ``table`` (SELECT COUNT(...) ... FROM table)."""
    found = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if _COUNT.search(sql) and re.search(rf'FROM\s+"?{table}"?', sql, re.IGNORECASE):
            found.append(sql)
    return found


def full_counts_over(captured, table: str = AUDIT_TABLE) -> list[str]:
    """Counts of ``table`` without any WHERE: the full-table COUNT(*) a big list must never run."""
    return [sql for sql in counts_over(captured, table) if " WHERE " not in sql.upper()]


# -- a small store for the browser test and the screenshots ---------------------------------


def load_demo_store(*, corpus_dir, work_dir, limit: int = 300) -> str:
    """The main job on a slice of the corpus, so the dashboard shows what production would.

    The first ``limit`` corpus memories and their documents: ingest their 2022 text,
    import, run nightly, ingest their 2026 text, run the integrity scan (which raises its
    own warning), record a harness result. Documents are read from the corpus and the
    slice written into ``work_dir`` (a temporary folder, never the repository). Where the
    corpus is absent, generated memories go through the same commands. Says which.
    """
    import io
    import json
    import shutil

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from observability.harness import record_harness_result

    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    path = corpus_dir / "memories.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            lines = [line for _, line in zip(range(limit), handle, strict=False)]
        documents = {json.loads(line)["source"]["document"] for line in lines if json.loads(line)["source"]}
        for revision in ("peps-2022", "peps-2026"):
            (work_dir / revision).mkdir()
            for name in documents:
                shutil.copy(corpus_dir / revision / name, work_dir / revision / name)
        (work_dir / "memories.jsonl").write_text("".join(lines), encoding="utf-8")
        projects = corpus_dir / "projects.jsonl"
        source = f"the first {len(lines)} corpus memories and their {len(documents)} documents"
    else:
        (work_dir / "peps-2022").mkdir()
        (work_dir / "peps-2026").mkdir()
        (work_dir / "peps-2022" / "demo.md").write_text("# Demo\n\nGenerated memory number 0.\n")
        (work_dir / "peps-2026" / "demo.md").write_text("# Demo\n\nEdited since.\n")
        (work_dir / "projects.jsonl").write_text('{"name": "demo", "description": "generated"}\n')
        projects = work_dir / "projects.jsonl"
        records = [
            {
                "key": f"generated/{i}",
                "memory_type": "knowledge" if i % 3 else "decision",
                "project": "demo",
                "content": f"Generated memory number {i}.",
                "confidence": 0.5,
                "status": "active" if i % 7 == 0 else "candidate",
                "superseded_by": None,
                "reinforcements": i % 4,
                "created_at": "2026-11-30T00:00:00Z",
                "source": {"document": "demo.md", "quote": "Generated memory number 0."} if i == 0 else None,
            }
            for i in range(limit)
        ]
        (work_dir / "memories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        source = f"{limit} generated memories (the corpus is absent)"
    call_command("ingest", str(work_dir / "peps-2022"), **quiet)
    try:
        call_command("import_memories", str(work_dir / "memories.jsonl"), projects=str(projects), **quiet)
    except CommandError as exc:  # 1: a slice can cut a supersession chain, that record is skipped
        assert exc.returncode == 1, exc
    call_command("nightly", **quiet)
    call_command("ingest", str(work_dir / "peps-2026"), **quiet)
    try:
        call_command("integrity_check", **quiet)
    except CommandError as exc:  # 1: findings, which this store has on purpose
        assert exc.returncode == 1, exc
    record_harness_result(passed=18, total=20)
    return source
