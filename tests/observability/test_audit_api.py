"""GET /memory/{id}/audit and GET /admin/audit/recent: staff only, JSON, constant queries."""

import uuid

import pytest

from memories import services
from memories.models import Memory
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="triage", password=None, is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="reader", password=None, is_staff=False)
    client.force_login(user)
    return client


def history_url(memory_id) -> str:
    return f"/memory/{memory_id}/audit"


def lifecycle(memory=None) -> Memory:
    memory = memory or factories.memory(content="Coolant is changed every 500 h")
    services.promote_memory(memory, actor="human-triage", note="checked")
    services.reinforce_memory(memory)
    return memory


# -- GET /memory/{id}/audit -------------------------------------------------------------------


def test_staff_get_the_history_of_a_memory_oldest_first(staff_client):
    memory = lifecycle()

    response = staff_client.get(history_url(memory.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["memory_id"] == str(memory.pk)
    assert [(e["action"], e["actor"]) for e in body["entries"]] == [
        ("created", "test"),
        ("promoted", "human-triage"),
        ("reinforced", "reinforcement"),
    ]
    promoted = body["entries"][1]
    assert (promoted["note"], promoted["before"]["status"], promoted["after"]["status"]) == (
        "checked",
        "candidate",
        "active",
    )
    assert set(promoted) == {
        "id",
        "memory_id",
        "action",
        "actor",
        "user",
        "request_id",
        "note",
        "before",
        "after",
        "timestamp",
    }


def test_the_history_outlives_a_deleted_memory(staff_client):
    memory = lifecycle()
    memory_id = memory.pk
    memory.delete()

    response = staff_client.get(history_url(memory_id))

    assert response.status_code == 200
    entries = response.json()["entries"]
    assert [e["action"] for e in entries] == ["created", "promoted", "reinforced", "deleted"]
    assert entries[-1]["before"]["content"] == "Coolant is changed every 500 h"
    assert entries[-1]["after"] is None


def test_an_id_with_no_memory_and_no_history_is_a_404(staff_client):
    """A mistyped id must not look like a memory that has no history (issue 5: 404)."""
    response = staff_client.get(history_url(uuid.uuid4()))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "12345", "0" * 33])
def test_a_malformed_memory_id_is_a_json_404(staff_client, bad_id):
    response = staff_client.get(history_url(bad_id))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("mutations", [1, 30])
def test_the_history_costs_the_same_queries_for_any_length(
    staff_client, django_assert_num_queries, mutations
):
    memory = factories.memory()
    for _ in range(mutations):
        services.reinforce_memory(memory)

    # session, user, audit rows
    # session, user, user permissions, group permissions, the rows
    with django_assert_num_queries(5):
        response = staff_client.get(history_url(memory.pk))

    assert len(response.json()["entries"]) == mutations + 1


# -- GET /admin/audit/recent --------------------------------------------------------------------


def test_staff_get_recent_mutations_newest_first(staff_client):
    first = lifecycle()
    second = factories.memory()
    services.reject_candidate_memory(second, actor="human-triage")

    response = staff_client.get("/admin/audit/recent")

    assert response.status_code == 200
    assert [(e["memory_id"], e["action"]) for e in response.json()["entries"]] == [
        (str(second.pk), "rejected"),
        (str(second.pk), "created"),
        (str(first.pk), "reinforced"),
        (str(first.pk), "promoted"),
        (str(first.pk), "created"),
    ]


def test_recent_returns_the_last_fifty_by_default(staff_client):
    memories = [factories.memory() for _ in range(52)]

    entries = staff_client.get("/admin/audit/recent").json()["entries"]

    assert len(entries) == 50
    assert entries[0]["memory_id"] == str(memories[-1].pk)
    assert entries[-1]["memory_id"] == str(memories[2].pk)


def test_recent_honours_a_limit(staff_client):
    memories = [factories.memory() for _ in range(4)]

    entries = staff_client.get("/admin/audit/recent", {"limit": 2}).json()["entries"]

    assert [e["memory_id"] for e in entries] == [str(memories[3].pk), str(memories[2].pk)]


@pytest.mark.parametrize("limit", ["abc", "0", "-1", "501", "1.5"])
def test_a_bad_limit_is_a_json_400(staff_client, limit):
    response = staff_client.get("/admin/audit/recent", {"limit": limit})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["limit"]


@pytest.mark.parametrize("rows", [3, 60])
def test_recent_costs_the_same_queries_for_any_number_of_rows(staff_client, django_assert_num_queries, rows):
    for _ in range(rows):
        factories.memory()

    # session, user, audit rows
    # session, user, user permissions, group permissions, the rows
    with django_assert_num_queries(5):
        response = staff_client.get("/admin/audit/recent", {"limit": 500})

    assert len(response.json()["entries"]) == rows


# -- who may read ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/audit/recent", f"/memory/{uuid.uuid4()}/audit"])
def test_non_staff_users_are_forbidden(member_client, url):
    response = member_client.get(url)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", ["/admin/audit/recent", f"/memory/{uuid.uuid4()}/audit"])
def test_anonymous_callers_are_refused_as_not_authenticated(client, url):
    response = client.get(url)

    # 401 with a challenge: TokenAuthentication comes first and names its scheme.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_endpoints_are_read_only(staff_client, method):
    memory = lifecycle()

    response = getattr(staff_client, method)(history_url(memory.pk))

    assert response.status_code == 405
    assert len(staff_client.get(history_url(memory.pk)).json()["entries"]) == 3
