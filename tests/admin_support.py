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
