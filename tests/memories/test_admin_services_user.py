"""The optional ``user`` keyword of the services the admin calls: recorded beside the actor."""

import pytest

from memories import services
from observability.models import MemoryAudit
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_memory_records_the_given_user_beside_the_actor():
    factories.project()
    memory = services.create_memory(
        memory_type="fact", content="x", project="demo", actor="human-triage", user="alice"
    )
    row = MemoryAudit.objects.get(memory_id=memory.pk)
    assert (row.action, row.actor, row.user) == ("created", "human-triage", "alice")


def test_update_memory_records_the_given_user():
    memory = factories.memory(content="before")
    services.update_memory(memory, actor="human-triage", user="alice", content="after")
    row = MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-id").first()
    assert (row.action, row.user, row.after["content"]) == ("updated", "alice", "after")


def test_promote_memory_records_the_given_user():
    memory = factories.memory()
    services.promote_memory(memory, actor="human-triage", user="alice")
    row = MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-id").first()
    assert (row.action, row.actor, row.user) == ("promoted", "human-triage", "alice")


def test_reject_candidate_memory_records_the_given_user():
    memory = factories.memory()
    services.reject_candidate_memory(memory, actor="human-triage", user="bob")
    row = MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-id").first()
    assert (row.action, row.user) == ("rejected", "bob")


def test_services_without_a_user_leave_it_empty_outside_a_request():
    memory = factories.memory()
    services.promote_memory(memory, actor="human-triage")
    row = MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-id").first()
    assert row.user == ""
