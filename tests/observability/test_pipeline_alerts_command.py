"""manage.py pipeline_alerts: harness pass rate and candidate queue, one warning each."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from memories.services import set_project_state
from observability.models import AlertEvent
from tests import factories

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("pipeline_alerts", *args, stdout=out)
    return out.getvalue()


def harness(passed: int, total: int) -> None:
    set_project_state(
        project="atocore", category="status", key="harness_result", value={"passed": passed, "total": total}
    )


def test_without_a_harness_result_the_pass_rate_is_skipped_with_a_note():
    report = json.loads(run("--json"))
    assert report["harness"]["status"] == "skipped"
    assert "harness_result" in report["harness"]["note"]
    assert AlertEvent.objects.count() == 0


def test_a_pass_rate_under_85_percent_is_one_warning():
    harness(passed=80, total=100)
    report = json.loads(run("--json"))
    assert report["harness"] == {
        "threshold": 0.85,
        "status": "warning",
        "passed": 80,
        "total": 100,
        "pass_rate": 0.8,
    }
    alert = AlertEvent.objects.get()
    assert (alert.severity, alert.title) == ("warning", "Harness pass rate 80% is under 85%")


@pytest.mark.parametrize("passed", [85, 100])
def test_a_pass_rate_at_or_over_85_percent_is_no_alert(passed):
    harness(passed=passed, total=100)
    assert json.loads(run("--json"))["harness"]["status"] == "ok"
    assert AlertEvent.objects.count() == 0


def test_an_unreadable_harness_result_is_a_warning():
    set_project_state(project="atocore", category="status", key="harness_result", value={"passed": "x"})
    assert json.loads(run("--json"))["harness"]["status"] == "warning"
    assert AlertEvent.objects.get().title == "Harness result unreadable"


def test_a_candidate_queue_over_the_max_is_one_warning(settings):
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 2
    for _ in range(3):
        factories.memory()
    report = json.loads(run("--json"))
    assert report["candidate_queue"] == {"status": "warning", "size": 3, "max": 2}
    assert AlertEvent.objects.get().title == "Candidate queue holds 3 memories (max 2)"


def test_a_candidate_queue_at_the_max_is_no_alert(settings):
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 2
    for _ in range(2):
        factories.memory()
    assert json.loads(run("--json"))["candidate_queue"]["status"] == "ok"
    assert AlertEvent.objects.count() == 0


def test_both_problems_are_two_warnings_and_the_text_output_says_so(settings):
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 0
    factories.memory()
    harness(passed=1, total=2)
    out = run()
    assert "harness pass rate: 50.0% (1/2), min 85%: warning" in out
    assert "candidate queue: 1, max 0: warning" in out
    assert AlertEvent.objects.filter(severity="warning").count() == 2
