"""Each built-in check, with data that has the finding and data that has not."""

import datetime
import uuid

import pytest
from django.utils import timezone

from integrity.checks import get_checks
from integrity.runner import run_integrity_check
from memories import services
from memories.models import Memory, MemoryStatus, Project, ProjectState, SourceChunk
from tests import factories
from tests.integrity.helpers import chunk, document, unaudited_memories

pytestmark = pytest.mark.django_db


def scan(name: str, sample: int = 20) -> dict:
    return run_integrity_check(checks=[name], sample=sample).document["checks"][name]


def active(content: str, **kwargs) -> Memory:
    return factories.memory(content=content, status=MemoryStatus.ACTIVE, **kwargs)


# -- memory_missing_source_chunk -----------------------------------------------------


def test_a_memory_quoting_an_existing_chunk_is_no_finding():
    chunk("c1", document_id=document().pk)
    factories.memory(source_chunk_id="c1")
    assert scan("memory_missing_source_chunk")["count"] == 0


def test_a_memory_without_a_source_is_no_finding():
    factories.memory(source_chunk_id=None)
    assert scan("memory_missing_source_chunk")["status"] == "ok"


def test_memories_whose_chunk_is_missing_are_counted_and_sampled_in_id_order():
    chunk("c1", document_id=document().pk)
    factories.memory(source_chunk_id="c1")
    dangling = [factories.memory(source_chunk_id=f"gone-{i}") for i in range(3)]
    result = scan("memory_missing_source_chunk", sample=2)
    expected = sorted(str(m.pk) for m in dangling)
    assert result["status"] == "findings"
    assert result["count"] == 3
    assert result["samples"] == expected[:2]
    by_id = {str(m.pk): m.source_chunk_id for m in dangling}
    assert result["details"] == [{"id": i, "source_chunk_id": by_id[i]} for i in expected[:2]]


def test_a_chunk_removed_by_a_reingest_turns_its_memories_into_findings():
    doc = document()
    chunk("c1", document_id=doc.pk)
    memory = factories.memory(source_chunk_id="c1")
    assert scan("memory_missing_source_chunk")["count"] == 0
    SourceChunk.objects.filter(document_id=doc.pk).delete()
    doc.delete()
    assert scan("memory_missing_source_chunk")["samples"] == [str(memory.pk)]


# -- duplicate_active_memories -------------------------------------------------------


def test_active_memories_with_the_same_normalised_content_form_one_group():
    first = active("Python  is\tgreat", created_at=timezone.now() - datetime.timedelta(days=2))
    second = active(" Python is great ")
    result = scan("duplicate_active_memories")
    members = sorted([str(first.pk), str(second.pk)])
    assert result["count"] == 1
    assert result["details"] == [{"keep": str(first.pk), "members": members, "extra": 1}]
    assert result["extra_total"] == 1


def test_the_member_to_keep_is_the_oldest_not_the_smallest_id():
    old = timezone.now() - datetime.timedelta(days=30)
    members = [active("same fact", created_at=old + datetime.timedelta(days=i)) for i in range(3)]
    result = scan("duplicate_active_memories")
    assert result["samples"] == [str(members[0].pk)]
    assert result["details"][0]["extra"] == 2
    assert result["details"][0]["members"] == sorted(str(m.pk) for m in members)


def test_the_member_to_keep_is_the_smallest_id_when_created_at_ties():
    created = timezone.now() - datetime.timedelta(days=1)
    members = [active("tied fact", created_at=created) for _ in range(4)]
    result = scan("duplicate_active_memories")
    assert result["samples"] == [min(str(m.pk) for m in members)]


def test_candidates_rejected_and_other_statuses_never_count_as_duplicates():
    active("only one active copy")
    factories.memory(content="only one active copy")  # candidate
    rejected = factories.memory(content="only one active copy")
    services.reject_candidate_memory(rejected, actor="test")
    invalid = active("only one active copy")
    services.invalidate_memory(invalid, actor="test")
    assert scan("duplicate_active_memories")["count"] == 0


def test_different_type_project_or_case_is_not_a_duplicate():
    factories.project("other")
    active("Same words")
    active("Same words", memory_type="decision")
    active("Same words", project_name="other")
    active("same words")
    assert scan("duplicate_active_memories")["count"] == 0


def test_each_group_is_one_finding_and_groups_sort_by_kept_id():
    groups = [[active(f"group {g}") for _ in range(2 + g)] for g in range(3)]
    result = scan("duplicate_active_memories")
    keeps = sorted(str(min(group, key=lambda m: (m.created_at, str(m.pk))).pk) for group in groups)
    assert result["count"] == 3
    assert result["samples"] == keeps
    assert result["extra_total"] == 1 + 2 + 3


# -- project_state_missing_project ---------------------------------------------------


def test_a_fresh_install_has_no_project_state_finding():
    services.set_project_state(project="atocore", category="alert", key="last_warning", value={})
    assert Project.objects.filter(name="atocore").exists()
    assert scan("project_state_missing_project")["count"] == 0


def test_state_naming_a_missing_project_is_a_finding_with_its_path():
    ghost = ProjectState.objects.create(project="ghost", category="status", key="x", value=1)
    result = scan("project_state_missing_project")
    assert result["count"] == 1
    assert result["details"] == [{"id": ghost.pk, "state": "ghost/status/x"}]


def test_state_ids_sort_as_numbers_not_text():
    rows = [
        ProjectState.objects.create(project="ghost", category="c", key=f"k{i}", value=i) for i in range(12)
    ]
    assert scan("project_state_missing_project", sample=12)["samples"] == [r.pk for r in rows]


# -- orphan_source_chunks -------------------------------------------------------------


def test_chunks_of_an_existing_document_are_no_finding():
    chunk("kept", document_id=document().pk)
    assert scan("orphan_source_chunks")["count"] == 0


def test_chunks_whose_document_is_missing_are_findings():
    doc = document()
    chunk("b-orphan", document_id=doc.pk + 100)
    chunk("a-orphan", document_id=doc.pk + 100, ordinal=1)
    chunk("kept", document_id=doc.pk)
    result = scan("orphan_source_chunks")
    assert result["count"] == 2
    assert result["samples"] == ["a-orphan", "b-orphan"]
    assert result["details"][0] == {"id": "a-orphan", "document_id": str(doc.pk + 100)}


# -- memory_missing_project -----------------------------------------------------------


def test_memories_of_an_existing_project_are_no_finding():
    factories.memory(project_name="alive")
    assert scan("memory_missing_project")["count"] == 0


def test_memories_of_a_deleted_project_are_findings():
    factories.memory(project_name="alive")
    lost = factories.memory(project_name="doomed")
    Project.objects.filter(name="doomed").delete()
    result = scan("memory_missing_project")
    assert result["count"] == 1
    assert result["details"] == [{"id": str(lost.pk), "project": "doomed"}]


# -- superseded_without_successor -----------------------------------------------------


def test_a_superseded_memory_with_its_successor_is_no_finding():
    old, new = active("old rule"), active("new rule")
    services.supersede_memory(old, by=new, actor="test")
    assert scan("superseded_without_successor")["count"] == 0


def test_a_superseded_memory_whose_successor_was_deleted_is_a_finding():
    old, new = active("old rule"), active("new rule")
    services.supersede_memory(old, by=new, actor="test")
    Memory.objects.get(pk=new.pk).delete()
    result = scan("superseded_without_successor")
    assert result["details"] == [{"id": str(old.pk), "superseded_by": str(new.pk)}]


def test_a_superseded_memory_without_any_successor_is_a_finding():
    memory = active("superseded by nothing")
    Memory.objects.filter(pk=memory.pk).update(status=MemoryStatus.SUPERSEDED)
    result = scan("superseded_without_successor")
    assert result["details"] == [{"id": str(memory.pk), "superseded_by": None}]


# -- memory_without_audit -------------------------------------------------------------


def test_memories_created_through_the_services_have_their_created_row():
    factories.memory()
    active("promoted too")
    assert scan("memory_without_audit")["count"] == 0


def test_memories_written_around_the_audit_trail_are_findings():
    factories.memory()
    bypassed = unaudited_memories(3)
    result = scan("memory_without_audit")
    assert result["count"] == 3
    assert result["samples"] == sorted(str(m.pk) for m in bypassed)
    assert result["details"][0]["status"] == "candidate"


def test_a_memory_saved_raw_is_recorded_by_the_safety_net_and_is_no_finding():
    factories.project()
    Memory(memory_type="fact", content="raw save", project="demo").save()
    assert scan("memory_without_audit")["count"] == 0


# -- the registry ---------------------------------------------------------------------


def test_the_registry_holds_the_seven_checks_in_a_stable_order():
    assert [c.name for c in get_checks()] == [
        "memory_missing_source_chunk",
        "duplicate_active_memories",
        "project_state_missing_project",
        "orphan_source_chunks",
        "memory_missing_project",
        "superseded_without_successor",
        "memory_without_audit",
    ]


def test_an_unknown_check_name_is_refused_before_anything_runs():
    with pytest.raises(KeyError, match="no_such_check"):
        run_integrity_check(checks=["no_such_check"])


def test_uuid_samples_are_canonical_text_on_every_database():
    memory = unaudited_memories(1)[0]
    assert scan("memory_without_audit")["samples"] == [str(uuid.UUID(str(memory.pk)))]
