"""The audit trail over HTTP: the two original paths and GET /api/v1/audit/."""

import datetime
import uuid

import pytest
from django.utils import timezone

from memories import services
from observability.models import MemoryAudit
from tests import factories

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit/"


# -- GET /memory/{id}/audit (original path, original shape) --------------------------


def test_memory_audit_returns_the_full_history_oldest_first(api):
    memory = factories.memory()
    services.promote_memory(memory, actor="human-triage", note="looks right")
    body = api.get(f"/memory/{memory.pk}/audit").json()
    assert body["memory_id"] == str(memory.pk)
    assert [e["action"] for e in body["entries"]] == ["created", "promoted"]
    assert set(body["entries"][0]) == {
        "id", "memory_id", "action", "actor", "user", "request_id", "note", "before", "after", "timestamp",
    }  # fmt: skip


def test_memory_audit_outlives_a_deleted_memory(api):
    memory = factories.memory()
    memory_id = memory.pk
    memory.delete()
    body = api.get(f"/memory/{memory_id}/audit").json()
    assert [e["action"] for e in body["entries"]] == ["created", "deleted"]


def test_memory_audit_of_an_id_never_seen_is_a_404(api):
    response = api.get(f"/memory/{uuid.uuid4()}/audit")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_memory_audit_of_a_malformed_id_is_a_404(api):
    response = api.get("/memory/not-a-uuid/audit")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("changes", [1, 20])
def test_memory_audit_runs_four_queries_whatever_the_history(api, django_assert_num_queries, changes):
    memory = factories.memory()
    for _ in range(changes):
        services.reinforce_memory(memory)
    with django_assert_num_queries(4):
        assert len(api.get(f"/memory/{memory.pk}/audit").json()["entries"]) == changes + 1


# -- GET /admin/audit/recent (original path, original shape) --------------------------


def test_recent_audit_returns_the_latest_50_newest_first(api):
    memories = [factories.memory(content=f"m{i}") for i in range(55)]
    entries = api.get("/admin/audit/recent").json()["entries"]
    assert len(entries) == 50
    assert entries[0]["memory_id"] == str(memories[-1].pk)


def test_recent_audit_takes_a_limit(api):
    for _ in range(3):
        factories.memory()
    assert len(api.get("/admin/audit/recent", {"limit": 2}).json()["entries"]) == 2


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_recent_audit_rejects_a_limit_outside_1_to_500(api, limit):
    response = api.get("/admin/audit/recent", {"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["fields"]


def test_recent_audit_is_not_the_admin_and_answers_json_to_anonymous_callers(anon_api):
    response = anon_api.get("/admin/audit/recent")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# -- GET /api/v1/audit/ ---------------------------------------------------------------


@pytest.fixture
def trail():
    """A small trail: two memories by different channels and users."""
    a = factories.memory(content="a", actor="import")
    b = factories.memory(content="b", actor="api-http", user="alice")
    services.promote_memory(b, actor="human-triage", user="bob")
    return a, b


def actions(response) -> list[tuple[str, str]]:
    return [(row["action"], row["actor"]) for row in response.json()["results"]]


def test_audit_list_returns_rows_newest_first(api, trail):
    assert actions(api.get(AUDIT)) == [
        ("promoted", "human-triage"),
        ("created", "api-http"),
        ("created", "import"),
    ]


def test_audit_list_filters_by_memory(api, trail):
    _, b = trail
    assert actions(api.get(AUDIT, {"memory": str(b.pk)})) == [
        ("promoted", "human-triage"),
        ("created", "api-http"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "import"}, [("created", "import")]),
        ({"action": "promoted"}, [("promoted", "human-triage")]),
        ({"user": "alice"}, [("created", "api-http")]),
    ],
)
def test_audit_list_filters_by_actor_action_and_user(api, trail, params, expected):
    assert actions(api.get(AUDIT, params)) == expected


def test_audit_list_filters_by_time_window(api, trail):
    rows = list(MemoryAudit.objects.order_by("timestamp", "id"))
    params = {"since": rows[1].timestamp.isoformat(), "until": rows[2].timestamp.isoformat()}
    assert [r["id"] for r in api.get(AUDIT, params).json()["results"]] == [rows[1].pk]


@pytest.mark.parametrize(
    "params",
    [{"memory": "not-a-uuid"}, {"action": "archived"}, {"since": "yesterday"}, {"until": "2026-13-01"}],
)
def test_audit_list_rejects_a_bad_filter_with_a_field_error(api, params):
    response = api.get(AUDIT, params)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(params)


def test_audit_pages_neither_skip_nor_repeat_under_concurrent_writes(api):
    # Rows sharing one timestamp: only the (time, id) keyset keeps them apart.
    same_time = timezone.now()
    memory_ids = [uuid.uuid4() for _ in range(5)]
    MemoryAudit.objects.bulk_create(
        [MemoryAudit(memory_id=m, action="created", actor="import", timestamp=same_time) for m in memory_ids]
    )
    first = api.get(AUDIT, {"page_size": 2}).json()
    factories.memory()  # a write between pages lands before the first page, not inside the walk
    seen, next_url = [r["id"] for r in first["results"]], first["next"]
    while next_url:
        page = api.get(next_url).json()
        seen += [r["id"] for r in page["results"]]
        next_url = page["next"]
    expected = list(
        MemoryAudit.objects.filter(memory_id__in=memory_ids)
        .order_by("-timestamp", "-id")
        .values_list("id", flat=True)
    )
    assert seen == expected


def test_audit_pages_oldest_first_with_order_asc(api, trail):
    first = api.get(AUDIT, {"page_size": 2, "order": "asc"}).json()
    second = api.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == list(MemoryAudit.objects.order_by("timestamp", "id").values_list("id", flat=True))


@pytest.mark.parametrize("rows", [3, 60])
def test_audit_list_runs_four_queries_whatever_the_row_count(api, django_assert_num_queries, rows):
    now = timezone.now()
    MemoryAudit.objects.bulk_create(
        [
            MemoryAudit(
                memory_id=uuid.uuid4(),
                action="created",
                actor="import",
                timestamp=now - datetime.timedelta(seconds=i),
            )
            for i in range(rows)
        ]
    )
    with django_assert_num_queries(4):
        response = api.get(
            AUDIT, {"actor": "import", "since": (now - datetime.timedelta(days=1)).isoformat()}
        )
    assert len(response.json()["results"]) == min(rows, 50)


def test_audit_rows_cannot_be_written_through_the_api(api, trail):
    assert api.post(AUDIT, {"action": "created"}, format="json").status_code == 405
    assert api.delete(AUDIT).status_code == 405
