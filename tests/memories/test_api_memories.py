"""GET/POST /api/v1/memories/ and GET/PATCH /api/v1/memories/{id}/."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories import services
from memories.models import Memory
from observability.models import MemoryAudit
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/api/v1/memories/"


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code < 300
    return len(queries.captured_queries)


def detail(memory) -> str:
    return f"/api/v1/memories/{memory.pk}/"


def contents(response) -> list[str]:
    return [row["content"] for row in response.json()["results"]]


# -- list ---------------------------------------------------------------------------


def test_list_returns_memories_newest_first(api):
    for text in ("first", "second", "third"):
        factories.memory(content=text)
    response = api.get(LIST)
    assert response.status_code == 200
    assert contents(response) == ["third", "second", "first"]
    assert response.json()["next"] is None


def test_list_filters_by_status(api):
    factories.memory(content="still a candidate")
    services.promote_memory(factories.memory(content="promoted"), actor="test")
    assert contents(api.get(LIST, {"status": "active"})) == ["promoted"]


def test_list_filters_by_type(api):
    factories.memory(content="a fact")
    factories.memory(content="a decision", memory_type="decision")
    assert contents(api.get(LIST, {"type": "decision"})) == ["a decision"]


def test_list_filters_by_project(api):
    factories.memory(content="in demo")
    factories.memory(content="in other", project_name="other")
    assert contents(api.get(LIST, {"project": "other"})) == ["in other"]


def test_list_searches_content_case_insensitively(api):
    factories.memory(content="PostgreSQL is the production database")
    factories.memory(content="SQLite for developers")
    assert contents(api.get(LIST, {"search": "postgresql"})) == ["PostgreSQL is the production database"]


@pytest.mark.parametrize(
    ("param", "value"), [("status", "archived"), ("type", "rumour"), ("project", "no-such-project")]
)
def test_list_rejects_an_unknown_filter_value_with_a_field_error(api, param, value):
    response = api.get(LIST, {param: value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert param in response.json()["error"]["fields"]


def test_list_pages_neither_skip_nor_repeat_rows_written_between_pages(api):
    for i in range(5):
        factories.memory(content=f"old {i}")
    first = api.get(LIST, {"page_size": 2}).json()
    factories.memory(content="written between pages")
    seen = [row["content"] for row in first["results"]]
    next_url = first["next"]
    while next_url:
        page = api.get(next_url).json()
        seen += [row["content"] for row in page["results"]]
        next_url = page["next"]
    assert seen == ["old 4", "old 3", "old 2", "old 1", "old 0"]


def test_list_pages_oldest_first_with_order_asc(api):
    for i in range(3):
        factories.memory(content=f"m{i}")
    first = api.get(LIST, {"page_size": 2, "order": "asc"}).json()
    second = api.get(first["next"]).json()
    assert [r["content"] for r in first["results"] + second["results"]] == ["m0", "m1", "m2"]


def test_list_rejects_a_page_size_over_the_cap(api, settings):
    settings.ATOCORE_API_MAX_PAGE_SIZE = 10
    response = api.get(LIST, {"page_size": 11})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"page_size": ["must be at most 10"]}


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJhIjoxfQ", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIngiXQ"]
)
def test_list_rejects_a_cursor_it_did_not_issue(api, cursor):
    response = api.get(LIST, {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"cursor": ["is not a cursor this API issued"]}


@pytest.mark.parametrize("rows", [2, 40])
def test_list_runs_four_queries_whatever_the_row_count(api, django_assert_num_queries, rows):
    for _ in range(rows):
        factories.memory()
    # token + user, user permissions, group permissions, one page of memories
    with django_assert_num_queries(4):
        response = api.get(LIST, {"status": "candidate"})
    assert len(response.json()["results"]) == min(rows, 50)


# -- create -------------------------------------------------------------------------


def test_create_makes_a_candidate_audited_as_api_http_with_the_user(api):
    factories.project("demo")
    response = api.post(
        LIST, {"memory_type": "fact", "content": "The API creates memories", "project": "demo"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["content"], body["confidence"]) == (
        "candidate",
        "The API creates memories",
        0.5,
    )
    row = MemoryAudit.objects.get(memory_id=body["id"])
    assert (row.action, row.actor, row.user) == ("created", "api-http", "triager")


def test_create_can_make_an_active_memory_with_a_note(api):
    factories.project("demo")
    response = api.post(
        LIST,
        {
            "memory_type": "decision",
            "content": "Use DRF",
            "project": "demo",
            "status": "active",
            "note": "agreed",
        },
        format="json",
    )
    assert response.json()["status"] == "active"
    assert MemoryAudit.objects.get(memory_id=response.json()["id"]).note == "agreed"


BAD_CREATES = [
    ({"memory_type": "rumour"}, "memory_type"),
    ({"status": "archived"}, "status"),
    ({"status": "superseded"}, "status"),
    ({"confidence": 1.01}, "confidence"),
    ({"confidence": -0.5}, "confidence"),
    ({"confidence": "high"}, "confidence"),
    ({"content": ""}, "content"),
    ({"content": "   \n\t "}, "content"),
    ({"content": None}, "content"),
    ({"project": "no-such-project"}, "project"),
    ({"source_chunk_id": "x" * 65}, "source_chunk_id"),
]


@pytest.mark.parametrize(("change", "field"), BAD_CREATES)
def test_create_rejects_bad_input_with_a_field_error_and_writes_nothing(api, change, field):
    factories.project("demo")
    body = {"memory_type": "fact", "content": "valid text", "project": "demo", **change}
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert (Memory.objects.count(), MemoryAudit.objects.count()) == (0, 0)


def test_create_rejects_content_over_the_configured_limit(api, settings):
    settings.ATOCORE_MAX_CONTENT_CHARS = 10
    factories.project("demo")
    response = api.post(LIST, {"memory_type": "fact", "content": "x" * 11, "project": "demo"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["content"] == [
        "Ensure this field has no more than 10 characters."
    ]
    assert not Memory.objects.exists()


def test_create_accepts_content_at_exactly_the_limit(api, settings):
    settings.ATOCORE_MAX_CONTENT_CHARS = 10
    factories.project("demo")
    response = api.post(LIST, {"memory_type": "fact", "content": "x" * 10, "project": "demo"}, format="json")
    assert response.status_code == 201


def test_create_reports_every_missing_field_at_once(api):
    response = api.post(LIST, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"memory_type", "content", "project"}


def test_create_runs_the_same_few_queries_however_many_memories_exist(api):
    factories.project("demo")
    body = {"memory_type": "fact", "content": "counted", "project": "demo"}
    first = count_queries(lambda: api.post(LIST, body, format="json"))
    for _ in range(30):
        factories.memory()
    # auth 3, project exists 1, the insert and its audit row, with their savepoints
    assert count_queries(lambda: api.post(LIST, body, format="json")) == first <= 10


# -- retrieve -----------------------------------------------------------------------


def test_retrieve_returns_every_field_of_the_memory(api):
    memory = factories.memory(content="retrieve me", confidence=0.75, source_chunk_id="chunk-1")
    body = api.get(detail(memory)).json()
    assert body == {
        "id": str(memory.pk),
        "memory_type": "fact",
        "content": "retrieve me",
        "project": "demo",
        "status": "candidate",
        "confidence": 0.75,
        "source_chunk_id": "chunk-1",
        "reference_count": 0,
        "last_referenced_at": None,
        "superseded_by": None,
        "external_key": None,
        "created_at": memory.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": memory.updated_at.isoformat().replace("+00:00", "Z"),
    }


@pytest.mark.parametrize("memory_id", [str(uuid.uuid4()), "not-a-uuid", "1234"])
def test_retrieve_answers_404_for_an_unknown_or_malformed_id(api, memory_id):
    response = api.get(f"/api/v1/memories/{memory_id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_retrieve_runs_four_queries(api, django_assert_num_queries):
    memory = factories.memory()
    with django_assert_num_queries(4):
        assert api.get(detail(memory)).status_code == 200


# -- partial update -----------------------------------------------------------------


def test_patch_changes_the_fields_sent_and_records_an_update_by_the_user(api):
    memory = factories.memory(content="before")
    response = api.patch(
        detail(memory), {"content": "after", "confidence": 0.9, "note": "typo"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["content"], response.json()["confidence"]) == ("after", 0.9)
    row = MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-id").first()
    assert (row.action, row.actor, row.user, row.note) == ("updated", "api-http", "triager", "typo")
    assert (row.before["content"], row.after["content"]) == ("before", "after")


def test_patch_that_changes_nothing_writes_no_audit_row(api):
    memory = factories.memory(content="same")
    response = api.patch(detail(memory), {"content": "same"}, format="json")
    assert response.status_code == 200
    assert MemoryAudit.objects.filter(memory_id=memory.pk).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "active"}, "status"),
        ({"confidance": 0.4}, "confidance"),
        ({"confidence": 2}, "confidence"),
        ({"memory_type": "rumour"}, "memory_type"),
        ({"content": " "}, "content"),
        ({"project": "no-such-project"}, "project"),
    ],
)
def test_patch_rejects_bad_input_and_leaves_the_memory_unchanged(api, body, field):
    memory = factories.memory(content="unchanged")
    response = api.patch(detail(memory), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    memory.refresh_from_db()
    assert (memory.content, memory.status, memory.confidence) == ("unchanged", "candidate", 0.5)
    assert MemoryAudit.objects.filter(memory_id=memory.pk).count() == 1


@pytest.mark.parametrize("memory_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_patch_answers_404_for_an_unknown_or_malformed_id(api, memory_id):
    response = api.patch(f"/api/v1/memories/{memory_id}/", {"content": "x"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_are_not_allowed(api, method):
    memory = factories.memory()
    response = getattr(api, method)(detail(memory), {"content": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert Memory.objects.filter(pk=memory.pk).exists()


# -- malformed requests -------------------------------------------------------------


def test_malformed_json_is_a_400_parse_error(api):
    response = api.post(LIST, '{"memory_type": "fact",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_form_encoded_body_is_a_415(api):
    response = api.post(LIST, "memory_type=fact", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_json_body_that_is_not_an_object_is_a_400(api):
    response = api.post(LIST, "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["error"]["fields"]


def test_nan_is_not_json_and_is_a_400(api):
    factories.project("demo")
    body = '{"memory_type": "fact", "content": "x", "project": "demo", "confidence": NaN}'
    response = api.post(LIST, body, content_type="application/json")
    assert response.status_code == 400
    assert not Memory.objects.exists()
