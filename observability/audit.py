"""The audit recorder: the only writer of MemoryAudit rows.

Every write runs inside the caller's transaction (a mutation that rolls back leaves no
row) and in a savepoint of its own (a failing INSERT must not abort the caller's
transaction on PostgreSQL), and it fails open: the failure is logged and counted, and
the mutation goes on.
"""

import datetime
import decimal
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from django.db import transaction
from django.db.models.expressions import Combinable
from django.utils import timezone

from observability.context import audit_context, current, current_request_id
from observability.models import AuditAction, MemoryAudit

__all__ = [
    "audit_context",
    "action_for",
    "failure_count",
    "record",
    "record_many",
    "snapshot",
    "to_json_value",
]

logger = structlog.get_logger(__name__)

# Status reached -> action, for moves that change status (DESIGN.md).
_STATUS_ACTIONS = {
    "active": AuditAction.PROMOTED,
    "rejected": AuditAction.REJECTED,
    "invalid": AuditAction.INVALIDATED,
    "superseded": AuditAction.SUPERSEDED,
}

_failures_lock = threading.Lock()
_failures = 0


def use_sqlite_variable_limit(sender, connection, **kwargs) -> None:
    """Let bulk inserts on SQLite use the real parameter limit, not Django 5.2's assumed 999.

    Otherwise ``bulk_create`` splits audit rows into INSERTs of 111 and the queries of a
    bulk update grow with its rows. A backport of Django 6.0 (ticket #36143).
    """
    if connection.vendor == "sqlite":
        connection.features.max_query_params = connection.connection.getlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
        )


def failure_count() -> int:
    """Audit writes that failed in this process since it started."""
    return _failures


def _count_failure() -> None:
    global _failures
    with _failures_lock:
        _failures += 1


def to_json_value(value: Any) -> Any:
    """A field value as JSON: canonical UUIDs, ISO 8601 UTC datetimes, exact Decimals."""
    if isinstance(value, Combinable):
        raise TypeError(f"cannot snapshot an unresolved expression: {value!r}")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
        return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(instance) -> dict[str, Any]:
    """Every concrete field of a model instance, as JSON."""
    return {
        field.attname: to_json_value(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
    }


def snapshot_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``.values()`` row, as JSON."""
    return {name: to_json_value(value) for name, value in row.items()}


def action_for(before: Mapping | None, after: Mapping | None) -> str:
    """The action a change from ``before`` to ``after`` stands for."""
    if before is None:
        return AuditAction.CREATED
    if after is None:
        return AuditAction.DELETED
    if before.get("status") != after.get("status"):
        return _STATUS_ACTIONS.get(after.get("status"), AuditAction.UPDATED)
    if (after.get("reference_count") or 0) > (before.get("reference_count") or 0):
        return AuditAction.REINFORCED
    return AuditAction.UPDATED


def _build(memory_id, *, before, after, action, actor, note, user) -> MemoryAudit:
    ambient = current()
    return MemoryAudit(
        memory_id=memory_id,
        action=action or action_for(before, after),
        actor=actor or ambient.actor,
        user=(user if user is not None else ambient.user) or "",
        note=note if note is not None else ambient.note,
        request_id=current_request_id(),
        before=before,
        after=after,
        timestamp=timezone.now(),
    )


def record(
    memory_id,
    *,
    before: Mapping | None,
    after: Mapping | None,
    action: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    user: str | None = None,
) -> MemoryAudit | None:
    """Write one audit row; the ambient context fills what is not given. Never raises."""
    return _write(
        [_build(memory_id, before=before, after=after, action=action, actor=actor, note=note, user=user)]
    )


def record_many(
    changes: Iterable[tuple[Any, Mapping | None, Mapping | None]],
    *,
    actor: str | None = None,
    note: str | None = None,
    user: str | None = None,
) -> MemoryAudit | None:
    """Write one row per ``(memory_id, before, after)`` with a single bulk insert."""
    rows = [
        _build(mid, before=b, after=a, action=None, actor=actor, note=note, user=user)
        for mid, b, a in changes
    ]
    return _write(rows) if rows else None


def _write(rows: list[MemoryAudit]) -> MemoryAudit | None:
    try:
        with transaction.atomic():
            if len(rows) == 1:
                rows[0].save(force_insert=True)
            else:
                MemoryAudit.objects.bulk_create(rows)
    except Exception as exc:  # fail-open: the mutation matters more than its record
        _count_failure()
        logger.error(
            "audit_write_failed",
            rows=len(rows),
            memory_ids=[str(r.memory_id) for r in rows[:5]],
            error=f"{type(exc).__name__}: {exc}",
        )
        return None
    return rows[-1]
