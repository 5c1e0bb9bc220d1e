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
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import Case, CharField, DateTimeField, F, Q, Value, When
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
    "record_set",
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


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_json_value(value: Any) -> Any:
    """A field value as JSON: canonical UUIDs, ISO 8601 UTC datetimes, exact Decimals."""
    if type(value) in _PLAIN:  # most columns: the hot path of every mutation
        return value
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


def _build(memory_id, *, before, after, action, actor, note, user) -> dict[str, Any]:
    """One audit row's column values (a dict, not a model instance: this runs per mutation)."""
    ambient = current()
    return {
        "memory_id": memory_id,
        "action": action or action_for(before, after),
        "actor": actor or ambient.actor,
        "user": (user if user is not None else ambient.user) or "",
        "request_id": current_request_id(),
        "before": before,
        "after": after,
        "note": note if note is not None else ambient.note,
        "timestamp": timezone.now(),
    }


def record(
    memory_id,
    *,
    before: Mapping | None,
    after: Mapping | None,
    action: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    user: str | None = None,
) -> bool:
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
) -> bool:
    """Write one row per ``(memory_id, before, after)`` with a single bulk insert."""
    rows = [
        _build(mid, before=b, after=a, action=None, actor=actor, note=note, user=user)
        for mid, b, a in changes
    ]
    return _write(rows) if rows else True


_SAVEPOINT = "atocore_audit"
_COLUMNS = ("memory_id", "action", "actor", "user", "request_id", "before", "after", "note", "timestamp")


def _insert_sql(connection, count: int) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(MemoryAudit._meta.get_field(name).column) for name in _COLUMNS)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * count)
    return f"INSERT INTO {quote(MemoryAudit._meta.db_table)} ({columns}) VALUES {placeholders}"


def _batch_size(connection) -> int:
    limit = connection.features.max_query_params  # SQLite's real limit: use_sqlite_variable_limit
    return max(1, limit // len(_COLUMNS)) if limit else 2000


def _write(rows: list[dict[str, Any]]) -> bool:
    """INSERT the rows inside a savepoint of their own; on failure roll back to it, log, count.

    Raw SQL rather than Model.save(): this runs on every mutation, and the ORM's
    per-save machinery cost more than the INSERT itself. On PostgreSQL the savepoint,
    the INSERT and the release travel in one round trip. Several batches share one
    savepoint (all or none).
    """
    connection = connections[MemoryAudit.objects.db]
    fields = [MemoryAudit._meta.get_field(name) for name in _COLUMNS]
    in_transaction = connection.in_atomic_block
    savepoint_made = False
    try:
        connection.ensure_connection()
        size = _batch_size(connection)
        statements = [
            (
                _insert_sql(connection, len(batch)),
                [f.get_db_prep_save(row[f.attname], connection) for row in batch for f in fields],
            )
            for batch in (rows[start : start + size] for start in range(0, len(rows), size))
        ]
        with connection.cursor() as cursor:
            if not in_transaction:  # autocommit: all batches or none
                with transaction.atomic(using=connection.alias):
                    for sql, params in statements:
                        cursor.execute(sql, params)
            elif connection.vendor == "postgresql" and len(statements) == 1:
                savepoint_made = True
                sql, params = statements[0]
                cursor.execute(f"SAVEPOINT {_SAVEPOINT}; {sql}; RELEASE SAVEPOINT {_SAVEPOINT}", params)
            else:
                cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
                savepoint_made = True
                for sql, params in statements:
                    cursor.execute(sql, params)
                cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    except Exception as exc:  # fail-open: the mutation matters more than its record
        if savepoint_made:
            _rollback_to_savepoint(connection)
        _count_failure()
        logger.error(
            "audit_write_failed",
            rows=len(rows),
            memory_ids=[str(r["memory_id"]) for r in rows[:5]],
            error=f"{type(exc).__name__}: {exc}",
        )
        return False
    return True


def _rollback_to_savepoint(connection) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    except Exception as exc:  # the savepoint may never have been made; the caller's block decides
        logger.error("audit_savepoint_rollback_failed", error=f"{type(exc).__name__}: {exc}")


def _action_expression(patch: Mapping[str, Any]):
    """The per-row action of a set-based change, chosen exactly as action_for() would."""
    whens = []
    if "status" in patch:
        moved = _STATUS_ACTIONS.get(patch["status"], AuditAction.UPDATED)
        whens.append(When(~Q(status=patch["status"]), then=Value(moved)))
    if isinstance(patch.get("reference_count"), int):
        whens.append(When(reference_count__lt=patch["reference_count"], then=Value(AuditAction.REINFORCED)))
    return Case(*whens, default=Value(AuditAction.UPDATED)) if whens else Value(AuditAction.UPDATED)


def record_set(
    queryset,
    *,
    patch: Mapping[str, Any],
    actor: str | None = None,
    note: str | None = None,
    user: str | None = None,
) -> int:
    """One row per row of ``queryset`` about to get ``patch``: one INSERT ... SELECT. Never raises.

    Called before the UPDATE, in its transaction; the snapshots are built by the
    database (observability.snapshot_sql), so there is no Python work per row.
    ``patch`` maps field names to the JSON values (``to_json_value``) they will hold.
    """
    from observability.snapshot_sql import JSONSnapshot

    ambient = current()
    text = CharField()
    columns = {
        "memory_id": F("pk"),
        "action": _action_expression(patch),
        "actor": Value(actor or ambient.actor, output_field=text),
        "user": Value((user if user is not None else ambient.user) or "", output_field=text),
        "request_id": Value(current_request_id(), output_field=text),
        "before": JSONSnapshot(queryset.model),
        # Built from the columns with the new values put in: no JSON is parsed again.
        "after": JSONSnapshot(queryset.model, overrides=dict(patch)),
        "note": Value(note if note is not None else ambient.note, output_field=text),
        "timestamp": Value(timezone.now(), output_field=DateTimeField()),
    }
    aliases = {f"audit_{name}": expression for name, expression in columns.items()}
    select = queryset.order_by().annotate(**aliases).values(*aliases)
    connection = connections[queryset.db]
    try:
        select_sql, params = select.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # e.g. pk__in=[]: nothing to record
        return 0
    quote = connection.ops.quote_name
    target = ", ".join(quote(MemoryAudit._meta.get_field(name).column) for name in columns)
    sql = f"INSERT INTO {quote(MemoryAudit._meta.db_table)} ({target}) {select_sql}"
    try:
        with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
    except Exception as exc:  # fail-open, as in _write()
        _count_failure()
        logger.error("audit_write_failed", rows="set", error=f"{type(exc).__name__}: {exc}")
        return 0
