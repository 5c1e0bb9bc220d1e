"""Project state rows naming a project that does not exist (``atocore`` always does)."""

from integrity.checks.base import Check, Sql
from memories.models import Project, ProjectState


def build(sql: Sql) -> str:
    return f"""
        SELECT {sql.text("s.id")} AS subject, {sql.text("s.id")} AS fingerprint,
               s.project || '/' || s.category || '/' || s."key" AS detail, 0 AS extra
        FROM {sql.table(ProjectState)} s
        WHERE NOT EXISTS (SELECT 1 FROM {sql.table(Project)} p WHERE p.name = s.project)
    """


CHECK = Check(
    name="project_state_missing_project",
    title="project state naming a project that does not exist",
    subject="state",
    id_kind="int",
    detail_name="state",
    detail_kind="text",
    build=build,
    action="create the project if it was lost or renamed, else delete the stale state rows",
)
