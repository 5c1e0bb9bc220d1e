"""GET /api/v1/integrity/latest/ and /api/v1/integrity/runs/."""

import datetime

import pytest
from django.utils import timezone

from integrity.models import IntegrityRun
from memories import services

pytestmark = pytest.mark.django_db


def run(minutes_ago: int, findings: int) -> IntegrityRun:
    started = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return IntegrityRun.objects.create(
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=2),
        total_findings=findings,
        result={"missing_chunks": {"count": findings}},
    )


def test_latest_gives_the_last_run_and_the_stored_result(api):
    run(60, 5)
    last = run(1, 2)
    services.set_project_state(
        project="atocore", category="status", key="integrity_check_result", value={"total_findings": 2}
    )
    body = api.get("/api/v1/integrity/latest/").json()
    assert (body["run"]["id"], body["run"]["total_findings"]) == (last.pk, 2)
    assert body["run"]["result"] == {"missing_chunks": {"count": 2}}
    assert body["state"]["value"] == {"total_findings": 2}


def test_latest_works_from_the_stored_result_alone(api):
    services.set_project_state(project="atocore", category="status", key="integrity_check_result", value="ok")
    body = api.get("/api/v1/integrity/latest/").json()
    assert (body["run"], body["state"]["value"]) == (None, "ok")


def test_latest_is_a_404_before_the_first_scan(api):
    response = api.get("/api/v1/integrity/latest/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no integrity scan has run yet"


def test_runs_are_listed_newest_first_a_page_at_a_time(api):
    runs = [run(m, m) for m in (30, 20, 10)]
    first = api.get("/api/v1/integrity/runs/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    assert [r["id"] for r in first["results"] + second["results"]] == [r.pk for r in reversed(runs)]
    assert second["next"] is None


@pytest.mark.parametrize("runs", [1, 30])
def test_integrity_routes_run_a_fixed_number_of_queries(api, django_assert_num_queries, runs):
    for m in range(runs):
        run(m, m)
    with django_assert_num_queries(4):
        api.get("/api/v1/integrity/runs/")
    with django_assert_num_queries(5):
        api.get("/api/v1/integrity/latest/")
