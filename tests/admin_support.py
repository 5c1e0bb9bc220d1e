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


def _replay(record: dict, by_key: dict) -> None:
    from memories import services
    from memories.models import Project

    Project.objects.get_or_create(name=record["project"])
    memory = services.create_memory(
        memory_type=record["memory_type"],
        content=record["content"],
        project=record["project"],
        confidence=record["confidence"],
        actor="import",
        created_at=datetime.datetime.fromisoformat(record["created_at"].replace("Z", "+00:00")),
        external_key=record["key"],
    )
    for _ in range(min(record["reinforcements"], 5)):
        services.reinforce_memory(memory, actor="import")
    status = record["status"]
    if status in {"active", "invalid", "superseded"}:
        services.promote_memory(memory, actor="import")
    if status == "rejected":
        services.reject_candidate_memory(memory, actor="import")
    if status == "invalid":
        services.invalidate_memory(memory, actor="import")
    by_key[record["key"]] = memory


def load_demo_store(*, corpus_dir, work_dir, limit: int = 150) -> str:
    """The first ``limit`` corpus memories, plus integrity, alert and harness state; says how.

    Through ``manage.py import_memories`` where that command exists, else replayed through
    the services here (the same steps); generated memories where the corpus is absent.
    """
    import io
    import json

    from django.core.management import call_command, get_commands

    from memories import services
    from memories.models import Memory, Project
    from observability.alerts import emit_alert

    path = corpus_dir / "memories.jsonl"
    by_key: dict = {}
    if path.is_file():
        with path.open() as handle:
            lines = [line for _, line in zip(range(limit), handle, strict=False)]
        if "import_memories" in get_commands():
            part = work_dir / "memories.jsonl"
            part.write_text("".join(lines))
            projects = str(corpus_dir / "projects.jsonl")
            call_command("import_memories", str(part), projects=projects, stdout=io.StringIO())
            source = f"the first {len(lines)} memories of the corpus, through manage.py import_memories"
        else:
            for line in (corpus_dir / "projects.jsonl").read_text().splitlines():
                project = json.loads(line)
                Project.objects.get_or_create(
                    name=project["name"], defaults={"description": project["description"]}
                )
            records = [json.loads(line) for line in lines]
            for record in records:
                _replay(record, by_key)
            for record in records:  # successors may come later in the file
                successor = by_key.get(record.get("superseded_by") or "")
                own = by_key[record["key"]]
                if record["status"] == "superseded" and successor is not None and successor.pk != own.pk:
                    services.supersede_memory(own, by=successor, actor="import")
            source = f"the first {len(records)} memories of the corpus, replayed through the services"
    else:
        Project.objects.get_or_create(name="demo")
        for i in range(limit):
            record = {
                "key": f"generated/{i}",
                "memory_type": "knowledge" if i % 3 else "decision",
                "project": "demo",
                "content": f"Generated memory number {i}.",
                "confidence": 0.5,
                "status": "active" if i % 7 == 0 else "candidate",
                "reinforcements": i % 4,
                "created_at": "2024-01-01T00:00:00Z",
            }
            _replay(record, by_key)
        source = f"{limit} generated memories (the corpus is absent)"
    memories = list(Memory.objects.order_by("created_at", "id")[:4])
    now = timezone.now()
    for day, missing in ((4, 1), (3, 2), (2, 2), (1, 3)):
        result = integrity_result(finished_at=now - datetime.timedelta(days=day))
        result["checks"]["memory_missing_source_chunk"]["count"] = missing
        add_integrity_run(result, started_at=now - datetime.timedelta(days=day))
    latest = integrity_result(finished_at=now - datetime.timedelta(minutes=5))
    latest["checks"]["memory_missing_source_chunk"]["samples"] = [str(m.pk) for m in memories[:3]]
    latest["checks"]["duplicate_active_memories"]["samples"] = [str(memories[3].pk)]
    add_integrity_run(latest, started_at=now - datetime.timedelta(minutes=5))
    write_integrity_result(latest)
    emit_alert("warning", "Integrity scan found drift", "4 findings in 2 checks", {"run_id": "run-42"})
    emit_alert("info", "Nightly run finished", "expiry, auto-promotion, integrity scan")
    services.set_project_state(
        project="atocore",
        category="status",
        key="harness_result",
        value={"passed": 18, "total": 20, "recorded_at": now.isoformat()},
    )
    return source
