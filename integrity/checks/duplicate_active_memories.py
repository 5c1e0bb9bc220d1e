"""Active memories with the same type, project and normalised content: one finding per group.

The groups come from one GROUP BY ... HAVING over the dedup index (type, project,
status, content_hash), grouped in the index's own column order so that it is read in
order with no sort (status is constant there; SQLite, without statistics, must be kept
from probing by status instead). Only for those groups, correlated subqueries on the same index
name the member to keep (the oldest; ties by smallest id) and list the members in id
order. Candidates, rejected and other statuses never count.
"""

from integrity.checks.base import Check, Sql
from memories.models import Memory, MemoryStatus

ACTIVE = f"'{MemoryStatus.ACTIVE.value}'"


def _members_of_group(memory: str) -> str:
    return (
        f"FROM {memory} k WHERE k.status = {ACTIVE} AND k.memory_type = g.memory_type "
        "AND k.project = g.project AND k.content_hash = g.content_hash"
    )


def _member_list(sql: Sql, memory: str) -> str:
    """The group's member ids, ascending, comma-joined."""
    if sql.vendor == "postgresql":
        return f"(SELECT STRING_AGG(CAST(k.id AS TEXT), ',' ORDER BY k.id) {_members_of_group(memory)})"
    # SQLite has no ordered aggregate before 3.44; a window's frame order is guaranteed.
    return (
        f"(SELECT GROUP_CONCAT(k.id, ',') OVER (ORDER BY {sql.unindexed('k.id')} ROWS BETWEEN UNBOUNDED "
        f"PRECEDING AND UNBOUNDED FOLLOWING) {_members_of_group(memory)} LIMIT 1)"
    )


def build(sql: Sql) -> str:
    memory = sql.table(Memory)
    # Unindexed: the group's members come from the dedup index, never from an index that
    # merely happens to be in created_at or id order (SQLite without statistics).
    oldest = f"{sql.unindexed('k.created_at')}, {sql.unindexed('k.id')}"
    return f"""
        SELECT {sql.text("x.keep_id")} AS subject, {sql.md5("x.members")} AS fingerprint,
               x.members AS detail, x.size - 1 AS extra
        FROM (
            SELECT (SELECT k.id {_members_of_group(memory)} ORDER BY {oldest} LIMIT 1) AS keep_id,
                   {_member_list(sql, memory)} AS members,
                   g.size
            FROM (
                SELECT d.memory_type, d.project, d.content_hash, COUNT(*) AS size
                FROM {memory} d
                WHERE {sql.unindexed("d.status")} = {ACTIVE}
                GROUP BY d.memory_type, d.project, d.status, d.content_hash
                HAVING COUNT(*) > 1
            ) g
        ) x
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
