"""``--fix``: the one safe repair. Extra members of duplicate groups are invalidated.

Each repair goes through ``invalidate_memory`` with actor ``integrity-fix`` and a note
naming the kept memory, so it is in the audit trail like any other change. Orphans and
dangling references are reported, never deleted. A dry run only reads.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection

from integrity.checks import duplicate_active_memories
from integrity.execution import present_id
from integrity.models import IntegrityFinding
from memories.errors import IllegalTransition
from memories.models import Memory
from memories.services import invalidate_memory

ACTOR = "integrity-fix"
CHECK = duplicate_active_memories.CHECK
PLAN_SAMPLE = 20
BATCH = 500


@dataclass
class FixReport:
    dry_run: bool
    groups: int = 0
    invalidated: int = 0
    skipped: int = 0
    plan: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        key = "would_invalidate" if self.dry_run else "invalidated"
        data = {"dry_run": self.dry_run, "groups": self.groups, key: self.invalidated, "plan": self.plan}
        if not self.dry_run:
            data["skipped"] = self.skipped
        return data


def fix_note(keep) -> str:
    return f"duplicate of {keep}: integrity-fix keeps {keep} (the oldest member of the group)"


def fix_duplicates(*, run_id: int | None, dry_run: bool) -> FixReport:
    """Invalidate every duplicate group's extra members (or plan it, for a dry run)."""
    report = FixReport(dry_run=dry_run)
    groups = _groups_from_run(run_id) if run_id is not None else _groups_from_query()
    for keep, members in groups:
        extras = [member for member in members if member != keep]
        report.groups += 1
        if len(report.plan) < PLAN_SAMPLE:
            report.plan.append({"keep": keep, "invalidate": extras})
        for member in extras:
            if dry_run:
                report.invalidated += 1
            elif _invalidate(member, keep):
                report.invalidated += 1
            else:
                report.skipped += 1
    return report


def _invalidate(member: str, keep: str) -> bool:
    try:
        invalidate_memory(member, actor=ACTOR, note=fix_note(keep))
    except (IllegalTransition, Memory.DoesNotExist):
        return False  # changed since the scan: no longer active, or gone
    return True


def _parse(subject: str, detail: str | None) -> tuple[str, list[str]]:
    members = [present_id("uuid", m) for m in (detail or "").split(",") if m]
    return present_id("uuid", subject), members


def _groups_from_run(run_id: int) -> Iterator[tuple[str, list[str]]]:
    rows = (
        IntegrityFinding.objects.filter(run_id=run_id, check_name=CHECK.name)
        .order_by("subject")
        .values_list("subject", "detail")
    )
    for subject, detail in rows.iterator(chunk_size=BATCH):
        yield _parse(subject, detail)


def _groups_from_query() -> Iterator[tuple[str, list[str]]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT f.subject, f.detail FROM ({CHECK.sql(connection)}) f ORDER BY f.subject")
        while batch := cursor.fetchmany(BATCH):
            for subject, detail in batch:
                yield _parse(subject, detail)
