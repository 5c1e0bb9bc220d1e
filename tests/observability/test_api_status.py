"""Alerts, the harness result and the dashboard over HTTP."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from memories import services
from memories.models import ProjectState
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


def test_the_dashboard_shows_what_the_admin_dashboard_shows(api):
    memory = factories.memory(content="The dashboard previews this memory's content")
    services.promote_memory(memory, actor="human-triage", user="bob")
    factories.memory(content="still a candidate")
    emit_alert("critical", "queue overflow", "x")
    services.set_project_state(
        project="atocore",
        category="status",
        key="integrity_check_result",
        value={"total_findings": 3, "checks": {"missing_chunks": {"count": 3}}},
    )
    api.post("/api/v1/harness/results/", {"passed": 9, "total": 10}, format="json")
    body = api.get("/api/v1/dashboard/").json()
    assert body["integrity"]["total_findings"] == 3
    assert body["integrity"]["checks"] == {"missing_chunks": 3}
    assert body["alerts"]["critical"]["title"] == "queue overflow"
    assert body["alerts"]["warning"] is None
    latest = body["recent_mutations"][1]
    assert (latest["action"], latest["actor"], latest["user"]) == ("promoted", "human-triage", "bob")
    assert latest["preview"] == "The dashboard previews this memory's content"
    assert body["candidate_queue"] == {"size": 1, "max": 200}
    assert (body["harness"]["pass_rate"], body["harness"]["min_pass_rate"]) == (0.9, 0.85)


@pytest.mark.parametrize("memories", [1, 30])
def test_the_dashboard_runs_six_queries_whatever_the_store_holds(api, django_assert_num_queries, memories):
    for _ in range(memories):
        factories.memory()
    # auth 3, project state 1, latest mutations 1, candidate count 1
    with django_assert_num_queries(6):
        body = api.get("/api/v1/dashboard/").json()
    assert len(body["recent_mutations"]) == min(memories, 10)
