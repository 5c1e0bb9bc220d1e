"""Memories whose ``source_chunk_id`` names no chunk (NULL means no source: not a finding)."""

from integrity.checks.base import Check, Sql
from memories.models import Memory, SourceChunk


def build(sql: Sql) -> str:
    return f"""
        SELECT {sql.text("m.id")} AS subject, {sql.text("m.id")} AS fingerprint,
               m.source_chunk_id AS detail, 0 AS extra
        FROM {sql.table(Memory)} m
        WHERE m.source_chunk_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {sql.table(SourceChunk)} c WHERE c.id = m.source_chunk_id)
    """


CHECK = Check(
    name="memory_missing_source_chunk",
    title="memories whose source chunk is missing",
    subject="memory",
    id_kind="uuid",
    detail_name="source_chunk_id",
    detail_kind="text",
    build=build,
    action="the quoted chunk changed or its document was removed: re-link the memory to the new "
    "chunk (update_memory source_chunk_id) or review and invalidate it",
)
