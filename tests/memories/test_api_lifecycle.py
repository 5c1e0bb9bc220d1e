"""POST /api/v1/memories/{id}/{promote|reject|invalidate|supersede|reinforce}/."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from memories import services
from memories.models import Memory
from observability.models import MemoryAudit
from tests import factories
from tests.api_fixtures import token_client
from tests.memories.test_api_memories import count_queries

pytestmark = pytest.mark.django_db


def act(client, memory, action: str, body: dict | None = None, **extra):
    return client.post(f"/api/v1/memories/{memory.pk}/{action}/", body or {}, format="json", **extra)


def last_audit(memory) -> MemoryAudit:
    return MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-timestamp", "-id").first()


def active_memory(content: str = "an active memory") -> Memory:
    return services.promote_memory(factories.memory(content=content), actor="test")


@pytest.mark.parametrize(
    ("start", "action", "status", "audit_action"),
    [
        ("candidate", "promote", "active", "promoted"),
        ("candidate", "reject", "rejected", "rejected"),
        ("active", "invalidate", "invalid", "invalidated"),
    ],
)
def test_an_action_moves_the_memory_and_returns_it(api, start, action, status, audit_action):
    memory = active_memory() if start == "active" else factories.memory()
    response = act(api, memory, action, {"note": "triaged"})
    assert response.status_code == 200
    assert response.json()["status"] == status
    row = last_audit(memory)
    assert (row.action, row.actor, row.user, row.note) == (audit_action, "api-http", "triager", "triaged")


def test_an_action_without_a_body_is_accepted(api):
    memory = factories.memory()
    response = api.post(f"/api/v1/memories/{memory.pk}/promote/")
    assert response.status_code == 200
    assert last_audit(memory).note == ""


def test_reinforce_counts_a_reference_and_nudges_confidence(api):
    memory = factories.memory(confidence=0.5)
    body = act(api, memory, "reinforce").json()
    assert (body["reference_count"], body["confidence"]) == (1, 0.55)
    assert body["last_referenced_at"] is not None
    assert (last_audit(memory).action, last_audit(memory).actor) == ("reinforced", "api-http")


def test_supersede_points_the_old_memory_at_its_successor(api):
    old, new = active_memory("old"), active_memory("new")
    response = act(api, old, "supersede", {"by": str(new.pk), "note": "replaced"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["superseded_by"]) == ("superseded", str(new.pk))
    assert (last_audit(old).action, last_audit(old).user) == ("superseded", "triager")


@pytest.mark.parametrize(
    ("action", "status"),
    [("promote", "rejected"), ("reject", "active"), ("invalidate", "candidate"), ("reinforce", "invalid")],
)
def test_an_illegal_move_is_a_409_naming_the_current_status_and_the_action(api, action, status):
    memory = factories.memory(status=status)
    audit_rows = MemoryAudit.objects.count()
    response = act(api, memory, action)
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["current_status"], error["action"]) == ("illegal_transition", status, action)
    assert status in error["message"] and action in error["message"]
    memory.refresh_from_db()
    assert memory.status == status
    assert MemoryAudit.objects.count() == audit_rows


def test_superseding_a_memory_by_itself_is_a_409(api):
    memory = active_memory()
    response = act(api, memory, "supersede", {"by": str(memory.pk)})
    assert response.status_code == 409
    assert response.json()["error"]["current_status"] == "active"


def test_superseding_by_a_candidate_is_a_409(api):
    old, candidate = active_memory(), factories.memory()
    response = act(api, old, "supersede", {"by": str(candidate.pk)})
    assert response.status_code == 409
    assert "not active" in response.json()["error"]["message"]


def test_superseding_by_an_unknown_memory_is_a_field_error(api):
    old = active_memory()
    response = act(api, old, "supersede", {"by": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "by" in response.json()["error"]["fields"]
    old.refresh_from_db()
    assert old.status == "active"


@pytest.mark.parametrize("body", [{}, {"by": "not-a-uuid"}, {"by": None}])
def test_supersede_needs_a_valid_by(api, body):
    response = act(api, active_memory(), "supersede", body)
    assert response.status_code == 400
    assert "by" in response.json()["error"]["fields"]


@pytest.mark.parametrize("action", ["promote", "reject", "invalidate", "reinforce", "supersede"])
@pytest.mark.parametrize("memory_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_action_on_an_unknown_or_malformed_id_is_a_404(api, action, memory_id):
    body = {"by": str(uuid.uuid4())} if action == "supersede" else {}
    response = api.post(f"/api/v1/memories/{memory_id}/{action}/", body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_note_over_the_limit_is_a_field_error_and_nothing_moves(api):
    memory = factories.memory()
    response = act(api, memory, "promote", {"note": "x" * 2001})
    assert response.status_code == 400
    assert "note" in response.json()["error"]["fields"]
    memory.refresh_from_db()
    assert memory.status == "candidate"


def test_an_action_with_get_is_a_405(api):
    memory = factories.memory()
    response = api.get(f"/api/v1/memories/{memory.pk}/promote/")
    assert response.status_code == 405


def test_a_token_authenticated_write_records_that_user_not_an_anonymous_actor(db):
    user = get_user_model().objects.create_user("pipeline-bot", is_staff=True)
    client = token_client(user)
    memory = factories.memory()
    assert act(client, memory, "promote").status_code == 200
    row = last_audit(memory)
    assert (row.actor, row.user) == ("api-http", "pipeline-bot")


def test_a_session_authenticated_write_records_that_user(staff_user):
    client = APIClient()
    client.force_login(staff_user)
    memory = factories.memory()
    assert act(client, memory, "promote").status_code == 200
    assert last_audit(memory).user == "triager"


def test_the_response_request_id_is_the_one_on_the_audit_row(api):
    memory = factories.memory()
    response = act(api, memory, "promote")
    assert response["X-Request-ID"]
    assert last_audit(memory).request_id == response["X-Request-ID"]


def test_a_callers_request_id_is_echoed_and_recorded(api):
    memory = factories.memory()
    response = act(api, memory, "promote", HTTP_X_REQUEST_ID="pipeline-run-42")
    assert response["X-Request-ID"] == "pipeline-run-42"
    assert last_audit(memory).request_id == "pipeline-run-42"


def test_a_promote_runs_the_same_few_queries_however_many_memories_exist(api):
    one, two = factories.memory(), factories.memory()
    first = count_queries(lambda: act(api, one, "promote"))
    for _ in range(30):
        services.reinforce_memory(factories.memory())
    # auth 3; the locked read, the update and its audit row, with their savepoints
    assert count_queries(lambda: act(api, two, "promote")) == first <= 10
