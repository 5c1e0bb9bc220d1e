"""Memories with no ``created`` audit row: a write that bypassed the audit trail."""

from integrity.checks.base import Check, Sql
from memories.models import Memory
from observability.models import AuditAction, MemoryAudit


def build(sql: Sql) -> str:
    return f"""
        SELECT {sql.text("m.id")} AS subject, {sql.text("m.id")} AS fingerprint,
               m.status AS detail, 0 AS extra
        FROM {sql.table(Memory)} m
        WHERE NOT EXISTS (
            SELECT 1 FROM {sql.table(MemoryAudit)} a
            WHERE a.memory_id = m.id AND {sql.unindexed("a.action")} = '{AuditAction.CREATED.value}'
        )
    """


CHECK = Check(
    name="memory_without_audit",
    title="memories without a `created` audit row",
    subject="memory",
    id_kind="uuid",
    detail_name="status",
    detail_kind="text",
    build=build,
    action="something wrote memories around the services and the signal safety net (raw SQL, "
    "a restore, a bulk load): find the writer; the history before this point is lost",
)
