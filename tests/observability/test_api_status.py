"""Alerts, the harness result and the dashboard over HTTP."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.serializers.json import DjangoJSONEncoder

from memories import services
from memories.models import ProjectState
from observability import dashboard
from observability.alerts import emit_alert
from tests import factories
from tests.api_fixtures import token_client

pytestmark = pytest.mark.django_db


# -- alerts ---------------------------------------------------------------------------


def test_alerts_are_listed_newest_first(api):
    emit_alert("info", "first", "one")
    emit_alert("critical", "second", "two", {"queue": 250})
    rows = api.get("/api/v1/alerts/").json()["results"]
    assert [(r["severity"], r["title"]) for r in rows] == [("critical", "second"), ("info", "first")]
    assert rows[0]["context"] == {"queue": 250}


def test_alerts_filter_by_severity(api):
    emit_alert("info", "an info", "x")
    emit_alert("warning", "a warning", "x")
    rows = api.get("/api/v1/alerts/", {"severity": "warning"}).json()["results"]
    assert [r["title"] for r in rows] == ["a warning"]


def test_alerts_reject_an_unknown_severity(api):
    response = api.get("/api/v1/alerts/", {"severity": "panic"})
    assert response.status_code == 400
    assert "severity" in response.json()["error"]["fields"]


def test_last_alerts_give_each_severity_or_null(api):
    emit_alert("warning", "old warning", "x")
    emit_alert("warning", "new warning", "x")
    body = api.get("/api/v1/alerts/last/").json()
    assert (body["info"], body["critical"]) == (None, None)
    assert body["warning"]["title"] == "new warning"


@pytest.mark.parametrize("alerts", [1, 25])
def test_alert_routes_run_a_fixed_number_of_queries(api, django_assert_num_queries, alerts):
    for i in range(alerts):
        emit_alert("info", f"alert {i}", "x")
    with django_assert_num_queries(4):
        api.get("/api/v1/alerts/")
    with django_assert_num_queries(4):
        api.get("/api/v1/alerts/last/")


# -- harness --------------------------------------------------------------------------


def test_recording_a_harness_result_stores_it_where_pipeline_alerts_reads_it(api):
    response = api.post("/api/v1/harness/results/", {"passed": 17, "total": 20}, format="json")
    assert response.status_code == 201
    stored = ProjectState.objects.get(project="atocore", category="status", key="harness_result").value
    assert set(stored) == {"passed", "total", "pass_rate", "recorded_at"}
    assert (stored["passed"], stored["total"], stored["pass_rate"]) == (17, 20, 0.85)
    assert response.json() == stored


def test_the_latest_harness_result_is_the_last_recorded(api):
    api.post("/api/v1/harness/results/", {"passed": 1, "total": 2}, format="json")
    api.post("/api/v1/harness/results/", {"passed": 3, "total": 3}, format="json")
    assert api.get("/api/v1/harness/results/latest/").json()["pass_rate"] == 1.0


def test_the_latest_harness_result_is_a_404_before_the_first(api):
    response = api.get("/api/v1/harness/results/latest/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no harness result has been recorded yet"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"passed": 5, "total": 4}, "passed"),
        ({"passed": 0, "total": 0}, "total"),
        ({"passed": -1, "total": 4}, "passed"),
        ({"passed": "all", "total": 4}, "passed"),
        ({"total": 4}, "passed"),
    ],
)
def test_a_bad_harness_result_is_a_field_error_and_stores_nothing(api, body, field):
    response = api.post("/api/v1/harness/results/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ProjectState.objects.filter(key="harness_result").exists()


def test_recording_a_harness_result_needs_the_write_permission(db):
    reader = get_user_model().objects.create_user("reader")
    reader.user_permissions.add(
        Permission.objects.get(content_type__app_label="observability", codename="view_memoryaudit")
    )
    client = token_client(reader)
    assert client.get("/api/v1/dashboard/").status_code == 200
    response = client.post("/api/v1/harness/results/", {"passed": 1, "total": 1}, format="json")
    assert response.status_code == 403
    assert "memories.change_memory" in response.json()["error"]["message"]


# -- dashboard ------------------------------------------------------------------------
# The API serves observability.dashboard.dashboard_data(), shared with the admin; these
# tests hold for any version of it that keeps its contract.


def test_the_dashboard_is_dashboard_data_as_json(api):
    factories.memory()
    emit_alert("critical", "queue overflow", "x")
    body = api.get("/api/v1/dashboard/").json()
    expected = json.loads(json.dumps(dashboard.dashboard_data(), cls=DjangoJSONEncoder))
    assert {k: v for k, v in body.items() if k != "generated_at"} == {
        k: v for k, v in expected.items() if k != "generated_at"
    }


def test_the_dashboard_shows_integrity_the_last_alerts_and_the_latest_mutations(api):
    memory = factories.memory(content="The dashboard previews this memory's content")
    services.promote_memory(memory, actor="human-triage", user="bob")
    emit_alert("critical", "queue overflow", "x")
    services.set_project_state(
        project="atocore",
        category="status",
        key="integrity_check_result",
        value={"total_findings": 3, "checks": {"missing_chunks": {"count": 3}}},
    )
    body = api.get("/api/v1/dashboard/").json()
    assert body["integrity"]["total_findings"] == 3
    assert body["alerts"]["critical"]["title"] == "queue overflow"
    assert body["alerts"]["warning"] is None
    latest = body["recent_mutations"][0]
    assert (latest["action"], latest["actor"], latest["user"]) == ("promoted", "human-triage", "bob")
    assert latest["preview"].startswith("The dashboard previews")


def _queries(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("memories", [1, 30])
def test_the_dashboard_costs_dashboard_data_plus_the_three_auth_queries(
    api, django_assert_num_queries, memories
):
    for _ in range(memories):
        factories.memory()
    dashboard.dashboard_data()  # warm any per-process cache the selector keeps
    selector = _queries(dashboard.dashboard_data)
    assert selector <= 8  # a small constant, whatever the store holds
    with django_assert_num_queries(selector + 3):
        response = api.get("/api/v1/dashboard/")
    assert len(response.json()["recent_mutations"]) == min(memories, 10)
