"""Superseded memories with no successor, or a successor that does not exist."""

from integrity.checks.base import Check, Sql
from memories.models import Memory, MemoryStatus


def build(sql: Sql) -> str:
    memory = sql.table(Memory)
    return f"""
        SELECT {sql.text("m.id")} AS subject, {sql.text("m.id")} AS fingerprint,
               {sql.text("m.superseded_by")} AS detail, 0 AS extra
        FROM {memory} m
        WHERE m.status = '{MemoryStatus.SUPERSEDED.value}'
          AND (m.superseded_by IS NULL
               OR NOT EXISTS (SELECT 1 FROM {memory} s WHERE s.id = m.superseded_by))
    """


CHECK = Check(
    name="superseded_without_successor",
    title="superseded memories whose successor is missing",
    subject="memory",
    id_kind="uuid",
    detail_name="superseded_by",
    detail_kind="uuid",
    build=build,
    action="the chain is broken (the successor was deleted, or the status was set by hand): find "
    "the successor in the audit history (GET /memory/{id}/audit) and restore it",
)
