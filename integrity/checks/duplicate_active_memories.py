"""Active memories with the same type, project and normalised content: one finding per group.

The groups come from one GROUP BY ... HAVING over the dedup index; only their members
are joined back, to name the member to keep (the oldest; ties by smallest id) and the
others. Candidates, rejected and other statuses never count.
"""

from integrity.checks.base import Check, Sql
from memories.models import Memory, MemoryStatus

GROUP = "m.memory_type, m.project, m.content_hash"


def build(sql: Sql) -> str:
    memory = sql.table(Memory)
    active = f"'{MemoryStatus.ACTIVE.value}'"
    return f"""
        SELECT {sql.text("w.keep_id")} AS subject, {sql.md5("w.members")} AS fingerprint,
               w.members AS detail, w.size - 1 AS extra
        FROM (
            SELECT FIRST_VALUE(m.id) OVER (PARTITION BY {GROUP} ORDER BY m.created_at, m.id) AS keep_id,
                   {sql.string_agg("m.id")} OVER (
                       PARTITION BY {GROUP} ORDER BY m.id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                   ) AS members,
                   COUNT(*) OVER (PARTITION BY {GROUP}) AS size,
                   ROW_NUMBER() OVER (PARTITION BY {GROUP} ORDER BY m.id) AS position
            FROM {memory} m
            JOIN (
                SELECT d.memory_type, d.project, d.content_hash
                FROM {memory} d
                WHERE d.status = {active}
                GROUP BY d.memory_type, d.project, d.content_hash
                HAVING COUNT(*) > 1
            ) g ON g.memory_type = m.memory_type AND g.project = m.project
               AND g.content_hash = m.content_hash
            WHERE m.status = {active}
        ) w
        WHERE w.position = 1
    """


CHECK = Check(
    name="duplicate_active_memories",
    title="groups of active memories with the same type, project and normalised content",
    subject="memory",
    id_kind="uuid",
    detail_name="members",
    detail_kind="uuid_list",
    build=build,
    action="keep the oldest member and invalidate the others: `integrity_check --fix` does exactly "
    "that, audited as integrity-fix (try `--fix --dry-run` first)",
)
