"""--fix repairs only duplicates, through the audited service; --dry-run writes nothing at all."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from integrity.fix import ACTOR, fix_note
from memories.models import Memory, MemoryStatus, ProjectState
from observability.models import MemoryAudit
from tests import factories
from tests.integrity.helpers import row_counts, run_command, run_json

pytestmark = pytest.mark.django_db


def duplicate_group(content: str, size: int) -> list[Memory]:
    oldest = timezone.now() - datetime.timedelta(days=size)
    return [
        factories.memory(
            content=content, status=MemoryStatus.ACTIVE, created_at=oldest + datetime.timedelta(days=i)
        )
        for i in range(size)
    ]


def statuses(memories: list[Memory]) -> list[str]:
    return [Memory.objects.get(pk=m.pk).status for m in memories]


def test_fix_invalidates_the_extra_members_and_keeps_the_oldest():
    group = duplicate_group("kept once", 3)
    code, document = run_json("--fix")
    assert code == 1  # the scan found the group; the fix is reported beside it
    assert statuses(group) == ["active", "invalid", "invalid"]
    assert document["fix"] == {
        "dry_run": False,
        "groups": 1,
        "invalidated": 2,
        "skipped": 0,
        "plan": [{"keep": str(group[0].pk), "invalidate": sorted(str(m.pk) for m in group[1:])}],
    }


def test_each_repair_is_an_audit_row_by_integrity_fix_naming_the_kept_memory():
    keep, extra = duplicate_group("audited repair", 2)
    run_json("--fix")
    row = MemoryAudit.objects.get(memory_id=extra.pk, actor=ACTOR)
    assert row.action == "invalidated"
    assert str(keep.pk) in row.note
    assert row.note == fix_note(keep.pk)
    assert row.before["status"] == "active" and row.after["status"] == "invalid"
    assert not MemoryAudit.objects.filter(memory_id=keep.pk, actor=ACTOR).exists()


def test_a_second_fix_is_a_no_op():
    duplicate_group("fixed once", 3)
    duplicate_group("fixed twice", 2)
    run_json("--fix")
    audit_rows = MemoryAudit.objects.count()
    code, document = run_json("--fix")
    assert code == 0
    assert document["fix"]["invalidated"] == 0
    assert MemoryAudit.objects.count() == audit_rows
    assert document["checks"]["duplicate_active_memories"]["trend"]["resolved"] == 2


def test_fix_never_deletes_orphans_or_dangling_references():
    dangling = factories.memory(source_chunk_id="gone")
    ProjectState.objects.create(project="ghost", category="c", key="k", value=1)
    counts = row_counts()
    run_json("--fix")
    assert Memory.objects.get(pk=dangling.pk).status == "candidate"
    assert ProjectState.objects.filter(project="ghost").count() == 1
    assert row_counts()["memories.Memory"] == counts["memories.Memory"]


def test_fix_repairs_every_group_not_only_the_sampled_ones():
    groups = [duplicate_group(f"group {i}", 2) for i in range(4)]
    _, document = run_json("--fix", "--sample", "1")
    assert document["fix"]["invalidated"] == 4
    assert all(statuses(group) == ["active", "invalid"] for group in groups)


# -- dry run --------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_writes_nothing_at_all(settings):
    group = duplicate_group("planned only", 3)
    factories.memory(source_chunk_id="gone")
    before = row_counts()
    code, out = run_command("--fix", "--dry-run")
    assert row_counts() == before  # no memory change, audit row, run, finding, state or alert
    assert statuses(group) == ["active", "active", "active"]
    assert not Path(settings.ATOCORE_ALERT_LOG).exists()
    assert code == 1
    assert "would invalidate 2 memories in 1 groups" in out
    assert f"keep {group[0].pk}" in out


def test_dry_run_json_reports_the_plan_without_a_run_id_or_trend():
    group = duplicate_group("planned in json", 2)
    _, document = run_json("--fix", "--dry-run")
    assert document["run_id"] is None and document["trend"] is None
    assert document["fix"] == {
        "dry_run": True,
        "groups": 1,
        "would_invalidate": 1,
        "plan": [{"keep": str(group[0].pk), "invalidate": [str(group[1].pk)]}],
    }


def test_dry_run_without_fix_is_refused():
    assert run_command("--dry-run")[0] == 2
