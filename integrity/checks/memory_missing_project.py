"""Memories naming a project that does not exist."""

from integrity.checks.base import Check, Sql
from memories.models import Memory, Project


def build(sql: Sql) -> str:
    return f"""
        SELECT {sql.text("m.id")} AS subject, {sql.text("m.id")} AS fingerprint,
               m.project AS detail, 0 AS extra
        FROM {sql.table(Memory)} m
        WHERE NOT EXISTS (SELECT 1 FROM {sql.table(Project)} p WHERE p.name = m.project)
    """


CHECK = Check(
    name="memory_missing_project",
    title="memories naming a project that does not exist",
    subject="memory",
    id_kind="uuid",
    detail_name="project",
    detail_kind="text",
    build=build,
    action="re-create the project (import_memories --projects) or move the memories to an existing "
    "project with update_memory",
)
